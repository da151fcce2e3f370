//! The determinism check: the same scenario and seed must give the same trace hash and the same
//! counters on every run. The binary's `--check-determinism` runs twice and compares.

use model::{run, RunConfig, RunReport, Scenario};
use serde::Serialize;

/// The outcome of comparing runs of one (scenario, seed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeterminismCheck {
    /// How many runs were compared.
    pub runs: u32,
    /// The trace hash of each run, as 16 hex digits.
    pub trace_hashes: Vec<String>,
    /// Whether every run had the same counters.
    pub stats_match: bool,
    /// Whether the runs agree (same hash and same counters).
    pub ok: bool,
}

/// Compares two reports of the same (scenario, seed).
pub fn compare_runs(first: &RunReport, second: &RunReport) -> DeterminismCheck {
    let stats_match = first.stats == second.stats;
    DeterminismCheck {
        runs: 2,
        trace_hashes: vec![first.trace_hash_hex(), second.trace_hash_hex()],
        stats_match,
        ok: stats_match && first.trace_hash == second.trace_hash,
    }
}

/// Runs `scenario` again with `first.seed` and compares the new run with `first`.
pub fn check_against(scenario: &Scenario, first: &RunReport) -> DeterminismCheck {
    let second = run(scenario, &RunConfig::seeded(first.seed));
    compare_runs(first, &second)
}

/// One line describing the check, e.g. `determinism: ok (2 runs, hash 0123456789abcdef)`.
pub fn render_check(check: &DeterminismCheck) -> String {
    let first = check.trace_hashes.first().map_or("-", String::as_str);
    if check.ok {
        return format!("determinism: ok ({} runs, hash {first})", check.runs);
    }
    let hashes = check.trace_hashes.iter().enumerate().map(|(i, h)| format!("run {}: {h}", i + 1));
    let stats = if check.stats_match { "counters equal" } else { "counters differ" };
    format!("determinism: MISMATCH ({}; {stats})", hashes.collect::<Vec<_>>().join(", "))
}
