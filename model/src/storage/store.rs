//! The versioned store and its transactions (interface reference, "Transactions", "Transactional
//! Storage Trait"). See the [module documentation](super) for the contracts.
//!
//! Versions live in one arena indexed by `VersionId` (the arena length is the version counter).
//! A write adds a *pending* version owned by its transaction; a commit marks the transaction's
//! versions committed and moves the heads in one step; a rollback (or a failed commit) marks them
//! discarded. Only committed versions are readable outside their transaction.

use super::migration::{MigrationError, Migrator};
use super::{ObjectContent, ObjectId, ObjectKind, ObjectSchemaId, ObjectSchemaVersion, StorageOperation, StoredObject, TransactionError, TransactionId, VersionId};
use crate::bugs::{BugSet, PlantedBug};
use crate::ids::IdCounter;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// Where a transaction is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TransactionState {
    /// Can perform operations.
    Active,
    /// Changes are permanent.
    Committed,
    /// Changes are discarded.
    RolledBack,
}

/// A transaction handle, held by its user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    id: TransactionId,
    state: TransactionState,
    /// The latest pending version of each object written.
    latest: BTreeMap<ObjectId, VersionId>,
    /// Every pending version, in write order.
    written: Vec<(ObjectId, VersionId)>,
    /// The committed head of each object when the transaction first touched it.
    base: BTreeMap<ObjectId, Option<VersionId>>,
}

impl Transaction {
    pub fn id(&self) -> TransactionId {
        self.id
    }
    pub fn state(&self) -> TransactionState {
        self.state
    }
    /// Every version written so far, in order.
    pub fn written(&self) -> &[(ObjectId, VersionId)] {
        &self.written
    }
}

/// A storage change (input of [`super::checks`] and of the trace hash once wired in).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageEvent {
    TransactionBegun { tx: TransactionId },
    ObjectCreated { tx: TransactionId, object: ObjectId, kind: ObjectKind, version: VersionId },
    VersionWritten { tx: TransactionId, object: ObjectId, version: VersionId, parent: Option<VersionId> },
    /// Every version the transaction wrote became permanent.
    Committed { tx: TransactionId, versions: Vec<(ObjectId, VersionId)> },
    /// The commit found `conflict` and discarded these versions.
    CommitFailed { tx: TransactionId, conflict: ObjectId, discarded: Vec<(ObjectId, VersionId)> },
    RolledBack { tx: TransactionId, discarded: Vec<(ObjectId, VersionId)> },
}

impl StorageEvent {
    /// The objects the event is about.
    pub fn objects(&self) -> impl Iterator<Item = ObjectId> + '_ {
        let (single, list): (Option<ObjectId>, &[(ObjectId, VersionId)]) = match self {
            StorageEvent::TransactionBegun { .. } => (None, &[]),
            StorageEvent::ObjectCreated { object, .. } | StorageEvent::VersionWritten { object, .. } => (Some(*object), &[]),
            StorageEvent::Committed { versions, .. } => (None, versions),
            StorageEvent::CommitFailed { discarded, .. } | StorageEvent::RolledBack { discarded, .. } => (None, discarded),
        };
        single.into_iter().chain(list.iter().map(|(o, _)| *o))
    }
}

fn fold_pairs(pairs: &[(ObjectId, VersionId)], h: &mut TraceHasher) {
    h.word(pairs.len() as u64);
    for (o, v) in pairs {
        h.word(o.0);
        h.word(v.0);
    }
}

impl Fold for StorageEvent {
    /// Tags are stable; new variants take new tags.
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            StorageEvent::TransactionBegun { tx } => h.tag(0, tx.0),
            StorageEvent::ObjectCreated { tx, object, kind, version } => {
                h.tag(1, tx.0);
                h.word(object.0);
                h.word(*kind as u64);
                h.word(version.0);
            }
            StorageEvent::VersionWritten { tx, object, version, parent } => {
                h.tag(2, tx.0);
                h.word(object.0);
                h.word(version.0);
                parent.map(|p| p.0).fold(h);
            }
            StorageEvent::Committed { tx, versions } => {
                h.tag(3, tx.0);
                fold_pairs(versions, h);
            }
            StorageEvent::CommitFailed { tx, conflict, discarded } => {
                h.tag(4, tx.0);
                h.word(conflict.0);
                fold_pairs(discarded, h);
            }
            StorageEvent::RolledBack { tx, discarded } => {
                h.tag(5, tx.0);
                fold_pairs(discarded, h);
            }
        }
    }
}

/// The seed's storage trait.
pub trait TransactionalStorage {
    fn begin_transaction(&mut self) -> Result<Transaction, TransactionError>;
    /// The version of `object_id` the transaction sees (its own latest write, else the committed head).
    fn read(&self, tx: &Transaction, object_id: ObjectId) -> Result<VersionId, TransactionError>;
    /// Writes `data` (a blob's new bytes, a log's new entry) as a new pending version.
    fn write(&mut self, tx: &mut Transaction, object_id: ObjectId, data: &[u8]) -> Result<VersionId, TransactionError>;
    fn commit(&mut self, tx: &mut Transaction) -> Result<(), TransactionError>;
    fn rollback(&mut self, tx: &mut Transaction) -> Result<(), TransactionError>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum VersionState {
    Pending(TransactionId),
    Committed,
    Discarded,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct VersionRecord {
    object: StoredObject,
    state: VersionState,
}

/// The object store.
#[derive(Clone, Debug, Default)]
pub struct VersionedStore {
    versions: Vec<VersionRecord>,
    heads: BTreeMap<ObjectId, VersionId>,
    history: BTreeMap<ObjectId, Vec<VersionId>>,
    objects: IdCounter,
    transactions: IdCounter,
    events: Vec<StorageEvent>,
    bugs: BugSet,
}

impl VersionedStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store with planted bugs switched on.
    pub fn with_bugs(bugs: BugSet) -> Self {
        VersionedStore { bugs, ..Self::default() }
    }

    // ----- reading ---------------------------------------------------------------------------

    /// The committed head version of `object`.
    pub fn head(&self, object: ObjectId) -> Option<VersionId> {
        self.heads.get(&object).copied()
    }

    /// A committed version (old versions stay accessible).
    pub fn version(&self, version: VersionId) -> Option<&StoredObject> {
        self.versions.get(version.0 as usize).filter(|r| r.state == VersionState::Committed).map(|r| &r.object)
    }

    /// Every committed version of `object`, oldest first.
    pub fn history(&self, object: ObjectId) -> &[VersionId] {
        self.history.get(&object).map_or(&[], Vec::as_slice)
    }

    /// The content the transaction sees for `object`.
    pub fn read_content(&self, tx: &Transaction, object: ObjectId) -> Result<&StoredObject, TransactionError> {
        let v = self.read(tx, object)?;
        Ok(&self.versions[v.0 as usize].object)
    }

    /// Every change since the last call.
    pub fn take_events(&mut self) -> Vec<StorageEvent> {
        core::mem::take(&mut self.events)
    }

    // ----- writing ---------------------------------------------------------------------------

    /// Creates an empty object of `kind` in the transaction (visible to others after commit).
    pub fn create(&mut self, tx: &mut Transaction, kind: ObjectKind, schema_id: ObjectSchemaId, schema_version: ObjectSchemaVersion) -> Result<ObjectId, TransactionError> {
        active(tx)?;
        let id = ObjectId(self.objects.mint());
        let version = self.mint_version(tx, StoredObject { id, version: VersionId(0), parent: None, kind, schema_id, schema_version, content: ObjectContent::empty(kind) });
        tx.base.insert(id, None);
        self.events.push(StorageEvent::ObjectCreated { tx: tx.id, object: id, kind, version });
        Ok(id)
    }

    /// Appends an entry to a log.
    pub fn append(&mut self, tx: &mut Transaction, object: ObjectId, entry: &[u8]) -> Result<VersionId, TransactionError> {
        self.modify(tx, object, |content| match content {
            ObjectContent::Log(entries) => {
                entries.push(entry.to_vec());
                true
            }
            _ => false,
        })
    }

    /// Sets `key` of a map.
    pub fn put(&mut self, tx: &mut Transaction, object: ObjectId, key: &[u8], value: &[u8]) -> Result<VersionId, TransactionError> {
        self.modify(tx, object, |content| match content {
            ObjectContent::Map(map) => {
                map.insert(key.to_vec(), value.to_vec());
                true
            }
            _ => false,
        })
    }

    /// Removes `key` of a map (a new version even if the key was absent).
    pub fn remove(&mut self, tx: &mut Transaction, object: ObjectId, key: &[u8]) -> Result<VersionId, TransactionError> {
        self.modify(tx, object, |content| match content {
            ObjectContent::Map(map) => {
                map.remove(key);
                true
            }
            _ => false,
        })
    }

    /// Migrates the object to schema version `to` with `migrator`, as a new version (the old ones
    /// keep their schema version and data).
    pub fn migrate(&mut self, tx: &mut Transaction, object: ObjectId, migrator: &dyn Migrator, to: ObjectSchemaVersion) -> Result<VersionId, TransactionError> {
        active(tx)?;
        let base = self.read_content(tx, object)?;
        if base.schema_id != *migrator.schema() {
            return Err(TransactionError::Migration(MigrationError::WrongSchema { expected: migrator.schema().clone(), found: base.schema_id.clone() }));
        }
        let from = base.schema_version;
        let run = |data: &[u8]| migrator.migrate(from, to, data);
        let content = match &base.content {
            ObjectContent::Blob(b) => ObjectContent::Blob(run(b)?),
            ObjectContent::Log(entries) => ObjectContent::Log(entries.iter().map(|e| run(e)).collect::<Result<_, _>>()?),
            ObjectContent::Map(map) => ObjectContent::Map(map.iter().map(|(k, v)| Ok((k.clone(), run(v)?))).collect::<Result<_, MigrationError>>()?),
        };
        let new = StoredObject { content, schema_version: to, parent: Some(base.version), ..base.clone() };
        Ok(self.write_version(tx, new))
    }

    /// A new pending version of `object` made by `change` (false: wrong kind for the operation).
    fn modify(&mut self, tx: &mut Transaction, object: ObjectId, change: impl FnOnce(&mut ObjectContent) -> bool) -> Result<VersionId, TransactionError> {
        active(tx)?;
        let base = self.read_content(tx, object)?;
        let mut new = StoredObject { parent: Some(base.version), ..base.clone() };
        if !change(&mut new.content) {
            return Err(TransactionError::WrongKind { object, kind: base.kind, operation: StorageOperation::Write });
        }
        Ok(self.write_version(tx, new))
    }

    fn write_version(&mut self, tx: &mut Transaction, new: StoredObject) -> VersionId {
        let (object, parent) = (new.id, new.parent);
        tx.base.entry(object).or_insert_with(|| self.heads.get(&object).copied());
        let version = self.mint_version(tx, new);
        self.events.push(StorageEvent::VersionWritten { tx: tx.id, object, version, parent });
        version
    }

    fn mint_version(&mut self, tx: &mut Transaction, mut object: StoredObject) -> VersionId {
        let version = VersionId(self.versions.len() as u64);
        object.version = version;
        tx.latest.insert(object.id, version);
        tx.written.push((object.id, version));
        self.versions.push(VersionRecord { object, state: VersionState::Pending(tx.id) });
        version
    }

    fn install(&mut self, object: ObjectId, versions: &[(ObjectId, VersionId)], head: VersionId) {
        for &(o, v) in versions.iter().filter(|(o, _)| *o == object) {
            self.versions[v.0 as usize].state = VersionState::Committed;
            self.history.entry(o).or_default().push(v);
        }
        self.heads.insert(object, head);
    }

    fn discard(&mut self, versions: &[(ObjectId, VersionId)]) {
        for &(_, v) in versions {
            self.versions[v.0 as usize].state = VersionState::Discarded;
        }
    }

    /// The first object whose committed head moved since the transaction first touched it.
    fn conflict(&self, tx: &Transaction) -> Option<ObjectId> {
        tx.base.iter().find(|(o, base)| self.heads.get(o).copied() != **base).map(|(o, _)| *o)
    }
}

fn active(tx: &Transaction) -> Result<(), TransactionError> {
    match tx.state {
        TransactionState::Active => Ok(()),
        state => Err(TransactionError::NotActive { tx: tx.id, state }),
    }
}

impl TransactionalStorage for VersionedStore {
    fn begin_transaction(&mut self) -> Result<Transaction, TransactionError> {
        let id = TransactionId(self.transactions.mint());
        self.events.push(StorageEvent::TransactionBegun { tx: id });
        Ok(Transaction { id, state: TransactionState::Active, latest: BTreeMap::new(), written: Vec::new(), base: BTreeMap::new() })
    }

    fn read(&self, tx: &Transaction, object_id: ObjectId) -> Result<VersionId, TransactionError> {
        active(tx)?;
        tx.latest.get(&object_id).or_else(|| self.heads.get(&object_id)).copied().ok_or(TransactionError::ObjectNotFound(object_id))
    }

    fn write(&mut self, tx: &mut Transaction, object_id: ObjectId, data: &[u8]) -> Result<VersionId, TransactionError> {
        let mutate_old = self.bugs.has(PlantedBug::WriteMutatesOldVersion);
        let head = self.heads.get(&object_id).copied();
        let version = self.modify(tx, object_id, |content| match content {
            ObjectContent::Blob(bytes) => {
                *bytes = data.to_vec();
                true
            }
            ObjectContent::Log(entries) => {
                entries.push(data.to_vec());
                true
            }
            ObjectContent::Map(_) => false,
        })?;
        if let (true, Some(head)) = (mutate_old, head) {
            if let ObjectContent::Blob(bytes) = &mut self.versions[head.0 as usize].object.content {
                *bytes = data.to_vec();
            }
        }
        Ok(version)
    }

    /// Installs every write of the transaction at once, or none (on conflict, rolled back).
    fn commit(&mut self, tx: &mut Transaction) -> Result<(), TransactionError> {
        active(tx)?;
        let written = core::mem::take(&mut tx.written);
        if self.bugs.has(PlantedBug::CommitStopsAtConflict) {
            return self.commit_object_by_object(tx, written);
        }
        if let Some(conflict) = self.conflict(tx) {
            self.discard(&written);
            tx.state = TransactionState::RolledBack;
            self.events.push(StorageEvent::CommitFailed { tx: tx.id, conflict, discarded: written });
            return Err(TransactionError::Conflict { object: conflict });
        }
        for (&object, &head) in &tx.latest {
            self.install(object, &written, head);
        }
        tx.state = TransactionState::Committed;
        self.events.push(StorageEvent::Committed { tx: tx.id, versions: written });
        Ok(())
    }

    /// Discards every write of the transaction.
    fn rollback(&mut self, tx: &mut Transaction) -> Result<(), TransactionError> {
        active(tx)?;
        let written = core::mem::take(&mut tx.written);
        self.discard(&written);
        if let (true, Some(&(object, version))) = (self.bugs.has(PlantedBug::RollbackKeepsOneWrite), written.first()) {
            self.install(object, &[(object, version)], version);
        }
        tx.state = TransactionState::RolledBack;
        self.events.push(StorageEvent::RolledBack { tx: tx.id, discarded: written });
        Ok(())
    }
}

impl VersionedStore {
    /// The planted bug `CommitStopsAtConflict`: installs objects one by one and stops at the first
    /// conflict, keeping what it installed.
    fn commit_object_by_object(&mut self, tx: &mut Transaction, written: Vec<(ObjectId, VersionId)>) -> Result<(), TransactionError> {
        let latest: Vec<(ObjectId, VersionId)> = tx.latest.iter().map(|(o, v)| (*o, *v)).collect();
        for (object, head) in latest {
            if self.heads.get(&object).copied() != tx.base.get(&object).copied().flatten() {
                let rest: Vec<(ObjectId, VersionId)> = written.iter().copied().filter(|(o, _)| *o >= object).collect();
                self.discard(&rest);
                tx.state = TransactionState::RolledBack;
                self.events.push(StorageEvent::CommitFailed { tx: tx.id, conflict: object, discarded: rest });
                return Err(TransactionError::Conflict { object });
            }
            self.install(object, &written, head);
        }
        tx.state = TransactionState::Committed;
        self.events.push(StorageEvent::Committed { tx: tx.id, versions: written });
        Ok(())
    }
}
