//! The resource audit log (interface reference, "Phase 12: Resource Enforcement Interface",
//! "Resource Audit Log"; networking `000_*`, `ResourceEvent::PacketConsumed`). Domain layer, not
//! yet wired into the kernel.
//!
//! Every consumption, exhaustion and exhaustion-cancellation is appended in the order it
//! happened, so the log is deterministic and the budget invariants ([`super::rules`]) can be
//! checked from it alone. Beyond the seed's event kinds the log records `BudgetAttached` (the
//! budget an identity got at spawn, with its parent) because the inheritance and limit checks
//! need to know the budgets without reading the ledger.

use super::enforcement::Consumption;
use super::{ResourceBudget, ResourceKind};
use crate::ids::ExecutionId;
use crate::pipeline::{PipelineId, StageId};
use crate::trace_hash::{Fold, TraceHasher};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// Which direction a message consumption went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MessageOperation {
    Send,
    Receive,
}

/// Which direction a packet consumption went (networking seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PacketOperation {
    Send,
    Receive,
}

/// One resource audit record. `before`/`after` are the identity's usage of that resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceEvent {
    MessageConsumed { execution_id: ExecutionId, operation: MessageOperation, before: u64, after: u64 },
    CpuConsumed { execution_id: ExecutionId, amount: u64, before: u64, after: u64 },
    StorageOpConsumed { execution_id: ExecutionId, before: u64, after: u64 },
    PipelineStageConsumed { execution_id: ExecutionId, pipeline: PipelineId, stage: StageId, before: u64, after: u64 },
    /// The operation would have gone over the limit and failed before taking effect.
    BudgetExhausted { execution_id: ExecutionId, resource_type: ResourceKind, limit: u64, attempted_usage: u64, operation: Consumption },
    CancelledDueToExhaustion { execution_id: ExecutionId, resource_type: ResourceKind },
    PacketConsumed { execution_id: ExecutionId, operation: PacketOperation, before: u64, after: u64 },
    /// An identity got its budget (at spawn); `parent` is the identity it inherits from.
    BudgetAttached { execution_id: ExecutionId, parent: Option<ExecutionId>, budget: Option<ResourceBudget> },
}

impl ResourceEvent {
    /// The identity the record is about.
    pub fn execution_id(&self) -> ExecutionId {
        match *self {
            ResourceEvent::MessageConsumed { execution_id, .. }
            | ResourceEvent::CpuConsumed { execution_id, .. }
            | ResourceEvent::StorageOpConsumed { execution_id, .. }
            | ResourceEvent::PipelineStageConsumed { execution_id, .. }
            | ResourceEvent::BudgetExhausted { execution_id, .. }
            | ResourceEvent::CancelledDueToExhaustion { execution_id, .. }
            | ResourceEvent::PacketConsumed { execution_id, .. }
            | ResourceEvent::BudgetAttached { execution_id, .. } => execution_id,
        }
    }

    /// For a consumption record: the resource, the usage before and after.
    pub fn consumption(&self) -> Option<(ResourceKind, u64, u64)> {
        match *self {
            ResourceEvent::MessageConsumed { before, after, .. } => Some((ResourceKind::MessageCount, before, after)),
            ResourceEvent::CpuConsumed { before, after, .. } => Some((ResourceKind::CpuTicks, before, after)),
            ResourceEvent::StorageOpConsumed { before, after, .. } => Some((ResourceKind::StorageOps, before, after)),
            ResourceEvent::PipelineStageConsumed { before, after, .. } => Some((ResourceKind::PipelineStages, before, after)),
            ResourceEvent::PacketConsumed { before, after, .. } => Some((ResourceKind::PacketCount, before, after)),
            _ => None,
        }
    }

    /// The record of `consumption` moving usage from `before` to `after`.
    pub fn consumed(execution_id: ExecutionId, consumption: Consumption, before: u64, after: u64) -> Self {
        match consumption {
            Consumption::Message(operation) => ResourceEvent::MessageConsumed { execution_id, operation, before, after },
            Consumption::Cpu(ticks) => ResourceEvent::CpuConsumed { execution_id, amount: ticks.0, before, after },
            Consumption::StorageOp => ResourceEvent::StorageOpConsumed { execution_id, before, after },
            Consumption::PipelineStage { pipeline, stage } => ResourceEvent::PipelineStageConsumed { execution_id, pipeline, stage, before, after },
            Consumption::Packet(operation) => ResourceEvent::PacketConsumed { execution_id, operation, before, after },
        }
    }
}

/// The resource audit log: every record in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAuditLog {
    entries: Vec<ResourceEvent>,
}

impl ResourceAuditLog {
    pub fn record(&mut self, event: ResourceEvent) {
        self.entries.push(event);
    }

    pub fn entries(&self) -> &[ResourceEvent] {
        &self.entries
    }

    pub fn count_events(&self, pred: impl Fn(&ResourceEvent) -> bool) -> usize {
        self.entries.iter().filter(|e| pred(e)).count()
    }

    pub fn has_event(&self, pred: impl Fn(&ResourceEvent) -> bool) -> bool {
        self.entries.iter().any(pred)
    }

    /// The records about one identity, in order.
    pub fn entries_for_execution(&self, execution_id: ExecutionId) -> Vec<&ResourceEvent> {
        self.entries.iter().filter(|e| e.execution_id() == execution_id).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Fold for Consumption {
    fn fold(&self, h: &mut TraceHasher) {
        match *self {
            Consumption::Message(op) => h.tag(0, op as u64),
            Consumption::Cpu(ticks) => {
                h.tag(1, 0);
                h.word(ticks.0);
            }
            Consumption::StorageOp => h.tag(2, 0),
            Consumption::PipelineStage { pipeline, stage } => {
                h.tag(3, u64::from(stage.0));
                h.word(pipeline.0);
            }
            Consumption::Packet(op) => h.tag(4, op as u64),
        }
    }
}

impl Fold for ResourceEvent {
    /// Tags are stable; new variants take new tags.
    fn fold(&self, h: &mut TraceHasher) {
        use ResourceEvent as E;
        match *self {
            E::MessageConsumed { execution_id, operation, before, after } => {
                h.tag(0, operation as u64);
                h.word(execution_id.0);
                h.word(before);
                h.word(after);
            }
            E::CpuConsumed { execution_id, amount, before, after } => {
                h.tag(1, 0);
                h.word(execution_id.0);
                h.word(amount);
                h.word(before);
                h.word(after);
            }
            E::StorageOpConsumed { execution_id, before, after } => {
                h.tag(2, 0);
                h.word(execution_id.0);
                h.word(before);
                h.word(after);
            }
            E::PipelineStageConsumed { execution_id, pipeline, stage, before, after } => {
                h.tag(3, u64::from(stage.0));
                h.word(execution_id.0);
                h.word(pipeline.0);
                h.word(before);
                h.word(after);
            }
            E::BudgetExhausted { execution_id, resource_type, limit, attempted_usage, operation } => {
                h.tag(4, resource_type as u64);
                h.word(execution_id.0);
                h.word(limit);
                h.word(attempted_usage);
                operation.fold(h);
            }
            E::CancelledDueToExhaustion { execution_id, resource_type } => {
                h.tag(5, resource_type as u64);
                h.word(execution_id.0);
            }
            E::PacketConsumed { execution_id, operation, before, after } => {
                h.tag(6, operation as u64);
                h.word(execution_id.0);
                h.word(before);
                h.word(after);
            }
            E::BudgetAttached { execution_id, parent, budget } => {
                h.tag(7, 0);
                h.word(execution_id.0);
                parent.map(|p| p.0).fold(h);
                budget.fold(h);
            }
        }
    }
}
