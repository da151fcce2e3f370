//! The campaign loop: batches of runs in parallel (rayon), aggregated in run order so
//! deduplication does not depend on thread timing; new signatures are saved at once (finding and
//! original trace) and shrunk by a background thread while the batches go on (bounded by the
//! shrink budget); the state is checkpointed after every batch. A campaign stops at its run count
//! or duration, or on interrupt (Ctrl-C), always after a complete batch and checkpoint; at a
//! normal stop it waits for the queued shrinks, on interrupt it leaves them to the next session.

use crate::findings::{self, Finding, ShrinkSummary, NONDETERMINISM};
use crate::shard::Shard;
use crate::state::{CampaignState, TimelinePoint};
use crate::{run_one, spot_checked, RunOutcome, RunSpec};
use rayon::prelude::*;
use std::collections::BTreeMap;
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
    pub findings: BTreeMap<String, Finding>,
    pub interrupted: bool,
}

/// Runs (or resumes) the campaign in `options.dir`.
pub fn run(options: &Options, interrupt: &AtomicBool, progress: &mut dyn FnMut(&Progress)) -> Result<Outcome, String> {
    std::fs::create_dir_all(&options.dir).map_err(|e| format!("{}: {e}", options.dir.display()))?;
    let state = match CampaignState::load(&options.dir)? {
        Some(s) if !s.merged_from.is_empty() => {
            return Err(format!("{} is a merged report of shards {}, not a campaign to resume: run each shard in its own directory and merge again", options.dir.display(), s.shards()));
        }
        Some(s) if s.spec != options.spec || s.shard != options.shard => {
            return Err(format!("{} holds a campaign with other settings ({}); resume it with those settings or use another directory", options.dir.display(), settings_difference(&s, options)));
        }
        Some(s) => s,
        None => CampaignState::new(options.spec.clone(), options.shard),
    };
    let found = findings::load_all(&options.dir)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(options.threads).build().map_err(|e| e.to_string())?;
    std::thread::scope(|scope| {
        let mut shrinks = Shrinks::start(scope, options, interrupt);
        let (state, mut found, interrupted) = run_batches(options, &pool, state, found, &mut shrinks, interrupt, progress)?;
        shrinks.finish(options, &mut found)?;
        Ok(Outcome { state, findings: found, interrupted })
    })
}

/// Which settings of a stored campaign differ from the requested ones, in command-line terms.
fn settings_difference(stored: &CampaignState, options: &Options) -> String {
    let (was, now) = (&stored.spec, &options.spec);
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
        differences.push(format!("{} --template scenarios there, {} now (or their contents differ)", was.templates.len(), now.templates.len()));
    }
    differences.join("; ")
}

/// The batch loop: runs, aggregates, records new findings and queues them for shrinking,
/// checkpoints, reports progress. Returns the state, the findings and whether it was interrupted.
fn run_batches(
    options: &Options,
    pool: &rayon::ThreadPool,
    mut state: CampaignState,
    mut found: BTreeMap<String, Finding>,
    shrinks: &mut Shrinks,
    interrupt: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(CampaignState, BTreeMap<String, Finding>, bool), String> {
    // Findings an earlier session recorded but did not shrink (or did not finish recording).
    for finding in found.values() {
        if !findings::finding_dir(&options.dir, &finding.signature).join("original.trace").exists() {
            findings::record_original(&options.dir, &options.spec, finding)?;
        }
        shrinks.submit(finding);
    }
    let started = Instant::now();
    let base_elapsed = state.elapsed_s;
    let (mut session_runs, mut session_events) = (0, 0);
    loop {
        if interrupt.load(Ordering::Relaxed) {
            return Ok((state, found, true));
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
        let touched = aggregate(&mut state, &mut found, &outcomes, elapsed);
        shrinks.collect(options, &mut found)?;
        save_findings(options, &found, &touched, shrinks)?;
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
    Ok((state, found, false))
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

    /// Folds in the shrinks finished so far and saves their findings.
    fn collect(&mut self, options: &Options, found: &mut BTreeMap<String, Finding>) -> Result<(), String> {
        while let Ok(result) = self.results.try_recv() {
            self.apply(options, found, result)?;
        }
        Ok(())
    }

    /// Waits for the queued shrinks (after an interrupt they stop at once and save nothing).
    fn finish(mut self, options: &Options, found: &mut BTreeMap<String, Finding>) -> Result<(), String> {
        self.jobs = None;
        while self.pending > 0 {
            let Ok(result) = self.results.recv() else { break };
            self.apply(options, found, result)?;
        }
        Ok(())
    }

    fn apply(&mut self, options: &Options, found: &mut BTreeMap<String, Finding>, (signature, result): ShrinkResult) -> Result<(), String> {
        self.pending -= 1;
        let summary = result.map_err(|e| format!("shrinking {signature}: {e}"))?;
        if let (Some(summary), Some(finding)) = (summary, found.get_mut(&signature)) {
            finding.shrunk = Some(summary);
            findings::save(&options.dir, finding)?;
        }
        Ok(())
    }
}

/// Folds a batch into the state in run order; returns the signatures the batch hit, each with
/// whether it was seen for the first time.
fn aggregate(state: &mut CampaignState, found: &mut BTreeMap<String, Finding>, outcomes: &[RunOutcome], elapsed: f64) -> BTreeMap<String, bool> {
    let mut touched = BTreeMap::new();
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
                    touched.entry(signature).or_insert(false);
                }
                None => {
                    found.insert(signature.clone(), Finding { signature: signature.clone(), first_seed: o.seed, first_seen_s: elapsed, last_seen_s: elapsed, hits: 1, shrunk: None });
                    touched.insert(signature, true);
                }
            }
        }
    }
    touched
}

/// Saves the findings this batch hit: a new one is recorded (`finding.json`, then its original
/// trace) and queued for shrinking; a known one gets its new hit count.
fn save_findings(options: &Options, found: &BTreeMap<String, Finding>, touched: &BTreeMap<String, bool>, shrinks: &mut Shrinks) -> Result<(), String> {
    for (signature, &new) in touched {
        let Some(finding) = found.get(signature) else { continue };
        if new {
            findings::record_original(&options.dir, &options.spec, finding)?;
            shrinks.submit(finding);
        } else {
            findings::save(&options.dir, finding)?;
        }
    }
    Ok(())
}
