//! The run plan shared by the image's build script and the host-side runner (host code, `std`):
//! which (scenario, seed) pairs and which traces the bare-metal image runs. Both sides derive it
//! from the same files with this one function, so the runner knows exactly what the image ran.

use model::trace::Trace;
use model::Scenario;
use std::path::{Path, PathBuf};

/// Seeds per scenario file: the scenario's declared seed and the next ones.
pub const SEEDS_PER_SCENARIO: u64 = 5;

/// The plan: seeded runs and traces to replay.
pub struct Plan {
    /// `(scenario file stem, scenario, seeds)`.
    pub seeded: Vec<(String, Scenario, Vec<u64>)>,
    /// `(trace name, trace)`: every planted-bug scenario recorded at its declared seed, and every
    /// trace file (`*.trace.ron`, `*.trace`, `*.pgtrace`) under the scenarios directory.
    pub traces: Vec<(String, Trace)>,
}

fn sorted_files(dir: &Path, keep: &dyn Fn(&str) -> bool, recursive: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if recursive {
                out.extend(sorted_files(&path, keep, true));
            }
        } else if path.file_name().and_then(|n| n.to_str()).is_some_and(keep) {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn is_trace_file(name: &str) -> bool {
    name.ends_with(".trace.ron") || name.ends_with(".trace") || name.ends_with(".pgtrace")
}

/// Every scenario file read by the plan (for `cargo:rerun-if-changed`).
pub fn input_files(scenarios_dir: &Path) -> Vec<PathBuf> {
    let mut files = sorted_files(scenarios_dir, &|n| n.ends_with(".ron") && !is_trace_file(n), false);
    files.extend(sorted_files(scenarios_dir, &is_trace_file, true));
    files
}

/// Builds the plan from `scenarios_dir` (the repository's `scenarios/`).
pub fn build(scenarios_dir: &Path) -> Result<Plan, String> {
    let mut seeded = Vec::new();
    let mut traces = Vec::new();
    for path in sorted_files(scenarios_dir, &|n| n.ends_with(".ron") && !is_trace_file(n), false) {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
        if !scenarios::runs_here(&std::fs::read_to_string(&path).unwrap_or_default()) {
            continue; // a file of the other networking path (the bring-up lite scenarios)
        }
        let scenario = scenarios::load_scenario(&path).map_err(|e| e.to_string())?;
        let seeds: Vec<u64> = (0..SEEDS_PER_SCENARIO).map(|i| scenario.seed.wrapping_add(i)).collect();
        if stem.starts_with("bug_") {
            let (trace, _) = replay::record(&scenario, scenario.seed);
            traces.push((format!("{stem}@{}", scenario.seed), trace.compact()));
        }
        seeded.push((stem, scenario, seeds));
    }
    for path in sorted_files(scenarios_dir, &is_trace_file, true) {
        let trace = replay::files::read_trace(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.strip_prefix(scenarios_dir).unwrap_or(&path).display().to_string();
        traces.push((name, trace.compact()));
    }
    Ok(Plan { seeded, traces })
}

/// The blob embedded in the image: postcard of `(seeded, traces as binary trace files)`.
pub fn encode(plan: &Plan) -> Vec<u8> {
    let traces: Vec<(String, Vec<u8>)> = plan.traces.iter().map(|(n, t)| (n.clone(), t.to_binary())).collect();
    postcard::to_allocvec(&(&plan.seeded, &traces)).expect("plan encodes")
}
