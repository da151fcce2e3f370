//! The planted bugs of the input, focus, workspace and editor modules (DESIGN.md, "Bugs must be
//! findable"): each deliberately broken rule, switched on alone, breaks exactly the invariant
//! `PlantedBug::caught_by` names — with every interactive checker watching — and the same workout
//! on the correct model breaks nothing while checking that invariant. Runs reach them through the
//! scenario's workspace (`scenarios/bug_*.ron` are their minimal repros); this is where each is
//! shown to break exactly its invariant with the modules driven directly.

mod common;

use common::identity;
use common::interactive::{policy, user, Desk};
use model::budget::{MessageCount, ResourceBudget};
use model::bugs::{BugSet, PlantedBug};
use model::identity::IdentityKind;
use model::rule_check::RuleLog;
use model::workspace::{ComponentType, LaunchConfig};

/// Input and focus used directly: a stack of three, a revoked focused subscription, a release, a
/// sandbox whose focus request needs approval.
fn input_workout(bugs: &[PlantedBug]) -> RuleLog {
    let mut rig = common::interactive::Rig::new(bugs);
    rig.policy = Some(policy(r#"Rules((name: "SandboxFocus", rules: [(on: [OnInputFocusRequest], when: [ActorDomain("sandbox")], then: Require("approval"))]))"#, bugs));
    let (a, b, c, d) = (rig.subscribe(1), rig.subscribe(2), rig.subscribe(3), rig.subscribe(4));
    for (cap, n) in [(a, 1), (b, 2), (c, 3)] {
        rig.request(cap, &user(n)).unwrap();
    }
    rig.type_keys("k");
    rig.revoke(c);
    rig.type_keys("r");
    rig.release(c).unwrap();
    rig.type_keys("e");
    let _ = rig.request(d, &identity(4, "sandbox", IdentityKind::Component));
    rig.type_keys("s");
    rig.rules
}

/// A workspace: a component exhausts its key budget, another is closed while focused.
fn workspace_workout(bugs: &[PlantedBug]) -> RuleLog {
    let mut desk = Desk::new(bugs);
    desk.launch(LaunchConfig::new(ComponentType::Cli, "a")).unwrap();
    let b = desk.launch(LaunchConfig::new(ComponentType::Cli, "b").with_budget(ResourceBudget::unlimited().with_message_count(MessageCount(2)))).unwrap();
    desk.op(|w, env| w.focus(b, env)).unwrap();
    desk.type_keys("xyz");
    let c = desk.launch(LaunchConfig::new(ComponentType::Cli, "c")).unwrap();
    desk.op(|w, env| w.focus(c, env)).unwrap();
    desk.op(|w, env| w.close(c, env)).unwrap();
    desk.type_keys("w");
    desk.rules
}

/// An editor in a workspace: a save, then an unsaved change and `:q`, then `:q!`.
fn editor_workout(bugs: &[PlantedBug]) -> RuleLog {
    let mut desk = Desk::new(bugs);
    let e = desk.launch(LaunchConfig::new(ComponentType::Editor, "e")).unwrap();
    let handle = desk.document("text", Some("t.txt"), true);
    desk.open(e, handle).unwrap();
    desk.type_keys("ihi <Esc>:w<Enter>x:q<Enter>:q!<Enter>");
    desk.rules
}

fn workout(bug: PlantedBug) -> fn(&[PlantedBug]) -> RuleLog {
    use PlantedBug::*;
    match bug {
        RevokedSubscriptionReceives | KeysRoutedBelowFocus | InputDeliveryUncharged | FocusReleasedToBottom | FocusRequireTreatedAsAllow => input_workout,
        ClosedComponentKeepsFocus | ExhaustedComponentKeepsRunning => workspace_workout,
        SaveReusesVersion | QuitDiscardsDirtyBuffer => editor_workout,
        other => unreachable!("{other:?} is not an input, focus, workspace or editor bug"),
    }
}

fn interactive_bugs() -> Vec<PlantedBug> {
    PlantedBug::ALL.into_iter().filter(|b| *b >= PlantedBug::RevokedSubscriptionReceives && *b <= PlantedBug::QuitDiscardsDirtyBuffer).collect()
}

#[test]
fn the_interactive_modules_have_their_planted_bugs() {
    let bugs = interactive_bugs();
    assert_eq!(bugs.len(), 9);
    assert!(bugs.iter().all(|b| b.reachable_by_runs()), "runs reach them through the workspace");
    let caught: Vec<&str> = bugs.iter().map(|b| b.caught_by()[0]).collect();
    for invariant in [
        "input.only_focused_receives",
        "input.revoked_receives_nothing",
        "input.delivery_consumes_budget",
        "focus.stack_consistent",
        "focus.policy_gated",
        "workspace.closed_component_unfocused",
        "workspace.component_within_budget",
        "editor.save_creates_version",
        "editor.no_silent_loss",
    ] {
        assert!(caught.contains(&invariant), "no bug is caught by {invariant}");
    }
    assert!(BugSet::from_list(&bugs).has(PlantedBug::QuitDiscardsDirtyBuffer));
}

#[test]
fn every_workout_is_clean_on_the_correct_model_and_checks_the_invariant() {
    for bug in interactive_bugs() {
        let log = workout(bug)(&[]);
        assert!(log.is_clean(), "{bug:?}'s workout breaks the correct model: {:#?}", log.breaches);
        let invariant = bug.caught_by()[0];
        assert!(log.count(invariant) > 0, "{bug:?}'s workout never checks {invariant}");
    }
}

#[test]
fn each_planted_bug_breaks_exactly_its_invariant() {
    let mut wrong = Vec::new();
    for bug in interactive_bugs() {
        let log = workout(bug)(&[bug]);
        let breached = log.breached();
        if breached != [bug.caught_by()[0]] {
            wrong.push(format!("{bug:?}: expected [{}], breached {breached:?}: {:#?}", bug.caught_by()[0], log.breaches));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
