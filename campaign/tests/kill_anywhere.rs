//! The kill-anywhere test: a campaign killed at any instant and resumed ends with exactly the
//! result of an uninterrupted one — the same runs, totals, findings, hits, shrinks and files —
//! and leaves no temporary file behind. Wall-clock fields (elapsed time, first and last seen,
//! the timeline, throughput) are the only difference allowed.
//!
//! Deterministic part: the hidden `--crash-at N` ends the process at its N-th crash point (before,
//! inside and after every file write, including the checkpoint, and inside every shrink), for
//! every N until a session runs through; each crashed directory is resumed once more with a crash
//! at the same N (a kill during the resume), then to the end. Then real `kill -9`s at ten instants
//! spread evenly over a longer campaign's uninterrupted duration.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const CAMPAIGN: &str = env!("CARGO_BIN_EXE_campaign");

/// A small campaign with two planted bugs: two findings in its first batch, both shrunk (one
/// shrink is long enough to pass its hundredth execution).
fn small(dir: &Path) -> Command {
    campaign(dir, &["--runs", "48", "--batch", "16", "--shrink-budget", "120"])
}

fn campaign(dir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(CAMPAIGN);
    command.args(["run", "--threads", "1", "--bug", "DuplicateExitNotification", "--bug", "ReceiveNewestFirst", "--max-workload-ops", "40", "--spot-check-per-mille", "50"]);
    command.arg("--dir").arg(dir).args(extra).stdout(Stdio::null()).stderr(Stdio::piped());
    command
}

fn run(mut command: Command) -> Output {
    command.output().expect("the campaign binary runs")
}

/// The campaign finished (exit 1: it has findings).
fn assert_finished(out: &Output, context: &str) {
    assert_eq!(out.status.code(), Some(1), "{context}: {}", String::from_utf8_lossy(&out.stderr));
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Removes the wall-clock fields of a state or finding.
fn without_clock(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        for key in ["elapsed_s", "timeline", "first_seen_s", "last_seen_s"] {
            o.remove(key);
        }
        if let Some(found) = o.get_mut("findings").and_then(Value::as_object_mut) {
            for f in found.values_mut() {
                *f = without_clock(f.take());
            }
        }
    }
    v
}

/// Everything a campaign directory holds that does not depend on the wall clock.
fn outcome(dir: &Path) -> Value {
    let state = without_clock(read_json(&dir.join("state.json")));
    let mut folders = serde_json::Map::new();
    for entry in std::fs::read_dir(dir.join("findings")).expect("findings folder").flatten() {
        let mut files = serde_json::Map::new();
        for file in std::fs::read_dir(entry.path()).expect("finding folder").flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let value = match name.as_str() {
                "finding.json" => without_clock(read_json(&file.path())),
                _ => Value::String(format!("{:?}", std::fs::read(file.path()).expect("readable"))),
            };
            files.insert(name, value);
        }
        folders.insert(entry.file_name().to_string_lossy().into_owned(), Value::Object(files));
    }
    let summary = read_json(&dir.join("summary.json"));
    let counted = ["runs", "events", "failing_runs", "spot_checks", "invariant_checks", "coverage"].map(|k| summary[k].clone());
    // Repro commands name the directory, which differs from run to run of this test.
    let here = dir.display().to_string();
    let shown: Vec<Value> = summary["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let mut f = without_clock(f.clone());
            if let Some(repro) = f.get_mut("repro") {
                *repro = Value::String(repro.as_str().unwrap_or_default().replace(&here, "<dir>"));
            }
            f
        })
        .collect();
    serde_json::json!({ "state": state, "folders": folders, "summary": [counted, shown] })
}

/// Paths of temporary files anywhere under `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else if entry.file_name().to_string_lossy().starts_with(".tmp") {
                found.push(entry.path().display().to_string());
            }
        }
    }
    found
}

/// The finished directory agrees with the uninterrupted one and is internally consistent.
fn assert_same(dir: &Path, reference: &Value, context: &str) {
    assert_eq!(temporaries(dir), Vec::<String>::new(), "{context}: temporary files left");
    let got = outcome(dir);
    assert_eq!(&got, reference, "{context}: the resumed campaign differs from the uninterrupted one");
    let state = &got["state"];
    let hits: u64 = state["findings"].as_object().expect("findings").values().map(|f| f["hits"].as_u64().unwrap_or(0)).sum();
    assert!(hits <= state["failing_runs"].as_u64().unwrap_or(0), "{context}: more hits than failing runs");
}

/// The uninterrupted campaign: its directory, outcome and wall-clock duration.
fn reference(command: impl Fn(&Path) -> Command) -> (tempfile::TempDir, Value, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    assert_finished(&run(command(dir.path())), "uninterrupted campaign");
    let took = started.elapsed();
    let value = outcome(dir.path());
    assert_eq!(value["state"]["findings"].as_object().map(|f| f.len()), Some(2), "two planted bugs, two findings: {value}");
    (dir, value, took)
}

#[test]
fn a_campaign_killed_at_any_crash_point_resumes_to_the_uninterrupted_result() {
    let (_keep, expected, _) = reference(small);
    let crashed = |dir: &Path, n: u64| {
        let out = run({
            let mut c = small(dir);
            c.args(["--crash-at", &n.to_string()]);
            c
        });
        match out.status.code() {
            Some(campaign::store::CRASH_EXIT) => true,
            _ => {
                assert_finished(&out, &format!("session with --crash-at {n}"));
                false
            }
        }
    };
    let (mut points, mut left_temporaries) = (0, 0);
    for n in 1.. {
        let dir = tempfile::tempdir().expect("tempdir");
        if !crashed(dir.path(), n) {
            break;
        }
        points = n;
        left_temporaries += usize::from(!temporaries(dir.path()).is_empty());
        // Killed again at the same point of the resumed session (which may finish before it).
        crashed(dir.path(), n);
        assert_finished(&run(small(dir.path())), &format!("resume after crash point {n}"));
        assert_same(dir.path(), &expected, &format!("crash point {n}"));
    }
    // Every write has three points and a new finding's batch writes several files: a run through
    // this campaign passes dozens of them, some of them inside a temporary file's lifetime.
    assert!(points >= 40, "only {points} crash points");
    assert!(left_temporaries >= 10, "only {left_temporaries} crashes left a temporary file to clean up");
}

#[test]
fn a_campaign_killed_with_sigkill_at_random_instants_resumes_to_the_uninterrupted_result() {
    let longer = |dir: &Path| campaign(dir, &["--runs", "3000", "--batch", "64", "--shrink-budget", "2000"]);
    let (_keep, expected, took) = reference(longer);
    // Ten instants spread over the uninterrupted campaign's duration (whatever the build's
    // speed), so the kills land in batches, checkpoints and shrinks alike; where exactly is up to
    // the scheduler, and any instant must do.
    for tenth in 1..=10 {
        let delay = took * tenth / 11;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = longer(dir.path()).spawn().expect("the campaign starts");
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; the campaign may already have finished
        let _ = child.wait();
        assert_finished(&run(longer(dir.path())), &format!("resume after kill -9 at {delay:?}"));
        assert_same(dir.path(), &expected, &format!("kill -9 at {delay:?}"));
    }
}
