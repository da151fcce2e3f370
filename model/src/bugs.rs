//! Planted bugs: deliberately broken variants of model rules (DESIGN.md, "Bugs must be findable").
//!
//! A scenario (or a test, bench or campaign) switches bugs on by listing them; the correct model
//! never consults them otherwise. Each bug names the invariant expected to catch it, so tests can
//! show the harness finds it and later tools can measure how fast.

use serde::{Deserialize, Serialize};

/// A deliberately broken rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum PlantedBug {
    /// `delegate_capability` moves the capability but the source task keeps access.
    DelegateKeepsSource,
    /// Task termination forgets to invalidate the dead task's capabilities.
    TerminationSkipsInvalidation,
    /// A delayed message is delivered twice: once when its delay ends and once more right away.
    DelayedDeliveryDuplicates,
    /// Task termination forgets to remove the task's services from the registry.
    RegistryKeepsDeadService,
    /// The identity counter hands out the execution id of the last terminated task again.
    ReuseExecutionIds,
    /// A receive takes the newest queued message instead of the oldest.
    ReceiveNewestFirst,
    /// A task's termination emits its exit notification twice.
    DuplicateExitNotification,
}

impl PlantedBug {
    /// Every planted bug, in a stable order.
    pub const ALL: [PlantedBug; 7] = [
        PlantedBug::DelegateKeepsSource,
        PlantedBug::TerminationSkipsInvalidation,
        PlantedBug::DelayedDeliveryDuplicates,
        PlantedBug::RegistryKeepsDeadService,
        PlantedBug::ReuseExecutionIds,
        PlantedBug::ReceiveNewestFirst,
        PlantedBug::DuplicateExitNotification,
    ];

    /// The invariants that can catch this bug first; the first listed is the one meant to.
    ///
    /// `DelegateKeepsSource` is normally caught by the `cap.single_owner` postcondition at the end
    /// of the delegating event, but if the old owner uses the capability during that same event
    /// (a capability passer probes right after delegating), `cap.no_use_after_transfer` fires
    /// first.
    pub fn caught_by(self) -> &'static [&'static str] {
        match self {
            PlantedBug::DelegateKeepsSource => &["cap.single_owner", "cap.no_use_after_transfer"],
            PlantedBug::TerminationSkipsInvalidation => &["cap.no_use_after_owner_death"],
            PlantedBug::DelayedDeliveryDuplicates => &["msg.at_most_once"],
            PlantedBug::RegistryKeepsDeadService => &["registry.consistent"],
            PlantedBug::ReuseExecutionIds => &["identity.never_reused"],
            PlantedBug::ReceiveNewestFirst => &["msg.fifo_per_channel"],
            PlantedBug::DuplicateExitNotification => &["identity.one_exit_notification"],
        }
    }

    /// Whether a violation of `invariant` is this bug being caught.
    pub fn is_caught_by(self, invariant: &str) -> bool {
        self.caught_by().contains(&invariant)
    }
}

/// The set of bugs switched on for a run (a bit set, cheap to test on hot paths).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BugSet(u32);

impl BugSet {
    pub fn from_list(bugs: &[PlantedBug]) -> Self {
        BugSet(bugs.iter().fold(0, |acc, b| acc | (1 << *b as u32)))
    }
    pub fn has(self, bug: PlantedBug) -> bool {
        self.0 & (1 << bug as u32) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}
