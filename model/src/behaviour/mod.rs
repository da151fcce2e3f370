//! Task behaviours: the parameterised programs scenario tasks run (request/response client with
//! retries, echo server, forwarder, capability passer, supervisor, idle).
//!
//! A behaviour is a state machine driven by the event loop: each time its task is woken it takes
//! one step through [`Ctx`] (the seed's `KernelApi` for that task) and returns [`Next`]: park until
//! a message, a child exit or a timeout, or exit with a reason. Behaviours never see the event
//! queue, the invariants or the random generator except through the kernel.

mod client;
mod passer;
mod server;
mod supervisor;

pub use client::Client;
pub use passer::CapPasser;
pub use server::{Forwarder, Server};
pub use supervisor::Supervisor;

use crate::identity::ExitReason;
use crate::ids::{ChannelId, TaskId};
use crate::kernel::{TaskContext, WakeCause};
use crate::scenario::{Behaviour, TaskSpec};
use crate::time::Duration;
use alloc::vec::Vec;

/// What a task does after a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Park until a message on `channel` (if any), an exit notification of a child, or `timeout`.
    Wait { channel: Option<ChannelId>, timeout: Option<Duration> },
    /// Terminate with this reason.
    Exit(ExitReason),
}

impl Next {
    /// Park until a message on `channel` arrives (no timeout).
    pub fn on(channel: ChannelId) -> Next {
        Next::Wait { channel: Some(channel), timeout: None }
    }
    /// Sleep for `d`.
    pub fn sleep(d: Duration) -> Next {
        Next::Wait { channel: None, timeout: Some(d) }
    }
    /// Park forever (until a child exits).
    pub fn forever() -> Next {
        Next::Wait { channel: None, timeout: None }
    }
    pub fn fail(error: &str) -> Next {
        Next::Exit(ExitReason::Failure { error: error.into() })
    }
}

/// What a behaviour may touch during a step.
pub struct Ctx<'a> {
    pub api: TaskContext<'a>,
    /// Tasks spawned during this step, with the spec whose behaviour they run.
    pub spawned: &'a mut Vec<(TaskId, TaskSpec)>,
}

/// The behaviour of one task, with its state.
#[derive(Clone, Debug)]
pub enum TaskBehaviour {
    Idle,
    Server(Server),
    Client(Client),
    Forwarder(Forwarder),
    CapPasser(CapPasser),
    Supervisor(Supervisor),
}

impl TaskBehaviour {
    /// The initial state for a behaviour described in a scenario.
    /// (Names the behaviour uses are interned in the kernel's name table.)
    pub fn from_spec(spec: &Behaviour, kernel: &mut crate::kernel::SimulatedKernel) -> Self {
        match spec {
            Behaviour::Idle => TaskBehaviour::Idle,
            Behaviour::Server { .. } => TaskBehaviour::Server(Server::from_spec(spec, kernel)),
            Behaviour::Client { .. } => TaskBehaviour::Client(Client::from_spec(spec, kernel)),
            Behaviour::Forwarder { .. } => TaskBehaviour::Forwarder(Forwarder::from_spec(spec, kernel)),
            Behaviour::CapPasser { to, hold_ns } => TaskBehaviour::CapPasser(CapPasser::new(kernel.intern(to), Duration(*hold_ns))),
            Behaviour::Supervisor { children, backoff_ns } => TaskBehaviour::Supervisor(Supervisor::new(children.clone(), Duration(*backoff_ns))),
        }
    }

    /// One step after a wake-up.
    pub fn step(&mut self, wake: WakeCause, ctx: &mut Ctx<'_>) -> Next {
        match self {
            TaskBehaviour::Idle => Next::forever(),
            TaskBehaviour::Server(b) => b.step(ctx),
            TaskBehaviour::Client(b) => b.step(wake, ctx),
            TaskBehaviour::Forwarder(b) => b.step(ctx),
            TaskBehaviour::CapPasser(b) => b.step(ctx),
            TaskBehaviour::Supervisor(b) => b.step(wake, ctx),
        }
    }
}
