//! Message envelopes and schema versioning (interface reference, "Message Passing": "Message
//! Envelope", "Schema Versioning", "IPC Schema Evolution Policy", "Correlation IDs").
//!
//! Choices where the seed is silent:
//! - `ServiceId` is a name, not a UUID: ids must be deterministic and scenario files refer to
//!   services by name. The name is interned ([`crate::names`]): a `ServiceId` is a [`Symbol`] of
//!   the run's name table, and so is a message's `action`, so envelopes are small plain values
//!   that never allocate.
//! - The payload is a small typed enum instead of serialized bytes: the model only needs to know
//!   what kind of message it is and where a reply goes (`reply_to`).
//! - Messages carry no capabilities, although the seed says channels "can transfer
//!   capabilities": transfer is the kernel call `delegate_capability` (move semantics, audited),
//!   as the seed's own "legacy documentation" note describes it. Capabilities in flight inside
//!   messages (and so the rule "no capability leak through message loss") arrive with their own
//!   issue.
//! - `VersionPolicy::check_compatibility`: majors in `[min_major, current]` are `Compatible`; the
//!   major just below the window (`min_major - 1`, when the policy raised `min_major` above the
//!   default "current + previous" window) is `UpgradeRequired` (the sender should upgrade); every
//!   other major (newer than current, or two or more below the window) is `Unsupported`. This keeps
//!   the seed's own example (`current(3,0).with_min_major(2)` rejects `1.9` as `Unsupported`).

use crate::ids::{ChannelId, MessageId, TaskId};
use crate::names::{Names, Symbol};
use alloc::string::String;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A service name (interned), the key of the service registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServiceId(pub Symbol);

impl ServiceId {
    /// The service's name in `names`.
    pub fn name(self, names: &Names) -> &str {
        names.resolve(self.0)
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service#{}", self.0 .0)
    }
}

/// `major.minor`: a major change is breaking, a minor change is backward compatible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SchemaVersion {
    pub major: u32,
    pub minor: u32,
}

impl SchemaVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        SchemaVersion { major, minor }
    }

    /// Same major version means compatible.
    pub fn is_compatible_with(&self, other: &SchemaVersion) -> bool {
        self.major == other.major
    }
}

impl Default for SchemaVersion {
    fn default() -> Self {
        SchemaVersion::new(1, 0)
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Result of checking an incoming version against a [`VersionPolicy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compatibility {
    Compatible,
    UpgradeRequired,
    Unsupported,
}

/// "Current + previous major" version window of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionPolicy {
    pub current: SchemaVersion,
    pub min_major: u32,
}

impl VersionPolicy {
    /// The default window: the current major and the one before it.
    pub fn new(current_major: u32, current_minor: u32) -> Self {
        VersionPolicy {
            current: SchemaVersion::new(current_major, current_minor),
            min_major: current_major.saturating_sub(1),
        }
    }

    /// Same as [`VersionPolicy::new`] (the seed uses both spellings).
    pub fn current(current_major: u32, current_minor: u32) -> Self {
        Self::new(current_major, current_minor)
    }

    /// Narrows or widens the window's lower end.
    pub fn with_min_major(mut self, min_major: u32) -> Self {
        self.min_major = min_major.min(self.current.major);
        self
    }

    /// Oldest and newest versions the policy accepts.
    pub fn supported_range(&self) -> (SchemaVersion, SchemaVersion) {
        (SchemaVersion::new(self.min_major, 0), SchemaVersion::new(self.current.major, u32::MAX))
    }

    /// Classifies an incoming version (see the module docs for the rule).
    pub fn check_compatibility(&self, incoming: &SchemaVersion) -> Compatibility {
        let major = incoming.major;
        if major > self.current.major {
            Compatibility::Unsupported
        } else if major >= self.min_major {
            Compatibility::Compatible
        } else if self.min_major == self.current.major && major.checked_add(1) == Some(self.min_major) {
            Compatibility::UpgradeRequired
        } else {
            Compatibility::Unsupported
        }
    }

    /// The explicit error a service returns for an incompatible version, or `None` if compatible.
    pub fn mismatch(&self, service: &ServiceId, received: SchemaVersion) -> Option<SchemaMismatchError> {
        match self.check_compatibility(&received) {
            Compatibility::Compatible => None,
            Compatibility::UpgradeRequired => Some(SchemaMismatchError::UpgradeRequired {
                service: *service,
                expected_min: SchemaVersion::new(self.min_major, 0),
                received,
            }),
            Compatibility::Unsupported => Some(SchemaMismatchError::Unsupported {
                service: *service,
                supported_range: self.supported_range(),
                received,
            }),
        }
    }
}

/// The explicit, actionable error for an unsupported schema version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchemaMismatchError {
    /// Sender is using too old a version: upgrade the sender.
    UpgradeRequired { service: ServiceId, expected_min: SchemaVersion, received: SchemaVersion },
    /// Version is not supported (too new or too old).
    Unsupported { service: ServiceId, supported_range: (SchemaVersion, SchemaVersion), received: SchemaVersion },
}

impl SchemaMismatchError {
    /// What the sender should do about it (the reference: the error "SHOULD suggest
    /// remediation: upgrade sender, downgrade sender, wait for service update").
    pub fn remediation(&self) -> String {
        match self {
            SchemaMismatchError::UpgradeRequired { expected_min, .. } => alloc::format!("upgrade the sender to schema {expected_min} or newer"),
            SchemaMismatchError::Unsupported { supported_range: (_, high), received, .. } if received.major > high.major => {
                alloc::format!("downgrade the sender to schema {}.x (at most {high}), or wait for the service to support {}.x", high.major, received.major)
            }
            SchemaMismatchError::Unsupported { supported_range: (low, high), .. } => {
                alloc::format!("upgrade the sender to a schema between {low} and {high}")
            }
        }
    }

    /// The error in words, with the service named as in `names`.
    pub fn describe(&self, names: &Names) -> String {
        let service = |s: &ServiceId| String::from(s.name(names));
        let what = match self {
            SchemaMismatchError::UpgradeRequired { service: s, expected_min, received } => {
                alloc::format!("service {} requires schema {expected_min} or newer, received {received}", service(s))
            }
            SchemaMismatchError::Unsupported { service: s, supported_range: (low, high), received } => {
                alloc::format!("service {} supports schemas {low} to {high}, received {received}", service(s))
            }
        };
        alloc::format!("{what}: {}", self.remediation())
    }
}

/// What a message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessagePayload {
    /// No content (notifications, workload traffic).
    Empty,
    /// A request; the reply goes to `reply_to`. `seq` numbers the client's logical request, so
    /// retries of the same request share it.
    Request { reply_to: ChannelId, seq: u32 },
    /// A successful reply to request `seq`.
    Response { seq: u32 },
    /// The service refused request `seq` because of its schema version.
    Rejected { seq: u32, error: SchemaMismatchError },
    /// Opaque data.
    Data(u64),
}

/// A message in flight or in a channel queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEnvelope {
    pub id: MessageId,
    pub destination: ServiceId,
    pub source: Option<TaskId>,
    /// What the message asks for (interned, see [`crate::names::well_known`]).
    pub action: Symbol,
    pub schema_version: SchemaVersion,
    pub correlation_id: Option<MessageId>,
    pub payload: MessagePayload,
}

impl MessageEnvelope {
    /// A new envelope. The id is a placeholder until the kernel stamps it at send time (ids are
    /// minted by the kernel's counter so they are unique and ordered).
    pub fn new(destination: ServiceId, action: Symbol, schema_version: SchemaVersion, payload: MessagePayload) -> Self {
        MessageEnvelope {
            id: MessageId(u64::MAX),
            destination,
            source: None,
            action,
            schema_version,
            correlation_id: None,
            payload,
        }
    }

    /// Marks this envelope as the response to `request`.
    pub fn with_correlation(mut self, request: MessageId) -> Self {
        self.correlation_id = Some(request);
        self
    }
}
