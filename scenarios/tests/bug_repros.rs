//! The hand-written minimal reproductions of the planted bugs (`scenarios/bug_<name>.ron`).
//!
//! Every planted bug a run can reach has one, and each
//! - switches on exactly its bug and expects the bug's first `caught_by` invariant;
//! - fails with that invariant under its own seed;
//! - passes (no violation) with the bug removed, so the file shows the bug and nothing else.
//!
//! `shrinker/tests/planted_bugs.rs` measures shrinking against these files.

use model::bugs::PlantedBug;
use model::scenario::ExpectedVerdict;
use model::{run, RunConfig, Scenario};
use std::path::{Path, PathBuf};

/// `BudgetCheckedAfterConsume` -> `budget_checked_after_consume`.
fn snake(bug: PlantedBug) -> String {
    let mut out = String::new();
    for (i, c) in format!("{bug:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn repro_path(bug: PlantedBug) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("bug_{}.ron", snake(bug)))
}

fn repro_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(env!("CARGO_MANIFEST_DIR"))
        .expect("the scenarios folder lists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("bug_")) && p.extension().is_some_and(|e| e == "ron"))
        // The network bugs' repros need the canonical path: a lite build neither reaches nor runs them.
        .filter(|p| scenarios::runs_here(&std::fs::read_to_string(p).unwrap_or_default()))
        .collect();
    files.sort();
    files
}

#[test]
fn every_reachable_planted_bug_has_a_repro_file() {
    let missing: Vec<String> = PlantedBug::reachable().map(repro_path).filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
    assert!(missing.is_empty(), "missing minimal reproductions: {missing:?}");
    assert_eq!(repro_files().len(), PlantedBug::reachable().count(), "a bug_*.ron file per reachable planted bug, no others");
}

#[test]
fn each_repro_fails_with_its_bug_and_passes_without_it() {
    for path in repro_files() {
        let shown = path.display().to_string();
        let scenario = scenarios::load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
        let [bug] = scenario.bugs[..] else { panic!("{shown}: expected exactly one planted bug, found {:?}", scenario.bugs) };
        assert_eq!(path, repro_path(bug), "{shown} switches on {bug:?}");
        let invariant = bug.caught_by()[0];
        assert_eq!(scenario.expect.verdict, ExpectedVerdict::Violation(invariant.into()), "{shown}: expected verdict");
        let report = run(&scenario, &RunConfig::seeded(scenario.seed));
        assert_eq!(report.first_violation().map(|v| v.invariant.as_str()), Some(invariant), "{shown}: first violation");
        assert!(report.passed(), "{}", scenarios::render_unmet(&report, &shown));
        let fixed = Scenario { bugs: Vec::new(), ..scenario.clone().without_expectations() };
        for seed in [scenario.seed, 1, 2, 3] {
            let report = run(&fixed, &RunConfig::seeded(seed));
            assert!(report.first_violation().is_none(), "{shown} without {bug:?}, seed {seed}: {:?}", report.first_violation());
        }
    }
}
