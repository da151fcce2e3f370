//! `replay`: re-executes a recorded trace bit for bit and confirms it or reports the first
//! divergence.


use replay::{out, out_raw};
use clap::{Parser, ValueEnum};
use model::report::EventRecord;
use replay::{files, ReplayReport};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Replay a PandaGen trace and verify it event by event.
///
/// Re-executes the trace's scenario with its recorded choices, compares every event's digest and
/// the outcome (verdict, events, stop reason, trace hash), and reports the first divergence with
/// the recorded and replayed events around it.
///
/// Exit codes: 0 the replay matches the trace (including a recorded violation reproduced
/// exactly); 1 the replay diverges; 2 bad input (unreadable, corrupted, wrong-version or invalid
/// trace, bad arguments).
#[derive(Parser, Debug)]
#[command(name = "replay", version)]
struct Args {
    /// Trace file (binary, or RON text; detected from the content).
    trace: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Events of context to show on each side of a divergence (0 to 100000).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    context: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let report = match files::replay_file(&args.trace, args.context as usize) {
        Ok(r) => r,
        Err(_) if is_scenario(&args.trace) => {
            let file = args.trace.display();
            eprintln!("error: {file} is a scenario, not a trace: run it with `cargo run --release --bin scenario -- {file}` (add `--record FILE` to make a trace)");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match args.format {
        Format::Json => out!("{}", replay::json::to_string_pretty(&report).unwrap_or_default()),
        Format::Text => out_raw!("{}", render(&report, &args.trace)),
    }
    ExitCode::from(if report.confirmed() { 0 } else { 1 })
}

fn verdict(outcome: &model::trace::TraceOutcome) -> String {
    match &outcome.violation {
        None => format!("pass ({} events, stop {:?}, hash {:016x})", outcome.events, outcome.stop, outcome.trace_hash),
        Some((id, ev)) => format!("{id} violated at event {ev} ({} events, hash {:016x})", outcome.events, outcome.trace_hash),
    }
}

fn line(e: &EventRecord) -> String {
    let t = e.at as f64 / 1e6;
    let mut s = format!("  #{:<6} {t:>10.6}ms {:016x} {}", e.index, e.digest, e.what);
    if !e.effects.is_empty() {
        s.push_str(&format!("\n{:>37}=> {}", "", e.effects));
    }
    s
}

fn render(r: &ReplayReport, path: &std::path::Path) -> String {
    let mut out = format!("replay of {} (scenario {:?})\n", path.display(), r.scenario);
    out += &format!("recorded: {}\nreplayed: {}\n", verdict(&r.recorded), verdict(&r.replayed));
    match &r.divergence {
        None if r.scenario_edited.is_some() => {
            out += &format!(
                "NOT CONFIRMED: all {} events matched, but the embedded scenario was edited after recording (scenario digest {:016x} recorded, {:016x} now)\n",
                r.events_compared,
                r.scenario_edited.map_or(0, |d| d.0),
                r.scenario_edited.map_or(0, |d| d.1)
            );
        }
        None if r.model_version_mismatch.is_some() => {
            let (recorded, running) = r.model_version_mismatch.as_ref().expect("checked");
            out += &format!(
                "NOT CONFIRMED: all {} events matched, but the trace was recorded by model version {recorded:?} and this is {running:?}\n",
                r.events_compared
            );
        }
        None => out += &format!("CONFIRMED: {} events replayed bit for bit: times, choices, digests, same verdict and hash\n", r.events_compared),
        Some(d) => {
            out += &format!("DIVERGED at event {}: {}\n", d.index, d.reason);
            out += &format!("expected (recorded):\n{}\n", d.expected.as_ref().map_or("  (no such event)".into(), line));
            out += &format!("actual (replayed):\n{}\n", d.actual.as_ref().map_or("  (no such event)".into(), line));
            out += "recorded context:\n";
            for e in &d.expected_context {
                out += &format!("{}{}\n", if e.index == d.index { ">" } else { " " }, line(e));
            }
            out += "replayed context:\n";
            for e in &d.actual_context {
                out += &format!("{}{}\n", if e.index == d.index { ">" } else { " " }, line(e));
            }
        }
    }
    out
}

/// Whether the file reads as a scenario (the usual mix-up: `replay scenarios/x.ron`).
fn is_scenario(path: &std::path::Path) -> bool {
    let Ok(bytes) = files::read_file(path, "trace") else { return false };
    std::str::from_utf8(&bytes).is_ok_and(|text| replay::text::ron_options().from_str::<model::Scenario>(replay::text::without_bom(text)).is_ok())
}
