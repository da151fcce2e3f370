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

/// The purely random run a bug is searched in: a network for the networking bugs.
fn base_path(bug: PlantedBug) -> &'static str {
    if bug.is_network() {
        "tests/data/random_net_run.ron"
    } else {
        "tests/data/random_run.ron"
    }
}

fn random_run(bug: PlantedBug) -> Scenario {
    let mut s = scenarios::load_scenario(Path::new(base_path(bug))).expect("the random run loads");
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
    let text = output::scenario_text(&first, base_path(bug));
    let second = shrink_bug(bug);
    assert_eq!(text, output::scenario_text(&second, base_path(bug)), "{bug:?}: shrinking is not deterministic");
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
    // The kernel's seven above and the networking seven below (the authority ones are added beside
    // them by the authority integration).
    let here = PlantedBug::reachable().filter(|b| b.is_network() || (*b as u32) <= PlantedBug::DuplicateExitNotification as u32);
    assert_eq!(here.count(), 14, "add a test for the new planted bug");
}

// ----- Networking: a scenario's network (the random run is `tests/data/random_net_run.ron`) -----

#[test]
fn net_policy_checked_after_budget() {
    check(PlantedBug::NetPolicyCheckedAfterBudget);
}

#[test]
fn denied_packet_charged() {
    check(PlantedBug::DeniedPacketCharged);
}

#[test]
fn received_packet_not_charged() {
    check(PlantedBug::ReceivedPacketNotCharged);
}

#[test]
fn partition_checked_at_send_only() {
    check(PlantedBug::PartitionCheckedAtSendOnly);
}

#[test]
fn retransmission_delivered_twice() {
    check(PlantedBug::RetransmissionDeliveredTwice);
}

#[test]
fn session_binds_presented_identity() {
    check(PlantedBug::SessionBindsPresentedIdentity);
}

#[test]
fn session_accepted_before_identity_check() {
    check(PlantedBug::SessionAcceptedBeforeIdentityCheck);
}
