//! Fault plans: faults as plain data (interface reference, "Fault Injection Semantics";
//! architecture Phase 2, "Resilience and Fault Injection").
//!
//! A [`FaultPlan`] is a list of message-fault rules and lifecycle faults. Semantics, exactly as
//! the reference states them:
//! 1. **Drop** — the message is discarded; the sender gets `Ok(())`, the receiver never sees it.
//! 2. **Delay** — the message is held and enqueued after `nanos` of virtual time; at-most-once holds.
//!    `nanos: 0` is allowed (the shrinker lowers delays to it): the delivery is then a later event
//!    at the same instant, after everything already queued for that time.
//! 3. **Reorder** — the new message is swapped with the last message already queued on the
//!    channel (deterministic); nothing is duplicated. With an empty queue there is nothing to swap
//!    and the fault does not count as injected.
//! 4. **CrashOnSend** — `send_message` returns `Err(SendFailed)`; the message is not enqueued.
//! 5. **CrashOnRecv** — `receive_message` returns `Err(ReceiveFailed)`; whether the head message
//!    was consumed (lost) is a recorded choice.
//!
//! Lifecycle faults: `CrashAfterMessages` terminates the task with that name (whichever
//! incarnation is alive) with `ExitReason::Failure` once tasks of that name have received `count`
//! messages in total (it fires once); `CrashAt` terminates it at a virtual time.
//!
//! Rule evaluation: for each send (or receive), the rules whose fault applies to that operation and
//! whose scope matches are tried in plan order; the first whose trigger fires is injected, so an
//! operation suffers at most one message fault. Each rule counts the operations it was tried on
//! (evaluated) and those it fired on with effect (a `Reorder` with nothing queued to overtake is
//! not injected, so it does not count as fired). A time-based rule (`Window`, `Periodic`) is only tried while
//! it is active: outside its times it cannot fire and draws no choice, so skipping it changes
//! nothing but its evaluation count. The injector indexes rules by scope and opens and closes
//! windows as virtual time passes, so the cost of a send does not grow with the number of rules
//! that cannot apply to it (`kernel::faults`).
//!
//! Authority faults ([`AuthorityFault`]) strain the authority and resource subsystems: a budget
//! squeeze lowers one limit of a task's budget at a virtual time (usage already above it makes the
//! next operation of that resource fail and cancels the identity); a policy swap replaces the
//! policy engine at a virtual time; a stage failure makes the first attempts of a pipeline stage
//! fail (retryably, or permanently); a storage crash terminates a task right after its `n`-th
//! storage write, in the middle of its transaction (the transaction is rolled back).

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// The whole fault plan of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FaultPlan {
    #[serde(default)]
    pub message_faults: Vec<MessageFaultRule>,
    #[serde(default)]
    pub lifecycle_faults: Vec<LifecycleFault>,
    #[serde(default)]
    #[cfg_attr(feature = "arbitrary", arbitrary(default))]
    pub authority_faults: Vec<AuthorityFault>,
    /// Storms, key repeat, lost and duplicated keys, applied to the workspace's key scripts.
    #[serde(default)]
    #[cfg_attr(feature = "arbitrary", arbitrary(default))]
    pub input_faults: Vec<crate::input::InputFault>,
}

impl FaultPlan {
    /// A plan without faults.
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_message_fault(mut self, rule: MessageFaultRule) -> Self {
        self.message_faults.push(rule);
        self
    }
    pub fn with_lifecycle_fault(mut self, fault: LifecycleFault) -> Self {
        self.lifecycle_faults.push(fault);
        self
    }
    pub fn is_empty(&self) -> bool {
        self.message_faults.is_empty() && self.lifecycle_faults.is_empty() && self.authority_faults.is_empty() && self.input_faults.is_empty()
    }
    /// Whether any rule can reorder messages (the FIFO invariant then tolerates the swaps).
    pub fn has_reorder(&self) -> bool {
        self.message_faults.iter().any(|r| r.fault == MessageFault::Reorder)
    }
}

/// One message-fault rule: what to do, to which messages, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MessageFaultRule {
    pub fault: MessageFault,
    #[serde(default)]
    pub on: FaultScope,
    #[serde(default)]
    pub when: FaultTrigger,
}

impl MessageFaultRule {
    pub fn new(fault: MessageFault, when: FaultTrigger) -> Self {
        MessageFaultRule { fault, on: FaultScope::Any, when }
    }
}

/// The message faults of the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MessageFault {
    Drop,
    Delay { nanos: u64 },
    Reorder,
    CrashOnSend,
    CrashOnRecv,
}

impl MessageFault {
    /// Whether the fault acts on receives (otherwise on sends).
    pub fn on_receive(&self) -> bool {
        matches!(self, MessageFault::CrashOnRecv)
    }
}

/// Which messages a rule applies to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum FaultScope {
    /// Every channel.
    #[default]
    Any,
    /// Channels registered for this service.
    Service(String),
    /// Operations performed by tasks with this name.
    Task(String),
}

/// When a rule fires among the operations it matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum FaultTrigger {
    /// Every matching operation.
    #[default]
    Always,
    /// The first `count` matching operations.
    Next { count: u32 },
    /// Every `n`-th matching operation (the `n`-th, `2n`-th, ...); `n = 0` never fires.
    EveryNth { n: u32 },
    /// Each matching operation with probability `per_mille / 1000`, drawn from the run's choices.
    Chance { per_mille: u16 },
    /// Matching operations at virtual times in `[from_ns, until_ns)`.
    Window { from_ns: u64, until_ns: u64 },
    /// Matching operations during the first `for_ns` of every `every_ns` from `from_ns` on: at
    /// times `t >= from_ns` with `(t - from_ns) % every_ns < for_ns` (a partition that toggles, a
    /// link that flaps). One rule, however long the run.
    Periodic {
        every_ns: u64,
        for_ns: u64,
        #[serde(default)]
        from_ns: u64,
    },
}

impl FaultTrigger {
    /// Whether a time-based trigger is active at `now` (`Window`, `Periodic`); other triggers are
    /// not time-based and are always "active" (they decide per operation).
    pub fn active_at(&self, now: u64) -> bool {
        match *self {
            FaultTrigger::Window { from_ns, until_ns } => (from_ns..until_ns).contains(&now),
            FaultTrigger::Periodic { every_ns, for_ns, from_ns } => {
                now >= from_ns && every_ns > 0 && (now - from_ns) % every_ns < for_ns
            }
            _ => true,
        }
    }
}

/// Faults that end tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum LifecycleFault {
    /// Crash the task named `task` once tasks of that name received `count` messages.
    CrashAfterMessages { task: String, count: u32 },
    /// Crash the task named `task` at virtual time `at_ns`.
    CrashAt { task: String, at_ns: u64 },
}

impl LifecycleFault {
    /// The task name the fault targets.
    pub fn task(&self) -> &str {
        match self {
            LifecycleFault::CrashAfterMessages { task, .. } | LifecycleFault::CrashAt { task, .. } => task,
        }
    }
}

/// A fault of the authority and resource subsystems (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum AuthorityFault {
    /// At `at_ns`, the limit of `resource` in the budget of the task named `task` (its newest
    /// incarnation) drops to `limit`, if that is lower (an unlimited resource gets the limit).
    BudgetSqueeze { task: String, at_ns: u64, resource: crate::budget::ResourceKind, limit: u64 },
    /// At `at_ns`, the policy engine becomes `policy` (none: no policy, everything allowed).
    PolicySwap {
        at_ns: u64,
        #[serde(default)]
        policy: Option<crate::policy::PolicySpec>,
    },
    /// The first `attempts` attempts of the stage named `stage` of the pipeline named `pipeline`
    /// (counted over all its runs) fail: retryably, or permanently with `permanent: true`.
    StageFailure {
        pipeline: String,
        stage: String,
        #[serde(default = "one")]
        attempts: u32,
        #[serde(default)]
        permanent: bool,
    },
    /// The task named `task` crashes right after its `after_writes`-th storage write (counted over
    /// its incarnations, steps and pipeline stages alike), inside that write's transaction. Fires once.
    StorageCrash { task: String, after_writes: u32 },
}

fn one() -> u32 {
    1
}

impl AuthorityFault {
    /// The virtual time of a timed fault (squeeze, swap).
    pub fn at_ns(&self) -> Option<u64> {
        match self {
            AuthorityFault::BudgetSqueeze { at_ns, .. } | AuthorityFault::PolicySwap { at_ns, .. } => Some(*at_ns),
            AuthorityFault::StageFailure { .. } | AuthorityFault::StorageCrash { .. } => None,
        }
    }
}
