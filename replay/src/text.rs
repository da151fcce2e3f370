//! The readable text encoding of a trace: RON with the scenario pretty-printed and one event per
//! line (`index`, virtual time `at` in ns, the `choices` the event drew, the `digest` after it in
//! hex, and the `what`/`effects` descriptions). A person can read it, edit it (a choice, a time, a
//! digest, the scenario) and replay it; the replay reports exactly where the edited run departs
//! from the recorded one. Hashes are 16 hex digits, as everywhere else the tools print them.
//!
//! Text traces are written as a stream (header, then each event as it happens, then the outcome),
//! so recording a long run in this form needs no memory for the events either.

use model::report::{EventRecord, StopReason};
use model::scenario::{nesting_limit, MAX_SUPERVISOR_DEPTH};
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
    ron_options().to_string_pretty(value, config).unwrap_or_default()
}

/// The text before the first event.
fn head(format_version: u32, model_version: &str, seed: u64, scenario: &Scenario, digest: u64) -> String {
    let config = ron::ser::PrettyConfig::new().struct_names(false);
    // Written with the options it is read with, so a scenario at the nesting limit reads back.
    let scenario_text = ron_options().to_string_pretty(scenario, config).unwrap_or_default().replace('\n', "\n    ");
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

/// RON nesting levels one supervisor level takes (its task spec, the `behaviour` field, the
/// `Supervisor` variant, the `children` field and list; the test below measures it).
const RON_LEVELS_PER_SUPERVISOR: usize = 8;

/// RON nesting levels above the scenario's tasks in a trace (trace, scenario, `tasks` list) and
/// below the deepest task (an `Idle` behaviour needs none, a `Server`'s version one more).
const RON_LEVELS_OUTSIDE_SUPERVISORS: usize = 8;

/// How deeply RON values may nest: room for [`MAX_SUPERVISOR_DEPTH`] supervisor levels and eight
/// more, so a scenario a few levels too deep still parses and validation says which task is too
/// deep; anything deeper gets the same message without a task name (see [`describe`]).
pub const RON_RECURSION_LIMIT: usize = (MAX_SUPERVISOR_DEPTH + 8) * RON_LEVELS_PER_SUPERVISOR + RON_LEVELS_OUTSIDE_SUPERVISORS;

/// The RON options traces and scenarios are read with: `implicit_some`, so optional fields can
/// be written without `Some(...)`, and the nesting limit [`RON_RECURSION_LIMIT`].
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME).with_recursion_limit(RON_RECURSION_LIMIT)
}

/// A RON error in the harness' own words where RON's would name its internals.
pub fn describe(error: &ron::Error) -> String {
    match error {
        ron::Error::ExceededRecursionLimit => format!("values nest too deeply: {}", nesting_limit()),
        ron::Error::NoSuchStructField { found, expected, .. } if is_lite_section(found, expected) => format!("`{found}`: {}", model::scenario::LITE_ONLY),
        other => other.to_string(),
    }
}

/// Whether an unknown field is a lite section met by a canonical build (the scenario's
/// `lite_network`, the expectations' `lite`).
fn is_lite_section(found: &str, expected: &[&str]) -> bool {
    model::scenario::NET_PATH == "net-canonical" && ((found == "lite_network" && expected.contains(&"network")) || (found == "lite" && expected.contains(&"interactive")))
}

/// The text without a leading UTF-8 byte-order mark (some editors write one).
pub fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Decodes a RON trace (a leading byte-order mark is ignored).
pub fn from_text(text: &str) -> Result<Trace, TextError> {
    let t: TextTrace = ron_options()
        .from_str(without_bom(text))
        .map_err(|e| TextError { line: e.span.start.line, column: e.span.start.col, message: describe(&e.code) })?;
    let events = t
        .events
        .into_iter()
        .map(|e| EventRecord { index: e.index, at: e.at, choices: e.choices, digest: e.digest.0, what: e.what, effects: e.effects })
        .collect();
    let outcome = TraceOutcome { events: t.outcome.events, trace_hash: t.outcome.trace_hash.0, stop: t.outcome.stop, violation: t.outcome.violation };
    Ok(Trace { format_version: t.format_version, model_version: t.model_version, seed: t.seed, scenario: t.scenario, scenario_digest: t.scenario_digest.0, events, outcome })
}
