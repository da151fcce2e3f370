//! The budget invariants, checked from the resource audit log alone (domain layer, not yet wired
//! into the kernel).
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `budget.usage_within_limit` | no consumption takes usage above the identity's limit: the check comes before the effect ("Exhaustion Semantics" 1, "Check budget **before** operation takes effect") |
//! | `budget.child_within_parent` | a child's budget is within its parent's ("Inheritance Rules", "No escalation: Child ≤ parent enforced") |
//! | `budget.exact_consumption` | every consumption moves usage from where the previous one left it by exactly the documented amount ("Consume **exactly** the documented amount", "No double-counting") |
//! | `budget.nothing_after_cancel` | once exhaustion cancelled an identity, nothing more is consumed or evaluated for it ("Cancelled identities consume no further resources") |
//! | `budget.exhaustion_cancels` | every `BudgetExhausted` is followed at once by `CancelledDueToExhaustion` of the same identity and resource ("Identity Cancellation: Exhausted identity is marked cancelled") |
//!
//! The monitor keeps its own shadow of budgets (from `BudgetAttached`), usage and cancellations,
//! and checks each record in O(log n).

use super::audit::ResourceEvent;
use super::{effective, ResourceBudget, ResourceKind};
use crate::ids::ExecutionId;
use crate::rule_check::RuleSink;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;

pub const USAGE_WITHIN_LIMIT: &str = "budget.usage_within_limit";
pub const CHILD_WITHIN_PARENT: &str = "budget.child_within_parent";
pub const EXACT_CONSUMPTION: &str = "budget.exact_consumption";
pub const NOTHING_AFTER_CANCEL: &str = "budget.nothing_after_cancel";
pub const EXHAUSTION_CANCELS: &str = "budget.exhaustion_cancels";

/// Shadow state of the budget invariants.
#[derive(Clone, Debug, Default)]
pub struct BudgetMonitor {
    budgets: BTreeMap<ExecutionId, Option<ResourceBudget>>,
    usage: BTreeMap<(ExecutionId, ResourceKind), u64>,
    cancelled: BTreeSet<ExecutionId>,
    /// An exhaustion whose cancellation must be the very next record.
    awaiting_cancel: Option<(ExecutionId, ResourceKind)>,
}

impl BudgetMonitor {
    /// Checks one audit record.
    pub fn observe(&mut self, event: &ResourceEvent, sink: &mut dyn RuleSink) {
        if let Some((exec, kind)) = self.awaiting_cancel.take() {
            let cancels = matches!(*event, ResourceEvent::CancelledDueToExhaustion { execution_id, resource_type } if execution_id == exec && resource_type == kind);
            sink.check(EXHAUSTION_CANCELS, cancels, &|| format!("{exec} exhausted {kind} but the next record is {event:?}, not its cancellation"));
            if cancels {
                self.cancelled.insert(exec);
                return;
            }
        }
        let exec = event.execution_id();
        match *event {
            ResourceEvent::BudgetAttached { parent, budget, .. } => {
                if let Some(parent) = parent {
                    let parent_budget = self.budgets.get(&parent).copied().flatten();
                    let within = effective(budget.as_ref()).is_subset_of(&effective(parent_budget.as_ref()));
                    sink.check(CHILD_WITHIN_PARENT, within, &|| format!("{exec} got {budget:?}, more than its parent {parent}'s {parent_budget:?}"));
                }
                self.budgets.insert(exec, budget);
            }
            ResourceEvent::BudgetExhausted { resource_type, .. } => {
                sink.check(NOTHING_AFTER_CANCEL, !self.cancelled.contains(&exec), &|| format!("{exec} was evaluated for {resource_type} after it was cancelled"));
                self.awaiting_cancel = Some((exec, resource_type));
            }
            ResourceEvent::CancelledDueToExhaustion { resource_type, .. } => {
                // Only legitimate right after an exhaustion, which returned above.
                sink.check(EXHAUSTION_CANCELS, false, &|| format!("{exec} cancelled for {resource_type} without an exhaustion just before"));
                self.cancelled.insert(exec);
            }
            _ => self.observe_consumption(event, sink),
        }
    }

    fn observe_consumption(&mut self, event: &ResourceEvent, sink: &mut dyn RuleSink) {
        let Some((kind, before, after)) = event.consumption() else { return };
        let exec = event.execution_id();
        sink.check(NOTHING_AFTER_CANCEL, !self.cancelled.contains(&exec), &|| format!("{exec} consumed {kind} ({before} -> {after}) after it was cancelled"));
        let shadow = self.usage.get(&(exec, kind)).copied().unwrap_or(0);
        let amount = match *event {
            ResourceEvent::CpuConsumed { amount, .. } => amount,
            _ => 1,
        };
        let exact = before == shadow && after == before.saturating_add(amount);
        sink.check(EXACT_CONSUMPTION, exact, &|| format!("{exec} consumed {kind} {before} -> {after}; expected {shadow} -> {}", shadow.saturating_add(amount)));
        let limit = self.budgets.get(&exec).copied().flatten().and_then(|b| b.limit(kind));
        sink.check(USAGE_WITHIN_LIMIT, limit.is_none_or(|l| after <= l), &|| format!("{exec} consumed {kind} up to {after}, above its limit {limit:?}"));
        self.usage.insert((exec, kind), after);
    }

    /// End of an event (or of the log): an exhaustion still waiting for its cancellation is a breach.
    pub fn end_event(&mut self, sink: &mut dyn RuleSink) {
        if let Some((exec, kind)) = self.awaiting_cancel.take() {
            sink.check(EXHAUSTION_CANCELS, false, &|| format!("{exec} exhausted {kind} and was never cancelled"));
        }
    }

    /// Checks a whole audit log from the start.
    pub fn check_log(events: &[ResourceEvent], sink: &mut dyn RuleSink) {
        let mut monitor = BudgetMonitor::default();
        for e in events {
            monitor.observe(e, sink);
        }
        monitor.end_event(sink);
    }
}
