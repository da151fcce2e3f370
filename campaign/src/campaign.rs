//! The campaign loop: batches of runs in parallel (rayon), aggregated in run order so
//! deduplication does not depend on thread timing; new signatures get their original trace at once
//! and are shrunk by a background thread while the batches go on (bounded by the shrink budget);
//! the state is checkpointed after every batch. A campaign stops at its run count or duration, or
//! on interrupt (Ctrl-C), always after a complete batch and checkpoint; at a normal stop it waits
//! for the queued shrinks, on interrupt it leaves them to the next session.
//!
//! Resuming gives exactly the result of an uninterrupted campaign whatever instant the last
//! session was killed at (wall-clock fields aside): per batch, the new findings' traces are
//! written first, then the checkpoint (the commit: runs, totals, hits and shrinks so far), then
//! the `finding.json` views; a resumed session removes stale temporary files, brings the finding
//! folders in step with the checkpoint and re-runs the batches after it.

use crate::findings::{self, Finding, ShrinkSummary, NONDETERMINISM};
use crate::shard::Shard;
use crate::state::{CampaignState, TimelinePoint};
use crate::{run_one, spot_checked, store, RunOutcome, RunSpec};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
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
    pub interrupted: bool,
}

/// Runs (or resumes) the campaign in `options.dir`.
pub fn run(options: &Options, interrupt: &AtomicBool, progress: &mut dyn FnMut(&Progress)) -> Result<Outcome, String> {
    let dir = &options.dir;
    if let Some(file) = dir.ancestors().find(|a| a.is_file()) {
        return Err(match file == dir.as_path() {
            true => format!("--dir {}: is a file, not a campaign directory", dir.display()),
            false => format!("--dir {}: cannot create it under {}, which is a file", dir.display(), file.display()),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("--dir {}: cannot create the directory: {e}", dir.display()))?;
    let mut state = match CampaignState::load(dir)? {
        Some(s) if !s.merged_from.is_empty() => {
            return Err(format!("{} is a merged report of shards {}, not a campaign to resume: run each shard in its own directory and merge again", dir.display(), s.shards()));
        }
        Some(s) if s.spec != options.spec.record() || s.shard != options.shard => {
            return Err(format!("{} holds a campaign with other settings ({}); resume it with those settings or use another directory", dir.display(), settings_difference(&s, options)));
        }
        Some(s) => s,
        None => CampaignState::new(options.spec.record(), options.shard),
    };
    store::remove_temporaries(dir)?;
    findings::reconcile(dir, &options.spec, &mut state.findings)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(options.threads).build().map_err(|e| e.to_string())?;
    std::thread::scope(|scope| {
        let mut shrinks = Shrinks::start(scope, options, interrupt);
        let (mut state, interrupted) = run_batches(options, &pool, state, &mut shrinks, interrupt, progress)?;
        if shrinks.finish(&mut state)? {
            checkpoint(options, &mut state, &mut shrinks)?;
        }
        Ok(Outcome { state, interrupted })
    })
}

/// Which settings of a stored campaign differ from the requested ones, in command-line terms.
fn settings_difference(stored: &CampaignState, options: &Options) -> String {
    let (was, now) = (&stored.spec, &options.spec.record());
    let mut differences = Vec::new();
    if stored.shard != options.shard {
        differences.push(format!("--shard {} there, {} now", stored.shard, options.shard));
    }
    if was.swarm != now.swarm {
        differences.push(format!("swarm {} there, {} now (--no-swarm)", was.swarm, now.swarm));
    }
    if was.max_workload_ops != now.max_workload_ops {
        differences.push(format!("workload up to {} ops there, {} now", was.max_workload_ops, now.max_workload_ops));
    }
    if was.bugs != now.bugs {
        differences.push(format!("--bug {:?} there, {:?} now", was.bugs, now.bugs));
    }
    if was.spot_check_per_mille != now.spot_check_per_mille {
        differences.push(format!("--spot-check-per-mille {} there, {} now", was.spot_check_per_mille, now.spot_check_per_mille));
    }
    if was.templates != now.templates {
        let names = |t: &[crate::TemplateRecord]| t.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
        differences.push(format!("--template scenarios [{}] there, [{}] now (or their contents differ)", names(&was.templates), names(&now.templates)));
    }
    differences.join("; ")
}

/// The batch loop: runs, aggregates, records new findings, checkpoints, queues the new findings
/// for shrinking, reports progress. Returns the state and whether it was interrupted.
fn run_batches(
    options: &Options,
    pool: &rayon::ThreadPool,
    mut state: CampaignState,
    shrinks: &mut Shrinks,
    interrupt: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(CampaignState, bool), String> {
    // Findings an earlier session counted but did not shrink.
    for finding in state.findings.values() {
        shrinks.submit(finding);
    }
    let started = Instant::now();
    let base_elapsed = state.elapsed_s;
    let (mut session_runs, mut session_events) = (0, 0);
    loop {
        if interrupt.load(Ordering::Relaxed) {
            return Ok((state, true));
        }
        let batch = match options.stop {
            Stop::Runs(n) if state.runs >= n => break,
            Stop::Runs(n) => options.batch.min(n - state.runs),
            Stop::Duration(d) if started.elapsed() >= d => break,
            Stop::Duration(_) => options.batch,
        };
        let first = state.next_index;
        let outcomes: Vec<RunOutcome> = pool.install(|| (first..first.saturating_add(batch)).into_par_iter().map(|i| run_one(&options.spec, options.shard.seed(i))).collect());
        let elapsed = base_elapsed + started.elapsed().as_secs_f64();
        let new = aggregate(&mut state, &outcomes, elapsed);
        for signature in &new {
            findings::record_original(&options.dir, &options.spec, &state.findings[signature])?;
        }
        session_runs += batch;
        session_events += outcomes.iter().map(|o| o.events).sum::<u64>();
        state.next_index += batch;
        state.elapsed_s = base_elapsed + started.elapsed().as_secs_f64();
        state.record_timeline(TimelinePoint { elapsed_s: state.elapsed_s, runs: state.runs, events: state.events, findings: state.findings.len() as u64 });
        checkpoint(options, &mut state, shrinks)?;
        for signature in &new {
            shrinks.submit(&state.findings[signature]);
        }
        let remaining = match options.stop {
            Stop::Runs(n) => {
                let rate = session_runs as f64 / started.elapsed().as_secs_f64().max(1e-9);
                Some(Duration::from_secs_f64(n.saturating_sub(state.runs) as f64 / rate.max(1e-9)))
            }
            Stop::Duration(d) => Some(d.saturating_sub(started.elapsed())),
        };
        progress(&Progress { runs: state.runs, events: state.events, findings: state.findings.len(), session_runs, session_events, session_elapsed: started.elapsed(), remaining });
    }
    Ok((state, false))
}

/// Folds in the shrinks finished so far, writes the checkpoint (the commit), then the
/// `finding.json` views of it.
fn checkpoint(options: &Options, state: &mut CampaignState, shrinks: &mut Shrinks) -> Result<(), String> {
    shrinks.collect(state)?;
    state.save(&options.dir)?;
    for finding in state.findings.values() {
        findings::save(&options.dir, finding)?;
    }
    Ok(())
}

/// What the background shrinker sends back: a signature and its shrink (`None`: interrupted).
type ShrinkResult = (String, Result<Option<ShrinkSummary>, String>);

/// The background shrinker: one thread that shrinks each new finding's first run (bounded by
/// the shrink budget) while the batches go on; results are folded in between batches. Shrinking
/// is deterministic, so when a result arrives never changes what it is.
struct Shrinks {
    jobs: Option<mpsc::Sender<Finding>>,
    results: mpsc::Receiver<ShrinkResult>,
    pending: usize,
}

impl Shrinks {
    fn start<'scope>(scope: &'scope std::thread::Scope<'scope, '_>, options: &'scope Options, interrupt: &'scope AtomicBool) -> Shrinks {
        let (jobs, queue) = mpsc::channel::<Finding>();
        let (done, results) = mpsc::channel();
        scope.spawn(move || {
            for finding in queue {
                let result = match interrupt.load(Ordering::Relaxed) {
                    true => Ok(None),
                    false => findings::shrink(&options.dir, &finding, options.shrink_budget, interrupt),
                };
                if done.send((finding.signature, result)).is_err() {
                    break;
                }
            }
        });
        Shrinks { jobs: Some(jobs), results, pending: 0 }
    }

    /// Queues a finding for shrinking if it needs it.
    fn submit(&mut self, finding: &Finding) {
        let Some(jobs) = &self.jobs else { return };
        if findings::needs_shrink(finding) && jobs.send(finding.clone()).is_ok() {
            self.pending += 1;
        }
    }

    /// Folds the shrinks finished so far into `state` (the next checkpoint records them).
    fn collect(&mut self, state: &mut CampaignState) -> Result<(), String> {
        while let Ok(result) = self.results.try_recv() {
            self.apply(state, result)?;
        }
        Ok(())
    }

    /// Waits for the queued shrinks (after an interrupt they stop at once and save nothing);
    /// returns whether any finished, so that a checkpoint must record it.
    fn finish(&mut self, state: &mut CampaignState) -> Result<bool, String> {
        self.jobs = None;
        let mut finished = false;
        while self.pending > 0 {
            let Ok(result) = self.results.recv() else { break };
            finished |= self.apply(state, result)?;
        }
        Ok(finished)
    }

    /// Records a shrink in `state`; returns whether there was one to record.
    fn apply(&mut self, state: &mut CampaignState, (signature, result): ShrinkResult) -> Result<bool, String> {
        self.pending -= 1;
        let summary = result.map_err(|e| format!("shrinking {signature}: {e}"))?;
        match (summary, state.findings.get_mut(&signature)) {
            (Some(summary), Some(finding)) => {
                finding.shrunk = Some(summary);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Folds a batch into the state in run order; returns the signatures seen for the first time.
fn aggregate(state: &mut CampaignState, outcomes: &[RunOutcome], elapsed: f64) -> Vec<String> {
    let mut new = Vec::new();
    for o in outcomes {
        state.runs += 1;
        state.events += o.events;
        state.count_events(o.events);
        state.spot_checks += u64::from(spot_checked(o.seed, state.spec.spot_check_per_mille));
        for (id, n) in &o.invariant_checks {
            *state.invariant_checks.entry(id.clone()).or_default() += n;
        }
        state.coverage.merge(&o.coverage);
        let signatures = o.signature.iter().cloned().chain(o.nondeterministic.map(|_| NONDETERMINISM.to_string()));
        for signature in signatures {
            state.failing_runs += 1;
            match state.findings.get_mut(&signature) {
                Some(f) => {
                    f.hits += 1;
                    f.last_seen_s = elapsed;
                }
                None => {
                    state.findings.insert(signature.clone(), Finding { signature: signature.clone(), first_seed: o.seed, first_seen_s: elapsed, last_seen_s: elapsed, hits: 1, shrunk: None });
                    new.push(signature);
                }
            }
        }
    }
    new
}
