//! Contract tests for architecture "Phase 16: Workspace Manager" ("Component Model", "Command
//! Surface", "Focus Integration", "Policy Enforcement", "Budget Enforcement", "Observable
//! Lifecycle"): launch, list, focus, next, previous, close and status; policy checks at launch and
//! focus; per-component budgets and exhaustion; the audit trail; the `workspace.*` checkers, each
//! shown a bad record stream it must flag. Every test runs every interactive checker after every
//! operation (`common::interactive::Desk`).
//!
//! Choices of the model tested where the seed is silent (`model/src/workspace/`): next / prev
//! cycle in id order from the focused component; a closed component stays listed with its final
//! state; focus returns to the component below on the stack when the focused one exits.

mod common;

use common::identity;
use common::interactive::Desk;
use model::budget::{CpuTicks, MessageCount, ResourceBudget, ResourceKind};
use model::cancellation::CancellationReason;
use model::identity::{ExitReason, IdentityKind};
use model::ids::ExecutionId;
use model::input::{InputServiceError, KeyCode, KeyEvent, Modifiers};
use model::policy::PolicyEvent;
use model::rule_check::RuleLog;
use model::time::Instant;
use model::workspace::checks::{WorkspaceMonitor, CLOSED_COMPONENT_UNFOCUSED, COMPONENT_WITHIN_BUDGET};
use model::workspace::*;

fn editor(name: &str) -> LaunchConfig {
    LaunchConfig::new(ComponentType::Editor, name)
}

fn states(desk: &Desk) -> Vec<(u64, ComponentState)> {
    desk.workspace.list().iter().map(|c| (c.id.0, c.state)).collect()
}

#[test]
fn launch_list_status_and_the_first_component_takes_focus() {
    let mut desk = Desk::new(&[]);
    let e = desk.launch(editor("notes.txt")).unwrap();
    let cli = desk.launch(LaunchConfig::new(ComponentType::Cli, "shell")).unwrap();
    let bg = desk.launch(LaunchConfig::new(ComponentType::Pipeline, "build").unfocusable()).unwrap();
    assert_eq!(desk.workspace.focused_component(), Some(e), "only the first takes focus");
    let info = desk.workspace.status(cli).unwrap();
    assert_eq!((info.state, info.focusable, info.identity.kind), (ComponentState::Running, true, IdentityKind::Component));
    assert_eq!(info.identity.parent_id, Some(ExecutionId(1)), "the workspace is the parent identity");
    assert_eq!(info.identity.trust_domain.0, "user", "the workspace's domain by default");
    assert!(desk.workspace.status(bg).unwrap().subscription.is_none(), "unfocusable: no subscription");
    assert_eq!(desk.workspace.list().len(), 3);
    assert_eq!(desk.workspace.status(ComponentId(9)), Err(WorkspaceError::UnknownComponent(ComponentId(9))));
    assert_eq!(desk.op(|w, env| w.focus(bg, env)), Err(WorkspaceError::NotFocusable(bg)));
    desk.assert_clean();
}

#[test]
fn focus_next_and_previous_cycle_through_running_focusable_components() {
    let mut desk = Desk::new(&[]);
    let ids: Vec<ComponentId> = ["a", "b", "c"].iter().map(|n| desk.launch(editor(n)).unwrap()).collect();
    desk.launch(LaunchConfig::new(ComponentType::Pipeline, "p").unfocusable()).unwrap();
    let mut visited = Vec::new();
    for _ in 0..4 {
        visited.push(desk.op(|w, env| w.next(env)).unwrap().0);
    }
    assert_eq!(visited, [1, 2, 0, 1], "next wraps around and skips the unfocusable");
    assert_eq!(desk.op(|w, env| w.previous(env)), Ok(ids[0]));
    assert_eq!(desk.op(|w, env| w.previous(env)), Ok(ids[2]));
    desk.op(|w, env| w.focus(ids[1], env)).unwrap();
    desk.op(|w, env| w.focus(ids[1], env)).unwrap();
    let focused = desk.workspace.audit_trail().iter().filter(|e| matches!(e, WorkspaceEvent::ComponentFocused { .. })).count();
    assert_eq!(focused, 8, "focusing the focused component records nothing");
    desk.assert_clean();
}

#[test]
fn closing_the_focused_component_returns_focus_and_cancels_it() {
    let mut desk = Desk::new(&[]);
    let a = desk.launch(editor("a")).unwrap();
    let b = desk.launch(editor("b")).unwrap();
    desk.op(|w, env| w.focus(b, env)).unwrap();
    desk.op(|w, env| w.close(b, env)).unwrap();
    assert_eq!(desk.workspace.focused_component(), Some(a), "focus returns to the one below");
    let info = desk.workspace.status(b).unwrap().clone();
    assert_eq!(info.state, ComponentState::Cancelled);
    assert!(matches!(info.exit_reason, Some(ExitReason::Cancelled { .. })));
    assert_eq!(desk.world.cancellations.reason(info.cancellation.token()), Some(&CancellationReason::SupervisorCancel));
    assert!(!desk.workspace.input().exists(info.subscription.unwrap().id), "unsubscribed");
    assert_eq!(desk.op(|w, env| w.close(b, env)), Err(WorkspaceError::NotRunning { component: b, state: ComponentState::Cancelled }));
    assert_eq!(desk.op(|w, env| w.focus(b, env)), Err(WorkspaceError::NotRunning { component: b, state: ComponentState::Cancelled }));
    // Closing an unfocused component leaves the focus alone.
    let c = desk.launch(editor("c")).unwrap();
    desk.op(|w, env| w.close(c, env)).unwrap();
    assert_eq!(desk.workspace.focused_component(), Some(a));
    desk.op(|w, env| w.close(a, env)).unwrap();
    assert_eq!(desk.workspace.focused_component(), None);
    assert_eq!(desk.op(|w, env| w.next(env)), Err(WorkspaceError::NothingToFocus));
    assert_eq!(states(&desk), [(0, ComponentState::Cancelled), (1, ComponentState::Cancelled), (2, ComponentState::Cancelled)]);
    desk.assert_clean();
}

#[test]
fn a_component_that_exits_by_itself_ends_in_the_state_its_reason_gives() {
    let mut desk = Desk::new(&[]);
    let reasons = [ExitReason::Normal, ExitReason::Failure { error: "boom".into() }, ExitReason::Timeout, ExitReason::Cancelled { reason: "user".into() }];
    for (i, reason) in reasons.iter().enumerate() {
        let c = desk.launch(editor(&format!("e{i}"))).unwrap();
        desk.op(|w, env| w.component_exited(c, reason.clone(), env)).unwrap();
    }
    assert_eq!(states(&desk), [(0, ComponentState::Exited), (1, ComponentState::Failed), (2, ComponentState::Failed), (3, ComponentState::Cancelled)]);
    desk.assert_clean();
}

#[test]
fn launch_is_policy_checked_and_a_refused_launch_has_no_effect() {
    // The seed's TrustDomainPolicy: a sandbox cannot spawn System services.
    let mut desk = Desk::new(&[]).with_policy("TrustDomain");
    desk.workspace = WorkspaceManager::new(identity(1, "sandbox", IdentityKind::Service));
    let system = LaunchConfig::new(ComponentType::Custom("daemon".into()), "daemon").with_kind(IdentityKind::System);
    let refused = desk.launch(system).unwrap_err();
    assert_eq!(refused, WorkspaceError::LaunchDenied { policy: "TrustDomainPolicy".into(), reason: "Sandbox cannot spawn System services".into() });
    assert!(desk.workspace.list().is_empty());
    assert!(desk.workspace.input().subscriptions().next().is_none());
    assert!(desk.world.resources.resource_audit().is_empty(), "no budget attached");
    assert!(desk.world.cancellations.events().is_empty());
    let launched = desk.launch(editor("ok")).unwrap();
    assert_eq!(desk.workspace.status(launched).unwrap().identity.execution_id, ExecutionId(101), "a refused launch's ids are never used");
    let decisions: Vec<(PolicyEvent, bool)> = desk.world.policy_audit.events().iter().map(|e| (e.event, e.decision.is_deny())).collect();
    assert_eq!(decisions, [(PolicyEvent::OnSpawn, true), (PolicyEvent::OnSpawn, false), (PolicyEvent::OnInputFocusRequest, false)]);
    desk.assert_clean();
}

#[test]
fn a_launch_that_requires_approval_is_refused_too() {
    let mut desk = Desk::new(&[]).with_policy(r#"Rules((name: "Approve", rules: [(on: [OnSpawn], when: [MetadataEquals(key: "component_type", value: "cli")], then: Require("approval"))]))"#);
    assert_eq!(desk.launch(LaunchConfig::new(ComponentType::Cli, "sh")), Err(WorkspaceError::LaunchRequires { policy: "Approve".into(), action: "approval".into() }));
    assert!(desk.launch(editor("e")).is_ok());
    desk.assert_clean();
}

#[test]
fn focus_is_policy_checked() {
    let mut desk = Desk::new(&[]).with_policy(r#"Rules((name: "CrossDomainFocus", rules: [(on: [OnInputFocusRequest], when: [CrossDomain], then: Deny("Cross-domain focus requires approval"))]))"#);
    let mine = desk.launch(editor("mine")).unwrap();
    let theirs = desk.launch(editor("theirs").with_trust_domain("core")).unwrap();
    let refused = desk.op(|w, env| w.focus(theirs, env)).unwrap_err();
    assert!(matches!(refused, WorkspaceError::Focus(model::focus::FocusError::Denied { .. })), "{refused:?}");
    assert_eq!(desk.workspace.focused_component(), Some(mine));
    assert!(desk.workspace.audit_trail().iter().any(|e| matches!(e, WorkspaceEvent::FocusDenied { component_id, .. } if *component_id == theirs)));
    // With nobody focused, the request is not cross-domain.
    desk.op(|w, env| w.close(mine, env)).unwrap();
    desk.op(|w, env| w.focus(theirs, env)).unwrap();
    desk.assert_clean();
}

#[test]
fn a_budget_above_the_workspaces_is_refused() {
    let mut desk = Desk::new(&[]);
    desk.world.resources.attach(ExecutionId(1), None, Some(ResourceBudget::unlimited().with_message_count(MessageCount(10)))).unwrap();
    let greedy = editor("greedy").with_budget(ResourceBudget::unlimited().with_message_count(MessageCount(11)));
    assert!(matches!(desk.launch(greedy), Err(WorkspaceError::InvalidBudget(_))));
    assert!(desk.workspace.list().is_empty());
    let modest = desk.launch(editor("modest").with_budget(ResourceBudget::unlimited().with_message_count(MessageCount(10)))).unwrap();
    assert_eq!(desk.workspace.status(modest).unwrap().budget.and_then(|b| b.message_count), Some(MessageCount(10)));
    let inherits = desk.launch(editor("inherits")).unwrap();
    assert_eq!(desk.workspace.status(inherits).unwrap().budget.and_then(|b| b.message_count), Some(MessageCount(10)), "no budget: the workspace's");
    desk.assert_clean();
}

#[test]
fn an_exhausted_component_fails_and_loses_focus() {
    // Seed "Budget Enforcement": MessageCount exhausted by key deliveries.
    let mut desk = Desk::new(&[]);
    let a = desk.launch(editor("a")).unwrap();
    let b = desk.launch(editor("b").with_budget(ResourceBudget::unlimited().with_message_count(MessageCount(3)))).unwrap();
    desk.op(|w, env| w.focus(b, env)).unwrap();
    let fates = desk.type_keys("ihi<Esc>x");
    let delivered = fates.iter().filter(|(d, _)| matches!(d, KeyDispatch::Delivered { component, .. } if *component == b)).count();
    assert_eq!(delivered, 3);
    assert!(matches!(&fates[3].0, KeyDispatch::Refused { component: Some(c), error: InputServiceError::BudgetExhausted(e) } if *c == b && e.resource_type == ResourceKind::MessageCount));
    assert!(matches!(fates[4].0, KeyDispatch::Delivered { component, .. } if component == a), "the next key goes to the one below");
    let info = desk.workspace.status(b).unwrap();
    assert_eq!(info.state, ComponentState::Failed);
    assert_eq!(info.exit_reason, Some(ExitReason::Failure { error: "Resource budget exhausted: MessageCount".into() }));
    assert_eq!(desk.workspace.focused_component(), Some(a));
    assert_eq!(desk.world.resources.budget(info.identity.execution_id), None, "the account is released");
    desk.assert_clean();
    assert!(desk.rules.count(COMPONENT_WITHIN_BUDGET) >= 4);
}

#[test]
fn exhaustion_of_another_resource_is_handled_the_same_way() {
    let mut desk = Desk::new(&[]);
    let a = desk.launch(editor("a").with_budget(ResourceBudget::unlimited().with_cpu_ticks(CpuTicks(5)))).unwrap();
    let exec = desk.workspace.status(a).unwrap().identity.execution_id;
    assert!(desk.world.resources.try_consume_cpu_ticks(exec, 6).is_err());
    desk.op(|w, env| w.handle_budget_exhaustion(a, ResourceKind::CpuTicks, env)).unwrap();
    assert_eq!(desk.workspace.status(a).unwrap().state, ComponentState::Failed);
    assert_eq!(desk.workspace.focused_component(), None);
    desk.assert_clean();
}

#[test]
fn the_command_surface_drives_the_workspace() {
    let mut desk = Desk::new(&[]);
    let mut transcript = Vec::new();
    for line in ["open editor notes.txt", "open cli", "list", "next", "status comp#1", "prev", "focus comp:1", "close comp#1", "close comp#1", "list", "status 7", "rm -rf /", "open"] {
        transcript.push(format!("> {line}"));
        let now = Instant(desk.now.0 + 1);
        desk.now = now;
        transcript.extend(desk.workspace.execute_line(line, &mut desk.world.env(now)));
        desk.check();
    }
    insta::assert_snapshot!("workspace_commands", transcript.join("\n"));
    desk.assert_clean();
}

#[test]
fn the_workspace_audit_trail_records_every_lifecycle_step() {
    let mut desk = Desk::new(&[]).with_policy(r#"Rules((name: "NoDaemons", rules: [(on: [OnSpawn], when: [TargetKind(System)], then: Deny("no daemons"))]))"#);
    let a = desk.launch(editor("a")).unwrap();
    let b = desk.launch(editor("b").with_budget(ResourceBudget::unlimited().with_message_count(MessageCount(1)))).unwrap();
    let _ = desk.launch(LaunchConfig::new(ComponentType::Custom("daemon".into()), "d").with_kind(IdentityKind::System));
    desk.op(|w, env| w.focus(b, env)).unwrap();
    desk.press(KeyEvent::pressed(KeyCode::I, Modifiers::NONE));
    desk.press(KeyEvent::pressed(KeyCode::X, Modifiers::NONE));
    desk.op(|w, env| w.close(a, env)).unwrap();
    let trail: Vec<String> = desk.workspace.audit_trail().iter().map(|e| e.to_string()).collect();
    insta::assert_snapshot!("workspace_audit_trail", trail.join("\n"));
    desk.assert_clean();
}

// ----- the checkers on bad record streams ----------------------------------------------------

fn c(n: u64) -> ComponentId {
    ComponentId(n)
}

fn launched(n: u64, limit: Option<u64>) -> WorkspaceEvent {
    let budget = limit.map(|l| ResourceBudget::unlimited().with_message_count(MessageCount(l)));
    WorkspaceEvent::ComponentLaunched { component_id: c(n), component_type: ComponentType::Editor, execution_id: ExecutionId(n), budget, timestamp: Instant(0) }
}

#[test]
fn the_workspace_checkers_flag_bad_streams() {
    let t = Instant(0);
    let focused = |n| WorkspaceEvent::ComponentFocused { component_id: c(n), timestamp: t };
    let unfocused = |n| WorkspaceEvent::ComponentUnfocused { component_id: c(n), timestamp: t };
    let terminated = |n| WorkspaceEvent::ComponentTerminated { component_id: c(n), reason: ExitReason::Normal, timestamp: t };
    let key = |n, usage| WorkspaceEvent::InputDelivered { component_id: c(n), message_usage: usage, timestamp: t };
    let exhausted = |n| WorkspaceEvent::BudgetExhausted { component_id: c(n), resource: ResourceKind::MessageCount, timestamp: t };
    let cases: Vec<(&str, Vec<WorkspaceEvent>, &[&str])> = vec![
        ("a clean life", vec![launched(0, Some(2)), focused(0), key(0, 1), key(0, 2), exhausted(0), unfocused(0), terminated(0)], &[]),
        ("terminated while focused", vec![launched(0, None), focused(0), terminated(0)], &[CLOSED_COMPONENT_UNFOCUSED]),
        ("focused after termination", vec![launched(0, None), terminated(0), focused(0)], &[CLOSED_COMPONENT_UNFOCUSED]),
        ("a key above the budget", vec![launched(0, Some(2)), focused(0), key(0, 3)], &[COMPONENT_WITHIN_BUDGET]),
        ("a key after termination", vec![launched(0, None), terminated(0), key(0, 1)], &[COMPONENT_WITHIN_BUDGET]),
        ("a key after exhaustion", vec![launched(0, Some(1)), exhausted(0), key(0, 1), terminated(0)], &[COMPONENT_WITHIN_BUDGET]),
        ("exhausted, never terminated", vec![launched(0, Some(1)), exhausted(0)], &[COMPONENT_WITHIN_BUDGET]),
    ];
    for (name, events, expected) in cases {
        let mut log = RuleLog::default();
        WorkspaceMonitor::check_trail(&events, &mut log);
        assert_eq!(log.breached(), expected, "{name}: {:?}", log.breaches);
    }
}

#[test]
fn every_workspace_record_has_a_distinct_fixed_binary_form() {
    use model::trace_hash::{Fold, TraceHasher};
    let t = Instant(1);
    let records = [
        launched(0, None),
        launched(0, Some(1)),
        WorkspaceEvent::LaunchRefused { name: "x".into(), component_type: ComponentType::Cli, reason: "no".into(), timestamp: t },
        WorkspaceEvent::ComponentStateChanged { component_id: c(0), old_state: ComponentState::Running, new_state: ComponentState::Failed, timestamp: t },
        WorkspaceEvent::ComponentStateChanged { component_id: c(0), old_state: ComponentState::Running, new_state: ComponentState::Exited, timestamp: t },
        WorkspaceEvent::ComponentFocused { component_id: c(0), timestamp: t },
        WorkspaceEvent::ComponentUnfocused { component_id: c(0), timestamp: t },
        WorkspaceEvent::FocusDenied { component_id: c(0), reason: "no".into(), timestamp: t },
        WorkspaceEvent::InputDelivered { component_id: c(0), message_usage: 1, timestamp: t },
        WorkspaceEvent::BudgetExhausted { component_id: c(0), resource: ResourceKind::CpuTicks, timestamp: t },
        WorkspaceEvent::ComponentTerminated { component_id: c(0), reason: ExitReason::Timeout, timestamp: t },
    ];
    let mut digests: Vec<u64> = records
        .iter()
        .map(|r| {
            let mut h = TraceHasher::default();
            r.fold(&mut h);
            h.value()
        })
        .collect();
    digests.sort_unstable();
    digests.dedup();
    assert_eq!(digests.len(), records.len());
}

#[test]
fn launch_configs_are_scenario_data() {
    let config: LaunchConfig = ron::from_str(r#"(component_type: Editor, name: "notes", budget: Some((message_count: Some(100))), trust_domain: Some("user"))"#).unwrap();
    assert_eq!(config, editor("notes").with_budget(ResourceBudget::unlimited().with_message_count(MessageCount(100))).with_trust_domain("user"));
    assert!(ron::from_str::<LaunchConfig>(r#"(component_type: Cli, name: "x", colour: "red")"#).is_err());
    let command: WorkspaceCommand = ron::from_str(r#"Open(component_type: Custom("viewer"), args: ["a.txt"])"#).unwrap();
    assert_eq!(command.to_string(), "open viewer a.txt");
}
