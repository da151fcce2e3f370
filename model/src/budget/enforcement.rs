//! Budget enforcement (interface reference, "Phase 12: Resource Enforcement Interface"; architecture
//! "Phase 12: Deterministic Resource Enforcement & Exhaustion Semantics"; networking `000_*`,
//! `try_consume_packet`). Domain layer, not yet wired into the kernel.
//!
//! The [`ResourceLedger`] holds every identity's budget, usage and cancellation, and is the one
//! place that consumes resources. Rules kept here (each checked from the audit log by
//! [`super::rules`]):
//! - **check before effect**: an operation that would take usage above its limit fails before it
//!   takes effect; usage is unchanged and nothing is consumed (`budget.usage_within_limit`);
//! - **exact consumption**: a send, a receive, a stage entry, a storage operation and a packet
//!   each consume exactly one unit, CPU consumes exactly the ticks asked for
//!   (`budget.exact_consumption`);
//! - **exhaustion cancels**: the failing operation records `BudgetExhausted`, then the identity is
//!   cancelled and `CancelledDueToExhaustion` is recorded (`budget.exhaustion_cancels`);
//! - **cancelled is dead**: every later operation of a cancelled identity fails at once, as
//!   cancelled, and consumes nothing (`budget.nothing_after_cancel`);
//! - **inheritance at spawn**: [`ResourceLedger::attach`] refuses a child budget above its
//!   parent's (`budget.child_within_parent`);
//! - usage is always tracked, even without a budget (an identity with no budget is unlimited, so
//!   enforcement is opt-in as the seed's "Backwards Compatibility" says).
//!
//! Choices where the seed is silent: the exhaustion error carries the usage before the failing
//! operation (the seed's `limit=10, usage=10` example) and the audit's `attempted_usage` the usage
//! the operation would have reached; consuming zero CPU ticks is a no-op that still checks for
//! cancellation.

use super::audit::{MessageOperation, PacketOperation, ResourceAuditLog, ResourceEvent};
use super::{derive_child_budget, CpuTicks, ResourceBudget, ResourceError, ResourceKind, ResourceUsage};
use crate::bugs::{BugSet, PlantedBug};
use crate::ids::ExecutionId;
use crate::pipeline::{PipelineId, StageId};
use alloc::collections::BTreeMap;
use core::fmt;
use serde::{Deserialize, Serialize};

/// An operation that consumes a resource, with how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Consumption {
    /// `send_message` / `receive_message`: one `MessageCount`.
    Message(MessageOperation),
    /// Simulated work: the given ticks.
    Cpu(CpuTicks),
    /// A storage read or write: one `StorageOps`.
    StorageOp,
    /// Entering a pipeline stage: one `PipelineStages`.
    PipelineStage { pipeline: PipelineId, stage: StageId },
    /// A packet sent or received: one `PacketCount`.
    Packet(PacketOperation),
}

impl Consumption {
    pub fn kind(self) -> ResourceKind {
        match self {
            Consumption::Message(_) => ResourceKind::MessageCount,
            Consumption::Cpu(_) => ResourceKind::CpuTicks,
            Consumption::StorageOp => ResourceKind::StorageOps,
            Consumption::PipelineStage { .. } => ResourceKind::PipelineStages,
            Consumption::Packet(_) => ResourceKind::PacketCount,
        }
    }

    /// The documented amount: one unit, or the ticks of a CPU consumption.
    pub fn amount(self) -> u64 {
        match self {
            Consumption::Cpu(ticks) => ticks.0,
            _ => 1,
        }
    }

    /// The seed's operation name (`"send_message"`).
    pub fn operation(self) -> &'static str {
        match self {
            Consumption::Message(MessageOperation::Send) => "send_message",
            Consumption::Message(MessageOperation::Receive) => "receive_message",
            Consumption::Cpu(_) => "try_consume_cpu_ticks",
            Consumption::StorageOp => "storage_op",
            Consumption::PipelineStage { .. } => "try_consume_pipeline_stage",
            Consumption::Packet(PacketOperation::Send) => "send_packet",
            Consumption::Packet(PacketOperation::Receive) => "receive_packet",
        }
    }
}

/// The seed's `KernelError::ResourceBudgetExhausted`: the operation failed before taking effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetExhausted {
    pub resource_type: ResourceKind,
    /// Whether the identity was already cancelled (the seed puts "cancelled" in the type).
    pub cancelled: bool,
    pub limit: Option<u64>,
    /// Usage of the resource when the operation failed (before it).
    pub usage: u64,
    pub identity: ExecutionId,
    pub operation: Consumption,
}

impl fmt::Display for BudgetExhausted {
    /// `Resource budget exhausted: MessageCount limit=100, usage=100, identity=exec#3, operation=send_message`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Resource budget exhausted: {}", self.resource_type)?;
        if self.cancelled {
            f.write_str(" (cancelled)")?;
        }
        match self.limit {
            Some(limit) => write!(f, " limit={limit}")?,
            None => f.write_str(" limit=unlimited")?,
        }
        write!(f, ", usage={}, identity={}, operation={}", self.usage, self.identity, self.operation.operation())
    }
}

/// One identity's account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Account {
    budget: Option<ResourceBudget>,
    usage: ResourceUsage,
    /// The resource whose exhaustion cancelled the identity.
    cancelled: Option<ResourceKind>,
}

/// Budgets, usage and exhaustion-cancellation of every identity, plus the resource audit log.
#[derive(Clone, Debug, Default)]
pub struct ResourceLedger {
    accounts: BTreeMap<ExecutionId, Account>,
    audit: ResourceAuditLog,
    bugs: BugSet,
}

impl ResourceLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// A ledger with planted bugs switched on.
    pub fn with_bugs(bugs: BugSet) -> Self {
        ResourceLedger { bugs, ..Self::default() }
    }

    /// Gives `execution_id` its budget at spawn: `requested` must be within the parent's budget (no
    /// request inherits the parent's). Returns the budget attached.
    pub fn attach(&mut self, execution_id: ExecutionId, parent: Option<ExecutionId>, requested: Option<ResourceBudget>) -> Result<Option<ResourceBudget>, ResourceError> {
        let parent_budget = parent.and_then(|p| self.budget(p));
        let budget = match derive_child_budget(parent_budget.as_ref(), requested) {
            Ok(b) => b,
            Err(_) if self.bugs.has(PlantedBug::BudgetInheritanceUnchecked) => requested,
            Err(e) => return Err(e),
        };
        self.accounts.entry(execution_id).or_default().budget = budget;
        self.audit.record(ResourceEvent::BudgetAttached { execution_id, parent, budget });
        Ok(budget)
    }

    /// Consumes `consumption` for `execution_id`, checking before the effect.
    ///
    /// A cancelled identity fails at once (nothing recorded, nothing consumed). An operation that
    /// would go over the limit records `BudgetExhausted`, cancels the identity, records
    /// `CancelledDueToExhaustion` and fails; usage stays as it was.
    pub fn try_consume(&mut self, execution_id: ExecutionId, consumption: Consumption) -> Result<(), BudgetExhausted> {
        let bugs = self.bugs;
        let kind = consumption.kind();
        let account = self.accounts.entry(execution_id).or_default();
        let limit = account.budget.and_then(|b| b.limit(kind));
        let usage = account.usage.get(kind);
        let refusal = |cancelled| BudgetExhausted { resource_type: kind, cancelled, limit, usage, identity: execution_id, operation: consumption };
        if account.cancelled.is_some() && !bugs.has(PlantedBug::CancelledIdentityStillConsumes) {
            return Err(refusal(true));
        }
        let mut amount = consumption.amount();
        if bugs.has(PlantedBug::MessageChargedTwice) && consumption == Consumption::Message(MessageOperation::Send) {
            amount = 2;
        }
        let attempted = usage.saturating_add(amount);
        let over = limit.is_some_and(|l| attempted > l);
        if !over || bugs.has(PlantedBug::BudgetCheckedAfterConsume) {
            account.usage.add(kind, amount);
            self.audit.record(ResourceEvent::consumed(execution_id, consumption, usage, account.usage.get(kind)));
        }
        if !over {
            return Ok(());
        }
        let limit_value = limit.unwrap_or(u64::MAX);
        self.audit.record(ResourceEvent::BudgetExhausted { execution_id, resource_type: kind, limit: limit_value, attempted_usage: attempted, operation: consumption });
        if !bugs.has(PlantedBug::ExhaustionDoesNotCancel) {
            account.cancelled = Some(kind);
            self.audit.record(ResourceEvent::CancelledDueToExhaustion { execution_id, resource_type: kind });
        }
        Err(refusal(false))
    }

    /// `try_consume_cpu_ticks`.
    pub fn try_consume_cpu_ticks(&mut self, execution_id: ExecutionId, amount: u64) -> Result<(), BudgetExhausted> {
        self.try_consume(execution_id, Consumption::Cpu(CpuTicks(amount)))
    }

    /// `try_consume_pipeline_stage`.
    pub fn try_consume_pipeline_stage(&mut self, execution_id: ExecutionId, pipeline: PipelineId, stage: StageId) -> Result<(), BudgetExhausted> {
        self.try_consume(execution_id, Consumption::PipelineStage { pipeline, stage })
    }

    /// `try_consume_packet`.
    pub fn try_consume_packet(&mut self, execution_id: ExecutionId, operation: PacketOperation) -> Result<(), BudgetExhausted> {
        self.try_consume(execution_id, Consumption::Packet(operation))
    }

    /// Whether budget exhaustion cancelled the identity.
    pub fn is_identity_cancelled(&self, execution_id: ExecutionId) -> bool {
        self.accounts.get(&execution_id).is_some_and(|a| a.cancelled.is_some())
    }

    /// The resource whose exhaustion cancelled the identity.
    pub fn cancelled_by(&self, execution_id: ExecutionId) -> Option<ResourceKind> {
        self.accounts.get(&execution_id).and_then(|a| a.cancelled)
    }

    pub fn budget(&self, execution_id: ExecutionId) -> Option<ResourceBudget> {
        self.accounts.get(&execution_id).and_then(|a| a.budget)
    }

    pub fn usage(&self, execution_id: ExecutionId) -> ResourceUsage {
        self.accounts.get(&execution_id).map(|a| a.usage).unwrap_or_default()
    }

    /// What is left of the identity's budget (unlimited if it has none).
    pub fn remaining(&self, execution_id: ExecutionId) -> ResourceBudget {
        let budget = super::effective(self.budget(execution_id).as_ref());
        self.usage(execution_id).remaining(&budget)
    }

    /// Releases the identity's account at termination ("Budget automatically released"). The
    /// kernel never consumes for a dead identity, so nothing is recorded.
    pub fn release(&mut self, execution_id: ExecutionId) {
        self.accounts.remove(&execution_id);
    }

    pub fn resource_audit(&self) -> &ResourceAuditLog {
        &self.audit
    }
}

impl ResourceLedger {
    /// Lowers the limit of `kind` in the identity's budget to `limit` if that is lower (an
    /// unlimited resource gets the limit): a budget squeeze (a fault). Recorded as a new
    /// `BudgetAttached` without a parent, so the audit log alone still tells every limit. Usage
    /// already above the new limit is not undone: the next consumption of that resource fails and
    /// cancels the identity.
    pub fn squeeze(&mut self, execution_id: ExecutionId, kind: ResourceKind, limit: u64) {
        let account = self.accounts.entry(execution_id).or_default();
        let current = account.budget.unwrap_or(ResourceBudget::unlimited());
        let lowered = current.limit(kind).map_or(limit, |l| l.min(limit));
        let budget = Some(current.with_limit(kind, Some(lowered)));
        account.budget = budget;
        self.audit.record(ResourceEvent::BudgetAttached { execution_id, parent: None, budget });
    }
}
