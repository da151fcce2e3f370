//! The campaign loop: batches of runs in parallel (rayon), aggregated in run order so
//! deduplication does not depend on thread timing; new signatures are saved at once and shrunk
//! (in parallel, bounded); the state is checkpointed after every batch. A campaign stops at its
//! run count or duration, or on interrupt (Ctrl-C), always after a complete batch and checkpoint.

use crate::findings::{self, Finding, NONDETERMINISM};
use crate::shard::Shard;
use crate::state::{CampaignState, TimelinePoint};
use crate::{run_one, spot_checked, RunOutcome, RunSpec};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// When a campaign stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stop {
    /// After this many runs in total (counting earlier sessions).
    Runs(u64),
    /// After this much wall-clock time in this session.
    Duration(Duration),
}

/// How to run a campaign.
#[derive(Clone, Debug)]
pub struct Options {
    pub dir: PathBuf,
    pub spec: RunSpec,
    pub shard: Shard,
    pub stop: Stop,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Shrink budget per new finding, in executions.
    pub shrink_budget: u64,
    /// Runs per batch (between checkpoints).
    pub batch: u64,
}

/// What progress reports show.
#[derive(Clone, Debug)]
pub struct Progress {
    pub runs: u64,
    pub events: u64,
    pub findings: usize,
    pub session_runs: u64,
    pub session_events: u64,
    pub session_elapsed: Duration,
    pub remaining: Option<Duration>,
}

/// A finished (or interrupted) campaign.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub state: CampaignState,
    pub findings: BTreeMap<String, Finding>,
    pub interrupted: bool,
}

/// Runs (or resumes) the campaign in `options.dir`.
pub fn run(options: &Options, interrupt: &AtomicBool, progress: &mut dyn FnMut(&Progress)) -> Result<Outcome, String> {
    std::fs::create_dir_all(&options.dir).map_err(|e| format!("{}: {e}", options.dir.display()))?;
    let mut state = match CampaignState::load(&options.dir)? {
        Some(s) if s.spec != options.spec || s.shard != options.shard => {
            return Err(format!("{} holds a campaign with other settings ({:?}, shard {}); use another directory", options.dir.display(), s.spec, s.shard));
        }
        Some(s) => s,
        None => CampaignState::new(options.spec.clone(), options.shard),
    };
    let mut found = findings::load_all(&options.dir)?;
    finish_captures(options, &mut found)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(options.threads).build().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let base_elapsed = state.elapsed_s;
    let (mut session_runs, mut session_events) = (0, 0);
    let mut interrupted = false;
    loop {
        if interrupt.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        let batch = match options.stop {
            Stop::Runs(n) if state.runs >= n => break,
            Stop::Runs(n) => options.batch.min(n - state.runs),
            Stop::Duration(d) if started.elapsed() >= d => break,
            Stop::Duration(_) => options.batch,
        };
        let first = state.next_index;
        let outcomes: Vec<RunOutcome> = pool.install(|| (first..first + batch).into_par_iter().map(|i| run_one(&options.spec, options.shard.seed(i))).collect());
        let elapsed = base_elapsed + started.elapsed().as_secs_f64();
        let new = aggregate(&mut state, &mut found, &outcomes, elapsed);
        save_new_findings(options, &pool, &mut found, new)?;
        session_runs += batch;
        session_events += outcomes.iter().map(|o| o.events).sum::<u64>();
        state.next_index += batch;
        state.elapsed_s = base_elapsed + started.elapsed().as_secs_f64();
        state.record_timeline(TimelinePoint { elapsed_s: state.elapsed_s, runs: state.runs, events: state.events, findings: found.len() as u64 });
        state.save(&options.dir)?;
        let remaining = match options.stop {
            Stop::Runs(n) => {
                let rate = session_runs as f64 / started.elapsed().as_secs_f64().max(1e-9);
                Some(Duration::from_secs_f64(n.saturating_sub(state.runs) as f64 / rate.max(1e-9)))
            }
            Stop::Duration(d) => Some(d.saturating_sub(started.elapsed())),
        };
        progress(&Progress { runs: state.runs, events: state.events, findings: found.len(), session_runs, session_events, session_elapsed: started.elapsed(), remaining });
    }
    Ok(Outcome { state, findings: found, interrupted })
}

/// Folds a batch into the state in run order; returns the signatures seen for the first time,
/// with the seed that first showed each.
fn aggregate(state: &mut CampaignState, found: &mut BTreeMap<String, Finding>, outcomes: &[RunOutcome], elapsed: f64) -> Vec<String> {
    let mut new = Vec::new();
    for o in outcomes {
        state.runs += 1;
        state.events += o.events;
        state.count_events(o.events);
        state.spot_checks += u64::from(spot_checked(o.seed, state.spec.spot_check_per_mille));
        for (id, n) in &o.invariant_checks {
            *state.invariant_checks.entry(id.clone()).or_default() += n;
        }
        let signatures = o.signature.iter().cloned().chain(o.nondeterministic.map(|_| NONDETERMINISM.to_string()));
        for signature in signatures {
            state.failing_runs += 1;
            match found.get_mut(&signature) {
                Some(f) => {
                    f.hits += 1;
                    f.last_seen_s = elapsed;
                }
                None => {
                    found.insert(signature.clone(), Finding { signature: signature.clone(), first_seed: o.seed, first_seen_s: elapsed, last_seen_s: elapsed, hits: 1, shrunk: None });
                    new.push(signature);
                }
            }
        }
    }
    new
}

/// Writes every finding's `finding.json` (hits changed), then captures and shrinks the new ones.
fn save_new_findings(options: &Options, pool: &rayon::ThreadPool, found: &mut BTreeMap<String, Finding>, new: Vec<String>) -> Result<(), String> {
    for finding in found.values() {
        findings::save(&options.dir, finding)?;
    }
    let mut fresh: Vec<Finding> = new.iter().filter_map(|s| found.get(s).cloned()).collect();
    let results: Vec<Result<(), String>> =
        pool.install(|| fresh.par_iter_mut().map(|f| findings::capture(&options.dir, &options.spec, f, options.shrink_budget)).collect());
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    for f in fresh {
        found.insert(f.signature.clone(), f);
    }
    Ok(())
}

/// Resumes the capture of findings saved before an interruption but not yet shrunk.
fn finish_captures(options: &Options, found: &mut BTreeMap<String, Finding>) -> Result<(), String> {
    for finding in found.values_mut() {
        let dir = findings::finding_dir(&options.dir, &finding.signature);
        let needs_shrink = finding.signature != NONDETERMINISM && finding.shrunk.is_none();
        if needs_shrink || !dir.join("original.trace").exists() {
            findings::capture(&options.dir, &options.spec, finding, options.shrink_budget)?;
        }
    }
    Ok(())
}
