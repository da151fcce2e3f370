//! Contract tests for the seed's "Pipeline Interface" / "Typed Pipeline Composition": "Core
//! Types", "Pipeline Validation", "Capability Flow", "Failure Propagation", "Retry Policies",
//! "Execution Trace", "Example Usage", "Safety Properties", "Testing Guidelines" (happy, failure
//! and retry paths); architecture Phase 5 (the three-stage blob pipeline) and the budget-limited
//! pipeline of "Phase 11" / "Phase 12: Pipeline Stages" and "Fault Injection Interaction"
//! ("Retries: Each retry consumes resources").
//!
//! Choices of the model tested where the seed is silent (`model/src/pipeline/`): stage ids are
//! positions; the retry multiplier is an integer; trace times are kept in ns; a stage that cannot
//! start (missing capability) has no trace entry; policy and capability checks come before the
//! `PipelineStages` charge; the reference driver commits a stage's storage transaction only when
//! the executor accepted its success.

mod common;

use common::*;
use model::budget::*;
use model::bugs::BugSet;
use model::cancellation::{CancellationReason, Cancellations};
use model::derivation::CapabilitySet;
use model::pipeline::drive::World;
use model::pipeline::*;
use model::policy::audit::PolicyAuditLog;
use model::budget::enforcement::ResourceLedger;
use model::storage::{ObjectContent, ObjectKind};
use model::time::{Duration, Instant};

fn retrying(failures: u32) -> StageHandler {
    StageHandler::default().with_outcome(HandlerOutcome::FailTimesThenSucceed { failures, error: "transient".into() })
}

fn always(outcome: HandlerOutcome) -> StageHandler {
    StageHandler::default().with_outcome(outcome)
}

// ----- validation -----------------------------------------------------------------------------

#[test]
fn validation_checks_the_schema_chain_in_order() {
    let stage = |name: &str, i: &str, o: &str| StageSpec::new(name, "svc", "act", schema(i), schema(o));
    let pipeline = |i: &str, o: &str, stages: Vec<StageSpec>| stages.into_iter().fold(PipelineSpec::new(PipelineId(1), "p", schema(i), schema(o)), PipelineSpec::add_stage);
    let mismatch = |link, e: &str, f: &str| Err(PipelineError::SchemaMismatch { link, expected: schema(e), found: schema(f) });
    let cases = [
        (pipeline("a", "b", vec![]), Err(PipelineError::NoStages)),
        (pipeline("a", "b", vec![stage("s", "a", "b")]), Ok(())),
        (pipeline("a", "c", vec![stage("s", "a", "b"), stage("t", "b", "c")]), Ok(())),
        (pipeline("a", "c", vec![stage("s", "x", "b"), stage("t", "b", "c")]), mismatch(SchemaLink::PipelineInput, "a", "x")),
        (pipeline("a", "c", vec![stage("s", "a", "b"), stage("t", "y", "c")]), mismatch(SchemaLink::Between { from: StageId(0), to: StageId(1) }, "b", "y")),
        (pipeline("a", "d", vec![stage("s", "a", "b"), stage("t", "b", "c"), stage("u", "x", "d")]), mismatch(SchemaLink::Between { from: StageId(1), to: StageId(2) }, "c", "x")),
        (pipeline("a", "z", vec![stage("s", "a", "b"), stage("t", "b", "c")]), mismatch(SchemaLink::PipelineOutput, "z", "c")),
        // Several mismatches: the first in chain order is reported.
        (pipeline("a", "z", vec![stage("s", "x", "b"), stage("t", "y", "c")]), mismatch(SchemaLink::PipelineInput, "a", "x")),
        // Version tags are part of the id.
        (pipeline("blob@v1", "out", vec![stage("s", "blob@v2", "out")]), mismatch(SchemaLink::PipelineInput, "blob@v1", "blob@v2")),
    ];
    for (i, (p, expected)) in cases.into_iter().enumerate() {
        assert_eq!(p.validate(), expected, "case {i}");
    }
}

#[test]
fn an_invalid_pipeline_never_executes() {
    let bad = chain(2, |i, s| if i == 1 { StageSpec { input_schema: schema("wrong"), ..s } } else { s });
    let mut c = Cancellations::new();
    let result = PipelineExecutor::new(bad, executor_identity(), CapabilitySet::new(), c.new_source().token(), BugSet::default());
    let Err(ExecutorError::SchemaMismatch(PipelineError::SchemaMismatch { link, .. })) = result else { panic!("a schema mismatch") };
    assert_eq!(link, SchemaLink::Between { from: StageId(0), to: StageId(1) });
}

#[test]
fn schema_ids_are_strings_with_version_tags() {
    let v2 = PayloadSchemaId::versioned("blob_params", 2);
    assert_eq!(v2.0, "blob_params@v2");
    assert_eq!((v2.name(), v2.version()), ("blob_params", Some(2)));
    assert_eq!((schema("plain").name(), schema("plain").version()), ("plain", None));
    assert_ne!(v2, PayloadSchemaId::versioned("blob_params", 1));
}

// ----- the seed's examples --------------------------------------------------------------------

#[test]
fn the_example_usage_two_stages_no_retries() {
    let blob_cap = 100;
    let create = StageSpec::new("CreateBlob", "storage", "create", schema("blob_params"), schema("blob_capability"));
    let transform = StageSpec::new("TransformBlob", "transformer", "transform", schema("blob_capability"), schema("transformed_blob"))
        .with_capabilities(vec![blob_cap])
        .with_retry_policy(RetryPolicy::fixed_retries(2, 50));
    let pipeline = PipelineSpec::new(PipelineId(9), "blob_pipeline", schema("blob_params"), schema("transformed_blob")).add_stage(create).add_stage(transform);
    assert_eq!(pipeline.validate(), Ok(()));
    let r = run(pipeline, &[StageHandler::succeeding(vec![blob_cap])], CapabilitySet::new());
    assert_eq!(r.result, Ok(()));
    assert_eq!(r.executor.trace().final_result, PipelineExecutionResult::Success);
    assert_eq!(r.executor.trace().entries.len(), 2, "no retries");
    assert_eq!(r.executor.trace().pipeline_id, PipelineId(9));
    r.assert_clean();
}

#[test]
fn the_three_stage_blob_pipeline() {
    // Phase 5: CreateBlob → TransformBlob (needs stage 1's blob capability, fixed_retries(2, 50))
    // → AnnotateMetadata (needs stage 2's capability). Handlers really use storage.
    let (blob_cap, transformed_cap) = (100, 200);
    let pipeline = PipelineSpec::new(PipelineId(1), "blob_processing_pipeline", schema("create_blob_input"), schema("annotate_metadata_output"))
        .add_stage(StageSpec::new("CreateBlob", "storage", "create_blob", schema("create_blob_input"), schema("create_blob_output")))
        .add_stage(
            StageSpec::new("TransformBlob", "transformer", "transform", schema("create_blob_output"), schema("transform_blob_output"))
                .with_capabilities(vec![blob_cap])
                .with_retry_policy(RetryPolicy::fixed_retries(2, 50)),
        )
        .add_stage(StageSpec::new("AnnotateMetadata", "metadata", "annotate", schema("transform_blob_output"), schema("annotate_metadata_output")).with_capabilities(vec![transformed_cap]));
    let blob = |data: &str| StorageUse { kind: ObjectKind::Blob, writes: 1, data: data.into() };
    let handlers = [
        StageHandler::succeeding(vec![blob_cap]).with_storage(blob("hello")).with_duration_ms(5),
        StageHandler { produces: vec![transformed_cap], ..retrying(1) }.with_storage(blob("HELLO")).with_duration_ms(5),
        StageHandler { produces: vec![300], storage: Some(StorageUse { kind: ObjectKind::Map, writes: 2, data: "note".into() }), ..StageHandler::default() },
    ];
    let r = run(pipeline, &handlers, CapabilitySet::new());
    assert_eq!(r.result, Ok(()));
    assert_eq!(r.attempts(), [(0, 0), (1, 0), (1, 1), (2, 0)], "one entry per attempt, the retried stage twice");
    let trace = r.executor.trace();
    assert_eq!(trace.final_result, PipelineExecutionResult::Success);
    assert_eq!(trace.entries[0].capabilities_out, [blob_cap]);
    assert_eq!(trace.entries[1].capabilities_in, [blob_cap]);
    assert_eq!(trace.entries[1].capabilities_out, Vec::<u64>::new(), "a retryable attempt produces nothing");
    assert_eq!(trace.entries[2].capabilities_out, [transformed_cap], "the successful retry produced it");
    assert_eq!(trace.entries[3].capabilities_in, [transformed_cap]);
    assert_eq!(r.starts_ms(), [0, 5, 60, 65], "backoff of 50 ms before the retry");
    // Storage: the failed attempt's transaction was rolled back, the successful ones committed.
    let store = &r.world.storage;
    let objects: Vec<_> = r.world.stage_objects.values().copied().collect();
    assert_eq!(objects.len(), 3);
    let head = |o| store.version(store.head(o).unwrap()).unwrap().content.clone();
    assert_eq!(head(objects[0]), ObjectContent::Blob(b"hello".to_vec()));
    assert_eq!(head(objects[1]), ObjectContent::Blob(b"HELLO".to_vec()));
    assert!(matches!(head(objects[2]), ObjectContent::Map(m) if m.len() == 2));
    assert_eq!(store.history(objects[1]).len(), 2, "creation and one write; the rolled-back attempt left nothing");
    r.assert_clean();
}

// ----- retry policies -------------------------------------------------------------------------

#[test]
fn retry_policy_constructors_and_backoff_formula() {
    assert_eq!(RetryPolicy::none(), RetryPolicy { max_retries: 0, initial_backoff_ms: 0, backoff_multiplier: 1 });
    assert_eq!(RetryPolicy::default(), RetryPolicy::none());
    let fixed = RetryPolicy::fixed_retries(3, 100);
    let expo = RetryPolicy::exponential_backoff(3, 100);
    assert_eq!((fixed.max_retries, fixed.backoff_multiplier), (3, 1));
    assert_eq!((expo.max_retries, expo.backoff_multiplier), (3, 2));
    let ms = |d: Duration| d.0 / 1_000_000;
    assert_eq!((1..=3).map(|k| ms(fixed.backoff_before_retry(k))).collect::<Vec<_>>(), [100, 100, 100]);
    assert_eq!((1..=3).map(|k| ms(expo.backoff_before_retry(k))).collect::<Vec<_>>(), [100, 200, 400], "the seed's 100ms, 200ms, 400ms");
    assert_eq!((0..3).map(|a| ms(expo.backoff_duration(a))).collect::<Vec<_>>(), [100, 200, 400], "initial * multiplier ^ attempt");
    assert_eq!(expo.backoff_before_retry(0), Duration::ZERO);
    assert_eq!(RetryPolicy::exponential_backoff(1, u64::MAX).backoff_duration(70), Duration(u64::MAX), "saturating");
    assert_eq!(RetryPolicy { max_retries: 1, initial_backoff_ms: 3, backoff_multiplier: 10 }.backoff_duration(2), Duration::from_millis(300));
    assert_eq!(RetryPolicy::fixed_retries(u32::MAX, 1).max_attempts(), u64::from(u32::MAX) + 1);
    for n in 0..5 {
        let p = RetryPolicy::fixed_retries(n, 0);
        assert_eq!(p.max_attempts(), u64::from(n) + 1);
        assert!((0..n).all(|a| p.allows_retry_after(a)) && !p.allows_retry_after(n));
    }
}

#[test]
fn retry_policies_serialize_with_defaults_and_reject_unknown_fields() {
    assert_eq!(ron::from_str::<RetryPolicy>("(max_retries: 2)").unwrap(), RetryPolicy::fixed_retries(2, 0));
    assert_eq!(ron::from_str::<RetryPolicy>("(max_retries: 3, initial_backoff_ms: 100, backoff_multiplier: 2)").unwrap(), RetryPolicy::exponential_backoff(3, 100));
    assert!(ron::from_str::<RetryPolicy>("(max_retries: 3, backoff_multiplier: 2.0)").is_err(), "no floats");
    assert!(ron::from_str::<RetryPolicy>("(max_retries: 3, jitter: 1)").is_err());
}

#[test]
fn attempts_are_retries_plus_one_then_permanent_failure() {
    for max_retries in 0..5 {
        let spec = chain(1, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(max_retries, 10)));
        let r = run(spec, &[always(HandlerOutcome::FailRetryably("flaky".into()))], CapabilitySet::new());
        assert_eq!(r.executor.trace().entries.len() as u32, max_retries + 1, "{max_retries} retries");
        assert_eq!(r.attempts().iter().map(|(_, a)| *a).collect::<Vec<_>>(), (0..=max_retries).collect::<Vec<_>>());
        assert!(r.executor.trace().entries.iter().all(|e| matches!(e.result, StageExecutionResult::Retryable { .. })));
        let Err(ExecutorError::StageFailed { error, .. }) = &r.result else { panic!("{:?}", r.result) };
        assert_eq!(*error, format!("flaky (gave up after {max_retries} retries)"));
        assert!(matches!(r.executor.trace().final_result, PipelineExecutionResult::Failed { .. }));
        r.assert_clean();
    }
}

#[test]
fn exponential_backoff_100_200_400_ms_shows_in_the_trace() {
    let spec = chain(1, |_, s| s.with_retry_policy(RetryPolicy::exponential_backoff(3, 100)));
    let r = run(spec, &[retrying(3).with_duration_ms(10)], CapabilitySet::new());
    assert_eq!(r.result, Ok(()));
    // Attempt k starts when attempt k-1 ended (10 ms later) plus the backoff.
    assert_eq!(r.starts_ms(), [0, 110, 320, 730]);
    let ends: Vec<u64> = r.executor.trace().entries.iter().map(|e| e.end_time_ms()).collect();
    assert_eq!(ends, [10, 120, 330, 740]);
    let backoffs: Vec<(u32, u64)> = r.events.iter().filter_map(|e| match e {
        PipelineEvent::BackoffScheduled { retry, from, until, .. } => Some((*retry, (until.0 - from.0) / 1_000_000)),
        _ => None,
    }).collect();
    assert_eq!(backoffs, [(1, 100), (2, 200), (3, 400)]);
    r.assert_clean();
}

#[test]
fn fixed_retries_succeed_on_the_last_allowed_attempt() {
    let spec = chain(1, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(2, 50)));
    let r = run(spec.clone(), &[retrying(2)], CapabilitySet::new());
    assert_eq!(r.result, Ok(()));
    assert_eq!(r.starts_ms(), [0, 50, 100]);
    assert!(r.executor.trace().entries[2].result.is_success());
    r.assert_clean();
    let r = run(spec, &[retrying(3)], CapabilitySet::new());
    assert!(matches!(r.result, Err(ExecutorError::StageFailed { .. })), "one failure too many");
    r.assert_clean();
}

#[test]
fn no_retries_means_any_error_is_final() {
    let r = run(chain(2, |_, s| s), &[retrying(1)], CapabilitySet::new());
    assert_eq!(r.attempts(), [(0, 0)]);
    assert!(matches!(r.result, Err(ExecutorError::StageFailed { .. })));
    r.assert_clean();
}

// ----- failure propagation --------------------------------------------------------------------

#[test]
fn fail_fast_a_failing_middle_stage_stops_the_pipeline() {
    let spec = chain(3, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(5, 1)));
    let handlers = [StageHandler::succeeding(vec![1]), always(HandlerOutcome::FailPermanently("disk on fire".into())), StageHandler::default()];
    let r = run(spec, &handlers, CapabilitySet::new());
    assert_eq!(r.result, Err(ExecutorError::StageFailed { stage_name: "s1".into(), error: "disk on fire".into() }));
    assert_eq!(r.attempts(), [(0, 0), (1, 0)], "a permanent failure is not retried, later stages never run");
    assert_eq!(r.executor.trace().final_result, PipelineExecutionResult::Failed { stage_name: Some("s1".into()), error: "stage s1 failed: disk on fire".into() });
    assert_eq!(r.world.orders.len(), 2);
    r.assert_clean();
}

#[test]
fn a_missing_capability_fails_before_the_stage_runs() {
    let spec = chain(2, |i, s| if i == 1 { s.with_capabilities(vec![7, 8]) } else { s });
    let r = run(spec.clone(), &[StageHandler::succeeding(vec![7])], CapabilitySet::from([1]));
    assert_eq!(r.result, Err(ExecutorError::MissingCapability { stage_name: "s1".into(), capability: 8 }));
    assert_eq!(r.attempts(), [(0, 0)], "no entry for the stage that could not start");
    assert_eq!(r.world.resources.usage(executor_identity().execution_id).pipeline_stages.get(), 1, "a stage that cannot run consumes nothing");
    r.assert_clean();
    // From the initial pool or an earlier stage: both count.
    let r = run(spec, &[StageHandler::succeeding(vec![7])], CapabilitySet::from([8]));
    assert_eq!(r.result, Ok(()));
    assert_eq!(r.executor.trace().entries[1].capabilities_in, [7, 8]);
    r.assert_clean();
}

#[test]
fn capabilities_flow_only_through_the_pool() {
    // Stage 2 needs what stage 1 produced; stage 3 needs what nobody produced.
    let spec = chain(3, |i, s| match i {
        1 => s.with_capabilities(vec![11]),
        2 => s.with_capabilities(vec![11, 12, 99]),
        _ => s,
    });
    let handlers = [StageHandler::succeeding(vec![11]), StageHandler::succeeding(vec![12])];
    let r = run(spec, &handlers, CapabilitySet::new());
    assert_eq!(r.result, Err(ExecutorError::MissingCapability { stage_name: "s2".into(), capability: 99 }));
    assert_eq!(r.executor.authority().pool(), &CapabilitySet::from([11, 12]));
    let outs: Vec<Vec<u64>> = r.executor.trace().entries.iter().map(|e| e.capabilities_out.clone()).collect();
    assert_eq!(outs, [vec![11], vec![12]]);
    r.assert_clean();
}

// ----- budgets --------------------------------------------------------------------------------

fn budgeted(budget: ResourceBudget) -> World {
    let mut world = World::new();
    world.resources.attach(executor_identity().execution_id, None, Some(budget)).unwrap();
    world
}

#[test]
fn the_budget_limited_pipeline_of_the_seed() {
    let budget = ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(5000)).with_message_count(MessageCount::new(100)).with_pipeline_stages(PipelineStages::new(10));
    let handlers = vec![StageHandler::default().with_cpu_ticks(1000); 3];
    let r = run_in(chain(3, |_, s| s), &handlers, CapabilitySet::new(), budgeted(budget), None, &[]);
    assert_eq!(r.result, Ok(()));
    let usage = r.world.resources.usage(executor_identity().execution_id);
    assert_eq!((usage.cpu_ticks.get(), usage.pipeline_stages.get()), (3000, 3));
    r.assert_clean();
}

#[test]
fn pipeline_stages_exhaustion_cancels_the_pipeline_before_the_stage() {
    let r = run_in(chain(3, |_, s| s), &[StageHandler::succeeding(vec![1]), StageHandler::succeeding(vec![2])], CapabilitySet::new(), budgeted(ResourceBudget::unlimited().with_pipeline_stages(PipelineStages::new(2))), None, &[]);
    let Err(ExecutorError::ResourceExhausted(e)) = &r.result else { panic!("{:?}", r.result) };
    assert_eq!((e.resource_type, e.limit, e.usage), (ResourceKind::PipelineStages, Some(2), 2));
    assert_eq!(r.attempts(), [(0, 0), (1, 0)]);
    assert_eq!(r.executor.trace().final_result, PipelineExecutionResult::Cancelled { stage_name: Some("s2".into()), reason: CancellationReason::Custom("Budget exhausted: PipelineStages".into()) });
    assert!(r.world.resources.is_identity_cancelled(executor_identity().execution_id));
    r.assert_clean();
}

#[test]
fn each_retry_consumes_cpu_again_but_the_stage_only_once() {
    let spec = chain(1, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(3, 1)));
    let r = run_in(spec, &[retrying(2).with_cpu_ticks(10)], CapabilitySet::new(), budgeted(ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(100))), None, &[]);
    assert_eq!(r.result, Ok(()));
    let usage = r.world.resources.usage(executor_identity().execution_id);
    assert_eq!((usage.cpu_ticks.get(), usage.pipeline_stages.get()), (30, 1));
    r.assert_clean();
}

#[test]
fn cpu_exhaustion_cancels_the_attempt_and_is_not_retried() {
    let spec = chain(2, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(5, 1)));
    let handlers = [always(HandlerOutcome::FailRetryably("again".into())).with_cpu_ticks(40)];
    let r = run_in(spec, &handlers, CapabilitySet::new(), budgeted(ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(100))), None, &[]);
    let reason = CancellationReason::Custom("Budget exhausted: CpuTicks".into());
    assert_eq!(r.result, Err(ExecutorError::Cancelled { stage_name: Some("s0".into()), reason: reason.clone() }));
    assert_eq!(r.attempts(), [(0, 0), (0, 1), (0, 2)], "the third attempt could not pay and was cancelled, not retried");
    assert_eq!(r.executor.trace().entries[2].result, StageExecutionResult::Cancelled { reason });
    assert_eq!(r.world.resources.usage(executor_identity().execution_id).cpu_ticks.get(), 80);
    r.assert_clean();
}

#[test]
fn storage_ops_are_charged_before_each_operation() {
    // One create and two writes per successful attempt: 3 StorageOps; a budget of 2 cancels it.
    let handler = StageHandler::default().with_storage(StorageUse { kind: ObjectKind::Log, writes: 2, data: "x".into() });
    let ok = run_in(chain(1, |_, s| s), std::slice::from_ref(&handler), CapabilitySet::new(), budgeted(ResourceBudget::unlimited().with_storage_ops(StorageOps::new(3))), None, &[]);
    assert_eq!(ok.result, Ok(()));
    assert_eq!(ok.world.resources.usage(executor_identity().execution_id).storage_ops.get(), 3);
    let short = run_in(chain(1, |_, s| s), &[handler], CapabilitySet::new(), budgeted(ResourceBudget::unlimited().with_storage_ops(StorageOps::new(2))), None, &[]);
    assert!(matches!(&short.result, Err(ExecutorError::Cancelled { reason: CancellationReason::Custom(r), .. }) if r == "Budget exhausted: StorageOps"));
    assert!(short.world.stage_objects.is_empty(), "the cancelled attempt's transaction was rolled back");
    assert!(short.world.storage.head(model::storage::ObjectId(0)).is_none());
    short.assert_clean();
}

// ----- the state machine itself ---------------------------------------------------------------

#[test]
fn the_executor_ignores_inputs_that_do_not_apply() {
    let spec = chain(2, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(1, 100)));
    let mut cancellations = Cancellations::new();
    let token = cancellations.new_source().token();
    let mut audit = PolicyAuditLog::default();
    let mut ledger = ResourceLedger::new();
    let mut ex = PipelineExecutor::new(spec, executor_identity(), CapabilitySet::new(), token, BugSet::default()).unwrap();
    macro_rules! env {
        ($t:expr) => {
            &mut ExecutorEnv { now: Instant($t), cancellations: &cancellations, policy: None, policy_audit: &mut audit, resources: &mut ledger }
        };
    }
    assert_eq!(ex.on_wake(env!(0)), Action::Nothing, "nothing to wake before the start");
    let Action::StartAttempt(order) = ex.start(env!(0)) else { panic!("first attempt") };
    assert_eq!((order.stage, order.attempt, order.deadline), (StageId(0), 0, None));
    assert_eq!(ex.start(env!(0)), Action::Nothing, "starting twice");
    assert_eq!(ex.on_attempt_outcome(StageId(1), 0, StageResult::Success { capabilities: vec![] }, env!(1)), Action::Nothing, "not the running stage");
    assert_eq!(ex.on_attempt_outcome(StageId(0), 1, StageResult::Success { capabilities: vec![] }, env!(1)), Action::Nothing, "not the running attempt");
    assert_eq!(ex.on_deadline(env!(1)), Action::Nothing, "no deadline");
    assert_eq!(ex.on_cancel(env!(1)), Action::Nothing, "not cancelled");
    let wait = ex.on_attempt_outcome(StageId(0), 0, StageResult::Retryable { error: "e".into() }, env!(1));
    assert_eq!(wait, Action::WaitUntil { until: Instant(100_000_001), deadline: None });
    assert_eq!(ex.on_wake(env!(50)), wait, "an early wake-up waits on");
    let Action::StartAttempt(order) = ex.on_wake(env!(100_000_001)) else { panic!("retry") };
    assert_eq!((order.stage, order.attempt), (StageId(0), 1));
    let Action::StartAttempt(order) = ex.on_attempt_outcome(StageId(0), 1, StageResult::Success { capabilities: vec![3] }, env!(100_000_002)) else { panic!("next stage") };
    assert_eq!((order.stage, order.attempt, order.capabilities), (StageId(1), 0, CapabilitySet::from([3])));
    assert_eq!(ex.on_attempt_outcome(StageId(1), 0, StageResult::Success { capabilities: vec![] }, env!(100_000_003)), Action::Finished(Ok(())));
    assert!(ex.is_finished());
    assert_eq!(ex.outcome(), Some(&Ok(())));
    assert_eq!(ex.on_attempt_outcome(StageId(1), 0, StageResult::Success { capabilities: vec![] }, env!(100_000_004)), Action::Nothing, "after the end");
    let mut log = model::rule_check::RuleLog::default();
    let events = ex.take_events();
    model::pipeline::checks::PipelineMonitor::check_execution(ex.spec(), &events, ex.trace(), &mut log);
    assert!(log.is_clean(), "{:?}", log.breaches);
}

#[test]
fn runs_are_deterministic() {
    let spec = chain(3, |i, s| s.with_retry_policy(RetryPolicy::exponential_backoff(2, 7)).with_capabilities(if i == 2 { vec![5] } else { vec![] }));
    let handlers = [retrying(1).with_duration_ms(3), StageHandler::succeeding(vec![5]).with_duration_ms(2), retrying(2).with_cpu_ticks(1)];
    let digest = |r: &Run| {
        let mut h = model::trace_hash::TraceHasher::default();
        r.events.iter().for_each(|e| h.feed(e));
        r.world.resources.resource_audit().entries().iter().for_each(|e| h.feed(e));
        h.value()
    };
    let a = run(spec.clone(), &handlers, CapabilitySet::new());
    let b = run(spec, &handlers, CapabilitySet::new());
    assert_eq!(a.result, Ok(()));
    assert_eq!(a.executor.trace(), b.executor.trace());
    assert_eq!(a.events, b.events);
    assert_eq!(digest(&a), digest(&b));
    a.assert_clean();
    assert!(a.rules.count("pipeline.bounded_attempts") >= 6);
}

#[test]
fn pipeline_events_fold_distinctly() {
    use model::trace_hash::TraceHasher;
    let p = PipelineId(1);
    let s = StageId(0);
    let events = [
        PipelineEvent::Started { pipeline: p, at: Instant(0) },
        PipelineEvent::PolicyChecked { pipeline: p, stage: None, event: model::policy::PolicyEvent::OnPipelineStart, verdict: events::Verdict::Allowed },
        PipelineEvent::PolicyChecked { pipeline: p, stage: None, event: model::policy::PolicyEvent::OnPipelineStart, verdict: events::Verdict::Denied },
        PipelineEvent::AttemptStarted { pipeline: p, stage: s, attempt: 0, at: Instant(0) },
        PipelineEvent::AttemptStarted { pipeline: p, stage: s, attempt: 1, at: Instant(0) },
        PipelineEvent::AttemptEnded { pipeline: p, stage: s, attempt: 0, at: Instant(0), result: StageExecutionResult::Success, capabilities_out: vec![] },
        PipelineEvent::AttemptEnded { pipeline: p, stage: s, attempt: 0, at: Instant(0), result: StageExecutionResult::Success, capabilities_out: vec![1] },
        PipelineEvent::BackoffScheduled { pipeline: p, stage: s, retry: 1, from: Instant(0), until: Instant(1) },
        PipelineEvent::Finished { pipeline: p, at: Instant(0), result: PipelineExecutionResult::Success, trace_entries: 0 },
    ];
    let digests: std::collections::BTreeSet<u64> = events
        .iter()
        .map(TraceHasher::digest_of)
        .collect();
    assert_eq!(digests.len(), events.len());
}

#[test]
fn specs_and_handlers_are_scenario_data() {
    let text = r#"(
        name: "p",
        stages: [
            (name: "a", input_schema: "in", output_schema: "mid", retry_policy: (max_retries: 2, initial_backoff_ms: 10), timeout_ms: Some(100)),
            (name: "b", handler: "svc", action: "go", input_schema: "mid", output_schema: "out", required_capabilities: [4]),
        ],
        initial_input_schema: "in",
        final_output_schema: "out",
    )"#;
    let spec: PipelineSpec = ron::from_str(text).unwrap();
    assert_eq!(spec.validate(), Ok(()));
    assert_eq!(spec.id, PipelineId(0));
    assert_eq!(spec.stages[0].retry_policy, RetryPolicy::fixed_retries(2, 10));
    assert_eq!(spec.stages[1].required_capabilities, [4]);
    assert!(ron::from_str::<PipelineSpec>(&text.replace("name: \"p\"", "name: \"p\", colour: 1")).is_err());
    let handlers: Vec<StageHandler> = ron::from_str(
        r#"[
            (),
            (outcome: FailTimesThenSucceed(failures: 2, error: "busy"), produces: [1], cpu_ticks: 5, duration_ms: 3),
            (outcome: FailPermanently("no"), storage: Some((kind: Blob, data: "x"))),
        ]"#,
    )
    .unwrap();
    assert_eq!(handlers[0], StageHandler::default());
    assert_eq!(handlers[1].result(1), StageResult::Retryable { error: "busy".into() });
    assert_eq!(handlers[1].result(2), StageResult::Success { capabilities: vec![1] });
    assert_eq!(handlers[2].storage, Some(StorageUse { kind: ObjectKind::Blob, writes: 1, data: "x".into() }));
    assert!(ron::from_str::<StageHandler>("(sleep_ms: 3)").is_err());
    assert!(ron::from_str::<StageHandler>("(outcome: FailTimesThenSucceed(failures: 2, error: \"x\", extra: 1))").is_err());
}

// ----- the checkers on hand-made streams ------------------------------------------------------

/// Each pipeline check, alone, on a minimal event stream that breaks it (a buggy executor the
/// planted bugs do not cover), and the same stream repaired.
#[test]
fn each_pipeline_check_catches_a_hand_made_violation() {
    use model::derivation::DerivationEvent;
    use model::pipeline::checks::PipelineMonitor;
    use model::pipeline::events::Verdict;
    use model::policy::PolicyEvent;
    let spec = chain(2, |_, s| s.with_retry_policy(RetryPolicy::fixed_retries(1, 10)));
    let (p, s0, s1) = (PipelineId(1), StageId(0), StageId(1));
    let ms = |t: u64| Instant(t * 1_000_000);
    let started = |stage, attempt, t| PipelineEvent::AttemptStarted { pipeline: p, stage, attempt, at: ms(t) };
    let ended = |stage, attempt, t, result| PipelineEvent::AttemptEnded { pipeline: p, stage, attempt, at: ms(t), result, capabilities_out: vec![] };
    let ok = || StageExecutionResult::Success;
    let failed = || StageExecutionResult::Failed { error: "x".into() };
    let retryable = || StageExecutionResult::Retryable { error: "x".into() };
    let backoff = |retry, from, until| PipelineEvent::BackoffScheduled { pipeline: p, stage: s0, retry, from: ms(from), until: ms(until) };
    let finished = |result, n| PipelineEvent::Finished { pipeline: p, at: ms(99), result, trace_entries: n };
    let failed_result = || PipelineExecutionResult::Failed { stage_name: Some("s0".into()), error: "x".into() };
    let produced = |stage| PipelineEvent::Authority(DerivationEvent::Produced { pipeline: p, stage, capabilities: CapabilitySet::from([5]) });
    let denied = PipelineEvent::PolicyChecked { pipeline: p, stage: Some(s1), event: PolicyEvent::OnPipelineStageStart, verdict: Verdict::Denied };
    let cancelled = || StageExecutionResult::Cancelled { reason: CancellationReason::Timeout };
    // (what, stream, the invariant it breaks)
    let cases: Vec<(&str, Vec<PipelineEvent>, &str)> = vec![
        ("an attempt after a permanent failure, the pipeline still reported failed", vec![started(s0, 0, 0), ended(s0, 0, 1, failed()), started(s1, 0, 1), ended(s1, 0, 2, ok()), finished(failed_result(), 2)], "pipeline.fail_fast"),
        ("the pipeline goes on and reports success after a permanent failure", vec![started(s0, 0, 0), ended(s0, 0, 1, failed()), started(s1, 0, 1), ended(s1, 0, 2, ok()), finished(PipelineExecutionResult::Success, 2)], "pipeline.fail_fast"),
        ("an attempt beyond max_retries", vec![started(s0, 0, 0), ended(s0, 0, 0, retryable()), backoff(1, 0, 10), started(s0, 1, 10), ended(s0, 1, 10, retryable()), backoff(2, 10, 20), started(s0, 2, 20), ended(s0, 2, 20, retryable()), finished(failed_result(), 3)], "pipeline.bounded_attempts"),
        ("an attempt number repeated", vec![started(s0, 0, 0), ended(s0, 0, 0, retryable()), backoff(1, 0, 10), started(s0, 0, 10), ended(s0, 0, 10, ok()), started(s1, 0, 10), ended(s1, 0, 11, ok()), finished(PipelineExecutionResult::Success, 3)], "pipeline.bounded_attempts"),
        ("a retry before its backoff ended", vec![started(s0, 0, 0), ended(s0, 0, 0, retryable()), backoff(1, 0, 10), started(s0, 1, 9), ended(s0, 1, 9, failed()), finished(failed_result(), 2)], "pipeline.backoff_exact"),
        ("a backoff of the wrong length", vec![started(s0, 0, 0), ended(s0, 0, 0, retryable()), backoff(1, 0, 11), started(s0, 1, 11), ended(s0, 1, 11, failed()), finished(failed_result(), 2)], "pipeline.backoff_exact"),
        ("a trace entry missing", vec![started(s0, 0, 0), ended(s0, 0, 1, ok()), started(s1, 0, 1), ended(s1, 0, 2, ok()), finished(PipelineExecutionResult::Success, 1)], "pipeline.trace_complete"),
        ("success without running every stage", vec![started(s0, 0, 0), ended(s0, 0, 1, ok()), finished(PipelineExecutionResult::Success, 1)], "pipeline.trace_complete"),
        ("capabilities from a cancelled attempt", vec![started(s0, 0, 0), ended(s0, 0, 1, cancelled()), produced(s0), finished(PipelineExecutionResult::Cancelled { stage_name: None, reason: CancellationReason::Timeout }, 1)], "pipeline.no_caps_from_cancelled_stage"),
        ("capabilities credited to another stage", vec![started(s0, 0, 0), ended(s0, 0, 1, ok()), produced(s1), started(s1, 0, 1), ended(s1, 0, 2, ok()), finished(PipelineExecutionResult::Success, 2)], "pipeline.no_caps_from_cancelled_stage"),
        ("a denied stage runs anyway, failure reported", vec![started(s0, 0, 0), ended(s0, 0, 1, ok()), denied.clone(), started(s1, 0, 1), ended(s1, 0, 2, ok()), finished(failed_result(), 2)], "policy.deny_has_no_effect"),
        ("a denied stage runs anyway and success is reported", vec![started(s0, 0, 0), ended(s0, 0, 1, ok()), denied.clone(), started(s1, 0, 1), ended(s1, 0, 2, ok()), finished(PipelineExecutionResult::Success, 2)], "policy.deny_has_no_effect"),
    ];
    for (what, events, invariant) in cases {
        let mut log = model::rule_check::RuleLog::default();
        let mut monitor = PipelineMonitor::new(&spec);
        events.iter().for_each(|e| monitor.observe(e, &mut log));
        assert_eq!(log.breached(), [invariant], "{what}: {:#?}", log.breaches);
    }
    // A correct stream of the same shape breaks nothing.
    let good = vec![started(s0, 0, 0), ended(s0, 0, 0, retryable()), backoff(1, 0, 10), started(s0, 1, 10), ended(s0, 1, 11, ok()), produced(s0), started(s1, 0, 11), ended(s1, 0, 12, ok()), finished(PipelineExecutionResult::Success, 3)];
    let mut log = model::rule_check::RuleLog::default();
    let mut monitor = PipelineMonitor::new(&spec);
    good.iter().for_each(|e| monitor.observe(e, &mut log));
    assert!(log.is_clean(), "{:#?}", log.breaches);
}
