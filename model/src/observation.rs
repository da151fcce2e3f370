//! Observations: the effects of kernel operations, in the order they happened.
//!
//! The kernel appends an observation for every state change it makes. After each event the
//! engine hands them to the invariant monitors (which keep their own shadow state and never
//! trust the kernel's tables) and folds them into the trace hash, then clears the buffer. They
//! are the "result" half of "every event and its result".

use crate::capability::CapabilityEvent;
use crate::error::KernelErrorKind;
use crate::identity::ExitReason;
use crate::ids::{CapId, ChannelId, ExecutionId, MessageId, TaskId};
use crate::lifecycle::LifecycleState;
use crate::message::ServiceId;
use crate::time::Instant;
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
}

/// One effect of a kernel operation.
///
/// The trace hash encodes each observation with postcard, which writes the variant's index: add
/// new variants at the end only, or every recorded trace stops replaying.
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
            Observation::Audit(E::InvalidUseAttempt { .. }) | Observation::CapUsed { .. } => "capability.use",
            Observation::ServiceRegistered { .. } | Observation::ServiceDeregistered { .. } | Observation::ServiceLookedUp { .. } => "registry",
            Observation::Lifecycle { .. } => "supervision",
            Observation::FaultInjected(_) => "fault",
            Observation::StepDone { .. } => "step",
        }
    }
}
