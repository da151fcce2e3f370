//! The input invariants (checked in runs by the interactive monitors, `invariants::interactive`).
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `input.only_focused_receives` | a key is delivered only to the subscription that has focus ("Routing Events": "Only focused subscription receives events", "Unfocused subscriptions receive nothing") |
//! | `input.revoked_receives_nothing` | nothing is delivered to a revoked or removed subscription ("Revoking Subscription": "No more events delivered") |
//! | `input.delivery_consumes_budget` | each delivery moves the subscriber's `MessageCount` usage up by exactly one ("Delivery consumes MessageCount budget") |
//!
//! [`InputMonitor`] keeps its own shadow of who has focus (from the focus audit trail) and of the
//! revoked subscriptions (from the input audit). Feed it both streams in the order the records
//! were made: after every operation, the new records of the service that operation used
//! ([`InputMonitor::catch_up`] does this for a focus manager and an input service).

use super::service::{InputAuditEvent, InputService, SubscriptionId};
use crate::focus::{FocusEvent, FocusManager};
use crate::rule_check::RuleSink;
use alloc::collections::BTreeSet;
use alloc::format;

pub const ONLY_FOCUSED_RECEIVES: &str = "input.only_focused_receives";
pub const REVOKED_RECEIVES_NOTHING: &str = "input.revoked_receives_nothing";
pub const DELIVERY_CONSUMES_BUDGET: &str = "input.delivery_consumes_budget";

/// Shadow state of the input invariants.
#[derive(Clone, Debug, Default)]
pub struct InputMonitor {
    focused: Option<SubscriptionId>,
    /// Revoked or unsubscribed.
    dead: BTreeSet<SubscriptionId>,
    focus_seen: usize,
    input_seen: usize,
}

impl InputMonitor {
    /// Follows a focus change.
    pub fn observe_focus(&mut self, event: &FocusEvent) {
        match *event {
            FocusEvent::Granted { subscription_id, .. } => self.focused = Some(subscription_id),
            FocusEvent::Transferred { to_subscription_id, .. } => self.focused = Some(to_subscription_id),
            FocusEvent::Released { next, .. } => self.focused = next,
            FocusEvent::Denied { .. } | FocusEvent::Removed { .. } => {}
        }
    }

    /// Checks one input audit record.
    pub fn observe_input(&mut self, event: &InputAuditEvent, sink: &mut dyn RuleSink) {
        match event {
            InputAuditEvent::Subscribed { .. } | InputAuditEvent::Refused { .. } | InputAuditEvent::Unrouted { .. } => {}
            InputAuditEvent::Revoked { subscription, .. } | InputAuditEvent::Unsubscribed { subscription, .. } => {
                self.dead.insert(*subscription);
            }
            InputAuditEvent::Delivered { subscription, execution, event, usage_before, usage_after, at } => {
                let focused = self.focused;
                sink.check(ONLY_FOCUSED_RECEIVES, focused == Some(*subscription), &|| format!("{at}: {event} delivered to {subscription}, but the focus is {focused:?}"));
                sink.check(REVOKED_RECEIVES_NOTHING, !self.dead.contains(subscription), &|| format!("{at}: {event} delivered to {subscription}, which was revoked or removed"));
                let exact = *usage_after == usage_before.saturating_add(1);
                sink.check(DELIVERY_CONSUMES_BUDGET, exact, &|| format!("{at}: delivering {event} to {subscription} moved {execution}'s MessageCount {usage_before} -> {usage_after}"));
            }
        }
    }

    /// Feeds the records `focus` and `input` made since the last call: focus first, then input
    /// (call it after every operation, so that only one of them has new records).
    pub fn catch_up(&mut self, focus: &FocusManager, input: &InputService, sink: &mut dyn RuleSink) {
        for e in &focus.audit_trail()[self.focus_seen..] {
            self.observe_focus(e);
        }
        self.focus_seen = focus.audit_trail().len();
        for e in &input.audit_trail()[self.input_seen..] {
            self.observe_input(e, sink);
        }
        self.input_seen = input.audit_trail().len();
    }
}
