//! The authority and resource parts of a generated run, drawn after everything else: budgets for
//! some tasks (supervisor children sometimes asking for more than their supervisor) and for the
//! workload's tasks, a composed policy with rules that require, deny and derive (some derivations
//! escalating), pipelines whose stages retry, fail, produce capabilities, use CPU and storage and
//! sleep past (or exactly to) their timeouts, steps that start and cancel them, storage and CPU work
//! in the workload mix, and authority faults (budget squeezes, policy swaps, stage failures,
//! storage crashes). In swarm mode each part is on or off per run; zero choices switch everything
//! off, so a shrunk choice list simplifies toward the kernel-only run.

use super::Gen;
use crate::budget::{CpuTicks, MessageCount, PipelineStages, ResourceBudget, ResourceKind, StorageOps};
use crate::fault::AuthorityFault;
use crate::pipeline::{HandlerOutcome, PayloadSchemaId, PipelineSpec, RetryPolicy, StageHandler, StageSpec, StorageUse};
use crate::policy::rules::{PolicyRule, RuleCondition, RuleDecision, RuleListPolicy};
use crate::policy::{PolicyEvent, PolicySpec};
use crate::scenario::{Behaviour, PipelineDecl, Scenario, Step, StepOp, StorageStep, TaskSpec};
use crate::storage::ObjectKind;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// Adds the authority parts to `s`.
pub(super) fn generate(g: &mut Gen<'_>, swarm: bool, s: &mut Scenario) {
    let on = |g: &mut Gen<'_>| if swarm { g.flip() } else { g.c.below(4) != 0 };
    let (budgets, policy, pipelines, storage, faults) = (on(g), on(g), on(g), on(g), on(g));
    if budgets {
        for task in &mut s.tasks {
            give_budgets(g, task, None);
        }
        if g.flip() {
            let step = spawn_step(g, s);
            s.steps.push(step);
        }
        if let Some(w) = &mut s.workload {
            w.budget = (g.c.below(3) != 0).then(|| budget(g));
        }
    }
    if pipelines {
        s.pipelines = (0..1 + g.c.below(3)).map(|i| pipeline(g, i)).collect();
        s.steps = pipeline_steps(g, s);
    }
    if policy {
        s.policy = Some(composed(g, pipelines));
    }
    if storage {
        let steps = storage_steps(g, s);
        s.steps.extend(steps);
    }
    if let Some(w) = &mut s.workload {
        if storage {
            w.mix.storage = 2 + g.upto(10) as u32;
        }
        if g.flip() {
            w.mix.compute = 1 + g.upto(4) as u32;
        }
        if !s.pipelines.is_empty() && g.flip() {
            w.mix.pipeline = 1 + g.upto(3) as u32;
        }
    }
    if faults {
        s.faults.authority_faults = authority_faults(g, s);
    }
}

// ----- budgets ------------------------------------------------------------------------------------

/// A budget limiting a random non-empty set of resources, with small limits.
fn budget(g: &mut Gen<'_>) -> ResourceBudget {
    let mut b = ResourceBudget::unlimited();
    let pick = 1 + g.c.below(15);
    if pick & 1 != 0 {
        b.message_count = Some(MessageCount(2 + g.upto(40)));
    }
    if pick & 2 != 0 {
        b.cpu_ticks = Some(CpuTicks(20 + g.upto(20) * 25));
    }
    if pick & 4 != 0 {
        b.storage_ops = Some(StorageOps(2 + g.upto(30)));
    }
    if pick & 8 != 0 {
        b.pipeline_stages = Some(PipelineStages(1 + g.upto(8)));
    }
    b
}

/// Budgets for a task (one time in three) and its supervisor children: a child asks for its
/// parent's budget, a smaller or a larger one (refused at spawn), or nothing.
fn give_budgets(g: &mut Gen<'_>, task: &mut TaskSpec, parent: Option<ResourceBudget>) {
    task.budget = match (parent, g.c.below(3)) {
        (None, 0) => Some(budget(g)),
        (None, _) => None,
        (Some(p), 0) => Some(p),
        (Some(p), 1) => Some(scaled(&p, g.c.below(2) == 0)),
        (Some(_), _) => None,
    };
    let own = task.budget;
    if let Behaviour::Supervisor { children, .. } = &mut task.behaviour {
        for child in children {
            give_budgets(g, child, own);
        }
    }
}

/// A task spawning an idle child whose budget is half of the spawner's, or double it (refused).
fn spawn_step(g: &mut Gen<'_>, s: &mut Scenario) -> Step {
    let i = g.c.index(s.tasks.len());
    let parent = s.tasks[i].budget.unwrap_or_else(|| budget(g));
    s.tasks[i].budget = Some(parent);
    let child = TaskSpec {
        name: String::from("kid"),
        behaviour: Behaviour::Idle,
        kind: Default::default(),
        domain: g.domain(),
        start_ns: 0,
        caps: Vec::new(),
        restart: Default::default(),
        budget: Some(scaled(&parent, g.flip())),
    };
    Step::new(g.upto(20) * 500_000, StepOp::Spawn { task: s.tasks[i].name.clone(), child, give: Vec::new() })
}

/// Half of every limit, or double (an escalation the spawn must refuse).
fn scaled(b: &ResourceBudget, larger: bool) -> ResourceBudget {
    ResourceKind::ALL.iter().fold(*b, |acc, &k| acc.with_limit(k, b.limit(k).map(|l| if larger { l.saturating_mul(2).max(1) } else { l / 2 })))
}

// ----- policies -----------------------------------------------------------------------------------

/// A composition of a random subset of the reference policies and a rule list (always, when the
/// run has pipelines: their rules are the derivations and stage refusals), often ending in `NoOp`
/// (an Allow after a Require or a Deny is where composition bugs show).
fn composed(g: &mut Gen<'_>, pipelines: bool) -> PolicySpec {
    let mut parts = Vec::new();
    if g.flip() {
        parts.push(PolicySpec::NoOp);
    }
    if g.flip() {
        parts.push(PolicySpec::TrustDomain);
    }
    if g.flip() {
        parts.push(PolicySpec::PipelineSafety { max_stages_unsupervised: 1 + g.upto(3) as usize });
    }
    if pipelines || g.flip() {
        parts.push(PolicySpec::Rules(rules(g, pipelines)));
    }
    if g.flip() {
        parts.push(PolicySpec::NoOp);
    }
    PolicySpec::Composed(parts)
}

fn rules(g: &mut Gen<'_>, pipelines: bool) -> RuleListPolicy {
    let rules = (0..1 + g.c.below(4)).map(|_| rule(g, pipelines)).collect();
    RuleListPolicy { name: String::from("GeneratedRules"), rules }
}

/// One rule; with pipelines, two rules in three are about them.
fn rule(g: &mut Gen<'_>, pipelines: bool) -> PolicyRule {
    let domain = g.domain();
    let kind = if pipelines && g.c.below(3) != 0 { 2 + g.c.below(3) } else { g.c.below(6) };
    let stage = |g: &mut Gen<'_>| RuleCondition::Stage(crate::pipeline::StageId(g.c.below(2) as u32));
    match kind {
        0 => PolicyRule { on: vec![PolicyEvent::OnCapabilityDelegate], when: vec![RuleCondition::TargetDomain(domain)], then: RuleDecision::Require(String::from("approval")) },
        1 => PolicyRule { on: vec![PolicyEvent::OnSpawn], when: vec![RuleCondition::TargetDomain(domain)], then: RuleDecision::Deny(String::from("no spawns there")) },
        2 => PolicyRule { on: vec![PolicyEvent::OnPipelineStageStart], when: vec![stage(g)], then: derive(g) },
        3 => PolicyRule { on: vec![PolicyEvent::OnPipelineStart], when: vec![RuleCondition::Pipeline(crate::pipeline::PipelineId(1 + g.c.below(3)))], then: derive(g) },
        4 => PolicyRule { on: vec![PolicyEvent::OnPipelineStageStart], when: vec![stage(g)], then: RuleDecision::Deny(String::from("stage denied")) },
        _ => PolicyRule { on: vec![PolicyEvent::OnPipelineStart], when: vec![RuleCondition::ActorDomain(domain)], then: RuleDecision::Require(String::from("supervision")) },
    }
}

/// A derived authority: the capabilities pipelines start with, less one of them, sometimes with
/// 999 (an escalation the enforcement point must refuse).
fn derive(g: &mut Gen<'_>) -> RuleDecision {
    let removed = 1 + g.c.below(3);
    let mut capabilities: Vec<u64> = (1..=3).filter(|c| *c != removed).collect();
    if g.c.below(3) == 0 {
        capabilities.push(999);
    }
    RuleDecision::Derive { capabilities, constraints: Vec::new() }
}

// ----- pipelines ----------------------------------------------------------------------------------

fn pipeline(g: &mut Gen<'_>, index: u64) -> PipelineDecl {
    let n = 1 + g.c.below(3) as usize;
    let schema = |i: usize| PayloadSchemaId::new(format!("p{index}s{i}"));
    let mut spec = PipelineSpec::new(crate::pipeline::PipelineId(0), &format!("pipe{index}"), schema(0), schema(n));
    let mut handlers = Vec::new();
    for i in 0..n {
        let (stage, handler) = stage(g, i, schema(i), schema(i + 1));
        spec = spec.add_stage(stage);
        handlers.push(handler);
    }
    if g.c.below(8) == 0 {
        // A schema chain that does not validate.
        spec.final_output_schema = PayloadSchemaId::new("mismatch");
    }
    if g.flip() {
        spec.timeout_ms = Some(5 + g.upto(20) * 5);
    }
    PipelineDecl { spec, handlers, caps: vec![1, 2, 3] }
}

fn stage(g: &mut Gen<'_>, i: usize, input: PayloadSchemaId, output: PayloadSchemaId) -> (StageSpec, StageHandler) {
    let mut stage = StageSpec::new(&format!("st{i}"), "svc", "act", input, output);
    stage.retry_policy = match g.c.below(3) {
        0 => RetryPolicy::none(),
        1 => RetryPolicy::fixed_retries(1 + g.upto(2) as u32, g.upto(3)),
        _ => RetryPolicy::exponential_backoff(1 + g.upto(2) as u32, 1 + g.upto(2)),
    };
    stage.required_capabilities = (1..=3).filter(|_| g.c.below(5) == 0).collect();
    let duration_ms = g.upto(4);
    stage.timeout_ms = match g.c.below(4) {
        0 => Some(duration_ms),
        1 => Some(g.upto(6)),
        _ => None,
    };
    let outcome = match g.c.below(5) {
        0 | 1 => HandlerOutcome::Succeed,
        2 => HandlerOutcome::FailPermanently(String::from("broken")),
        3 => HandlerOutcome::FailRetryably(String::from("busy")),
        _ => HandlerOutcome::FailTimesThenSucceed { failures: 1 + g.upto(2) as u32, error: String::from("warming up") },
    };
    let produces = (4..=6).filter(|_| g.c.below(3) == 0).collect();
    let storage = g.flip().then(|| StorageUse { kind: [ObjectKind::Blob, ObjectKind::Log, ObjectKind::Map][g.c.index(3)], writes: 1 + g.upto(2) as u32, data: String::from("w") });
    let handler = StageHandler { outcome, produces, cpu_ticks: g.upto(3) * 10, duration_ms, storage };
    (stage, handler)
}

/// Steps starting each pipeline once or twice, by scenario tasks, and sometimes cancelling one.
fn pipeline_steps(g: &mut Gen<'_>, s: &Scenario) -> Vec<Step> {
    let runners: Vec<String> = s.tasks.iter().map(|t| t.name.clone()).collect();
    let mut steps = Vec::new();
    for p in &s.pipelines {
        for _ in 0..1 + g.c.below(2) {
            let task = runners[g.c.index(runners.len())].clone();
            steps.push(Step::new(g.upto(40) * 500_000, StepOp::RunPipeline { task, pipeline: p.spec.name.clone() }));
        }
        if g.c.below(3) == 0 {
            steps.push(Step::new(g.upto(40) * 500_000, StepOp::CancelPipeline { pipeline: p.spec.name.clone(), reason: None }));
        }
    }
    steps
}

// ----- storage ------------------------------------------------------------------------------------

/// Two objects created and committed, then two transactions over them: one writes both, the other
/// writes one and commits first, so the first one's commit meets a conflict (or, in the other
/// order, commits and the second one meets it).
fn storage_steps(g: &mut Gen<'_>, s: &Scenario) -> Vec<Step> {
    let tasks: Vec<String> = s.tasks.iter().map(|t| t.name.clone()).collect();
    let (a, b) = (tasks[g.c.index(tasks.len())].clone(), tasks[g.c.index(tasks.len())].clone());
    let kind = |g: &mut Gen<'_>| [ObjectKind::Blob, ObjectKind::Log, ObjectKind::Map][g.c.index(3)];
    let write = |g: &mut Gen<'_>, object: &str, kind: ObjectKind| match kind {
        ObjectKind::Map => StorageStep::Put { object: object.into(), key: format!("k{}", g.upto(2)), value: String::from("v") },
        _ => StorageStep::Write { object: object.into(), data: format!("d{}", g.upto(9)) },
    };
    let (ka, kb) = (kind(g), kind(g));
    let start = g.upto(20) * 500_000;
    let mut ops: Vec<(String, &str, StorageStep)> = vec![
        (a.clone(), "gs0", StorageStep::Begin),
        (a.clone(), "gs0", StorageStep::Create { object: "gobj0".into(), kind: ka, schema: String::new(), version: 1 }),
        (a.clone(), "gs0", StorageStep::Create { object: "gobj1".into(), kind: kb, schema: String::new(), version: 1 }),
        (a.clone(), "gs0", StorageStep::Commit),
        (a.clone(), "gs1", StorageStep::Begin),
        (a.clone(), "gs1", write(g, "gobj0", ka)),
        (a.clone(), "gs1", write(g, "gobj1", kb)),
        (b.clone(), "gs2", StorageStep::Begin),
        (b.clone(), "gs2", write(g, "gobj1", kb)),
    ];
    let (first, second) = if g.c.below(4) != 0 { ((b.clone(), "gs2"), (a, "gs1")) } else { ((a, "gs1"), (b, "gs2")) };
    let end = if g.c.below(4) != 0 { StorageStep::Commit } else { StorageStep::Rollback };
    ops.push((first.0, first.1, StorageStep::Commit));
    ops.push((second.0, second.1, end));
    ops.into_iter().enumerate().map(|(i, (task, tx, op))| Step::new(start + i as u64 * 1_000, StepOp::Storage { task, tx: tx.into(), op })).collect()
}

// ----- faults -------------------------------------------------------------------------------------

fn authority_faults(g: &mut Gen<'_>, s: &Scenario) -> Vec<AuthorityFault> {
    let mut out = Vec::new();
    let tasks: Vec<String> = s.declared_tasks().into_iter().map(|(_, t)| t.name.clone()).collect();
    let workload_tasks = s.workload.as_ref().map_or(0, |w| w.tasks);
    for _ in 0..1 + g.c.below(3) {
        match g.c.below(4) {
            0 => {
                let task = tasks[g.c.index(tasks.len())].clone();
                let resource = [ResourceKind::MessageCount, ResourceKind::CpuTicks, ResourceKind::StorageOps, ResourceKind::PipelineStages][g.c.index(4)];
                out.push(AuthorityFault::BudgetSqueeze { task, at_ns: g.upto(40) * 500_000, resource, limit: g.upto(5) });
            }
            1 => {
                let policy = match g.c.below(3) {
                    0 => None,
                    1 => Some(PolicySpec::NoOp),
                    _ => Some(composed(g, !s.pipelines.is_empty())),
                };
                out.push(AuthorityFault::PolicySwap { at_ns: g.upto(40) * 500_000, policy });
            }
            2 if !s.pipelines.is_empty() => {
                let p = &s.pipelines[g.c.index(s.pipelines.len())];
                let stage = p.spec.stages[g.c.index(p.spec.stages.len())].name.clone();
                out.push(AuthorityFault::StageFailure { pipeline: p.spec.name.clone(), stage, attempts: 1 + g.upto(2) as u32, permanent: g.flip() });
            }
            _ if workload_tasks > 0 => {
                let task = format!("wl{}", g.c.below(u64::from(workload_tasks)));
                out.push(AuthorityFault::StorageCrash { task, after_writes: 1 + g.upto(4) as u32 });
            }
            _ => {}
        }
    }
    out
}
