//! Kernel errors (interface reference, "Error Handling" / "Kernel Errors").
//!
//! The variants are the reference's. Each carries a short description; `KernelErrorKind` is the
//! payload-free discriminant used by scenario expectations ("this step fails with
//! `InvalidCapability`") and by the trace hash.

use alloc::string::String;
use core::fmt;
use serde::{Deserialize, Serialize};

/// An error returned by a kernel operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KernelError {
    SpawnFailed(String),
    ChannelError(String),
    SendFailed(String),
    ReceiveFailed(String),
    Timeout,
    ServiceNotFound(String),
    ServiceAlreadyRegistered(String),
    InsufficientAuthority,
    InvalidCapability,
    ResourceExhausted(String),
    /// A storage operation failed (no such transaction or object, a finalized transaction, a wrong
    /// object kind, a commit conflict, a migration error).
    StorageError(String),
}

/// The variant of a [`KernelError`] without its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum KernelErrorKind {
    SpawnFailed,
    ChannelError,
    SendFailed,
    ReceiveFailed,
    Timeout,
    ServiceNotFound,
    ServiceAlreadyRegistered,
    InsufficientAuthority,
    InvalidCapability,
    ResourceExhausted,
    StorageError,
}

impl KernelErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [KernelErrorKind; 11] = [
        KernelErrorKind::SpawnFailed,
        KernelErrorKind::ChannelError,
        KernelErrorKind::SendFailed,
        KernelErrorKind::ReceiveFailed,
        KernelErrorKind::Timeout,
        KernelErrorKind::ServiceNotFound,
        KernelErrorKind::ServiceAlreadyRegistered,
        KernelErrorKind::InsufficientAuthority,
        KernelErrorKind::InvalidCapability,
        KernelErrorKind::ResourceExhausted,
        KernelErrorKind::StorageError,
    ];
}

impl KernelError {
    /// The payload-free variant of this error.
    pub fn kind(&self) -> KernelErrorKind {
        match self {
            KernelError::SpawnFailed(_) => KernelErrorKind::SpawnFailed,
            KernelError::ChannelError(_) => KernelErrorKind::ChannelError,
            KernelError::SendFailed(_) => KernelErrorKind::SendFailed,
            KernelError::ReceiveFailed(_) => KernelErrorKind::ReceiveFailed,
            KernelError::Timeout => KernelErrorKind::Timeout,
            KernelError::ServiceNotFound(_) => KernelErrorKind::ServiceNotFound,
            KernelError::ServiceAlreadyRegistered(_) => KernelErrorKind::ServiceAlreadyRegistered,
            KernelError::InsufficientAuthority => KernelErrorKind::InsufficientAuthority,
            KernelError::InvalidCapability => KernelErrorKind::InvalidCapability,
            KernelError::ResourceExhausted(_) => KernelErrorKind::ResourceExhausted,
            KernelError::StorageError(_) => KernelErrorKind::StorageError,
        }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::SpawnFailed(m) => write!(f, "spawn failed: {m}"),
            KernelError::ChannelError(m) => write!(f, "channel error: {m}"),
            KernelError::SendFailed(m) => write!(f, "send failed: {m}"),
            KernelError::ReceiveFailed(m) => write!(f, "receive failed: {m}"),
            KernelError::Timeout => write!(f, "timed out"),
            KernelError::ServiceNotFound(m) => write!(f, "service not found: {m}"),
            KernelError::ServiceAlreadyRegistered(m) => write!(f, "service already registered: {m}"),
            KernelError::InsufficientAuthority => write!(f, "insufficient authority"),
            KernelError::InvalidCapability => write!(f, "invalid capability"),
            KernelError::ResourceExhausted(m) => write!(f, "resource exhausted: {m}"),
            KernelError::StorageError(m) => write!(f, "storage error: {m}"),
        }
    }
}

impl fmt::Display for KernelErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
