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
use model::trace::{BinaryReader, Trace, TraceHeader, TraceOutcome, MODEL_VERSION};
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
    /// `(recorded, current)` scenario digests when the embedded scenario was edited after
    /// recording (in a part that takes part in the run).
    pub scenario_edited: Option<(u64, u64)>,
    #[serde(skip)]
    pub run: RunReport,
}

impl ReplayReport {
    /// Every recorded field matched the re-execution (see the module docs).
    pub fn confirmed(&self) -> bool {
        self.divergence.is_none() && self.model_version_mismatch.is_none() && self.scenario_edited.is_none()
    }
}

/// Where the recorded events come from: a trace in memory, or a binary trace decoded record by
/// record while the replay runs (so replaying a long trace needs no memory per event).
pub trait RecordSource {
    /// The next recorded event, numbered in order, or `None` after the last.
    fn next_record(&mut self) -> Result<Option<EventRecord>, String>;
    /// Whether records carry descriptions to compare.
    fn has_descriptions(&self) -> bool;
}

/// Records of a trace in memory.
pub struct InMemory<'t> {
    events: &'t [EventRecord],
    next: usize,
}

impl RecordSource for InMemory<'_> {
    fn next_record(&mut self) -> Result<Option<EventRecord>, String> {
        let record = self.events.get(self.next).cloned();
        self.next += 1;
        Ok(record)
    }

    fn has_descriptions(&self) -> bool {
        self.events.iter().any(|e| !e.what.is_empty())
    }
}

/// Records decoded from a binary trace as they are needed.
pub struct Streamed<'b> {
    reader: BinaryReader<'b>,
    next: u64,
}

impl RecordSource for Streamed<'_> {
    fn next_record(&mut self) -> Result<Option<EventRecord>, String> {
        let decoded = self.reader.next_event().map_err(|e| e.to_string())?;
        let index = self.next;
        self.next += 1;
        Ok(decoded.map(|d| EventRecord { index, at: d.at, choices: d.choices, digest: d.digest, what: String::new(), effects: String::new() }))
    }

    fn has_descriptions(&self) -> bool {
        false
    }
}

/// Compares replayed events with the recorded ones as they come.
struct Verifier<'s> {
    source: &'s mut dyn RecordSource,
    describe: bool,
    /// The first run-wide choice position of the event being compared.
    choice_position: u64,
    context: usize,
    /// The last `context` recorded and replayed events before a divergence, then the ones after.
    recorded: VecDeque<EventRecord>,
    recent: VecDeque<EventRecord>,
    divergence: Option<(u64, String)>,
    /// Choices drawn up to the end of the diverging event.
    divergence_choice_end: u64,
    error: Option<String>,
    /// Recorded events seen (including the one that diverged).
    seen: u64,
    after: usize,
    compared: u64,
}

impl Verifier<'_> {
    fn compare(rec: Option<&EventRecord>, e: &EventSummary<'_>, choice_position: u64, seen: u64) -> Option<String> {
        let Some(rec) = rec else {
            return Some(format!("the trace ends after {seen} events, but the replay goes on"));
        };
        let mut parts = Vec::new();
        if rec.at != e.at {
            parts.push(format!("virtual time {} ns recorded, {} ns replayed", rec.at, e.at));
        }
        if let Some(choice) = first_choice_difference(&rec.choices, e.choices) {
            parts.push(choice.describe(choice_position));
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

    fn keep(list: &mut VecDeque<EventRecord>, record: EventRecord, context: usize, bounded: bool) {
        list.push_back(record);
        if bounded && list.len() > context {
            list.pop_front();
        }
    }
}

impl EventSink for Verifier<'_> {
    fn wants_descriptions(&self) -> bool {
        self.describe
    }

    fn event(&mut self, e: &EventSummary<'_>) {
        let recorded = match self.source.next_record() {
            Ok(r) => r,
            Err(message) => {
                self.error = Some(message);
                None
            }
        };
        let before = self.divergence.is_none();
        if before {
            match Self::compare(recorded.as_ref(), e, self.choice_position, self.seen) {
                Some(reason) => {
                    self.divergence = Some((e.index, reason));
                    self.divergence_choice_end = self.choice_position + e.choices.len() as u64;
                }
                None => self.compared += 1,
            }
        } else {
            self.after += 1;
        }
        let bounded = self.divergence.is_none();
        if let Some(r) = recorded {
            self.seen += 1;
            Self::keep(&mut self.recorded, r, self.context, bounded);
        }
        self.choice_position += e.choices.len() as u64;
        Self::keep(&mut self.recent, EventRecord::of(e), self.context, bounded);
    }

    fn stop(&self) -> bool {
        self.error.is_some() || (self.divergence.is_some() && self.after >= self.context)
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

/// Replays `trace` (in memory), with `context` events of context on each side of a divergence.
pub fn replay(trace: &Trace, context: usize) -> Result<ReplayReport, String> {
    trace.check_version().map_err(|e| e.to_string())?;
    if let Some((i, e)) = trace.events.iter().enumerate().find(|(i, e)| e.index != *i as u64) {
        return Err(format!("event record {i} is numbered {}: records must be numbered 0, 1, 2, ... in order", e.index));
    }
    let mut source = InMemory { events: &trace.events, next: 0 };
    verify(&trace.header(), trace.choices(), &mut source, context, |_| Ok(trace.outcome.clone()))
}

/// Replays a binary trace straight from its bytes: the records are decoded as the replay reaches
/// them, so memory holds the file and the choice list, never a record per event.
pub fn replay_binary(bytes: &[u8], context: usize) -> Result<ReplayReport, String> {
    let mut reader = BinaryReader::open(bytes).map_err(|e| e.to_string())?;
    let header = reader.header().map_err(|e| e.to_string())?;
    let records_start = reader.clone();
    let mut choices = Vec::new();
    while let Some(record) = reader.next_event().map_err(|e| e.to_string())? {
        choices.extend_from_slice(&record.choices);
    }
    let outcome = reader.outcome().map_err(|e| e.to_string())?;
    let mut source = Streamed { reader: records_start, next: 0 };
    verify(&header, choices, &mut source, context, |_| Ok(outcome.clone()))
}

/// Runs the replay against `source` and compares everything recorded.
fn verify(
    header: &TraceHeader,
    choices: Vec<u64>,
    source: &mut dyn RecordSource,
    context: usize,
    outcome: impl FnOnce(&mut dyn RecordSource) -> Result<TraceOutcome, String>,
) -> Result<ReplayReport, String> {
    header.scenario.validate().map_err(|e| format!("the trace's scenario is not valid: {e}"))?;
    let config = RunConfig { seed: header.seed, replay_choices: Some(choices.clone()), shadow_seed: true, ..RunConfig::default() };
    let describe = source.has_descriptions();
    let mut v = Verifier {
        source,
        describe,
        choice_position: 0,
        context,
        recorded: VecDeque::new(),
        recent: VecDeque::new(),
        divergence: None,
        divergence_choice_end: u64::MAX,
        error: None,
        seen: 0,
        after: 0,
        compared: 0,
    };
    let run = Simulation::new(&header.scenario, &config).with_sink(&mut v).run();
    if let Some(e) = v.error.take() {
        return Err(e);
    }
    if v.divergence.is_none() {
        while v.source.next_record()?.is_some() {
            v.seen += 1;
        }
    }
    let recorded_outcome = outcome(v.source)?;
    let replayed = TraceOutcome::of(&run);
    let mut divergence = divergence(&v, &recorded_outcome, &replayed, context);
    if let Some(d) = &mut divergence {
        explain_choices(d, v.divergence_choice_end, header.seed, &run);
        if !describe {
            describe_context(d, header, &choices);
        }
    }
    let model_version_mismatch = (header.model_version != MODEL_VERSION).then(|| (header.model_version.clone(), String::from(MODEL_VERSION)));
    let current = model::trace::scenario_digest(&header.scenario);
    let scenario_edited = (current != header.scenario_digest).then_some((header.scenario_digest, current));
    Ok(ReplayReport {
        scenario: header.scenario.name.clone(),
        recorded: recorded_outcome,
        replayed,
        events_compared: v.compared,
        divergence,
        model_version_mismatch,
        scenario_edited,
        run,
    })
}

/// Adds what the replayed choice list says about a divergence: a recorded value out of range for
/// its draw (an edit, since no run records one), or, for a trace recorded from its seed, the first
/// value that seed would not have given, when it lies before the end of the diverging event.
fn explain_choices(d: &mut Divergence, choice_end: u64, seed: u64, run: &RunReport) {
    let check = run.choice_check;
    if let Some(m) = check.out_of_range {
        d.reason.push_str(&format!("; choice #{} of the run is {} but its draw was below {}: the trace was edited", m.position, m.recorded, m.bound));
    } else if let Some(s) = check.seed_disagreement.filter(|s| s.position > 0 && s.position < choice_end) {
        d.reason.push_str(&format!("; choice #{} of the run is {} in the trace, but seed {seed} gives {} there", s.position, s.recorded, s.seeded));
    }
}

/// Fills the descriptions of the context windows by re-running the start of the replay with
/// descriptions on (binary traces carry none; the replay skipped formatting them).
fn describe_context(d: &mut Divergence, header: &TraceHeader, choices: &[u64]) {
    let mut scenario = header.scenario.clone();
    let last = d.actual_context.iter().map(|e| e.index).max().unwrap_or(d.index);
    scenario.limits.max_events = last.saturating_add(1);
    let config = RunConfig { seed: header.seed, replay_choices: Some(choices.to_vec()), record_events: true, ..RunConfig::default() };
    let described = model::run(&scenario, &config).event_log.unwrap_or_default();
    let fill = |e: &mut EventRecord| {
        if let Some(r) = described.get(e.index as usize) {
            e.what.clone_from(&r.what);
            e.effects.clone_from(&r.effects);
        }
    };
    d.actual_context.iter_mut().for_each(fill);
    d.actual.iter_mut().for_each(fill);
    // Recorded events before the divergence are the replayed ones; the diverging one is unknown.
    for e in d.expected_context.iter_mut().filter(|e| e.index < d.index) {
        fill(e);
    }
}

/// The divergence found while running, or one found at the end (fewer events, another outcome).
fn divergence(v: &Verifier<'_>, recorded: &TraceOutcome, replayed: &TraceOutcome, context: usize) -> Option<Divergence> {
    let expected: Vec<EventRecord> = v.recorded.iter().cloned().collect();
    let actual: Vec<EventRecord> = v.recent.iter().cloned().collect();
    if let Some((index, reason)) = &v.divergence {
        return Some(divergence_at(*index, reason.clone(), &expected, &actual, context));
    }
    let ran = replayed.events;
    if v.seen != ran {
        let reason = format!("the trace has {} events, the replay {}", v.seen, ran);
        return Some(divergence_at(ran, reason, &expected, &actual, context));
    }
    if recorded != replayed {
        let reason = format!("same events but a different outcome: recorded {recorded:?}, replayed {replayed:?}");
        return Some(divergence_at(ran.saturating_sub(1), reason, &expected, &actual, context));
    }
    None
}

fn divergence_at(index: u64, reason: String, expected: &[EventRecord], actual: &[EventRecord], context: usize) -> Divergence {
    let window = |events: &[EventRecord]| -> Vec<EventRecord> {
        events.iter().filter(|e| e.index + context as u64 >= index && e.index <= index + context as u64).cloned().collect()
    };
    Divergence {
        index,
        reason,
        expected: expected.iter().find(|e| e.index == index).cloned(),
        actual: actual.iter().find(|e| e.index == index).cloned(),
        expected_context: window(expected),
        actual_context: window(actual),
    }
}
