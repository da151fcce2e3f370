//! Campaign reports, written atomically into the campaign directory by the `reports` crate:
//! `report.md`, a self-contained `report.html` with SVG charts (findings and runs per second over
//! time, events per run, invariant check counts, shrink before and after), `junit.xml` for CI
//! systems (one failing test case per signature) and `summary.json`. This module turns the
//! campaign's state and findings into the [`CampaignSummary`] the renderer reads.

use crate::findings::Finding;
use crate::state::CampaignState;
use reports::campaign::{CampaignSummary, EventsBucket, EventsPercentiles, FindingSummary};
use std::collections::BTreeMap;
use std::path::Path;

/// Events-per-run percentiles (p50, p90, p99, max).
pub fn events_percentiles(state: &CampaignState) -> [u64; 4] {
    let h = &state.events_per_run;
    [h.value_at_quantile(0.5), h.value_at_quantile(0.9), h.value_at_quantile(0.99), h.max()]
}

fn finding_summary(dir: &Path, f: &Finding) -> FindingSummary {
    let shrunk = f.shrunk.clone();
    FindingSummary { signature: f.signature.clone(), first_seed: f.first_seed, first_seen_s: f.first_seen_s, last_seen_s: f.last_seen_s, hits: f.hits, shrunk, repro: f.repro_command(dir) }
}

/// What the reports show; repro commands name files under `dir` as the user gave it.
pub fn summary(dir: &Path, state: &CampaignState, findings: &BTreeMap<String, Finding>) -> CampaignSummary {
    let t = state.elapsed_s.max(1e-9);
    let [p50, p90, p99, max] = events_percentiles(state);
    let spec = &state.spec;
    CampaignSummary {
        shard: state.shards(),
        runs: state.runs,
        next_index: state.next_index,
        events: state.events,
        elapsed_s: state.elapsed_s,
        runs_per_s: state.runs as f64 / t,
        events_per_s: state.events as f64 / t,
        failing_runs: state.failing_runs,
        spot_checks: state.spot_checks,
        settings: format!("swarm {}, workload up to {} ops, planted bugs {:?}, {} templates", spec.swarm, spec.max_workload_ops, spec.bugs, spec.templates.len()),
        events_per_run: EventsPercentiles { p50, p90, p99, max },
        events_buckets: state.events_log2.iter().enumerate().filter(|(_, n)| **n > 0).map(|(b, n)| EventsBucket { from: 1 << b, to: (1u64 << b).saturating_mul(2) - 1, runs: *n }).collect(),
        findings: findings.values().map(|f| finding_summary(dir, f)).collect(),
        invariant_checks: state.invariant_checks.clone(),
        timeline: state.timeline.clone(),
        coverage: state.coverage.clone(),
    }
}

/// Writes every report file (of the state's findings).
pub fn write_all(dir: &Path, state: &CampaignState) -> Result<(), String> {
    reports::campaign::write_all(dir, &summary(dir, state, &state.findings))
}
