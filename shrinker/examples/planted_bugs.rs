//! Measures shrinking on every planted bug a run can reach: for each, the first failing seed of a
//! random run — `shrinker/tests/data/random_run.ron` for the kernel's bugs; for the authority
//! and resource bugs the first two of `random_authority_run.ron` and of generated runs
//! (`model::generate`), the smallest shrunk result, as in `tests/planted_bugs.rs`; for the
//! networking bugs the first of `random_net_run.ron`, a random network — then events, tasks, steps,
//! faults and choices before and after, executions, slippage and wall-clock time. Prints the table
//! and writes `target/bench-results/shrink.json` (the `report` binary draws it as before/after
//! bars).
//!
//! `cargo run --release -p shrinker --example planted_bugs`

use model::bugs::PlantedBug;
use model::choices::Choices;
use model::generate::{generate, GenConfig};
use model::{RunConfig, Scenario};
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

/// The first `count` seeds in 1..=`last` whose run of `scenario(seed)` fails with the bug's
/// invariant.
fn failing(bug: PlantedBug, count: usize, last: u64, scenario: impl Fn(u64) -> Scenario) -> Vec<(u64, Scenario, Vec<u64>)> {
    (1..=last)
        .filter_map(|seed| {
            let s = scenario(seed);
            let r = model::run(&s, &RunConfig { seed, record_choices: true, ..RunConfig::default() });
            r.first_violation().is_some_and(|v| bug.is_caught_by(&v.invariant)).then(|| (seed, s, r.choices.unwrap_or_default()))
        })
        .take(count)
        .collect()
}

fn load(name: &str) -> Result<Scenario, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    scenarios::load_scenario(&path).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let (kernel_run, authority_run, net_run, desk_run) = match (load("random_run.ron"), load("random_authority_run.ron"), load("random_net_run.ron"), load("random_desk.ron")) {
        (Ok(k), Ok(a), Ok(n), Ok(d)) => (k, a, n, d),
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let with_bug = |base: &Scenario, bug: PlantedBug, seed: u64| Scenario { bugs: vec![bug], seed, ..base.clone() };
    // `PlantedBug::ALL` lists the kernel's own seven bugs first.
    let kernel_bug = |bug: PlantedBug| PlantedBug::ALL[..7].contains(&bug);
    let mut figures = Shrink { rows: Vec::new(), missing: Vec::new() };
    let mut notes = vec!["Steps before = explicit steps + workload operations.".to_string()];
    for bug in PlantedBug::reachable() {
        let mut runs = Vec::new();
        if kernel_bug(bug) {
            runs.extend(failing(bug, 1, 50, |seed| with_bug(&kernel_run, bug, seed)));
        } else if bug.is_network() {
            runs.extend(failing(bug, 1, 50, |seed| with_bug(&net_run, bug, seed)));
        } else if bug.is_interactive() {
            runs.extend(failing(bug, 1, 50, |seed| with_bug(&desk_run, bug, seed)));
        } else {
            runs.extend(failing(bug, 2, 60, |seed| with_bug(&authority_run, bug, seed)));
            runs.extend(failing(bug, 2, 300, |seed| Scenario { seed, ..generate(&mut Choices::seeded(seed), &GenConfig { swarm: true, max_workload_ops: 200, bugs: vec![bug] }) }));
        }
        if runs.is_empty() {
            figures.missing.push(format!("{bug:?}"));
            continue;
        }
        let budget = Budget { max_executions: 20_000, max_time: None };
        let shrunk = runs.into_iter().map(|(seed, scenario, choices)| (seed, shrink(&scenario, choices, seed, budget.clone(), &AtomicBool::new(false), &mut |_| {})));
        let best = shrunk.min_by_key(|(_, r)| r.as_ref().map_or((u64::MAX, u64::MAX), |s| (s.after.parts(), s.after.events)));
        match best {
            Some((seed, Ok(s))) => figures.rows.push(ShrinkRow {
                bug: format!("{bug:?}"),
                seed,
                signature: s.signature.clone(),
                before: size(&s.before, true),
                after: size(&s.after, false),
                executions: s.executions,
                slippage: s.slippage,
                ms: s.elapsed.as_secs_f64() * 1e3,
            }),
            Some((seed, Err(e))) => notes.push(format!("{bug:?} (seed {seed}): the shrink failed: {e}")),
            None => figures.missing.push(format!("{bug:?}")),
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
