//! The readable text encoding of a trace: RON with the scenario pretty-printed and one event per
//! line (`index`, virtual time `at` in ns, the `choices` the event drew, the `digest` after it in
//! hex, and the `what`/`effects` descriptions). A person can read it, edit it (a choice, a time, a
//! digest, the scenario) and replay it; the replay reports exactly where the edited run departs
//! from the recorded one. Hashes are 16 hex digits, as everywhere else the tools print them.
//!
//! Text traces are written as a stream (header, then each event as it happens, then the outcome),
//! so recording a long run in this form needs no memory for the events either.

use model::report::{EventRecord, StopReason};
use model::trace::{Trace, TraceOutcome, TRACE_FORMAT_VERSION};
use model::{EventSink, EventSummary, Scenario};
use serde::{Deserialize, Serialize};

/// A 64-bit hash written as 16 hex digits (JSON and RON readers hold it exactly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hex(pub u64);

impl Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:016x}", self.0))
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        u64::from_str_radix(&s, 16)
            .ok()
            .filter(|_| !s.is_empty() && s.len() <= 16)
            .map(Hex)
            .ok_or_else(|| serde::de::Error::custom(format!("expected a hash of 1 to 16 hex digits, found {s:?}")))
    }
}

/// One event line.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TextEvent {
    index: u64,
    at: u64,
    choices: Vec<u64>,
    digest: Hex,
    #[serde(default)]
    what: String,
    #[serde(default)]
    effects: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TextOutcome {
    events: u64,
    trace_hash: Hex,
    stop: StopReason,
    violation: Option<(String, u64)>,
}

/// The whole text trace, as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextTrace {
    format_version: u32,
    model_version: String,
    seed: u64,
    scenario: Scenario,
    scenario_digest: Hex,
    events: Vec<TextEvent>,
    outcome: TextOutcome,
}

const BANNER: &str = "// PandaGen trace (text encoding). Edit freely; `replay` reports the first divergence.\n";

fn line<T: Serialize>(value: &T) -> String {
    let config = ron::ser::PrettyConfig::new().struct_names(false).compact_arrays(true).compact_structs(true).compact_maps(true);
    ron::ser::to_string_pretty(value, config).unwrap_or_default()
}

/// The text before the first event.
fn head(format_version: u32, model_version: &str, seed: u64, scenario: &Scenario, digest: u64) -> String {
    let config = ron::ser::PrettyConfig::new().struct_names(false);
    let scenario_text = ron::ser::to_string_pretty(scenario, config).unwrap_or_default().replace('\n', "\n    ");
    format!("{BANNER}(\n    format_version: {format_version},\n    model_version: {model_version:?},\n    seed: {seed},\n    scenario: {scenario_text},\n    scenario_digest: \"{digest:016x}\",\n    events: [\n")
}

fn event_line(index: u64, at: u64, choices: &[u64], digest: u64, what: &str, effects: &str) -> String {
    let event = TextEvent { index, at, choices: choices.to_vec(), digest: Hex(digest), what: what.into(), effects: effects.into() };
    format!("        {},\n", line(&event))
}

/// The text after the last event.
fn tail(outcome: &TraceOutcome) -> String {
    let outcome = TextOutcome { events: outcome.events, trace_hash: Hex(outcome.trace_hash), stop: outcome.stop, violation: outcome.violation.clone() };
    format!("    ],\n    outcome: {},\n)\n", line(&outcome))
}

/// Encodes a trace as text.
pub fn to_text(trace: &Trace) -> String {
    let mut out = head(trace.format_version, &trace.model_version, trace.seed, &trace.scenario, trace.scenario_digest);
    for e in &trace.events {
        out.push_str(&event_line(e.index, e.at, &e.choices, e.digest, &e.what, &e.effects));
    }
    out.push_str(&tail(&trace.outcome));
    out
}

/// Writes a text trace as the run goes (an [`EventSink`]); `W` receives the text in pieces.
pub struct TextWriter<W: FnMut(&str)> {
    out: W,
}

impl<W: FnMut(&str)> TextWriter<W> {
    /// Writes everything before the first event.
    pub fn start(mut out: W, model_version: &str, seed: u64, scenario: &Scenario) -> Self {
        out(&head(TRACE_FORMAT_VERSION, model_version, seed, scenario, model::trace::scenario_digest(scenario)));
        TextWriter { out }
    }

    /// Writes the outcome and the closing brackets.
    pub fn finish(mut self, outcome: &TraceOutcome) -> W {
        (self.out)(&tail(outcome));
        self.out
    }
}

impl<W: FnMut(&str)> EventSink for TextWriter<W> {
    fn wants_descriptions(&self) -> bool {
        true
    }

    fn event(&mut self, e: &EventSummary<'_>) {
        (self.out)(&event_line(e.index, e.at, e.choices, e.digest, e.what.unwrap_or(""), e.effects.unwrap_or("")));
    }
}

/// A RON decoding error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The RON options traces and scenarios are read with: `implicit_some`, so optional fields can
/// be written without `Some(...)`.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// Decodes a RON trace.
pub fn from_text(text: &str) -> Result<Trace, TextError> {
    let t: TextTrace = ron_options().from_str(text).map_err(|e| TextError { line: e.span.start.line, column: e.span.start.col, message: e.code.to_string() })?;
    let events = t
        .events
        .into_iter()
        .map(|e| EventRecord { index: e.index, at: e.at, choices: e.choices, digest: e.digest.0, what: e.what, effects: e.effects })
        .collect();
    let outcome = TraceOutcome { events: t.outcome.events, trace_hash: t.outcome.trace_hash.0, stop: t.outcome.stop, violation: t.outcome.violation };
    Ok(Trace { format_version: t.format_version, model_version: t.model_version, seed: t.seed, scenario: t.scenario, scenario_digest: t.scenario_digest.0, events, outcome })
}
