//! The storage invariants (domain layer, not yet wired into the kernel).
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `storage.no_partial_commit` | a commit installs exactly the transaction's writes; a rollback or failed commit discards all of them; every head is a committed version ("Transactions" contract: "All modifications are atomic") |
//! | `storage.versions_immutable` | a committed version never changes ("Old versions remain accessible", "Old versions remain accessible (version immutability)") |
//!
//! [`StorageMonitor`] keeps its own shadow of pending and committed versions from the store's
//! events, and at the end of each event checks the objects that event touched against the store:
//! their heads must be versions the shadow saw committed, and every committed version must still
//! have the digest it had when it was committed. Work is proportional to the touched objects'
//! histories.

use super::store::StorageEvent;
use super::{ObjectId, TransactionId, VersionId, VersionedStore};
use crate::rule_check::RuleSink;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::vec::Vec;

pub const NO_PARTIAL_COMMIT: &str = "storage.no_partial_commit";
pub const VERSIONS_IMMUTABLE: &str = "storage.versions_immutable";

/// Shadow state of the storage invariants.
#[derive(Clone, Debug, Default)]
pub struct StorageMonitor {
    pending: BTreeMap<TransactionId, BTreeSet<(ObjectId, VersionId)>>,
    /// Committed versions and their digest (taken at the end of the committing event).
    committed: BTreeMap<VersionId, Option<u64>>,
    by_object: BTreeMap<ObjectId, Vec<VersionId>>,
    touched: BTreeSet<ObjectId>,
}

fn digest(store: &VersionedStore, v: VersionId) -> Option<u64> {
    store.version(v).map(|o| {
        let mut h = TraceHasher::default();
        o.fold(&mut h);
        h.value()
    })
}

impl StorageMonitor {
    /// Checks one event.
    pub fn observe(&mut self, event: &StorageEvent, sink: &mut dyn RuleSink) {
        self.touched.extend(event.objects());
        match event {
            StorageEvent::TransactionBegun { .. } => {}
            StorageEvent::ObjectCreated { tx, object, version, .. } | StorageEvent::VersionWritten { tx, object, version, .. } => {
                self.pending.entry(*tx).or_default().insert((*object, *version));
            }
            StorageEvent::Committed { tx, versions } => {
                let expected = self.pending.remove(tx).unwrap_or_default();
                let got: BTreeSet<_> = versions.iter().copied().collect();
                sink.check(NO_PARTIAL_COMMIT, got == expected, &|| format!("{tx} committed {got:?}, but wrote {expected:?}"));
                for &(o, v) in versions {
                    self.committed.insert(v, None);
                    self.by_object.entry(o).or_default().push(v);
                }
            }
            StorageEvent::CommitFailed { tx, discarded, .. } | StorageEvent::RolledBack { tx, discarded } => {
                let expected = self.pending.remove(tx).unwrap_or_default();
                let got: BTreeSet<_> = discarded.iter().copied().collect();
                sink.check(NO_PARTIAL_COMMIT, got == expected, &|| format!("{tx} discarded {got:?}, but wrote {expected:?}"));
            }
        }
    }

    /// Postconditions over the objects the event touched.
    pub fn end_event(&mut self, store: &VersionedStore, sink: &mut dyn RuleSink) {
        for object in core::mem::take(&mut self.touched) {
            if let Some(head) = store.head(object) {
                let known = self.committed.contains_key(&head);
                sink.check(NO_PARTIAL_COMMIT, known, &|| format!("the head of {object} is {head}, which no commit installed"));
            }
            for &v in self.by_object.get(&object).map_or(&[][..], Vec::as_slice) {
                let now = digest(store, v);
                let Some(recorded) = self.committed.get_mut(&v) else { continue };
                match recorded {
                    None => *recorded = now,
                    Some(first) => {
                        let first = *first;
                        sink.check(VERSIONS_IMMUTABLE, now == Some(first), &|| format!("committed {v} of {object} changed (or vanished) after its commit"));
                    }
                }
            }
        }
    }

    /// Checks a sequence of events as one event each.
    pub fn check_events(&mut self, events: &[StorageEvent], store: &VersionedStore, sink: &mut dyn RuleSink) {
        for e in events {
            self.observe(e, sink);
        }
        self.end_event(store, sink);
    }
}
