//! The input service (interface reference, "Input Service Interface": "Subscribing to Input",
//! "Revoking Subscription", "Unsubscribing"; architecture Phase 14, "Input Service
//! (`services_input`)"): keyboard subscriptions and the delivery of key events to them.
//!
//! Contract (seed) and the choices where it is silent:
//! - **one subscription per task**: a second `subscribe_keyboard` of a task that holds one —
//!   active or revoked — fails with `AlreadySubscribed`; after `unsubscribe` the task may
//!   subscribe again and gets a new subscription id (ids come from a counter, never reused);
//! - `subscribe_keyboard` returns an [`InputSubscriptionCap`] naming the subscription, its task and
//!   the channel events are delivered on; a cap whose task or channel does not match the
//!   subscription (forged) is refused as unknown;
//! - **revoke** deactivates without removing: no more events are delivered, the subscription still
//!   exists (and still holds the task's one slot). Revoking twice is a no-op (recorded once).
//!   Revoking does not touch the focus stack (the focus manager is a separate service, as in the
//!   seed); a revoked subscription that still has focus receives nothing — keys routed to it are
//!   refused and recorded;
//! - **unsubscribe** removes the subscription completely; later deliveries to its cap are refused;
//! - **delivery consumes `MessageCount`**: each delivery charges the subscriber's identity one
//!   `MessageCount` unit as a receive, through the [`ResourceLedger`] (check before effect: a
//!   delivery the budget refuses is not delivered, and the ledger cancels the exhausted identity as
//!   it always does). Refused deliveries consume nothing;
//! - every operation is recorded in the input audit ([`InputAuditEvent`]), including keys that
//!   arrived while nothing had focus (`Unrouted`: dropped, never queued for a later focus holder —
//!   input is not ambient, and a component must not read keys typed before it had focus).
//!
//! Routing ([`dispatch`]) asks the focus manager for the focused subscription and delivers to it
//! alone. Key states are not looked at: `Released` and `Repeat` events are delivered like presses.

use super::types::InputEvent;
use crate::budget::audit::MessageOperation;
use crate::budget::enforcement::{BudgetExhausted, Consumption, ResourceLedger};
use crate::bugs::{BugSet, PlantedBug};
use crate::focus::FocusManager;
use crate::ids::{ChannelId, ExecutionId, IdCounter, TaskId};
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// An input subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubscriptionId(pub u64);

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sub#{}", self.0)
    }
}

/// The capability a subscription is: which subscription, whose, delivered on which channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InputSubscriptionCap {
    pub id: SubscriptionId,
    pub task_id: TaskId,
    pub channel: ChannelId,
}

/// Why the input service refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputServiceError {
    /// The task already holds a subscription (active or revoked).
    AlreadySubscribed { task: TaskId, existing: SubscriptionId },
    /// No such subscription (never made, unsubscribed, or a cap that does not match it).
    UnknownSubscription(SubscriptionId),
    /// The subscription was revoked.
    Inactive(SubscriptionId),
    /// The subscriber's budget refused the delivery.
    BudgetExhausted(BudgetExhausted),
}

impl fmt::Display for InputServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputServiceError::AlreadySubscribed { task, existing } => write!(f, "{task} already holds {existing}"),
            InputServiceError::UnknownSubscription(s) => write!(f, "unknown subscription {s}"),
            InputServiceError::Inactive(s) => write!(f, "{s} is revoked"),
            InputServiceError::BudgetExhausted(e) => write!(f, "{e}"),
        }
    }
}

/// Why a delivery was refused (payload-free, for the audit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Refusal {
    Unknown,
    Inactive,
    BudgetExhausted,
}

impl InputServiceError {
    pub fn refusal(&self) -> Refusal {
        match self {
            InputServiceError::BudgetExhausted(_) => Refusal::BudgetExhausted,
            InputServiceError::Inactive(_) => Refusal::Inactive,
            InputServiceError::UnknownSubscription(_) | InputServiceError::AlreadySubscribed { .. } => Refusal::Unknown,
        }
    }
}

/// A delivery made: the message the kernel puts on `channel` for `task`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub subscription: SubscriptionId,
    pub task: TaskId,
    pub channel: ChannelId,
    /// The identity charged for it.
    pub execution: ExecutionId,
}

/// One record of the input audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputAuditEvent {
    Subscribed { subscription: SubscriptionId, task: TaskId, channel: ChannelId, execution: ExecutionId, at: Instant },
    Revoked { subscription: SubscriptionId, at: Instant },
    Unsubscribed { subscription: SubscriptionId, at: Instant },
    /// `event` was delivered; the subscriber's `MessageCount` usage went from `usage_before` to
    /// `usage_after` (read from the ledger around the charge).
    Delivered { subscription: SubscriptionId, execution: ExecutionId, event: InputEvent, usage_before: u64, usage_after: u64, at: Instant },
    Refused { subscription: SubscriptionId, reason: Refusal, event: InputEvent, at: Instant },
    /// Nothing had focus: the event was dropped.
    Unrouted { event: InputEvent, at: Instant },
}

impl fmt::Display for InputAuditEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputAuditEvent::Subscribed { subscription, task, channel, execution, at } => write!(f, "{at} subscribed {subscription} ({task}, {channel}, {execution})"),
            InputAuditEvent::Revoked { subscription, at } => write!(f, "{at} revoked {subscription}"),
            InputAuditEvent::Unsubscribed { subscription, at } => write!(f, "{at} unsubscribed {subscription}"),
            InputAuditEvent::Delivered { subscription, event, usage_before, usage_after, at, .. } => write!(f, "{at} delivered {event} to {subscription} (MessageCount {usage_before} -> {usage_after})"),
            InputAuditEvent::Refused { subscription, reason, event, at } => write!(f, "{at} refused {event} to {subscription}: {reason:?}"),
            InputAuditEvent::Unrouted { event, at } => write!(f, "{at} dropped {event}: nothing has focus"),
        }
    }
}

impl InputAuditEvent {
    pub fn at(&self) -> Instant {
        match self {
            InputAuditEvent::Subscribed { at, .. }
            | InputAuditEvent::Revoked { at, .. }
            | InputAuditEvent::Unsubscribed { at, .. }
            | InputAuditEvent::Delivered { at, .. }
            | InputAuditEvent::Refused { at, .. }
            | InputAuditEvent::Unrouted { at, .. } => *at,
        }
    }
}

impl Fold for InputAuditEvent {
    /// Tags are stable; new variants take new tags.
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            InputAuditEvent::Subscribed { subscription, task, channel, execution, at } => {
                h.tag(0, subscription.0);
                h.word(task.0);
                h.word(channel.0);
                h.word(execution.0);
                h.word(at.nanos());
            }
            InputAuditEvent::Revoked { subscription, at } => {
                h.tag(1, subscription.0);
                h.word(at.nanos());
            }
            InputAuditEvent::Unsubscribed { subscription, at } => {
                h.tag(2, subscription.0);
                h.word(at.nanos());
            }
            InputAuditEvent::Delivered { subscription, execution, event, usage_before, usage_after, at } => {
                h.tag(3, subscription.0);
                h.word(execution.0);
                event.fold(h);
                h.word(*usage_before);
                h.word(*usage_after);
                h.word(at.nanos());
            }
            InputAuditEvent::Refused { subscription, reason, event, at } => {
                h.tag(4, subscription.0);
                h.word(*reason as u64);
                event.fold(h);
                h.word(at.nanos());
            }
            InputAuditEvent::Unrouted { event, at } => {
                h.tag(5, 0);
                event.fold(h);
                h.word(at.nanos());
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Subscription {
    cap: InputSubscriptionCap,
    execution: ExecutionId,
    active: bool,
}

/// Keyboard subscriptions and delivery.
#[derive(Clone, Debug, Default)]
pub struct InputService {
    subscriptions: BTreeMap<SubscriptionId, Subscription>,
    by_task: BTreeMap<TaskId, SubscriptionId>,
    ids: IdCounter,
    audit: Vec<InputAuditEvent>,
    bugs: BugSet,
}

impl InputService {
    pub fn new() -> Self {
        Self::default()
    }

    /// A service with planted bugs switched on.
    pub fn with_bugs(bugs: BugSet) -> Self {
        InputService { bugs, ..Self::default() }
    }

    /// Subscribes `task_id` (identity `execution`, charged for deliveries) to keyboard events on
    /// `channel`.
    pub fn subscribe_keyboard(&mut self, task_id: TaskId, execution: ExecutionId, channel: ChannelId, now: Instant) -> Result<InputSubscriptionCap, InputServiceError> {
        if let Some(&existing) = self.by_task.get(&task_id) {
            return Err(InputServiceError::AlreadySubscribed { task: task_id, existing });
        }
        let cap = InputSubscriptionCap { id: SubscriptionId(self.ids.mint()), task_id, channel };
        self.subscriptions.insert(cap.id, Subscription { cap, execution, active: true });
        self.by_task.insert(task_id, cap.id);
        self.audit.push(InputAuditEvent::Subscribed { subscription: cap.id, task: task_id, channel, execution, at: now });
        Ok(cap)
    }

    /// The subscription `cap` names, if the cap matches it.
    fn find(&self, cap: &InputSubscriptionCap) -> Result<&Subscription, InputServiceError> {
        self.subscriptions.get(&cap.id).filter(|s| s.cap == *cap).ok_or(InputServiceError::UnknownSubscription(cap.id))
    }

    /// Deactivates the subscription: nothing more is delivered to it.
    pub fn revoke_subscription(&mut self, cap: &InputSubscriptionCap, now: Instant) -> Result<(), InputServiceError> {
        self.find(cap)?;
        let sub = self.subscriptions.get_mut(&cap.id).expect("found above");
        if sub.active {
            sub.active = false;
            self.audit.push(InputAuditEvent::Revoked { subscription: cap.id, at: now });
        }
        Ok(())
    }

    /// Removes the subscription; the task may subscribe again.
    pub fn unsubscribe(&mut self, cap: &InputSubscriptionCap, now: Instant) -> Result<(), InputServiceError> {
        self.find(cap)?;
        self.subscriptions.remove(&cap.id);
        self.by_task.remove(&cap.task_id);
        self.audit.push(InputAuditEvent::Unsubscribed { subscription: cap.id, at: now });
        Ok(())
    }

    /// Delivers `event` to the subscription, charging its identity one `MessageCount` first.
    pub fn deliver_event(&mut self, cap: &InputSubscriptionCap, event: &InputEvent, now: Instant, ledger: &mut ResourceLedger) -> Result<Delivery, InputServiceError> {
        let result = self.try_deliver(cap, ledger);
        let record = match &result {
            Ok((delivery, before, after)) => InputAuditEvent::Delivered { subscription: cap.id, execution: delivery.execution, event: event.clone(), usage_before: *before, usage_after: *after, at: now },
            Err(e) => InputAuditEvent::Refused { subscription: cap.id, reason: e.refusal(), event: event.clone(), at: now },
        };
        self.audit.push(record);
        result.map(|(d, _, _)| d)
    }

    fn try_deliver(&self, cap: &InputSubscriptionCap, ledger: &mut ResourceLedger) -> Result<(Delivery, u64, u64), InputServiceError> {
        let sub = self.find(cap)?;
        if !sub.active && !self.bugs.has(PlantedBug::RevokedSubscriptionReceives) {
            return Err(InputServiceError::Inactive(cap.id));
        }
        let usage = |l: &ResourceLedger| l.usage(sub.execution).message_count.get();
        let before = usage(ledger);
        if !self.bugs.has(PlantedBug::InputDeliveryUncharged) {
            ledger.try_consume(sub.execution, Consumption::Message(MessageOperation::Receive)).map_err(InputServiceError::BudgetExhausted)?;
        }
        let delivery = Delivery { subscription: cap.id, task: cap.task_id, channel: cap.channel, execution: sub.execution };
        Ok((delivery, before, usage(ledger)))
    }

    /// Records a key that arrived while nothing had focus.
    pub fn record_unrouted(&mut self, event: &InputEvent, now: Instant) {
        self.audit.push(InputAuditEvent::Unrouted { event: event.clone(), at: now });
    }

    /// Whether the subscription exists and is not revoked.
    pub fn is_active(&self, id: SubscriptionId) -> bool {
        self.subscriptions.get(&id).is_some_and(|s| s.active)
    }

    /// Whether the subscription exists (active or revoked).
    pub fn exists(&self, id: SubscriptionId) -> bool {
        self.subscriptions.contains_key(&id)
    }

    /// The task's subscription, if it holds one.
    pub fn subscription_of_task(&self, task: TaskId) -> Option<InputSubscriptionCap> {
        self.by_task.get(&task).map(|id| self.subscriptions[id].cap)
    }

    /// The identity charged for deliveries to the subscription.
    pub fn subscriber(&self, id: SubscriptionId) -> Option<ExecutionId> {
        self.subscriptions.get(&id).map(|s| s.execution)
    }

    /// Every existing subscription, in id order.
    pub fn subscriptions(&self) -> impl Iterator<Item = InputSubscriptionCap> + '_ {
        self.subscriptions.values().map(|s| s.cap)
    }

    /// The input audit, in order.
    pub fn audit_trail(&self) -> &[InputAuditEvent] {
        &self.audit
    }
}

/// What became of one injected input event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dispatch {
    Delivered(Delivery),
    /// The focused subscription could not take it.
    Refused { subscription: SubscriptionId, error: InputServiceError },
    /// Nothing had focus.
    Unrouted,
}

/// Routes `event` to the focused subscription and delivers it there (the seed's "route_event, then
/// deliver to cap.channel").
pub fn dispatch(event: &InputEvent, focus: &FocusManager, input: &mut InputService, ledger: &mut ResourceLedger, now: Instant) -> Dispatch {
    let Some(cap) = focus.route_event(event) else {
        input.record_unrouted(event, now);
        return Dispatch::Unrouted;
    };
    match input.deliver_event(&cap, event, now, ledger) {
        Ok(d) => Dispatch::Delivered(d),
        Err(error) => Dispatch::Refused { subscription: cap.id, error },
    }
}
