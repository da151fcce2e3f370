//! Named invariants, checked incrementally after every event (DESIGN.md, "Invariants are named
//! and counted").
//!
//! Monitors never trust the kernel's own tables: each keeps a shadow state rebuilt from the
//! observation stream (and the audit log), checks each observation as it comes, and checks
//! postconditions against the kernel's final state at the end of the event. Work per event is
//! proportional to what the event did (O(log n) per observation), never a scan of the system.
//! A full comparison of the audit replay and the authority table runs once, at the end of a run.
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `msg.at_most_once` | a message is enqueued at most once and received at most once ("Delivery Guarantees") |
//! | `msg.fifo_per_channel` | per channel, messages leave the queue in send order, except those a delay or reorder fault moved ("Baseline Semantics") |
//! | `cap.single_owner` | after a delegation only the new owner can use the capability ("Move-Only Transfer") |
//! | `cap.no_use_after_transfer` | a task that delegated a capability away never uses it again ("Security Properties" 2) |
//! | `cap.no_use_after_drop` | a dropped capability is never used again ("Dropping Capabilities") |
//! | `cap.no_use_after_owner_death` | a dead owner's non-durable capabilities are invalid and never used; durable ones stay valid ("Lifetime Rules", "Security Properties" 3) |
//! | `cap.no_forgery` | only kernel-minted capabilities are used, and each id is minted once ("Security Properties" 1) |
//! | `cap.audit_matches_table` | replaying the audit log rebuilds the authority table ("Audit Trail") |
//! | `identity.never_reused` | execution ids are never reused ("Execution Identity" contract), and task ids are unique ("Task Spawning" contract) |
//! | `identity.one_exit_notification` | every termination yields exactly one exit notification ("Exit Notifications" contract) |
//! | `registry.consistent` | no lookup returns a channel of a dead or unregistered service; a dead task's services are gone ("Resilience": registry consistency) |
//! | `lifecycle.valid_transition` | supervisors move children only along allowed lifecycle transitions ("Lifecycle States") |

mod capability;
mod identity;
mod messaging;
mod registry;

use crate::ids::TaskId;
use crate::kernel::SimulatedKernel;
use crate::lifecycle::LifecycleState;
use crate::names::Names;
use crate::observation::Observation;
use crate::report::Violation;
use crate::time::Instant;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// The invariants, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invariant {
    MsgAtMostOnce,
    MsgFifoPerChannel,
    CapSingleOwner,
    CapNoUseAfterTransfer,
    CapNoUseAfterDrop,
    CapNoUseAfterOwnerDeath,
    CapNoForgery,
    CapAuditMatchesTable,
    IdentityNeverReused,
    IdentityOneExitNotification,
    RegistryConsistent,
    LifecycleValidTransition,
}

/// Stable ids of every invariant, in report order.
pub const ALL: &[&str] = &[
    "msg.at_most_once",
    "msg.fifo_per_channel",
    "cap.single_owner",
    "cap.no_use_after_transfer",
    "cap.no_use_after_drop",
    "cap.no_use_after_owner_death",
    "cap.no_forgery",
    "cap.audit_matches_table",
    "identity.never_reused",
    "identity.one_exit_notification",
    "registry.consistent",
    "lifecycle.valid_transition",
];

impl Invariant {
    /// The stable id.
    pub fn id(self) -> &'static str {
        ALL[self as usize]
    }
}

/// Counts checks and records violations for the event being checked.
pub struct Checker<'a> {
    counts: &'a mut [u64; ALL.len()],
    violations: &'a mut Vec<Violation>,
    event: u64,
    at: Instant,
    /// The subsystem the current check is attributed to: named, or that of the observation
    /// being checked (resolved only when a violation is recorded).
    pub subsystem: &'static str,
    observation: Option<&'a Observation>,
    /// The run's names, for violation messages.
    pub names: &'a Names,
}

impl Checker<'_> {
    /// Counts one check of `inv`; if `holds` is false records a violation described by `describe`.
    #[inline(always)]
    pub fn check(&mut self, inv: Invariant, holds: bool, describe: impl FnOnce() -> (String, Vec<String>)) {
        self.counts[inv as usize] += 1;
        if !holds {
            self.violated(inv, describe());
        }
    }

    /// Attributes checks to a named subsystem from now on.
    pub fn attribute(&mut self, subsystem: &'static str) {
        self.subsystem = subsystem;
        self.observation = None;
    }

    #[cold]
    fn violated(&mut self, inv: Invariant, (message, objects): (String, Vec<String>)) {
        let subsystem = self.observation.map_or(self.subsystem, Observation::subsystem).into();
        self.violations.push(Violation { invariant: inv.id().into(), subsystem, event: self.event, at: self.at, message, objects });
    }
}

/// Which tasks are alive, according to the observations alone.
#[derive(Default)]
pub struct Liveness {
    alive: Vec<bool>,
}

impl Liveness {
    pub fn alive(&self, task: TaskId) -> bool {
        self.alive.get(task.index()).copied().unwrap_or(false)
    }
    fn set(&mut self, task: TaskId, alive: bool) {
        if self.alive.len() <= task.index() {
            self.alive.resize(task.index() + 1, false);
        }
        self.alive[task.index()] = alive;
    }
}

/// A growable bit set over dense counter ids.
#[derive(Default)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// Inserts `i`; returns false if it was already present.
    pub fn insert(&mut self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        if self.words.len() <= w {
            self.words.resize(w + 1, 0);
        }
        let fresh = self.words[w] & (1 << b) == 0;
        self.words[w] |= 1 << b;
        fresh
    }
    /// Removes `i`; returns whether it was present.
    pub fn remove(&mut self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        let Some(word) = self.words.get_mut(w) else { return false };
        let present = *word & (1 << b) != 0;
        *word &= !(1 << b);
        present
    }
    pub fn contains(&self, i: u64) -> bool {
        self.words.get((i / 64) as usize).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// Every monitor, with the check counts and violations of the run.
#[derive(Default)]
pub struct Monitors {
    counts: [u64; ALL.len()],
    violations: Vec<Violation>,
    liveness: Liveness,
    messages: messaging::MessageMonitor,
    caps: capability::CapabilityMonitor,
    identity: identity::IdentityMonitor,
    registry: registry::RegistryMonitor,
    lifecycle: BTreeMap<(TaskId, u32), LifecycleState>,
}

impl Monitors {
    /// Checks the observations of event number `event` (at `at`) against the kernel's final state.
    pub fn check_event(&mut self, event: u64, at: Instant, observations: &[Observation], kernel: &SimulatedKernel) {
        let mut c = Checker { counts: &mut self.counts, violations: &mut self.violations, event, at, subsystem: "", observation: None, names: kernel.names() };
        for obs in observations {
            c.observation = Some(obs);
            // Each observation goes to the monitors that keep a rule about it, and no others.
            use Observation as O;
            match obs {
                O::MessageEnqueued { .. } | O::MessageReceived { .. } | O::ReceiveFailed { .. } | O::MessageDelayed { .. } | O::MessageReordered { .. } => {
                    self.messages.observe(obs, &mut c)
                }
                O::Audit(_) | O::CapUsed { .. } => self.caps.observe(obs, &self.liveness, &mut c),
                O::TaskSpawned { task, .. } => {
                    self.liveness.set(*task, true);
                    self.identity.observe(obs, &mut c);
                }
                O::IdentityCreated { .. } | O::ExitNotified { .. } => self.identity.observe(obs, &mut c),
                O::TaskExited { task, .. } => {
                    self.liveness.set(*task, false);
                    self.caps.observe(obs, &self.liveness, &mut c);
                    self.identity.observe(obs, &mut c);
                    self.registry.observe(obs, &self.liveness, &mut c);
                }
                O::ServiceRegistered { .. } | O::ServiceDeregistered { .. } | O::ServiceLookedUp { .. } => self.registry.observe(obs, &self.liveness, &mut c),
                O::Lifecycle { supervisor, slot, child, from, to } => {
                    let recorded = self.lifecycle.insert((*supervisor, *slot), *to).unwrap_or(LifecycleState::Starting);
                    c.check(Invariant::LifecycleValidTransition, recorded == *from && from.can_become(*to), || {
                        (alloc::format!("child {slot} of {supervisor} moved {from:?} -> {to:?} (recorded state {recorded:?})"), child.iter().map(|e| alloc::format!("{e}")).collect())
                    });
                }
                O::ChannelCreated { .. } | O::MessageSent { .. } | O::MessageDropped { .. } | O::SendFailed { .. } | O::FaultInjected(_) | O::StepDone { .. } => {}
            }
        }
        if self.caps.has_pending() {
            self.caps.end_event(kernel, &mut c);
        }
        c.attribute("termination");
        self.identity.end_event(&mut c);
        self.registry.end_event(&mut c);
    }

    /// Whole-run checks that would be too expensive per event (run once at the end).
    pub fn finish(&mut self, event: u64, at: Instant, kernel: &SimulatedKernel) {
        let mut c = Checker { counts: &mut self.counts, violations: &mut self.violations, event, at, subsystem: "capability.table", observation: None, names: kernel.names() };
        self.caps.full_table_check(kernel, &mut c);
    }

    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
    pub fn take_violations(&mut self) -> Vec<Violation> {
        core::mem::take(&mut self.violations)
    }

    /// `(id, times checked)` for every invariant.
    pub fn counts(&self) -> Vec<(String, u64)> {
        ALL.iter().zip(self.counts.iter()).map(|(id, n)| (String::from(*id), *n)).collect()
    }
}
