//! The capability system (interface reference, "Capability System"; architecture Phase 3):
//! the authority table, the lifecycle operations grant / delegate / clone / drop / invalidate,
//! validation before every use, and the audit log.
//!
//! Rules kept here (each is also checked independently by an invariant in `invariants::capability`):
//! - only the kernel mints capabilities: ids come from the table's counter, and there is no
//!   public constructor for [`Cap`] outside the kernel (`cap.no_forgery`);
//! - exactly one task owns a capability at a time; delegation moves it (`cap.single_owner`,
//!   `cap.no_use_after_transfer`);
//! - when the owner terminates, its non-durable capabilities become invalid; durable ones stay
//!   valid and are re-bound to the owner's restarted successor (`cap.no_use_after_owner_death`);
//! - validation checks, in the seed's order: the capability exists, its status is `Valid`, its
//!   owner is alive, and the requester is the owner. A failed validation is audited as
//!   `InvalidUseAttempt`;
//! - every change of the table appends one audit record, so replaying the log rebuilds the table
//!   (`cap.audit_matches_table`).
//!
//! Choice where the seed is silent: a "durable" capability of a dead owner is held by no live
//! task until a supervisor restarts that owner; then it is re-bound to the new task and audited
//! as a `Delegated` event from the dead task to its successor.

use crate::ids::{CapId, IdCounter, TaskId};
use crate::names::Symbol;
use crate::time::Instant;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::marker::PhantomData;
use serde::{Deserialize, Serialize};

/// A typed capability handle. Unforgeable: only the kernel constructs one.
///
/// The reference's type rules are checked by the compiler, and these doc tests keep them so.
/// A handle names its id and moves like any value:
///
/// ```
/// fn hand_over<T>(cap: model::capability::Cap<T>) -> model::ids::CapId { cap.id() }
/// ```
///
/// A `Cap<T>` is not a `Cap<U>` ("`Cap<FileRead>` ≠ `Cap<FileWrite>`, cannot cast"),
///
/// ```compile_fail
/// struct FileRead;
/// struct FileWrite;
/// fn write(_: model::capability::Cap<FileWrite>) {}
/// fn read_cap() -> model::capability::Cap<FileRead> { loop {} }
/// write(read_cap());
/// ```
///
/// nobody outside the kernel can make one (no public constructor: unforgeable),
///
/// ```compile_fail
/// let forged: model::capability::Cap<()> = model::capability::Cap::minted(model::ids::CapId(0));
/// ```
///
/// and it is not `Clone` or `Copy` (transfer is a move: the old handle is gone).
///
/// ```compile_fail
/// fn duplicate<T>(cap: &model::capability::Cap<T>) -> model::capability::Cap<T> { cap.clone() }
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct Cap<T> {
    id: CapId,
    _phantom: PhantomData<T>,
}

impl<T> Cap<T> {
    pub(crate) fn minted(id: CapId) -> Self {
        Cap { id, _phantom: PhantomData }
    }

    /// The capability's id in the authority table.
    pub fn id(&self) -> CapId {
        self.id
    }
}

/// Whether a capability can still be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CapStatus {
    Valid,
    Invalid,
}

/// One row of the authority table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapEntry {
    pub id: CapId,
    /// The capability's type tag (`"file_read"`, `"channel"`, ... interned): `Cap<A>` ≠ `Cap<B>`.
    pub kind: Symbol,
    pub owner: TaskId,
    pub status: CapStatus,
    pub durable: bool,
    /// A second holder. Always `None` in the correct model; only the planted bug
    /// `DelegateKeepsSource` sets it.
    pub also_held_by: Option<TaskId>,
}

/// Why a use of a capability was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InvalidUseReason {
    /// No such capability was ever minted.
    Unknown,
    /// The capability was dropped or invalidated.
    NotValid,
    /// The owner has terminated.
    OwnerDead,
    /// The requester is not the owner (e.g. it delegated the capability away).
    NotOwner,
}

/// An audit event (interface reference, "Audit Trail"). Capability kinds and trust domains are
/// interned names of the run ([`crate::names::Names`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CapabilityEvent {
    Granted { cap: CapId, kind: Symbol, to_task: TaskId, durable: bool },
    Delegated { cap: CapId, from_task: TaskId, to_task: TaskId },
    CrossDomainDelegation { cap: CapId, from_task: TaskId, from_domain: Symbol, to_task: TaskId, to_domain: Symbol },
    Cloned { cap: CapId, new_cap: CapId, task: TaskId },
    Dropped { cap: CapId, task: TaskId },
    InvalidUseAttempt { cap: CapId, task: TaskId, reason: InvalidUseReason },
    Invalidated { cap: CapId, owner: TaskId },
}

/// Payload-free names of audit events, for counts and expectations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AuditKind {
    Granted,
    Delegated,
    CrossDomainDelegation,
    Cloned,
    Dropped,
    InvalidUseAttempt,
    Invalidated,
}

impl CapabilityEvent {
    pub fn kind(&self) -> AuditKind {
        match self {
            CapabilityEvent::Granted { .. } => AuditKind::Granted,
            CapabilityEvent::Delegated { .. } => AuditKind::Delegated,
            CapabilityEvent::CrossDomainDelegation { .. } => AuditKind::CrossDomainDelegation,
            CapabilityEvent::Cloned { .. } => AuditKind::Cloned,
            CapabilityEvent::Dropped { .. } => AuditKind::Dropped,
            CapabilityEvent::InvalidUseAttempt { .. } => AuditKind::InvalidUseAttempt,
            CapabilityEvent::Invalidated { .. } => AuditKind::Invalidated,
        }
    }

    /// The event in words, with interned names resolved (`Granted { cap: cap#3, kind: "net",
    /// to_task: task#1, durable: false }`).
    pub fn describe(&self, names: &crate::names::Names) -> alloc::string::String {
        use alloc::format;
        match *self {
            CapabilityEvent::Granted { cap, kind, to_task, durable } => {
                format!("Granted {{ cap: {cap}, kind: {:?}, to_task: {to_task}, durable: {durable} }}", names.resolve(kind))
            }
            CapabilityEvent::CrossDomainDelegation { cap, from_task, from_domain, to_task, to_domain } => format!(
                "CrossDomainDelegation {{ cap: {cap}, from_task: {from_task}, from_domain: {:?}, to_task: {to_task}, to_domain: {:?} }}",
                names.resolve(from_domain),
                names.resolve(to_domain)
            ),
            other => readable_ids(&format!("{other:?}")),
        }
    }

    /// The capability the event is about.
    pub fn cap(&self) -> CapId {
        match self {
            CapabilityEvent::Granted { cap, .. }
            | CapabilityEvent::Delegated { cap, .. }
            | CapabilityEvent::CrossDomainDelegation { cap, .. }
            | CapabilityEvent::Cloned { cap, .. }
            | CapabilityEvent::Dropped { cap, .. }
            | CapabilityEvent::InvalidUseAttempt { cap, .. }
            | CapabilityEvent::Invalidated { cap, .. } => *cap,
        }
    }
}

/// Rewrites the `Debug` form of ids (`CapId(3)`, `TaskId(1)`, ...) as their display form
/// (`cap#3`, `task#1`, ...), for descriptions meant for people.
pub fn readable_ids(debug: &str) -> alloc::string::String {
    const IDS: [(&str, &str); 6] = [("CapId(", "cap#"), ("TaskId(", "task#"), ("ChannelId(", "chan#"), ("MessageId(", "msg#"), ("ExecutionId(", "exec#"), ("Instant(", "t=")];
    let mut out = alloc::string::String::with_capacity(debug.len());
    let mut rest = debug;
    'scan: while !rest.is_empty() {
        for (from, to) in IDS {
            if let Some(tail) = rest.strip_prefix(from) {
                let digits = tail.find(|c: char| !c.is_ascii_digit()).unwrap_or(tail.len());
                if tail[digits..].starts_with(')') {
                    out.push_str(to);
                    out.push_str(&tail[..digits]);
                    rest = &tail[digits + 1..];
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// One timestamped audit record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: Instant,
    pub event: CapabilityEvent,
}

/// The capability audit log of the simulated kernel.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuditLog {
    records: Vec<AuditRecord>,
}

impl AuditLog {
    pub fn push(&mut self, at: Instant, event: CapabilityEvent) {
        self.records.push(AuditRecord { at, event });
    }
    pub fn records(&self) -> &[AuditRecord] {
        &self.records
    }
    pub fn get_events_for_cap(&self, cap: CapId) -> impl Iterator<Item = &CapabilityEvent> {
        self.records.iter().map(|r| &r.event).filter(move |e| e.cap() == cap)
    }
    pub fn count_events(&self, pred: impl Fn(&CapabilityEvent) -> bool) -> usize {
        self.records.iter().filter(|r| pred(&r.event)).count()
    }
    pub fn has_event(&self, pred: impl Fn(&CapabilityEvent) -> bool) -> bool {
        self.records.iter().any(|r| pred(&r.event))
    }
}

/// The kernel's authority table: who owns which capability, and whether it is valid.
#[derive(Clone, Debug, Default)]
pub struct AuthorityTable {
    entries: Vec<CapEntry>,
    owned: BTreeMap<TaskId, BTreeSet<CapId>>,
    ids: IdCounter,
}

impl AuthorityTable {
    pub fn entry(&self, cap: CapId) -> Option<&CapEntry> {
        self.entries.get(cap.index())
    }

    /// Number of capabilities ever minted.
    pub fn minted(&self) -> u64 {
        self.ids.minted()
    }

    /// Capabilities currently recorded as owned by `task` (valid or not yet invalidated).
    pub fn owned_by(&self, task: TaskId) -> impl Iterator<Item = CapId> + '_ {
        self.owned.get(&task).into_iter().flat_map(|s| s.iter().copied())
    }

    /// Mints a new capability owned by `owner`.
    pub fn mint(&mut self, kind: Symbol, owner: TaskId, durable: bool) -> CapId {
        let id = CapId(self.ids.mint());
        self.entries.push(CapEntry { id, kind, owner, status: CapStatus::Valid, durable, also_held_by: None });
        self.owned.entry(owner).or_default().insert(id);
        id
    }

    /// Validation before use, in the seed's order: exists, `Valid`, owner alive, requester holds
    /// it. `alive` says whether a task is running.
    pub fn validate(&self, cap: CapId, requester: TaskId, alive: impl Fn(TaskId) -> bool) -> Result<&CapEntry, InvalidUseReason> {
        let entry = self.entry(cap).ok_or(InvalidUseReason::Unknown)?;
        if entry.status != CapStatus::Valid {
            return Err(InvalidUseReason::NotValid);
        }
        if !alive(entry.owner) {
            return Err(InvalidUseReason::OwnerDead);
        }
        if entry.owner != requester && entry.also_held_by != Some(requester) {
            return Err(InvalidUseReason::NotOwner);
        }
        if !alive(requester) {
            return Err(InvalidUseReason::OwnerDead);
        }
        Ok(entry)
    }

    /// Moves ownership to `to`. With `keep_source` (planted bug) the old owner keeps access.
    pub fn transfer(&mut self, cap: CapId, to: TaskId, keep_source: bool) {
        let entry = &mut self.entries[cap.index()];
        let from = entry.owner;
        entry.owner = to;
        entry.also_held_by = if keep_source { Some(from) } else { None };
        if let Some(set) = self.owned.get_mut(&from) {
            set.remove(&cap);
        }
        self.owned.entry(to).or_default().insert(cap);
    }

    /// Marks a capability invalid and forgets its ownership.
    pub fn invalidate(&mut self, cap: CapId) {
        let entry = &mut self.entries[cap.index()];
        entry.status = CapStatus::Invalid;
        entry.also_held_by = None;
        let owner = entry.owner;
        if let Some(set) = self.owned.get_mut(&owner) {
            set.remove(&cap);
        }
    }

    /// Whether `task` may use `cap` right now.
    pub fn is_capability_valid(&self, cap: CapId, task: TaskId, alive: impl Fn(TaskId) -> bool) -> bool {
        self.validate(cap, task, alive).is_ok()
    }
}

/// One row of a [`ReplayedTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayedRow {
    pub owner: TaskId,
    pub status: CapStatus,
    pub durable: bool,
}

/// An authority table rebuilt from audit records alone (used by `cap.audit_matches_table` and
/// as the capability invariants' shadow state).
#[derive(Clone, Debug, Default)]
pub struct ReplayedTable {
    rows: BTreeMap<CapId, ReplayedRow>,
    owned: BTreeMap<TaskId, BTreeSet<CapId>>,
}

impl ReplayedTable {
    /// Applies one audit event.
    pub fn apply(&mut self, event: &CapabilityEvent) {
        match event {
            CapabilityEvent::Granted { cap, to_task, durable, .. } => self.insert(*cap, *to_task, *durable),
            CapabilityEvent::Cloned { cap, new_cap, task } => {
                let durable = self.rows.get(cap).is_some_and(|r| r.durable);
                self.insert(*new_cap, *task, durable);
            }
            CapabilityEvent::Delegated { cap, to_task, .. } => {
                if let Some(row) = self.rows.get_mut(cap) {
                    let from = core::mem::replace(&mut row.owner, *to_task);
                    self.owned.entry(from).or_default().remove(cap);
                    self.owned.entry(*to_task).or_default().insert(*cap);
                }
            }
            CapabilityEvent::Dropped { cap, .. } | CapabilityEvent::Invalidated { cap, .. } => {
                if let Some(row) = self.rows.get_mut(cap) {
                    row.status = CapStatus::Invalid;
                    self.owned.entry(row.owner).or_default().remove(cap);
                }
            }
            CapabilityEvent::CrossDomainDelegation { .. } | CapabilityEvent::InvalidUseAttempt { .. } => {}
        }
    }

    fn insert(&mut self, cap: CapId, owner: TaskId, durable: bool) {
        self.rows.insert(cap, ReplayedRow { owner, status: CapStatus::Valid, durable });
        self.owned.entry(owner).or_default().insert(cap);
    }

    /// The rebuilt row of a capability.
    pub fn row(&self, cap: CapId) -> Option<ReplayedRow> {
        self.rows.get(&cap).copied()
    }

    /// Valid capabilities the audit log says `task` owns.
    pub fn owned_by(&self, task: TaskId) -> impl Iterator<Item = CapId> + '_ {
        self.owned.get(&task).into_iter().flat_map(|s| s.iter().copied())
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rebuilds a table from a whole audit log.
    pub fn from_log(log: &AuditLog) -> Self {
        let mut table = ReplayedTable::default();
        for record in log.records() {
            table.apply(&record.event);
        }
        table
    }
}

impl crate::trace_hash::Fold for CapabilityEvent {
    /// The fixed binary form for the trace hash: a tag per variant, then the fields as words.
    fn fold(&self, h: &mut crate::trace_hash::TraceHasher) {
        let pair = |a: u64, b: u64| (a << 32) ^ b;
        match *self {
            CapabilityEvent::Granted { cap, kind, to_task, durable } => {
                h.tag(0, pair(u64::from(kind.0), u64::from(durable)));
                h.word(cap.0);
                h.word(to_task.0);
            }
            CapabilityEvent::Delegated { cap, from_task, to_task } => {
                h.tag(1, 0);
                h.word(cap.0);
                h.word(pair(from_task.0, to_task.0));
            }
            CapabilityEvent::CrossDomainDelegation { cap, from_task, from_domain, to_task, to_domain } => {
                h.tag(2, pair(u64::from(from_domain.0), u64::from(to_domain.0)));
                h.word(cap.0);
                h.word(pair(from_task.0, to_task.0));
            }
            CapabilityEvent::Cloned { cap, new_cap, task } => {
                h.tag(3, task.0);
                h.word(cap.0);
                h.word(new_cap.0);
            }
            CapabilityEvent::Dropped { cap, task } => {
                h.tag(4, task.0);
                h.word(cap.0);
            }
            CapabilityEvent::InvalidUseAttempt { cap, task, reason } => {
                h.tag(5, pair(reason as u64, task.0));
                h.word(cap.0);
            }
            CapabilityEvent::Invalidated { cap, owner } => {
                h.tag(6, owner.0);
                h.word(cap.0);
            }
        }
    }
}
