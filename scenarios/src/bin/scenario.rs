//! `scenario`: runs one PandaGen scenario file in the deterministic simulator and prints a summary.
//!
//! The summary (text or JSON) goes to stdout and is a pure function of (scenario, seed); the
//! wall-clock time of the run goes to stderr. See `--help` for options and exit codes.

use clap::{Parser, ValueEnum};
use model::{run, RunConfig, RunReport, Scenario};
use scenarios::{
    check_against, load_scenario_with_source, locate_expectations, render_audit, render_check, render_json, render_summary, render_unmet,
    DeterminismCheck, JsonOutput,
};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const ABOUT: &str = "Run a PandaGen scenario in the deterministic simulator and report the result.";

const LONG_ABOUT: &str = "\
Run a PandaGen scenario in the deterministic simulator and report the result.

The scenario (a RON file, format documented in scenarios/README.md) is loaded and validated, then
run with its own seed or the one given by --seed. The same file and seed always give the same
run: same events, same counters, same trace hash. The summary on stdout lists the verdict, the run
counters, every invariant with its check count, violations, expectations, the trace hash and the
command that reproduces the run. Wall-clock timing is printed on stderr only.";

const AFTER_HELP: &str = "\
Exit codes:
  0  every expectation of the scenario was met (a scenario that expects a violation passes when
     the run shows that violation)
  1  an expectation was not met, or --check-determinism found two runs that differ
  2  bad input: unreadable file, malformed RON, invalid scenario, or bad command-line arguments

Examples:
  scenario scenarios/tests/data/example.ron
  scenario scenarios/tests/data/example.ron --seed 7 --check-determinism
  scenario scenarios/tests/data/example.ron --format json --audit";

#[derive(Parser)]
#[command(name = "scenario", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
struct Cli {
    /// The scenario file (RON).
    file: PathBuf,

    /// Seed of the run (decimal or 0x-prefixed hex); defaults to the scenario's `seed` field.
    #[arg(long, value_parser = scenarios::parse_seed)]
    seed: Option<u64>,

    /// Output format of the summary on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Run twice with the same seed and compare trace hashes and counters; a mismatch exits 1.
    #[arg(long)]
    check_determinism: bool,

    /// Also print the capability audit log, one record per line (and, when the scenario uses
    /// them, the policy audit log, pipeline reports and traces, the resource audit log, the
    /// storage objects, the workspace's trails and the network's security audit).
    #[arg(long)]
    audit: bool,

    /// Record the run as a trace file (`.ron`/`.txt`: readable text; otherwise compact binary),
    /// written atomically; replay it with `replay <FILE>`.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,

    /// Measure throughput: re-run the scenario for about a second and print events/second
    /// (median and best) on stderr.
    #[arg(long)]
    events_per_second: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A readable multi-line summary.
    Text,
    /// The full report as pretty-printed JSON.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run_cli(&cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Loads, runs and reports; `Err` is a bad-input error (exit code 2).
fn run_cli(cli: &Cli) -> Result<ExitCode, String> {
    let (scenario, source) = load_scenario_with_source(&cli.file).map_err(|e| e.to_string())?;
    eprint!("{}", scenarios::render_warnings(&scenarios::lint(&scenario), &source, &cli.file.display().to_string()));
    let seed = cli.seed.unwrap_or(scenario.seed);
    let (mut report, elapsed) = timed_run(&scenario, seed);
    locate_expectations(&mut report, &source);
    eprintln!("{}", timing_line(report.stats.events, elapsed));
    let check = cli.check_determinism.then(|| check_against(&scenario, &report));
    if cli.events_per_second {
        measure_throughput(&scenario, seed);
    }
    if let Some(path) = &cli.record {
        record_trace(&scenario, seed, path, &report)?;
    }
    let file = cli.file.display().to_string();
    let text = match cli.format {
        Format::Text => text_output(cli, &report, &file, check.as_ref()),
        Format::Json => json_output(cli, &report, &file, check.as_ref())?,
    };
    write_stdout(&text)?;
    Ok(exit_code(&report, &file, check.as_ref()))
}

/// Records the run as a trace, streamed to the file as it goes; the recorded run must match the
/// reported one.
fn record_trace(scenario: &Scenario, seed: u64, path: &std::path::Path, report: &RunReport) -> Result<(), String> {
    let recording = replay::files::record_to_file(path, scenario, seed).map_err(|e| e.to_string())?;
    if recording.report.trace_hash != report.trace_hash {
        return Err(format!("internal error: the recorded run's hash {:016x} differs from {:016x}", recording.report.trace_hash, report.trace_hash));
    }
    let events = recording.report.stats.events;
    let per_event = recording.bytes as f64 / events.max(1) as f64;
    eprintln!("recorded {events} events and {} choices to {} ({} bytes, {per_event:.1} bytes per event)", recording.report.choices_drawn, path.display(), recording.bytes);
    Ok(())
}

fn timed_run(scenario: &Scenario, seed: u64) -> (RunReport, Duration) {
    let start = Instant::now();
    let report = run(scenario, &RunConfig::seeded(seed));
    (report, start.elapsed())
}

fn events_per_second(events: u64, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn timing_line(events: u64, elapsed: Duration) -> String {
    format!(
        "wall-clock: {:.3} ms, {:.0} events/s",
        elapsed.as_secs_f64() * 1e3,
        events_per_second(events, elapsed)
    )
}

/// Re-runs for at least a second (at least 3 and at most 10,000 runs) and prints throughput.
fn measure_throughput(scenario: &Scenario, seed: u64) {
    let budget = Duration::from_secs(1);
    let start = Instant::now();
    let mut rates = Vec::new();
    while rates.len() < 3 || (start.elapsed() < budget && rates.len() < 10_000) {
        let (report, elapsed) = timed_run(scenario, seed);
        rates.push(events_per_second(report.stats.events, elapsed));
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let best = rates[rates.len() - 1];
    eprintln!("throughput: {} runs, median {median:.0} events/s, best {best:.0} events/s", rates.len());
}

fn text_output(cli: &Cli, report: &RunReport, file: &str, check: Option<&DeterminismCheck>) -> String {
    let mut out = render_summary(report, file);
    if let Some(check) = check {
        out.push_str(&render_check(check));
        out.push('\n');
    }
    if cli.audit {
        out.push('\n');
        out.push_str(&render_audit(report));
        if let Some(authority) = scenarios::render_authority(report) {
            out.push('\n');
            out.push_str(&authority);
        }
        if let Some(interactive) = scenarios::render_interactive(report) {
            out.push('\n');
            out.push_str(&interactive);
        }
        if let Some(network) = scenarios::render_network(report) {
            out.push('\n');
            out.push_str(&network);
        }
    }
    out
}

fn json_output(cli: &Cli, report: &RunReport, file: &str, check: Option<&DeterminismCheck>) -> Result<String, String> {
    let mut output = JsonOutput::new(report, file);
    output.determinism_check = check;
    if cli.audit {
        output.audit_log = Some(scenarios::audit_json(report));
    }
    let mut text = render_json(&output).map_err(|e| format!("cannot render the report as JSON: {e}"))?;
    text.push('\n');
    Ok(text)
}

fn write_stdout(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not an error of the run.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write the report: {e}")),
    }
}

/// 1 for an unmet expectation or a determinism mismatch (explained on stderr), else 0.
fn exit_code(report: &RunReport, file: &str, check: Option<&DeterminismCheck>) -> ExitCode {
    let mut failed = false;
    if let Some(check) = check.filter(|c| !c.ok) {
        eprintln!("{}", render_check(check));
        failed = true;
    }
    if !report.passed() {
        eprint!("{}", render_unmet(report, file));
        failed = true;
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
