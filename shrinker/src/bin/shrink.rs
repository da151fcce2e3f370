//! `shrink`: turns a failing run (a scenario and seed, or a trace) into the smallest scenario
//! that fails the same way, written as a `.ron` file plus its trace.


use replay::{out, out_raw};
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use model::Scenario;
use shrinker::{output, Budget, Progress};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shrink a failing PandaGen run to a minimal replayable scenario.
///
/// INPUT is a scenario file (RON; the run uses --seed or the scenario's seed) or a trace file
/// (binary or RON, as written by `scenario --record`; its recorded choices are used). The run
/// must violate an invariant. The result keeps the same failure signature (invariant id and
/// subsystem) and is written as a readable scenario with explicit steps and faults, plus its
/// trace (`<out>.trace.ron`). Ctrl-C stops early and writes the best result so far.
///
/// With --fuzz-artifact, INPUT is a crash file of the `generated_run` cargo-fuzz target: its bytes
/// are decoded exactly as the target decodes them (scenario from the first words, run choices
/// from the rest; the planted bug from --bug, as PANDAGEN_FUZZ_BUG was set for the fuzzer) and
/// the run is shrunk like any other.
///
/// Exit codes: 0 shrunk and written; 1 the run does not fail (nothing to shrink); 2 bad input.
#[derive(Parser, Debug)]
#[command(name = "shrink", version)]
struct Args {
    /// Scenario (.ron) or trace file of the failing run.
    input: PathBuf,
    /// Seed of the run, decimal or 0x hex (scenario input only; default: the scenario's seed).
    #[arg(long, value_parser = scenarios::parse_seed)]
    seed: Option<u64>,
    /// Where to write the shrunk scenario (default: `<scenario name>.shrunk.ron` in the current
    /// folder, the name reduced to letters, digits, `-` and `_`).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Execution budget.
    #[arg(long, default_value_t = 20_000)]
    max_executions: u64,
    /// Wall-clock safety limit in seconds (shrinking is deterministic only when it does not hit).
    #[arg(long)]
    max_seconds: Option<u64>,
    /// Output format of the report on stdout (as `scenario`, `replay` and `campaign` take it).
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Same as `--format json` (kept for scripts written before `--format`).
    #[arg(long, hide = true)]
    json: bool,
    /// INPUT is a crash artifact of the `generated_run` fuzz target.
    #[arg(long)]
    fuzz_artifact: bool,
    /// Planted bug the fuzzer ran with (with --fuzz-artifact).
    #[arg(long)]
    bug: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// The generated run a `generated_run` fuzz artifact encodes.
fn fuzz_input(args: &Args) -> Result<(Scenario, Vec<u64>, u64), String> {
    let bytes = replay::files::read_file(&args.input, "fuzz artifact").map_err(|e| e.to_string())?;
    let bugs = match &args.bug {
        None => Vec::new(),
        Some(name) => vec![model::bugs::PlantedBug::reachable().find(|b| format!("{b:?}") == *name).ok_or_else(|| format!("unknown planted bug `{name}`"))?],
    };
    let config = model::generate::GenConfig::fuzzing(bugs);
    let (scenario, choices) = model::generate::fuzz_case(&bytes, &config);
    Ok((scenario, choices, 0))
}

/// The failing run to shrink: scenario, choices, seed.
fn load_input(args: &Args) -> Result<(Scenario, Vec<u64>, u64), String> {
    if args.bug.is_some() && !args.fuzz_artifact {
        return Err("--bug goes with --fuzz-artifact (a scenario file or trace names its own planted bugs)".into());
    }
    if args.fuzz_artifact {
        if args.seed.is_some() {
            return Err("--seed does not apply to --fuzz-artifact: the artifact's bytes are the run's choices".into());
        }
        return fuzz_input(args);
    }
    let bytes = replay::files::read_file(&args.input, "scenario or trace").map_err(|e| e.to_string())?;
    match replay::files::decode(&args.input, &bytes) {
        Ok(_) if args.seed.is_some() => return Err(format!("--seed does not apply to a trace: {} carries the choices of its run", args.input.display())),
        Ok(trace) => {
            let choices = trace.choices();
            return Ok((trace.scenario, choices, trace.seed));
        }
        // A binary trace that does not decode is reported as such, not as a bad scenario file.
        Err(e) if replay::files::looks_binary(&bytes) => return Err(e.to_string()),
        // A text trace (it has the trace's own first field) that does not decode: say why.
        Err(e) if std::str::from_utf8(&bytes).is_ok_and(|t| t.contains("format_version:")) => return Err(e.to_string()),
        Err(_) => {}
    }
    let scenario = scenarios::load_scenario(&args.input).map_err(|e| e.to_string())?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let (trace, _) = replay::record(&scenario, seed);
    Ok((scenario, trace.choices(), seed))
}

fn run(args: &Args) -> Result<ExitCode, String> {
    let (scenario, choices, seed) = load_input(args)?;
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    let budget = Budget { max_executions: args.max_executions, max_time: args.max_seconds.map(Duration::from_secs) };
    let mut reporter = Reporter::new();
    let result = shrinker::shrink(&scenario, choices, seed, budget, &interrupt, &mut |p| reporter.update(p));
    reporter.done();
    let shrunk = match result {
        Ok(s) => s,
        Err(shrinker::ShrinkError::NoFailure) => {
            match (args.fuzz_artifact, &args.bug) {
                (true, None) => eprintln!(
                    "nothing to shrink: the run {} encodes violates no invariant on the correct model; if the fuzzer ran with PANDAGEN_FUZZ_BUG, pass the same bug with --bug",
                    args.input.display()
                ),
                (true, Some(bug)) => eprintln!("nothing to shrink: the run {} encodes violates no invariant with {bug}", args.input.display()),
                (false, _) => eprintln!("nothing to shrink: {} with seed {seed} violates no invariant", args.input.display()),
            }
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.to_string()),
    };
    let out = args.out.clone().unwrap_or_else(|| output::default_path(&scenario.name));
    let origin = format!("{} (seed {seed})", args.input.display());
    let trace = output::write(&shrunk, &out, &origin).map_err(|e| e.to_string())?;
    if args.json || args.format == Format::Json {
        out!("{}", json_report(&shrunk, &out, &trace));
    } else {
        out_raw!("{}", output::render_report(&shrunk));
        out!("wrote          {} and {}", out.display(), trace.display());
        if shrunk.deterministic {
            out!("check          cargo run --release --bin scenario -- {}", out.display());
        } else {
            out!("check          cargo run --release --bin replay -- {}   (the scenario needs these recorded choices)", trace.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn json_report(s: &shrinker::Shrunk, out: &Path, trace: &Path) -> String {
    let value = serde_json::json!({
        "signature": s.signature,
        "stopped": s.stopped,
        "executions": s.executions,
        "accepted": s.accepted,
        "slippage": s.slippage,
        "invalid": s.invalid,
        "elapsed_ms": s.elapsed.as_millis() as u64,
        "before": s.before,
        "after": s.after,
        "deterministic": s.deterministic,
        "scenario_file": out.display().to_string(),
        "trace_file": trace.display().to_string(),
    });
    replay::json::to_string_pretty(&value).unwrap_or_default()
}

/// Progress on stderr: a spinner on a terminal, a line every two seconds otherwise.
struct Reporter {
    bar: Option<ProgressBar>,
    last_line: Instant,
}

impl Reporter {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Reporter { bar, last_line: Instant::now() }
    }

    fn update(&mut self, p: &Progress) {
        let msg = format!(
            "{}: {} executions, {} kept, {} slippage; best {} events, {} tasks, {} steps, {} faults, {} choices",
            p.pass, p.executions, p.accepted, p.slippage, p.best.events, p.best.tasks, p.best.steps, p.best.faults, p.best.choices
        );
        match &self.bar {
            Some(bar) => bar.set_message(msg),
            None if self.last_line.elapsed() >= Duration::from_secs(2) => {
                eprintln!("shrinking: {msg}");
                self.last_line = Instant::now();
            }
            None => {}
        }
    }

    fn done(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
