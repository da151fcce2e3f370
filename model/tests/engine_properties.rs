//! Properties of the discrete-event loop (`model/src/engine.rs`) that make the simulation of the
//! seed's system trustworthy: the seed's "Faults are deterministic and reproducible (given same
//! FaultPlan)" and "No undefined behavior or panics" ("Safety Properties Under Faults"), replay of
//! recorded choices, the planted bugs being caught by their invariants, and the event queue's
//! tie-breaking by insertion order.

use std::collections::BTreeSet;

#[path = "support/strategies.rs"]
mod strategies;

use model::bugs::PlantedBug;
use model::error::KernelErrorKind;
use model::report::{RunReport, StopReason};
use model::{run, RunConfig, Scenario};
use proptest::prelude::*;

const DEFAULT: &str = include_str!("../../scenarios/default.ron");

fn parse(text: &str) -> Scenario {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str::<Scenario>(text)
        .expect("scenario parses")
}

fn default_scenario() -> Scenario {
    let s = parse(DEFAULT);
    s.validate().expect("the default scenario is valid");
    s
}

/// The default scenario with a smaller workload, for many runs.
fn small_default() -> Scenario {
    let mut s = default_scenario();
    s.workload.as_mut().expect("the default scenario has a workload").ops = 300;
    s
}

/// A network that gives every networking bug its chance: an impostor (c announces 555), a policy
/// denying b what c sends, `PacketCount` budgets, duplication of the data d exchanges with a and
/// b, and a partition of a and b that starts while the first announces fly.
const BUG_HUNT_NETWORK: &str = r#"(
    nodes: [
        (name: "a", address: "10.0.0.1", device: 101),
        (name: "b", address: "10.0.0.2", device: 102),
        (name: "c", address: "10.0.0.3", device: 103, announce_as: Some(555)),
        (name: "d", address: "10.0.0.4", device: 104),
    ],
    mesh: Some((latency_ns: 1_000_000)),
    policy: Rules((name: "NotFromC", rules: [(when: [Direction(Receive), SourceIn("10.0.0.3/32"), DestinationIn("10.0.0.2/32")], then: Deny("b ignores c"))])),
    packet_budget: Some(1000),
    faults: (link_faults: [
        (fault: Duplicate(gap_ns: 100_000), when: Chance(per_mille: 300)),
        (fault: Partition, on: Between(a: 0, b: 1), when: Window(from_ns: 500_000, until_ns: 3_000_000)),
    ]),
)"#;

/// The scenario `s` with `bug` switched on, and for a networking bug the bug-hunt network.
fn with_bug(mut s: Scenario, bug: PlantedBug) -> Scenario {
    s.bugs = vec![bug];
    if bug.is_network() {
        s.network = Some(ron::from_str(BUG_HUNT_NETWORK).expect("the bug-hunt network parses"));
    }
    s
}

fn seeded(seed: u64) -> RunConfig {
    RunConfig::seeded(seed)
}

fn assert_same_run(a: &RunReport, b: &RunReport) {
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.stop, b.stop);
    assert_eq!(a.end_time, b.end_time);
    assert_eq!(a.choices_drawn, b.choices_drawn);
    assert_eq!(a.violations, b.violations);
    assert_eq!(a.step_results, b.step_results);
    assert_eq!(a.audit_counts, b.audit_counts);
    assert_eq!(a.invariant_checks, b.invariant_checks);
    assert_eq!(a.audit.records(), b.audit.records());
}

// ----- (a) determinism ------------------------------------------------------------------------

#[test]
fn the_default_scenario_passes() {
    let s = default_scenario();
    let report = run(&s, &seeded(s.seed));
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    assert!(report.passed(), "{:#?}", report.expectations);
    assert_eq!(report.stop, StopReason::Quiescent);
    assert!(report.stats.events > 0 && report.stats.messages_sent > 0 && report.stats.faults_injected > 0);
    // The `net.*` invariants are checked in runs with a network (`net_eight_node_mesh.ron`).
    let unchecked = report.invariant_checks.iter().filter(|(id, n)| *n == 0 && !(id.starts_with("net.") && s.network.is_none()));
    assert_eq!(unchecked.count(), 0, "some invariant was never checked: {:?}", report.invariant_checks);
}

#[test]
fn same_scenario_and_seed_give_the_same_run() {
    let s = default_scenario();
    for seed in [s.seed, 0, 7, u64::MAX] {
        let a = run(&s, &seeded(seed));
        let b = run(&s, &seeded(seed));
        assert_same_run(&a, &b);
        // Recording digests and events observes the run without changing it.
        let c = run(&s, &RunConfig { seed, record_digests: true, record_events: true, record_choices: true, ..RunConfig::default() });
        assert_same_run(&a, &c);
        let digests = c.event_digests.expect("digests recorded");
        assert_eq!(digests.len() as u64, c.stats.events);
        assert_eq!(digests.last().copied(), Some(c.trace_hash));
        assert_eq!(c.choices.expect("choices recorded").len() as u64, c.choices_drawn);
    }
}

#[test]
fn different_seeds_explore_different_runs() {
    let s = small_default();
    let hashes: BTreeSet<u64> = (1..=8).map(|seed| run(&s, &seeded(seed)).trace_hash).collect();
    assert!(hashes.len() >= 7, "8 seeds gave only {} distinct trace hashes", hashes.len());
}

// ----- (b) replay -----------------------------------------------------------------------------

#[test]
fn replaying_recorded_choices_reproduces_the_run() {
    let s = default_scenario();
    for seed in [s.seed, 3, 1234] {
        let recorded = run(&s, &RunConfig { seed, record_choices: true, record_digests: true, ..RunConfig::default() });
        let choices = recorded.choices.clone().expect("choices recorded");
        assert_eq!(choices.len() as u64, recorded.choices_drawn);
        // The seed is ignored when replaying.
        let replayed = run(&s, &RunConfig { seed: seed ^ 0xdead_beef, replay_choices: Some(choices), record_digests: true, ..RunConfig::default() });
        assert_eq!(replayed.trace_hash, recorded.trace_hash, "seed {seed}");
        assert_eq!(replayed.event_digests, recorded.event_digests, "seed {seed}");
        assert_eq!(replayed.stats, recorded.stats);
        assert_eq!(replayed.violations, recorded.violations);
        assert_eq!(replayed.audit.records(), recorded.audit.records());
    }
}

#[test]
fn replaying_an_empty_choice_list_is_a_valid_run() {
    // An exhausted list answers 0 to every draw: the simplest run, still deterministic and correct.
    let s = small_default();
    let a = run(&s, &RunConfig { replay_choices: Some(Vec::new()), ..RunConfig::default() });
    let b = run(&s, &RunConfig { replay_choices: Some(Vec::new()), seed: 99, ..RunConfig::default() });
    assert_eq!(a.trace_hash, b.trace_hash);
    assert!(a.violations.is_empty(), "{:#?}", a.violations);
}

// ----- (c) any fault plan, any seed: no panic, no violation -----------------------------------

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_correct_model_survives_any_fault_plan(
        plan in strategies::fault_plan(
            names(&["init", "echo", "gateway", "alice", "bob", "carol", "vault", "courier", "sandboxed"]),
            names(&["echo", "gateway"]),
        ),
        seed in any::<u64>(),
    ) {
        let mut s = small_default();
        s.faults = plan;
        s.expect.rules.clear(); // they name rules of the default plan
        match s.validate() {
            Err(e) => {
                // Rejected cleanly: the error names a place in the fault plan.
                prop_assert!(e.path.starts_with("faults."), "unexpected rejection {e}");
                prop_assert!(!e.message.is_empty());
            }
            Ok(()) => {
                let report = run(&s, &seeded(seed));
                prop_assert!(report.violations.is_empty(), "violations: {:#?}", report.violations);
                prop_assert_ne!(report.stop, StopReason::Violation);
                prop_assert!(report.stats.events > 0);
                let again = run(&s, &seeded(seed));
                prop_assert_eq!(again.trace_hash, report.trace_hash);
            }
        }
    }
}

/// `Scenario::validate` "rejects ... impossible values before a run starts, so the engine never
/// meets them"; the seed asks for "no undefined behavior or panics". Extreme but accepted
/// values must therefore run (or be rejected by validation), never panic.
#[test]
fn values_validation_accepts_never_make_the_model_panic() {
    let cases = [
        ("sched_jitter_ns = u64::MAX", r#"(name: "jitter", limits: (sched_jitter_ns: 18446744073709551615), tasks: [(name: "a", behaviour: Idle)])"#),
        ("workload interval_ns = u64::MAX", r#"(name: "gap", tasks: [(name: "a", behaviour: Idle)], workload: (ops: 3, interval_ns: 18446744073709551615))"#),
        (
            "server version major = u32::MAX with min_major = u32::MAX",
            r#"(name: "top", tasks: [
                (name: "srv", behaviour: Server(service: "s", version: (major: 4294967295, minor: 0), min_major: 4294967295)),
                (name: "cli", behaviour: Client(service: "s", requests: 1, version: (major: 4294967294, minor: 0))),
            ])"#,
        ),
    ];
    let mut panicked = Vec::new();
    for (what, text) in cases {
        let s = parse(text);
        if s.validate().is_err() {
            continue;
        }
        match std::panic::catch_unwind(|| run(&s, &seeded(1))) {
            Ok(report) => assert!(report.violations.is_empty(), "{what}: {:#?}", report.violations),
            Err(_) => panicked.push(what),
        }
    }
    assert!(panicked.is_empty(), "validated scenarios made the model panic: {panicked:?}");
}

// ----- (d) planted bugs are caught ------------------------------------------------------------

#[test]
fn every_planted_bug_is_caught_by_its_invariant() {
    let base = default_scenario();
    for bug in PlantedBug::reachable() {
        let s = with_bug(base.clone(), bug);
        s.validate().unwrap();
        let report = run(&s, &seeded(s.seed));
        assert!(!report.violations.is_empty(), "{bug:?} was not caught");
        assert!(bug.is_caught_by(&report.violations[0].invariant), "{bug:?} was caught first by {:#?}", report.violations[0]);
        assert_eq!(report.stop, StopReason::Violation, "stop_on_violation is the default");
        assert!(!report.passed(), "{bug:?}: a violated run must fail the Pass verdict");
    }
}

/// `PlantedBug::caught_by` lists the invariants that can catch the bug first: that must hold for
/// every seed that catches the bug at all, not only for the default seed.
#[test]
fn planted_bugs_are_caught_first_by_their_invariant_under_other_seeds_too() {
    let base = small_default();
    let mut wrong = Vec::new();
    for bug in PlantedBug::reachable() {
        let s = with_bug(base.clone(), bug);
        let mut caught = 0;
        for seed in 0..6 {
            let report = run(&s, &seeded(seed));
            if let Some(v) = report.first_violation() {
                caught += 1;
                if !bug.is_caught_by(&v.invariant) {
                    wrong.push(format!("{bug:?} seed {seed}: first violation {} ({}) at event {}: {}", v.invariant, v.subsystem, v.event, v.message));
                }
            }
        }
        assert!(caught > 0, "{bug:?} escaped every seed");
    }
    assert!(wrong.is_empty(), "planted bugs caught first by another invariant than `caught_by()`:\n{}", wrong.join("\n"));
}

// ----- (e) event ordering ---------------------------------------------------------------------

const TIES: &str = r#"(
    name: "ties",
    limits: (sched_jitter_ns: 0),
    tasks: [
        (name: "a", behaviour: Idle, caps: [(label: "k", kind: "file_read")]),
        (name: "b", behaviour: Idle),
    ],
    steps: [
        (at_ns: 1000, op: Use(cap: "k", task: "a")),
        (at_ns: 1000, op: Drop(cap: "k", task: "a")),
        (at_ns: 1000, op: Use(cap: "k", task: "a")),
        (at_ns: 500, op: Grant(task: "b", cap: "g", kind: "net")),
        (at_ns: 1000, op: Delegate(cap: "g", from: "b", to: "a")),
        (at_ns: 1000, op: Use(cap: "g", task: "b")),
        (at_ns: 0, op: Use(cap: "k", task: "a")),
    ],
)"#;

#[test]
fn events_at_the_same_time_run_in_insertion_order() {
    let s = parse(TIES);
    s.validate().unwrap();
    let report = run(&s, &RunConfig { record_events: true, ..RunConfig::default() });
    let bad = Err(KernelErrorKind::InvalidCapability);
    assert_eq!(report.step_results, vec![Some(Ok(())), Some(Ok(())), Some(bad), Some(Ok(())), Some(Ok(())), Some(bad), Some(Ok(()))]);
    // Time first, then file order; the spawns (scheduled first) precede the step at time 0.
    let log = report.event_log.expect("events recorded");
    let steps: Vec<&str> = log.iter().filter(|e| e.what.starts_with("step")).map(|e| &e.what[..7]).collect();
    assert_eq!(steps, ["step 6:", "step 3:", "step 0:", "step 1:", "step 2:", "step 4:", "step 5:"]);
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at), "events out of time order");
    let first_step = log.iter().position(|e| e.what.starts_with("step")).unwrap();
    assert!(log[..first_step].iter().filter(|e| e.what.starts_with("spawn")).count() == 2);

    // Swapping the drop and the first use at the same time swaps their outcomes.
    let mut swapped = s.clone();
    swapped.steps.swap(0, 1);
    let report = run(&swapped, &RunConfig::default());
    assert_eq!(&report.step_results[..3], &[Some(Ok(())), Some(bad), Some(bad)]);
}

/// A network run checks every `net.*` invariant, passes its expectations, and replays bit for
/// bit from its recorded choices (the wire draws from the run's one choice stream).
#[cfg(feature = "net-canonical")]
#[test]
fn a_network_run_checks_every_net_invariant_and_replays_exactly() {
    let s = parse(include_str!("../../scenarios/net_eight_node_mesh.ron"));
    s.validate().expect("valid");
    let report = run(&s, &RunConfig { record_choices: true, ..seeded(s.seed) });
    assert!(report.passed(), "{:#?}", report.expectations);
    for id in model::net::checks::ALL {
        let n = report.invariant_checks.iter().find(|(i, _)| i == id).map_or(0, |(_, n)| *n);
        assert!(n > 0, "{id} was never checked");
    }
    assert!(report.choices_drawn > 0, "the wire draws from the run's choices");
    let replayed = run(&s, &RunConfig { replay_choices: report.choices.clone(), ..RunConfig::default() });
    assert_eq!(replayed.trace_hash, report.trace_hash);
    assert_eq!(replayed.stats, report.stats);
    let other = run(&s, &seeded(s.seed + 1));
    assert_ne!(other.trace_hash, report.trace_hash, "another seed draws other faults");
}
