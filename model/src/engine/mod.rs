//! The single-threaded discrete-event loop (DESIGN.md, "A discrete-event loop").
//!
//! Virtual time is in nanoseconds; the queue is ordered by (time, insertion sequence), so ties
//! are broken by the order effects were scheduled, never by anything outside the run. Every
//! effect is an [`Event`]: spawning a scenario task, waking a task (start, message, child exit,
//! timeout), delivering a delayed message, a scenario step, a workload operation, a timed crash.
//! Per event: take it (O(log n)), let it act on the kernel, apply lifecycle crashes, schedule the
//! timers the kernel asked for, check the invariants on the event's observations, and fold the
//! event, its observations and the digest of the choices drawn so far into the trace hash.
//!
//! The hot path (DESIGN.md, "The hot path is data-oriented"): a queue entry is 32 bytes (time,
//! sequence, and an [`Event`] of ids — a delayed message waits in the kernel's in-flight store,
//! not in the queue); buffers are drained, never reallocated; the trace hash folds fixed-size
//! words ([`crate::trace_hash::Fold`]). A wake-up whose parking has ended (the reply came before
//! the timeout) is discarded when it reaches the head of the queue, before it is counted, hashed
//! or checked: it is not an event of the run, only a number in `RunStats::ignored_wakeups`, and
//! the run's end time is the time of its last real event.
//!
//! Same-instant order: events at the same virtual time run in the order they were scheduled.
//! At the start, scenario tasks are scheduled first (in file order), then steps (in file order),
//! then `CrashAt` faults (in plan order), then the timed authority faults, then the network's
//! node starts, crashes and restarts (`engine/net.rs`; in lite builds the lite node's start and
//! script, `engine/lite.rs`), then the workload's first operation; everything else is
//! scheduled while the run goes, after everything already queued for its time. The user-facing
//! statement, with every tie and an example file, is `scenarios/README.md`, "Same-instant order".
//!
//! Scenario steps (`run_step`) act on the kernel on behalf of the tasks they name; a blocking
//! `Receive` lends its idle task a [`BlockedReceive`] and completes when the task resumes. What
//! expectations need is kept off the hot path: step results and values, the history of label
//! bindings, and a [`Watch`] only when the scenario has order, timing or occurrence expectations;
//! `expect::evaluate` reads them after the run.

mod authority;
#[cfg(feature = "net-bringup-lite")]
mod lite;
#[cfg(feature = "net-canonical")]
mod net;
mod interactive;
mod slots;

use crate::behaviour::{BlockedReceive, Ctx, Next, TaskBehaviour};
use crate::capability::{AuditKind, InvalidUseReason};
use crate::choices::Choices;
use crate::error::KernelError;
use crate::expect;
use crate::fault::LifecycleFault;
use crate::identity::{ExitReason, TrustDomain};
use crate::ids::{CapId, ChannelId, TaskId};
use crate::invariants::Monitors;
use crate::kernel::{SimulatedKernel, TaskContext, TaskDescriptor, Timer, WakeCause};
use crate::message::{MessageEnvelope, MessagePayload, ServiceId};
use crate::names::well_known;
use crate::observation::{FaultKind, Observation};
use crate::pattern::Labels;
use crate::report::{ChoiceCheck, EventRecord, RuleCount, RunReport, StepResult, StepValue, StopReason, TaskRow};
use crate::scenario::{Scenario, StepOp, TaskSpec};
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use crate::watch::Watch;
use crate::workload::WorkloadDriver;
use crate::event_queue::EventQueue;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// How to run a scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunConfig {
    /// Seed of the choices (ignored when `replay_choices` is set).
    pub seed: u64,
    /// Keep every choice drawn (for trace files).
    pub record_choices: bool,
    /// Keep the trace hash after every event (for trace files and divergence reports).
    pub record_digests: bool,
    /// Take the choices from this list instead of the seeded generator.
    pub replay_choices: Option<Vec<u64>>,
    /// Keep a one-line description of every event (for traces and divergence reports).
    pub record_events: bool,
    /// Keep the workload's operations as explicit scenario steps (for shrinking).
    pub record_workload: bool,
    /// With `replay_choices`: also draw from the generator of `seed` in step with the list and
    /// report the first value that departs from it (`RunReport::choice_check`), which names the
    /// edited choice of a trace recorded from that seed.
    pub shadow_seed: bool,
}

impl RunConfig {
    /// A plain seeded run.
    pub fn seeded(seed: u64) -> Self {
        RunConfig { seed, ..RunConfig::default() }
    }
}

/// Runs a validated scenario to completion.
pub fn run(scenario: &Scenario, config: &RunConfig) -> RunReport {
    Simulation::new(scenario, config).run()
}

/// One thing that happens at one virtual time: a few ids, never a whole message. Its fixed
/// binary form is hashed into the trace ([`Fold`]): new variants take new tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Spawn scenario task number `task` (top-level tasks only).
    Spawn { task: u32 },
    /// Wake task `task` for parking number `token`.
    Wake { task: u32, token: u32, cause: WakeCause },
    /// Enqueue the delayed message in the kernel's in-flight slot `slot` on `channel`.
    Deliver { channel: u32, slot: u32 },
    Step { index: u32 },
    Workload,
    CrashAt { fault: u32 },
    /// The attempt pipeline run `pipeline` waits for ends (scheduled at generation `generation`).
    StageDone { pipeline: u32, generation: u32 },
    /// A backoff of pipeline run `pipeline` ends.
    PipelineWake { pipeline: u32, generation: u32 },
    /// A deadline of pipeline run `pipeline` (the pipeline's or the stage's) is reached.
    PipelineDeadline { pipeline: u32, generation: u32 },
    /// A timed authority fault (budget squeeze, policy swap) of the plan.
    AuthorityFault { fault: u32 },
    /// The network action waiting in slot `slot` (a node's start, crash or restart, a packet's
    /// arrival, a soft-bus timer; `engine/net.rs`).
    Net { slot: u32 },
    /// The workspace starts: declared components launch, keys are scheduled.
    WorkspaceStart,
    /// Key number `key` of the run's input arrives.
    Key { key: u32 },
}

impl Fold for Event {
    fn fold(&self, h: &mut TraceHasher) {
        match *self {
            Event::Spawn { task } => h.tag(0, u64::from(task)),
            Event::Wake { task, token, cause } => h.tag(1, (u64::from(task) << 34) ^ (u64::from(token) << 2) ^ cause as u64),
            Event::Deliver { channel, slot } => h.tag(2, (u64::from(channel) << 32) ^ u64::from(slot)),
            Event::Step { index } => h.tag(3, u64::from(index)),
            Event::Workload => h.tag(4, 0),
            Event::CrashAt { fault } => h.tag(5, u64::from(fault)),
            Event::StageDone { pipeline, generation } => h.tag(6, (u64::from(pipeline) << 32) ^ u64::from(generation)),
            Event::PipelineWake { pipeline, generation } => h.tag(7, (u64::from(pipeline) << 32) ^ u64::from(generation)),
            Event::PipelineDeadline { pipeline, generation } => h.tag(8, (u64::from(pipeline) << 32) ^ u64::from(generation)),
            Event::AuthorityFault { fault } => h.tag(9, u64::from(fault)),
            Event::Net { slot } => h.tag(20, u64::from(slot)),
            Event::WorkspaceStart => h.tag(10, 0),
            Event::Key { key } => h.tag(11, u64::from(key)),
        }
    }
}

const _: () = assert!(core::mem::size_of::<Event>() <= 12, "queue entries stay small");

/// Receives every event of a run as it is processed (a streaming trace recorder, a replay
/// verifier). Installed with [`Simulation::with_sink`].
pub trait EventSink {
    /// Whether the sink wants `what`/`effects` descriptions (they cost formatting).
    fn wants_descriptions(&self) -> bool {
        false
    }
    /// One processed event.
    fn event(&mut self, event: &EventSummary<'_>);
    /// Whether the run should stop now (a verifier that found a divergence).
    fn stop(&self) -> bool {
        false
    }
}

/// What a sink is told about one processed event.
#[derive(Clone, Copy, Debug)]
pub struct EventSummary<'a> {
    pub index: u64,
    /// Virtual time in nanoseconds.
    pub at: u64,
    /// The choices drawn during the event, in order.
    pub choices: &'a [u64],
    /// Trace hash after the event.
    pub digest: u64,
    pub what: Option<&'a str>,
    pub effects: Option<&'a str>,
}

/// A run in progress.
pub struct Simulation<'s> {
    scenario: &'s Scenario,
    seed: u64,
    kernel: SimulatedKernel,
    queue: EventQueue<Event>,
    behaviours: Vec<TaskBehaviour>,
    cap_labels: BTreeMap<String, CapId>,
    chan_labels: BTreeMap<String, ChannelId>,
    /// Every capability / channel each label was ever bound to (for expectations).
    cap_history: Labels,
    chan_history: Labels,
    /// What each step produced (a message, an `IsValid` answer), for step expectations.
    step_values: Vec<StepValue>,
    /// A log of the events order, timing and occurrence expectations name (only when the
    /// scenario has such expectations).
    watch: Option<Watch>,
    monitors: Monitors,
    hasher: TraceHasher,
    digests: Option<Vec<u64>>,
    event_log: Option<Vec<EventRecord>>,
    step_results: Vec<StepResult>,
    workload: Option<WorkloadDriver>,
    spawned: Vec<(TaskId, TaskSpec)>,
    events: u64,
    sink: Option<&'s mut dyn EventSink>,
    /// Keep every choice in the report (`RunConfig::record_choices`).
    keep_choices: bool,
    /// The scenario's network, if it has one.
    #[cfg(feature = "net-canonical")]
    net: Option<alloc::boxed::Box<net::NetRun>>,
    /// The scenario's bring-up lite node, if it has one (lite builds).
    #[cfg(feature = "net-bringup-lite")]
    lite: Option<alloc::boxed::Box<lite::LiteRun>>,
}

impl<'s> Simulation<'s> {
    pub fn new(scenario: &'s Scenario, config: &RunConfig) -> Self {
        let mut choices = match &config.replay_choices {
            Some(list) if config.shadow_seed => Choices::replaying(list.clone()).with_seed_shadow(config.seed),
            Some(list) => Choices::replaying(list.clone()),
            None => Choices::seeded(config.seed),
        };
        if config.record_choices || config.record_events {
            choices = choices.recording();
        }
        let mut kernel = SimulatedKernel::new(&scenario.faults, &scenario.bugs, choices);
        intern_scenario_names(scenario, &mut kernel);
        kernel.install_authority(scenario);
        let mut monitors = Monitors::for_run(kernel.budgets_on());
        #[cfg(feature = "net-canonical")]
        let net = net::NetRun::of(scenario);
        #[cfg(feature = "net-canonical")]
        if let (Some(_), Some(n)) = (&net, &scenario.network) {
            monitors = monitors.with_network(n.faults.clone());
        }
        #[cfg(feature = "net-bringup-lite")]
        let lite = lite::LiteRun::of(scenario);
        #[cfg(feature = "net-bringup-lite")]
        if lite.is_some() {
            monitors = monitors.with_network(crate::net::NetFaultPlan::default());
        }
        let workload = scenario.workload.as_ref().map(|w| {
            let pipelines = scenario.pipelines.iter().map(|p| p.spec.name.clone()).collect();
            let driver = WorkloadDriver::new(w, scenario.provided_services().into_iter().collect(), pipelines, &mut kernel);
            if config.record_workload { driver.recording() } else { driver }
        });
        let mut sim = Simulation {
            scenario,
            seed: config.seed,
            kernel,
            queue: EventQueue::default(),
            behaviours: Vec::new(),
            cap_labels: BTreeMap::new(),
            chan_labels: BTreeMap::new(),
            cap_history: Labels::default(),
            chan_history: Labels::default(),
            step_values: vec![StepValue::None; scenario.steps.len()],
            watch: scenario.expect.watches_events().then(|| Watch::new(&scenario.expect)),
            monitors,
            hasher: TraceHasher::default(),
            digests: config.record_digests.then(Vec::new),
            event_log: config.record_events.then(Vec::new),
            step_results: vec![None; scenario.steps.len()],
            workload,
            spawned: Vec::new(),
            events: 0,
            sink: None,
            keep_choices: config.record_choices,
            #[cfg(feature = "net-canonical")]
            net,
            #[cfg(feature = "net-bringup-lite")]
            lite,
        };
        sim.schedule_initial_events();
        sim
    }

    /// Streams every processed event to `sink` (choices are recorded event by event, so memory
    /// does not grow with the run unless `record_choices` also asks for the whole list).
    pub fn with_sink(mut self, sink: &'s mut dyn EventSink) -> Self {
        self.kernel.choices.record_from_now();
        self.sink = Some(sink);
        self
    }

    fn schedule(&mut self, at: Instant, event: Event) {
        self.queue.push(at.0, event);
    }

    fn schedule_initial_events(&mut self) {
        let s = self.scenario;
        for (i, t) in s.tasks.iter().enumerate() {
            self.schedule(Instant(t.start_ns), Event::Spawn { task: i as u32 });
        }
        if s.workspace.is_some() {
            self.schedule(Instant(0), Event::WorkspaceStart);
        }
        for (i, step) in s.steps.iter().enumerate() {
            self.schedule(Instant(step.at_ns), Event::Step { index: i as u32 });
        }
        for (i, f) in s.faults.lifecycle_faults.iter().enumerate() {
            if let LifecycleFault::CrashAt { at_ns, .. } = f {
                self.schedule(Instant(*at_ns), Event::CrashAt { fault: i as u32 });
            }
        }
        self.schedule_authority_faults();
        #[cfg(feature = "net-canonical")]
        self.schedule_network();
        #[cfg(feature = "net-bringup-lite")]
        self.schedule_lite_network();
        if self.workload.is_some() {
            self.schedule(Instant(0), Event::Workload);
        }
    }

    /// Whether a queued event would do nothing: a wake-up of a parking that has ended.
    fn is_stale(&self, event: &Event) -> bool {
        match *event {
            Event::Wake { task, token, .. } => !self.kernel.wake_is_current(TaskId(u64::from(task)), token),
            Event::StageDone { pipeline, generation } | Event::PipelineWake { pipeline, generation } | Event::PipelineDeadline { pipeline, generation } => {
                self.pipeline_input_is_stale(pipeline, generation)
            }
            _ => false,
        }
    }

    /// Runs until quiescence, a limit, or (if so configured) the first violation.
    pub fn run(mut self) -> RunReport {
        let limits = self.scenario.limits;
        let stop = loop {
            let Some((at, event)) = self.queue.peek() else { break StopReason::Quiescent };
            if self.is_stale(&event) {
                self.queue.pop();
                self.kernel.stats.ignored_wakeups += 1;
                continue;
            }
            if at > limits.max_time_ns {
                break StopReason::TimeLimit;
            }
            if self.events >= limits.max_events {
                break StopReason::EventLimit;
            }
            self.queue.pop();
            self.process(Instant(at), event);
            if limits.stop_on_violation && !self.monitors.violations().is_empty() {
                break StopReason::Violation;
            }
            if self.sink.as_ref().is_some_and(|s| s.stop()) {
                break StopReason::Interrupted;
            }
        };
        if !matches!(stop, StopReason::Violation | StopReason::Interrupted) {
            self.monitors.finish(self.events, self.kernel.now(), &self.kernel);
        }
        self.report(stop)
    }

    fn describing(&self) -> bool {
        self.event_log.is_some() || self.sink.as_ref().is_some_and(|s| s.wants_descriptions())
    }

    fn process(&mut self, at: Instant, event: Event) {
        debug_assert!(at >= self.kernel.now(), "events leave the queue in time order");
        #[cfg(debug_assertions)]
        let before = self.kernel.stats;
        self.kernel.set_now(at);
        let first_choice = self.kernel.choices.recorded().len();
        self.hasher.word(self.events);
        self.hasher.word(at.0);
        self.hasher.feed(&event);
        let described = self.describing().then(|| describe_event(&event, self.scenario));
        match event {
            Event::Spawn { task } => self.spawn_scenario_task(task as usize),
            Event::Wake { task, cause, .. } => self.run_task(TaskId(u64::from(task)), cause),
            Event::Deliver { channel, slot } => self.kernel.deliver_delayed(ChannelId(u64::from(channel)), slot),
            Event::Step { index } => self.run_step(index),
            Event::Workload => self.workload_op(),
            Event::CrashAt { fault } => self.crash_at(fault as usize),
            Event::StageDone { pipeline, .. } => self.pipeline_input(pipeline, authority::Input::Outcome),
            Event::PipelineWake { pipeline, .. } => self.pipeline_input(pipeline, authority::Input::Wake),
            Event::PipelineDeadline { pipeline, .. } => self.pipeline_input(pipeline, authority::Input::Deadline),
            Event::AuthorityFault { fault } => self.authority_fault(fault as usize),
            #[cfg(feature = "net-canonical")]
            Event::Net { slot } => self.net_action(slot),
            #[cfg(feature = "net-bringup-lite")]
            Event::Net { slot } => self.lite_action(slot),
            Event::WorkspaceStart => self.start_workspace(),
            Event::Key { key } => self.kernel.key_event(key as usize),
        }
        self.apply_lifecycle_crashes();
        self.deliver_pending_cancels();
        self.install_spawned();
        self.collect_finished_steps();
        self.schedule_timers();
        self.monitors.check_event(self.events, at, &self.kernel.observations, &self.kernel);
        if let Some(watch) = &mut self.watch {
            watch.observe(self.events, at, &event, &self.kernel, &self.cap_history, &self.chan_history);
        }
        for obs in &self.kernel.observations {
            self.hasher.feed(obs);
        }
        self.hasher.word(self.kernel.choices.digest());
        self.record_event(at, first_choice, described);
        self.kernel.observations.clear();
        self.events += 1;
        self.kernel.stats.events = self.events;
        #[cfg(debug_assertions)]
        debug_assert!(self.kernel.stats.grew_from(&before), "run counters only grow");
        debug_assert!(self.kernel.timers.is_empty() && self.spawned.is_empty() && self.kernel.pending_crashes.is_empty(), "an event leaves no work unscheduled");
    }

    /// Hands the event to the digest list, the event log and the sink, as configured.
    fn record_event(&mut self, at: Instant, first_choice: usize, what: Option<String>) {
        let digest = self.hasher.value();
        if let Some(d) = &mut self.digests {
            d.push(digest);
        }
        if self.event_log.is_none() && self.sink.is_none() {
            return;
        }
        let effects = what.as_ref().map(|_| describe_effects(&self.kernel.observations, self.kernel.names()));
        let choices = &self.kernel.choices.recorded()[first_choice..];
        let summary = EventSummary { index: self.events, at: at.0, choices, digest, what: what.as_deref(), effects: effects.as_deref() };
        if let Some(sink) = &mut self.sink {
            sink.event(&summary);
        }
        if let Some(log) = &mut self.event_log {
            log.push(EventRecord::of(&summary));
        }
        if !self.keep_choices && self.event_log.is_none() {
            self.kernel.choices.clear_recorded();
        }
    }

    // ----- tasks --------------------------------------------------------------------------

    fn spawn_scenario_task(&mut self, index: usize) {
        let spec = &self.scenario.tasks[index];
        let domain = TrustDomain::new(spec.domain.clone());
        if let Ok((handle, _)) = self.kernel.spawn_task_with_identity(None, TaskDescriptor::new(spec.name.clone()).with_budget(spec.budget), spec.kind, domain, None) {
            self.install(handle.task_id, spec.clone());
        }
    }

    /// Gives a freshly spawned task its behaviour and its initial capabilities.
    fn install(&mut self, task: TaskId, spec: TaskSpec) {
        if self.behaviours.len() <= task.index() {
            self.behaviours.resize(task.index() + 1, TaskBehaviour::Idle);
        }
        self.behaviours[task.index()] = TaskBehaviour::from_spec(&spec.behaviour, &mut self.kernel);
        for grant in &spec.caps {
            if let Ok(cap) = self.kernel.grant_new_capability(task, &grant.kind, grant.durable) {
                self.bind_cap(&grant.label, cap);
            }
        }
    }

    fn bind_cap(&mut self, label: &str, cap: CapId) {
        self.cap_labels.insert(String::from(label), cap);
        self.cap_history.bind(label, cap.0);
    }

    fn bind_channel(&mut self, label: &str, channel: ChannelId) {
        self.chan_labels.insert(String::from(label), channel);
        self.chan_history.bind(label, channel.0);
    }

    /// Records the results of blocking `Receive` steps that completed during this event.
    fn collect_finished_steps(&mut self) {
        if self.kernel.finished_steps.is_empty() {
            return;
        }
        for finished in core::mem::take(&mut self.kernel.finished_steps) {
            let i = finished.step as usize;
            self.step_results[i] = Some(finished.result);
            if let Some(message) = finished.message {
                self.step_values[i] = StepValue::Received(message);
            }
        }
    }

    fn install_spawned(&mut self) {
        if self.spawned.is_empty() {
            return;
        }
        let mut spawned = core::mem::take(&mut self.spawned);
        for (task, spec) in spawned.drain(..) {
            self.install(task, spec);
        }
        self.spawned = spawned;
    }

    fn run_task(&mut self, task: TaskId, cause: WakeCause) {
        if self.kernel.budgets_on() && self.exits_cancelled(task) {
            return;
        }
        let Some(behaviour) = self.behaviours.get_mut(task.index()) else { return };
        let next = {
            let mut ctx = Ctx { api: TaskContext::new(&mut self.kernel, task), spawned: &mut self.spawned };
            behaviour.step(cause, &mut ctx)
        };
        if !self.kernel.is_alive(task) {
            return;
        }
        match next {
            Next::Wait { channel, timeout } => {
                let deadline = timeout.map(|d| self.kernel.now().after(d));
                self.kernel.park(task, channel, deadline);
            }
            Next::Exit(reason) => {
                let _ = self.kernel.terminate_task_with_reason(task, reason);
            }
        }
    }

    /// A task whose identity budget exhaustion cancelled does nothing more: one with a program of
    /// its own exits with `ExitReason::Cancelled` when it is next woken (idle tasks stay, and every
    /// budgeted operation of theirs fails as cancelled).
    fn exits_cancelled(&mut self, task: TaskId) -> bool {
        let Some(kind) = self.kernel.cancelled_by_exhaustion(task) else { return false };
        if matches!(self.behaviours.get(task.index()), None | Some(TaskBehaviour::Idle | TaskBehaviour::Receiving(_))) {
            return false;
        }
        let reason = ExitReason::Cancelled { reason: alloc::format!("budget exhausted: {kind}") };
        let _ = self.kernel.terminate_task_with_reason(task, reason);
        true
    }

    fn schedule_timers(&mut self) {
        if self.kernel.timers.is_empty() {
            return;
        }
        let jitter = self.scenario.limits.sched_jitter_ns;
        let mut timers = core::mem::take(&mut self.kernel.timers);
        for timer in timers.drain(..) {
            match timer {
                Timer::Wake { task, token, cause, at } => {
                    let at = at.unwrap_or_else(|| self.kernel.now().after(crate::time::Duration(self.kernel.choices.below(jitter.saturating_add(1)))));
                    self.schedule(at, Event::Wake { task: task.0 as u32, token, cause });
                }
                Timer::Deliver { at, channel, slot } => self.schedule(at, Event::Deliver { channel: channel.0 as u32, slot }),
            }
        }
        self.kernel.timers = timers;
    }

    // ----- faults -------------------------------------------------------------------------

    fn crash_at(&mut self, fault: usize) {
        let name = self.scenario.faults.lifecycle_faults[fault].task();
        if let Some(task) = self.kernel.task_named(name).filter(|t| self.kernel.is_alive(*t)) {
            self.kernel.note_lifecycle_crash(FaultKind::CrashAt);
            let _ = self.kernel.terminate_task_with_reason(task, ExitReason::Failure { error: "injected crash at time".into() });
        }
    }

    fn apply_lifecycle_crashes(&mut self) {
        if self.kernel.pending_crashes.is_empty() {
            return;
        }
        for (task, kind, error) in core::mem::take(&mut self.kernel.pending_crashes) {
            if self.kernel.is_alive(task) {
                self.kernel.note_lifecycle_crash(kind);
                let _ = self.kernel.terminate_task_with_reason(task, ExitReason::Failure { error });
            }
        }
    }

    // ----- workload -----------------------------------------------------------------------

    fn workload_op(&mut self) {
        let Some(mut driver) = self.workload.take() else { return };
        // Workload tasks are idle: they have no behaviour and act only through the driver.
        let request = driver.perform(&mut self.kernel);
        if driver.remaining() > 0 {
            let at = self.kernel.now().after(driver.next_gap(&mut self.kernel));
            self.schedule(at, Event::Workload);
        }
        self.workload = Some(driver);
        match request {
            Some(crate::workload::WorkloadRequest::RunPipeline { task, decl }) => {
                let _ = self.start_pipeline(task, decl);
            }
            None => {}
        }
    }

    // ----- scenario steps -----------------------------------------------------------------

    fn run_step(&mut self, index: u32) {
        match self.perform_step(index, &self.scenario.steps[index as usize].op) {
            // A blocking receive: the step completes when its task resumes.
            Ok(Done::Later) => {}
            outcome => {
                let kind = outcome.map(|_| ()).map_err(|e| e.kind());
                self.step_results[index as usize] = Some(kind);
                self.kernel.observe_external(Observation::StepDone { step: index, result: kind });
            }
        }
    }

    fn task(&self, name: &str) -> Result<TaskId, KernelError> {
        self.kernel.task_named(name).ok_or(KernelError::InsufficientAuthority)
    }
    fn cap(&self, label: &str) -> Result<CapId, KernelError> {
        self.cap_labels.get(label).copied().ok_or(KernelError::InvalidCapability)
    }
    fn channel(&self, label: &str) -> Result<ChannelId, KernelError> {
        self.chan_labels.get(label).copied().ok_or_else(|| KernelError::ChannelError(alloc::format!("no channel labelled {label}")))
    }

    fn perform_step(&mut self, index: u32, op: &StepOp) -> Result<Done, KernelError> {
        match op {
            StepOp::Grant { task, cap, kind, durable } => {
                let t = self.task(task)?;
                let id = self.kernel.grant_new_capability(t, kind, *durable)?;
                self.bind_cap(cap, id);
            }
            StepOp::Delegate { cap, from, to } => {
                let (c, f, t) = (self.cap(cap)?, self.task(from)?, self.task(to)?);
                self.kernel.delegate_capability(c, f, t)?;
            }
            StepOp::Drop { cap, task } => self.kernel.drop_capability(self.cap(cap)?, self.task(task)?)?,
            StepOp::Clone { cap, task, new_cap } => {
                let id = self.kernel.clone_capability(self.cap(cap)?, self.task(task)?)?;
                self.bind_cap(new_cap, id);
            }
            StepOp::Use { cap, task } => self.kernel.use_capability(self.cap(cap)?, self.task(task)?)?,
            StepOp::UseForged { task, id } => self.kernel.use_capability(CapId(FORGED_BIT | id), self.task(task)?)?,
            StepOp::Terminate { task, reason } => self.kernel.terminate_task_with_reason(self.task(task)?, reason.clone())?,
            StepOp::CreateChannel { task, channel, cap } => {
                let id = self.kernel.create_channel(self.task(task)?)?;
                self.bind_channel(channel, id);
                if let (Some(label), Some(entry)) = (cap, self.kernel.channel(id)) {
                    let cap = entry.cap;
                    self.bind_cap(label, cap);
                }
            }
            StepOp::Send { task, channel, action, reply_to, version, answers } => {
                let action = self.kernel.intern(action);
                let (t, ch) = (self.task(task)?, self.channel(channel)?);
                let payload = match reply_to {
                    Some(r) => MessagePayload::Request { reply_to: self.channel(r)?, seq: index },
                    None => MessagePayload::Empty,
                };
                let mut msg = MessageEnvelope::new(ServiceId(well_known::STEP), action, *version, payload);
                if let Some(StepValue::Received(answered)) = answers.and_then(|a| self.step_values.get(a as usize)) {
                    msg.correlation_id = Some(answered.id);
                }
                let id = self.kernel.send_message(t, ch, msg)?;
                self.step_values[index as usize] = StepValue::Sent(id);
                if let Some(watch) = &mut self.watch {
                    watch.note_step_message(id, action);
                }
            }
            StepOp::Receive { task, channel, timeout_ns } => {
                let (t, ch) = (self.task(task)?, self.channel(channel)?);
                if *timeout_ns > 0 {
                    return self.receive_blocking(index, t, ch, *timeout_ns);
                }
                self.step_values[index as usize] = StepValue::Received(self.kernel.receive_message(t, ch)?);
            }
            StepOp::Register { task, service, channel } => {
                let service = self.kernel.service_id(service);
                self.kernel.register_service(self.task(task)?, service, self.channel(channel)?)?;
            }
            StepOp::Lookup { task, service, bind } => {
                let service = self.kernel.service_id(service);
                let id = self.kernel.lookup_service(self.task(task)?, &service)?;
                if let Some(label) = bind {
                    self.bind_channel(label, id);
                }
            }
            StepOp::Spawn { task, child, give } => self.spawn_child(task, child, give)?,
            StepOp::RunPipeline { task, pipeline } => {
                let t = self.task(task)?;
                let decl = self.scenario.pipelines.iter().position(|p| p.spec.name == *pipeline).ok_or(KernelError::InsufficientAuthority)?;
                self.start_pipeline(t, decl)?;
            }
            StepOp::CancelPipeline { pipeline, reason } => self.cancel_pipeline(pipeline, reason.clone().unwrap_or(crate::cancellation::CancellationReason::UserCancel))?,
            StepOp::Storage { task, tx, op } => {
                let t = self.task(task)?;
                self.kernel.storage_step(t, tx, op)?;
            }
            StepOp::Compute { task, ticks } => {
                let t = self.task(task)?;
                self.kernel.compute(t, *ticks)?;
            }
            StepOp::IsValid { task, cap } => {
                let t = self.task(task)?;
                let validity = match self.cap_labels.get(cap.as_str()) {
                    Some(c) => self.kernel.validity(*c, t),
                    None => Err(InvalidUseReason::Unknown),
                };
                self.step_values[index as usize] = StepValue::Validity(validity);
                validity.map_err(|_| KernelError::InvalidCapability)?;
            }
            StepOp::Launch { .. }
            | StepOp::RequestFocus { .. }
            | StepOp::ReleaseFocus { .. }
            | StepOp::NextComponent
            | StepOp::PrevComponent
            | StepOp::Close { .. }
            | StepOp::Status { .. }
            | StepOp::Revoke { .. }
            | StepOp::Unsubscribe { .. }
            | StepOp::Subscribe { .. } => self.workspace_step(op).unwrap_or(Ok(()))?,
        }
        Ok(Done::Now)
    }

    /// `Receive` with a timeout: a queued message is taken at once; on an empty queue the task
    /// blocks (see `behaviour::receive`) and the step completes when it resumes.
    fn receive_blocking(&mut self, step: u32, task: TaskId, channel: ChannelId, timeout_ns: u64) -> Result<Done, KernelError> {
        if matches!(self.behaviours.get(task.index()), Some(TaskBehaviour::Receiving(_))) {
            return Err(KernelError::ReceiveFailed("the task is already blocked in a receive".into()));
        }
        match self.kernel.receive_message(task, channel) {
            Ok(message) => {
                self.step_values[step as usize] = StepValue::Received(message);
                Ok(Done::Now)
            }
            Err(KernelError::Timeout) => {
                let deadline = self.kernel.now().after(crate::time::Duration(timeout_ns));
                if self.behaviours.len() <= task.index() {
                    self.behaviours.resize(task.index() + 1, TaskBehaviour::Idle);
                }
                self.behaviours[task.index()] = TaskBehaviour::Receiving(BlockedReceive { step, channel, deadline });
                self.kernel.park(task, Some(channel), Some(deadline));
                Ok(Done::Later)
            }
            Err(e) => Err(e),
        }
    }

    /// `Spawn`: `parent` spawns `child` (parent and creator), moving the capabilities labelled
    /// in `give` to it; the child then gets its spec's behaviour and capabilities.
    fn spawn_child(&mut self, parent: &str, child: &TaskSpec, give: &[String]) -> Result<(), KernelError> {
        let p = self.task(parent)?;
        let capabilities = give.iter().map(|label| self.cap(label)).collect::<Result<Vec<CapId>, KernelError>>()?;
        let descriptor = TaskDescriptor { name: child.name.clone(), capabilities, budget: child.budget };
        let parent_exec = self.kernel.get_task_identity(p);
        let domain = TrustDomain::new(child.domain.clone());
        let (handle, _) = self.kernel.spawn_task_with_identity(Some(p), descriptor, child.kind, domain, parent_exec)?;
        self.install(handle.task_id, child.clone());
        Ok(())
    }

    // ----- report -------------------------------------------------------------------------

    fn report(mut self, stop: StopReason) -> RunReport {
        let audit = self.kernel.take_audit_log();
        let audit_counts = AuditKind::ALL.iter().map(|k| (*k, audit.count_events(|e| e.kind() == *k) as u64)).collect();
        let injector = self.kernel.fault_injector();
        let rules = self.scenario.faults.message_faults.iter();
        let fault_rules = rules
            .zip(injector.tried().iter().zip(injector.fired()))
            .map(|(r, (&evaluated, &fired))| RuleCount { rule: alloc::format!("{:?} on {:?} when {:?}", r.fault, r.on, r.when), evaluated, fired })
            .collect();
        let mut report = RunReport {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            stop,
            end_time: self.kernel.now(),
            stats: self.kernel.stats,
            invariant_checks: self.monitors.counts(),
            invariant_situations: self.monitors.situations(),
            operations: self.kernel.ops.rows(),
            violations: self.monitors.take_violations(),
            expectations: Vec::new(),
            step_results: self.step_results,
            audit_counts,
            trace_hash: self.hasher.value(),
            choices_drawn: self.kernel.choices.drawn(),
            choice_check: ChoiceCheck {
                out_of_range: self.kernel.choices.first_mismatch(),
                seed_disagreement: self.kernel.choices.first_seed_disagreement(),
                unread: self.kernel.choices.unread(),
            },
            choices: self.kernel.choices.take_record(),
            event_digests: self.digests,
            event_log: self.event_log,
            workload_record: self.workload.and_then(WorkloadDriver::into_record),
            audit,
            fault_rules,
            names: self.kernel.names().clone(),
            tasks: self.kernel.tasks().iter().map(|t| TaskRow::of(t).with_usage(self.kernel.authority_state())).collect(),
            services: self.kernel.service_stats().to_vec(),
            cap_labels: self.cap_history,
            channel_labels: self.chan_history,
            step_values: self.step_values,
            watch: self.watch.map(Watch::into_log),
            authority: self.kernel.authority_state().map(crate::report::AuthorityReport::of),
            #[cfg(feature = "net-canonical")]
            network: self.net.as_ref().map(|n| n.report()),
            #[cfg(not(feature = "net-canonical"))]
            network: None,
            #[cfg(feature = "net-bringup-lite")]
            lite: self.lite.as_ref().map(|l| l.report()),
            #[cfg(not(feature = "net-bringup-lite"))]
            lite: None,
            interactive: self.kernel.interactive().map(crate::report::InteractiveReport::of),
        };
        report.expectations = expect::evaluate(self.scenario, &report);
        report
    }
}

/// Whether a step completed when it ran, or completes later (a blocking receive).
enum Done {
    Now,
    Later,
}

/// Step `UseForged` ids get this bit, so they can never name a minted capability.
pub const FORGED_BIT: u64 = 1 << 63;


/// A one-line description of an event (for event logs; not hashed).
fn describe_event(event: &Event, scenario: &Scenario) -> String {
    use alloc::format;
    match event {
        Event::Spawn { task } => format!("spawn {}", scenario.tasks.get(*task as usize).map_or("?", |t| t.name.as_str())),
        Event::Wake { task, cause, .. } => format!("wake task#{task} ({cause:?})"),
        Event::Deliver { channel, slot } => format!("deliver delayed message (slot {slot}) to chan#{channel}"),
        Event::Step { index } => format!("step {index}: {:?}", scenario.steps.get(*index as usize).map(|s| &s.op)),
        Event::Workload => String::from("workload operation"),
        Event::CrashAt { fault } => format!("crash-at fault {fault}"),
        Event::StageDone { pipeline, .. } => format!("stage attempt of pipeline run {} ends", pipeline + 1),
        Event::PipelineWake { pipeline, .. } => format!("backoff of pipeline run {} ends", pipeline + 1),
        Event::PipelineDeadline { pipeline, .. } => format!("deadline of pipeline run {} reached", pipeline + 1),
        Event::AuthorityFault { fault } => format!("authority fault {fault}"),
        Event::Net { slot } => format!("network action (slot {slot})"),
        Event::WorkspaceStart => String::from("workspace starts"),
        Event::Key { key } => format!("key {key} arrives"),
    }
}

/// The observations of an event, abbreviated to at most 400 characters.
fn describe_effects(observations: &[Observation], names: &crate::names::Names) -> String {
    use core::fmt::Write;
    let mut out = String::new();
    for (i, obs) in observations.iter().enumerate() {
        if out.len() > 400 {
            let _ = write!(out, "; ... ({} more)", observations.len() - i);
            break;
        }
        let _ = write!(out, "{}{}", if i == 0 { "" } else { "; " }, obs.describe(names));
    }
    out
}

/// Interns the scenario's names (tasks, trust domains, capability kinds, services) in file order
/// before the first event, so the hot path meets only symbols.
fn intern_scenario_names(scenario: &Scenario, kernel: &mut SimulatedKernel) {
    for (_, spec) in scenario.all_tasks() {
        kernel.intern(&spec.name);
        kernel.intern(&spec.domain);
        for grant in &spec.caps {
            kernel.intern(&grant.kind);
        }
    }
    for service in scenario.provided_services() {
        kernel.intern(&service);
    }
}
