//! Recording and replay on the reference workload: events per second of a plain run, of a
//! streamed recording (`replay::files::record_to_file`) and of a streamed replay
//! (`replay::files::replay_file`); bytes per event of the trace files as `scenario --record`
//! writes them (binary and text); and the peak resident set of `scenario --record` recording the whole workload,
//! measured in a child process (the `peak_rss` helper waits for it and reads its `getrusage`
//! maximum). Targets: at most 32 bytes per event in the binary trace, under 100 MB peak RSS.

use crate::harness::{workspace_root, Mode};
use crate::ring::Ring;
use model::{RunConfig, Scenario};
use reports::results::{BenchResult, Check, Figures, PeakRss, Recording, Target};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed().as_secs_f64().max(1e-9))
}

fn file_size(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path).map(|m| m.len()).map_err(|e| format!("{}: {e}", path.display()))
}

/// What `peak_rss` prints.
#[derive(Deserialize)]
struct RssOutput {
    max_rss_bytes: u64,
    wall_s: f64,
    success: bool,
}

/// Builds the `scenario` binary (release) and returns its path.
fn scenario_binary() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "--release", "--quiet", "-p", "scenarios", "--bin", "scenario"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("`cargo build --release --bin scenario` failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    Ok(target.join("release").join("scenario"))
}

/// The peak RSS of `scenario --record` recording `file` into `dir`.
fn peak_rss(helper: &Path, file: &Path, dir: &Path, events: u64) -> Result<PeakRss, String> {
    let scenario = scenario_binary()?;
    let trace = dir.join("long.trace");
    let out = Command::new(helper)
        .arg(&scenario)
        .arg(file)
        .arg("--record")
        .arg(&trace)
        .output()
        .map_err(|e| format!("cannot run peak_rss: {e}"))?;
    let rss: RssOutput = serde_json::from_slice(&out.stdout).map_err(|e| format!("peak_rss printed no result ({e}): {}", String::from_utf8_lossy(&out.stderr).trim()))?;
    if !rss.success {
        return Err(format!("`scenario --record` failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(PeakRss { command: "scenario benches/workloads/reference.ron --record FILE.trace".into(), events, bytes: rss.max_rss_bytes, wall_s: rss.wall_s })
}

fn load(mode: &Mode, file: &Path) -> Result<Scenario, String> {
    if mode.quick {
        Ring::reference_with(300).scenario()
    } else {
        scenarios::load_scenario(file).map_err(|e| e.to_string())
    }
}

/// Runs the benchmark.
pub fn run(mode: &Mode) -> Result<BenchResult, String> {
    let file = workspace_root().join("benches/workloads/reference.ron");
    let scenario = load(mode, &file)?;
    let seed = scenario.seed;
    eprintln!("plain run, recording, replay of {}", scenario.name);
    let (plain, plain_s) = timed(|| model::run(&scenario, &RunConfig::seeded(seed)));
    let events = plain.stats.events;
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let (binary, text) = (dir.path().join("run.trace"), dir.path().join("run.trace.ron"));
    let (recorded, record_s) = timed(|| replay::files::record_to_file(&binary, &scenario, seed));
    if recorded.map_err(|e| e.to_string())?.report.trace_hash != plain.trace_hash {
        return Err("the recorded run differs from the plain run".into());
    }
    let (replayed, replay_s) = timed(|| replay::files::replay_file(&binary, 3));
    if !replayed.map_err(|e| e.to_string())?.confirmed() {
        return Err("the recorded trace does not replay".into());
    }
    eprintln!("writing the text trace");
    replay::files::record_to_file(&text, &scenario, seed).map_err(|e| e.to_string())?;
    let mut notes = Vec::new();
    let peak = match (&mode.peak_rss, mode.quick) {
        (_, true) => {
            notes.push("Peak RSS not measured in quick mode.".into());
            None
        }
        (None, false) => {
            notes.push("Peak RSS not measured: no peak_rss helper (run the bench target).".into());
            None
        }
        (Some(helper), false) => {
            eprintln!("peak RSS of scenario --record in a child process");
            Some(peak_rss(helper, &file, dir.path(), events)?)
        }
    };
    let figures = Recording {
        scenario: scenario.name.clone(),
        events,
        plain_events_per_s: events as f64 / plain_s,
        record_events_per_s: events as f64 / record_s,
        replay_events_per_s: events as f64 / replay_s,
        binary_bytes: file_size(&binary)?,
        compact_binary_bytes: file_size(&binary)?,
        text_bytes: file_size(&text)?,
        peak_rss: peak,
    };
    let mut checks = vec![Check::new("binary trace bytes per event", figures.bytes_per_event(figures.binary_bytes), Target::AtMost(32.0), "bytes/event")];
    if let Some(p) = &figures.peak_rss {
        checks.push(Check::new(format!("peak RSS recording {} events", reports::numbers::si(p.events as f64)), p.bytes as f64, Target::AtMost(100e6), "bytes"));
    }
    if let Some(p) = &figures.peak_rss {
        notes.push(format!("Peak RSS: `{}` run as a child process, its maximum resident set from getrusage.", p.command));
    }
    notes.push("The binary trace is the file `scenario --record FILE.trace` streams to disk as the run goes (per event: time, choices, digest; descriptions are derived by re-execution); recording and replay are timed on that file (`record_to_file`, `replay_file`).".into());
    let mut result = BenchResult::new("recording", mode.quick, Figures::Recording(figures));
    result.checks = checks;
    result.notes = notes;
    Ok(result)
}
