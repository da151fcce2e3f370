//! The policy audit log (interface reference, "Policy Audit"): every decision an enforcement
//! point obtained, with the simulated time, the event, the policy that made it and a summary of
//! the context, queryable by tests.
//!
//! Choice where the seed is silent: for a composition, one record per policy evaluated (each
//! names its own policy and decision), so `has_event(|e| e.decision.is_deny())` finds the
//! policy that denied.

use super::{PolicyContext, PolicyDecision, PolicyDecisionReport, PolicyEvent};
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// One recorded decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyAuditEvent {
    pub timestamp: Instant,
    pub event: PolicyEvent,
    pub policy_name: String,
    pub decision: PolicyDecision,
    pub context_summary: String,
}

impl Fold for PolicyAuditEvent {
    fn fold(&self, h: &mut TraceHasher) {
        h.tag(0, self.event as u64);
        h.word(self.timestamp.nanos());
        h.str(&self.policy_name);
        self.decision.fold(h);
        h.str(&self.context_summary);
    }
}

/// Every decision, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyAuditLog {
    events: Vec<PolicyAuditEvent>,
}

impl PolicyAuditLog {
    /// Records every evaluation of `report` for `event` in `context` at `timestamp`.
    pub fn record(&mut self, timestamp: Instant, event: PolicyEvent, context: &PolicyContext, report: &PolicyDecisionReport) {
        let summary = context.summary();
        for e in &report.evaluated_policies {
            self.events.push(PolicyAuditEvent { timestamp, event, policy_name: e.policy_name.clone(), decision: e.decision.clone(), context_summary: summary.clone() });
        }
    }

    pub fn events(&self) -> &[PolicyAuditEvent] {
        &self.events
    }

    pub fn find_events(&self, pred: impl Fn(&PolicyAuditEvent) -> bool) -> Vec<&PolicyAuditEvent> {
        self.events.iter().filter(|e| pred(e)).collect()
    }

    pub fn has_event(&self, pred: impl Fn(&PolicyAuditEvent) -> bool) -> bool {
        self.events.iter().any(pred)
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// One decision an enforcement point obtained, with everything the `policy.*` invariants need: the
/// event, the full context, the explained decision, and whether the point refused the operation
/// (the observation `Observation::Policy` carries it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyCheck {
    pub event: PolicyEvent,
    pub context: PolicyContext,
    pub report: PolicyDecisionReport,
    /// Whether the enforcement point refused the operation (Deny or Require at an enforced event).
    pub refused: bool,
}

impl Fold for PolicyCheck {
    fn fold(&self, h: &mut TraceHasher) {
        h.tag(0, ((self.event as u64) << 1) | u64::from(self.refused));
        self.context.fold(h);
        self.report.decision.fold(h);
        h.word(self.report.evaluated_policies.len() as u64);
        for e in &self.report.evaluated_policies {
            h.str(&e.policy_name);
            e.decision.fold(h);
        }
    }
}
