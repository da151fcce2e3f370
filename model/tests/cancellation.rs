//! Contract tests for the seed's "Phase 6: Deterministic Cancellation, Timeouts, and Structured
//! Lifecycle": the cancellation model (source, token, reasons, deadlines, timeouts), pipeline
//! integration (pipeline and stage timeouts, explicit cancellation), propagation, capability
//! safety on cancellation, timeout semantics and the interaction with retries; plus "Cancellation
//! Integration" of Phase 12 (an exhausted identity is cancelled).
//!
//! Choices of the model tested where the seed is silent (`model/src/cancellation.rs`,
//! `model/src/pipeline/executor.rs`): `has_passed` is `now >= deadline`; the first reason of a
//! cancellation stays; a stage timeout starts with the stage and covers its retries and backoffs.

mod common;

use common::*;
use model::budget::enforcement::Consumption;
use model::budget::{MessageCount, ResourceBudget};
use model::bugs::BugSet;
use model::budget::audit::MessageOperation;
use model::budget::enforcement::ResourceLedger;
use model::cancellation::*;
use model::derivation::CapabilitySet;
use model::pipeline::drive::World;
use model::pipeline::*;
use model::policy::audit::PolicyAuditLog;
use model::rule_check::RuleLog;
use model::time::{Duration, Instant};

const MS: u64 = 1_000_000;

fn cancel_at(ms: u64, reason: CancellationReason) -> (World, CancellationToken) {
    let mut world = World::new();
    let source = world.cancellations.new_source();
    world.cancel_at = Some((Instant(ms * MS), source, reason));
    (world, source.token())
}

// ----- the model ------------------------------------------------------------------------------

#[test]
fn all_tokens_see_the_cancellation_with_its_reason() {
    let mut c = Cancellations::new();
    let source = c.new_source();
    let token = source.token();
    let copy = token;
    assert!(!c.is_cancelled(token));
    assert_eq!(c.throw_if_cancelled(token), Ok(()));
    assert!(c.cancel(source, CancellationReason::UserCancel, Instant(3)));
    for t in [token, copy] {
        assert!(c.is_cancelled(t));
        assert_eq!(c.reason(t), Some(&CancellationReason::UserCancel));
        assert_eq!(c.throw_if_cancelled(t), Err(Cancelled { reason: CancellationReason::UserCancel }));
    }
    assert!(!c.cancel(source, CancellationReason::Timeout, Instant(4)), "irreversible: the first reason stays");
    assert_eq!(c.reason(token), Some(&CancellationReason::UserCancel));
    assert_eq!(c.events(), [CancellationEvent { token, reason: CancellationReason::UserCancel, at: Instant(3) }]);
    let mut log = RuleLog::default();
    let mut monitor = CancellationMonitor::default();
    c.events().iter().for_each(|e| monitor.observe(e, &mut log));
    assert!(log.is_clean());
    // A log that cancels one source twice breaks the rule.
    monitor.observe(&CancellationEvent { token, reason: CancellationReason::Timeout, at: Instant(4) }, &mut log);
    assert_eq!(log.breached(), ["cancel.irreversible"]);
}

#[test]
fn every_reason_displays_and_folds_distinctly() {
    let reasons = [
        CancellationReason::UserCancel,
        CancellationReason::Timeout,
        CancellationReason::SupervisorCancel,
        CancellationReason::DependencyFailed,
        CancellationReason::Custom("Budget exhausted: CpuTicks".into()),
    ];
    let texts: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
    assert_eq!(texts, ["user cancel", "timeout", "supervisor cancel", "dependency failed", "Budget exhausted: CpuTicks"]);
    let digests: std::collections::BTreeSet<u64> = reasons
        .iter()
        .map(|r| {
            let mut h = model::trace_hash::TraceHasher::default();
            h.feed(r);
            h.value()
        })
        .collect();
    assert_eq!(digests.len(), reasons.len());
}

#[test]
fn cancellation_cascades_to_children_but_not_to_parents_or_siblings() {
    let mut c = Cancellations::new();
    let supervisor = c.new_source();
    let pipeline = c.child_source(supervisor.token());
    let stage = c.child_source(pipeline.token());
    let sibling = c.child_source(supervisor.token());
    c.cancel(pipeline, CancellationReason::DependencyFailed, Instant(1));
    assert!(c.is_cancelled(stage.token()) && c.is_cancelled(pipeline.token()));
    assert!(!c.is_cancelled(supervisor.token()) && !c.is_cancelled(sibling.token()));
    c.cancel(supervisor, CancellationReason::SupervisorCancel, Instant(2));
    assert_eq!(c.reason(sibling.token()), Some(&CancellationReason::SupervisorCancel));
    assert_eq!(c.reason(stage.token()), Some(&CancellationReason::DependencyFailed), "the nearest cancellation");
}

#[test]
fn deadlines_and_timeouts_on_virtual_time() {
    let deadline = Timeout::from_secs(5).to_deadline(Instant(1_000));
    assert_eq!(deadline, Deadline::at(Instant(5_000_001_000)));
    // (now, passed)
    for (now, passed) in [(0, false), (5_000_000_999, false), (5_000_001_000, true), (u64::MAX, true)] {
        assert_eq!(deadline.has_passed(Instant(now)), passed, "now = {now}");
    }
    assert_eq!(deadline.remaining(Instant(5_000_000_000)), Duration(1_000));
    assert_eq!(deadline.remaining(Instant(u64::MAX)), Duration::ZERO);
    assert_eq!(Timeout::from_millis(3), Timeout(Duration::from_millis(3)));
    assert_eq!(Timeout::from_secs(u64::MAX).to_deadline(Instant(5)), Deadline(Instant(u64::MAX)), "saturating");
    let (a, b) = (Some(Deadline(Instant(3))), Some(Deadline(Instant(2))));
    assert_eq!(Deadline::earliest(a, b), b);
    assert_eq!(Deadline::earliest(a, None), a);
    assert_eq!(Deadline::earliest(None, None), None);
}

#[test]
fn cancelled_is_distinct_from_failed() {
    let outcomes: [Outcome<u8, String>; 3] = [Outcome::Completed(1), Outcome::Failed("boom".into()), Outcome::Cancelled(CancellationReason::UserCancel)];
    assert_eq!(outcomes.iter().map(|o| (o.is_failed(), o.is_cancelled())).collect::<Vec<_>>(), [(false, false), (true, false), (false, true)]);
    assert_ne!(StageExecutionResult::Cancelled { reason: CancellationReason::Timeout }, StageExecutionResult::Failed { error: "timeout".into() });
}

// ----- pipelines ------------------------------------------------------------------------------

#[test]
fn cancel_before_the_pipeline_starts() {
    let (world, token) = cancel_at(0, CancellationReason::UserCancel);
    let r = run_in(chain(2, |_, s| s), &[], CapabilitySet::new(), world, Some(token), &[]);
    assert_eq!(r.result, Err(ExecutorError::Cancelled { stage_name: None, reason: CancellationReason::UserCancel }));
    assert!(r.world.orders.is_empty());
    assert_eq!(r.executor.trace().final_result, PipelineExecutionResult::Cancelled { stage_name: None, reason: CancellationReason::UserCancel });
    r.assert_clean();
}

#[test]
fn cancel_mid_stage_stops_it_and_it_commits_nothing() {
    let (world, token) = cancel_at(5, CancellationReason::UserCancel);
    let handlers = [StageHandler::succeeding(vec![1]).with_duration_ms(10), StageHandler::default()];
    let r = run_in(chain(2, |_, s| s), &handlers, CapabilitySet::new(), world, Some(token), &[]);
    assert_eq!(r.result, Err(ExecutorError::Cancelled { stage_name: Some("s0".into()), reason: CancellationReason::UserCancel }));
    let entry = &r.executor.trace().entries[0];
    assert_eq!((entry.end_time_ms(), &entry.result), (5, &StageExecutionResult::Cancelled { reason: CancellationReason::UserCancel }));
    assert!(entry.capabilities_out.is_empty());
    assert!(r.executor.authority().pool().is_empty(), "the cancelled stage's capability never joined the pool");
    assert_eq!(r.world.orders.len(), 1, "stage 1 never started");
    r.assert_clean();
}

#[test]
fn explicit_cancellation_takes_precedence_over_the_retry_policy() {
    // Cancelled during the backoff before a retry: no further attempt.
    let (world, token) = cancel_at(30, CancellationReason::SupervisorCancel);
    let spec = chain(1, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(5, 50)));
    let r = run_in(spec, &[retrying_forever()], CapabilitySet::new(), world, Some(token), &[]);
    assert_eq!(r.result, Err(ExecutorError::Cancelled { stage_name: Some("s0".into()), reason: CancellationReason::SupervisorCancel }));
    assert_eq!(r.attempts(), [(0, 0)]);
    r.assert_clean();
}

fn retrying_forever() -> StageHandler {
    StageHandler::default().with_outcome(HandlerOutcome::FailRetryably("busy".into())).with_duration_ms(10)
}

#[test]
fn a_stage_timeout_cancels_a_handler_that_sleeps_past_it() {
    let spec = chain(2, |i, s| if i == 0 { s.with_timeout_ms(20) } else { s });
    let r = run(spec, &[StageHandler::succeeding(vec![4]).with_duration_ms(50)], CapabilitySet::new());
    assert_eq!(r.result, Err(ExecutorError::Cancelled { stage_name: Some("s0".into()), reason: CancellationReason::Timeout }));
    let entry = &r.executor.trace().entries[0];
    assert_eq!((entry.start_time_ms(), entry.end_time_ms()), (0, 20));
    assert!(r.executor.authority().pool().is_empty());
    r.assert_clean();
}

#[test]
fn an_outcome_exactly_at_the_deadline_is_a_timeout_whatever_the_delivery_order() {
    let spec = chain(1, |_, s| s.with_timeout_ms(20));
    // The driver delivers the outcome first on a tie; the executor still calls it a timeout.
    let r = run(spec.clone(), &[StageHandler::succeeding(vec![4]).with_duration_ms(20)], CapabilitySet::new());
    assert_eq!(r.result, Err(ExecutorError::Cancelled { stage_name: Some("s0".into()), reason: CancellationReason::Timeout }));
    assert!(r.executor.authority().pool().is_empty());
    r.assert_clean();
    // The other order, by hand: the deadline first, then the (stale) outcome.
    let mut cancellations = Cancellations::new();
    let token = cancellations.new_source().token();
    let (mut audit, mut ledger) = (PolicyAuditLog::default(), ResourceLedger::new());
    let mut ex = PipelineExecutor::new(spec, executor_identity(), CapabilitySet::new(), token, BugSet::default()).unwrap();
    macro_rules! env {
        ($t:expr) => {
            ExecutorEnv { now: Instant($t), cancellations: &cancellations, policy: None, policy_audit: &mut audit, resources: &mut ledger }
        };
    }
    let Action::StartAttempt(order) = ex.start(&mut env!(0)) else { panic!() };
    assert_eq!(order.deadline, Some(Instant(20 * MS)));
    assert_eq!(ex.on_deadline(&mut env!(20 * MS - 1)), Action::Nothing, "not yet");
    assert!(matches!(ex.on_deadline(&mut env!(20 * MS)), Action::Finished(Err(ExecutorError::Cancelled { reason: CancellationReason::Timeout, .. }))));
    assert_eq!(ex.on_attempt_outcome(StageId(0), 0, StageResult::Success { capabilities: vec![4] }, &mut env!(20 * MS)), Action::Nothing);
    assert_eq!(ex.trace(), r.executor.trace(), "same trace either way");
}

#[test]
fn a_stage_timeout_includes_all_retry_attempts() {
    // Attempts of 10 ms, 10 ms backoff, 5 retries allowed, stage timeout 35 ms: attempt 0 at 0,
    // attempt 1 at 20, then the backoff until 40 crosses the deadline at 35.
    let spec = chain(1, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(5, 10)).with_timeout_ms(35));
    let r = run(spec, &[retrying_forever()], CapabilitySet::new());
    assert_eq!(r.result, Err(ExecutorError::Cancelled { stage_name: Some("s0".into()), reason: CancellationReason::Timeout }));
    assert_eq!(r.starts_ms(), [0, 20]);
    assert!(matches!(r.events.last(), Some(PipelineEvent::Finished { at, .. }) if *at == Instant(35 * MS)));
    r.assert_clean();
}

#[test]
fn max_retries_are_enforced_even_if_time_remains() {
    let spec = chain(1, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(1, 10)).with_timeout_ms(10_000)).with_timeout_ms(60_000);
    let r = run(spec, &[retrying_forever()], CapabilitySet::new());
    assert!(matches!(r.result, Err(ExecutorError::StageFailed { .. })), "a failure, not a timeout");
    assert_eq!(r.attempts(), [(0, 0), (0, 1)]);
    r.assert_clean();
}

#[test]
fn a_pipeline_timeout_is_an_overall_deadline_across_stages() {
    let spec = chain(3, |_, s| s.with_timeout_ms(1_000)).with_timeout_ms(25);
    let r = run(spec, &vec![StageHandler::default().with_duration_ms(10); 3], CapabilitySet::new());
    assert_eq!(r.result, Err(ExecutorError::Cancelled { stage_name: Some("s2".into()), reason: CancellationReason::Timeout }));
    assert_eq!(r.starts_ms(), [0, 10, 20]);
    assert_eq!(r.executor.trace().entries[2].end_time_ms(), 25);
    assert_eq!(r.world.orders[2].deadline, Some(Instant(25 * MS)), "the earlier of the pipeline and stage deadlines");
    r.assert_clean();
}

#[test]
fn a_supervisor_cancellation_propagates_to_the_pipeline() {
    let mut world = World::new();
    let supervisor = world.cancellations.new_source();
    let pipeline = world.cancellations.child_source(supervisor.token());
    world.cancel_at = Some((Instant(15 * MS), supervisor, CancellationReason::SupervisorCancel));
    let r = run_in(chain(3, |_, s| s), &vec![StageHandler::default().with_duration_ms(10); 3], CapabilitySet::new(), world, Some(pipeline.token()), &[]);
    assert_eq!(r.result, Err(ExecutorError::Cancelled { stage_name: Some("s1".into()), reason: CancellationReason::SupervisorCancel }));
    assert_eq!(r.attempts(), [(0, 0), (1, 0)]);
    r.assert_clean();
}

#[test]
fn an_identity_cancelled_by_exhaustion_stops_its_pipeline_at_the_next_check() {
    // The executor identity exhausts its MessageCount elsewhere while stage 0 runs.
    let mut world = World::new();
    let exec = executor_identity().execution_id;
    world.resources.attach(exec, None, Some(ResourceBudget::unlimited().with_message_count(MessageCount::new(0)))).unwrap();
    let token = world.cancellations.new_source().token();
    let mut ex = PipelineExecutor::new(chain(2, |_, s| s), executor_identity(), CapabilitySet::new(), token, BugSet::default()).unwrap();
    assert!(matches!(ex.start(&mut world.env()), Action::StartAttempt(_)));
    assert!(world.resources.try_consume(exec, Consumption::Message(MessageOperation::Send)).is_err());
    let reason = CancellationReason::Custom("Budget exhausted: MessageCount".into());
    let action = ex.on_attempt_outcome(StageId(0), 0, StageResult::Success { capabilities: vec![] }, &mut world.env());
    assert_eq!(action, Action::Finished(Err(ExecutorError::Cancelled { stage_name: Some("s0".into()), reason: reason.clone() })));
    assert_eq!(ex.trace().entries[0].result, StageExecutionResult::Cancelled { reason });
}

#[test]
fn an_explicit_cancellation_and_a_deadline_at_the_same_instant_give_the_cancellation_either_way() {
    let spec = chain(1, |_, s| s.with_timeout_ms(20));
    let mut results = Vec::new();
    for deadline_first in [true, false] {
        let mut c = Cancellations::new();
        let source = c.new_source();
        let (mut audit, mut ledger) = (PolicyAuditLog::default(), ResourceLedger::new());
        let mut ex = PipelineExecutor::new(spec.clone(), executor_identity(), CapabilitySet::new(), source.token(), BugSet::default()).unwrap();
        let now = |t| Instant(t * MS);
        assert!(matches!(ex.start(&mut ExecutorEnv { now: now(0), cancellations: &c, policy: None, policy_audit: &mut audit, resources: &mut ledger }), Action::StartAttempt(_)));
        c.cancel(source, CancellationReason::UserCancel, now(20));
        let mut env = ExecutorEnv { now: now(20), cancellations: &c, policy: None, policy_audit: &mut audit, resources: &mut ledger };
        let (first, second) = if deadline_first { (ex.on_deadline(&mut env), ex.on_cancel(&mut env)) } else { (ex.on_cancel(&mut env), ex.on_deadline(&mut env)) };
        assert_eq!(second, Action::Nothing);
        results.push((first, ex.trace().clone()));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0].0, Action::Finished(Err(ExecutorError::Cancelled { stage_name: Some("s0".into()), reason: CancellationReason::UserCancel })));
    // The reference driver delivers the cancellation first on a tie.
    let (world, token) = cancel_at(20, CancellationReason::UserCancel);
    let r = run_in(spec, &[StageHandler::default().with_duration_ms(50)], CapabilitySet::new(), world, Some(token), &[]);
    assert_eq!(r.result, Err(ExecutorError::Cancelled { stage_name: Some("s0".into()), reason: CancellationReason::UserCancel }));
    r.assert_clean();
}
