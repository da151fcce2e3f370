//! Time to find each planted bug: for each bug, 20 short campaigns over disjoint seed ranges
//! (shards 0..20 of 20) run until the bug's first finding; the distribution of runs-to-find and of
//! wall-clock time-to-find (hdrhistogram), on all cores.
//!
//! `cargo bench -p benches --bench time_to_find` (release).

use benches::{micros, percentiles_ms};
use campaign::{run_one, RunSpec};
use hdrhistogram::Histogram;
use model::bugs::PlantedBug;
use rayon::prelude::*;
use std::time::Instant;

const TRIALS: u64 = 20;
const MAX_RUNS: u64 = 5_000;
const BATCH: u64 = 16;

/// Runs shard `trial` of `TRIALS` in parallel batches until a run is caught; returns runs needed.
fn runs_to_find(bug: PlantedBug, trial: u64) -> Option<u64> {
    let spec = RunSpec { swarm: true, max_workload_ops: 400, bugs: vec![bug], spot_check_per_mille: 0, templates: vec![] };
    (0..MAX_RUNS).step_by(BATCH as usize).find_map(|first| {
        let hits: Vec<u64> = (first..first + BATCH)
            .into_par_iter()
            .filter(|i| run_one(&spec, i * TRIALS + trial).signature.is_some_and(|s| bug.is_caught_by(s.split('@').next().unwrap_or(""))))
            .collect();
        hits.into_iter().min().map(|i| i + 1)
    })
}

fn main() {
    println!("| planted bug | found | runs to find (p50 / max) | time to find |");
    println!("|---|---|---|---|");
    for bug in PlantedBug::reachable() {
        let mut time = micros();
        let mut runs = Histogram::<u64>::new(3).expect("histogram");
        let mut found = 0;
        for trial in 0..TRIALS {
            let start = Instant::now();
            if let Some(n) = runs_to_find(bug, trial) {
                found += 1;
                let _ = time.record((start.elapsed().as_micros() as u64).max(1));
                let _ = runs.record(n);
            }
        }
        println!("| {bug:?} | {found}/{TRIALS} | {} / {} | {} |", runs.value_at_quantile(0.5), runs.max(), percentiles_ms(&time));
    }
}
