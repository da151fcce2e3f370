//! The event loop's side of pipelines, storage steps and authority faults (interface reference,
//! "Pipeline Interface", "Pipeline Policy Enforcement", "Storage Interface"; architecture Phases 5,
//! 6, 9, 10, 12).
//!
//! Each run of a pipeline is a [`PipelineExecutor`] — a pure state machine — in the kernel's
//! pipeline arena ([`crate::kernel::PipelineRun`]), and the loop turns its answers into events
//! (`pipeline/drive.rs` is the reference for the order of the steps):
//! - `StartAttempt`: the handler's CPU ticks are charged to the executing identity (an exhausted
//!   budget cancels the attempt at once), a `StageFailure` fault may replace the handler's result,
//!   the handler's storage use runs in a new transaction (each operation charged first), and the
//!   attempt's outcome becomes a `StageDone` event at `now + duration` — plus a `PipelineDeadline`
//!   event if the deadline comes first;
//! - `WaitUntil`: a `PipelineWake` event at the end of the backoff (plus the deadline if earlier);
//! - `Finished`: the run is over; its outcome and trace stay in the arena for the report.
//!
//! Every scheduled input carries the run's generation, which grows with every answer: an input of
//! an older generation is stale (an outcome the deadline already cancelled, a deadline of an
//! attempt that ended) and is dropped at the head of the queue like a stale wake-up; an input the
//! executor answers with `Action::Nothing` changes nothing. External cancellation (`CancelPipeline`,
//! the executing task's end) is delivered at once. After an outcome, a deadline or a cancellation
//! the attempt's transaction commits if the executor accepted the attempt's success (its trace
//! entry is a success) and rolls back otherwise.
//!
//! Observations, in order: the resource, cancellation and storage records of an input first, then
//! the executor's events, each `PolicyChecked` preceded by its full policy decision.

use super::{Event, Simulation};
use crate::budget::enforcement::Consumption;
use crate::budget::{CpuTicks, ResourceKind};
use crate::cancellation::CancellationReason;
use crate::error::KernelError;
use crate::fault::AuthorityFault;
use crate::ids::TaskId;
use crate::kernel::{PipelineRun, RunningAttempt};
use crate::observation::Observation;
use crate::pipeline::events::Verdict;
use crate::pipeline::{Action, AttemptOrder, ExecutorEnv, PipelineEvent, PipelineExecutionResult, PipelineExecutor, PipelineId, StageResult};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// An input for a pipeline's executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Input {
    Start,
    Outcome,
    Wake,
    Deadline,
    Cancel,
}

impl Simulation<'_> {
    /// Whether a queued pipeline input is stale: its run has moved on since it was scheduled.
    pub(super) fn pipeline_input_is_stale(&self, pipeline: u32, generation: u32) -> bool {
        self.kernel.authority_state().and_then(|a| a.pipelines.get(pipeline as usize)).is_none_or(|r| r.generation != generation)
    }

    /// `RunPipeline`: `task` starts a run of the pipeline declared at `decl`.
    pub(super) fn start_pipeline(&mut self, task: TaskId, decl: usize) -> Result<(), KernelError> {
        if !self.kernel.is_alive(task) {
            return Err(KernelError::InsufficientAuthority);
        }
        let scenario = self.scenario;
        let d = &scenario.pipelines[decl];
        let identity = self.kernel.identity_of(task);
        let a = self.kernel.authority_state_mut().ok_or(KernelError::InsufficientAuthority)?;
        let index = a.pipelines.len();
        let mut spec = d.spec.clone();
        spec.id = PipelineId(index as u64 + 1);
        let source = a.cancellations.new_source();
        let stages = spec.stages.len();
        let (executor, outcome) = match PipelineExecutor::new(spec, identity, d.caps.iter().copied().collect(), source.token(), a.bugs()) {
            Ok(e) => (Some(e), None),
            Err(e) => (None, Some(Err(e))),
        };
        let failed = outcome.is_some();
        let run = PipelineRun {
            decl: decl as u32,
            name: d.spec.name.clone(),
            task,
            source,
            executor,
            outcome,
            generation: 0,
            attempt: None,
            orders: Vec::new(),
            objects: vec![None; stages],
        };
        a.pipelines.push(run);
        self.kernel.stats.pipelines_started += 1;
        if failed {
            // The schema chain did not validate: nothing runs.
            self.kernel.stats.pipelines_failed += 1;
            return Ok(());
        }
        self.pipeline_input(index as u32, Input::Start);
        Ok(())
    }

    /// `CancelPipeline`: cancels the newest unfinished run of the pipeline named `name`.
    pub(super) fn cancel_pipeline(&mut self, name: &str, reason: CancellationReason) -> Result<(), KernelError> {
        let now = self.kernel.now();
        let a = self.kernel.authority_state_mut().ok_or(KernelError::InsufficientAuthority)?;
        let Some(index) = a.pipelines.iter().rposition(|r| r.name == name && !r.is_finished()) else {
            return Err(KernelError::InsufficientAuthority);
        };
        let source = a.pipelines[index].source;
        a.cancellations.cancel(source, reason, now);
        self.kernel.flush_authority();
        self.pipeline_input(index as u32, Input::Cancel);
        Ok(())
    }

    /// Delivers the cancellations of runs whose executing task ended during this event.
    pub(super) fn deliver_pending_cancels(&mut self) {
        let Some(a) = self.kernel.authority_state_mut() else { return };
        if a.pending_cancels.is_empty() {
            return;
        }
        for index in core::mem::take(&mut a.pending_cancels) {
            self.pipeline_input(index, Input::Cancel);
        }
    }

    /// Gives run `index` one input, settles the attempt it ended, observes what the executor did
    /// and schedules what it asks for.
    pub(super) fn pipeline_input(&mut self, index: u32, input: Input) {
        let action = self.executor_input(index as usize, input);
        if matches!(action, Action::Nothing) {
            return;
        }
        self.emit_pipeline(index as usize);
        if matches!(input, Input::Outcome | Input::Deadline | Input::Cancel) {
            self.settle_attempt(index as usize);
        }
        self.apply(index, action);
    }

    fn executor_input(&mut self, index: usize, input: Input) -> Action {
        let now = self.kernel.now();
        let Some(a) = self.kernel.authority_state_mut() else { return Action::Nothing };
        let Some(resources) = a.ledger.as_mut() else { return Action::Nothing };
        let PipelineRun { executor, attempt, .. } = &mut a.pipelines[index];
        let Some(executor) = executor.as_mut() else { return Action::Nothing };
        let exec = executor.identity().execution_id;
        let mut env = ExecutorEnv { now, cancellations: &a.cancellations, policy: a.policy.as_deref(), policy_audit: &mut a.policy_audit, resources };
        let action = match input {
            Input::Start => executor.start(&mut env),
            Input::Outcome => match attempt {
                Some(at) => executor.on_attempt_outcome(at.stage, at.attempt, at.result.clone(), &mut env),
                None => Action::Nothing,
            },
            Input::Wake => executor.on_wake(&mut env),
            Input::Deadline => executor.on_deadline(&mut env),
            Input::Cancel => executor.on_cancel(&mut env),
        };
        let records = a.policy_audit.len();
        a.policy_actors.resize(records, exec);
        action
    }

    /// The observations of what run `index` did during its last input.
    fn emit_pipeline(&mut self, index: usize) {
        self.kernel.flush_authority();
        let Some(a) = self.kernel.authority_state_mut() else { return };
        let Some(executor) = a.pipelines[index].executor.as_mut() else { return };
        let events = executor.take_events();
        let mut checks = executor.take_policy_checks().into_iter();
        for event in events {
            match &event {
                PipelineEvent::PolicyChecked { verdict, .. } if *verdict != Verdict::InvalidDerivation => {
                    if let Some(check) = checks.next() {
                        self.kernel.stats.policy_evaluations += 1;
                        self.kernel.stats.policy_refusals += u64::from(check.refused);
                        self.kernel.observations.push(Observation::Policy(Box::new(check)));
                    }
                }
                PipelineEvent::AttemptStarted { .. } => self.kernel.stats.stage_attempts += 1,
                PipelineEvent::Finished { result, .. } => match result {
                    PipelineExecutionResult::Success => self.kernel.stats.pipelines_succeeded += 1,
                    PipelineExecutionResult::Cancelled { .. } => self.kernel.stats.pipelines_cancelled += 1,
                    _ => self.kernel.stats.pipelines_failed += 1,
                },
                _ => {}
            }
            self.kernel.observations.push(Observation::Pipeline(Box::new(event)));
        }
    }

    /// Commits the ended attempt's transaction if the executor accepted its success, else rolls
    /// it back; a first commit of a stage's object labels it `<pipeline>.<stage>`.
    fn settle_attempt(&mut self, index: usize) {
        let Some(a) = self.kernel.authority_state_mut() else { return };
        let run = &mut a.pipelines[index];
        let Some(attempt) = run.attempt.take() else { return };
        let Some(tx) = attempt.tx else { return };
        let accepted = run.executor.as_ref().is_some_and(|e| {
            e.trace().entries.iter().rev().find(|t| t.stage_id == attempt.stage && t.attempt == attempt.attempt).is_some_and(|t| t.result.is_success())
        });
        let scenario = self.scenario;
        let stage_name = &scenario.pipelines[run.decl as usize].spec.stages[attempt.stage.index()].name;
        let committed = self.kernel.settle_transaction(tx, accepted);
        let Some(created) = attempt.created.filter(|_| committed) else { return };
        if let Some(a) = self.kernel.authority_state_mut() {
            let run = &mut a.pipelines[index];
            run.objects[attempt.stage.index()] = Some(created);
            let label = alloc::format!("{}.{stage_name}", run.name);
            a.bind_object(&label, created);
        }
    }

    fn apply(&mut self, index: u32, action: Action) {
        let Some(a) = self.kernel.authority_state_mut() else { return };
        let run = &mut a.pipelines[index as usize];
        run.generation = run.generation.wrapping_add(1);
        let generation = run.generation;
        match action {
            Action::Nothing => {}
            Action::Finished(result) => run.outcome = Some(result),
            Action::WaitUntil { until, deadline } => {
                self.schedule(until, Event::PipelineWake { pipeline: index, generation });
                if let Some(d) = deadline.filter(|d| *d < until) {
                    self.schedule(d, Event::PipelineDeadline { pipeline: index, generation });
                }
            }
            Action::StartAttempt(order) => self.begin_attempt(index, generation, order),
        }
    }

    /// Runs the handler of one attempt and schedules its outcome (and its deadline, if earlier).
    fn begin_attempt(&mut self, index: u32, generation: u32, order: AttemptOrder) {
        let Some(a) = self.kernel.authority_state_mut() else { return };
        let run = &mut a.pipelines[index as usize];
        run.orders.push(order.clone());
        let (task, decl, object) = (run.task, run.decl as usize, run.objects[order.stage.index()]);
        let scenario = self.scenario;
        let d = &scenario.pipelines[decl];
        let handler = d.handlers.get(order.stage.index()).cloned().unwrap_or_default();
        let stage_name = &d.spec.stages[order.stage.index()].name;
        let mut result = None;
        if handler.cpu_ticks > 0 && self.kernel.charge(task, Consumption::Cpu(CpuTicks(handler.cpu_ticks))).is_err() {
            result = Some(crate::kernel::exhausted_result(ResourceKind::CpuTicks));
        }
        let mut result = match result {
            Some(r) => r,
            None => self.kernel.injected_stage_failure(&d.spec.name, stage_name).unwrap_or_else(|| handler.result(order.attempt)),
        };
        let mut tx = None;
        let mut created = None;
        if let (Some(usage), false) = (&handler.storage, matches!(result, StageResult::Cancelled { .. })) {
            let (t, c, refusal) = self.kernel.stage_storage(task, object, order.stage, usage);
            (tx, created) = (t, c);
            if let Some(r) = refusal {
                result = r;
            }
        }
        let done = if matches!(result, StageResult::Cancelled { .. }) { self.kernel.now() } else { self.kernel.now().after(handler.duration()) };
        if let Some(a) = self.kernel.authority_state_mut() {
            a.pipelines[index as usize].attempt = Some(RunningAttempt { stage: order.stage, attempt: order.attempt, result, tx, created });
        }
        self.schedule(done, Event::StageDone { pipeline: index, generation });
        if let Some(deadline) = order.deadline.filter(|d| *d < done) {
            self.schedule(deadline, Event::PipelineDeadline { pipeline: index, generation });
        }
    }

    /// A timed authority fault (budget squeeze, policy swap) at its time.
    pub(super) fn authority_fault(&mut self, fault: usize) {
        let scenario = self.scenario;
        match &scenario.faults.authority_faults[fault] {
            AuthorityFault::BudgetSqueeze { task, resource, limit, .. } => self.kernel.squeeze_budget(task, *resource, *limit),
            AuthorityFault::PolicySwap { policy, .. } => self.kernel.swap_policy(policy.as_ref()),
            AuthorityFault::StageFailure { .. } | AuthorityFault::StorageCrash { .. } => {}
        }
    }

    /// Schedules the timed authority faults (after the `CrashAt` faults, in plan order).
    pub(super) fn schedule_authority_faults(&mut self) {
        let scenario = self.scenario;
        for (i, f) in scenario.faults.authority_faults.iter().enumerate() {
            if let Some(at) = f.at_ns() {
                self.queue.push(at, Event::AuthorityFault { fault: i as u32 });
            }
        }
    }
}
