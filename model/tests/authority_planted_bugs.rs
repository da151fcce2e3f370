//! The planted bugs of the authority and resource modules (DESIGN.md, "Bugs must be findable"):
//! each deliberately broken rule, switched on alone, breaks exactly the invariant predicate
//! `PlantedBug::caught_by` names, and the same workout on the correct model breaks nothing while
//! checking that invariant. The same bugs are reachable by scenario runs (the modules are wired into
//! the kernel and the event loop: `scenarios/bug_*.ron`, the campaign power test); this shows each
//! one against its predicate alone, without the event loop.

mod common;

use common::*;
use model::budget::audit::MessageOperation;
use model::budget::enforcement::{Consumption, ResourceLedger};
use model::budget::rules::BudgetMonitor;
use model::budget::{CpuTicks, MessageCount, ResourceBudget};
use model::bugs::{BugSet, PlantedBug};
use model::derivation::CapabilitySet;
use model::ids::ExecutionId;
use model::pipeline::drive::World;
use model::pipeline::{HandlerOutcome, RetryPolicy, StageHandler};
use model::policy::checks::{composition_precedence, DecisionMemo};
use model::policy::{PolicyContext, PolicyEvent, PolicySpec};
use model::rule_check::RuleLog;
use model::storage::checks::StorageMonitor;
use model::storage::{ObjectKind, ObjectSchemaId, ObjectSchemaVersion, TransactionalStorage, VersionedStore};

/// Budgets: attach a parent, a modest child and an over-asking child, ten sends and an eleventh, then CPU work of
/// the cancelled identity.
fn budget_workout(bugs: &[PlantedBug]) -> RuleLog {
    let (a, b) = (ExecutionId(1), ExecutionId(2));
    let mut l = ResourceLedger::with_bugs(BugSet::from_list(bugs));
    l.attach(a, None, Some(ResourceBudget::unlimited().with_message_count(MessageCount::new(10)).with_cpu_ticks(CpuTicks::new(100)))).unwrap();
    l.attach(ExecutionId(3), Some(a), Some(ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(50)).with_message_count(MessageCount::new(1)))).unwrap();
    let _ = l.attach(b, Some(a), Some(ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(200))));
    for _ in 0..11 {
        let _ = l.try_consume(a, Consumption::Message(MessageOperation::Send));
    }
    let _ = l.try_consume_cpu_ticks(a, 1);
    let mut log = RuleLog::default();
    BudgetMonitor::check_log(l.resource_audit().entries(), &mut log);
    log
}

fn policy_world(text: &str, bugs: &[PlantedBug]) -> World {
    let spec: PolicySpec = ron::from_str(text).unwrap();
    World { policy: Some(spec.build_with_bugs(BugSet::from_list(bugs))), ..World::new() }
}

/// A read-only policy, then a malicious policy deriving an escalated authority at pipeline start.
fn escalation_workout(bugs: &[PlantedBug]) -> RuleLog {
    let mut log = RuleLog::default();
    for policy in [
        r#"Rules((name: "ReadOnlyFsPolicy", rules: [(on: [OnPipelineStart], then: Derive(capabilities: [1]))]))"#,
        r#"Rules((name: "MaliciousPolicy", rules: [(on: [OnPipelineStart], then: Derive(capabilities: [1, 999]))]))"#,
    ] {
        let rules = run_in(chain(2, |_, s| s), &[], CapabilitySet::from([1, 2]), policy_world(policy, bugs), None, bugs).rules;
        merge(&mut log, rules);
    }
    log
}

fn merge(into: &mut RuleLog, from: RuleLog) {
    for (id, n) in from.checks {
        *into.checks.entry(id).or_default() += n;
    }
    into.breaches.extend(from.breaches);
}

/// Stage 1 of 3 runs without the network capability.
fn stage_scope_workout(bugs: &[PlantedBug]) -> RuleLog {
    let w = policy_world(r#"Rules((name: "NoNetworkStagePolicy", rules: [(on: [OnPipelineStageStart], when: [Stage(1)], then: Derive(capabilities: [1, 2]))]))"#, bugs);
    run_in(chain(3, |_, s| s), &[], CapabilitySet::from([1, 2, 3]), w, None, bugs).rules
}

/// A composition of a requiring and an allowing policy, evaluated in several contexts twice.
fn composition_workout(bugs: &[PlantedBug]) -> RuleLog {
    let spec: PolicySpec = ron::from_str(r#"Composed([TrustDomain, NoOp, PipelineSafety()])"#).unwrap();
    let engine = spec.build_with_bugs(BugSet::from_list(bugs));
    let contexts = [
        PolicyContext::for_capability_delegation(identity(1, "user", model::identity::IdentityKind::Service), identity(2, "sandbox", model::identity::IdentityKind::Service), 3),
        PolicyContext::for_spawn(identity(1, "sandbox", model::identity::IdentityKind::Service), identity(2, "sandbox", model::identity::IdentityKind::System)),
        PolicyContext::for_pipeline(identity(1, "user", model::identity::IdentityKind::Component), model::pipeline::PipelineId(1)),
    ];
    let (mut memo, mut log) = (DecisionMemo::default(), RuleLog::default());
    for _ in 0..2 {
        for ctx in &contexts {
            for event in PolicyEvent::ALL {
                let report = engine.evaluate_with_report(event, ctx);
                composition_precedence(&report, &mut log);
                memo.observe(event, ctx, &report.decision, &mut log);
            }
        }
    }
    log
}

/// A policy forbids stage 1 of 3.
fn stage_deny_workout(bugs: &[PlantedBug]) -> RuleLog {
    let w = policy_world(r#"Rules((name: "NoStage1", rules: [(on: [OnPipelineStageStart], when: [Stage(1)], then: Deny("no"))]))"#, bugs);
    run_in(chain(3, |_, s| s), &[], CapabilitySet::new(), w, None, bugs).rules
}

/// A stage that always fails retryably, with two fixed retries.
fn retry_workout(bugs: &[PlantedBug]) -> RuleLog {
    let spec = chain(1, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(2, 10)));
    run_in(spec, &[StageHandler::default().with_outcome(HandlerOutcome::FailRetryably("busy".into()))], CapabilitySet::new(), World::new(), None, bugs).rules
}

/// A stage that succeeds on its fourth attempt, with exponential backoff.
fn backoff_workout(bugs: &[PlantedBug]) -> RuleLog {
    let spec = chain(1, |_, s| s.with_retry_policy(RetryPolicy::exponential_backoff(3, 100)));
    let handler = StageHandler::default().with_outcome(HandlerOutcome::FailTimesThenSucceed { failures: 3, error: "busy".into() }).with_duration_ms(10);
    run_in(spec, &[handler], CapabilitySet::new(), World::new(), None, bugs).rules
}

/// The middle stage of three fails permanently.
fn fail_fast_workout(bugs: &[PlantedBug]) -> RuleLog {
    let handlers = [StageHandler::default(), StageHandler::default().with_outcome(HandlerOutcome::FailPermanently("boom".into())), StageHandler::default()];
    run_in(chain(3, |_, s| s), &handlers, CapabilitySet::new(), World::new(), None, bugs).rules
}

/// Stage 0 produces a capability; stage 1 succeeds exactly at its deadline (so is cancelled by
/// the timeout) with another.
fn late_success_workout(bugs: &[PlantedBug]) -> RuleLog {
    let spec = chain(3, |i, s| if i == 1 { s.with_timeout_ms(20) } else { s });
    let handlers = [StageHandler::succeeding(vec![3]).with_duration_ms(5), StageHandler::succeeding(vec![4]).with_duration_ms(20)];
    run_in(spec, &handlers, CapabilitySet::new(), World::new(), None, bugs).rules
}

/// Storage: a rolled-back write, a conflicting two-object commit, an overwrite of a committed blob;
/// the invariants are checked after every operation.
fn storage_workout(bugs: &[PlantedBug]) -> RuleLog {
    let mut store = VersionedStore::with_bugs(BugSet::from_list(bugs));
    let (mut monitor, mut log) = (StorageMonitor::default(), RuleLog::default());
    macro_rules! step {
        ($e:expr) => {{
            let r = $e;
            let events = store.take_events();
            monitor.check_events(&events, &store, &mut log);
            r
        }};
    }
    let mut tx = step!(store.begin_transaction().unwrap());
    let schema = || (ObjectSchemaId("doc".into()), ObjectSchemaVersion(1));
    let a = step!(store.create(&mut tx, ObjectKind::Blob, schema().0, schema().1).unwrap());
    let b = step!(store.create(&mut tx, ObjectKind::Blob, schema().0, schema().1).unwrap());
    step!(store.commit(&mut tx).unwrap());
    // A write that is rolled back.
    let mut tx = step!(store.begin_transaction().unwrap());
    step!(store.write(&mut tx, a, b"discard me").unwrap());
    step!(store.rollback(&mut tx).unwrap());
    // Two transactions race on b; the slow one also wrote a.
    let mut slow = step!(store.begin_transaction().unwrap());
    step!(store.write(&mut slow, a, b"slow-a").unwrap());
    step!(store.write(&mut slow, b, b"slow-b").unwrap());
    let mut fast = step!(store.begin_transaction().unwrap());
    step!(store.write(&mut fast, b, b"fast-b").unwrap());
    step!(store.commit(&mut fast).unwrap());
    let _ = step!(store.commit(&mut slow));
    // A plain overwrite of a committed blob.
    let mut tx = step!(store.begin_transaction().unwrap());
    step!(store.write(&mut tx, b, b"newer").unwrap());
    step!(store.commit(&mut tx).unwrap());
    log
}

/// The workout that exposes each domain-layer bug.
fn workout(bug: PlantedBug) -> fn(&[PlantedBug]) -> RuleLog {
    use PlantedBug::*;
    match bug {
        BudgetCheckedAfterConsume | BudgetInheritanceUnchecked | MessageChargedTwice | CancelledIdentityStillConsumes | ExhaustionDoesNotCancel => budget_workout,
        DerivedAuthorityNotSubsetChecked => escalation_workout,
        StageScopeNotRestored => stage_scope_workout,
        ComposedPolicyDropsRequire => composition_workout,
        DenyIgnoredAtStageStart => stage_deny_workout,
        RetryCountOffByOne | RetriesNotTraced => retry_workout,
        BackoffExponentOffByOne => backoff_workout,
        FailFastIgnored => fail_fast_workout,
        CancelledStageCapsCommitted => late_success_workout,
        RollbackKeepsOneWrite | CommitStopsAtConflict | WriteMutatesOldVersion => storage_workout,
        DelegateKeepsSource | TerminationSkipsInvalidation | DelayedDeliveryDuplicates | RegistryKeepsDeadService | ReuseExecutionIds | ReceiveNewestFirst | DuplicateExitNotification
        | DelayedMessageChargedTwice | DelegationIgnoresPolicy | CrashCommitsOpenTransaction | StageChargedPerAttempt => {
            unreachable!("{bug:?} is a bug of the kernel or the event loop, found by scenario runs")
        }
        NetPolicyCheckedAfterBudget | DeniedPacketCharged | ReceivedPacketNotCharged | PartitionCheckedAtSendOnly | RetransmissionDeliveredTwice | SessionBindsPresentedIdentity | SessionAcceptedBeforeIdentityCheck => {
            unreachable!("{bug:?} is a networking bug, shown in net_planted_bugs.rs")
        }
        RevokedSubscriptionReceives | KeysRoutedBelowFocus | InputDeliveryUncharged | FocusReleasedToBottom | FocusRequireTreatedAsAllow | ClosedComponentKeepsFocus | ExhaustedComponentKeepsRunning | SaveReusesVersion | QuitDiscardsDirtyBuffer => {
            unreachable!("{bug:?} is an input, focus, workspace or editor bug, shown in interactive_planted_bugs.rs")
        }
    }
}

/// The bugs planted in the domain modules' own rules (from `BudgetCheckedAfterConsume` to
/// `WriteMutatesOldVersion` in declaration order).
fn domain_bugs() -> Vec<PlantedBug> {
    let range = PlantedBug::BudgetCheckedAfterConsume as u32..=PlantedBug::WriteMutatesOldVersion as u32;
    PlantedBug::ALL.into_iter().filter(|b| range.contains(&(*b as u32))).collect()
}

#[test]
fn the_domain_layer_has_its_planted_bugs() {
    assert_eq!(domain_bugs().len(), 17);
    let unwired = PlantedBug::ALL.iter().filter(|b| b.is_network() && cfg!(not(feature = "net-canonical"))).count();
    assert_eq!(PlantedBug::reachable().count(), PlantedBug::ALL.len() - unwired, "every bug of a wired subsystem is reachable by runs");
    assert!(domain_bugs().iter().all(|b| b.reachable_by_runs()), "the authority modules are wired");
    let bits = BugSet::from_list(&PlantedBug::ALL);
    assert!(PlantedBug::ALL.iter().all(|b| bits.has(*b)), "every bug fits the bit set");
}

#[test]
fn every_workout_is_clean_on_the_correct_model_and_checks_the_invariant() {
    for bug in domain_bugs() {
        let log = workout(bug)(&[]);
        assert!(log.is_clean(), "{bug:?}'s workout breaks the correct model: {:#?}", log.breaches);
        let invariant = bug.caught_by()[0];
        assert!(log.count(invariant) > 0, "{bug:?}'s workout never checks {invariant}");
    }
}

#[test]
fn each_planted_bug_breaks_exactly_its_invariant() {
    let mut wrong = Vec::new();
    for bug in domain_bugs() {
        let log = workout(bug)(&[bug]);
        let breached = log.breached();
        if breached != [bug.caught_by()[0]] {
            wrong.push(format!("{bug:?}: expected [{}], breached {breached:?}: {:#?}", bug.caught_by()[0], log.breaches));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
