//! Execution identity and exit notifications (interface reference, "Execution Identity and
//! Supervision"; architecture `003_*`, Phase 7).
//!
//! Contract kept here and checked by the `identity.*` invariants:
//! - identity metadata is immutable after creation (no setter exists);
//! - an `ExecutionId` is never reused, even after termination (ids come from a counter);
//! - identity does not grant authority: nothing in the kernel consults identity to allow an
//!   operation, only to audit it (cross-domain delegation) and to route exit notifications;
//! - every task termination produces exactly one `ExitNotification`.

use crate::ids::{ExecutionId, TaskId};
use crate::time::Instant;
use alloc::string::String;
use core::fmt;
use serde::{Deserialize, Serialize};

/// What kind of execution context an identity names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum IdentityKind {
    System,
    #[default]
    Service,
    Component,
    PipelineStage,
}

/// A trust-domain tag ("core", "user", "sandbox" or custom). A structural hint for audit and
/// supervision, not an enforcement boundary.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TrustDomain(pub String);

impl TrustDomain {
    pub fn core() -> Self {
        TrustDomain("core".into())
    }
    pub fn user() -> Self {
        TrustDomain("user".into())
    }
    pub fn sandbox() -> Self {
        TrustDomain("sandbox".into())
    }
    pub fn new(name: impl Into<String>) -> Self {
        TrustDomain(name.into())
    }
}

impl fmt::Display for TrustDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Immutable metadata of one execution identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityMetadata {
    pub execution_id: ExecutionId,
    pub kind: IdentityKind,
    pub task_id: Option<TaskId>,
    pub parent_id: Option<ExecutionId>,
    pub creator_id: Option<ExecutionId>,
    pub created_at_nanos: u64,
    pub trust_domain: TrustDomain,
    pub name: String,
}

impl IdentityMetadata {
    /// Whether both identities carry the same trust-domain tag.
    pub fn same_domain(&self, other: &IdentityMetadata) -> bool {
        self.trust_domain == other.trust_domain
    }

    /// Whether `parent_id` is this identity's parent.
    pub fn is_child_of(&self, parent_id: ExecutionId) -> bool {
        self.parent_id == Some(parent_id)
    }
}

/// Why a task ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ExitReason {
    #[default]
    Normal,
    Failure { error: String },
    Cancelled { reason: String },
    Timeout,
}

impl ExitReason {
    /// Whether a restart policy of `OnFailure` treats this exit as a failure.
    pub fn is_failure(&self) -> bool {
        matches!(self, ExitReason::Failure { .. } | ExitReason::Timeout)
    }
}

/// The structured record of one task termination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitNotification {
    pub execution_id: ExecutionId,
    pub task_id: Option<TaskId>,
    pub reason: ExitReason,
    pub terminated_at_nanos: u64,
}

impl ExitNotification {
    pub fn new(execution_id: ExecutionId, task_id: TaskId, reason: ExitReason, at: Instant) -> Self {
        ExitNotification { execution_id, task_id: Some(task_id), reason, terminated_at_nanos: at.nanos() }
    }
}

impl crate::trace_hash::Fold for ExitReason {
    /// The fixed binary form for the trace hash: a tag, then the text of failures and cancellations.
    fn fold(&self, h: &mut crate::trace_hash::TraceHasher) {
        match self {
            ExitReason::Normal => h.tag(0, 0),
            ExitReason::Failure { error } => {
                h.tag(1, 0);
                h.str(error);
            }
            ExitReason::Cancelled { reason } => {
                h.tag(2, 0);
                h.str(reason);
            }
            ExitReason::Timeout => h.tag(3, 0),
        }
    }
}
