//! Cancellation, deadlines and timeouts on virtual time (architecture "Phase 6: Deterministic
//! Cancellation, Timeouts, and Structured Lifecycle"). Domain layer, not yet wired into the kernel.
//!
//! The seed's `CancellationSource` / `CancellationToken` share state between clones. The model
//! keeps that state in one arena, [`Cancellations`], and sources and tokens are small copyable
//! ids into it (ids from a counter, no shared pointers), so the state is plain data the event
//! loop can hash and replay. A source can be made the child of a token: cancelling a parent
//! cancels every descendant (cascade, `SupervisorCancel` / `DependencyFailed`).
//!
//! Rules kept here:
//! - cancellation is explicit and irreversible: the first `cancel` of a source sets its reason and
//!   time, later calls change nothing (`cancel.irreversible`, checked by [`CancellationMonitor`]);
//! - every token of a source, and of its descendants, sees the cancellation;
//! - a token's reason is its own source's if that was cancelled, otherwise the nearest cancelled
//!   ancestor's;
//! - [`Deadline::has_passed`] is `now >= deadline` (a choice where the seed is silent): at the
//!   deadline instant the time is up, so an outcome and a deadline falling on the same instant
//!   give the same result whatever order the event loop delivers them in;
//! - cancelled is distinct from failed: [`Outcome`] has a `Cancelled` variant beside `Failed`, and
//!   [`Cancelled`] is its own error type.

use crate::rule_check::RuleSink;
use crate::time::{Duration, Instant};
use crate::trace_hash::{Fold, TraceHasher};
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// Why an operation was cancelled.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CancellationReason {
    UserCancel,
    /// A deadline was exceeded.
    Timeout,
    /// An orchestrator or parent cancelled.
    SupervisorCancel,
    /// Cascade cancellation after a dependency failed.
    DependencyFailed,
    Custom(String),
}

impl fmt::Display for CancellationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancellationReason::UserCancel => f.write_str("user cancel"),
            CancellationReason::Timeout => f.write_str("timeout"),
            CancellationReason::SupervisorCancel => f.write_str("supervisor cancel"),
            CancellationReason::DependencyFailed => f.write_str("dependency failed"),
            CancellationReason::Custom(s) => f.write_str(s),
        }
    }
}

impl Fold for CancellationReason {
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            CancellationReason::UserCancel => h.tag(0, 0),
            CancellationReason::Timeout => h.tag(1, 0),
            CancellationReason::SupervisorCancel => h.tag(2, 0),
            CancellationReason::DependencyFailed => h.tag(3, 0),
            CancellationReason::Custom(s) => {
                h.tag(4, 0);
                h.str(s);
            }
        }
    }
}

/// The handle that can cancel (an id into [`Cancellations`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CancellationSource(u32);

/// A handle that observes a source's cancellation (copyable, like the seed's cloneable token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CancellationToken(u32);

impl CancellationSource {
    /// A token observing this source.
    pub fn token(self) -> CancellationToken {
        CancellationToken(self.0)
    }
}

impl fmt::Display for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cancel#{}", self.0)
    }
}

/// The error of an operation stopped by cancellation (not a failure).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancelled {
    pub reason: CancellationReason,
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cancelled: {}", self.reason)
    }
}

/// How an operation ended: cancelled is its own outcome, never a kind of failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome<T, E> {
    Completed(T),
    Failed(E),
    Cancelled(CancellationReason),
}

impl<T, E> Outcome<T, E> {
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Outcome::Cancelled(_))
    }
    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}

/// A cancellation took place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationEvent {
    pub token: CancellationToken,
    pub reason: CancellationReason,
    pub at: Instant,
}

impl Fold for CancellationEvent {
    fn fold(&self, h: &mut TraceHasher) {
        h.tag(0, u64::from(self.token.0));
        h.word(self.at.nanos());
        self.reason.fold(h);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    parent: Option<u32>,
    cancelled: Option<(CancellationReason, Instant)>,
}

/// Every cancellation source of a run, and the log of cancellations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellations {
    entries: Vec<Entry>,
    events: Vec<CancellationEvent>,
}

impl Cancellations {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new, independent source.
    pub fn new_source(&mut self) -> CancellationSource {
        self.push(None)
    }

    /// A new source cancelled whenever `parent` is (a stage's source under its pipeline's).
    pub fn child_source(&mut self, parent: CancellationToken) -> CancellationSource {
        self.push(Some(parent.0))
    }

    fn push(&mut self, parent: Option<u32>) -> CancellationSource {
        let id = u32::try_from(self.entries.len()).expect("fewer than 2^32 cancellation sources");
        self.entries.push(Entry { parent, cancelled: None });
        CancellationSource(id)
    }

    /// Cancels `source` with `reason` at `at`. Returns whether this call cancelled it (false if it
    /// already was: the first reason stays).
    pub fn cancel(&mut self, source: CancellationSource, reason: CancellationReason, at: Instant) -> bool {
        let entry = &mut self.entries[source.0 as usize];
        if entry.cancelled.is_some() {
            return false;
        }
        entry.cancelled = Some((reason.clone(), at));
        self.events.push(CancellationEvent { token: source.token(), reason, at });
        true
    }

    /// Whether the token's source or one of its ancestors was cancelled.
    pub fn is_cancelled(&self, token: CancellationToken) -> bool {
        self.cancellation(token).is_some()
    }

    /// The reason and time of the cancellation the token sees (own source first, then the nearest
    /// cancelled ancestor).
    pub fn cancellation(&self, token: CancellationToken) -> Option<(&CancellationReason, Instant)> {
        let mut at = Some(token.0);
        while let Some(i) = at {
            let entry = &self.entries[i as usize];
            if let Some((reason, when)) = &entry.cancelled {
                return Some((reason, *when));
            }
            at = entry.parent;
        }
        None
    }

    pub fn reason(&self, token: CancellationToken) -> Option<&CancellationReason> {
        self.cancellation(token).map(|(r, _)| r)
    }

    /// `Err(Cancelled)` if the token is cancelled: the check a handler makes at its safe points.
    pub fn throw_if_cancelled(&self, token: CancellationToken) -> Result<(), Cancelled> {
        match self.reason(token) {
            Some(reason) => Err(Cancelled { reason: reason.clone() }),
            None => Ok(()),
        }
    }

    /// Every cancellation so far, in order.
    pub fn events(&self) -> &[CancellationEvent] {
        &self.events
    }
}

/// A point in virtual time by which something must be done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Deadline(pub Instant);

impl Deadline {
    pub fn at(instant: Instant) -> Self {
        Deadline(instant)
    }

    pub fn instant(self) -> Instant {
        self.0
    }

    /// Whether the time is up at `now` (`now >= deadline`).
    pub fn has_passed(self, now: Instant) -> bool {
        now >= self.0
    }

    /// Time left at `now` (zero once passed).
    pub fn remaining(self, now: Instant) -> Duration {
        Duration(self.0.nanos().saturating_sub(now.nanos()))
    }

    /// The earlier of two optional deadlines.
    pub fn earliest(a: Option<Deadline>, b: Option<Deadline>) -> Option<Deadline> {
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (x, None) | (None, x) => x,
        }
    }
}

/// A span after which an operation times out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timeout(pub Duration);

impl Timeout {
    pub const fn from_millis(ms: u64) -> Self {
        Timeout(Duration(ms.saturating_mul(1_000_000)))
    }

    pub const fn from_secs(s: u64) -> Self {
        Timeout(Duration(s.saturating_mul(1_000_000_000)))
    }

    /// The deadline of a timeout starting at `now` (saturating at the end of time).
    pub fn to_deadline(self, now: Instant) -> Deadline {
        Deadline(now.after(self.0))
    }
}

/// `cancel.irreversible`: a source is cancelled at most once, and a cancellation never goes back
/// in time. Checks the arena's cancellation log.
pub const IRREVERSIBLE: &str = "cancel.irreversible";

/// Shadow state of `cancel.irreversible`.
#[derive(Clone, Debug, Default)]
pub struct CancellationMonitor {
    cancelled: BTreeSet<CancellationToken>,
    last: Instant,
}

impl CancellationMonitor {
    pub fn observe(&mut self, event: &CancellationEvent, sink: &mut dyn RuleSink) {
        let fresh = self.cancelled.insert(event.token);
        let ordered = event.at >= self.last;
        sink.check(IRREVERSIBLE, fresh && ordered, &|| format!("{} cancelled again or out of order ({} at {})", event.token, event.reason, event.at));
        self.last = self.last.max(event.at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_of_a_source_and_its_descendants_sees_the_first_reason() {
        let mut c = Cancellations::new();
        let root = c.new_source();
        let child = c.child_source(root.token());
        let grandchild = c.child_source(child.token());
        let other = c.new_source();
        assert!(!c.is_cancelled(grandchild.token()));
        assert!(c.cancel(root, CancellationReason::SupervisorCancel, Instant(5)));
        assert!(!c.cancel(root, CancellationReason::UserCancel, Instant(6)), "the first reason stays");
        for t in [root.token(), child.token(), grandchild.token()] {
            assert_eq!(c.reason(t), Some(&CancellationReason::SupervisorCancel));
            assert_eq!(c.cancellation(t).map(|(_, at)| at), Some(Instant(5)));
        }
        assert!(!c.is_cancelled(other.token()));
        assert_eq!(c.events().len(), 1);
    }

    #[test]
    fn a_token_reports_its_own_reason_before_its_ancestors() {
        let mut c = Cancellations::new();
        let root = c.new_source();
        let child = c.child_source(root.token());
        c.cancel(child, CancellationReason::Timeout, Instant(1));
        c.cancel(root, CancellationReason::UserCancel, Instant(2));
        assert_eq!(c.reason(child.token()), Some(&CancellationReason::Timeout));
        assert_eq!(c.reason(root.token()), Some(&CancellationReason::UserCancel));
        assert_eq!(c.throw_if_cancelled(child.token()), Err(Cancelled { reason: CancellationReason::Timeout }));
    }
}
