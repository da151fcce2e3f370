//! Measures shrinking on every planted bug: for each, the first seed of the random run
//! (`shrinker/tests/data/random_run.ron`) that fails, then events, tasks, steps, faults and choices
//! before and after, executions, slippage and wall-clock time.
//!
//! `cargo run --release -p shrinker --example planted_bugs`

use model::bugs::PlantedBug;
use model::RunConfig;
use shrinker::{shrink, Budget};
use std::path::Path;
use std::sync::atomic::AtomicBool;

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/random_run.ron");
    let base = match scenarios::load_scenario(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    println!("| planted bug | seed | signature | events | tasks | steps | faults | choices | executions | slippage | time |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for bug in PlantedBug::reachable() {
        let mut scenario = base.clone();
        scenario.bugs = vec![bug];
        let failing = (1..=50).find_map(|seed| {
            let r = model::run(&scenario, &RunConfig { seed, record_choices: true, ..RunConfig::default() });
            r.first_violation().is_some_and(|v| bug.is_caught_by(&v.invariant)).then(|| (seed, r.choices.unwrap_or_default()))
        });
        let Some((seed, choices)) = failing else {
            println!("| {bug:?} | no failing seed in 1..=50 | | | | | | | | | |");
            continue;
        };
        let budget = Budget { max_executions: 20_000, max_time: None };
        match shrink(&scenario, choices, seed, budget, &AtomicBool::new(false), &mut |_| {}) {
            Ok(s) => {
                let (b, a) = (s.before, s.after);
                println!(
                    "| {bug:?} | {seed} | `{}` | {} → {} | {} → {} | {} → {} | {} → {} | {} → {} | {} | {} | {:.1} ms |",
                    s.signature, b.events, a.events, b.tasks, a.tasks, b.steps + b.workload_ops, a.steps, b.faults, a.faults, b.choices, a.choices,
                    s.executions, s.slippage, s.elapsed.as_secs_f64() * 1e3
                );
            }
            Err(e) => println!("| {bug:?} | {seed} | error: {e} | | | | | | | | |"),
        }
    }
    println!("\n(steps before = explicit steps + workload operations)");
}
