//! Observations: the effects of kernel operations, in the order they happened.
//!
//! The kernel appends an observation for every state change it makes. After each event the
//! engine hands them to the invariant monitors (which keep their own shadow state and never
//! trust the kernel's tables) and folds them into the trace hash, then clears the buffer. They
//! are the "result" half of "every event and its result".

use crate::budget::audit::ResourceEvent;
use crate::cancellation::CancellationEvent;
use crate::capability::CapabilityEvent;
use crate::pipeline::PipelineEvent;
use crate::policy::audit::PolicyCheck;
use crate::storage::StorageEvent;
use alloc::boxed::Box;
use crate::error::KernelErrorKind;
use crate::identity::ExitReason;
use crate::ids::{CapId, ChannelId, ExecutionId, MessageId, TaskId};
use crate::lifecycle::LifecycleState;
use crate::message::ServiceId;
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use serde::{Deserialize, Serialize};

/// The kinds of injected fault, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FaultKind {
    Drop,
    Delay,
    Reorder,
    CrashOnSend,
    CrashOnRecv,
    CrashAfterMessages,
    CrashAt,
    /// An authority fault: a budget limit lowered, the policy engine replaced, a stage attempt
    /// failed, a task crashed inside a transaction.
    BudgetSqueeze,
    PolicySwap,
    StageFailure,
    StorageCrash,
}

/// One effect of a kernel operation.
///
/// The trace hash folds each observation's fixed binary form ([`Fold`]), which starts with a tag
/// per variant: new variants take new tags, or every recorded trace stops replaying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observation {
    TaskSpawned { task: TaskId, exec: ExecutionId, parent: Option<ExecutionId> },
    TaskExited { task: TaskId, exec: ExecutionId, reason: ExitReason },
    ExitNotified { task: TaskId, exec: ExecutionId },
    ChannelCreated { channel: ChannelId, by: TaskId, cap: CapId },
    /// `send_message` accepted the message (it may still be dropped or delayed).
    MessageSent { msg: MessageId, channel: ChannelId, by: TaskId },
    /// The message entered the channel's queue (at send time, or when its delay ended).
    MessageEnqueued { msg: MessageId, channel: ChannelId },
    MessageDropped { msg: MessageId, channel: ChannelId },
    MessageDelayed { msg: MessageId, channel: ChannelId, until: Instant },
    /// `overtaken` was queued before `overtaking`, and now comes after it.
    MessageReordered { channel: ChannelId, overtaken: MessageId, overtaking: MessageId },
    /// A receive returned the message to `by`.
    MessageReceived { msg: MessageId, channel: ChannelId, by: TaskId },
    SendFailed { channel: ChannelId, by: TaskId },
    /// A receive failed by fault; `consumed` is the message lost with it, if any.
    ReceiveFailed { channel: ChannelId, by: TaskId, consumed: Option<MessageId> },
    /// An audit record was appended.
    Audit(CapabilityEvent),
    /// Validation let `task` use `cap`.
    CapUsed { cap: CapId, task: TaskId },
    ServiceRegistered { service: ServiceId, channel: ChannelId, task: TaskId },
    ServiceDeregistered { service: ServiceId, task: TaskId },
    /// A lookup succeeded and returned `channel`.
    ServiceLookedUp { service: ServiceId, channel: ChannelId, by: TaskId },
    /// A supervisor moved its child number `slot` (current incarnation `child`) between states.
    Lifecycle { supervisor: TaskId, slot: u32, child: Option<ExecutionId>, from: LifecycleState, to: LifecycleState },
    FaultInjected(FaultKind),
    StepDone { step: u32, result: Result<(), KernelErrorKind> },
    /// An identity was created without a task (`create_identity`).
    IdentityCreated { exec: ExecutionId },
    /// A resource audit record: a budget attached, a consumption, an exhaustion, a cancellation.
    Resource(ResourceEvent),
    /// A policy decision at an enforcement point.
    Policy(Box<PolicyCheck>),
    /// A step of a pipeline run.
    Pipeline(Box<PipelineEvent>),
    /// A change of the object store.
    Storage(Box<StorageEvent>),
    /// A cancellation source was cancelled.
    Cancellation(Box<CancellationEvent>),
    /// Something happened on the network: a packet operation, the wire, discovery, a session, a
    /// node's crash or restart (`engine/net.rs`).
    Net(Box<crate::net::NetEvent>),
    /// A record of the workspace, its focus manager, its input service or an editor.
    Interactive(Box<InteractiveRecord>),
}

/// One audit record of the interactive layer (`kernel::Interactive`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InteractiveRecord {
    Focus(crate::focus::FocusEvent),
    Input(crate::input::InputAuditEvent),
    Workspace(crate::workspace::WorkspaceEvent),
    Editor { component: crate::workspace::ComponentId, event: crate::editor::EditorEvent },
}

impl InteractiveRecord {
    /// The subsystem a violation found while checking the record is attributed to.
    pub fn subsystem(&self) -> &'static str {
        match self {
            InteractiveRecord::Focus(_) => "focus",
            InteractiveRecord::Input(_) => "input",
            InteractiveRecord::Workspace(_) => "workspace",
            InteractiveRecord::Editor { .. } => "editor",
        }
    }
}

impl Fold for InteractiveRecord {
    /// Tags are stable; new variants take new tags.
    fn fold(&self, h: &mut crate::trace_hash::TraceHasher) {
        match self {
            InteractiveRecord::Focus(e) => {
                h.tag(0, 0);
                e.fold(h);
            }
            InteractiveRecord::Input(e) => {
                h.tag(1, 0);
                e.fold(h);
            }
            InteractiveRecord::Workspace(e) => {
                h.tag(2, 0);
                e.fold(h);
            }
            InteractiveRecord::Editor { component, event } => {
                h.tag(3, component.0);
                event.fold(h);
            }
        }
    }
}

impl Observation {
    /// The part of the kernel an observation comes from; a violation found while checking it is
    /// attributed to this subsystem (part of a failure's signature, stable under shrinking).
    pub fn subsystem(&self) -> &'static str {
        use crate::capability::CapabilityEvent as E;
        match self {
            Observation::TaskSpawned { .. } | Observation::IdentityCreated { .. } => "spawn",
            Observation::TaskExited { .. } | Observation::ExitNotified { .. } => "termination",
            Observation::ChannelCreated { .. } => "channel",
            Observation::MessageSent { .. }
            | Observation::MessageEnqueued { .. }
            | Observation::MessageDropped { .. }
            | Observation::MessageDelayed { .. }
            | Observation::MessageReordered { .. }
            | Observation::SendFailed { .. } => "send",
            Observation::MessageReceived { .. } | Observation::ReceiveFailed { .. } => "receive",
            Observation::Audit(E::Granted { .. } | E::Cloned { .. }) => "capability.mint",
            Observation::Audit(E::Delegated { .. } | E::CrossDomainDelegation { .. }) => "capability.delegate",
            Observation::Audit(E::Dropped { .. }) => "capability.drop",
            Observation::Audit(E::Invalidated { .. }) => "termination",
            Observation::Audit(E::Rebound { .. }) => "capability.rebind",
            Observation::Audit(E::InvalidUseAttempt { .. }) | Observation::CapUsed { .. } => "capability.use",
            Observation::ServiceRegistered { .. } | Observation::ServiceDeregistered { .. } | Observation::ServiceLookedUp { .. } => "registry",
            Observation::Lifecycle { .. } => "supervision",
            Observation::FaultInjected(_) => "fault",
            Observation::StepDone { .. } => "step",
            Observation::Resource(_) => "budget",
            Observation::Policy(_) => "policy",
            Observation::Pipeline(_) => "pipeline",
            Observation::Storage(_) => "storage",
            Observation::Cancellation(_) => "cancellation",
            Observation::Net(e) => match **e {
                crate::net::NetEvent::Packet { .. } => "net.packet",
                crate::net::NetEvent::Wire(_) => "net.wire",
                crate::net::NetEvent::Discovery { .. } => "net.discovery",
                crate::net::NetEvent::Session { .. } => "net.session",
                crate::net::NetEvent::Lite { .. } => "net.lite",
                crate::net::NetEvent::NodeCrashed { .. } | crate::net::NetEvent::NodeRestarted { .. } => "net.node",
            },
            Observation::Interactive(r) => r.subsystem(),
        }
    }
}

/// `Some(x)` as `x`, `None` as `u64::MAX` (ids never reach it).
fn opt(value: Option<u64>) -> u64 {
    value.unwrap_or(u64::MAX)
}

/// Two 32-bit-range values in one word (ids of channels and tasks, small enum indices).
fn pair(a: u64, b: u64) -> u64 {
    (a << 32) ^ b
}

impl Fold for Observation {
    /// The fixed binary form: a tag word per variant (tags are stable; new variants take new
    /// tags), then the fields as words.
    fn fold(&self, h: &mut TraceHasher) {
        use Observation as O;
        match self {
            O::TaskSpawned { task, exec, parent } => {
                h.tag(0, task.0);
                h.word(exec.0);
                h.word(opt(parent.map(|p| p.0)));
            }
            O::TaskExited { task, exec, reason } => {
                h.tag(1, task.0);
                h.word(exec.0);
                reason.fold(h);
            }
            O::ExitNotified { task, exec } => {
                h.tag(2, task.0);
                h.word(exec.0);
            }
            O::ChannelCreated { channel, by, cap } => {
                h.tag(3, pair(channel.0, by.0));
                h.word(cap.0);
            }
            O::MessageSent { msg, channel, by } => {
                h.tag(4, pair(channel.0, by.0));
                h.word(msg.0);
            }
            O::MessageEnqueued { msg, channel } => {
                h.tag(5, channel.0);
                h.word(msg.0);
            }
            O::MessageDropped { msg, channel } => {
                h.tag(6, channel.0);
                h.word(msg.0);
            }
            O::MessageDelayed { msg, channel, until } => {
                h.tag(7, channel.0);
                h.word(msg.0);
                h.word(until.0);
            }
            O::MessageReordered { channel, overtaken, overtaking } => {
                h.tag(8, channel.0);
                h.word(overtaken.0);
                h.word(overtaking.0);
            }
            O::MessageReceived { msg, channel, by } => {
                h.tag(9, pair(channel.0, by.0));
                h.word(msg.0);
            }
            O::SendFailed { channel, by } => h.tag(10, pair(channel.0, by.0)),
            O::ReceiveFailed { channel, by, consumed } => {
                h.tag(11, pair(channel.0, by.0));
                h.word(opt(consumed.map(|m| m.0)));
            }
            O::Audit(event) => {
                h.tag(12, 0);
                event.fold(h);
            }
            O::CapUsed { cap, task } => {
                h.tag(13, task.0);
                h.word(cap.0);
            }
            O::ServiceRegistered { service, channel, task } => {
                h.tag(14, pair(channel.0, task.0));
                h.word(u64::from(service.0 .0));
            }
            O::ServiceDeregistered { service, task } => h.tag(15, pair(u64::from(service.0 .0), task.0)),
            O::ServiceLookedUp { service, channel, by } => {
                h.tag(16, pair(channel.0, by.0));
                h.word(u64::from(service.0 .0));
            }
            O::Lifecycle { supervisor, slot, child, from, to } => {
                h.tag(17, pair(supervisor.0, u64::from(*slot)));
                h.word(opt(child.map(|c| c.0)));
                h.word(pair(*from as u64, *to as u64));
            }
            O::FaultInjected(kind) => h.tag(18, *kind as u64),
            O::StepDone { step, result } => {
                let result = match result {
                    Ok(()) => u64::MAX,
                    Err(kind) => *kind as u64,
                };
                h.tag(19, pair(u64::from(*step), result & 0xffff_ffff));
            }
            O::IdentityCreated { exec } => h.tag(20, exec.0),
            O::Resource(e) => {
                h.tag(21, 0);
                e.fold(h);
            }
            O::Policy(check) => {
                h.tag(22, 0);
                check.fold(h);
            }
            O::Pipeline(e) => {
                h.tag(23, 0);
                e.fold(h);
            }
            O::Storage(e) => {
                h.tag(24, 0);
                e.fold(h);
            }
            O::Cancellation(e) => {
                h.tag(25, 0);
                e.fold(h);
            }
            O::Net(e) => {
                h.tag(40, 0);
                e.fold(h);
            }
            O::Interactive(r) => {
                h.tag(26, 0);
                r.fold(h);
            }
        }
    }
}

impl Observation {
    /// The observation in words, with interned names resolved (for event logs and traces meant
    /// for people; not hashed).
    pub fn describe(&self, names: &crate::names::Names) -> alloc::string::String {
        use alloc::format;
        let service = |s: &ServiceId| names.resolve(s.0);
        match self {
            Observation::Audit(event) => format!("Audit({})", event.describe(names)),
            Observation::ServiceRegistered { service: s, channel, task } => format!("ServiceRegistered {{ service: {:?}, channel: {channel}, task: {task} }}", service(s)),
            Observation::ServiceDeregistered { service: s, task } => format!("ServiceDeregistered {{ service: {:?}, task: {task} }}", service(s)),
            Observation::ServiceLookedUp { service: s, channel, by } => format!("ServiceLookedUp {{ service: {:?}, channel: {channel}, by: {by} }}", service(s)),
            other => crate::capability::readable_ids(&format!("{other:?}")),
        }
    }
}
