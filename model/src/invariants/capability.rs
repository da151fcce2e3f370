//! The capability invariants: `cap.single_owner`, `cap.no_use_after_transfer`,
//! `cap.no_use_after_drop`, `cap.no_use_after_owner_death`, `cap.no_forgery`,
//! `cap.audit_matches_table`.
//!
//! Shadow state: the authority table rebuilt from audit events as they are appended
//! ([`ReplayedTable`]), the set of (capability, task) pairs where the task delegated the
//! capability away, and the set of dropped capabilities. Each successful use is classified
//! against the shadow at that moment. Postconditions run at the end of the event against the
//! kernel's final state, for the capabilities the event touched only.

use super::{BitSet, Checker, Invariant, Liveness};
use crate::capability::{CapStatus, CapabilityEvent, ReplayedTable};
use crate::ids::{CapId, TaskId};
use crate::kernel::SimulatedKernel;
use crate::observation::Observation;
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

#[derive(Default)]
pub struct CapabilityMonitor {
    replay: ReplayedTable,
    past_owners: BTreeSet<(CapId, TaskId)>,
    dropped: BitSet,
    touched: Vec<CapId>,
    delegated_from: Vec<(CapId, TaskId)>,
    exited: Vec<(TaskId, Vec<CapId>)>,
}

fn objects(cap: CapId, task: TaskId) -> Vec<String> {
    vec![format!("{cap}"), format!("{task}")]
}

impl CapabilityMonitor {
    pub fn observe(&mut self, obs: &Observation, live: &Liveness, c: &mut Checker<'_>) {
        match obs {
            Observation::Audit(event) => self.audit(event, c),
            Observation::CapUsed { cap, task } => self.used(*cap, *task, live, c),
            Observation::TaskExited { task, .. } => self.exited.push((*task, self.replay.owned_by(*task).collect())),
            _ => {}
        }
    }

    fn audit(&mut self, event: &CapabilityEvent, c: &mut Checker<'_>) {
        let cap = event.cap();
        match event {
            CapabilityEvent::Granted { to_task, .. } => self.fresh(cap, *to_task, c),
            CapabilityEvent::Cloned { new_cap, task, .. } => self.fresh(*new_cap, *task, c),
            CapabilityEvent::Delegated { from_task, .. } => {
                self.delegated_from.push((cap, *from_task));
                self.past_owners.insert((cap, *from_task));
            }
            CapabilityEvent::Dropped { .. } => {
                self.dropped.insert(cap.0);
            }
            _ => {}
        }
        if !matches!(event, CapabilityEvent::InvalidUseAttempt { .. } | CapabilityEvent::Granted { .. }) {
            let known = self.replay.row(cap).is_some();
            c.check(Invariant::CapNoForgery, known, || (format!("audit event {:?} names {cap}, which the kernel never minted", event.kind()), vec![format!("{cap}")]));
        }
        self.replay.apply(event);
        self.touched.push(cap);
        if let CapabilityEvent::Cloned { new_cap, .. } = event {
            self.touched.push(*new_cap);
        }
    }

    fn fresh(&mut self, cap: CapId, task: TaskId, c: &mut Checker<'_>) {
        let fresh = self.replay.row(cap).is_none();
        c.check(Invariant::CapNoForgery, fresh, || (format!("{cap} was minted a second time (for {task})"), objects(cap, task)));
    }

    /// Classifies a use that validation allowed.
    fn used(&mut self, cap: CapId, task: TaskId, live: &Liveness, c: &mut Checker<'_>) {
        let row = self.replay.row(cap);
        c.check(Invariant::CapNoForgery, row.is_some(), || (format!("{task} used {cap}, which the kernel never minted"), objects(cap, task)));
        let Some(row) = row else { return };
        let invalid = row.status == CapStatus::Invalid;
        let dropped = invalid && self.dropped.contains(cap.0);
        c.check(Invariant::CapNoUseAfterDrop, !dropped, || (format!("{task} used {cap} after it was dropped"), objects(cap, task)));
        let dead = (invalid && !dropped) || !live.alive(row.owner) || !live.alive(task);
        c.check(Invariant::CapNoUseAfterOwnerDeath, !dead, || {
            (format!("{task} used {cap} although its owner {} has terminated", row.owner), vec![format!("{cap}"), format!("{task}"), format!("{}", row.owner)])
        });
        let stranger = !invalid && row.owner != task;
        let transferred = stranger && self.past_owners.contains(&(cap, task));
        c.check(Invariant::CapNoUseAfterTransfer, !transferred, || {
            (format!("{task} used {cap} after delegating it to {}", row.owner), vec![format!("{cap}"), format!("{task}"), format!("{}", row.owner)])
        });
        c.check(Invariant::CapNoForgery, !stranger || transferred, || (format!("{task} used {cap}, owned by {}, without ever holding it", row.owner), objects(cap, task)));
    }

    /// Postconditions of this event's capability operations, against the kernel's final state.
    /// Whether the event left postconditions to check.
    #[inline]
    pub fn has_pending(&self) -> bool {
        !(self.delegated_from.is_empty() && self.touched.is_empty() && self.exited.is_empty())
    }

    pub fn end_event(&mut self, kernel: &SimulatedKernel, c: &mut Checker<'_>) {
        c.attribute("capability.delegate");
        for (cap, from) in self.delegated_from.drain(..) {
            let owner = self.replay.row(cap).map(|r| r.owner);
            let still_usable = owner != Some(from) && kernel.is_capability_valid(cap, from);
            c.check(Invariant::CapSingleOwner, !still_usable, || {
                (format!("{from} can still use {cap} after delegating it to {}", owner.map_or(String::from("?"), |o| format!("{o}"))), objects(cap, from))
            });
        }
        c.attribute("capability.table");
        self.touched.sort_unstable();
        self.touched.dedup();
        for cap in core::mem::take(&mut self.touched) {
            self.compare_row(cap, kernel, c);
        }
        c.attribute("termination");
        for (task, caps) in core::mem::take(&mut self.exited) {
            for cap in caps {
                let durable = self.replay.row(cap).is_some_and(|r| r.durable);
                let valid = kernel.authority().entry(cap).is_some_and(|e| e.status == CapStatus::Valid);
                c.check(Invariant::CapNoUseAfterOwnerDeath, valid == durable, || {
                    let what = if durable { "durable capability was invalidated" } else { "capability is still valid" };
                    (format!("{task} terminated but its {what}: {cap}"), objects(cap, task))
                });
            }
        }
    }

    /// `cap.audit_matches_table` for one capability.
    fn compare_row(&self, cap: CapId, kernel: &SimulatedKernel, c: &mut Checker<'_>) {
        let replayed = self.replay.row(cap).map(|r| (r.owner, r.status));
        let actual = kernel.authority().entry(cap).map(|e| (e.owner, e.status));
        c.check(Invariant::CapAuditMatchesTable, replayed == actual, || {
            (format!("audit replay says {cap} is {replayed:?} but the authority table says {actual:?}"), vec![format!("{cap}")])
        });
    }

    /// Compares every row once (end of run).
    pub fn full_table_check(&self, kernel: &SimulatedKernel, c: &mut Checker<'_>) {
        for id in 0..kernel.authority().minted() {
            self.compare_row(CapId(id), kernel, c);
        }
        let rows = self.replay.len() as u64;
        c.check(Invariant::CapAuditMatchesTable, rows == kernel.authority().minted(), || {
            (format!("audit replay has {rows} capabilities, the table minted {}", kernel.authority().minted()), vec![])
        });
    }
}
