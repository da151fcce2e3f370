//! Traces: a run as data, `(scenario, choices)` plus what the run showed (DESIGN.md, "Choices,
//! not seeds, are the unit of shrinking"). Replaying a trace re-executes the scenario with the
//! recorded choices and compares every event's digest.
//!
//! This module holds the trace type and its compact binary encoding, which is decodable without
//! `std` (for `kernel_bare`): the 7-byte magic `PGTRACE`, one byte of format version, then the
//! `postcard` encoding of [`Trace`]. The version byte is checked before anything is decoded. The readable text encoding (RON) lives in the host-side `replay` crate. Decoding
//! never panics: a short, corrupted, trailing-garbage or wrong-version input is a [`TraceError`].

use crate::report::{EventRecord, RunReport, StopReason};
use crate::scenario::Scenario;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// Version of the trace format this build reads and writes.
pub const TRACE_FORMAT_VERSION: u32 = 1;

/// How deeply values may nest in a binary trace (each supervisor level of a scenario adds four:
/// task spec, behaviour, its fields, the children list). Deeper input is corrupt, not a stack
/// overflow; RON scenario files stop at 128 levels, so every trace the tools write fits.
pub const MAX_NESTING: usize = 256;
/// Version of the model that recorded a trace.
pub const MODEL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// First bytes of a binary trace (followed by the format version byte).
pub const BINARY_MAGIC: &[u8; 7] = b"PGTRACE";

/// A recorded run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub format_version: u32,
    pub model_version: String,
    /// The seed that produced the choices (informational: replay uses the choices).
    pub seed: u64,
    pub scenario: Scenario,
    /// Every random decision the run took, in order.
    pub choices: Vec<u64>,
    pub outcome: TraceOutcome,
    /// One record per event: time and digest always; descriptions may be empty in compact traces.
    pub events: Vec<EventRecord>,
}

/// What the recorded run showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceOutcome {
    pub events: u64,
    pub trace_hash: u64,
    pub stop: StopReason,
    /// The first violation: invariant id and event index.
    pub violation: Option<(String, u64)>,
}

impl TraceOutcome {
    /// The outcome of a finished run.
    pub fn of(report: &RunReport) -> Self {
        TraceOutcome {
            events: report.stats.events,
            trace_hash: report.trace_hash,
            stop: report.stop,
            violation: report.first_violation().map(|v| (v.invariant.clone(), v.event)),
        }
    }
}

/// Why bytes are not a trace this build can replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceError {
    /// Fewer bytes than the magic.
    Truncated,
    /// The input does not start with the trace magic.
    NotATrace,
    /// The bytes after the magic do not decode (corrupted or cut short).
    Corrupt(String),
    /// Decoded, but extra bytes follow.
    TrailingBytes(usize),
    /// Written by an incompatible format version.
    UnsupportedVersion { found: u32, supported: u32 },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Truncated => write!(f, "file is too short to be a trace"),
            TraceError::NotATrace => write!(f, "not a PandaGen trace (expected the magic bytes \"PGTRACE\" or a RON trace)"),
            TraceError::Corrupt(m) => write!(f, "corrupted or truncated trace: {m}"),
            TraceError::TrailingBytes(n) => write!(f, "corrupted trace: {n} unexpected bytes after the end"),
            TraceError::UnsupportedVersion { found, supported } => {
                write!(f, "trace format version {found} is not supported (this build reads version {supported})")
            }
        }
    }
}

impl Trace {
    /// A trace of a finished run recorded with choices, digests and (optionally) event descriptions.
    pub fn from_run(scenario: &Scenario, seed: u64, report: &RunReport) -> Self {
        let events = match (&report.event_log, &report.event_digests) {
            (Some(log), _) => log.clone(),
            (None, Some(digests)) => digests
                .iter()
                .enumerate()
                .map(|(i, d)| EventRecord { index: i as u64, at: 0, digest: *d, choices: 0, what: String::new(), effects: String::new() })
                .collect(),
            (None, None) => Vec::new(),
        };
        Trace {
            format_version: TRACE_FORMAT_VERSION,
            model_version: String::from(MODEL_VERSION),
            seed,
            scenario: scenario.clone(),
            choices: report.choices.clone().unwrap_or_default(),
            outcome: TraceOutcome::of(report),
            events,
        }
    }

    /// Drops event descriptions (keeps times and digests).
    pub fn compact(mut self) -> Self {
        for e in &mut self.events {
            e.what.clear();
            e.effects.clear();
        }
        self
    }

    /// The binary encoding.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = Vec::from(&BINARY_MAGIC[..]);
        out.push(TRACE_FORMAT_VERSION as u8);
        // Encoding into a Vec cannot fail for these types.
        out.extend(postcard::to_allocvec(self).unwrap_or_default());
        out
    }

    /// Decodes the binary encoding, checking magic, integrity and version.
    pub fn from_binary(bytes: &[u8]) -> Result<Trace, TraceError> {
        if bytes.len() < BINARY_MAGIC.len() + 1 {
            return Err(TraceError::Truncated);
        }
        let (magic, rest) = bytes.split_at(BINARY_MAGIC.len());
        if magic != BINARY_MAGIC {
            return Err(TraceError::NotATrace);
        }
        let (version, body) = (u32::from(rest[0]), &rest[1..]);
        if version != TRACE_FORMAT_VERSION {
            return Err(TraceError::UnsupportedVersion { found: version, supported: TRACE_FORMAT_VERSION });
        }
        let mut decoder = postcard::Deserializer::from_bytes(body);
        let trace: Trace = crate::depth_limit::deserialize_bounded(&mut decoder, MAX_NESTING).map_err(|e| TraceError::Corrupt(alloc::format!("{e}")))?;
        let rest = decoder.finalize().map_err(|e| TraceError::Corrupt(alloc::format!("{e}")))?;
        if !rest.is_empty() {
            return Err(TraceError::TrailingBytes(rest.len()));
        }
        trace.check_version()?;
        Ok(trace)
    }

    /// Rejects traces of another format version.
    pub fn check_version(&self) -> Result<(), TraceError> {
        if self.format_version != TRACE_FORMAT_VERSION {
            return Err(TraceError::UnsupportedVersion { found: self.format_version, supported: TRACE_FORMAT_VERSION });
        }
        Ok(())
    }
}
