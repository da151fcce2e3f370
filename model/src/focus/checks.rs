//! The focus invariants (checked in runs by the interactive monitors, `invariants::interactive`).
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `focus.stack_consistent` | focus changes follow the stack: a grant goes to an empty stack, a transfer starts at the holder and moves the requester to the top, a release pops the top and hands focus to the entry just below it, a removal takes a non-top entry; and the manager's stack is the one these records build ("Requesting Focus": pushes, "Top of stack has focus"; "Releasing Focus": pops, "Next subscription (if any) gains focus") |
//! | `focus.policy_gated` | focus is granted only on an allowing verdict (or with no policy), and a refusal is recorded only on a refusing verdict ("Policy Integration": "Focus requests can be policy-gated") |
//!
//! [`FocusMonitor`] keeps its own shadow stack built from the audit trail alone; at the end of an
//! event it compares the manager's stack with it and then adopts the manager's, so one wrong
//! transition is reported once rather than at every later record.

use super::{FocusEvent, FocusManager};
use crate::input::SubscriptionId;
use crate::rule_check::RuleSink;
use alloc::format;
use alloc::vec::Vec;

pub const STACK_CONSISTENT: &str = "focus.stack_consistent";
pub const POLICY_GATED: &str = "focus.policy_gated";

/// Shadow state of the focus invariants.
#[derive(Clone, Debug, Default)]
pub struct FocusMonitor {
    /// Bottom first.
    stack: Vec<SubscriptionId>,
    seen: usize,
}

impl FocusMonitor {
    /// Checks one focus record.
    pub fn observe(&mut self, event: &FocusEvent, sink: &mut dyn RuleSink) {
        let top = self.stack.last().copied();
        match *event {
            FocusEvent::Granted { subscription_id, policy, timestamp } => {
                sink.check(POLICY_GATED, policy.allows(), &|| format!("{timestamp}: focus granted to {subscription_id} on a {policy:?} verdict"));
                sink.check(STACK_CONSISTENT, top.is_none(), &|| format!("{timestamp}: {subscription_id} granted focus while {top:?} had it (a transfer)"));
                self.push(subscription_id);
            }
            FocusEvent::Transferred { from_subscription_id: from, to_subscription_id: to, policy, timestamp } => {
                sink.check(POLICY_GATED, policy.allows(), &|| format!("{timestamp}: focus transferred to {to} on a {policy:?} verdict"));
                sink.check(STACK_CONSISTENT, top == Some(from) && from != to, &|| format!("{timestamp}: focus transferred {from} -> {to}, but the top is {top:?}"));
                self.push(to);
            }
            FocusEvent::Released { subscription_id, next, timestamp } => {
                let popped = self.stack.pop();
                let below = self.stack.last().copied();
                let holds = popped == Some(subscription_id) && next == below;
                sink.check(STACK_CONSISTENT, holds, &|| format!("{timestamp}: released {subscription_id} giving focus to {next:?}; the stack had {popped:?} on top and {below:?} below it"));
            }
            FocusEvent::Denied { subscription_id, policy, timestamp, .. } => {
                sink.check(POLICY_GATED, !policy.allows(), &|| format!("{timestamp}: focus for {subscription_id} refused on a {policy:?} verdict"));
            }
            FocusEvent::Removed { subscription_id, timestamp } => {
                let at = self.stack.iter().position(|&s| s == subscription_id);
                let below_top = at.is_some_and(|i| i + 1 < self.stack.len());
                sink.check(STACK_CONSISTENT, below_top, &|| format!("{timestamp}: {subscription_id} removed from below the top, but it is at {at:?} of {}", self.stack.len()));
                if let Some(i) = at {
                    self.stack.remove(i);
                }
            }
        }
    }

    fn push(&mut self, s: SubscriptionId) {
        self.stack.retain(|&x| x != s);
        self.stack.push(s);
    }

    /// End of an event: the manager's stack must be the shadow's (then the shadow follows the
    /// manager).
    pub fn end_event(&mut self, manager: &FocusManager, sink: &mut dyn RuleSink) {
        let actual: Vec<SubscriptionId> = manager.stack().collect();
        sink.check(STACK_CONSISTENT, actual == self.stack, &|| format!("the focus stack is {actual:?}, its audit trail gives {:?}", self.stack));
        self.stack = actual;
    }

    /// Checks the manager's records since the last call, then its stack.
    pub fn catch_up(&mut self, manager: &FocusManager, sink: &mut dyn RuleSink) {
        for e in &manager.audit_trail()[self.seen..] {
            self.observe(e, sink);
        }
        self.seen = manager.audit_trail().len();
        self.end_event(manager, sink);
    }

    /// Checks a whole audit trail from the start (no end-of-event comparison).
    pub fn check_trail(events: &[FocusEvent], sink: &mut dyn RuleSink) {
        let mut monitor = FocusMonitor::default();
        for e in events {
            monitor.observe(e, sink);
        }
    }
}
