//! The simulated kernel (interface reference, "Kernel API", "Message Passing", "Capability
//! System", "Execution Identity and Supervision", "Service Discovery").
//!
//! `SimulatedKernel` owns every kernel object (tasks, channels, the service registry, the
//! authority table, the audit log, identities, exit notifications), the fault injector and the
//! run's [`Choices`]. Every operation names its caller explicitly; [`TaskContext`] binds a caller
//! and implements the seed's [`KernelApi`] trait on top.
//!
//! Choices where the seed is silent (kernel engineers' expectations, written down):
//! - An operation by a task that is not running fails: send with `SendFailed`, receive with
//!   `ReceiveFailed`, channel creation with `ChannelError`, registry operations with
//!   `InsufficientAuthority`, spawning with `SpawnFailed`.
//! - Capability operations that fail validation, or name a target task that is not running, fail
//!   with `InvalidCapability`; failed validation is audited as `InvalidUseAttempt`.
//! - "Registration requires capability": `create_channel` grants the creator a capability of kind
//!   `"channel"` for the new channel, and `register_service` requires the caller to hold it
//!   (otherwise `InsufficientAuthority`). Channel capabilities are ordinary capabilities: they can
//!   be delegated, dropped and are invalidated when the owner dies.
//! - Receive is a poll here (`Err(Timeout)` when the queue is empty); blocking with a timeout is
//!   done by the event loop, which parks the task until a message arrives or the deadline passes
//!   (for behaviours and for blocking `Receive` steps alike).
//! - Durable capabilities of a dead task are re-bound to its restarted successor and audited as
//!   `Rebound` (not `Delegated`: nobody delegated them).
//! - `validity` answers "may this task use this capability now?" without auditing or counting it
//!   (the `IsValid` step); every operation still validates and audits as above.
//! - Counters per task (in the task records) and per service (a vector by service symbol) are
//!   plain indexed increments; scenario expectations read them after the run.
//! - Receive faults only apply to receives that would return a message.
//! - A task's services are deregistered when it terminates. This is how the model reads "no
//!   global namespace pollution": the registry maps `ServiceId`s (not paths) to channels, a name
//!   is registered only by a holder of the channel's capability, and no name outlives its
//!   provider (`registry.consistent` checks every lookup).
//! - Exit notifications go to the global log and to the inbox of the parent task (if it runs);
//!   a supervisor drains its own inbox, so supervisors never consume each other's notifications.
//!
//! Data layout (DESIGN.md, "The hot path is data-oriented"): names are interned symbols
//! ([`Names`]); the registry and the task-by-name table are vectors indexed by symbol; a delayed
//! message waits in the in-flight store and the event queue holds only its slot; timers and
//! observations live in buffers the event loop drains, so steady state allocates nothing.

mod api;
mod authority;
mod interactive;
mod faults;
mod ops;
pub use ops::{OpCount, OpCounts, OpKind};

pub use api::{KernelApi, TaskContext, TaskDescriptor, TaskHandle};
pub(crate) use authority::exhausted_result;
pub use authority::{Authority, PipelineRun, RunningAttempt, StageFailureRule, TxSlot};
pub use interactive::{Interactive, WorkspaceOp};
pub use faults::FaultInjector;

use crate::budget::audit::MessageOperation;
use crate::bugs::{BugSet, PlantedBug};
use crate::capability::{AuditLog, AuthorityTable, CapabilityEvent, InvalidUseReason};
use crate::choices::Choices;
use crate::error::KernelError;
use crate::fault::{FaultPlan, MessageFault};
use crate::identity::{ExitNotification, ExitReason, IdentityKind, IdentityMetadata, TrustDomain};
use crate::ids::{CapId, ChannelId, ExecutionId, IdCounter, MessageId, TaskId};
use crate::message::{Compatibility, MessageEnvelope, ServiceId};
use crate::names::{well_known, Names, Symbol};
use crate::observation::{FaultKind, Observation};
use crate::stats::{RunStats, ServiceStats, TaskStats};
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

/// Why a parked task is woken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WakeCause {
    Start,
    Message,
    Timeout,
    ChildExit,
}

/// Whether a task runs, is parked, or has ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Parked until a message on `channel` (if any), a child exit, or its timer. `token` tells
    /// current wake-ups from stale ones (it counts parkings, wrapping).
    Parked { channel: Option<ChannelId>, token: u32, wake_pending: bool },
    Exited,
}

/// One task of the kernel's task table.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    pub id: TaskId,
    pub name: String,
    /// `name`, interned.
    pub name_symbol: Symbol,
    /// The identity's trust domain, interned.
    pub domain: Symbol,
    pub identity: IdentityMetadata,
    pub state: TaskState,
    pub exit: Option<ExitReason>,
    /// Exit notifications of this task's children, not yet read.
    pub inbox: Vec<ExitNotification>,
    /// Services this task registered.
    pub services: Vec<ServiceId>,
    /// Messages this task received.
    pub received: u64,
    /// The task's other counters (scenario expectations bound them per task name).
    pub stats: TaskStats,
}

impl TaskRecord {
    pub fn alive(&self) -> bool {
        self.state != TaskState::Exited
    }
}

/// One channel: a FIFO queue and the tasks parked on it.
#[derive(Clone, Debug)]
pub struct ChannelRecord {
    pub id: ChannelId,
    pub queue: VecDeque<MessageEnvelope>,
    pub waiters: Vec<TaskId>,
    /// The services currently registered on this channel (a channel may serve several).
    pub services: Vec<ServiceId>,
    /// The capability that authorises registering this channel.
    pub cap: CapId,
}

/// A service registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub channel: ChannelId,
    pub task: TaskId,
}

/// Work the kernel asks the event loop to schedule.
#[derive(Clone, Debug)]
pub enum Timer {
    /// Wake a parked task (after scheduling jitter for `Message`/`ChildExit`/`Start`).
    Wake { task: TaskId, token: u32, cause: WakeCause, at: Option<Instant> },
    /// Enqueue the delayed message held in in-flight slot `slot` when its delay ends.
    Deliver { at: Instant, channel: ChannelId, slot: u32 },
}

/// Delayed messages between their send and their delivery, in reusable slots.
#[derive(Clone, Debug, Default)]
pub struct InFlight {
    slots: Vec<Option<MessageEnvelope>>,
    free: Vec<u32>,
}

impl InFlight {
    fn hold(&mut self, message: MessageEnvelope) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                debug_assert!(self.slots[slot as usize].is_none(), "a free slot is empty");
                self.slots[slot as usize] = Some(message);
                slot
            }
            None => {
                self.slots.push(Some(message));
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, slot: u32) -> Option<MessageEnvelope> {
        let message = self.slots.get_mut(slot as usize)?.take();
        if message.is_some() {
            self.free.push(slot);
        }
        message
    }

    /// The message held in `slot`, if any.
    pub fn get(&self, slot: u32) -> Option<&MessageEnvelope> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// Messages currently held back by a delay.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The simulated kernel.
#[derive(Debug)]
pub struct SimulatedKernel {
    now: Instant,
    tasks: Vec<TaskRecord>,
    channels: Vec<ChannelRecord>,
    /// Registrations by service symbol.
    registry: Vec<Option<Registration>>,
    exec_owner: BTreeMap<ExecutionId, TaskId>,
    detached_identities: BTreeMap<ExecutionId, IdentityMetadata>,
    /// The newest task of each name, by name symbol.
    newest_by_name: Vec<Option<TaskId>>,
    names: Names,
    in_flight: InFlight,
    /// An empty waiter list with capacity, swapped in when a channel's waiters are woken.
    spare_waiters: Vec<TaskId>,
    table: AuthorityTable,
    audit: AuditLog,
    exit_log: Vec<ExitNotification>,
    message_ids: IdCounter,
    exec_ids: IdCounter,
    last_exited_exec: Option<ExecutionId>,
    faults: FaultInjector,
    bugs: BugSet,
    /// The run's only source of randomness.
    pub choices: Choices,
    /// Effects of the current event.
    pub observations: Vec<Observation>,
    /// Timers requested during the current event.
    pub timers: Vec<Timer>,
    /// Tasks a fault wants crashed, with the fault's kind (applied by the loop at the end of the
    /// current step).
    pub pending_crashes: Vec<(TaskId, FaultKind, String)>,
    pub stats: RunStats,
    /// Calls of each operation, by result.
    pub ops: OpCounts,
    /// Counters per service, by service symbol.
    services: Vec<ServiceStats>,
    /// Blocking `Receive` steps that completed during the current event (collected by the loop).
    pub finished_steps: Vec<FinishedStep>,
    /// Policy, budgets, cancellation, pipelines and storage, when the scenario uses them.
    authority: Option<Box<Authority>>,
}

/// A blocking `Receive` step that completed when its task resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinishedStep {
    pub step: u32,
    pub result: Result<(), crate::error::KernelErrorKind>,
    /// The message received, if any.
    pub message: Option<MessageEnvelope>,
}

impl SimulatedKernel {
    /// A kernel with the given fault plan, planted bugs and choices.
    pub fn new(plan: &FaultPlan, bugs: &[PlantedBug], choices: Choices) -> Self {
        let mut names = Names::new();
        let faults = FaultInjector::new(plan, &mut names);
        SimulatedKernel {
            now: Instant(0),
            tasks: Vec::new(),
            channels: Vec::new(),
            registry: Vec::new(),
            exec_owner: BTreeMap::new(),
            detached_identities: BTreeMap::new(),
            newest_by_name: Vec::new(),
            names,
            in_flight: InFlight::default(),
            spare_waiters: Vec::new(),
            table: AuthorityTable::default(),
            audit: AuditLog::default(),
            exit_log: Vec::new(),
            message_ids: IdCounter::default(),
            exec_ids: IdCounter::default(),
            last_exited_exec: None,
            faults,
            bugs: BugSet::from_list(bugs),
            choices,
            observations: Vec::new(),
            timers: Vec::new(),
            pending_crashes: Vec::new(),
            stats: RunStats::default(),
            ops: OpCounts::default(),
            services: Vec::new(),
            finished_steps: Vec::new(),
            authority: None,
        }
    }

    /// Installs the authority and resource state the scenario needs (none if it uses none of it).
    pub fn install_authority(&mut self, scenario: &crate::scenario::Scenario) {
        self.authority = Authority::for_scenario(scenario, &mut self.names);
        self.install_interactive(scenario);
    }

    // ----- queries -------------------------------------------------------------------------

    pub fn now(&self) -> Instant {
        self.now
    }
    pub(crate) fn set_now(&mut self, now: Instant) {
        debug_assert!(now >= self.now, "virtual time never goes back");
        self.now = now;
    }
    pub fn task(&self, task: TaskId) -> Option<&TaskRecord> {
        self.tasks.get(task.index())
    }
    pub fn is_alive(&self, task: TaskId) -> bool {
        self.task(task).is_some_and(TaskRecord::alive)
    }
    pub fn tasks(&self) -> &[TaskRecord] {
        &self.tasks
    }
    pub fn channel(&self, channel: ChannelId) -> Option<&ChannelRecord> {
        self.channels.get(channel.index())
    }
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }
    /// The newest task spawned with this name.
    pub fn task_named(&self, name: &str) -> Option<TaskId> {
        self.names.get(name).and_then(|s| self.task_with_name(s))
    }
    /// The newest task spawned with the name `name`.
    pub fn task_with_name(&self, name: Symbol) -> Option<TaskId> {
        self.newest_by_name.get(name.index()).copied().flatten()
    }
    pub fn registration(&self, service: &ServiceId) -> Option<&Registration> {
        self.registry.get(service.0.index()).and_then(Option::as_ref)
    }
    /// The run's name table.
    pub fn names(&self) -> &Names {
        &self.names
    }
    /// Interns a name in the run's name table.
    pub fn intern(&mut self, name: &str) -> Symbol {
        self.names.intern(name)
    }
    /// The service id of a service name.
    pub fn service_id(&mut self, name: &str) -> ServiceId {
        ServiceId(self.names.intern(name))
    }
    /// Messages held back by a delay fault.
    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }
    pub fn authority(&self) -> &AuthorityTable {
        &self.table
    }
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }
    pub(crate) fn take_audit_log(&mut self) -> AuditLog {
        core::mem::take(&mut self.audit)
    }
    pub fn get_identity(&self, exec: ExecutionId) -> Option<&IdentityMetadata> {
        let of_task = self.exec_owner.get(&exec).and_then(|t| self.task(*t)).map(|t| &t.identity);
        of_task.or_else(|| self.detached_identities.get(&exec))
    }
    /// Whether `exec` is retired: the task that ran under it has terminated (architecture Phase
    /// 7, "identity retirement on termination"). A retired identity keeps its metadata (the
    /// audit trail of who created whom stays readable), is never minted again, and nothing can
    /// act under it: its task is gone and its capabilities were invalidated. A detached identity
    /// (`create_identity`) has no task and is not retired.
    pub fn is_retired(&self, exec: ExecutionId) -> bool {
        self.exec_owner.get(&exec).is_some_and(|task| !self.is_alive(*task))
    }
    pub fn get_task_identity(&self, task: TaskId) -> Option<ExecutionId> {
        self.task(task).map(|t| t.identity.execution_id)
    }
    /// Every exit notification of the run, in order.
    pub fn get_exit_notifications(&self) -> &[ExitNotification] {
        &self.exit_log
    }
    /// Whether `task` may use `cap` now.
    pub fn is_capability_valid(&self, cap: CapId, task: TaskId) -> bool {
        self.table.is_capability_valid(cap, task, |t| self.is_alive(t))
    }
    pub fn bug(&self, bug: PlantedBug) -> bool {
        self.bugs.has(bug)
    }
    pub fn fault_injector(&self) -> &FaultInjector {
        &self.faults
    }

    fn observe(&mut self, obs: Observation) {
        self.observations.push(obs);
    }
    fn audit(&mut self, event: CapabilityEvent) {
        self.audit.push(self.now, event);
        self.observe(Observation::Audit(event));
    }
    fn fault(&mut self, kind: FaultKind) {
        self.stats.faults_injected += 1;
        self.observe(Observation::FaultInjected(kind));
    }
    fn task_mut(&mut self, task: TaskId) -> &mut TaskRecord {
        &mut self.tasks[task.index()]
    }

    // ----- tasks and identity -------------------------------------------------------------

    /// Spawns a task with full identity control. `by` is the spawning task (None: the kernel
    /// itself); the descriptor's capabilities move from `by` to the new task.
    ///
    /// The seed's signature also takes a `creator_id`; here the creator is derived instead: the
    /// spawning task's identity, or, for a kernel spawn, the parent (so a supervisor's children
    /// name it as both parent and creator). A scenario cannot state a creator that did not spawn.
    pub fn spawn_task_with_identity(
        &mut self,
        by: Option<TaskId>,
        descriptor: TaskDescriptor,
        kind: IdentityKind,
        domain: TrustDomain,
        parent: Option<ExecutionId>,
    ) -> Result<(TaskHandle, ExecutionId), KernelError> {
        let result = self.spawn_task_with_identity_unrecorded(by, descriptor, kind, domain, parent);
        self.ops.record(OpKind::Spawn, &result);
        result
    }

    fn spawn_task_with_identity_unrecorded(
        &mut self,
        by: Option<TaskId>,
        descriptor: TaskDescriptor,
        kind: IdentityKind,
        domain: TrustDomain,
        parent: Option<ExecutionId>,
    ) -> Result<(TaskHandle, ExecutionId), KernelError> {
        if let Some(spawner) = by {
            if !self.is_alive(spawner) {
                return Err(KernelError::SpawnFailed("spawning task is not running".into()));
            }
            if let Some(cap) = descriptor.capabilities.iter().find(|c| !self.is_capability_valid(**c, spawner)) {
                return Err(KernelError::SpawnFailed(alloc::format!("spawner does not hold {cap}")));
            }
            let caps = &descriptor.capabilities;
            if let Some(cap) = caps.iter().enumerate().find_map(|(i, c)| caps[..i].contains(c).then_some(c)) {
                return Err(KernelError::SpawnFailed(alloc::format!("{cap} is listed twice: a capability moves once")));
            }
        }
        let id = TaskId(self.tasks.len() as u64);
        let reuse = self.bugs.has(PlantedBug::ReuseExecutionIds) && self.last_exited_exec.is_some();
        let exec = match self.last_exited_exec.filter(|_| reuse) {
            Some(reused) => reused,
            None => ExecutionId(self.exec_ids.minted()),
        };
        let identity = IdentityMetadata {
            execution_id: exec,
            kind,
            task_id: Some(id),
            parent_id: parent,
            creator_id: by.and_then(|b| self.get_task_identity(b)).or(parent),
            created_at_nanos: self.now.nanos(),
            trust_domain: domain,
            name: descriptor.name.clone(),
        };
        let actor = by.and_then(|b| self.get_task_identity(b)).or(parent);
        self.admit_spawn(actor, &identity, parent, descriptor.budget)?;
        if reuse {
            self.last_exited_exec = None;
        } else {
            self.exec_ids.mint();
        }
        let state = TaskState::Parked { channel: None, token: 0, wake_pending: true };
        let name_symbol = self.names.intern(&descriptor.name);
        let domain = self.names.intern(&identity.trust_domain.0);
        self.tasks.push(TaskRecord {
            id,
            name: descriptor.name,
            name_symbol,
            domain,
            identity,
            state,
            exit: None,
            inbox: Vec::new(),
            services: Vec::new(),
            received: 0,
            stats: TaskStats::default(),
        });
        self.exec_owner.insert(exec, id);
        if self.newest_by_name.len() <= name_symbol.index() {
            self.newest_by_name.resize(name_symbol.index() + 1, None);
        }
        self.newest_by_name[name_symbol.index()] = Some(id);
        self.stats.tasks_spawned += 1;
        self.observe(Observation::TaskSpawned { task: id, exec, parent });
        self.attach_budget(exec, parent, descriptor.budget);
        self.timers.push(Timer::Wake { task: id, token: 0, cause: WakeCause::Start, at: None });
        if let Some(spawner) = by {
            for cap in descriptor.capabilities {
                self.move_capability(cap, spawner, id);
            }
        }
        Ok((TaskHandle { task_id: id }, exec))
    }

    /// Ends a task: invalidates its non-durable capabilities, deregisters its services and
    /// emits exactly one exit notification. Fails if the task is not running.
    pub fn terminate_task_with_reason(&mut self, task: TaskId, reason: ExitReason) -> Result<(), KernelError> {
        let result = self.terminate_task_with_reason_unrecorded(task, reason);
        self.ops.record(OpKind::Terminate, &result);
        result
    }

    fn terminate_task_with_reason_unrecorded(&mut self, task: TaskId, reason: ExitReason) -> Result<(), KernelError> {
        if !self.is_alive(task) {
            return Err(KernelError::InsufficientAuthority);
        }
        let exec = self.tasks[task.index()].identity.execution_id;
        let record = self.task_mut(task);
        record.state = TaskState::Exited;
        record.exit = Some(reason.clone());
        self.stats.task_exits += 1;
        self.observe(Observation::TaskExited { task, exec, reason: reason.clone() });
        self.invalidate_capabilities_of(task);
        self.deregister_services_of(task);
        self.notify_exit(task, exec, reason);
        self.last_exited_exec = Some(exec);
        self.authority_on_exit(task);
        self.assert_terminated(task);
        Ok(())
    }

    /// Postconditions of a termination: the task is gone, none of its non-durable capabilities
    /// is valid, none of its services is registered (unless a planted bug breaks exactly that).
    fn assert_terminated(&self, task: TaskId) {
        assert!(!self.is_alive(task), "a terminated task is not running");
        if !self.bugs.has(PlantedBug::TerminationSkipsInvalidation) {
            debug_assert!(
                self.table.owned_by(task).all(|c| self.table.entry(c).is_some_and(|e| e.durable || e.status != crate::capability::CapStatus::Valid)),
                "a dead task keeps a valid non-durable capability"
            );
        }
        if !self.bugs.has(PlantedBug::RegistryKeepsDeadService) {
            assert!(self.tasks[task.index()].services.is_empty(), "a dead task keeps registered services");
        }
    }

    fn invalidate_capabilities_of(&mut self, task: TaskId) {
        if self.bugs.has(PlantedBug::TerminationSkipsInvalidation) {
            return;
        }
        let owned: Vec<CapId> = self.table.owned_by(task).collect();
        for cap in owned {
            if self.table.entry(cap).is_some_and(|e| !e.durable) {
                self.table.invalidate(cap);
                self.audit(CapabilityEvent::Invalidated { cap, owner: task });
            }
        }
    }

    fn deregister_services_of(&mut self, task: TaskId) {
        if self.bugs.has(PlantedBug::RegistryKeepsDeadService) {
            return;
        }
        let services = core::mem::take(&mut self.task_mut(task).services);
        for service in services {
            let slot = &mut self.registry[service.0.index()];
            if slot.as_ref().is_some_and(|r| r.task == task) {
                let reg = slot.take().expect("checked above");
                self.channels[reg.channel.index()].services.retain(|s| *s != service);
                self.observe(Observation::ServiceDeregistered { service, task });
            }
        }
    }

    fn notify_exit(&mut self, task: TaskId, exec: ExecutionId, reason: ExitReason) {
        let copies = if self.bugs.has(PlantedBug::DuplicateExitNotification) { 2 } else { 1 };
        let notification = ExitNotification::new(exec, task, reason, self.now);
        let parent_task = self.tasks[task.index()].identity.parent_id.and_then(|p| self.exec_owner.get(&p).copied());
        for _ in 0..copies {
            self.exit_log.push(notification.clone());
            self.stats.exit_notifications += 1;
            self.observe(Observation::ExitNotified { task, exec });
            if let Some(parent) = parent_task.filter(|p| self.is_alive(*p)) {
                self.task_mut(parent).stats.exit_notifications += 1;
                self.task_mut(parent).inbox.push(notification.clone());
                self.wake(parent, WakeCause::ChildExit, None);
            }
        }
    }

    /// Takes the unread exit notifications of `task`'s children.
    pub fn take_exit_notifications(&mut self, task: TaskId) -> Vec<ExitNotification> {
        self.tasks.get_mut(task.index()).map(|t| core::mem::take(&mut t.inbox)).unwrap_or_default()
    }

    /// Clears the global exit-notification log (the seed's `clear_exit_notifications`); parents'
    /// unread inboxes are not affected.
    pub fn clear_exit_notifications(&mut self) {
        self.exit_log.clear();
    }

    /// Creates an execution identity that no task runs under yet (the seed's `create_identity`);
    /// the id comes from the same counter as task identities, so it is never reused either.
    pub fn create_identity(&mut self, kind: IdentityKind, domain: TrustDomain, name: &str, parent: Option<ExecutionId>) -> ExecutionId {
        let exec = ExecutionId(self.exec_ids.mint());
        let metadata = IdentityMetadata {
            execution_id: exec,
            kind,
            task_id: None,
            parent_id: parent,
            creator_id: parent,
            created_at_nanos: self.now.nanos(),
            trust_domain: domain,
            name: String::from(name),
        };
        self.detached_identities.insert(exec, metadata);
        self.observe(Observation::IdentityCreated { exec });
        exec
    }

    // ----- parking and waking (used by the event loop) -----------------------------------

    /// Parks `task` until a message on `channel`, a child exit, or `deadline`.
    pub fn park(&mut self, task: TaskId, channel: Option<ChannelId>, deadline: Option<Instant>) {
        let Some(TaskState::Parked { token, .. }) = self.tasks.get(task.index()).map(|t| t.state) else { return };
        let channel = channel.filter(|c| c.index() < self.channels.len());
        let token = token.wrapping_add(1);
        self.task_mut(task).state = TaskState::Parked { channel, token, wake_pending: false };
        if let Some(at) = deadline {
            self.timers.push(Timer::Wake { task, token, cause: WakeCause::Timeout, at: Some(at) });
        }
        if let Some(ch) = channel {
            if self.channels[ch.index()].queue.is_empty() {
                self.channels[ch.index()].waiters.push(task);
            } else {
                self.wake(task, WakeCause::Message, Some(ch));
            }
        }
        if !self.tasks[task.index()].inbox.is_empty() {
            self.wake(task, WakeCause::ChildExit, None);
        }
    }

    /// Schedules a wake-up of a parked task (once per parking).
    fn wake(&mut self, task: TaskId, cause: WakeCause, on: Option<ChannelId>) {
        let TaskState::Parked { channel, token, wake_pending } = self.tasks[task.index()].state else { return };
        if wake_pending || (on.is_some() && channel != on) {
            return;
        }
        self.task_mut(task).state = TaskState::Parked { channel, token, wake_pending: true };
        self.timers.push(Timer::Wake { task, token, cause, at: None });
    }

    /// Whether a wake-up with `token` is still current for `task`.
    pub fn wake_is_current(&self, task: TaskId, token: u32) -> bool {
        matches!(self.task(task).map(|t| t.state), Some(TaskState::Parked { token: t, .. }) if t == token)
    }

    // ----- channels and messages ----------------------------------------------------------

    /// Creates a channel; the creator is granted its `"channel"` capability.
    pub fn create_channel(&mut self, by: TaskId) -> Result<ChannelId, KernelError> {
        let result = self.create_channel_unrecorded(by);
        self.ops.record(OpKind::CreateChannel, &result);
        result
    }

    fn create_channel_unrecorded(&mut self, by: TaskId) -> Result<ChannelId, KernelError> {
        if !self.is_alive(by) {
            return Err(KernelError::ChannelError("calling task is not running".into()));
        }
        let id = ChannelId(self.channels.len() as u64);
        let cap = self.mint(by, well_known::CHANNEL, false);
        self.channels.push(ChannelRecord { id, queue: VecDeque::new(), waiters: Vec::new(), services: Vec::new(), cap });
        self.observe(Observation::ChannelCreated { channel: id, by, cap });
        Ok(id)
    }

    /// Sends a message (never blocks). The kernel stamps the id and source.
    pub fn send_message(&mut self, by: TaskId, channel: ChannelId, message: MessageEnvelope) -> Result<MessageId, KernelError> {
        let result = self.send_message_unrecorded(by, channel, message);
        self.ops.record(OpKind::Send, &result);
        result
    }

    fn send_message_unrecorded(&mut self, by: TaskId, channel: ChannelId, mut message: MessageEnvelope) -> Result<MessageId, KernelError> {
        if !self.is_alive(by) {
            return Err(KernelError::SendFailed("sending task is not running".into()));
        }
        if self.channel(channel).is_none() {
            return Err(KernelError::ChannelError(alloc::format!("no channel {channel}")));
        }
        self.charge_message(by, MessageOperation::Send)?;
        let fault = self.send_fault(by, channel);
        if fault == Some(MessageFault::CrashOnSend) {
            self.stats.send_failures += 1;
            self.fault(FaultKind::CrashOnSend);
            self.observe(Observation::SendFailed { channel, by });
            return Err(KernelError::SendFailed("injected crash on send".into()));
        }
        let id = MessageId(self.message_ids.mint());
        debug_assert!(self.message_ids.minted() == id.0 + 1, "message ids grow in send order");
        message.id = id;
        message.source = Some(by);
        self.stats.messages_sent += 1;
        self.tasks[by.index()].stats.messages_sent += 1;
        self.observe(Observation::MessageSent { msg: id, channel, by });
        match fault {
            Some(MessageFault::Drop) => self.drop_message(id, channel),
            Some(MessageFault::Delay { nanos }) => self.delay_message(channel, message, nanos),
            Some(MessageFault::Reorder) => self.enqueue_reordered(channel, message),
            _ => self.enqueue(channel, message),
        }
        Ok(id)
    }

    fn send_fault(&mut self, by: TaskId, channel: ChannelId) -> Option<MessageFault> {
        let services = &self.channels[channel.index()].services;
        let task = self.tasks[by.index()].name_symbol;
        self.faults.on_send(services, task, self.now, &mut self.choices)
    }

    fn drop_message(&mut self, msg: MessageId, channel: ChannelId) {
        self.stats.messages_dropped += 1;
        self.fault(FaultKind::Drop);
        self.observe(Observation::MessageDropped { msg, channel });
    }

    fn delay_message(&mut self, channel: ChannelId, message: MessageEnvelope, nanos: u64) {
        let until = self.now.after(crate::time::Duration(nanos));
        self.stats.messages_delayed += 1;
        self.fault(FaultKind::Delay);
        self.observe(Observation::MessageDelayed { msg: message.id, channel, until });
        if self.bugs.has(PlantedBug::DelayedDeliveryDuplicates) {
            self.enqueue(channel, message);
        }
        let slot = self.in_flight.hold(message);
        self.timers.push(Timer::Deliver { at: until, channel, slot });
    }

    /// Enqueues the message held in in-flight slot `slot`, whose delay has ended.
    pub fn deliver_delayed(&mut self, channel: ChannelId, slot: u32) {
        let message = self.in_flight.release(slot);
        debug_assert!(message.is_some(), "a delivery names a held message");
        if let Some(source) = message.as_ref().and_then(|m| m.source).filter(|s| self.bugs.has(PlantedBug::DelayedMessageChargedTwice) && self.is_alive(*s)) {
            let _ = self.charge_message(source, MessageOperation::Send);
        }
        if let Some(message) = message.filter(|_| channel.index() < self.channels.len()) {
            self.enqueue(channel, message);
        }
    }

    fn enqueue(&mut self, channel: ChannelId, message: MessageEnvelope) {
        self.observe(Observation::MessageEnqueued { msg: message.id, channel });
        let ch = &mut self.channels[channel.index()];
        debug_assert!(message.id.0 < self.message_ids.minted(), "only stamped messages are queued");
        ch.queue.push_back(message);
        if ch.waiters.is_empty() {
            return;
        }
        // Swap the waiter list with an empty one that keeps its capacity: no allocation.
        let mut waiters = core::mem::take(&mut self.spare_waiters);
        core::mem::swap(&mut waiters, &mut self.channels[channel.index()].waiters);
        for task in waiters.drain(..) {
            self.wake(task, WakeCause::Message, Some(channel));
        }
        self.spare_waiters = waiters;
    }

    fn enqueue_reordered(&mut self, channel: ChannelId, message: MessageEnvelope) {
        self.enqueue(channel, message);
        let queue = &mut self.channels[channel.index()].queue;
        let n = queue.len();
        if n >= 2 {
            queue.swap(n - 1, n - 2);
            let (overtaking, overtaken) = (queue[n - 2].id, queue[n - 1].id);
            self.stats.messages_reordered += 1;
            self.fault(FaultKind::Reorder);
            self.observe(Observation::MessageReordered { channel, overtaken, overtaking });
        } else {
            self.faults.took_no_effect();
        }
    }

    /// Receives the oldest queued message, or `Err(Timeout)` if there is none.
    pub fn receive_message(&mut self, by: TaskId, channel: ChannelId) -> Result<MessageEnvelope, KernelError> {
        let result = self.receive_message_unrecorded(by, channel);
        self.ops.record(OpKind::Receive, &result);
        result
    }

    fn receive_message_unrecorded(&mut self, by: TaskId, channel: ChannelId) -> Result<MessageEnvelope, KernelError> {
        if !self.is_alive(by) {
            return Err(KernelError::ReceiveFailed("receiving task is not running".into()));
        }
        let Some(ch) = self.channels.get(channel.index()) else {
            return Err(KernelError::ChannelError(alloc::format!("no channel {channel}")));
        };
        if ch.queue.is_empty() {
            return Err(KernelError::Timeout);
        }
        self.charge_message(by, MessageOperation::Receive)?;
        let ch = &self.channels[channel.index()];
        let task = self.tasks[by.index()].name_symbol;
        if self.faults.on_receive(&ch.services, task, self.now, &mut self.choices) {
            return Err(self.fail_receive(by, channel));
        }
        let queue = &mut self.channels[channel.index()].queue;
        let taken = if self.bugs.has(PlantedBug::ReceiveNewestFirst) { queue.pop_back() } else { queue.pop_front() };
        let message = taken.expect("queue checked non-empty");
        debug_assert_ne!(message.id, MessageId(u64::MAX), "queued messages carry a stamped id");
        self.stats.messages_delivered += 1;
        self.observe(Observation::MessageReceived { msg: message.id, channel, by });
        self.count_received(by);
        Ok(message)
    }

    fn fail_receive(&mut self, by: TaskId, channel: ChannelId) -> KernelError {
        let consumed = if self.choices.below(2) == 1 { self.channels[channel.index()].queue.pop_front().map(|m| m.id) } else { None };
        self.stats.receive_failures += 1;
        if consumed.is_some() {
            self.stats.messages_dropped += 1;
        }
        self.fault(FaultKind::CrashOnRecv);
        self.observe(Observation::ReceiveFailed { channel, by, consumed });
        KernelError::ReceiveFailed("injected crash on receive".into())
    }

    fn count_received(&mut self, by: TaskId) {
        self.task_mut(by).received += 1;
        let name = self.tasks[by.index()].name_symbol;
        if self.faults.count_received(name) {
            self.pending_crashes.push((by, FaultKind::CrashAfterMessages, "injected crash after messages".into()));
        }
    }

    // ----- service registry ---------------------------------------------------------------

    /// Registers `service` on `channel`; the caller must hold the channel's capability.
    pub fn register_service(&mut self, by: TaskId, service: ServiceId, channel: ChannelId) -> Result<(), KernelError> {
        let result = self.register_service_unrecorded(by, service, channel);
        self.ops.record(OpKind::Register, &result);
        result
    }

    fn register_service_unrecorded(&mut self, by: TaskId, service: ServiceId, channel: ChannelId) -> Result<(), KernelError> {
        if !self.is_alive(by) {
            return Err(KernelError::InsufficientAuthority);
        }
        let Some(ch) = self.channel(channel) else {
            return Err(KernelError::ChannelError(alloc::format!("no channel {channel}")));
        };
        let cap = ch.cap;
        if self.validate(cap, by).is_err() {
            return Err(KernelError::InsufficientAuthority);
        }
        if self.registration(&service).is_some() {
            return Err(KernelError::ServiceAlreadyRegistered(String::from(service.name(&self.names))));
        }
        if self.registry.len() <= service.0.index() {
            self.registry.resize(service.0.index() + 1, None);
        }
        self.registry[service.0.index()] = Some(Registration { channel, task: by });
        self.service_stats_mut(service).registrations += 1;
        self.task_mut(by).services.push(service);
        self.channels[channel.index()].services.push(service);
        debug_assert_eq!(self.registration(&service).map(|r| (r.channel, r.task)), Some((channel, by)), "a registration is visible at once");
        self.observe(Observation::ServiceRegistered { service, channel, task: by });
        Ok(())
    }

    /// Looks a service up.
    pub fn lookup_service(&mut self, by: TaskId, service: &ServiceId) -> Result<ChannelId, KernelError> {
        let result = self.lookup_service_unrecorded(by, service);
        self.ops.record(OpKind::Lookup, &result);
        result
    }

    fn lookup_service_unrecorded(&mut self, by: TaskId, service: &ServiceId) -> Result<ChannelId, KernelError> {
        if !self.is_alive(by) {
            return Err(KernelError::InsufficientAuthority);
        }
        let Some(reg) = self.registration(service) else {
            self.service_stats_mut(*service).failed_lookups += 1;
            return Err(KernelError::ServiceNotFound(String::from(service.name(&self.names))));
        };
        let channel = reg.channel;
        self.service_stats_mut(*service).lookups += 1;
        self.observe(Observation::ServiceLookedUp { service: *service, channel, by });
        Ok(channel)
    }

    // ----- capabilities -------------------------------------------------------------------

    fn mint(&mut self, to: TaskId, kind: Symbol, durable: bool) -> CapId {
        let before = self.table.minted();
        let cap = self.table.mint(kind, to, durable);
        assert!(cap.0 == before && self.table.minted() == before + 1, "capability ids come from the counter, once each");
        self.audit(CapabilityEvent::Granted { cap, kind, to_task: to, durable });
        cap
    }

    /// Validation before use; a refusal is audited as `InvalidUseAttempt`.
    fn validate(&mut self, cap: CapId, task: TaskId) -> Result<(), InvalidUseReason> {
        let tasks = &self.tasks;
        let result = self.table.validate(cap, task, |t| tasks.get(t.index()).is_some_and(TaskRecord::alive)).map(|_| ());
        if let Err(reason) = result {
            self.audit(CapabilityEvent::InvalidUseAttempt { cap, task, reason });
        }
        result
    }

    /// The kernel grants a new capability of type `kind` to a running task.
    pub fn grant_new_capability(&mut self, to: TaskId, kind: &str, durable: bool) -> Result<CapId, KernelError> {
        let kind = self.names.intern(kind);
        self.grant_capability_of_kind(to, kind, durable)
    }

    /// [`Self::grant_new_capability`] with the kind already interned.
    pub fn grant_capability_of_kind(&mut self, to: TaskId, kind: Symbol, durable: bool) -> Result<CapId, KernelError> {
        let result = self.grant_capability_of_kind_unrecorded(to, kind, durable);
        self.ops.record(OpKind::Grant, &result);
        result
    }

    fn grant_capability_of_kind_unrecorded(&mut self, to: TaskId, kind: Symbol, durable: bool) -> Result<CapId, KernelError> {
        self.stats.capability_ops += 1;
        if !self.is_alive(to) {
            return Err(KernelError::InvalidCapability);
        }
        Ok(self.mint(to, kind, durable))
    }

    /// Moves `cap` from `from` to `to` (move semantics; cross-domain moves are audited).
    pub fn delegate_capability(&mut self, cap: CapId, from: TaskId, to: TaskId) -> Result<(), KernelError> {
        let result = self.delegate_capability_unrecorded(cap, from, to);
        self.ops.record(OpKind::Delegate, &result);
        result
    }

    fn delegate_capability_unrecorded(&mut self, cap: CapId, from: TaskId, to: TaskId) -> Result<(), KernelError> {
        self.stats.capability_ops += 1;
        self.validate(cap, from).map_err(|_| KernelError::InvalidCapability)?;
        if !self.is_alive(to) {
            return Err(KernelError::InvalidCapability);
        }
        self.enforce_delegation(cap, from, to)?;
        self.move_capability(cap, from, to);
        Ok(())
    }

    fn move_capability(&mut self, cap: CapId, from: TaskId, to: TaskId) {
        let keep_source = self.bugs.has(PlantedBug::DelegateKeepsSource);
        self.table.transfer(cap, to, keep_source);
        assert_eq!(self.table.entry(cap).map(|e| e.owner), Some(to), "a moved capability belongs to its new owner");
        debug_assert!(keep_source || from == to || !self.table.owned_by(from).any(|c| c == cap), "the old owner's set no longer holds a moved capability");
        self.audit(CapabilityEvent::Delegated { cap, from_task: from, to_task: to });
        let (from_domain, to_domain) = (self.tasks[from.index()].domain, self.tasks[to.index()].domain);
        if from_domain != to_domain {
            self.audit(CapabilityEvent::CrossDomainDelegation { cap, from_task: from, from_domain, to_task: to, to_domain });
        }
    }

    /// Re-binds the durable capabilities of a dead task to its restarted successor.
    pub fn rebind_durable_capabilities(&mut self, dead: TaskId, successor: TaskId) {
        if self.is_alive(dead) || !self.is_alive(successor) {
            return;
        }
        let durable: Vec<CapId> =
            self.table.owned_by(dead).filter(|c| self.table.entry(*c).is_some_and(|e| e.durable && e.status == crate::capability::CapStatus::Valid)).collect();
        for cap in durable {
            self.rebind_capability(cap, dead, successor);
        }
    }

    /// Moves a durable capability of a dead task to its successor, audited as `Rebound` (the
    /// successor runs the same spec, so the trust domain does not change).
    fn rebind_capability(&mut self, cap: CapId, dead: TaskId, successor: TaskId) {
        self.table.transfer(cap, successor, self.bugs.has(PlantedBug::DelegateKeepsSource));
        self.audit(CapabilityEvent::Rebound { cap, from_task: dead, to_task: successor });
    }

    /// Whether `task` may use `cap` now, and if not the first reason in the seed's order of
    /// checks. A query: not an operation on the table, not counted, not audited.
    pub fn validity(&self, cap: CapId, task: TaskId) -> Result<(), InvalidUseReason> {
        self.table.validate(cap, task, |t| self.is_alive(t)).map(|_| ())
    }

    /// Explicitly duplicates a capability; the copy is a new capability owned by `task`.
    pub fn clone_capability(&mut self, cap: CapId, task: TaskId) -> Result<CapId, KernelError> {
        let result = self.clone_capability_unrecorded(cap, task);
        self.ops.record(OpKind::Clone, &result);
        result
    }

    fn clone_capability_unrecorded(&mut self, cap: CapId, task: TaskId) -> Result<CapId, KernelError> {
        self.stats.capability_ops += 1;
        self.validate(cap, task).map_err(|_| KernelError::InvalidCapability)?;
        let entry = self.table.entry(cap).expect("validated");
        let (kind, durable) = (entry.kind, entry.durable);
        let new_cap = self.table.mint(kind, task, durable);
        self.audit(CapabilityEvent::Cloned { cap, new_cap, task });
        Ok(new_cap)
    }

    /// The owner releases a capability; it becomes invalid.
    pub fn drop_capability(&mut self, cap: CapId, task: TaskId) -> Result<(), KernelError> {
        let result = self.drop_capability_unrecorded(cap, task);
        self.ops.record(OpKind::Drop, &result);
        result
    }

    fn drop_capability_unrecorded(&mut self, cap: CapId, task: TaskId) -> Result<(), KernelError> {
        self.stats.capability_ops += 1;
        self.validate(cap, task).map_err(|_| KernelError::InvalidCapability)?;
        self.table.invalidate(cap);
        assert!(!self.is_capability_valid(cap, task), "a dropped capability is unusable");
        self.audit(CapabilityEvent::Dropped { cap, task });
        Ok(())
    }

    /// `task` exercises `cap`: validation before use.
    pub fn use_capability(&mut self, cap: CapId, task: TaskId) -> Result<(), KernelError> {
        let result = self.use_capability_unrecorded(cap, task);
        self.ops.record(OpKind::Use, &result);
        result
    }

    fn use_capability_unrecorded(&mut self, cap: CapId, task: TaskId) -> Result<(), KernelError> {
        self.stats.capability_ops += 1;
        self.validate(cap, task).map_err(|_| KernelError::InvalidCapability)?;
        self.observe(Observation::CapUsed { cap, task });
        Ok(())
    }

    /// Capabilities `task` currently owns (valid ones first in id order).
    pub fn capabilities_of(&self, task: TaskId) -> Vec<CapId> {
        self.table.owned_by(task).filter(|c| self.is_capability_valid(*c, task)).collect()
    }

    /// Records that a lifecycle fault fired (the loop then terminates the task).
    pub(crate) fn note_lifecycle_crash(&mut self, kind: FaultKind) {
        self.stats.lifecycle_crashes += 1;
        self.fault(kind);
    }

    pub(crate) fn observe_external(&mut self, obs: Observation) {
        self.observe(obs);
    }

    // ----- per-task and per-service counters ------------------------------------------------

    /// The counters of a task, to count something it did.
    pub fn task_stats_mut(&mut self, task: TaskId) -> Option<&mut TaskStats> {
        self.tasks.get_mut(task.index()).map(|t| &mut t.stats)
    }

    /// Counters per service, indexed by service symbol (services never counted are absent or zero).
    pub fn service_stats(&self) -> &[ServiceStats] {
        &self.services
    }

    fn service_stats_mut(&mut self, service: ServiceId) -> &mut ServiceStats {
        let i = service.0.index();
        if self.services.len() <= i {
            self.services.resize(i + 1, ServiceStats::default());
        }
        &mut self.services[i]
    }

    /// A server of `service` decided the version check of a request sent by `requester`.
    pub fn note_version_check(&mut self, service: ServiceId, requester: Option<TaskId>, outcome: Compatibility) {
        self.service_stats_mut(service).versions.note(outcome);
        if let Some(stats) = requester.and_then(|t| self.task_stats_mut(t)) {
            stats.versions.note(outcome);
        }
    }
}
