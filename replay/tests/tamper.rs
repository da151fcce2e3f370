//! Trace tamper test: every field of a recorded trace, changed one at a time, gives a divergence
//! or a clear error, never `CONFIRMED` — except the fields documented as informational (the
//! `seed`, which replay does not use, and the scenario's `name`, `description` and `seed`, which
//! do not take part in the run).

use model::bugs::PlantedBug;
use model::report::StopReason;
use model::trace::Trace;
use replay::{record, replay, text};
use std::path::Path;

fn trace() -> Trace {
    let mut s = scenarios::load_scenario(Path::new("../scenarios/default.ron")).expect("default scenario loads");
    if let Some(w) = &mut s.workload {
        w.ops = 60;
    }
    s.limits.max_events = 200;
    record(&s, 3).0
}

/// What replaying a (possibly tampered) trace says.
#[derive(Debug, PartialEq)]
enum Verdict {
    Confirmed,
    NotConfirmed,
    Error,
}

fn verdict_of(trace: &Trace) -> Verdict {
    match replay(trace, 2) {
        Ok(r) if r.confirmed() => Verdict::Confirmed,
        Ok(_) => Verdict::NotConfirmed,
        Err(_) => Verdict::Error,
    }
}

/// A named change to a trace.
type Tampering = (&'static str, Box<dyn Fn(&mut Trace)>);

/// Every tampering of an event or outcome field, and of the trace's own fields.
fn tamperings() -> Vec<Tampering> {
    let mid = 100;
    vec![
        ("model_version", Box::new(|t: &mut Trace| t.model_version = "9.9.9".into())),
        ("format_version", Box::new(|t: &mut Trace| t.format_version += 1)),
        ("event index", Box::new(move |t: &mut Trace| t.events[mid].index += 1)),
        ("event at", Box::new(move |t: &mut Trace| t.events[mid].at += 1)),
        ("event digest", Box::new(move |t: &mut Trace| t.events[mid].digest ^= 1 << 40)),
        ("event what", Box::new(move |t: &mut Trace| t.events[mid].what.push('!'))),
        ("event effects", Box::new(move |t: &mut Trace| t.events[mid].effects.push('!'))),
        ("event choice value", Box::new(|t: &mut Trace| first_drawing(t).choices[0] ^= 1)),
        ("event choice out of range", Box::new(|t: &mut Trace| first_drawing(t).choices[0] += 1_000_000)),
        ("extra event choice", Box::new(|t: &mut Trace| first_drawing(t).choices.push(0))),
        ("missing event choice", Box::new(|t: &mut Trace| {
            first_drawing(t).choices.pop();
        })),
        ("choice moved to another event", Box::new(move |t: &mut Trace| {
            let c = first_drawing(t).choices.remove(0);
            let i = t.events.iter().position(|e| !e.choices.is_empty()).unwrap_or(0);
            t.events[i.saturating_sub(1)].choices.push(c);
        })),
        ("no events", Box::new(|t: &mut Trace| t.events.clear())),
        ("last event removed", Box::new(|t: &mut Trace| {
            t.events.pop();
        })),
        ("event appended", Box::new(|t: &mut Trace| {
            let mut extra = t.events.last().cloned().expect("events");
            extra.index += 1;
            t.events.push(extra);
        })),
        ("outcome events", Box::new(|t: &mut Trace| t.outcome.events += 1)),
        ("outcome trace_hash", Box::new(|t: &mut Trace| t.outcome.trace_hash ^= 1)),
        ("outcome stop", Box::new(|t: &mut Trace| t.outcome.stop = StopReason::Quiescent)),
        ("outcome violation", Box::new(|t: &mut Trace| t.outcome.violation = Some(("cap.single_owner".into(), 3)))),
        ("scenario scheduling jitter", Box::new(|t: &mut Trace| t.scenario.limits.sched_jitter_ns += 1)),
        ("scenario bug", Box::new(|t: &mut Trace| t.scenario.bugs.push(PlantedBug::ReceiveNewestFirst))),
        ("scenario task", Box::new(|t: &mut Trace| t.scenario.tasks.pop().map(|_| ()).unwrap_or(()))),
    ]
}

fn first_drawing(t: &mut Trace) -> &mut model::report::EventRecord {
    t.events.iter_mut().filter(|e| !e.choices.is_empty()).nth(3).expect("enough events draw")
}

#[test]
fn the_untampered_trace_confirms() {
    assert_eq!(verdict_of(&trace()), Verdict::Confirmed);
}

#[test]
fn every_tampered_field_is_caught() {
    let original = trace();
    for (what, tamper) in tamperings() {
        let mut t = original.clone();
        tamper(&mut t);
        assert_ne!(t, original, "{what}: the tampering changed nothing");
        // In memory, and after a round trip through each encoding (where it survives encoding).
        assert_ne!(verdict_of(&t), Verdict::Confirmed, "{what}: a tampered trace was confirmed");
        if let Ok(decoded) = text::from_text(&text::to_text(&t)) {
            assert_ne!(decoded, original, "{what}: the text encoding lost the tampering");
            assert_ne!(verdict_of(&decoded), Verdict::Confirmed, "{what} (text): a tampered trace was confirmed");
        }
        if let Ok(decoded) = Trace::from_binary(&t.to_binary()) {
            if decoded != original.clone().compact() {
                assert_ne!(verdict_of(&decoded), Verdict::Confirmed, "{what} (binary): a tampered trace was confirmed");
            }
        }
    }
}

#[test]
fn informational_fields_are_the_only_ones_replay_ignores() {
    let original = trace();
    for tamper in [
        (|t: &mut Trace| t.seed ^= 1) as fn(&mut Trace),
        |t| t.scenario.name.push('x'),
        |t| t.scenario.description.push('x'),
        |t| t.scenario.seed ^= 1,
    ] {
        let mut t = original.clone();
        tamper(&mut t);
        assert_eq!(verdict_of(&t), Verdict::Confirmed, "an informational field changed the verdict");
    }
}

#[test]
fn text_traces_reject_unknown_fields() {
    let text = text::to_text(&trace()).replacen("    seed:", "    colour: \"red\",\n    seed:", 1);
    let error = text::from_text(&text).expect_err("an unknown field is an error");
    assert!(error.message.contains("colour"), "{}", error.message);
}

/// Every single-byte change of a binary trace decodes to an error, to a trace that is
/// not confirmed, or only changes an informational field.
#[test]
fn every_byte_of_a_binary_trace_is_checked() {
    let original = trace();
    let bytes = original.to_binary();
    let reference = original.clone().compact();
    for i in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        let Ok(decoded) = Trace::from_binary(&tampered) else { continue };
        let scenario = model::Scenario {
            name: reference.scenario.name.clone(),
            description: reference.scenario.description.clone(),
            seed: reference.scenario.seed,
            ..decoded.scenario.clone()
        };
        let informational_only = Trace { seed: reference.seed, scenario, ..decoded.clone() } == reference;
        if !informational_only {
            assert_ne!(verdict_of(&decoded), Verdict::Confirmed, "byte {i} changed a checked field and the replay confirmed it");
        }
        let streamed = replay::replay_binary(&tampered, 1);
        if let (Ok(r), false) = (&streamed, informational_only) {
            assert!(!r.confirmed(), "byte {i}: the streaming replay confirmed a tampered trace");
        }
    }
}
