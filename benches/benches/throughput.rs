//! Throughput of generated campaign runs on 1 and 2 threads: runs/s and events/s, plus the
//! distribution of wall-clock time per run (hdrhistogram), and the default scenario's events/s.
//!
//! `cargo bench -p benches --bench throughput` (release). Figures are ratios measured in one run.

use benches::{micros, percentiles_ms};
use campaign::{run_one, RunSpec};
use rayon::prelude::*;
use std::time::Instant;

const RUNS: u64 = 20_000;

fn main() {
    let spec = RunSpec { swarm: true, max_workload_ops: 400, bugs: vec![], spot_check_per_mille: 0, templates: vec![] };
    let mut base = None;
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        let start = Instant::now();
        let (events, hist) = pool.install(|| {
            (0..RUNS)
                .into_par_iter()
                .map(|seed| {
                    let t = Instant::now();
                    let o = run_one(&spec, seed);
                    (o.events, t.elapsed().as_micros() as u64)
                })
                .fold(
                    || (0u64, micros()),
                    |(e, mut h), (ev, us)| {
                        let _ = h.record(us.max(1));
                        (e + ev, h)
                    },
                )
                .reduce(
                    || (0u64, micros()),
                    |(a, mut ha), (b, hb)| {
                        let _ = ha.add(&hb);
                        (a + b, ha)
                    },
                )
        });
        let secs = start.elapsed().as_secs_f64();
        let runs_s = RUNS as f64 / secs;
        let ratio = base.map_or(String::new(), |b: f64| format!(" ({:.2}x the 1-thread rate)", runs_s / b));
        base.get_or_insert(runs_s);
        println!("{threads} thread(s): {RUNS} generated runs in {secs:.2} s: {runs_s:.0} runs/s, {:.0} events/s{ratio}", events as f64 / secs);
        println!("  time per run: {}", percentiles_ms(&hist));
    }
}
