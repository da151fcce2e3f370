//! Bit-for-bit replay: re-execute a trace's scenario with its recorded choices and compare every
//! event digest, then the outcome (verdict, event count, stop reason, trace hash).
//!
//! The first event whose digest differs is the divergence; the report shows it as recorded and
//! as replayed, with a window of events around it from both runs. A recorded violation that the
//! replay reproduces exactly is a confirmation, not a failure.

use model::report::EventRecord;
use model::trace::{Trace, TraceOutcome};
use model::{RunConfig, RunReport};
use serde::Serialize;

/// Where and how a replay departed from its trace.
#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    /// Index of the first differing event.
    pub index: u64,
    /// What differs, in words.
    pub reason: String,
    pub expected: Option<EventRecord>,
    pub actual: Option<EventRecord>,
    /// Recorded events around the divergence.
    pub expected_context: Vec<EventRecord>,
    /// Replayed events around the divergence.
    pub actual_context: Vec<EventRecord>,
}

/// The result of replaying a trace.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayReport {
    pub scenario: String,
    pub recorded: TraceOutcome,
    pub replayed: TraceOutcome,
    /// Events whose digests were compared.
    pub events_compared: u64,
    pub divergence: Option<Divergence>,
    #[serde(skip)]
    pub run: RunReport,
}

impl ReplayReport {
    /// Same events, same verdict, same hash.
    pub fn confirmed(&self) -> bool {
        self.divergence.is_none()
    }
}

/// Replays `trace`, with `context` events of context on each side of a divergence.
pub fn replay(trace: &Trace, context: usize) -> Result<ReplayReport, String> {
    trace.scenario.validate().map_err(|e| format!("the trace's scenario is not valid: {e}"))?;
    let config = RunConfig {
        seed: trace.seed,
        replay_choices: Some(trace.choices.clone()),
        record_digests: true,
        record_events: true,
        ..RunConfig::default()
    };
    let run = model::run(&trace.scenario, &config);
    let replayed = TraceOutcome::of(&run);
    let actual = run.event_log.clone().unwrap_or_default();
    let (divergence, compared) = compare(trace, &actual, &replayed, context);
    Ok(ReplayReport { scenario: trace.scenario.name.clone(), recorded: trace.outcome.clone(), replayed, events_compared: compared, divergence, run })
}

fn compare(trace: &Trace, actual: &[EventRecord], replayed: &TraceOutcome, context: usize) -> (Option<Divergence>, u64) {
    let expected = &trace.events;
    let common = expected.len().min(actual.len());
    if let Some(i) = (0..common).find(|&i| expected[i].digest != actual[i].digest) {
        let reason = describe_difference(&expected[i], &actual[i]);
        return (Some(divergence_at(i, reason, expected, actual, context)), i as u64);
    }
    if !expected.is_empty() && expected.len() != actual.len() {
        let reason = format!("the recorded run has {} events, the replay {}", expected.len(), actual.len());
        return (Some(divergence_at(common, reason, expected, actual, context)), common as u64);
    }
    if &trace.outcome != replayed {
        let reason = format!("same events but a different outcome: recorded {:?}, replayed {:?}", trace.outcome, replayed);
        let at = replayed.events.min(trace.outcome.events) as usize;
        return (Some(divergence_at(at.saturating_sub(1), reason, expected, actual, context)), common as u64);
    }
    (None, common as u64)
}

fn divergence_at(i: usize, reason: String, expected: &[EventRecord], actual: &[EventRecord], context: usize) -> Divergence {
    let window = |events: &[EventRecord]| {
        let start = i.saturating_sub(context).min(events.len());
        let end = (i + context + 1).min(events.len());
        events[start..end].to_vec()
    };
    Divergence {
        index: i as u64,
        reason,
        expected: expected.get(i).cloned(),
        actual: actual.get(i).cloned(),
        expected_context: window(expected),
        actual_context: window(actual),
    }
}

/// Says which parts of two records of the same event index differ.
fn describe_difference(expected: &EventRecord, actual: &EventRecord) -> String {
    let mut parts = Vec::new();
    if expected.at != actual.at {
        parts.push(format!("virtual time {} ns recorded, {} ns replayed", expected.at, actual.at));
    }
    if !expected.what.is_empty() && expected.what != actual.what {
        parts.push(String::from("a different event"));
    }
    if !expected.what.is_empty() && expected.effects != actual.effects {
        parts.push(String::from("different effects"));
    }
    parts.push(format!("digest {:016x} recorded, {:016x} replayed", expected.digest, actual.digest));
    format!("event {} differs: {}", expected.index, parts.join("; "))
}
