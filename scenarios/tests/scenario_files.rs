//! The scenario library as a data-driven test suite.
//!
//! Every `scenarios/*.ron` and `scenarios/regressions/*.ron` file must load, meet every
//! expectation it states when run with its own seed, and give the same trace hash twice. The
//! summary and the capability audit log of each library scenario are `insta` snapshots, and so,
//! for the scenarios that use them, are its policy reports, execution traces, resource audit log
//! and storage versions (`render_authority`), so any behaviour change shows up in review. Every `scenarios/regressions/*.trace.ron` (or `.trace`)
//! must replay bit for bit: a shrunk repro dropped into `regressions/` is a regression test that
//! replays exactly, without re-shrinking.

use model::{run, RunConfig};
use scenarios::{load_scenario, load_scenario_with_source, locate_expectations, render_audit, render_summary};
use std::path::{Path, PathBuf};

/// Scenario files (not traces) in `dir` this build runs, sorted by name: those of the other
/// networking path are left to the other configuration (`scenarios::runs_here`).
fn scenario_files(dir: &str) -> Vec<PathBuf> {
    let mut files = all_scenario_files(dir);
    files.retain(|p| scenarios::runs_here(&std::fs::read_to_string(p).unwrap_or_default()));
    files
}

/// Every scenario file (not traces) in `dir`, sorted by name.
fn all_scenario_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "ron") && !p.to_string_lossy().ends_with(".trace.ron"));
    files.sort();
    files
}

/// Seed 001's two configurations split the library: every file runs in the default (canonical)
/// build, in the lite build, or in both, and never in neither. A file this build leaves out must
/// be refused by the loader with a message naming the feature to build with (so the split is the
/// loader's, not only the file names'); every other file loads.
#[test]
fn every_file_is_run_by_one_of_the_two_configurations() {
    let here = model::scenario::NET_PATH;
    let (mut lite, mut canonical) = (0, 0);
    for path in all_scenario_files(".").into_iter().chain(all_scenario_files("regressions")) {
        let text = std::fs::read_to_string(&path).expect("readable");
        let needs = scenarios::required_net_path(&text);
        let has = |field: &str| text.lines().any(|l| l.trim_start().starts_with(field));
        assert!(!(has("lite_network:") && has("network:")), "{}: both networking paths; no build runs it", path.display());
        match needs {
            Some(p) if p != here => {
                let e = scenarios::load_scenario(&path).expect_err("a file of the other networking path is refused");
                let feature = if p == "net-bringup-lite" { "--features net-bringup-lite" } else { "default build" };
                assert!(e.to_string().contains(feature), "{}: the refusal names how to build for it: {e}", path.display());
            }
            _ => {
                scenarios::load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        lite += usize::from(needs == Some("net-bringup-lite"));
        canonical += usize::from(needs == Some("net-canonical"));
    }
    assert!(lite >= 6 && canonical >= 6, "both configurations have their network scenarios ({lite} lite, {canonical} canonical)");
}

fn trace_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        let name = p.to_string_lossy();
        name.ends_with(".trace.ron") || name.ends_with(".trace")
    });
    files.sort();
    files
}

fn name(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Runs one file: expectations met, deterministic; returns the report.
fn check_file(path: &Path) -> model::RunReport {
    let (scenario, source) = load_scenario_with_source(path).unwrap_or_else(|e| panic!("{e}"));
    let mut report = run(&scenario, &RunConfig::seeded(scenario.seed));
    locate_expectations(&mut report, &source);
    let shown = path.display().to_string();
    assert!(report.passed(), "{}", scenarios::render_unmet(&report, &shown));
    let again = run(&scenario, &RunConfig::seeded(scenario.seed));
    assert_eq!(report.trace_hash, again.trace_hash, "{}: not deterministic", path.display());
    report
}

#[test]
fn library_scenarios_meet_their_expectations_and_match_snapshots() {
    let files = scenario_files(".");
    assert!(files.iter().any(|p| name(p).starts_with("net_")), "this build runs its network scenarios");
    assert!(files.len() >= 10, "expected at least 10 scenario files, found {}", files.len());
    for path in files {
        let report = check_file(&path);
        let shown = format!("scenarios/{}.ron", name(&path));
        insta::assert_snapshot!(format!("summary_{}", name(&path)), render_summary(&report, &shown));
        insta::assert_snapshot!(format!("audit_{}", name(&path)), render_audit(&report));
        if let Some(authority) = scenarios::render_authority(&report) {
            insta::assert_snapshot!(format!("authority_{}", name(&path)), authority);
        }
        if let Some(interactive) = scenarios::render_interactive(&report) {
            insta::assert_snapshot!(format!("interactive_{}", name(&path)), interactive);
        }
        if let Some(network) = scenarios::render_network(&report) {
            insta::assert_snapshot!(format!("network_{}", name(&path)), network);
        }
    }
}

#[test]
fn regression_scenarios_still_fail_as_recorded() {
    for path in scenario_files("regressions") {
        match sibling_trace(&path) {
            Some(trace) => check_with_recorded_choices(&path, &trace),
            None => {
                check_file(&path);
            }
        }
    }
}

/// `x.trace.ron` (or `x.trace`) beside `x.ron`: a repro that needs its recorded choices.
fn sibling_trace(scenario: &Path) -> Option<PathBuf> {
    let stem = scenario.with_extension("");
    ["trace.ron", "trace"].iter().map(|ext| stem.with_extension(ext)).find(|p| p.exists())
}

/// Runs the scenario file with the choices recorded in its trace: expectations met, every time.
fn check_with_recorded_choices(path: &Path, trace_path: &Path) {
    let scenario = load_scenario(path).unwrap_or_else(|e| panic!("{e}"));
    let trace = replay::files::read_trace(trace_path).unwrap_or_else(|e| panic!("{e}"));
    let config = RunConfig { replay_choices: Some(trace.choices()), ..RunConfig::seeded(trace.seed) };
    let report = run(&scenario, &config);
    let unmet: Vec<_> = report.expectations.iter().filter(|e| !e.met).collect();
    assert!(unmet.is_empty(), "{} with the choices of {}: unmet expectations {unmet:#?}", path.display(), trace_path.display());
    assert_eq!(report.trace_hash, run(&scenario, &config).trace_hash, "{}: not deterministic", path.display());
}

#[test]
fn regression_traces_replay_exactly() {
    for path in trace_files("regressions") {
        let trace = replay::files::read_trace(&path).unwrap_or_else(|e| panic!("{e}"));
        let report = replay::replay(&trace, 3).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(report.confirmed(), "{}: {:?}", path.display(), report.divergence);
    }
}

#[test]
fn every_scenario_survives_the_binary_and_tree_encodings() {
    // kernel_bare receives scenarios in postcard; the shrinker edits them as JSON trees.
    for path in scenario_files(".").into_iter().chain(scenario_files("regressions")) {
        let scenario = load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
        let bytes = postcard::to_allocvec(&scenario).expect("postcard encodes");
        let back: model::Scenario = postcard::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(back, scenario, "{}: postcard", path.display());
        let tree: model::Scenario = serde_json::from_value(serde_json::to_value(&scenario).expect("JSON")).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(tree, scenario, "{}: JSON", path.display());
    }
}

#[test]
fn every_library_scenario_records_a_trace_that_replays() {
    // Steps that block, spawn or only query, and runs with a watch, replay bit for bit too.
    for path in scenario_files(".") {
        let scenario = load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
        if scenario.workload.as_ref().is_some_and(|w| w.ops > 1_000) {
            continue; // the big random workloads are replayed by the replay crate's own tests
        }
        let (trace, _) = replay::record(&scenario, scenario.seed);
        let report = replay::replay(&trace, 1).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(report.confirmed(), "{}: {:?}", path.display(), report.divergence);
    }
}

/// Issue 15's rule: a fault rule that never fires tests nothing, so every message-fault rule and
/// input fault a library scenario declares fires at the file's own seed, or the file says so
/// deliberately with an `expect.rules` (`expect.interactive.input_rules`) entry that admits zero
/// firings (and a comment on why the rule is there).
#[test]
fn every_fault_rule_fires_or_the_file_says_why_not() {
    let mut silent = Vec::new();
    for path in scenario_files(".").into_iter().chain(scenario_files("regressions")) {
        let scenario = load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
        let report = run(&scenario, &RunConfig::seeded(scenario.seed));
        for (i, counts) in report.fault_rules.iter().enumerate() {
            let declared_silent = scenario.expect.rules.iter().any(|r| r.rule as usize == i && r.fired.admits(0));
            if counts.fired == 0 && !declared_silent {
                silent.push(format!("{}: rule {i} ({}) never fires ({} evaluations)", path.display(), counts.rule, counts.evaluated));
            }
        }
        // Input faults likewise, with `expect.interactive.input_rules`.
        for (i, counts) in report.interactive.iter().flat_map(|w| w.input_fault_rules.iter()).enumerate() {
            let declared_silent = scenario.expect.interactive.input_rules.iter().any(|r| r.rule as usize == i && r.fired.admits(0));
            if counts.fired == 0 && !declared_silent {
                silent.push(format!("{}: input fault {i} ({}) never fires ({} evaluations)", path.display(), counts.rule, counts.evaluated));
            }
        }
    }
    assert!(silent.is_empty(), "fault rules that never fire and say nothing about it:\n{}", silent.join("\n"));
}
