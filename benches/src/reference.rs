//! The reference workload of the performance issue on three engines in one invocation: the model
//! (`benches/workloads/reference.ron`), the minimal hand-written loop ([`crate::minimal`]) and
//! turmoil 0.7 (`benches/turmoil`, its own workspace, run as a subprocess that prints JSON).
//! Repetitions are interleaved (model, loop, turmoil, model, ...) so machine noise hits every
//! engine alike; figures are medians. Targets: the model at least 0.5× the loop's messages per
//! second and at least 4× turmoil's.

use crate::harness::{median, workspace_root, Mode};
use crate::minimal;
use crate::ring::Ring;
use model::{RunConfig, Scenario};
use reports::results::{BenchResult, Check, EngineRun, Figures, Reference, Target};
use serde::Deserialize;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

const WORKLOAD: &str = "8 echo servers and 8 clients in a ring, 1 request per client per ms, 1.5% drop";

/// One round of one engine.
#[derive(Clone, Copy, Debug, Default)]
struct Round {
    messages: u64,
    requests: u64,
    events: Option<u64>,
    virtual_s: f64,
    wall_s: f64,
}

fn model_round(scenario: &Scenario) -> Result<Round, String> {
    let start = Instant::now();
    let report = model::run(scenario, &RunConfig::seeded(scenario.seed));
    let wall_s = start.elapsed().as_secs_f64();
    if !report.passed() {
        return Err(format!("the model's run of {} did not pass: {:?}", scenario.name, report.first_violation().map(|v| v.signature())));
    }
    let s = report.stats;
    // Events as the minimal loop counts them: the model drops stale timeouts before they become
    // events (`ignored_wakeups`), the minimal loop pops them as events.
    let events = s.events + s.ignored_wakeups;
    Ok(Round { messages: s.messages_delivered, requests: s.requests_completed, events: Some(events), virtual_s: report.end_time.0 as f64 / 1e9, wall_s })
}

fn minimal_round(ring: &Ring) -> Round {
    let start = Instant::now();
    let out = minimal::run(ring);
    let wall_s = start.elapsed().as_secs_f64();
    Round { messages: out.messages_delivered, requests: out.requests_completed, events: Some(out.events), virtual_s: out.end_ns as f64 / 1e9, wall_s }
}

/// What `benches/turmoil` prints.
#[derive(Deserialize)]
struct TurmoilOutput {
    messages_delivered: u64,
    requests_completed: u64,
    virtual_s: f64,
    wall_s: f64,
}

fn turmoil_manifest() -> PathBuf {
    workspace_root().join("benches/turmoil/Cargo.toml")
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds the turmoil workspace; the error says why it cannot be built.
fn build_turmoil() -> Result<(), String> {
    eprintln!("building benches/turmoil (its own workspace; the first build takes a minute)...");
    let out = cargo().args(["build", "--release", "--quiet", "--manifest-path"]).arg(turmoil_manifest()).output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
    Err(format!("`cargo build --release --manifest-path benches/turmoil/Cargo.toml` failed: {}", tail.into_iter().rev().collect::<Vec<_>>().join(" / ")))
}

fn turmoil_round(requests: u32, seed: u64) -> Result<Round, String> {
    let out = cargo()
        .args(["run", "--release", "--quiet", "--manifest-path"])
        .arg(turmoil_manifest())
        .args(["--", "--requests", &requests.to_string(), "--seed", &seed.to_string()])
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("the turmoil run failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let t: TurmoilOutput = serde_json::from_slice(&out.stdout).map_err(|e| format!("the turmoil run printed no result: {e}"))?;
    Ok(Round { messages: t.messages_delivered, requests: t.requests_completed, events: None, virtual_s: t.virtual_s, wall_s: t.wall_s })
}

fn engine(name: &str, rounds: &[Round]) -> EngineRun {
    let wall_s: Vec<f64> = rounds.iter().map(|r| r.wall_s).collect();
    let median_wall_s = median(&wall_s).max(1e-9);
    let last = rounds.last().copied().unwrap_or_default();
    EngineRun {
        engine: name.to_string(),
        messages_delivered: last.messages,
        requests_completed: last.requests,
        events: last.events,
        virtual_s: last.virtual_s,
        wall_s,
        median_wall_s,
        messages_per_s: last.messages as f64 / median_wall_s,
        events_per_s: last.events.map(|e| e as f64 / median_wall_s),
    }
}

/// Runs the benchmark.
pub fn run(mode: &Mode) -> Result<BenchResult, String> {
    let file = workspace_root().join("benches/workloads/reference.ron");
    let ring = mode.pick(Ring::reference(), Ring::reference_with(300));
    let scenario = if mode.quick { ring.scenario()? } else { scenarios::load_scenario(&file).map_err(|e| e.to_string())? };
    let rounds = mode.pick(3, 1);
    let mut notes = Vec::new();
    let turmoil = match (mode.turmoil, mode.quick) {
        (false, true) => {
            notes.push("Turmoil skipped in quick mode.".into());
            false
        }
        (false, false) => {
            notes.push("Turmoil skipped (PANDAGEN_BENCH_TURMOIL=0).".into());
            false
        }
        (true, _) => build_turmoil().map_err(|e| notes.push(format!("Turmoil not measured: {e}"))).is_ok(),
    };
    let (mut m, mut l, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        eprintln!("round {round}/{rounds}: model, minimal loop{}", if turmoil { ", turmoil" } else { "" });
        m.push(model_round(&scenario)?);
        l.push(minimal_round(&ring));
        if turmoil {
            t.push(turmoil_round(ring.requests, ring.seed)?);
        }
    }
    let mut engines = vec![engine("model (PandaGen)", &m), engine("minimal loop", &l)];
    if turmoil {
        engines.push(engine("turmoil 0.7", &t));
    }
    let model_rate = engines[0].messages_per_s;
    let mut checks = vec![Check::new("model ÷ minimal loop, messages/s", model_rate / engines[1].messages_per_s, Target::AtLeast(0.5), "ratio")];
    if let Some(tm) = engines.get(2) {
        checks.push(Check::new("model ÷ turmoil, messages/s", model_rate / tm.messages_per_s, Target::AtLeast(4.0), "ratio"));
        notes.push("Turmoil advances time in 1 ms ticks (tokio's timer resolution), so its clients time out after 3 ms instead of 0.5 ms; loss is decided by each receiver with its own seeded ChaCha (see benches/turmoil/src/main.rs).".into());
    }
    notes.push("The minimal loop and the model use different random draws, so their message counts differ slightly; rates compare messages delivered per wall-clock second.".into());
    let figures = Figures::Reference(Reference { workload: WORKLOAD.into(), rounds, engines });
    let mut result = BenchResult::new("reference", mode.quick, figures);
    result.checks = checks;
    result.notes = notes;
    Ok(result)
}
