//! Traces: a run as data, `(scenario, choices)` plus what the run showed (DESIGN.md, "Choices,
//! not seeds, are the unit of shrinking"). Replaying a trace re-executes the scenario with the
//! recorded choices and compares every event.
//!
//! A trace is a header (model version, seed, scenario), one record per event (its virtual time, the
//! choices it drew, the trace hash after it; descriptions in the text encoding only) and the
//! outcome. Every recorded field is checked by replay: the times, the choices (values, how many
//! per event, and that each is within the bound of its draw), the digests, the event count, the
//! outcome and the model version.
//!
//! This module holds the in-memory [`Trace`] and the compact binary encoding, which is written
//! and read as a stream and decodes without `std` (for `kernel_bare`):
//!
//! ```text
//! "PGTRACE" version:u8
//! varint(len) postcard(TraceHeader)
//! { 0x01 varint(at - previous at) varint(n) n × varint(choice) digest:u64-le }   one per event
//! 0x02 varint(len) postcard(TraceOutcome)
//! ```
//!
//! About 12 bytes per event (the choices are small numbers). The readable text encoding (RON)
//! lives in the host-side `replay` crate. Decoding never panics: a short, corrupted,
//! trailing-garbage or wrong-version input is a [`TraceError`].

use crate::engine::{EventSink, EventSummary};
use crate::report::{EventRecord, RunReport, StopReason};
use crate::scenario::Scenario;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// Version of the trace format this build reads and writes.
pub const TRACE_FORMAT_VERSION: u32 = 3;

/// How deeply values may nest when decoding a binary trace. Each supervisor level of a scenario
/// costs four levels (task spec, behaviour, its fields, the children list), so 256 leaves room for
/// the scenario limit every reader enforces, [`crate::scenario::MAX_SUPERVISOR_DEPTH`] (32), with
/// margin; deeper input is refused with an error, never a stack overflow, and every trace the
/// tools write fits.
pub const MAX_NESTING: usize = 256;
/// Version of the model that recorded a trace.
pub const MODEL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// First bytes of a binary trace (followed by the format version byte).
pub const BINARY_MAGIC: &[u8; 7] = b"PGTRACE";

const EVENT_TAG: u8 = 0x01;
const OUTCOME_TAG: u8 = 0x02;

/// What a trace says before its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceHeader {
    pub model_version: String,
    /// The seed that produced the choices (informational: replay uses the choices).
    pub seed: u64,
    pub scenario: Scenario,
    /// [`scenario_digest`] of the scenario as recorded: replay tells an edited scenario.
    pub scenario_digest: u64,
}

/// A digest of everything in a scenario that takes part in a run: all of it but the
/// informational `name`, `description` and `seed` (a trace's choices replace the seed). Replay
/// compares it with the recorded one, so an edit of the embedded scenario is reported even when
/// it happens to change no event.
///
/// The lite sections (lite builds) are the last field of the expectations and of the scenario, so
/// without them a lite build's encoding is a default build's followed by their two `None` bytes:
/// those are left out and, when the scenario has lite parts, their own encoding is appended. A
/// scenario without lite parts has the same digest in both builds, so traces recorded by one
/// replay in the other.
pub fn scenario_digest(scenario: &Scenario) -> u64 {
    let run_inputs = Scenario { name: String::new(), description: String::new(), seed: 0, ..scenario.clone() };
    #[cfg(feature = "net-bringup-lite")]
    let bytes = {
        let lite = (run_inputs.lite_network.clone(), run_inputs.expect.lite.clone());
        let mut without = run_inputs;
        without.lite_network = None;
        without.expect.lite = None;
        let mut bytes = postcard::to_allocvec(&without).unwrap_or_default();
        debug_assert!(bytes.ends_with(&[0, 0]), "the lite sections are the last fields");
        bytes.truncate(bytes.len().saturating_sub(2));
        if lite.0.is_some() || lite.1.is_some() {
            bytes.extend(postcard::to_allocvec(&lite).unwrap_or_default());
        }
        bytes
    };
    #[cfg(not(feature = "net-bringup-lite"))]
    let bytes = postcard::to_allocvec(&run_inputs).unwrap_or_default();
    let mut h = crate::trace_hash::TraceHasher::default();
    h.word(bytes.len() as u64);
    for chunk in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h.word(u64::from_le_bytes(w));
    }
    h.value()
}

/// A recorded run, in memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub format_version: u32,
    pub model_version: String,
    /// The seed that produced the choices (informational: replay uses the choices).
    pub seed: u64,
    pub scenario: Scenario,
    /// [`scenario_digest`] of the scenario as recorded.
    pub scenario_digest: u64,
    /// One record per event, with the choices it drew.
    pub events: Vec<EventRecord>,
    pub outcome: TraceOutcome,
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
    /// Fewer bytes than the magic and version.
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
            TraceError::Truncated => write!(f, "file is too short to be a binary trace (it ends inside the magic bytes \"PGTRACE\" and the version)"),
            TraceError::NotATrace => write!(f, "not a PandaGen trace (expected the magic bytes \"PGTRACE\" or a RON trace)"),
            TraceError::Corrupt(m) => write!(f, "corrupted or truncated trace: {m}"),
            TraceError::TrailingBytes(n) => write!(f, "corrupted trace: {n} unexpected bytes after the end"),
            TraceError::UnsupportedVersion { found, supported } => {
                write!(f, "trace format version {found} is not supported (this build reads version {supported})")
            }
        }
    }
}

fn corrupt(what: impl fmt::Display) -> TraceError {
    TraceError::Corrupt(alloc::format!("{what}"))
}

impl Trace {
    /// A trace of a finished run recorded with its event log (`RunConfig::record_events`).
    pub fn from_run(scenario: &Scenario, seed: u64, report: &RunReport) -> Self {
        Trace {
            format_version: TRACE_FORMAT_VERSION,
            model_version: String::from(MODEL_VERSION),
            seed,
            scenario: scenario.clone(),
            scenario_digest: scenario_digest(scenario),
            events: report.event_log.clone().unwrap_or_default(),
            outcome: TraceOutcome::of(report),
        }
    }

    /// Every choice of the run, in order (the events' choices concatenated).
    pub fn choices(&self) -> Vec<u64> {
        self.events.iter().flat_map(|e| e.choices.iter().copied()).collect()
    }

    /// Drops event descriptions (keeps times, choices and digests).
    pub fn compact(mut self) -> Self {
        for e in &mut self.events {
            e.what.clear();
            e.effects.clear();
        }
        self
    }

    /// The header of this trace.
    pub fn header(&self) -> TraceHeader {
        TraceHeader { model_version: self.model_version.clone(), seed: self.seed, scenario: self.scenario.clone(), scenario_digest: self.scenario_digest }
    }

    /// The binary encoding.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut writer = BinaryWriter::start(Vec::new(), &self.header());
        for e in &self.events {
            writer.record(e.at, &e.choices, e.digest);
        }
        writer.finish(&self.outcome)
    }

    /// Decodes the binary encoding, checking magic, version, integrity and that nothing follows.
    pub fn from_binary(bytes: &[u8]) -> Result<Trace, TraceError> {
        let mut reader = BinaryReader::open(bytes)?;
        let header = reader.header()?;
        let mut events = Vec::new();
        while let Some(record) = reader.next_event()? {
            let index = events.len() as u64;
            events.push(EventRecord { index, at: record.at, choices: record.choices, digest: record.digest, what: String::new(), effects: String::new() });
        }
        let outcome = reader.outcome()?;
        let TraceHeader { model_version, seed, scenario, scenario_digest } = header;
        Ok(Trace { format_version: TRACE_FORMAT_VERSION, model_version, seed, scenario, scenario_digest, events, outcome })
    }

    /// Rejects traces of another format version.
    pub fn check_version(&self) -> Result<(), TraceError> {
        if self.format_version != TRACE_FORMAT_VERSION {
            return Err(TraceError::UnsupportedVersion { found: self.format_version, supported: TRACE_FORMAT_VERSION });
        }
        Ok(())
    }
}

// ----- binary encoding ----------------------------------------------------------------------

/// Where a [`BinaryWriter`] puts its bytes.
pub trait ByteSink {
    fn put(&mut self, bytes: &[u8]);
}

impl<T: ByteSink + ?Sized> ByteSink for &mut T {
    fn put(&mut self, bytes: &[u8]) {
        (**self).put(bytes);
    }
}

impl ByteSink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Writes a binary trace as the run goes: memory does not grow with the number of events. It is
/// an [`EventSink`], so a [`crate::Simulation`] can stream into it directly.
pub struct BinaryWriter<S: ByteSink> {
    out: S,
    previous_at: u64,
    scratch: Vec<u8>,
    events: u64,
}

impl<S: ByteSink> BinaryWriter<S> {
    /// Writes the magic, the version and the header.
    pub fn start(mut out: S, header: &TraceHeader) -> Self {
        let mut scratch = Vec::from(&BINARY_MAGIC[..]);
        scratch.push(TRACE_FORMAT_VERSION as u8);
        // Encoding into a Vec cannot fail for these types.
        let body = postcard::to_allocvec(header).unwrap_or_default();
        put_varint(&mut scratch, body.len() as u64);
        scratch.extend_from_slice(&body);
        out.put(&scratch);
        scratch.clear();
        BinaryWriter { out, previous_at: 0, scratch, events: 0 }
    }

    /// Appends one event record.
    pub fn record(&mut self, at: u64, choices: &[u64], digest: u64) {
        debug_assert!(at >= self.previous_at, "events are recorded in time order");
        self.scratch.clear();
        self.scratch.push(EVENT_TAG);
        put_varint(&mut self.scratch, at.saturating_sub(self.previous_at));
        put_varint(&mut self.scratch, choices.len() as u64);
        for c in choices {
            put_varint(&mut self.scratch, *c);
        }
        self.scratch.extend_from_slice(&digest.to_le_bytes());
        self.out.put(&self.scratch);
        self.previous_at = at;
        self.events += 1;
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Writes the outcome and returns the byte sink.
    pub fn finish(mut self, outcome: &TraceOutcome) -> S {
        self.scratch.clear();
        self.scratch.push(OUTCOME_TAG);
        let body = postcard::to_allocvec(outcome).unwrap_or_default();
        put_varint(&mut self.scratch, body.len() as u64);
        self.scratch.extend_from_slice(&body);
        self.out.put(&self.scratch);
        self.out
    }

    /// The byte sink (for flushing or error checks while writing).
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.out
    }
}

impl<S: ByteSink> EventSink for BinaryWriter<S> {
    fn event(&mut self, event: &EventSummary<'_>) {
        self.record(event.at, event.choices, event.digest);
    }
}

/// One event record as decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedEvent {
    pub at: u64,
    pub choices: Vec<u64>,
    pub digest: u64,
}

/// Reads a binary trace record by record.
#[derive(Clone)]
pub struct BinaryReader<'b> {
    rest: &'b [u8],
    previous_at: u64,
    done: bool,
}

impl<'b> BinaryReader<'b> {
    /// Checks the magic and the version.
    pub fn open(bytes: &'b [u8]) -> Result<Self, TraceError> {
        if !bytes.starts_with(&BINARY_MAGIC[..bytes.len().min(BINARY_MAGIC.len())]) {
            return Err(TraceError::NotATrace);
        }
        if bytes.len() < BINARY_MAGIC.len() + 1 {
            return Err(TraceError::Truncated);
        }
        let version = u32::from(bytes[BINARY_MAGIC.len()]);
        if version != TRACE_FORMAT_VERSION {
            return Err(TraceError::UnsupportedVersion { found: version, supported: TRACE_FORMAT_VERSION });
        }
        Ok(BinaryReader { rest: &bytes[BINARY_MAGIC.len() + 1..], previous_at: 0, done: false })
    }

    fn byte(&mut self) -> Result<u8, TraceError> {
        let (&b, rest) = self.rest.split_first().ok_or_else(|| corrupt("the trace ends early"))?;
        self.rest = rest;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, TraceError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                if shift == 63 && b > 1 {
                    break;
                }
                return Ok(value);
            }
        }
        Err(corrupt("a number is longer than 64 bits"))
    }

    fn framed(&mut self) -> Result<&'b [u8], TraceError> {
        let len = self.varint()?;
        if len > self.rest.len() as u64 {
            return Err(corrupt("a section is longer than the rest of the file"));
        }
        let (body, rest) = self.rest.split_at(len as usize);
        self.rest = rest;
        Ok(body)
    }

    /// The header (call once, first).
    pub fn header(&mut self) -> Result<TraceHeader, TraceError> {
        let body = self.framed()?;
        let mut decoder = postcard::Deserializer::from_bytes(body);
        let header: TraceHeader = crate::depth_limit::deserialize_bounded(&mut decoder, MAX_NESTING).map_err(corrupt)?;
        if !decoder.finalize().map_err(corrupt)?.is_empty() {
            return Err(corrupt("the header has extra bytes"));
        }
        Ok(header)
    }

    /// The next event record, or `None` when the outcome follows.
    pub fn next_event(&mut self) -> Result<Option<DecodedEvent>, TraceError> {
        if self.done {
            return Ok(None);
        }
        match self.byte()? {
            EVENT_TAG => {}
            OUTCOME_TAG => {
                self.done = true;
                return Ok(None);
            }
            other => return Err(corrupt(alloc::format!("unknown record tag {other:#04x}"))),
        }
        let at = self.previous_at.checked_add(self.varint()?).ok_or_else(|| corrupt("virtual time overflows"))?;
        let n = self.varint()?;
        if n > self.rest.len() as u64 {
            return Err(corrupt("an event claims more choices than the file holds"));
        }
        let choices = (0..n).map(|_| self.varint()).collect::<Result<Vec<_>, _>>()?;
        let digest = self.rest.get(..8).ok_or_else(|| corrupt("the trace ends inside an event"))?;
        let digest = u64::from_le_bytes(digest.try_into().map_err(corrupt)?);
        self.rest = &self.rest[8..];
        self.previous_at = at;
        Ok(Some(DecodedEvent { at, choices, digest }))
    }

    /// The outcome (after the last event); the input must end there.
    pub fn outcome(&mut self) -> Result<TraceOutcome, TraceError> {
        while self.next_event()?.is_some() {}
        let body = self.framed()?;
        let outcome = postcard::from_bytes(body).map_err(corrupt)?;
        if !self.rest.is_empty() {
            return Err(TraceError::TrailingBytes(self.rest.len()));
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut r = BinaryReader { rest: &out, previous_at: 0, done: false };
            assert_eq!(r.varint(), Ok(v));
            assert!(r.rest.is_empty());
        }
    }

    #[test]
    fn an_overlong_varint_is_corrupt_not_a_panic() {
        let bytes = [0xffu8; 11];
        let mut r = BinaryReader { rest: &bytes, previous_at: 0, done: false };
        assert!(matches!(r.varint(), Err(TraceError::Corrupt(_))));
    }
}
