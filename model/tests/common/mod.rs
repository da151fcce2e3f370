//! Helpers shared by the tests of the authority and resource modules (policy, derivation,
//! budgets, cancellation, pipelines, storage), and in [`interactive`] the rigs of the input, focus,
//! workspace and editor tests.
#![allow(dead_code)]

use model::bugs::{BugSet, PlantedBug};
use model::cancellation::CancellationToken;
use model::derivation::CapabilitySet;
use model::identity::{IdentityKind, IdentityMetadata, TrustDomain};
use model::ids::ExecutionId;
use model::pipeline::checks::PipelineMonitor;
use model::pipeline::drive::{run_pipeline, World};
use model::pipeline::{ExecutorError, PayloadSchemaId, PipelineEvent, PipelineExecutor, PipelineId, PipelineSpec, StageHandler, StageSpec};
use model::rule_check::RuleLog;

/// An identity in `domain` of `kind`, execution id `exec`.
pub fn identity(exec: u64, domain: &str, kind: IdentityKind) -> IdentityMetadata {
    IdentityMetadata {
        execution_id: ExecutionId(exec),
        kind,
        task_id: None,
        parent_id: None,
        creator_id: None,
        created_at_nanos: 0,
        trust_domain: TrustDomain::new(domain),
        name: format!("{domain}-{exec}"),
    }
}

/// A component of the `user` domain, execution id 1 (the seed's pipeline executor identity).
pub fn executor_identity() -> IdentityMetadata {
    identity(1, "user", IdentityKind::Component)
}

pub fn schema(s: &str) -> PayloadSchemaId {
    PayloadSchemaId::new(s)
}

/// A chain of stages `s0 → s1 → …` with schemas `t0 → t1 → …`, each built by `stage(i, spec)`.
pub fn chain(n: usize, stage: impl Fn(usize, StageSpec) -> StageSpec) -> PipelineSpec {
    let mut p = PipelineSpec::new(PipelineId(1), "chain", schema("t0"), schema(&format!("t{n}")));
    for i in 0..n {
        let s = StageSpec::new(&format!("s{i}"), "svc", "act", schema(&format!("t{i}")), schema(&format!("t{}", i + 1)));
        p = p.add_stage(stage(i, s));
    }
    p
}

/// The result of running a pipeline with the reference driver.
pub struct Run {
    pub result: Result<(), ExecutorError>,
    pub executor: PipelineExecutor,
    pub events: Vec<PipelineEvent>,
    pub world: World,
    /// The pipeline invariants checked over the run.
    pub rules: RuleLog,
}

/// Runs `spec` with `handlers` in `world` (a fresh token if `token` is `None`), checking the
/// pipeline invariants over its events.
pub fn run_in(spec: PipelineSpec, handlers: &[StageHandler], initial: CapabilitySet, mut world: World, token: Option<CancellationToken>, bugs: &[PlantedBug]) -> Run {
    let token = token.unwrap_or_else(|| world.cancellations.new_source().token());
    let mut executor = PipelineExecutor::new(spec.clone(), executor_identity(), initial, token, BugSet::from_list(bugs)).expect("valid pipeline");
    let result = run_pipeline(&mut executor, handlers, &mut world);
    let events = executor.take_events();
    let mut rules = RuleLog::default();
    PipelineMonitor::check_execution(&spec, &events, executor.trace(), &mut rules);
    Run { result, executor, events, world, rules }
}

/// Runs `spec` with `handlers` and no policy, budget or cancellation.
pub fn run(spec: PipelineSpec, handlers: &[StageHandler], initial: CapabilitySet) -> Run {
    run_in(spec, handlers, initial, World::new(), None, &[])
}

impl Run {
    /// `(stage, attempt)` of every trace entry.
    pub fn attempts(&self) -> Vec<(u32, u32)> {
        self.executor.trace().entries.iter().map(|e| (e.stage_id.0, e.attempt)).collect()
    }

    /// Start times of every trace entry, in ms.
    pub fn starts_ms(&self) -> Vec<u64> {
        self.executor.trace().entries.iter().map(|e| e.start_time_ms()).collect()
    }

    /// Panics with the breaches if any pipeline invariant broke.
    pub fn assert_clean(&self) {
        assert!(self.rules.is_clean(), "pipeline invariants broke: {:#?}", self.rules.breaches);
    }
}

pub mod interactive;
