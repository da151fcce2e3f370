//! `campaign`: overnight campaigns of generated runs (see the crate docs and the README).

use campaign::campaign::{Options, Progress, Stop};
use campaign::shard::Shard;
use campaign::{report, RunSpec};
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
#[command(name = "campaign", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "\
Exit codes:
  0  no finding
  1  findings (each listed with the command that runs its repro)
  2  bad input: bad arguments, an unreadable template, a directory of another campaign";

const RUN_HELP: &str = "\
Exit codes:
  0  no finding
  1  findings (each listed with the command that runs its repro)
  2  bad input: bad arguments, an unreadable template, a directory that holds a campaign with
     other settings (or is a file, or a merged report)

Examples:
  campaign run --dir camp --duration 8h                       # overnight, one thread per core
  campaign run --dir camp --runs 100000 --bug DelegateKeepsSource
  campaign run --dir camp --runs 5000 --template scenarios/faults_drop_delay.ron
  campaign run --dir shard-3 --shard 3/16 --duration 8h       # one of 16 machines

Run the same command again to resume a stopped or killed campaign.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Run or resume a campaign (give --runs or --duration).
    #[command(after_help = RUN_HELP)]
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

/// Most worker threads `--threads` accepts.
const MAX_THREADS: usize = 256;

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("stop").required(true).args(["runs", "duration"]))]
struct RunArgs {
    /// Campaign directory (created if missing; resumed if it holds a campaign).
    #[arg(long)]
    dir: PathBuf,
    /// Stop after this many runs in total (counting earlier sessions). This or --duration is
    /// required; with both, --runs wins.
    #[arg(long)]
    runs: Option<u64>,
    /// Stop after this long in this session: 90, 90s, 10m, 8h. This or --runs is required.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Worker threads, 1 to 256 [default: one per core].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_THREADS as u64))]
    threads: Option<u64>,
    /// Run shard k of N (k in 0..N): seeds k, k+N, k+2N, ...
    #[arg(long, default_value = "0/1")]
    shard: Shard,
    /// Switch on a planted bug (repeatable).
    #[arg(long = "bug", value_parser = bug_names(), value_name = "BUG")]
    bugs: Vec<String>,
    /// Use every fault and operation kind in every run instead of a random subset.
    #[arg(long)]
    no_swarm: bool,
    /// Restrict runs to these scenario files (repeatable); seeds cycle through them.
    #[arg(long = "template", value_name = "FILE")]
    templates: Vec<PathBuf>,
    /// Upper bound of workload operations per run.
    #[arg(long, default_value_t = 400)]
    max_workload_ops: u32,
    /// Runs in a thousand (0 to 1000) re-executed to check determinism (a mismatch is a finding).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(0..=1000))]
    spot_check_per_mille: u16,
    /// Shrink budget per new finding, in executions.
    #[arg(long, default_value_t = 5_000)]
    shrink_budget: u64,
    /// Runs between checkpoints (1 to 100000).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
    /// Test support: end the process abruptly at its N-th crash point (every file write passes
    /// three, a shrink two), as `kill -9` there would (kill-anywhere test).
    #[arg(long, hide = true)]
    crash_at: Option<u64>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().map_err(|_| format!("expected a duration like 90s, 10m or 8h, got `{s}`"))?;
    let unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("unknown duration unit `{unit}` (use s, m or h)")),
    };
    let secs = n.checked_mul(unit).ok_or_else(|| format!("duration `{s}` is too long"))?;
    Ok(Duration::from_secs(secs))
}

/// The names of the planted bugs a run can reach (`PlantedBug::reachable()`, in its order; a test
/// keeps them equal): the domain-layer ones would never be found.
const BUG_NAMES: [&str; 44] = [
    "DelegateKeepsSource",
    "TerminationSkipsInvalidation",
    "DelayedDeliveryDuplicates",
    "RegistryKeepsDeadService",
    "ReuseExecutionIds",
    "ReceiveNewestFirst",
    "DuplicateExitNotification",
    "BudgetCheckedAfterConsume",
    "BudgetInheritanceUnchecked",
    "MessageChargedTwice",
    "CancelledIdentityStillConsumes",
    "ExhaustionDoesNotCancel",
    "DerivedAuthorityNotSubsetChecked",
    "StageScopeNotRestored",
    "ComposedPolicyDropsRequire",
    "DenyIgnoredAtStageStart",
    "RetryCountOffByOne",
    "BackoffExponentOffByOne",
    "FailFastIgnored",
    "RetriesNotTraced",
    "CancelledStageCapsCommitted",
    "RollbackKeepsOneWrite",
    "CommitStopsAtConflict",
    "WriteMutatesOldVersion",
    "DelayedMessageChargedTwice",
    "DelegationIgnoresPolicy",
    "CrashCommitsOpenTransaction",
    "StageChargedPerAttempt",
    "NetPolicyCheckedAfterBudget",
    "DeniedPacketCharged",
    "ReceivedPacketNotCharged",
    "PartitionCheckedAtSendOnly",
    "RetransmissionDeliveredTwice",
    "SessionBindsPresentedIdentity",
    "SessionAcceptedBeforeIdentityCheck",
    "RevokedSubscriptionReceives",
    "KeysRoutedBelowFocus",
    "InputDeliveryUncharged",
    "FocusReleasedToBottom",
    "FocusRequireTreatedAsAllow",
    "ClosedComponentKeepsFocus",
    "ExhaustedComponentKeepsRunning",
    "SaveReusesVersion",
    "QuitDiscardsDirtyBuffer",
];

/// The planted bugs' names, which `--help` lists and clap checks.
fn bug_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(BUG_NAMES)
}

fn bug_named(name: &str) -> Result<PlantedBug, String> {
    PlantedBug::reachable().find(|b| format!("{b:?}") == name).ok_or_else(|| format!("unknown planted bug `{name}`"))
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run(args) => run(args),
        Command::Merge { out, partial, dirs } => campaign::merge::merge(&out, &dirs, partial).and_then(|s| finish(&out, &s)),
        Command::Report { dir } => report_only(&dir),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn report_only(dir: &Path) -> Result<ExitCode, String> {
    let state = campaign::state::CampaignState::load(dir)?.ok_or_else(|| format!("{}: not a campaign directory (no state.json)", dir.display()))?;
    finish(dir, &state)
}

fn run(args: RunArgs) -> Result<ExitCode, String> {
    let stop = match (args.runs, args.duration) {
        (Some(n), _) => Stop::Runs(n),
        (None, Some(d)) => Stop::Duration(d),
        (None, None) => return Err("give --runs N or --duration D".into()),
    };
    if let Some(n) = args.crash_at {
        campaign::store::crash_at(n);
    }
    let threads = args.threads.map_or(0, |n| n as usize);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads > cores {
        eprintln!("warning: --threads {threads} on {cores} cores: runs go no faster than with {cores} threads, and each thread holds its own run");
    }
    let templates = args.templates.iter().map(|p| scenarios::load_scenario(p).map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()?;
    let bugs = args.bugs.iter().map(|b| bug_named(b)).collect::<Result<Vec<_>, _>>()?;
    let spec = RunSpec { swarm: !args.no_swarm, max_workload_ops: args.max_workload_ops, bugs, spot_check_per_mille: args.spot_check_per_mille, templates };
    let options = Options { dir: args.dir.clone(), spec, shard: args.shard, stop, threads, shrink_budget: args.shrink_budget, batch: args.batch };
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    let mut shown = Shown::new(stop);
    let outcome = campaign::campaign::run(&options, &interrupt, &mut |p| shown.update(p))?;
    shown.done();
    if outcome.interrupted {
        eprintln!("interrupted: state saved; run the same command to continue");
    }
    finish(&args.dir, &outcome.state)
}

/// Writes the reports and prints the summary; exit 1 when there are findings.
fn finish(dir: &Path, state: &campaign::state::CampaignState) -> Result<ExitCode, String> {
    let found = &state.findings;
    report::write_all(dir, state)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bug_names_are_the_planted_bugs_runs_reach() {
        let names: Vec<String> = PlantedBug::reachable().map(|b| format!("{b:?}")).collect();
        assert_eq!(names, BUG_NAMES);
    }

    #[test]
    fn durations_parse_and_overflow_is_an_error() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("8h"), Ok(Duration::from_secs(8 * 3600)));
        assert!(parse_duration("18446744073709551615h").is_err());
        assert!(parse_duration("5d").is_err() && parse_duration("").is_err());
    }
}
