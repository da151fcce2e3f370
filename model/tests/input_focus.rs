//! Contract tests for the seed's "Input System Interface" ("Input Event Schema", "Input Service
//! Interface", "Focus Manager Interface", "Interactive Component Pattern", "Testing with
//! SimKernel", "Policy Integration", "Audit Trail", "Example: Simple Interactive Session") and
//! architecture Phase 14; input from scenarios (key scripts and input faults as data); the
//! `input.*` and `focus.*` checkers, each shown a bad record stream it must flag.
//!
//! Choices of the model tested where the seed is silent (`model/src/input/`, `model/src/focus/`):
//! one US layout for characters; keys with no focus are dropped and recorded, never queued;
//! revoking does not touch the focus stack (a revoked focused subscription receives nothing);
//! a subscription is on the stack at most once (a re-request moves it to the top); releasing a
//! subscription below the top removes it without moving focus.

mod common;

use common::interactive::{keys, policy, user, Rig};
use common::identity;
use model::budget::enforcement::ResourceLedger;
use model::budget::{MessageCount, ResourceBudget};
use model::choices::Choices;
use model::fault::FaultTrigger;
use model::focus::checks::{FocusMonitor, POLICY_GATED, STACK_CONSISTENT};
use model::focus::{FocusError, FocusEvent, FocusVerdict};
use model::identity::IdentityKind;
use model::ids::{ChannelId, ExecutionId, TaskId};
use model::input::checks::{InputMonitor, DELIVERY_CONSUMES_BUDGET, ONLY_FOCUSED_RECEIVES, REVOKED_RECEIVES_NOTHING};
use model::input::types::notation_of;
use model::input::*;
use model::policy::PolicyEvent;
use model::rule_check::RuleLog;
use model::time::Instant;
use model::trace_hash::{Fold, TraceHasher};

// ----- input types ---------------------------------------------------------------------------

#[test]
fn every_key_code_is_listed_once_in_discriminant_order() {
    for (i, k) in KeyCode::ALL.iter().enumerate() {
        assert_eq!(*k as usize, i, "{k:?}");
    }
    assert_eq!(KeyCode::ALL.last(), Some(&KeyCode::Grave), "ALL ends with the last variant");
}

#[test]
fn characters_follow_one_us_layout() {
    use KeyCode::*;
    let table = [
        (A, false, Some('a')),
        (A, true, Some('A')),
        (Z, true, Some('Z')),
        (Num0, false, Some('0')),
        (Num1, true, Some('!')),
        (Num9, true, Some('(')),
        (Space, false, Some(' ')),
        (Semicolon, false, Some(';')),
        (Semicolon, true, Some(':')),
        (Comma, true, Some('<')),
        (Period, false, Some('.')),
        (Slash, true, Some('?')),
        (Quote, true, Some('"')),
        (Grave, true, Some('~')),
        (Enter, false, None),
        (Tab, false, None),
        (Escape, true, None),
        (F5, false, None),
        (LeftShift, false, None),
    ];
    for (code, shift, expected) in table {
        assert_eq!(code.char_with(shift), expected, "{code:?} shift={shift}");
        if let Some(c) = expected {
            assert_eq!(KeyEvent::typing(c).and_then(|k| k.char()), Some(c), "{c:?} types itself");
        }
    }
    // Chords type nothing; the seed's examples.
    assert_eq!(KeyEvent::pressed(KeyCode::C, Modifiers::CTRL).char(), None);
    assert_eq!(KeyEvent::pressed(KeyCode::A, Modifiers::none()).char(), Some('a'));
    assert_eq!(KeyEvent::pressed(KeyCode::Enter, Modifiers::SHIFT).char(), None);
    assert!(Modifiers::CTRL.with(Modifiers::SHIFT).contains(Modifiers::SHIFT));
    assert!(!Modifiers::CTRL.with(Modifiers::SHIFT).contains(Modifiers::ALT));
}

#[test]
fn every_key_with_every_modifier_set_round_trips_through_its_notation() {
    let mut n = 0;
    for code in KeyCode::ALL {
        for bits in 0..16u8 {
            let modifiers = Modifiers::FLAGS.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).fold(Modifiers::NONE, |m, (_, (f, _))| m.with(*f));
            let key = KeyEvent::pressed(code, modifiers);
            let notation = key.notation();
            assert_eq!(parse_keys(&notation), Ok(vec![key.clone()]), "{key:?} written {notation:?}");
            n += 1;
        }
    }
    assert_eq!(n, 82 * 16);
}

#[test]
fn key_events_display_their_notation_and_state() {
    let cases = [
        (KeyEvent::pressed(KeyCode::H, Modifiers::none()), "h"),
        (KeyEvent::pressed(KeyCode::C, Modifiers::CTRL), "<C-c>"),
        (KeyEvent::pressed(KeyCode::Enter, Modifiers::SHIFT), "<S-Enter>"),
        (KeyEvent::pressed(KeyCode::Semicolon, Modifiers::SHIFT), ":"),
        (KeyEvent::pressed(KeyCode::Comma, Modifiers::SHIFT), "<lt>"),
        (KeyEvent::pressed(KeyCode::Space, Modifiers::NONE), "<Space>"),
        (KeyEvent::released(KeyCode::A, Modifiers::NONE), "a (released)"),
        (KeyEvent::repeat(KeyCode::Down, Modifiers::NONE), "<Down> (repeat)"),
    ];
    for (key, shown) in cases {
        assert_eq!(key.to_string(), shown);
    }
}

// ----- key scripts ---------------------------------------------------------------------------

#[test]
fn a_key_script_expands_typed_text_into_presses_at_their_times() {
    let table: [(&str, &[&str]); 6] = [
        ("ihello<Esc>:wq<Enter>", &["i", "h", "e", "l", "l", "o", "<Esc>", ":", "w", "q", "<Enter>"]),
        ("Hi!", &["H", "i", "!"]),
        ("a b", &["a", "<Space>", "b"]),
        ("<C-c><C-S-Up><lt><cr><BS><del><F12>", &["<C-c>", "<C-S-Up>", "<lt>", "<Enter>", "<BS>", "<Del>", "<F12>"]),
        ("<A-x><M-->", &["<A-x>", "<M-->"]),
        ("", &[]),
    ];
    for (text, expected) in table {
        let timed = KeyScript::new(1_000, text).with_interval(10).expand().unwrap();
        let shown: Vec<String> = timed.iter().map(|t| t.event.notation()).collect();
        assert_eq!(shown, expected, "{text:?}");
        let times: Vec<u64> = timed.iter().map(|t| t.at.0).collect();
        assert_eq!(times, (0..expected.len() as u64).map(|i| 1_000 + 10 * i).collect::<Vec<_>>());
        assert!(timed.iter().all(|t| t.event.state == KeyState::Pressed));
    }
}

#[test]
fn bad_key_scripts_name_the_column_and_what_was_expected() {
    let table = [
        ("ab<Foo>", 3, "unknown key <Foo>"),
        ("a<", 2, "not closed"),
        ("x<>", 2, "not closed"),
        ("é", 1, "no key types 'é'"),
        ("ok\t", 3, "no key types '\\t'"),
        ("<C-é>", 1, "no key types 'é'"),
        ("<c-x>", 1, "unknown key <c-x>"),
    ];
    for (text, column, message) in table {
        let e = parse_keys(text).unwrap_err();
        assert_eq!(e.column, column, "{text:?}: {e}");
        assert!(e.message.contains(message), "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!("column {column}: ")));
    }
}

#[test]
fn scripts_merge_in_time_order_ties_in_script_order() {
    let scripts = [KeyScript::new(0, "ab").with_interval(10), KeyScript::new(5, "xy").with_interval(5), KeyScript::new(10, "z")];
    let merged = expand_scripts(&scripts).unwrap();
    let shown: Vec<(u64, String)> = merged.iter().map(|k| (k.at.0, k.event.notation())).collect();
    assert_eq!(shown, [(0, "a"), (5, "x"), (10, "b"), (10, "y"), (10, "z")].map(|(t, s)| (t, s.to_string())));
}

#[test]
fn scripts_and_input_faults_are_scenario_data() {
    let script: KeyScript = ron::from_str(r#"(at_ns: 5000, keys: "ihi<Esc>")"#).unwrap();
    assert_eq!(script, KeyScript::new(5000, "ihi<Esc>"));
    let faults: Vec<InputFault> = ron::from_str(
        r#"[
        Storm(at_ns: 0, keys: "x", count: 100),
        Repeat(when: Next(count: 1), count: 3, delay_ns: 500, interval_ns: 30),
        Lose(when: EveryNth(n: 10)),
        Duplicate(when: Chance(per_mille: 50), after_ns: 7),
    ]"#,
    )
    .unwrap();
    assert_eq!(faults.len(), 4);
    let unknown = ron::from_str::<KeyScript>(r#"(at_ns: 0, keys: "a", speed: 3)"#).unwrap_err();
    assert!(unknown.to_string().contains("speed"), "{unknown}");
    assert!(ron::from_str::<InputFault>("Lose()").is_err(), "a lost-key fault must say which keys");
}

fn timed(text: &str) -> Vec<TimedKey> {
    KeyScript::new(0, text).with_interval(100).expand().unwrap()
}

fn shown(keys: &[TimedKey]) -> Vec<String> {
    keys.iter().map(|k| format!("{}@{}", k.event, k.at.0)).collect()
}

#[test]
fn input_faults_storm_repeat_lose_and_duplicate_keys() {
    let mut none = Choices::replaying(vec![]);
    let cases: Vec<(InputFault, &[&str])> = vec![
        (InputFault::Storm { at_ns: 150, keys: "xy".into(), count: 2, interval_ns: 10 }, &["a@0", "b@100", "x@150", "y@160", "x@170", "y@180", "c@200"]),
        (
            InputFault::Repeat { when: FaultTrigger::Next { count: 1 }, count: 2, delay_ns: 40, interval_ns: 5 },
            &["a@0", "a (repeat)@40", "a (repeat)@45", "b@100", "c@200"],
        ),
        (InputFault::Lose { when: FaultTrigger::EveryNth { n: 2 } }, &["a@0", "c@200"]),
        (InputFault::Lose { when: FaultTrigger::Window { from_ns: 100, until_ns: 201 } }, &["a@0"]),
        (InputFault::Duplicate { when: FaultTrigger::Next { count: 2 }, after_ns: 0 }, &["a@0", "a@0", "b@100", "b@100", "c@200"]),
        (InputFault::Duplicate { when: FaultTrigger::Always, after_ns: 150 }, &["a@0", "b@100", "a@150", "c@200", "b@250", "c@350"]),
    ];
    for (fault, expected) in cases {
        let out = apply_input_faults(timed("abc"), core::slice::from_ref(&fault), &mut none).unwrap();
        assert_eq!(shown(&out), expected, "{fault:?}");
    }
}

#[test]
fn chance_triggers_draw_once_per_considered_key_and_faults_apply_in_plan_order() {
    // chance(500) fires on a drawn value >= 500.
    let mut choices = Choices::replaying(vec![0, 999, 0]);
    let lost = apply_input_faults(timed("abc"), &[InputFault::Lose { when: FaultTrigger::Chance { per_mille: 500 } }], &mut choices).unwrap();
    assert_eq!(shown(&lost), ["a@0", "c@200"]);
    assert_eq!(choices.drawn(), 3);
    // Repeat only considers presses: the repeats a first fault added are not repeated again.
    let plan = [
        InputFault::Repeat { when: FaultTrigger::Next { count: 1 }, count: 1, delay_ns: 10, interval_ns: 1 },
        InputFault::Repeat { when: FaultTrigger::EveryNth { n: 2 }, count: 1, delay_ns: 20, interval_ns: 1 },
        InputFault::Lose { when: FaultTrigger::Next { count: 1 } },
    ];
    let out = apply_input_faults(timed("ab"), &plan, &mut Choices::replaying(vec![])).unwrap();
    assert_eq!(shown(&out), ["a (repeat)@10", "b@100", "b (repeat)@120"]);
}

#[test]
fn input_plans_are_bounded() {
    let storm = InputFault::Storm { at_ns: 0, keys: "abcd".into(), count: u32::MAX, interval_ns: 1 };
    let e = apply_input_faults(timed("a"), &[storm], &mut Choices::replaying(vec![])).unwrap_err();
    assert!(e.message.contains("more than"), "{e}");
    let long = "a".repeat(MAX_SCRIPT_KEYS_PLUS_ONE);
    assert!(parse_keys(&long).unwrap_err().message.contains("keys in one script"));
}

const MAX_SCRIPT_KEYS_PLUS_ONE: usize = model::input::script::MAX_SCRIPT_KEYS + 1;

// ----- input service -------------------------------------------------------------------------

#[test]
fn one_subscription_per_task_until_it_unsubscribes() {
    let mut input = InputService::new();
    let t = Instant(0);
    let cap = input.subscribe_keyboard(TaskId(1), ExecutionId(1), ChannelId(7), t).unwrap();
    assert_eq!((cap.task_id, cap.channel), (TaskId(1), ChannelId(7)));
    let again = input.subscribe_keyboard(TaskId(1), ExecutionId(1), ChannelId(8), t);
    assert_eq!(again, Err(InputServiceError::AlreadySubscribed { task: TaskId(1), existing: cap.id }));
    input.revoke_subscription(&cap, t).unwrap();
    assert!(input.exists(cap.id) && !input.is_active(cap.id), "revoked: still exists, inactive");
    assert!(input.subscribe_keyboard(TaskId(1), ExecutionId(1), ChannelId(8), t).is_err(), "a revoked subscription still holds the slot");
    input.unsubscribe(&cap, t).unwrap();
    assert!(!input.exists(cap.id));
    let fresh = input.subscribe_keyboard(TaskId(1), ExecutionId(1), ChannelId(8), t).unwrap();
    assert_ne!(fresh.id, cap.id, "ids are never reused");
    assert_eq!(input.subscription_of_task(TaskId(1)), Some(fresh));
    assert_eq!(input.unsubscribe(&cap, t), Err(InputServiceError::UnknownSubscription(cap.id)));
}

#[test]
fn revoked_forged_and_removed_caps_receive_nothing() {
    let mut input = InputService::new();
    let mut ledger = ResourceLedger::new();
    let t = Instant(0);
    let a = input.subscribe_keyboard(TaskId(1), ExecutionId(1), ChannelId(1), t).unwrap();
    let b = input.subscribe_keyboard(TaskId(2), ExecutionId(2), ChannelId(2), t).unwrap();
    let event = InputEvent::key(KeyEvent::pressed(KeyCode::A, Modifiers::none()));
    let delivered = input.deliver_event(&a, &event, t, &mut ledger).unwrap();
    assert_eq!(delivered, Delivery { subscription: a.id, task: TaskId(1), channel: ChannelId(1), execution: ExecutionId(1) });
    input.revoke_subscription(&a, t).unwrap();
    input.revoke_subscription(&a, t).unwrap();
    assert_eq!(input.deliver_event(&a, &event, t, &mut ledger), Err(InputServiceError::Inactive(a.id)));
    let forged = InputSubscriptionCap { channel: ChannelId(99), ..b };
    assert_eq!(input.deliver_event(&forged, &event, t, &mut ledger), Err(InputServiceError::UnknownSubscription(b.id)));
    input.unsubscribe(&b, t).unwrap();
    assert_eq!(input.deliver_event(&b, &event, t, &mut ledger), Err(InputServiceError::UnknownSubscription(b.id)));
    assert_eq!(ledger.usage(ExecutionId(1)).message_count, MessageCount(1), "refusals consume nothing");
    assert_eq!(ledger.usage(ExecutionId(2)).message_count, MessageCount(0));
    let revocations = input.audit_trail().iter().filter(|e| matches!(e, InputAuditEvent::Revoked { .. })).count();
    assert_eq!(revocations, 1, "revoking twice is recorded once");
}

#[test]
fn each_delivery_consumes_one_message_of_the_subscriber_and_exhaustion_refuses() {
    let mut input = InputService::new();
    let mut ledger = ResourceLedger::new();
    ledger.attach(ExecutionId(5), None, Some(ResourceBudget::unlimited().with_message_count(MessageCount(3)))).unwrap();
    let cap = input.subscribe_keyboard(TaskId(5), ExecutionId(5), ChannelId(5), Instant(0)).unwrap();
    let event = InputEvent::key(KeyEvent::pressed(KeyCode::Q, Modifiers::none()));
    for i in 1..=3 {
        input.deliver_event(&cap, &event, Instant(i), &mut ledger).unwrap();
        assert_eq!(ledger.usage(ExecutionId(5)).message_count, MessageCount(i));
    }
    let refused = input.deliver_event(&cap, &event, Instant(4), &mut ledger).unwrap_err();
    assert!(matches!(refused, InputServiceError::BudgetExhausted(e) if e.limit == Some(3) && e.usage == 3), "{refused:?}");
    assert_eq!(ledger.usage(ExecutionId(5)).message_count, MessageCount(3), "check before effect");
    assert!(ledger.is_identity_cancelled(ExecutionId(5)), "exhaustion cancels the identity");
    let mut log = RuleLog::default();
    let mut monitor = InputMonitor::default();
    monitor.observe_focus(&FocusEvent::Granted { subscription_id: cap.id, policy: FocusVerdict::NoPolicy, timestamp: Instant(0) });
    input.audit_trail().iter().for_each(|e| monitor.observe_input(e, &mut log));
    assert!(log.is_clean(), "{:?}", log.breaches);
    assert_eq!(log.count(DELIVERY_CONSUMES_BUDGET), 3);
}

// ----- focus manager -------------------------------------------------------------------------

#[test]
fn two_components_compete_for_focus_and_only_the_focused_one_receives() {
    // Seed "Testing Focus Switching".
    let mut rig = Rig::new(&[]);
    let (cap1, cap2) = (rig.subscribe(1), rig.subscribe(2));
    rig.request(cap1, &user(1)).unwrap();
    assert!(rig.focus.has_focus(&cap1));
    rig.request(cap2, &user(2)).unwrap();
    assert!(!rig.focus.has_focus(&cap1));
    assert!(rig.focus.has_focus(&cap2));
    let event = InputEvent::key(KeyEvent::pressed(KeyCode::A, Modifiers::none()));
    assert_eq!(rig.focus.route_event(&event).unwrap().id, cap2.id);
    let fates = rig.type_keys("abc");
    assert!(fates.iter().all(|d| matches!(d, Dispatch::Delivered(d) if d.subscription == cap2.id)), "{fates:?}");
    assert_eq!((rig.ledger.usage(ExecutionId(1)).message_count, rig.ledger.usage(ExecutionId(2)).message_count), (MessageCount(0), MessageCount(3)));
    assert!(rig.rules.is_clean(), "{:?}", rig.rules.breaches);
    assert_eq!(rig.rules.count(ONLY_FOCUSED_RECEIVES), 3);
}

#[test]
fn release_returns_input_to_the_previous_holder() {
    let mut rig = Rig::new(&[]);
    let caps: Vec<_> = (1..=3).map(|n| rig.subscribe(n)).collect();
    for (i, cap) in caps.iter().enumerate() {
        rig.request(*cap, &user(i as u64 + 1)).unwrap();
    }
    assert_eq!(rig.focus.stack().collect::<Vec<_>>(), caps.iter().map(|c| c.id).collect::<Vec<_>>());
    let now = Instant(99);
    assert_eq!(rig.focus.release_focus(now), Ok(caps[2]), "release returns the released cap");
    rig.check();
    assert!(rig.focus.has_focus(&caps[1]));
    assert!(matches!(rig.type_keys("z")[..], [Dispatch::Delivered(d)] if d.subscription == caps[1].id));
    // Releasing below the top removes the entry; focus does not move.
    rig.release(caps[0]).unwrap();
    assert!(rig.focus.has_focus(&caps[1]));
    assert_eq!(rig.release(caps[0]), Err(FocusError::NotOnStack(caps[0].id)));
    rig.release(caps[1]).unwrap();
    assert_eq!(rig.focus.focused(), None);
    assert_eq!(rig.type_keys("q"), [Dispatch::Unrouted], "no focus: the key is dropped");
    assert_eq!(rig.focus.release_focus(now), Err(FocusError::NoFocus));
    assert!(rig.rules.is_clean(), "{:?}", rig.rules.breaches);
}

#[test]
fn a_re_request_moves_to_the_top_and_the_holder_asking_again_changes_nothing() {
    let mut rig = Rig::new(&[]);
    let (a, b) = (rig.subscribe(1), rig.subscribe(2));
    rig.request(a, &user(1)).unwrap();
    rig.request(b, &user(2)).unwrap();
    rig.request(a, &user(1)).unwrap();
    assert_eq!(rig.focus.stack().collect::<Vec<_>>(), [b.id, a.id], "no duplicates on the stack");
    let before = rig.focus.audit_trail().len();
    rig.request(a, &user(1)).unwrap();
    assert_eq!(rig.focus.audit_trail().len(), before, "no record for the holder asking again");
    rig.release(a).unwrap();
    assert!(rig.focus.has_focus(&b), "focus returns to the one a took it from");
    assert!(rig.rules.is_clean(), "{:?}", rig.rules.breaches);
}

#[test]
fn a_revoked_subscription_receives_nothing_even_with_focus() {
    let mut rig = Rig::new(&[]);
    let (a, b) = (rig.subscribe(1), rig.subscribe(2));
    rig.request(a, &user(1)).unwrap();
    rig.request(b, &user(2)).unwrap();
    rig.revoke(b);
    let fates = rig.type_keys("xy");
    assert!(fates.iter().all(|d| matches!(d, Dispatch::Refused { subscription, error: InputServiceError::Inactive(_) } if *subscription == b.id)), "{fates:?}");
    assert_eq!(rig.ledger.usage(ExecutionId(1)).message_count, MessageCount(0), "the one below gets nothing either");
    rig.release(b).unwrap();
    assert!(matches!(rig.type_keys("z")[..], [Dispatch::Delivered(d)] if d.subscription == a.id));
    assert!(rig.rules.is_clean(), "{:?}", rig.rules.breaches);
    assert_eq!(rig.rules.count(REVOKED_RECEIVES_NOTHING), 1);
}

/// The seed's cross-domain focus policy ("Policy Integration").
const CROSS_DOMAIN: &str = r#"Rules((name: "CrossDomainFocus", rules: [
    (on: [OnInputFocusRequest], when: [CrossDomain], then: Deny("Cross-domain focus requires approval")),
    (on: [OnInputFocusRequest], when: [ActorDomain("sandbox")], then: Require("user approval")),
]))"#;

#[test]
fn focus_requests_are_policy_gated() {
    let mut rig = Rig::new(&[]);
    rig.policy = Some(policy(CROSS_DOMAIN, &[]));
    let (a, b, c, d) = (rig.subscribe(1), rig.subscribe(2), rig.subscribe(3), rig.subscribe(4));
    let sandbox = identity(4, "sandbox", IdentityKind::Component);
    // Nobody has focus: not cross-domain, but a sandbox needs approval.
    assert_eq!(rig.request(d, &sandbox), Err(FocusError::ApprovalRequired { subscription: d.id, policy: "CrossDomainFocus".into(), action: "user approval".into() }));
    rig.request(a, &user(1)).unwrap();
    rig.request(b, &user(2)).unwrap();
    let core = identity(3, "core", IdentityKind::System);
    let denied = rig.request(c, &core).unwrap_err();
    assert_eq!(denied, FocusError::Denied { subscription: c.id, policy: "CrossDomainFocus".into(), reason: "Cross-domain focus requires approval".into() });
    assert!(rig.focus.has_focus(&b), "a refusal changes nothing");
    let decisions: Vec<(PolicyEvent, bool, &str)> = rig.policy_audit.events().iter().map(|e| (e.event, e.decision.is_allow(), e.context_summary.as_str())).collect();
    assert_eq!(decisions.len(), 4);
    assert!(decisions.iter().all(|(e, _, _)| *e == PolicyEvent::OnInputFocusRequest));
    assert_eq!(decisions[3], (PolicyEvent::OnInputFocusRequest, false, "actor=exec#3(core) target=exec#2(user) cap=2"));
    assert!(rig.rules.is_clean(), "{:?}", rig.rules.breaches);
    assert_eq!(rig.rules.count(POLICY_GATED), 4);
}

#[test]
fn the_focus_audit_trail_records_every_change() {
    let mut rig = Rig::new(&[]);
    rig.policy = Some(policy(CROSS_DOMAIN, &[]));
    let caps: Vec<_> = (1..=3).map(|n| rig.subscribe(n)).collect();
    rig.request(caps[0], &user(1)).unwrap();
    rig.request(caps[1], &user(2)).unwrap();
    let _ = rig.request(caps[2], &identity(3, "core", IdentityKind::System));
    rig.request(caps[2], &user(3)).unwrap();
    rig.release(caps[0]).unwrap();
    rig.release(caps[2]).unwrap();
    rig.release(caps[1]).unwrap();
    let trail: Vec<String> = rig.focus.audit_trail().iter().map(|e| e.to_string()).collect();
    insta::assert_snapshot!("focus_audit_trail", trail.join("\n"));
    assert!(rig.rules.is_clean(), "{:?}", rig.rules.breaches);
}

// ----- the seed's interactive console --------------------------------------------------------

/// The seed's `InteractiveConsole`: collects typed characters, returns the line at Enter.
#[derive(Default)]
struct Console {
    line: String,
}

impl Console {
    fn process_event(&mut self, event: &InputEvent) -> Option<String> {
        let key = event.as_key()?;
        match key.code {
            KeyCode::Enter => Some(std::mem::take(&mut self.line)),
            KeyCode::Backspace => {
                self.line.pop();
                None
            }
            _ => {
                self.line.extend(key.char());
                None
            }
        }
    }
}

#[test]
fn a_simple_interactive_session_types_a_command_through_the_input_service() {
    // Seed "Example: Simple Interactive Session" and "Injecting Events": subscribe, focus, type
    // "ls" + Enter; only what the focused console is delivered reaches it.
    let mut rig = Rig::new(&[]);
    let other = rig.subscribe(9);
    let cap = rig.subscribe(1);
    rig.request(other, &user(9)).unwrap();
    rig.request(cap, &user(1)).unwrap();
    let mut console = Console::default();
    let mut commands = Vec::new();
    for key in keys("lx<BS>s<Enter>hi<Enter>") {
        let event = InputEvent::key(key);
        if let Dispatch::Delivered(d) = dispatch(&event, &rig.focus, &mut rig.input, &mut rig.ledger, Instant(0)) {
            assert_eq!(d.channel, cap.channel, "delivered on the subscription's channel");
            commands.extend(console.process_event(&event));
        }
    }
    assert_eq!(commands, ["ls", "hi"]);
}

#[test]
fn keys_typed_with_no_focus_are_dropped_not_queued() {
    let mut rig = Rig::new(&[]);
    let cap = rig.subscribe(1);
    assert_eq!(rig.type_keys("ab"), [Dispatch::Unrouted, Dispatch::Unrouted]);
    rig.request(cap, &user(1)).unwrap();
    assert_eq!(rig.type_keys("c").len(), 1);
    let delivered = rig.input.audit_trail().iter().filter(|e| matches!(e, InputAuditEvent::Delivered { .. })).count();
    assert_eq!(delivered, 1, "the keys typed before focus never arrive");
    let unrouted = rig.input.audit_trail().iter().filter(|e| matches!(e, InputAuditEvent::Unrouted { .. })).count();
    assert_eq!(unrouted, 2);
}

// ----- the checkers on bad record streams ----------------------------------------------------

fn sub(n: u64) -> SubscriptionId {
    SubscriptionId(n)
}

fn key_a() -> InputEvent {
    InputEvent::key(KeyEvent::pressed(KeyCode::A, Modifiers::NONE))
}

fn delivered(n: u64, before: u64, after: u64) -> InputAuditEvent {
    InputAuditEvent::Delivered { subscription: sub(n), execution: ExecutionId(n), event: key_a(), usage_before: before, usage_after: after, at: Instant(0) }
}

fn granted(n: u64, policy: FocusVerdict) -> FocusEvent {
    FocusEvent::Granted { subscription_id: sub(n), policy, timestamp: Instant(0) }
}

/// Runs the input monitor over focus and input records in order.
fn input_breaches(focus: &[FocusEvent], input: &[InputAuditEvent]) -> RuleLog {
    let mut monitor = InputMonitor::default();
    let mut log = RuleLog::default();
    focus.iter().for_each(|e| monitor.observe_focus(e));
    input.iter().for_each(|e| monitor.observe_input(e, &mut log));
    log
}

/// (name, focus records, input records, the invariants breached)
type StreamCase = (&'static str, Vec<FocusEvent>, Vec<InputAuditEvent>, &'static [&'static str]);

#[test]
fn the_input_checkers_flag_bad_streams() {
    let revoked = InputAuditEvent::Revoked { subscription: sub(1), at: Instant(0) };
    let cases: Vec<StreamCase> = vec![
        ("focused delivery, one unit", vec![granted(1, FocusVerdict::Allowed)], vec![delivered(1, 4, 5)], &[]),
        ("delivered to an unfocused subscription", vec![granted(1, FocusVerdict::Allowed)], vec![delivered(2, 0, 1)], &[ONLY_FOCUSED_RECEIVES]),
        ("delivered with nothing focused", vec![], vec![delivered(1, 0, 1)], &[ONLY_FOCUSED_RECEIVES]),
        ("delivered after revocation", vec![granted(1, FocusVerdict::Allowed)], vec![revoked, delivered(1, 0, 1)], &[REVOKED_RECEIVES_NOTHING]),
        ("delivered without a charge", vec![granted(1, FocusVerdict::Allowed)], vec![delivered(1, 3, 3)], &[DELIVERY_CONSUMES_BUDGET]),
        ("delivered with two charges", vec![granted(1, FocusVerdict::Allowed)], vec![delivered(1, 3, 5)], &[DELIVERY_CONSUMES_BUDGET]),
    ];
    for (name, focus, input, expected) in cases {
        let log = input_breaches(&focus, &input);
        assert_eq!(log.breached(), expected, "{name}: {:?}", log.breaches);
    }
}

#[test]
fn the_focus_checkers_flag_bad_streams() {
    let t = Instant(0);
    let transferred = |from, to, policy| FocusEvent::Transferred { from_subscription_id: sub(from), to_subscription_id: sub(to), policy, timestamp: t };
    let released = |s, next: Option<u64>| FocusEvent::Released { subscription_id: sub(s), next: next.map(sub), timestamp: t };
    let removed = |s| FocusEvent::Removed { subscription_id: sub(s), timestamp: t };
    let denied = |s, policy| FocusEvent::Denied { subscription_id: sub(s), reason: "no".into(), policy, timestamp: t };
    let ok = FocusVerdict::Allowed;
    let cases: Vec<(&str, Vec<FocusEvent>, &[&str])> = vec![
        ("a consistent history", vec![granted(1, ok), transferred(1, 2, ok), transferred(2, 3, FocusVerdict::NoPolicy), removed(1), released(3, Some(2)), denied(4, FocusVerdict::Denied), released(2, None)], &[]),
        ("release to the wrong one", vec![granted(1, ok), transferred(1, 2, ok), transferred(2, 3, ok), released(3, Some(1))], &[STACK_CONSISTENT]),
        ("release of a non-top entry", vec![granted(1, ok), transferred(1, 2, ok), released(1, Some(2))], &[STACK_CONSISTENT]),
        ("a grant while someone has focus", vec![granted(1, ok), granted(2, ok)], &[STACK_CONSISTENT]),
        ("a transfer from a non-holder", vec![granted(1, ok), transferred(3, 2, ok)], &[STACK_CONSISTENT]),
        ("removal of the top", vec![granted(1, ok), removed(1)], &[STACK_CONSISTENT]),
        ("a grant on a Require", vec![granted(1, FocusVerdict::Required)], &[POLICY_GATED]),
        ("a transfer on a Deny", vec![granted(1, ok), transferred(1, 2, FocusVerdict::Denied)], &[POLICY_GATED]),
        ("a refusal on an Allow", vec![denied(1, ok)], &[POLICY_GATED]),
    ];
    for (name, events, expected) in cases {
        let mut log = RuleLog::default();
        FocusMonitor::check_trail(&events, &mut log);
        assert_eq!(log.breached(), expected, "{name}: {:?}", log.breaches);
    }
}

#[test]
fn the_focus_monitor_compares_the_manager_with_its_trail() {
    // A manager whose stack changed without a record: the end-of-event comparison catches it.
    let mut rig = Rig::new(&[]);
    let (a, b) = (rig.subscribe(1), rig.subscribe(2));
    rig.request(a, &user(1)).unwrap();
    rig.request(b, &user(2)).unwrap();
    let mut fresh = FocusMonitor::default();
    let mut log = RuleLog::default();
    fresh.end_event(&rig.focus, &mut log);
    assert_eq!(log.breached(), [STACK_CONSISTENT]);
    assert!(rig.rules.is_clean());
}

// ----- fixed binary forms --------------------------------------------------------------------

fn digest(value: &impl Fold) -> u64 {
    let mut h = TraceHasher::default();
    value.fold(&mut h);
    h.value()
}

#[test]
fn every_record_has_a_distinct_fixed_binary_form() {
    let t = Instant(3);
    let focus = [
        granted(1, FocusVerdict::Allowed),
        granted(1, FocusVerdict::NoPolicy),
        FocusEvent::Transferred { from_subscription_id: sub(1), to_subscription_id: sub(2), policy: FocusVerdict::Allowed, timestamp: t },
        FocusEvent::Released { subscription_id: sub(1), next: None, timestamp: t },
        FocusEvent::Released { subscription_id: sub(1), next: Some(sub(0)), timestamp: t },
        FocusEvent::Denied { subscription_id: sub(1), reason: "x".into(), policy: FocusVerdict::Denied, timestamp: t },
        FocusEvent::Removed { subscription_id: sub(1), timestamp: t },
    ];
    let input = [
        InputAuditEvent::Subscribed { subscription: sub(1), task: TaskId(1), channel: ChannelId(1), execution: ExecutionId(1), at: t },
        InputAuditEvent::Revoked { subscription: sub(1), at: t },
        InputAuditEvent::Unsubscribed { subscription: sub(1), at: t },
        delivered(1, 0, 1),
        InputAuditEvent::Delivered { subscription: sub(1), execution: ExecutionId(1), event: InputEvent::key(KeyEvent::repeat(KeyCode::A, Modifiers::NONE)), usage_before: 0, usage_after: 1, at: Instant(0) },
        InputAuditEvent::Refused { subscription: sub(1), reason: Refusal::Inactive, event: key_a(), at: t },
        InputAuditEvent::Unrouted { event: key_a(), at: t },
    ];
    let mut digests: Vec<u64> = focus.iter().map(digest).chain(input.iter().map(digest)).collect();
    let keys: Vec<KeyEvent> = KeyCode::ALL.iter().flat_map(|&k| [KeyEvent::pressed(k, Modifiers::NONE), KeyEvent::pressed(k, Modifiers::CTRL), KeyEvent::released(k, Modifiers::NONE)]).collect();
    digests.extend(keys.iter().map(digest));
    let n = digests.len();
    digests.sort_unstable();
    digests.dedup();
    assert_eq!(digests.len(), n, "two records share a binary form");
    assert_eq!(notation_of(&keys[..3]), "a<C-a>a");
}

#[test]
fn every_focus_record_carries_its_time() {
    let t = Instant(42);
    let records = [
        FocusEvent::Granted { subscription_id: sub(1), policy: FocusVerdict::Allowed, timestamp: t },
        FocusEvent::Transferred { from_subscription_id: sub(1), to_subscription_id: sub(2), policy: FocusVerdict::Allowed, timestamp: t },
        FocusEvent::Released { subscription_id: sub(2), next: None, timestamp: t },
        FocusEvent::Denied { subscription_id: sub(3), reason: "no".into(), policy: FocusVerdict::Denied, timestamp: t },
        FocusEvent::Removed { subscription_id: sub(4), timestamp: t },
    ];
    assert!(records.iter().all(|r| r.timestamp() == t));
}
