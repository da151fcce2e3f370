//! Throughput of generated campaign runs on 1 and 2 threads: runs/s and events/s, and the
//! distribution of wall-clock time per run (hdrhistogram). Target: 2 threads at least 1.8× the
//! runs per second of 1.

use crate::harness::{latency_ms, micros, Mode};
use campaign::{run_one, RunSpec};
use rayon::prelude::*;
use reports::results::{BenchResult, Check, Figures, Target, ThreadRun, Throughput};
use std::time::Instant;

fn on_threads(spec: &RunSpec, runs: u64, threads: usize) -> Result<ThreadRun, String> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| format!("cannot start {threads} threads: {e}"))?;
    let start = Instant::now();
    let (events, hist) = pool.install(|| {
        (0..runs)
            .into_par_iter()
            .map(|seed| {
                let t = Instant::now();
                let o = run_one(spec, seed);
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
    let wall_s = start.elapsed().as_secs_f64().max(1e-9);
    Ok(ThreadRun { threads, wall_s, runs_per_s: runs as f64 / wall_s, events_per_s: events as f64 / wall_s, run_time: latency_ms(&hist) })
}

/// Runs the benchmark.
pub fn run(mode: &Mode) -> Result<BenchResult, String> {
    let spec = RunSpec { swarm: true, max_workload_ops: 400, bugs: vec![], spot_check_per_mille: 0, templates: vec![] };
    let runs = mode.pick(20_000, 200);
    let mut threads = Vec::new();
    for n in [1usize, 2] {
        eprintln!("{runs} generated runs on {n} thread(s)");
        threads.push(on_threads(&spec, runs, n)?);
    }
    let ratio = threads[1].runs_per_s / threads[0].runs_per_s.max(1e-9);
    let mut result = BenchResult::new("throughput", mode.quick, Figures::Throughput(Throughput { runs, threads }));
    if !mode.quick {
        result.checks.push(Check::new("runs/s on 2 threads ÷ 1 thread", ratio, Target::AtLeast(1.8), "ratio"));
    }
    if result.cpus < 2 {
        result.notes.push("Fewer than 2 CPUs: the 2-thread figure cannot scale.".into());
    }
    Ok(result)
}
