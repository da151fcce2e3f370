//! The focus manager (interface reference, "Focus Manager Interface", "Policy Integration", "Audit
//! Trail"; architecture Phase 14, "Focus Manager (`services_focus_manager`)"). A pure state
//! machine; in runs, the scenario's workspace owns it (`kernel::Interactive`).
//!
//! A LIFO stack of input subscriptions: the top has focus, and only the top receives events
//! ([`FocusManager::route_event`]). Every change is recorded in the focus audit trail
//! ([`FocusEvent`]).
//!
//! Contract (seed):
//! - `request_focus` pushes the subscription; the previous holder loses focus (`Transferred`, or
//!   `Granted` when nobody had focus);
//! - `release_focus` pops the top; the next subscription (if any) gains focus (`Released` names
//!   it) and the released cap is returned;
//! - requests are **policy-gated**: the policy engine (if any) evaluates
//!   `PolicyEvent::OnInputFocusRequest` with `PolicyContext::for_focus_request(requester, current
//!   holder)` and the subscription as `capability_id`; the decision goes to the policy audit log.
//!   `Deny` and `Require` both refuse (`Denied`, nothing changes); no engine allows everything.
//!   Each grant records the verdict it was given (`focus.policy_gated` checks it). Each
//!   evaluation is also kept whole, with its context and whether the request was refused
//!   ([`FocusManager::take_policy_checks`]): in runs these become the policy observations that
//!   `policy.deterministic` and `policy.composition_precedence` check.
//!
//! Choices where the seed is silent:
//! - a subscription appears at most once on the stack: a request from a subscription lower in the
//!   stack moves it to the top (so a later release returns focus to the one it took it from), and
//!   a request from the current holder changes nothing (no policy evaluation, no record);
//! - [`FocusManager::release`] releases one given subscription: from the top, it is
//!   `release_focus`; from lower in the stack, the entry is removed (`Removed`) and focus does not
//!   move; not on the stack, `NotOnStack`. A component can only give up its own place, never pop
//!   someone else's focus (the seed's argument-less `release_focus` pops whatever is on top);
//! - the focus manager does not know whether a subscription is revoked: the input service refuses
//!   deliveries to it, and whoever removes a component removes its subscription from the stack;
//! - `route_event` cannot fail, so it answers `Option` rather than the seed's
//!   `Result<Option<_>, FocusError>`.
//!
//! Invariant checkers: [`checks`] (`focus.stack_consistent`, `focus.policy_gated`).

pub mod checks;

use crate::bugs::{BugSet, PlantedBug};
use crate::identity::IdentityMetadata;
use crate::input::{InputEvent, InputSubscriptionCap, SubscriptionId};
use crate::policy::audit::{PolicyAuditLog, PolicyCheck};
use crate::policy::{PolicyContext, PolicyDecision, PolicyEngine, PolicyEvent};
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// What the policy said about a focus request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FocusVerdict {
    /// No policy engine: allowed.
    NoPolicy,
    Allowed,
    Denied,
    Required,
}

impl FocusVerdict {
    /// Whether the request may be granted.
    pub fn allows(self) -> bool {
        matches!(self, FocusVerdict::NoPolicy | FocusVerdict::Allowed)
    }
}

/// One record of the focus audit trail (the seed's events, plus the verdict each grant was given
/// and `Removed` for a subscription leaving the stack below the top).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FocusEvent {
    /// Nobody had focus; now `subscription_id` has.
    Granted { subscription_id: SubscriptionId, policy: FocusVerdict, timestamp: Instant },
    Transferred { from_subscription_id: SubscriptionId, to_subscription_id: SubscriptionId, policy: FocusVerdict, timestamp: Instant },
    /// The top was released; `next` has focus now.
    Released { subscription_id: SubscriptionId, next: Option<SubscriptionId>, timestamp: Instant },
    Denied { subscription_id: SubscriptionId, reason: String, policy: FocusVerdict, timestamp: Instant },
    /// A subscription below the top left the stack; focus did not move.
    Removed { subscription_id: SubscriptionId, timestamp: Instant },
}

impl FocusEvent {
    pub fn timestamp(&self) -> Instant {
        match self {
            FocusEvent::Granted { timestamp, .. } | FocusEvent::Transferred { timestamp, .. } | FocusEvent::Released { timestamp, .. } | FocusEvent::Denied { timestamp, .. } | FocusEvent::Removed { timestamp, .. } => *timestamp,
        }
    }
}

impl fmt::Display for FocusEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FocusEvent::Granted { subscription_id, policy, timestamp } => write!(f, "{timestamp} granted {subscription_id} ({policy:?})"),
            FocusEvent::Transferred { from_subscription_id, to_subscription_id, policy, timestamp } => write!(f, "{timestamp} transferred {from_subscription_id} -> {to_subscription_id} ({policy:?})"),
            FocusEvent::Released { subscription_id, next: Some(n), timestamp } => write!(f, "{timestamp} released {subscription_id}, focus back to {n}"),
            FocusEvent::Released { subscription_id, next: None, timestamp } => write!(f, "{timestamp} released {subscription_id}, nothing focused"),
            FocusEvent::Denied { subscription_id, reason, policy, timestamp } => write!(f, "{timestamp} denied {subscription_id} ({policy:?}): {reason}"),
            FocusEvent::Removed { subscription_id, timestamp } => write!(f, "{timestamp} removed {subscription_id} from below the top"),
        }
    }
}

impl Fold for FocusEvent {
    /// Tags are stable; new variants take new tags.
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            FocusEvent::Granted { subscription_id, policy, timestamp } => {
                h.tag(0, subscription_id.0);
                h.word(*policy as u64);
                h.word(timestamp.nanos());
            }
            FocusEvent::Transferred { from_subscription_id, to_subscription_id, policy, timestamp } => {
                h.tag(1, from_subscription_id.0);
                h.word(to_subscription_id.0);
                h.word(*policy as u64);
                h.word(timestamp.nanos());
            }
            FocusEvent::Released { subscription_id, next, timestamp } => {
                h.tag(2, subscription_id.0);
                next.map(|n| n.0).fold(h);
                h.word(timestamp.nanos());
            }
            FocusEvent::Denied { subscription_id, reason, policy, timestamp } => {
                h.tag(3, subscription_id.0);
                h.str(reason);
                h.word(*policy as u64);
                h.word(timestamp.nanos());
            }
            FocusEvent::Removed { subscription_id, timestamp } => {
                h.tag(4, subscription_id.0);
                h.word(timestamp.nanos());
            }
        }
    }
}

/// Why a focus operation failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FocusError {
    /// The policy denied the request.
    Denied { subscription: SubscriptionId, policy: String, reason: String },
    /// The policy requires an action first (refused like a denial).
    ApprovalRequired { subscription: SubscriptionId, policy: String, action: String },
    /// Nothing has focus.
    NoFocus,
    NotOnStack(SubscriptionId),
}

impl fmt::Display for FocusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FocusError::Denied { subscription, policy, reason } => write!(f, "focus for {subscription} denied by {policy}: {reason}"),
            FocusError::ApprovalRequired { subscription, policy, action } => write!(f, "focus for {subscription} needs {action} ({policy})"),
            FocusError::NoFocus => f.write_str("nothing has focus"),
            FocusError::NotOnStack(s) => write!(f, "{s} is not on the focus stack"),
        }
    }
}

/// What a policy-gated focus request needs from its surroundings.
pub struct FocusEnv<'a> {
    pub now: Instant,
    /// `None`: no policy engine, every request is allowed.
    pub policy: Option<&'a dyn PolicyEngine>,
    pub policy_audit: &'a mut PolicyAuditLog,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FocusEntry {
    cap: InputSubscriptionCap,
    identity: IdentityMetadata,
}

/// The focus stack and its audit trail.
#[derive(Clone, Debug, Default)]
pub struct FocusManager {
    /// Bottom first; the last entry has focus.
    stack: Vec<FocusEntry>,
    audit: Vec<FocusEvent>,
    /// The policy evaluations not yet taken.
    checks: Vec<PolicyCheck>,
    bugs: BugSet,
}

impl FocusManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// A manager with planted bugs switched on.
    pub fn with_bugs(bugs: BugSet) -> Self {
        FocusManager { bugs, ..Self::default() }
    }

    /// Asks for focus for `cap`, on behalf of `requester` (policy-gated).
    pub fn request_focus(&mut self, cap: InputSubscriptionCap, requester: &IdentityMetadata, env: &mut FocusEnv<'_>) -> Result<(), FocusError> {
        let from = self.focused().map(|c| c.id);
        if from == Some(cap.id) {
            return Ok(());
        }
        let (verdict, refusal) = self.evaluate(cap.id, requester, env);
        let ignore_require = verdict == FocusVerdict::Required && self.bugs.has(PlantedBug::FocusRequireTreatedAsAllow);
        if let Some(check) = self.checks.last_mut().filter(|_| ignore_require) {
            check.refused = false;
        }
        if let Some(refusal) = refusal.filter(|_| !ignore_require) {
            let reason = match &refusal {
                FocusError::Denied { reason, .. } => reason.clone(),
                FocusError::ApprovalRequired { action, .. } => format!("requires {action}"),
                other => format!("{other}"),
            };
            self.audit.push(FocusEvent::Denied { subscription_id: cap.id, reason, policy: verdict, timestamp: env.now });
            return Err(refusal);
        }
        self.stack.retain(|e| e.cap.id != cap.id);
        self.stack.push(FocusEntry { cap, identity: requester.clone() });
        self.audit.push(match from {
            None => FocusEvent::Granted { subscription_id: cap.id, policy: verdict, timestamp: env.now },
            Some(from) => FocusEvent::Transferred { from_subscription_id: from, to_subscription_id: cap.id, policy: verdict, timestamp: env.now },
        });
        Ok(())
    }

    /// The `OnInputFocusRequest` decision for `subscription`, recorded in the policy audit log.
    /// The whole evaluation is kept for [`FocusManager::take_policy_checks`].
    fn evaluate(&mut self, subscription: SubscriptionId, requester: &IdentityMetadata, env: &mut FocusEnv<'_>) -> (FocusVerdict, Option<FocusError>) {
        let Some(engine) = env.policy else { return (FocusVerdict::NoPolicy, None) };
        let holder = self.stack.last().map(|e| e.identity.clone());
        let mut context = PolicyContext::for_focus_request(requester.clone(), holder);
        context.capability_id = Some(subscription.0);
        let report = engine.evaluate_with_report(PolicyEvent::OnInputFocusRequest, &context);
        env.policy_audit.record(env.now, PolicyEvent::OnInputFocusRequest, &context, &report);
        let policy = || String::from(report.deciding_policy().unwrap_or(engine.name()));
        let answer = match &report.decision {
            PolicyDecision::Allow { .. } => (FocusVerdict::Allowed, None),
            PolicyDecision::Deny { reason } => (FocusVerdict::Denied, Some(FocusError::Denied { subscription, policy: policy(), reason: reason.clone() })),
            PolicyDecision::Require { action } => (FocusVerdict::Required, Some(FocusError::ApprovalRequired { subscription, policy: policy(), action: action.clone() })),
        };
        self.checks.push(PolicyCheck { event: PolicyEvent::OnInputFocusRequest, context, report, refused: answer.1.is_some() });
        answer
    }

    /// The policy evaluations since the last call, in order, each with its full context and
    /// whether the request was refused.
    pub fn take_policy_checks(&mut self) -> Vec<PolicyCheck> {
        core::mem::take(&mut self.checks)
    }

    /// Pops the top of the stack; the next subscription (if any) gains focus.
    pub fn release_focus(&mut self, now: Instant) -> Result<InputSubscriptionCap, FocusError> {
        let top = self.stack.pop().ok_or(FocusError::NoFocus)?;
        if self.bugs.has(PlantedBug::FocusReleasedToBottom) && self.stack.len() >= 2 {
            let bottom = self.stack.remove(0);
            self.stack.push(bottom);
        }
        self.audit.push(FocusEvent::Released { subscription_id: top.cap.id, next: self.focused().map(|c| c.id), timestamp: now });
        Ok(top.cap)
    }

    /// Gives up `subscription`'s place on the stack: from the top, focus passes to the next one;
    /// from below, the entry is removed and focus stays where it is.
    pub fn release(&mut self, subscription: SubscriptionId, now: Instant) -> Result<(), FocusError> {
        let at = self.stack.iter().position(|e| e.cap.id == subscription).ok_or(FocusError::NotOnStack(subscription))?;
        if at + 1 == self.stack.len() {
            return self.release_focus(now).map(|_| ());
        }
        self.stack.remove(at);
        self.audit.push(FocusEvent::Removed { subscription_id: subscription, timestamp: now });
        Ok(())
    }

    /// The subscription that receives `event`: the focused one, if any.
    pub fn route_event(&self, _event: &InputEvent) -> Option<InputSubscriptionCap> {
        if self.bugs.has(PlantedBug::KeysRoutedBelowFocus) && self.stack.len() >= 2 {
            return Some(self.stack[self.stack.len() - 2].cap);
        }
        self.focused()
    }

    /// The subscription that has focus.
    pub fn focused(&self) -> Option<InputSubscriptionCap> {
        self.stack.last().map(|e| e.cap)
    }

    /// Whether `cap` has focus.
    pub fn has_focus(&self, cap: &InputSubscriptionCap) -> bool {
        self.focused().is_some_and(|c| c == *cap)
    }

    /// Whether the subscription is anywhere on the stack.
    pub fn is_on_stack(&self, subscription: SubscriptionId) -> bool {
        self.stack.iter().any(|e| e.cap.id == subscription)
    }

    /// The stack, bottom first (the last one has focus).
    pub fn stack(&self) -> impl ExactSizeIterator<Item = SubscriptionId> + '_ {
        self.stack.iter().map(|e| e.cap.id)
    }

    /// Every focus change, in order.
    pub fn audit_trail(&self) -> &[FocusEvent] {
        &self.audit
    }
}
