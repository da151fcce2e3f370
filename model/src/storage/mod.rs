//! Versioned, transactional object storage (interface reference, "Storage Interface": "Object
//! Types", "Object Identifiers", "Transactions", "Transactional Storage Trait"; architecture
//! "Storage (`services_storage`)" and Phase 4, "Storage Schema Evolution Model"). Domain layer,
//! not yet wired into the kernel.
//!
//! Objects are blobs (bytes, replaced whole), logs (append-only entries) or maps (key → value).
//! They are named by ids, not paths; there is no hierarchy.
//!
//! Contracts kept here:
//! - ids are unique: object, version and transaction ids come from counters and are never reused
//!   (a rolled-back write's version id is simply never seen again);
//! - every modification creates a new version; old versions stay readable and never change
//!   (`storage.versions_immutable`, checked by [`checks`]);
//! - all modifications of a transaction are atomic: a commit installs every write or none, a
//!   rollback discards every write (`storage.no_partial_commit`);
//! - a transaction can be rolled back before commit; nothing can be done with a finalized
//!   (committed or rolled-back) transaction (`TransactionError::NotActive`);
//! - objects carry a schema id and version; migrations are pure functions ([`migration`]) that
//!   write a new version and leave the old ones as they were;
//! - every operation has a fixed [`StorageOperation::cost`] in `StorageOps`, known before it runs,
//!   so enforcement can charge the budget before the effect.
//!
//! Choices where the seed is silent: commits are optimistic — a commit fails with
//! `TransactionError::Conflict` (and the transaction is rolled back) if another transaction
//! committed a new version of an object this one touched since it first touched it; reads and
//! writes cost one `StorageOps` each (creating an object is a write, a migration a read plus a
//! write), beginning, committing and rolling back cost nothing; `write` replaces a blob's bytes and
//! appends a log entry, a map is written with `put` / `remove`.

pub mod checks;
pub mod migration;
pub mod store;

pub use migration::{MigrationError, MigrationPlan, MigrationStep, Migrator, Transform};
pub use store::{StorageEvent, Transaction, TransactionState, TransactionalStorage, VersionedStore};

use crate::budget::StorageOps;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

macro_rules! storage_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

storage_id!(
    /// A stored object (not a path).
    ObjectId, "obj#"
);
storage_id!(
    /// One version of an object; every modification mints a new one.
    VersionId, "ver#"
);
storage_id!(
    /// A transaction.
    TransactionId, "tx#"
);

/// What kind of object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ObjectKind {
    /// Immutable bytes (each write is a whole new version).
    Blob,
    /// Append-only entries.
    Log,
    /// Key-value.
    Map,
}

/// What type of object, e.g. `"user-profile"`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectSchemaId(pub String);

/// Which version of its schema an object's data follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectSchemaVersion(pub u32);

/// The content of one version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ObjectContent {
    Blob(Vec<u8>),
    Log(Vec<Vec<u8>>),
    Map(BTreeMap<Vec<u8>, Vec<u8>>),
}

impl ObjectContent {
    /// The empty content of a new object of `kind`.
    pub fn empty(kind: ObjectKind) -> Self {
        match kind {
            ObjectKind::Blob => ObjectContent::Blob(Vec::new()),
            ObjectKind::Log => ObjectContent::Log(Vec::new()),
            ObjectKind::Map => ObjectContent::Map(BTreeMap::new()),
        }
    }

    pub fn kind(&self) -> ObjectKind {
        match self {
            ObjectContent::Blob(_) => ObjectKind::Blob,
            ObjectContent::Log(_) => ObjectKind::Log,
            ObjectContent::Map(_) => ObjectKind::Map,
        }
    }
}

fn fold_bytes(bytes: &[u8], h: &mut TraceHasher) {
    h.word(bytes.len() as u64);
    for chunk in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h.word(u64::from_le_bytes(w));
    }
}

impl Fold for ObjectContent {
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            ObjectContent::Blob(b) => {
                h.tag(0, 0);
                fold_bytes(b, h);
            }
            ObjectContent::Log(entries) => {
                h.tag(1, entries.len() as u64);
                entries.iter().for_each(|e| fold_bytes(e, h));
            }
            ObjectContent::Map(map) => {
                h.tag(2, map.len() as u64);
                for (k, v) in map {
                    fold_bytes(k, h);
                    fold_bytes(v, h);
                }
            }
        }
    }
}

/// One version of one object, with its schema metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    pub id: ObjectId,
    pub version: VersionId,
    /// The version this one was made from (`None` for the first).
    pub parent: Option<VersionId>,
    pub kind: ObjectKind,
    pub schema_id: ObjectSchemaId,
    pub schema_version: ObjectSchemaVersion,
    pub content: ObjectContent,
}

impl Fold for StoredObject {
    /// The version's identity and everything it holds (its digest for `storage.versions_immutable`).
    fn fold(&self, h: &mut TraceHasher) {
        h.tag(0, self.kind as u64);
        h.word(self.id.0);
        h.word(self.version.0);
        self.parent.map(|p| p.0).fold(h);
        h.str(&self.schema_id.0);
        h.word(u64::from(self.schema_version.0));
        self.content.fold(h);
    }
}

/// Why a storage operation failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransactionError {
    /// The transaction was already committed or rolled back.
    NotActive { tx: TransactionId, state: TransactionState },
    ObjectNotFound(ObjectId),
    WrongKind { object: ObjectId, kind: ObjectKind, operation: StorageOperation },
    /// Another transaction committed a new version of `object` first; this one was rolled back.
    Conflict { object: ObjectId },
    Migration(MigrationError),
}

impl fmt::Display for TransactionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionError::NotActive { tx, state } => write!(f, "{tx} is {state:?}"),
            TransactionError::ObjectNotFound(o) => write!(f, "{o} not found"),
            TransactionError::WrongKind { object, kind, operation } => write!(f, "{operation:?} on {object}, a {kind:?}"),
            TransactionError::Conflict { object } => write!(f, "conflict on {object}"),
            TransactionError::Migration(e) => write!(f, "{e}"),
        }
    }
}

impl From<MigrationError> for TransactionError {
    fn from(e: MigrationError) -> Self {
        TransactionError::Migration(e)
    }
}

/// A storage operation, for budgets and audit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StorageOperation {
    Begin,
    Create,
    Read,
    /// `write`, `append`, `put`, `remove`.
    Write,
    /// A read and a write.
    Migrate,
    Commit,
    Rollback,
}

impl StorageOperation {
    /// The `StorageOps` the operation consumes, known before it runs.
    pub fn cost(self) -> StorageOps {
        StorageOps(match self {
            StorageOperation::Create | StorageOperation::Read | StorageOperation::Write => 1,
            StorageOperation::Migrate => 2,
            StorageOperation::Begin | StorageOperation::Commit | StorageOperation::Rollback => 0,
        })
    }
}
