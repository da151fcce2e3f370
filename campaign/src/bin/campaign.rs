//! `campaign`: overnight campaigns of generated runs (see the crate docs and the README).

use campaign::campaign::{Options, Progress, Stop};
use campaign::shard::Shard;
use campaign::{findings, report, RunSpec};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use model::bugs::PlantedBug;
use replay::out;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Run overnight campaigns of generated PandaGen runs.
///
/// Each run is a generated scenario (services, clients, supervisors, capability passers, a random
/// workload and an adversarial fault plan; swarm mode enables a random subset of fault and
/// operation kinds per run), or, with --template, one of the given scenario files with a varying
/// seed (and in swarm mode a random subset of its faults and operation kinds). Failures are deduplicated by signature (invariant@subsystem); the
/// first run of each is saved as `findings/<signature>/` (`@` written `__`) with its trace and a shrunk `.ron`
/// repro. The campaign directory holds its state: stop it any way (Ctrl-C, kill -9) and run the
/// same command again to continue. Reports: report.md, report.html, junit.xml, summary.json.
///
/// Exit codes: 0 no finding; 1 findings (listed, with repro commands); 2 bad input.
#[derive(Parser, Debug)]
#[command(name = "campaign", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run or resume a campaign.
    Run(RunArgs),
    /// Merge shard directories into one report.
    ///
    /// The directories must be distinct shards k/N of one campaign (same settings, same N), all N
    /// of them unless --partial. The output is a report (it cannot be resumed).
    Merge {
        /// Output directory (a new one, or an earlier merge to overwrite).
        #[arg(long)]
        out: PathBuf,
        /// Merge even if some shards are missing (the report names the shards it covers).
        #[arg(long)]
        partial: bool,
        /// Shard directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Rewrite the reports of a campaign directory.
    Report {
        /// Campaign directory.
        dir: PathBuf,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Campaign directory (created if missing; resumed if it holds a campaign).
    #[arg(long)]
    dir: PathBuf,
    /// Stop after this many runs in total (counting earlier sessions).
    #[arg(long)]
    runs: Option<u64>,
    /// Stop after this long in this session: 90, 90s, 10m, 8h.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Run shard k of N (k in 0..N): seeds k, k+N, k+2N, ...
    #[arg(long, default_value = "0/1")]
    shard: Shard,
    /// Switch on a planted bug (repeatable), e.g. DelegateKeepsSource.
    #[arg(long = "bug", value_parser = parse_bug)]
    bugs: Vec<PlantedBug>,
    /// Use every fault and operation kind in every run instead of a random subset.
    #[arg(long)]
    no_swarm: bool,
    /// Restrict runs to these scenario files (repeatable); seeds cycle through them.
    #[arg(long = "template", value_name = "FILE")]
    templates: Vec<PathBuf>,
    /// Upper bound of workload operations per run.
    #[arg(long, default_value_t = 400)]
    max_workload_ops: u32,
    /// Runs in a thousand re-executed to check determinism (a mismatch is a finding).
    #[arg(long, default_value_t = 10)]
    spot_check_per_mille: u16,
    /// Shrink budget per new finding, in executions.
    #[arg(long, default_value_t = 5_000)]
    shrink_budget: u64,
    /// Runs between checkpoints.
    #[arg(long, default_value_t = 1024)]
    batch: u64,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().map_err(|_| format!("expected a duration like 90s, 10m or 8h, got `{s}`"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("unknown duration unit `{unit}` (use s, m or h)")),
    };
    Ok(Duration::from_secs(secs))
}

fn parse_bug(s: &str) -> Result<PlantedBug, String> {
    // Only bugs a run can reach: the domain-layer ones (`reachable_by_runs() == false`) would
    // never be found.
    PlantedBug::reachable().find(|b| format!("{b:?}") == s).ok_or_else(|| {
        let names: Vec<String> = PlantedBug::reachable().map(|b| format!("{b:?}")).collect();
        format!("unknown planted bug `{s}`; expected one of {}", names.join(", "))
    })
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run(args) => run(args),
        Command::Merge { out, partial, dirs } => campaign::merge::merge(&out, &dirs, partial).and_then(|(s, f)| finish(&out, &s, &f)),
        Command::Report { dir } => report_only(&dir),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn report_only(dir: &Path) -> Result<ExitCode, String> {
    let state = campaign::state::CampaignState::load(dir)?.ok_or_else(|| format!("{}: not a campaign directory", dir.display()))?;
    finish(dir, &state, &findings::load_all(dir)?)
}

fn run(args: RunArgs) -> Result<ExitCode, String> {
    let stop = match (args.runs, args.duration) {
        (Some(n), _) => Stop::Runs(n),
        (None, Some(d)) => Stop::Duration(d),
        (None, None) => return Err("give --runs N or --duration D".into()),
    };
    let templates = args.templates.iter().map(|p| scenarios::load_scenario(p).map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()?;
    let spec = RunSpec { swarm: !args.no_swarm, max_workload_ops: args.max_workload_ops, bugs: args.bugs, spot_check_per_mille: args.spot_check_per_mille.min(1000), templates };
    let options = Options { dir: args.dir.clone(), spec, shard: args.shard, stop, threads: args.threads, shrink_budget: args.shrink_budget, batch: args.batch.max(1) };
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    let mut shown = Shown::new(stop);
    let outcome = campaign::campaign::run(&options, &interrupt, &mut |p| shown.update(p))?;
    shown.done();
    if outcome.interrupted {
        eprintln!("interrupted: state saved; run the same command to continue");
    }
    finish(&args.dir, &outcome.state, &outcome.findings)
}

/// Writes the reports and prints the summary; exit 1 when there are findings.
fn finish(dir: &Path, state: &campaign::state::CampaignState, found: &std::collections::BTreeMap<String, findings::Finding>) -> Result<ExitCode, String> {
    report::write_all(dir, state, found)?;
    let t = state.elapsed_s.max(1e-9);
    out!("runs {} ({:.0}/s), events {} ({:.0}/s), shard {}, {} findings", state.runs, state.runs as f64 / t, state.events, state.events as f64 / t, state.shards(), found.len());
    for f in found.values() {
        out!("  {} ({} hits, first seed {}): {}", f.signature, f.hits, f.first_seed, f.repro_command(dir));
    }
    out!("reports: {}/report.md, report.html, junit.xml, summary.json", dir.display());
    Ok(ExitCode::from(if found.is_empty() { 0 } else { 1 }))
}

/// Progress: a bar on a terminal, a line every five seconds otherwise.
struct Shown {
    bar: Option<ProgressBar>,
    last: Instant,
}

impl Shown {
    fn new(stop: Stop) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match stop {
                Stop::Runs(n) => ProgressBar::new(n),
                Stop::Duration(d) => ProgressBar::new(d.as_secs()),
            };
            bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
            bar
        });
        Shown { bar, last: Instant::now() }
    }

    fn update(&mut self, p: &Progress) {
        let secs = p.session_elapsed.as_secs_f64().max(1e-9);
        let msg = format!(
            "{} runs, {:.0} runs/s, {:.0} events/s, {} findings, elapsed {:.0}s, remaining {:.0}s",
            p.runs,
            p.session_runs as f64 / secs,
            p.session_events as f64 / secs,
            p.findings,
            secs,
            p.remaining.map_or(0.0, |r| r.as_secs_f64())
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(bar.length().map_or(p.runs, |len| if len == p.runs.max(len) { p.runs } else { p.session_elapsed.as_secs() }));
                bar.set_message(msg);
            }
            None if self.last.elapsed() >= Duration::from_secs(5) => {
                eprintln!("campaign: {msg}");
                self.last = Instant::now();
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
