//! Test-case reduction: a failing run becomes the smallest scenario that fails the same way.
//!
//! The unit of reduction is a candidate `(scenario, choices)` (DESIGN.md, "Choices, not seeds"):
//! a candidate is tested by replaying its choices; it is kept when its first violation has the
//! same signature (invariant id and subsystem) and it is smaller (see [`size`]). A candidate that
//! fails with another signature is rejected and counted as *slippage*. Passes, repeated until a
//! full round improves nothing (a fixed point) or the budget runs out:
//!
//! 1. cut everything after the failing event (every kept candidate is truncated to its violation);
//! 2. materialise the random workload into explicit steps and tasks;
//! 3. delete array elements anywhere in the scenario (tasks with everything naming them, steps —
//!    a `Spawn` step with everything naming the child it spawns —, fault rules, lifecycle,
//!    authority and input faults, capabilities, children, pipelines, policies and rules, pipeline
//!    stages — with their handlers, the schema chain spliced over the gap —, workspace components,
//!    key scripts, ...) in chunks, halving the chunk size down to single elements; then shorten
//!    each key script, deleting keys in chunks the same way; then simplify each key that is left
//!    (to `a`, or to the same key without modifiers: [`keys`]);
//! 4. merge tasks (drop one task and let another take every part that named it), fold `Grant`
//!    steps into the granted task's initial capabilities, and fold an idle task's
//!    `CreateChannel` + `Register` steps into a `Server` behaviour (the same kernel operations),
//!    and let a transaction that writes an object another one created create it itself;
//! 5. simplify variants (random or periodic fault triggers become `Always`, behaviours `Idle`,
//!    restart policies `Never`) and optional fields left out (a budget's limits, timeouts, the
//!    policy engine);
//! 6. lower numbers (times, counts, delays, sizes, scheduling jitter) to 0 or by halving;
//! 7. shrink the choice list: delete chunks, zero chunks, lower single values.
//!
//! Shrinking is deterministic: passes visit the scenario in a fixed order and only the execution
//! budget bounds them (a wall-clock limit exists as a safety stop and is reported when it hits).
//!
//! Candidates carry no expectations (only the violation signature matters while shrinking); the
//! shrunk scenario expects its violation and states each step's observed result in place.

pub mod keys;
pub mod output;
pub mod size;
pub mod tree;

use model::{RunConfig, RunReport, Scenario};
use serde_json::Value;
use size::{Key, Size};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tree::Seg;

/// Limits of one shrink.
#[derive(Clone, Debug)]
pub struct Budget {
    pub max_executions: u64,
    /// Safety stop; when it hits, the result is the best so far (and may differ between runs).
    pub max_time: Option<Duration>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { max_executions: 20_000, max_time: None }
    }
}

/// Why shrinking stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum StopCause {
    FixedPoint,
    ExecutionBudget,
    TimeBudget,
    Interrupted,
}

/// What an observer is told while shrinking runs.
#[derive(Clone, Debug)]
pub struct Progress {
    pub pass: &'static str,
    pub executions: u64,
    pub accepted: u64,
    pub slippage: u64,
    pub best: Size,
}

/// The result of shrinking.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The smallest failing scenario, with `expect.verdict` set to the violation.
    pub scenario: Scenario,
    /// The choices its replay draws (empty or all zero when it needs no randomness).
    pub choices: Vec<u64>,
    pub signature: String,
    /// The run of the shrunk candidate.
    pub report: RunReport,
    pub before: Size,
    pub after: Size,
    pub executions: u64,
    pub accepted: u64,
    pub slippage: u64,
    /// Candidates rejected without running (they did not deserialize or validate).
    pub invalid: u64,
    pub elapsed: Duration,
    pub stopped: StopCause,
    /// Whether the scenario alone fails the same way under seeded runs (no trace needed).
    pub deterministic: bool,
}

/// Why there is nothing to shrink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShrinkError {
    InvalidScenario(String),
    NoFailure,
}

impl std::fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShrinkError::InvalidScenario(e) => write!(f, "the scenario is not valid: {e}"),
            ShrinkError::NoFailure => write!(f, "nothing to shrink: the run violates no invariant"),
        }
    }
}

#[derive(Clone)]
struct Candidate {
    scenario: Scenario,
    choices: Vec<u64>,
}

struct Shrinker<'a> {
    signature: String,
    /// The original run's limits: candidates run under them and are truncated once kept.
    limits: model::scenario::Limits,
    best: Candidate,
    best_key: Key,
    best_report: RunReport,
    budget: Budget,
    started: Instant,
    interrupt: &'a AtomicBool,
    observer: &'a mut dyn FnMut(&Progress),
    pass: &'static str,
    executions: u64,
    accepted: u64,
    slippage: u64,
    invalid: u64,
    stopped: Option<StopCause>,
}

/// Shrinks the failing run `(scenario, choices)`; `seed` is kept for the output scenario.
pub fn shrink(
    scenario: &Scenario,
    choices: Vec<u64>,
    seed: u64,
    budget: Budget,
    interrupt: &AtomicBool,
    observer: &mut dyn FnMut(&Progress),
) -> Result<Shrunk, ShrinkError> {
    scenario.validate().map_err(|e| ShrinkError::InvalidScenario(e.to_string()))?;
    let mut start = scenario.clone().without_expectations();
    start.limits.stop_on_violation = true;
    start.seed = seed;
    let report = replay_run(&start, choices.clone(), false);
    let violation = report.first_violation().ok_or(ShrinkError::NoFailure)?.clone();
    let drawn = report.choices.clone().unwrap_or_default();
    let before = Size::of(scenario, &report, choices.len());
    let mut s = Shrinker {
        signature: violation.signature(),
        limits: start.limits,
        best_key: size::key(&start, &report, &drawn),
        best: Candidate { scenario: truncated(start, &report), choices: drawn },
        best_report: report,
        budget,
        started: Instant::now(),
        interrupt,
        observer,
        pass: "start",
        executions: 1,
        accepted: 0,
        slippage: 0,
        invalid: 0,
        stopped: None,
    };
    s.run_passes();
    Ok(s.finish(before))
}

/// Runs `scenario` replaying `choices`, recording the choices drawn.
fn replay_run(scenario: &Scenario, choices: Vec<u64>, record_workload: bool) -> RunReport {
    let config = RunConfig { seed: scenario.seed, replay_choices: Some(choices), record_choices: true, record_workload, ..RunConfig::default() };
    model::run(scenario, &config)
}

/// Cuts a failing scenario right after its first violation.
fn truncated(mut scenario: Scenario, report: &RunReport) -> Scenario {
    if let Some(v) = report.first_violation() {
        scenario.limits.max_events = v.event + 1;
        scenario.limits.max_time_ns = v.at.0.max(1);
    }
    scenario
}

impl Shrinker<'_> {
    fn run_passes(&mut self) {
        self.materialize_workload();
        loop {
            let round_start = self.best_key;
            self.delete_elements();
            self.shorten_key_scripts();
            self.simplify_keys();
            self.merge_tasks();
            self.fold_grants();
            self.fold_services();
            self.fold_creations();
            self.simplify_variants();
            self.clear_options();
            self.lower_numbers();
            self.shrink_choices();
            if self.stopped.is_some() {
                return;
            }
            if self.best_key == round_start {
                self.stopped = Some(StopCause::FixedPoint);
                return;
            }
        }
    }

    fn exhausted(&mut self) -> bool {
        if self.stopped.is_some() {
            return true;
        }
        let cause = if self.interrupt.load(Ordering::Relaxed) {
            Some(StopCause::Interrupted)
        } else if self.executions >= self.budget.max_executions {
            Some(StopCause::ExecutionBudget)
        } else if self.budget.max_time.is_some_and(|t| self.started.elapsed() >= t) {
            Some(StopCause::TimeBudget)
        } else {
            None
        };
        self.stopped = cause;
        cause.is_some()
    }

    /// Tests a candidate; keeps it if it fails the same way and is smaller.
    fn test(&mut self, mut scenario: Scenario, choices: Vec<u64>) -> bool {
        if self.exhausted() {
            return false;
        }
        scenario.limits.max_events = self.limits.max_events;
        scenario.limits.max_time_ns = self.limits.max_time_ns;
        if scenario.validate().is_err() {
            self.invalid += 1;
            return false;
        }
        self.executions += 1;
        let report = replay_run(&scenario, choices, false);
        let kept = match report.first_violation() {
            None => false,
            Some(v) if v.signature() != self.signature => {
                self.slippage += 1;
                false
            }
            Some(_) => {
                let drawn = report.choices.clone().unwrap_or_default();
                let key = size::key(&scenario, &report, &drawn);
                if key < self.best_key {
                    self.best_key = key;
                    self.best = Candidate { scenario: truncated(scenario, &report), choices: drawn };
                    self.best_report = report;
                    self.accepted += 1;
                    true
                } else {
                    false
                }
            }
        };
        self.notify();
        kept
    }

    fn test_tree(&mut self, tree: &Value) -> bool {
        match tree::from_tree(tree) {
            Some(scenario) => self.test(scenario, self.best.choices.clone()),
            None => {
                self.invalid += 1;
                false
            }
        }
    }

    fn notify(&mut self) {
        let best = Size::of(&self.best.scenario, &self.best_report, self.best.choices.len());
        let progress = Progress { pass: self.pass, executions: self.executions, accepted: self.accepted, slippage: self.slippage, best };
        (self.observer)(&progress);
    }

    /// Pass 2: the workload's operations become explicit tasks and steps.
    fn materialize_workload(&mut self) {
        self.pass = "materialise workload";
        if self.best.scenario.workload.is_none() {
            return;
        }
        let run = replay_run(&self.best.scenario, self.best.choices.clone(), true);
        let Some(record) = run.workload_record else { return };
        let mut s = self.best.scenario.clone();
        s.tasks.extend(record.tasks);
        s.steps.extend(record.steps);
        s.workload = None;
        // The kernel's own draws stay, in order; the workload's decisions are now explicit.
        let own: std::collections::BTreeSet<u64> = record.draws.into_iter().collect();
        let rest: Vec<u64> = self.best.choices.iter().enumerate().filter(|(i, _)| !own.contains(&(*i as u64))).map(|(_, c)| *c).collect();
        if !self.test(s.clone(), rest) {
            self.test(s, Vec::new());
        }
    }

    /// Pass 3: delete array elements in chunks (ddmin-style), deepest arrays first.
    fn delete_elements(&mut self) {
        self.pass = "delete elements";
        for path in tree::array_paths(&tree::to_tree(&self.best.scenario)) {
            let len = |s: &Self| tree::get(&tree::to_tree(&s.best.scenario), &path).and_then(Value::as_array).map_or(0, Vec::len);
            let mut chunk = len(self).div_ceil(2).max(1);
            loop {
                let mut i = 0;
                while i < len(self) && !self.exhausted() {
                    let candidate = without(&tree::to_tree(&self.best.scenario), &path, i, chunk);
                    if !self.test_tree(&candidate) {
                        i += chunk;
                    }
                }
                if chunk == 1 || self.stopped.is_some() {
                    break;
                }
                chunk = chunk.div_ceil(2);
            }
        }
    }

    /// Pass 3b: shorten the workspace's key scripts, deleting keys in chunks
    /// (halves first, then single keys; a named key such as `<Esc>` is one key).
    fn shorten_key_scripts(&mut self) {
        self.pass = "shorten key scripts";
        let count = |s: &Scenario| s.workspace.as_ref().map_or(0, |w| w.keys.len());
        for i in 0..count(&self.best.scenario) {
            let script_keys = |s: &Scenario| s.workspace.as_ref().and_then(|w| w.keys.get(i)).map(|k| keys::tokens(&k.keys)).unwrap_or_default();
            let mut chunk = script_keys(&self.best.scenario).len().div_ceil(2).max(1);
            loop {
                let mut at = 0;
                while at < script_keys(&self.best.scenario).len() && !self.exhausted() {
                    let mut tokens = script_keys(&self.best.scenario);
                    let end = (at + chunk).min(tokens.len());
                    tokens.drain(at..end);
                    let mut candidate = self.best.scenario.clone();
                    if let Some(k) = candidate.workspace.as_mut().and_then(|w| w.keys.get_mut(i)) {
                        k.keys = tokens.concat();
                    }
                    if !self.test(candidate, self.best.choices.clone()) {
                        at += chunk;
                    }
                }
                if chunk == 1 || self.stopped.is_some() {
                    break;
                }
                chunk = chunk.div_ceil(2);
            }
        }
    }

    /// Pass 3c: replace each key of the workspace's key scripts by a simpler one (`a` first, then
    /// the key without its modifiers), keeping the first replacement that still fails the same way.
    fn simplify_keys(&mut self) {
        self.pass = "simplify keys";
        let scripts = |s: &Scenario| s.workspace.as_ref().map_or(0, |w| w.keys.len());
        for i in 0..scripts(&self.best.scenario) {
            let script_keys = |s: &Scenario| s.workspace.as_ref().and_then(|w| w.keys.get(i)).map(|k| keys::tokens(&k.keys)).unwrap_or_default();
            for at in 0..script_keys(&self.best.scenario).len() {
                let Some(token) = script_keys(&self.best.scenario).get(at).cloned() else { break };
                for simpler in keys::simpler(&token) {
                    if self.exhausted() {
                        return;
                    }
                    let mut tokens = script_keys(&self.best.scenario);
                    tokens[at] = simpler;
                    let mut candidate = self.best.scenario.clone();
                    if let Some(k) = candidate.workspace.as_mut().and_then(|w| w.keys.get_mut(i)) {
                        k.keys = tokens.concat();
                    }
                    if self.test(candidate, self.best.choices.clone()) {
                        break;
                    }
                }
            }
        }
    }

    /// Pass 4a: for each pair of top-level tasks, drop the first and rename every mention of it
    /// to the second.
    fn merge_tasks(&mut self) {
        self.pass = "merge tasks";
        let mut i = 0;
        while i < self.best.scenario.tasks.len() && !self.exhausted() {
            let names: Vec<String> = self.best.scenario.tasks.iter().map(|t| t.name.clone()).collect();
            let merged = names.iter().enumerate().filter(|(j, _)| *j != i).any(|(_, into)| {
                let mut candidate = tree::to_tree(&self.best.scenario);
                if let Some(Value::Array(tasks)) = candidate.get_mut("tasks") {
                    tasks.remove(i);
                }
                tree::rename(&mut candidate, &names[i], into);
                self.test_tree(&candidate)
            });
            if !merged {
                i += 1;
            }
        }
    }

    /// Pass 4b: a `Grant` step becomes an initial capability of the top-level task it names.
    fn fold_grants(&mut self) {
        self.pass = "fold grants";
        let mut i = 0;
        while i < self.best.scenario.steps.len() && !self.exhausted() {
            let step = &self.best.scenario.steps[i];
            let folded = match &step.op {
                model::scenario::StepOp::Grant { task, cap, kind, durable } => {
                    let mut s = self.best.scenario.clone();
                    let grant = model::scenario::CapGrant { label: cap.clone(), kind: kind.clone(), durable: *durable };
                    match s.tasks.iter_mut().find(|t| t.name == *task) {
                        Some(spec) => {
                            spec.caps.push(grant);
                            s.steps.remove(i);
                            self.test(s, self.best.choices.clone())
                        }
                        None => false,
                    }
                }
                _ => false,
            };
            if !folded {
                i += 1;
            }
        }
    }

    /// Pass 4c: an idle task that creates a channel and registers a service on it by steps
    /// becomes a `Server` of that service (its start does exactly those two operations); later
    /// steps move 1 ns so they still come after the server's start.
    fn fold_services(&mut self) {
        use model::scenario::{Behaviour, StepOp};
        self.pass = "fold services";
        let steps = self.best.scenario.steps.clone();
        for (r, reg) in steps.iter().enumerate() {
            let StepOp::Register { task, service, channel } = &reg.op else { continue };
            let created = steps.iter().position(|s| matches!(&s.op, StepOp::CreateChannel { task: t, channel: c, .. } if t == task && c == channel));
            let (Some(c), Some(spec)) = (created, self.best.scenario.tasks.iter().position(|t| t.name == *task)) else { continue };
            if self.best.scenario.tasks[spec].behaviour != Behaviour::Idle || self.exhausted() {
                continue;
            }
            let mut s = self.best.scenario.clone();
            s.tasks[spec].behaviour = Behaviour::Server { service: service.clone(), version: Default::default(), min_major: None, work_ns: 0 };
            let after = reg.at_ns.max(steps[c].at_ns);
            s.steps = steps.iter().enumerate().filter(|(i, _)| *i != r && *i != c).map(|(_, st)| st.clone()).collect();
            for st in &mut s.steps {
                if st.at_ns <= after {
                    st.at_ns = after + 1;
                }
            }
            if self.test(s, self.best.choices.clone()) {
                return;
            }
        }
    }

    /// Pass 4d: a transaction that writes an object another transaction created creates it
    /// itself instead: the `Create` step moves into the writing transaction (whose `Begin` moves
    /// just before it if it came later) and that first write goes.
    fn fold_creations(&mut self) {
        self.pass = "fold creations";
        let mut w = 0;
        while w < self.best.scenario.steps.len() && !self.exhausted() {
            let folded = match fold_creation(&self.best.scenario.steps, w) {
                Some(steps) => {
                    let s = Scenario { steps, ..self.best.scenario.clone() };
                    self.test(s, self.best.choices.clone())
                }
                None => false,
            };
            if !folded {
                w += 1;
            }
        }
    }

    /// Pass 5: simpler variants.
    fn simplify_variants(&mut self) {
        self.pass = "simplify variants";
        let tree = tree::to_tree(&self.best.scenario);
        let sites: Vec<(tree::Path, &'static [&'static str])> = tree::walk(&tree).into_iter().filter_map(|(p, v)| simpler(v).map(|r| (p, r))).collect();
        for (path, replacements) in sites {
            for replacement in replacements {
                let mut candidate = tree::to_tree(&self.best.scenario);
                if let Some(slot) = tree::get_mut(&mut candidate, &path) {
                    *slot = Value::String((*replacement).into());
                }
                if self.test_tree(&candidate) {
                    break;
                }
            }
        }
    }

    /// Pass 5b: optional fields left out (a candidate whose field is not optional does not
    /// deserialize and costs no execution).
    fn clear_options(&mut self) {
        self.pass = "clear options";
        for path in tree::field_paths(&tree::to_tree(&self.best.scenario)) {
            if self.exhausted() {
                return;
            }
            let mut candidate = tree::to_tree(&self.best.scenario);
            match tree::get_mut(&mut candidate, &path) {
                Some(slot) if !slot.is_null() => *slot = Value::Null,
                _ => continue,
            }
            self.test_tree(&candidate);
        }
    }

    /// Pass 6: numbers toward zero: try 0, then half; repeat while a try is kept.
    fn lower_numbers(&mut self) {
        self.pass = "lower numbers";
        for path in tree::number_paths(&tree::to_tree(&self.best.scenario)) {
            if is_fixed_number(&path) {
                continue;
            }
            while !self.exhausted() {
                let Some(current) = tree::get(&tree::to_tree(&self.best.scenario), &path).and_then(Value::as_u64) else { break };
                let kept = [0, current / 2].into_iter().filter(|&t| t < current).any(|target| {
                    let mut candidate = tree::to_tree(&self.best.scenario);
                    if let Some(slot) = tree::get_mut(&mut candidate, &path) {
                        *slot = Value::from(target);
                    }
                    self.test_tree(&candidate)
                });
                if !kept {
                    break;
                }
            }
        }
    }

    /// Pass 7: the choice list — delete chunks, zero chunks, lower single values.
    fn shrink_choices(&mut self) {
        self.pass = "shrink choices";
        let edits: [fn(&mut Vec<u64>, usize, usize); 2] = [
            |c, i, n| {
                c.drain(i..(i + n).min(c.len()));
            },
            |c, i, n| {
                let end = (i + n).min(c.len());
                c[i..end].iter_mut().for_each(|x| *x = 0);
            },
        ];
        for edit in edits {
            let mut chunk = self.best.choices.len().div_ceil(2).max(1);
            loop {
                let mut i = 0;
                while i < self.best.choices.len() && !self.exhausted() {
                    let mut choices = self.best.choices.clone();
                    edit(&mut choices, i, chunk);
                    if choices == self.best.choices || !self.test(self.best.scenario.clone(), choices) {
                        i += chunk;
                    }
                }
                if chunk == 1 || self.stopped.is_some() {
                    break;
                }
                chunk = chunk.div_ceil(2);
            }
        }
        for i in 0..self.best.choices.len() {
            let Some(&v) = self.best.choices.get(i) else { break };
            if v > 1 && !self.exhausted() {
                let mut choices = self.best.choices.clone();
                choices[i] = v / 2;
                self.test(self.best.scenario.clone(), choices);
            }
        }
    }

    fn finish(mut self, before: Size) -> Shrunk {
        let stopped = self.stopped.unwrap_or(StopCause::FixedPoint);
        let mut scenario = self.best.scenario.clone();
        let violation = self.best_report.first_violation().cloned();
        if let Some(v) = &violation {
            scenario.expect.verdict = model::scenario::ExpectedVerdict::Violation(v.invariant.clone());
        }
        scenario.description = format!("Minimal reproduction of {} (shrunk from scenario {:?}).", self.signature, scenario.name);
        scenario.name = format!("{}-shrunk", scenario.name);
        let deterministic = reproduces_seeded(&scenario, &self.signature);
        let scenario = with_step_results(scenario, deterministic, &self.best.choices);
        let after = Size::of(&scenario, &self.best_report, self.best.choices.len());
        self.pass = "done";
        self.notify();
        Shrunk {
            scenario,
            choices: self.best.choices,
            signature: self.signature,
            report: self.best_report,
            before,
            after,
            executions: self.executions,
            accepted: self.accepted,
            slippage: self.slippage,
            invalid: self.invalid,
            elapsed: self.started.elapsed(),
            stopped,
            deterministic,
        }
    }
}

/// The steps with write step `w` folded into the creation of its object (see
/// [`Shrinker::fold_creations`]), if `w` writes an object another transaction created earlier.
fn fold_creation(steps: &[model::scenario::Step], w: usize) -> Option<Vec<model::scenario::Step>> {
    use model::scenario::{StepOp, StorageStep};
    let StepOp::Storage { task, tx, op } = &steps[w].op else { return None };
    let object = match op {
        StorageStep::Write { object, .. } | StorageStep::Put { object, .. } | StorageStep::Remove { object, .. } => object,
        _ => return None,
    };
    let created = |s: &model::scenario::Step| matches!(&s.op, StepOp::Storage { tx: t, op: StorageStep::Create { object: o, .. }, .. } if t != tx && o == object);
    let c = steps[..w].iter().position(created)?;
    let b = steps.iter().position(|s| matches!(&s.op, StepOp::Storage { tx: t, op: StorageStep::Begin, .. } if t == tx))?;
    let mut out = steps.to_vec();
    if let StepOp::Storage { task: t, tx: x, .. } = &mut out[c].op {
        *t = task.clone();
        *x = tx.clone();
    }
    out.remove(w);
    if b > c {
        let mut begin = out.remove(b);
        begin.at_ns = out[c].at_ns;
        out.insert(c, begin);
    }
    Some(out)
}

/// Whether seeded runs of the scenario (its own seed and two others) all fail with `signature`.
fn reproduces_seeded(scenario: &Scenario, signature: &str) -> bool {
    [scenario.seed, scenario.seed.wrapping_add(1), scenario.seed.wrapping_add(2)].iter().all(|&seed| {
        let report = model::run(scenario, &RunConfig::seeded(seed));
        report.first_violation().is_some_and(|v| v.signature() == signature)
    })
}

/// The shrunk scenario with each step's observed result written in place (`expect: Ok`,
/// `expect: Err(InvalidCapability)`, `expect: Invalid(NotOwner)`), so the repro states what every
/// step does. The results come from the run the file is checked under (its own seed when it
/// reproduces alone, else its recorded choices), and are kept only if that run meets them all.
fn with_step_results(scenario: Scenario, deterministic: bool, choices: &[u64]) -> Scenario {
    use model::report::StepValue;
    use model::scenario::StepOutcome;
    let config = if deterministic { RunConfig::seeded(scenario.seed) } else { RunConfig { seed: scenario.seed, replay_choices: Some(choices.to_vec()), ..RunConfig::default() } };
    let report = model::run(&scenario, &config);
    let mut stated = scenario.clone();
    for (i, step) in stated.steps.iter_mut().enumerate() {
        let value = report.step_values.get(i).copied().unwrap_or_default();
        step.expect = match (report.step_results.get(i).copied().flatten(), value) {
            (None, _) => None,
            (Some(_), StepValue::Validity(Ok(()))) => Some(StepOutcome::Valid),
            (Some(_), StepValue::Validity(Err(reason))) => Some(StepOutcome::Invalid(reason)),
            (Some(Ok(())), _) => Some(StepOutcome::Ok),
            (Some(Err(kind)), _) => Some(StepOutcome::Err(kind)),
        };
    }
    if model::run(&stated, &config).passed() {
        stated
    } else {
        scenario
    }
}

/// Numbers the passes leave alone: the seed and the limits set by truncation.
fn is_fixed_number(path: &[Seg]) -> bool {
    matches!(path.first(), Some(Seg::Key(k)) if k == "seed")
        || matches!(path, [Seg::Key(a), Seg::Key(b)] if a == "limits" && (b == "max_events" || b == "max_time_ns"))
}

/// Simpler replacements for an externally tagged enum value, if it has any.
fn simpler(v: &Value) -> Option<&'static [&'static str]> {
    let tag = match v {
        Value::Object(map) if map.len() == 1 => map.keys().next().map(String::as_str),
        Value::String(s) => Some(s.as_str()),
        _ => None,
    }?;
    match tag {
        "Chance" | "Window" | "EveryNth" | "Next" => Some(&["Always"]),
        "Client" | "Server" | "Forwarder" | "CapPasser" | "Supervisor" => Some(&["Idle"]),
        "ExponentialBackoff" | "OnFailure" => Some(&["Never", "Always"]),
        // A restart policy (a fault trigger has no `Never`, so there the candidate does not load).
        "Always" => Some(&["Never"]),
        _ => None,
    }
}

/// The tree with `count` elements removed from the array at `path` starting at `at`; removing
/// tasks also removes every array element anywhere that names them, removing pipeline stages
/// also removes their handlers and keeps the schema chain whole.
fn without(tree: &Value, path: &[Seg], at: usize, count: usize) -> Value {
    let mut out = tree.clone();
    let Some(items) = tree::get_mut(&mut out, path).and_then(Value::as_array_mut) else { return out };
    let end = (at + count).min(items.len());
    let removed: Vec<Value> = items.drain(at..end).collect();
    if tree::holds_stages(path) {
        splice_stages(&mut out, &path[..2], at, &removed);
        return out;
    }
    let names = if tree::holds_tasks(path) { tree::task_names(&removed) } else { tree::spawned_names(&removed) };
    if !names.is_empty() {
        remove_mentions(&mut out, &names);
    }
    out
}

/// After stages `at..at + removed.len()` of the pipeline at `pipeline` were removed: their
/// handlers go too, and the stage before the gap now produces what the last removed stage
/// produced (or, with none before it, the stage after the gap takes what the first removed stage
/// took), so the schema chain still validates.
fn splice_stages(tree: &mut Value, pipeline: &[Seg], at: usize, removed: &[Value]) {
    let Some(decl) = tree::get_mut(tree, pipeline) else { return };
    if let Some(handlers) = decl.get_mut("handlers").and_then(Value::as_array_mut) {
        let end = (at + removed.len()).min(handlers.len());
        handlers.drain(at.min(end)..end);
    }
    let (Some(first), Some(last)) = (removed.first(), removed.last()) else { return };
    let Some(spec) = decl.get_mut("spec") else { return };
    let before = at.checked_sub(1);
    let Some(stages) = spec.get_mut("stages").and_then(Value::as_array_mut) else { return };
    let (index, field, schema) = match before {
        Some(b) => (b, "output_schema", last.get("output_schema")),
        None => (0, "input_schema", first.get("input_schema")),
    };
    match (stages.get_mut(index).and_then(Value::as_object_mut), schema) {
        (Some(stage), Some(schema)) => {
            stage.insert(field.into(), schema.clone());
        }
        _ => {
            // No stage left: the pipeline's output is its input.
            if let Some(input) = spec.get("initial_input_schema").cloned() {
                spec["final_output_schema"] = input;
            }
        }
    }
}

fn remove_mentions(v: &mut Value, names: &[String]) {
    match v {
        Value::Array(items) => {
            items.retain(|item| !tree::mentions(item, names));
            items.iter_mut().for_each(|i| remove_mentions(i, names));
        }
        Value::Object(map) => map.values_mut().for_each(|x| remove_mentions(x, names)),
        _ => {}
    }
}
