//! The workspace invariants (checked in runs by the interactive monitors, `invariants::interactive`).
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `workspace.closed_component_unfocused` | a component is unfocused before it terminates and never focused after; at the end of every operation the focused subscription belongs to a running component ("On component exit: 1. Remove from focus stack") |
//! | `workspace.component_within_budget` | a component receives keys only while running and within its `MessageCount` budget, and a component that exhausted its budget is terminated within the same operation ("Budget Enforcement": "Component terminates with `ExitReason::Failure`", "Focus automatically revoked") |
//!
//! [`WorkspaceMonitor`] keeps its own shadow of the focused component, the terminated components,
//! the budgets and the exhaustions not yet followed by a termination, from the workspace audit
//! trail; [`WorkspaceMonitor::end_event`] adds the postconditions over the workspace itself.

use super::{ComponentId, ComponentState, WorkspaceEvent, WorkspaceManager};
use crate::budget::ResourceBudget;
use crate::rule_check::RuleSink;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;

pub const CLOSED_COMPONENT_UNFOCUSED: &str = "workspace.closed_component_unfocused";
pub const COMPONENT_WITHIN_BUDGET: &str = "workspace.component_within_budget";

/// Shadow state of the workspace invariants.
#[derive(Clone, Debug, Default)]
pub struct WorkspaceMonitor {
    focused: Option<ComponentId>,
    terminated: BTreeSet<ComponentId>,
    budgets: BTreeMap<ComponentId, Option<ResourceBudget>>,
    /// Exhausted, not terminated yet.
    exhausted: BTreeSet<ComponentId>,
    seen: usize,
}

impl WorkspaceMonitor {
    /// Checks one workspace record.
    pub fn observe(&mut self, event: &WorkspaceEvent, sink: &mut dyn RuleSink) {
        match event {
            WorkspaceEvent::ComponentLaunched { component_id, budget, .. } => {
                self.budgets.insert(*component_id, *budget);
            }
            WorkspaceEvent::ComponentFocused { component_id, timestamp } => {
                let alive = !self.terminated.contains(component_id);
                sink.check(CLOSED_COMPONENT_UNFOCUSED, alive, &|| format!("{timestamp}: {component_id} focused after it terminated"));
                self.focused = Some(*component_id);
            }
            WorkspaceEvent::ComponentUnfocused { component_id, .. } => {
                if self.focused == Some(*component_id) {
                    self.focused = None;
                }
            }
            WorkspaceEvent::ComponentTerminated { component_id, timestamp, .. } => {
                let focused = self.focused;
                sink.check(CLOSED_COMPONENT_UNFOCUSED, focused != Some(*component_id), &|| format!("{timestamp}: {component_id} terminated while it had focus"));
                self.terminated.insert(*component_id);
                self.exhausted.remove(component_id);
            }
            WorkspaceEvent::InputDelivered { component_id, message_usage, timestamp } => {
                let limit = self.budgets.get(component_id).copied().flatten().and_then(|b| b.message_count).map(|m| m.get());
                let running = !self.terminated.contains(component_id) && !self.exhausted.contains(component_id);
                let within = limit.is_none_or(|l| *message_usage <= l);
                sink.check(COMPONENT_WITHIN_BUDGET, running && within, &|| format!("{timestamp}: key delivered to {component_id} (MessageCount {message_usage}, limit {limit:?}, running {running})"));
            }
            WorkspaceEvent::BudgetExhausted { component_id, .. } => {
                self.exhausted.insert(*component_id);
            }
            WorkspaceEvent::LaunchRefused { .. } | WorkspaceEvent::ComponentStateChanged { .. } | WorkspaceEvent::FocusDenied { .. } => {}
        }
    }

    /// End of an operation: exhausted components must have terminated, and whoever has focus must
    /// be a running component.
    pub fn end_event(&mut self, workspace: &WorkspaceManager, sink: &mut dyn RuleSink) {
        for c in core::mem::take(&mut self.exhausted) {
            sink.check(COMPONENT_WITHIN_BUDGET, false, &|| format!("{c} exhausted its budget and is still running"));
        }
        if let Some(cap) = workspace.focus_manager().focused() {
            let owner = workspace.component_of(cap.id);
            let state = owner.and_then(|c| workspace.status(c).ok()).map(|c| c.state);
            sink.check(CLOSED_COMPONENT_UNFOCUSED, state == Some(ComponentState::Running), &|| format!("{} has focus, but its component {owner:?} is {state:?}", cap.id));
        }
    }

    /// Checks the workspace's records since the last call, then its postconditions.
    pub fn catch_up(&mut self, workspace: &WorkspaceManager, sink: &mut dyn RuleSink) {
        for e in &workspace.audit_trail()[self.seen..] {
            self.observe(e, sink);
        }
        self.seen = workspace.audit_trail().len();
        self.end_event(workspace, sink);
    }

    /// Checks a whole audit trail from the start (exhaustions must be terminated by its end).
    pub fn check_trail(events: &[WorkspaceEvent], sink: &mut dyn RuleSink) {
        let mut monitor = WorkspaceMonitor::default();
        for e in events {
            monitor.observe(e, sink);
        }
        for c in core::mem::take(&mut monitor.exhausted) {
            sink.check(COMPONENT_WITHIN_BUDGET, false, &|| format!("{c} exhausted its budget and never terminated"));
        }
    }
}
