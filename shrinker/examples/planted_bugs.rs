//! Measures shrinking on every planted bug: for each, the first seed of the random run
//! (`shrinker/tests/data/random_run.ron`; `random_net_run.ron`, a random network, for the
//! networking bugs) that fails, then events, tasks, steps, faults and choices
//! before and after, executions, slippage and wall-clock time. Prints the table and writes
//! `target/bench-results/shrink.json` (the `report` binary draws it as before/after bars).
//!
//! `cargo run --release -p shrinker --example planted_bugs`

use model::bugs::PlantedBug;
use model::RunConfig;
use reports::results::{BenchResult, Figures, Shrink, ShrinkRow, ShrinkSize};
use shrinker::size::Size;
use shrinker::{shrink, Budget};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

fn size(s: &Size, with_workload: bool) -> ShrinkSize {
    let steps = if with_workload { s.steps + s.workload_ops } else { s.steps };
    ShrinkSize { events: s.events, tasks: s.tasks, steps, faults: s.faults, choices: s.choices }
}

fn main() -> ExitCode {
    let load = |name: &str| scenarios::load_scenario(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name));
    let (base, net_base) = match (load("random_run.ron"), load("random_net_run.ron")) {
        (Ok(s), Ok(n)) => (s, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut figures = Shrink { rows: Vec::new(), missing: Vec::new() };
    let mut notes = vec!["Steps before = explicit steps + workload operations.".to_string()];
    for bug in PlantedBug::reachable() {
        let mut scenario = if bug.is_network() { net_base.clone() } else { base.clone() };
        scenario.bugs = vec![bug];
        let failing = (1..=50).find_map(|seed| {
            let r = model::run(&scenario, &RunConfig { seed, record_choices: true, ..RunConfig::default() });
            r.first_violation().is_some_and(|v| bug.is_caught_by(&v.invariant)).then(|| (seed, r.choices.unwrap_or_default()))
        });
        let Some((seed, choices)) = failing else {
            figures.missing.push(format!("{bug:?}"));
            continue;
        };
        let budget = Budget { max_executions: 20_000, max_time: None };
        match shrink(&scenario, choices, seed, budget, &AtomicBool::new(false), &mut |_| {}) {
            Ok(s) => figures.rows.push(ShrinkRow {
                bug: format!("{bug:?}"),
                seed,
                signature: s.signature.clone(),
                before: size(&s.before, true),
                after: size(&s.after, false),
                executions: s.executions,
                slippage: s.slippage,
                ms: s.elapsed.as_secs_f64() * 1e3,
            }),
            Err(e) => notes.push(format!("{bug:?} (seed {seed}): the shrink failed: {e}")),
        }
    }
    let mut result = BenchResult::new("shrink", false, Figures::Shrink(figures));
    result.notes = notes;
    print!("{}", result.text());
    match result.write(&reports::results::results_dir()) {
        Ok(path) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
