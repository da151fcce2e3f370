//! Overnight campaigns: many generated runs in parallel, failures deduplicated by signature, the
//! first of each shrunk and saved as a replayable finding, progress while running, a report at the
//! end; resumable after any kill, shardable across machines, mergeable.
//!
//! - [`shard`]: which seeds a shard runs (`seed = index * N + k`), so shards never overlap and
//!   together cover the seed space in order.
//! - [`run_one`]: one generated run (swarm on by default) with an optional determinism re-check.
//! - [`findings`]: `findings/<signature>/` directories, written atomically: each finding's traces
//!   and shrunk repro, and `finding.json`, a view of the checkpoint.
//! - [`state`]: the checkpointed campaign state (`state.json`): next run index, totals, timeline,
//!   and every finding with its hits. The checkpoint is the one record of what was counted.
//! - [`store`]: atomic writes, stale temporary files removed on start, crash points for the
//!   kill-anywhere test.
//! - [`campaign`]: the batch loop; [`report`]: the campaign's summary, rendered by the `reports`
//!   crate as markdown, HTML with charts, JUnit XML and JSON.

pub mod campaign;
pub mod findings;
pub mod merge;
pub mod report;
pub mod shard;
pub mod state;
pub mod store;

use model::bugs::PlantedBug;
use model::choices::Choices;
use model::generate::{generate, swarm_template, GenConfig};
use model::{RunConfig, RunReport, Scenario};

/// Salt that separates a run's generation choices from its execution choices.
pub const GENERATION_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// What every run of a campaign is generated with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSpec {
    pub swarm: bool,
    pub max_workload_ops: u32,
    pub bugs: Vec<PlantedBug>,
    /// Runs in a thousand re-executed to compare trace hashes.
    pub spot_check_per_mille: u16,
    /// Scenario templates: when given, run `seed` uses template `seed % len` (in swarm mode with a
    /// random subset of its faults and operation kinds) instead of a generated scenario.
    pub templates: Vec<Scenario>,
}

/// What a campaign directory keeps of its [`RunSpec`]: the settings, and of each template only its
/// name and a digest (every session gets the templates from its command line; the digest says
/// whether they are the ones the campaign started with). So `state.json` stays small however
/// large the templates are.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpecRecord {
    pub swarm: bool,
    pub max_workload_ops: u32,
    pub bugs: Vec<PlantedBug>,
    pub spot_check_per_mille: u16,
    pub templates: Vec<TemplateRecord>,
}

/// A template scenario as a campaign directory records it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TemplateRecord {
    pub name: String,
    /// FNV-1a (64 bits, 16 hex digits) of the scenario's JSON encoding.
    pub digest: String,
}

impl TemplateRecord {
    pub fn of(template: &Scenario) -> Self {
        let bytes = serde_json::to_vec(template).unwrap_or_default();
        let digest = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3));
        TemplateRecord { name: template.name.clone(), digest: format!("{digest:016x}") }
    }
}

impl RunSpec {
    /// What a campaign directory keeps of this spec.
    pub fn record(&self) -> SpecRecord {
        SpecRecord {
            swarm: self.swarm,
            max_workload_ops: self.max_workload_ops,
            bugs: self.bugs.clone(),
            spot_check_per_mille: self.spot_check_per_mille,
            templates: self.templates.iter().map(TemplateRecord::of).collect(),
        }
    }

    fn gen_config(&self) -> GenConfig {
        GenConfig { swarm: self.swarm, max_workload_ops: self.max_workload_ops, bugs: self.bugs.clone() }
    }

    /// The scenario of run `seed`.
    pub fn scenario(&self, seed: u64) -> Scenario {
        if self.templates.is_empty() {
            let mut s = generate(&mut Choices::seeded(seed ^ GENERATION_SALT), &self.gen_config());
            s.name = format!("generated-{seed}");
            s.seed = seed;
            return s;
        }
        let template = &self.templates[(seed % self.templates.len() as u64) as usize];
        let s = if self.swarm { swarm_template(template, &mut Choices::seeded(seed ^ GENERATION_SALT)) } else { template.clone() };
        let mut s = s.without_expectations();
        s.name = format!("{}-{seed}", template.name);
        s.seed = seed;
        s.bugs.extend(self.bugs.iter().copied());
        s.limits.stop_on_violation = true;
        s
    }
}

/// What one run showed.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub seed: u64,
    pub events: u64,
    pub invariant_checks: Vec<(String, u64)>,
    /// Operations, fault rules and invariant situations the run exercised.
    pub coverage: reports::coverage::Coverage,
    /// The failure signature, if the run failed.
    pub signature: Option<String>,
    /// The determinism re-check found a different hash (the two hashes).
    pub nondeterministic: Option<(u64, u64)>,
}

/// Runs seed `seed`; re-runs it when the spot check selects it.
pub fn run_one(spec: &RunSpec, seed: u64) -> RunOutcome {
    let scenario = spec.scenario(seed);
    let report: RunReport = model::run(&scenario, &RunConfig::seeded(seed));
    let nondeterministic = spot_checked(seed, spec.spot_check_per_mille).then(|| model::run(&scenario, &RunConfig::seeded(seed)).trace_hash).and_then(|again| (again != report.trace_hash).then_some((report.trace_hash, again)));
    RunOutcome {
        seed,
        events: report.stats.events,
        invariant_checks: report.invariant_checks.clone(),
        coverage: coverage_of(&report),
        signature: report.first_violation().map(|v| v.signature()),
        nondeterministic,
    }
}

/// What one run exercised, in the campaign report's terms.
pub fn coverage_of(report: &RunReport) -> reports::coverage::Coverage {
    let mut c = reports::coverage::Coverage::default();
    for o in &report.operations {
        c.add_operation(&o.op, "Ok", o.ok);
        for (kind, n) in &o.errors {
            c.add_operation(&o.op, kind, *n);
        }
    }
    for r in &report.fault_rules {
        c.add_rule(&r.rule, r.evaluated, r.fired);
    }
    for (id, s) in &report.invariant_situations {
        c.add_situations(id, s);
    }
    c
}

/// Whether `seed` is among the runs re-executed for the determinism spot check.
pub fn spot_checked(seed: u64, per_mille: u16) -> bool {
    let mixed = seed.wrapping_mul(0x2545_f491_4f6c_dd1d).rotate_left(17);
    mixed % 1000 < u64::from(per_mille)
}
