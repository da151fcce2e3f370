//! Shrinking quality, measured on the planted bugs (DESIGN.md, "Bugs must be findable").
//!
//! For each planted bug: switch it on in a purely random run (`tests/data/random_run.ron`), take
//! the first seed whose run fails with the bug's invariant, shrink it, and check that
//! - the result keeps the signature and is no larger than the hand-written minimal reproduction
//!   committed as `scenarios/bug_<name>.ron` (events run, and tasks + steps + faults);
//! - shrinking is deterministic: a second shrink gives the identical file;
//! - the shrunk scenario file is snapshotted, so a change in shrinking shows up in review.

use model::bugs::PlantedBug;
use model::{RunConfig, Scenario};
use shrinker::{output, shrink, Budget, Shrunk};
use std::path::Path;
use std::sync::atomic::AtomicBool;

fn snake(bug: PlantedBug) -> String {
    let name = format!("{bug:?}");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn random_run(bug: PlantedBug) -> Scenario {
    let mut s = scenarios::load_scenario(Path::new("tests/data/random_run.ron")).expect("random_run.ron loads");
    s.bugs = vec![bug];
    s
}

/// The first seed in 1..=50 whose run fails with the bug's invariant, and its choices.
fn failing_run(scenario: &Scenario, bug: PlantedBug) -> (u64, Vec<u64>) {
    for seed in 1..=50 {
        let report = model::run(scenario, &RunConfig { seed, record_choices: true, ..RunConfig::default() });
        if report.first_violation().is_some_and(|v| bug.is_caught_by(&v.invariant)) {
            return (seed, report.choices.expect("recorded"));
        }
    }
    panic!("no seed in 1..=50 makes the random run fail with {bug:?}");
}

fn shrink_bug(bug: PlantedBug) -> Shrunk {
    let scenario = random_run(bug);
    let (seed, choices) = failing_run(&scenario, bug);
    let budget = Budget { max_executions: 20_000, max_time: None };
    shrink(&scenario, choices, seed, budget, &AtomicBool::new(false), &mut |_| {}).expect("the run fails")
}

/// (events, tasks + steps + faults) of the hand-written minimal reproduction.
fn reference_size(bug: PlantedBug) -> (u64, u64) {
    let path = format!("../scenarios/bug_{}.ron", snake(bug));
    let s = scenarios::load_scenario(Path::new(&path)).unwrap_or_else(|e| panic!("reference {path}: {e}"));
    let report = model::run(&s, &RunConfig::seeded(s.seed));
    let v = report.first_violation().unwrap_or_else(|| panic!("reference {path} does not fail"));
    assert!(bug.is_caught_by(&v.invariant), "reference {path} fails with {}", v.invariant);
    let parts = s.all_tasks().len() + s.steps.len() + s.faults.message_faults.len() + s.faults.lifecycle_faults.len();
    (v.event + 1, parts as u64)
}

fn check(bug: PlantedBug) {
    let first = shrink_bug(bug);
    assert!(bug.is_caught_by(first.signature.split('@').next().unwrap_or("")), "{bug:?}: shrunk signature {}", first.signature);
    let (ref_events, ref_parts) = reference_size(bug);
    let parts = first.after.tasks + first.after.steps + first.after.faults;
    assert!(first.after.events <= ref_events, "{bug:?}: {} events after shrinking, the reference needs {ref_events}", first.after.events);
    assert!(parts <= ref_parts, "{bug:?}: {parts} tasks+steps+faults after shrinking, the reference has {ref_parts}");
    let text = output::scenario_text(&first, "tests/data/random_run.ron");
    let second = shrink_bug(bug);
    assert_eq!(text, output::scenario_text(&second, "tests/data/random_run.ron"), "{bug:?}: shrinking is not deterministic");
    let shrunk = scenarios::parse_scenario(&text, "shrunk").expect("the shrunk file loads");
    let replayed = model::run(&shrunk, &RunConfig { replay_choices: Some(first.choices.clone()), ..RunConfig::default() });
    assert_eq!(replayed.first_violation().map(|v| v.signature()), Some(first.signature.clone()));
    insta::assert_snapshot!(format!("shrunk_{}", snake(bug)), text);
}

#[test]
fn delegate_keeps_source() {
    check(PlantedBug::DelegateKeepsSource);
}

#[test]
fn termination_skips_invalidation() {
    check(PlantedBug::TerminationSkipsInvalidation);
}

#[test]
fn delayed_delivery_duplicates() {
    check(PlantedBug::DelayedDeliveryDuplicates);
}

#[test]
fn registry_keeps_dead_service() {
    check(PlantedBug::RegistryKeepsDeadService);
}

#[test]
fn reuse_execution_ids() {
    check(PlantedBug::ReuseExecutionIds);
}

#[test]
fn receive_newest_first() {
    check(PlantedBug::ReceiveNewestFirst);
}

#[test]
fn duplicate_exit_notification() {
    check(PlantedBug::DuplicateExitNotification);
}

#[test]
fn every_planted_bug_has_a_test_here() {
    assert_eq!(PlantedBug::reachable().count(), 7, "add a test above for the new planted bug");
}

// ----- The interactive bugs: shrunk from a random run at the desk --------------------------------

const DESK: &str = "tests/data/random_desk.ron";

/// As [`check`], from the random desk run (`tests/data/random_desk.ron`); input faults count as
/// faults, and the workspace's keys shorten to no more than the reference's.
fn check_desk(bug: PlantedBug) {
    let mut scenario = scenarios::load_scenario(Path::new(DESK)).expect("random_desk.ron loads");
    scenario.bugs = vec![bug];
    let (seed, choices) = failing_run(&scenario, bug);
    let shrunk = || shrink(&scenario, choices.clone(), seed, Budget { max_executions: 20_000, max_time: None }, &AtomicBool::new(false), &mut |_| {}).expect("the run fails");
    let first = shrunk();
    assert!(bug.is_caught_by(first.signature.split('@').next().unwrap_or("")), "{bug:?}: shrunk signature {}", first.signature);
    let (ref_events, ref_parts) = reference_size(bug);
    let parts = first.after.tasks + first.after.steps + first.after.faults;
    assert!(first.after.events <= ref_events, "{bug:?}: {} events after shrinking, the reference needs {ref_events}", first.after.events);
    assert!(parts <= ref_parts, "{bug:?}: {parts} tasks+steps+faults after shrinking, the reference has {ref_parts}");
    let text = output::scenario_text(&first, DESK);
    assert_eq!(text, output::scenario_text(&shrunk(), DESK), "{bug:?}: shrinking is not deterministic");
    let reloaded = scenarios::parse_scenario(&text, "shrunk").expect("the shrunk file loads");
    let replayed = model::run(&reloaded, &RunConfig { replay_choices: Some(first.choices.clone()), ..RunConfig::default() });
    assert_eq!(replayed.first_violation().map(|v| v.signature()), Some(first.signature.clone()));
    insta::assert_snapshot!(format!("shrunk_{}", snake(bug)), text);
}

#[test]
fn revoked_subscription_receives() {
    check_desk(PlantedBug::RevokedSubscriptionReceives);
}

#[test]
fn keys_routed_below_focus() {
    check_desk(PlantedBug::KeysRoutedBelowFocus);
}

#[test]
fn input_delivery_uncharged() {
    check_desk(PlantedBug::InputDeliveryUncharged);
}

#[test]
fn focus_released_to_bottom() {
    check_desk(PlantedBug::FocusReleasedToBottom);
}

#[test]
fn focus_require_treated_as_allow() {
    check_desk(PlantedBug::FocusRequireTreatedAsAllow);
}

#[test]
fn closed_component_keeps_focus() {
    check_desk(PlantedBug::ClosedComponentKeepsFocus);
}

#[test]
fn exhausted_component_keeps_running() {
    check_desk(PlantedBug::ExhaustedComponentKeepsRunning);
}

#[test]
fn save_reuses_version() {
    check_desk(PlantedBug::SaveReusesVersion);
}

#[test]
fn quit_discards_dirty_buffer() {
    check_desk(PlantedBug::QuitDiscardsDirtyBuffer);
}
