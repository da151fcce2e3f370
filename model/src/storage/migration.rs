//! Schema migrations as pure functions (architecture Phase 4, "Storage Schema Evolution Model":
//! "Migration is a pure function", "Migrations are deterministic", "Old versions remain
//! accessible").
//!
//! A [`Migrator`] turns data of one schema version into another. [`MigrationPlan`] is the
//! serde-describable migrator a scenario writes: one [`MigrationStep`] per version `n → n+1`,
//! each a byte [`Transform`]; migrating `from → to` applies the steps `from, from+1, …, to-1` in
//! order. Choices where the seed is silent: migrating to the same version is the identity;
//! downgrades are refused; a missing step is refused with the version it is missing at.

use super::{ObjectSchemaId, ObjectSchemaVersion};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// Transforms data between schema versions. Must be deterministic and side-effect free.
pub trait Migrator {
    /// The schema this migrator knows.
    fn schema(&self) -> &ObjectSchemaId;
    fn migrate(&self, from: ObjectSchemaVersion, to: ObjectSchemaVersion, data: &[u8]) -> Result<Vec<u8>, MigrationError>;
}

/// Why a migration failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MigrationError {
    Downgrade { from: ObjectSchemaVersion, to: ObjectSchemaVersion },
    /// No step from this version to the next.
    NoPath { missing: ObjectSchemaVersion },
    /// The object's schema is not the migrator's.
    WrongSchema { expected: ObjectSchemaId, found: ObjectSchemaId },
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationError::Downgrade { from, to } => write!(f, "cannot migrate down from v{} to v{}", from.0, to.0),
            MigrationError::NoPath { missing } => write!(f, "no migration from v{}", missing.0),
            MigrationError::WrongSchema { expected, found } => write!(f, "migrator for {} given {}", expected.0, found.0),
        }
    }
}

/// A byte transformation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Transform {
    Identity,
    Prefix(String),
    Suffix(String),
    /// Every occurrence of `from` (non-empty) becomes `to`, left to right, without overlaps.
    Replace { from: String, to: String },
    /// ASCII letters to upper case.
    Uppercase,
}

impl Transform {
    pub fn apply(&self, data: &[u8]) -> Vec<u8> {
        match self {
            Transform::Identity => data.to_vec(),
            Transform::Prefix(p) => [p.as_bytes(), data].concat(),
            Transform::Suffix(s) => [data, s.as_bytes()].concat(),
            Transform::Replace { from, to } => replace(data, from.as_bytes(), to.as_bytes()),
            Transform::Uppercase => data.to_ascii_uppercase(),
        }
    }
}

fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// The step from version `from` to `from + 1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationStep {
    pub from: ObjectSchemaVersion,
    pub transform: Transform,
}

/// A migrator as data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationPlan {
    pub schema: ObjectSchemaId,
    pub steps: Vec<MigrationStep>,
}

impl Migrator for MigrationPlan {
    fn schema(&self) -> &ObjectSchemaId {
        &self.schema
    }

    fn migrate(&self, from: ObjectSchemaVersion, to: ObjectSchemaVersion, data: &[u8]) -> Result<Vec<u8>, MigrationError> {
        if to < from {
            return Err(MigrationError::Downgrade { from, to });
        }
        let mut data = data.to_vec();
        for v in from.0..to.0 {
            let step = self.steps.iter().find(|s| s.from.0 == v).ok_or(MigrationError::NoPath { missing: ObjectSchemaVersion(v) })?;
            data = step.transform.apply(&data);
        }
        Ok(data)
    }
}
