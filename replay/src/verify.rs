//! Bit-for-bit replay: re-execute a trace's scenario with its recorded choices and compare every
//! recorded field with the re-execution, event by event, as the run goes.
//!
//! What `CONFIRMED` means: the trace was recorded by this model version; the replay has exactly
//! as many events; for every event the virtual time, the choices it drew (their values and how
//! many), the digest (the trace hash after it) and, where the trace holds them, its description
//! and effects are the same; and the outcome (event count, stop reason, first violation, trace
//! hash) is the same. Nothing in a trace is informational except the `seed` (the choices are what
//! replay uses) and the text encoding's comments.
//!
//! The first event that differs is the divergence; the report shows it as recorded and as
//! replayed, with a window of events around it from both runs, and says which fields differ
//! (for choices: which one, at which position in the run, and the two values). The replay stops
//! a few events after the divergence, so memory does not grow with the trace.

use model::report::EventRecord;
use model::trace::{Trace, TraceOutcome, MODEL_VERSION};
use model::{EventSink, EventSummary, RunConfig, RunReport, Simulation};
use serde::Serialize;
use std::collections::VecDeque;

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
    /// Events compared and found equal.
    pub events_compared: u64,
    pub divergence: Option<Divergence>,
    /// `(recorded by, replayed by)` when the model versions differ.
    pub model_version_mismatch: Option<(String, String)>,
    #[serde(skip)]
    pub run: RunReport,
}

impl ReplayReport {
    /// Every recorded field matched the re-execution (see the module docs).
    pub fn confirmed(&self) -> bool {
        self.divergence.is_none() && self.model_version_mismatch.is_none()
    }
}

/// Compares replayed events with the recorded ones as they come.
struct Verifier<'t> {
    expected: &'t [EventRecord],
    /// The first run-wide choice position of the event being compared.
    choice_position: u64,
    context: usize,
    /// The last `context` replayed events (before a divergence), then the events after it.
    recent: VecDeque<EventRecord>,
    divergence: Option<(u64, String)>,
    after: usize,
    compared: u64,
}

impl Verifier<'_> {
    fn compare(&mut self, e: &EventSummary<'_>) -> Option<String> {
        let Some(rec) = self.expected.get(e.index as usize) else {
            return Some(format!("the trace ends after {} events, but the replay goes on", self.expected.len()));
        };
        let mut parts = Vec::new();
        if rec.at != e.at {
            parts.push(format!("virtual time {} ns recorded, {} ns replayed", rec.at, e.at));
        }
        if let Some(choice) = first_choice_difference(&rec.choices, e.choices) {
            parts.push(choice.describe(self.choice_position));
        }
        if !rec.what.is_empty() && Some(rec.what.as_str()) != e.what {
            parts.push(String::from("a different event"));
        }
        if !rec.effects.is_empty() && Some(rec.effects.as_str()) != e.effects {
            parts.push(String::from("different effects"));
        }
        if rec.digest != e.digest {
            parts.push(format!("digest {:016x} recorded, {:016x} replayed", rec.digest, e.digest));
        }
        (!parts.is_empty()).then(|| format!("event {} differs: {}", e.index, parts.join("; ")))
    }
}

impl EventSink for Verifier<'_> {
    fn wants_descriptions(&self) -> bool {
        true
    }

    fn event(&mut self, e: &EventSummary<'_>) {
        let record = EventRecord::of(e);
        if self.divergence.is_some() {
            self.after += 1;
            self.recent.push_back(record);
            return;
        }
        match self.compare(e) {
            Some(reason) => self.divergence = Some((e.index, reason)),
            None => self.compared += 1,
        }
        self.choice_position += e.choices.len() as u64;
        self.recent.push_back(record);
        if self.divergence.is_none() && self.recent.len() > self.context {
            self.recent.pop_front();
        }
    }

    fn stop(&self) -> bool {
        self.divergence.is_some() && self.after >= self.context
    }
}

/// The first choice of an event that differs.
struct ChoiceDifference {
    /// Position within the event.
    within: usize,
    recorded: Option<u64>,
    replayed: Option<u64>,
}

impl ChoiceDifference {
    fn describe(&self, event_start: u64) -> String {
        let show = |v: Option<u64>| v.map_or(String::from("nothing"), |v| v.to_string());
        format!(
            "choice {} of the event (choice #{} of the run): {} recorded, {} replayed",
            self.within,
            event_start + self.within as u64,
            show(self.recorded),
            show(self.replayed)
        )
    }
}

fn first_choice_difference(recorded: &[u64], replayed: &[u64]) -> Option<ChoiceDifference> {
    let n = recorded.len().max(replayed.len());
    (0..n)
        .find(|&i| recorded.get(i) != replayed.get(i))
        .map(|within| ChoiceDifference { within, recorded: recorded.get(within).copied(), replayed: replayed.get(within).copied() })
}

/// Replays `trace`, with `context` events of context on each side of a divergence.
pub fn replay(trace: &Trace, context: usize) -> Result<ReplayReport, String> {
    trace.scenario.validate().map_err(|e| format!("the trace's scenario is not valid: {e}"))?;
    if let Some((i, e)) = trace.events.iter().enumerate().find(|(i, e)| e.index != *i as u64) {
        return Err(format!("event record {i} is numbered {}: records must be numbered 0, 1, 2, ... in order", e.index));
    }
    let config = RunConfig { seed: trace.seed, replay_choices: Some(trace.choices()), shadow_seed: true, ..RunConfig::default() };
    let mut verifier =
        Verifier { expected: &trace.events, choice_position: 0, context, recent: VecDeque::new(), divergence: None, after: 0, compared: 0 };
    let run = Simulation::new(&trace.scenario, &config).with_sink(&mut verifier).run();
    let replayed = TraceOutcome::of(&run);
    let mut divergence = divergence(trace, &verifier, &replayed, context);
    if let Some(d) = &mut divergence {
        explain_choices(d, trace, &run);
    }
    let model_version_mismatch = (trace.model_version != MODEL_VERSION).then(|| (trace.model_version.clone(), String::from(MODEL_VERSION)));
    let compared = verifier.compared;
    Ok(ReplayReport { scenario: trace.scenario.name.clone(), recorded: trace.outcome.clone(), replayed, events_compared: compared, divergence, model_version_mismatch, run })
}

/// Adds what the replayed choice list says about a divergence: a recorded value out of range for
/// its draw (an edit, since no run records one), or, for a trace recorded from its seed, the first
/// value that seed would not have given, when it lies in or before the diverging event.
fn explain_choices(d: &mut Divergence, trace: &Trace, run: &RunReport) {
    let event_end: u64 = trace.events.iter().take(d.index as usize + 1).map(|e| e.choices.len() as u64).sum();
    let check = run.choice_check;
    if let Some(m) = check.out_of_range {
        d.reason.push_str(&format!("; choice #{} of the run is {} but its draw was below {}: the trace was edited", m.position, m.recorded, m.bound));
    } else if let Some(s) = check.seed_disagreement.filter(|s| s.position > 0 && s.position < event_end) {
        d.reason.push_str(&format!("; choice #{} of the run is {} in the trace, but seed {} gives {} there", s.position, s.recorded, trace.seed, s.seeded));
    }
}

/// The divergence found while running, or one found at the end (fewer events, another outcome).
fn divergence(trace: &Trace, v: &Verifier<'_>, replayed: &TraceOutcome, context: usize) -> Option<Divergence> {
    let actual: Vec<EventRecord> = v.recent.iter().cloned().collect();
    if let Some((index, reason)) = &v.divergence {
        return Some(divergence_at(*index, reason.clone(), &trace.events, &actual, context));
    }
    let ran = replayed.events;
    if (trace.events.len() as u64) != ran {
        let reason = format!("the trace has {} events, the replay {}", trace.events.len(), ran);
        return Some(divergence_at(ran, reason, &trace.events, &actual, context));
    }
    if &trace.outcome != replayed {
        let reason = format!("same events but a different outcome: recorded {:?}, replayed {:?}", trace.outcome, replayed);
        return Some(divergence_at(ran.saturating_sub(1), reason, &trace.events, &actual, context));
    }
    None
}

fn divergence_at(index: u64, reason: String, expected: &[EventRecord], actual: &[EventRecord], context: usize) -> Divergence {
    let i = index as usize;
    let start = i.saturating_sub(context);
    let expected_context = expected.iter().skip(start).take(2 * context + 1).cloned().collect();
    let actual_context = actual.iter().filter(|e| (e.index as usize) >= start && (e.index as usize) <= i + context).cloned().collect();
    Divergence {
        index,
        reason,
        expected: expected.get(i).cloned(),
        actual: actual.iter().find(|e| e.index == index).cloned(),
        expected_context,
        actual_context,
    }
}
