//! Time to find each planted bug: for each bug, short campaigns over disjoint seed ranges
//! (shards `0..trials` of `trials`) run until the bug's first finding; the distribution of
//! runs-to-find and of wall-clock time-to-find (hdrhistogram), on all cores.

use crate::harness::{latency_ms, micros, Mode};
use campaign::{run_one, RunSpec};
use hdrhistogram::Histogram;
use model::bugs::PlantedBug;
use rayon::prelude::*;
use reports::results::{BenchResult, BugFind, Figures, TimeToFind};
use std::time::Instant;

const BATCH: u64 = 16;

/// Runs shard `trial` of `trials` in parallel batches until a run is caught; returns runs needed.
fn runs_to_find(bug: PlantedBug, trial: u64, trials: u64, max_runs: u64) -> Option<u64> {
    let spec = RunSpec { swarm: true, max_workload_ops: 400, bugs: vec![bug], spot_check_per_mille: 0, templates: vec![] };
    (0..max_runs).step_by(BATCH as usize).find_map(|first| {
        let hits: Vec<u64> = (first..first + BATCH).into_par_iter().filter(|i| run_one(&spec, i * trials + trial).signature.is_some_and(|s| bug.is_caught_by(s.split('@').next().unwrap_or("")))).collect();
        hits.into_iter().min().map(|i| i + 1)
    })
}

fn find(bug: PlantedBug, trials: u64, max_runs: u64) -> Result<BugFind, String> {
    let mut time = micros();
    let mut runs = Histogram::<u64>::new(3).map_err(|e| e.to_string())?;
    let mut found = 0;
    for trial in 0..trials {
        let start = Instant::now();
        if let Some(n) = runs_to_find(bug, trial, trials, max_runs) {
            found += 1;
            let _ = time.record((start.elapsed().as_micros() as u64).max(1));
            let _ = runs.record(n);
        }
    }
    Ok(BugFind { bug: format!("{bug:?}"), found, runs_p50: runs.value_at_quantile(0.5), runs_max: runs.max(), time: latency_ms(&time) })
}

/// Runs the benchmark.
pub fn run(mode: &Mode) -> Result<BenchResult, String> {
    let (trials, max_runs) = mode.pick((20, 5_000), (2, 32));
    let mut bugs = Vec::new();
    for bug in PlantedBug::reachable() {
        eprintln!("{bug:?}: {trials} campaigns");
        bugs.push(find(bug, trials, max_runs)?);
    }
    Ok(BenchResult::new("time_to_find", mode.quick, Figures::TimeToFind(TimeToFind { trials, max_runs, bugs })))
}
