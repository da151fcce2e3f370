//! The seed's `KernelApi` trait (interface reference, "Kernel API" / "Trait Definition") and its
//! implementation for one calling task.
//!
//! Deviations from the seed's signatures, each because the simulated kernel must know who calls:
//! - `lookup_service` takes `&mut self`: every lookup is observed by the `registry.consistent`
//!   invariant.
//! - `receive_message` polls: it returns the oldest message or `Err(Timeout)` at once. Blocking
//!   until a message or a deadline is expressed by a behaviour parking itself (`Next::Wait`),
//!   which the event loop turns into a wake-up or a timeout event in virtual time.
//! - `sleep` cannot block inside one event either: it only records the earliest time the task
//!   wants to run again (`TaskContext::wake_not_before`). A behaviour yields by returning
//!   `Next::sleep(d)` from its step, which the event loop turns into a wake-up at `now + d`; the
//!   library's behaviours all do that, and none calls `sleep`.

use super::SimulatedKernel;
use crate::capability::Cap;
use crate::error::KernelError;
use crate::identity::IdentityKind;
use crate::ids::{CapId, ChannelId, TaskId};
use crate::message::{MessageEnvelope, ServiceId};
use crate::time::{Duration, Instant};
use alloc::string::String;
use alloc::vec::Vec;

/// How a task is constructed: a name and the capabilities it is explicitly given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDescriptor {
    pub name: String,
    pub capabilities: Vec<CapId>,
    /// The budget the new identity asks for (none: its parent's, or unlimited without a parent).
    pub budget: Option<crate::budget::ResourceBudget>,
}

impl TaskDescriptor {
    pub fn new(name: String) -> Self {
        TaskDescriptor { name, capabilities: Vec::new(), budget: None }
    }

    /// The new identity asks for `budget`.
    pub fn with_budget(mut self, budget: Option<crate::budget::ResourceBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// Gives the new task `cap`, which moves from the spawner.
    pub fn with_capability(mut self, cap: CapId) -> Self {
        self.capabilities.push(cap);
        self
    }
}

/// What `spawn_task` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskHandle {
    pub task_id: TaskId,
}

/// The interface between user space and the kernel.
pub trait KernelApi {
    fn spawn_task(&mut self, descriptor: TaskDescriptor) -> Result<TaskHandle, KernelError>;
    fn create_channel(&mut self) -> Result<ChannelId, KernelError>;
    fn send_message(&mut self, channel: ChannelId, message: MessageEnvelope) -> Result<(), KernelError>;
    fn receive_message(&mut self, channel: ChannelId, timeout: Option<Duration>) -> Result<MessageEnvelope, KernelError>;
    fn now(&self) -> Instant;
    fn sleep(&mut self, duration: Duration) -> Result<(), KernelError>;
    fn grant_capability(&mut self, task: TaskId, capability: Cap<()>) -> Result<(), KernelError>;
    fn register_service(&mut self, service_id: ServiceId, channel: ChannelId) -> Result<(), KernelError>;
    fn lookup_service(&mut self, service_id: ServiceId) -> Result<ChannelId, KernelError>;
}

/// The kernel as seen by one running task.
pub struct TaskContext<'k> {
    pub kernel: &'k mut SimulatedKernel,
    pub task: TaskId,
    /// The earliest time the task asked to run again (`sleep`).
    pub wake_not_before: Option<Instant>,
}

impl<'k> TaskContext<'k> {
    pub fn new(kernel: &'k mut SimulatedKernel, task: TaskId) -> Self {
        TaskContext { kernel, task, wake_not_before: None }
    }

    /// A capability handle for a capability this task holds (validated), or `None`.
    pub fn capability(&self, cap: CapId) -> Option<Cap<()>> {
        self.kernel.is_capability_valid(cap, self.task).then(|| Cap::minted(cap))
    }
}

impl KernelApi for TaskContext<'_> {
    /// Spawns a child task whose parent and creator are the caller.
    fn spawn_task(&mut self, descriptor: TaskDescriptor) -> Result<TaskHandle, KernelError> {
        let me = self.kernel.task(self.task).ok_or(KernelError::SpawnFailed("no such task".into()))?;
        let (parent, domain) = (me.identity.execution_id, me.identity.trust_domain.clone());
        self.kernel
            .spawn_task_with_identity(Some(self.task), descriptor, IdentityKind::Component, domain, Some(parent))
            .map(|(handle, _)| handle)
    }

    fn create_channel(&mut self) -> Result<ChannelId, KernelError> {
        self.kernel.create_channel(self.task)
    }

    fn send_message(&mut self, channel: ChannelId, message: MessageEnvelope) -> Result<(), KernelError> {
        self.kernel.send_message(self.task, channel, message).map(|_| ())
    }

    fn receive_message(&mut self, channel: ChannelId, _timeout: Option<Duration>) -> Result<MessageEnvelope, KernelError> {
        self.kernel.receive_message(self.task, channel)
    }

    fn now(&self) -> Instant {
        self.kernel.now()
    }

    fn sleep(&mut self, duration: Duration) -> Result<(), KernelError> {
        self.wake_not_before = Some(self.kernel.now().after(duration));
        Ok(())
    }

    /// "Caller must have the capability": the caller's capability moves to `task`.
    fn grant_capability(&mut self, task: TaskId, capability: Cap<()>) -> Result<(), KernelError> {
        self.kernel.delegate_capability(capability.id(), self.task, task)
    }

    fn register_service(&mut self, service_id: ServiceId, channel: ChannelId) -> Result<(), KernelError> {
        self.kernel.register_service(self.task, service_id, channel)
    }

    fn lookup_service(&mut self, service_id: ServiceId) -> Result<ChannelId, KernelError> {
        self.kernel.lookup_service(self.task, &service_id)
    }
}
