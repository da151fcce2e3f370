//! Shrinking quality, measured on the planted bugs (DESIGN.md, "Bugs must be findable").
//!
//! For each planted bug: switch it on in purely random runs, take failing runs (those whose first
//! violation is the bug's invariant), shrink them, and check that
//! - the result keeps the signature and is no larger than the hand-written minimal reproduction
//!   committed as `scenarios/bug_<name>.ron`: no more events run, and no more parts (tasks, steps,
//!   fault rules, pipelines and their stages, policies and rules: `Size::parts`);
//! - shrinking is deterministic: a second shrink gives the identical file;
//! - the shrunk scenario file is snapshotted, so a change in shrinking shows up in review.
//!
//! The random runs: the kernel's bugs start from the first failing seed of
//! `tests/data/random_run.ron` (a kernel and capability workload under message faults). The
//! authority and resource bugs start, as a campaign would find them, from the first two failing
//! runs of each of two sources, `tests/data/random_authority_run.ron` (budgeted workload tasks
//! doing storage, CPU and pipeline work under a composed policy) and generated runs
//! (`model::generate`, the campaign's generator); all of them are shrunk and the smallest result
//! (fewest parts, then fewest events, then the first found) is checked. The networking bugs start
//! from the first failing seed of `tests/data/random_net_run.ron` (a random network under link
//! and node faults), the interactive bugs from the first failing seed of
//! `tests/data/random_desk.ron` (a random workspace session).

use model::bugs::PlantedBug;
use model::choices::Choices;
use model::generate::{generate, GenConfig};
use model::{RunConfig, Scenario};
use shrinker::size::Size;
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

/// Where failing runs come from: a scenario file run under seeds, or the campaign's generator.
#[derive(Clone, Copy)]
enum Source {
    File(&'static str),
    Generated,
}

impl Source {
    const KERNEL: Source = Source::File("tests/data/random_run.ron");
    const AUTHORITY: Source = Source::File("tests/data/random_authority_run.ron");
    const NETWORK: Source = Source::File("tests/data/random_net_run.ron");

    fn name(self) -> &'static str {
        match self {
            Source::File(path) => path,
            Source::Generated => "a generated run",
        }
    }

    /// The scenario of run `seed`, with `bug` switched on.
    fn scenario(self, bug: PlantedBug, seed: u64) -> Scenario {
        let mut s = match self {
            Source::File(path) => scenarios::load_scenario(Path::new(path)).unwrap_or_else(|e| panic!("{path}: {e}")),
            Source::Generated => generate(&mut Choices::seeded(seed), &GenConfig { swarm: true, max_workload_ops: 200, bugs: Vec::new() }),
        };
        s.bugs = vec![bug];
        s.seed = seed;
        s
    }

    /// The first `count` seeds in 1..=`last` whose run fails with the bug's invariant, with their
    /// scenarios and choices.
    fn failing_runs(self, bug: PlantedBug, count: usize, last: u64) -> Vec<(u64, Scenario, Vec<u64>)> {
        (1..=last)
            .filter_map(|seed| {
                let scenario = self.scenario(bug, seed);
                let report = model::run(&scenario, &RunConfig { seed, record_choices: true, ..RunConfig::default() });
                report.first_violation().is_some_and(|v| bug.is_caught_by(&v.invariant)).then(|| (seed, scenario, report.choices.expect("recorded")))
            })
            .take(count)
            .collect()
    }
}

/// The kernel's own bugs (the others are the authority and resource subsystem's).
fn is_kernel(bug: PlantedBug) -> bool {
    use PlantedBug::*;
    matches!(bug, DelegateKeepsSource | TerminationSkipsInvalidation | DelayedDeliveryDuplicates | RegistryKeepsDeadService | ReuseExecutionIds | ReceiveNewestFirst | DuplicateExitNotification)
}

/// A failing run: where it came from, its seed, scenario and choices.
struct FailingRun {
    source: Source,
    seed: u64,
    scenario: Scenario,
    choices: Vec<u64>,
}

impl FailingRun {
    fn shrink(&self) -> Shrunk {
        let budget = Budget { max_executions: 20_000, max_time: None };
        shrink(&self.scenario, self.choices.clone(), self.seed, budget, &AtomicBool::new(false), &mut |_| {}).expect("the run fails")
    }
}

/// The failing runs shrunk for `bug`.
fn failing_runs(bug: PlantedBug) -> Vec<FailingRun> {
    let sources: &[(Source, usize, u64)] = if is_kernel(bug) {
        &[(Source::KERNEL, 1, 50)]
    } else if bug.is_network() {
        &[(Source::NETWORK, 1, 50)]
    } else {
        &[(Source::AUTHORITY, 2, 60), (Source::Generated, 2, 300)]
    };
    let runs: Vec<FailingRun> = sources
        .iter()
        .flat_map(|&(source, count, last)| source.failing_runs(bug, count, last).into_iter().map(move |(seed, scenario, choices)| FailingRun { source, seed, scenario, choices }))
        .collect();
    assert!(!runs.is_empty(), "no random run fails with {bug:?}");
    runs
}

/// The smallest shrunk result (fewest parts, then fewest events, then the first) and its run.
fn shrink_bug(bug: PlantedBug) -> (Shrunk, FailingRun) {
    failing_runs(bug).into_iter().map(|run| (run.shrink(), run)).min_by_key(|(s, _)| (s.after.parts(), s.after.events)).expect("at least one run")
}

/// (events, parts) of the hand-written minimal reproduction.
fn reference_size(bug: PlantedBug) -> (u64, u64) {
    let path = format!("../scenarios/bug_{}.ron", snake(bug));
    let s = scenarios::load_scenario(Path::new(&path)).unwrap_or_else(|e| panic!("reference {path}: {e}"));
    let report = model::run(&s, &RunConfig::seeded(s.seed));
    let v = report.first_violation().unwrap_or_else(|| panic!("reference {path} does not fail"));
    assert!(bug.is_caught_by(&v.invariant), "reference {path} fails with {}", v.invariant);
    (v.event + 1, Size::of(&s, &report, 0).parts())
}

fn check(bug: PlantedBug) {
    let (first, run) = shrink_bug(bug);
    assert!(bug.is_caught_by(first.signature.split('@').next().unwrap_or("")), "{bug:?}: shrunk signature {}", first.signature);
    let (ref_events, ref_parts) = reference_size(bug);
    let parts = first.after.parts();
    eprintln!(
        "{bug:?} from {} seed {}: {} -> {} events (reference {ref_events}), {} -> {parts} parts (reference {ref_parts})",
        run.source.name(),
        run.seed,
        first.before.events,
        first.after.events,
        first.before.parts()
    );
    assert!(first.after.events <= ref_events, "{bug:?}: {} events after shrinking, the reference needs {ref_events}", first.after.events);
    assert!(parts <= ref_parts, "{bug:?}: {parts} parts after shrinking, the reference has {ref_parts}");
    let text = output::scenario_text(&first, run.source.name());
    assert_eq!(text, output::scenario_text(&run.shrink(), run.source.name()), "{bug:?}: shrinking is not deterministic");
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
fn budget_checked_after_consume() {
    check(PlantedBug::BudgetCheckedAfterConsume);
}

#[test]
fn budget_inheritance_unchecked() {
    check(PlantedBug::BudgetInheritanceUnchecked);
}

#[test]
fn message_charged_twice() {
    check(PlantedBug::MessageChargedTwice);
}

#[test]
fn cancelled_identity_still_consumes() {
    check(PlantedBug::CancelledIdentityStillConsumes);
}

#[test]
fn exhaustion_does_not_cancel() {
    check(PlantedBug::ExhaustionDoesNotCancel);
}

#[test]
fn derived_authority_not_subset_checked() {
    check(PlantedBug::DerivedAuthorityNotSubsetChecked);
}

#[test]
fn stage_scope_not_restored() {
    check(PlantedBug::StageScopeNotRestored);
}

#[test]
fn composed_policy_drops_require() {
    check(PlantedBug::ComposedPolicyDropsRequire);
}

#[test]
fn deny_ignored_at_stage_start() {
    check(PlantedBug::DenyIgnoredAtStageStart);
}

#[test]
fn retry_count_off_by_one() {
    check(PlantedBug::RetryCountOffByOne);
}

#[test]
fn backoff_exponent_off_by_one() {
    check(PlantedBug::BackoffExponentOffByOne);
}

#[test]
fn fail_fast_ignored() {
    check(PlantedBug::FailFastIgnored);
}

#[test]
fn retries_not_traced() {
    check(PlantedBug::RetriesNotTraced);
}

#[test]
fn cancelled_stage_caps_committed() {
    check(PlantedBug::CancelledStageCapsCommitted);
}

#[test]
fn rollback_keeps_one_write() {
    check(PlantedBug::RollbackKeepsOneWrite);
}

#[test]
fn commit_stops_at_conflict() {
    check(PlantedBug::CommitStopsAtConflict);
}

#[test]
fn write_mutates_old_version() {
    check(PlantedBug::WriteMutatesOldVersion);
}

#[test]
fn delayed_message_charged_twice() {
    check(PlantedBug::DelayedMessageChargedTwice);
}

#[test]
fn delegation_ignores_policy() {
    check(PlantedBug::DelegationIgnoresPolicy);
}

#[test]
fn crash_commits_open_transaction() {
    check(PlantedBug::CrashCommitsOpenTransaction);
}

#[test]
fn stage_charged_per_attempt() {
    check(PlantedBug::StageChargedPerAttempt);
}

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

#[test]
fn every_planted_bug_has_a_test_here() {
    assert_eq!(PlantedBug::reachable().count(), 44, "add a test for the new planted bug");
}

// ----- The interactive bugs: shrunk from a random run at the desk --------------------------------

const DESK: &str = "tests/data/random_desk.ron";

/// The first seed in 1..=50 whose run of `scenario` fails with the bug's invariant, and its choices.
fn failing_run(scenario: &Scenario, bug: PlantedBug) -> (u64, Vec<u64>) {
    for seed in 1..=50 {
        let report = model::run(scenario, &RunConfig { seed, record_choices: true, ..RunConfig::default() });
        if report.first_violation().is_some_and(|v| bug.is_caught_by(&v.invariant)) {
            return (seed, report.choices.expect("recorded"));
        }
    }
    panic!("no seed in 1..=50 makes {DESK} fail with {bug:?}");
}

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
    let parts = first.after.parts();
    assert!(first.after.events <= ref_events, "{bug:?}: {} events after shrinking, the reference needs {ref_events}", first.after.events);
    assert!(parts <= ref_parts, "{bug:?}: {parts} parts after shrinking, the reference has {ref_parts}");
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

// ----- Keys are simplified, not only deleted ------------------------------------------------------

/// The keys of the shrunk scenario's scripts.
fn shrunk_keys(shrunk: &Shrunk) -> Vec<String> {
    shrunk.scenario.workspace.as_ref().map_or_else(Vec::new, |w| w.keys.iter().map(|k| k.keys.clone()).collect())
}

fn shrink_text(text: &str) -> Shrunk {
    let scenario = scenarios::parse_scenario(text, "keys").expect("the scenario loads");
    let report = model::run(&scenario, &RunConfig { record_choices: true, ..RunConfig::default() });
    assert!(report.first_violation().is_some(), "the scenario fails");
    shrink(&scenario, report.choices.expect("recorded"), scenario.seed, Budget::default(), &AtomicBool::new(false), &mut |_| {}).expect("the run fails")
}

#[test]
fn a_key_any_key_shows_becomes_a() {
    // Any key delivered to the revoked subscription shows the bug: the three keys become one,
    // and that one, a Ctrl+Shift function key, becomes `a`.
    let shrunk = shrink_text(
        r#"(name: "keys", seed: 1, bugs: [RevokedSubscriptionReceives],
            workspace: Some((components: [(name: "a", component_type: Cli)], keys: [(at_ns: 2_000, keys: "<C-S-F5><Esc>Q")])),
            steps: [(at_ns: 1_000, op: Revoke(component: "a"), expect: Ok)])"#,
    );
    assert_eq!(shrunk_keys(&shrunk), ["a"]);
}

#[test]
fn keys_the_failure_needs_stay_and_the_others_simplify() {
    // `:q` must quit a dirty buffer, so `i`, `<Esc>`, `:`, `q` and `<Enter>` stay as they are; the
    // typed character can be any, so `Z` (Shift+z) becomes `a`.
    let shrunk = shrink_text(
        r#"(name: "keys", seed: 1, bugs: [QuitDiscardsDirtyBuffer],
            workspace: Some((components: [(name: "e", document: Some((label: "t.txt")))], keys: [(at_ns: 1_000, keys: "iZ<Esc>:q<Enter>")])),
        )"#,
    );
    assert_eq!(shrunk_keys(&shrunk), ["ia<Esc>:q<Enter>"]);
}
