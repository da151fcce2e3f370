//! Traces: both encodings round-trip, a replay confirms an unedited trace bit for bit (including a
//! recorded violation), an edited trace diverges at exactly the event the edit touches, and
//! corrupted, truncated or wrong-version input is an error, never a panic.

use model::bugs::PlantedBug;
use model::trace::{Trace, TraceError, TRACE_FORMAT_VERSION};
use model::Scenario;
use replay::{files, record, replay, text};
use std::path::Path;

fn default_scenario() -> Scenario {
    scenarios::load_scenario(Path::new("../scenarios/default.ron")).expect("default scenario loads")
}

fn small_trace() -> Trace {
    let mut s = default_scenario();
    if let Some(w) = &mut s.workload {
        w.ops = 100;
    }
    s.limits.max_events = 300;
    record(&s, 7).0
}

#[test]
fn binary_and_text_round_trip() {
    let trace = small_trace();
    // The binary encoding keeps everything replay needs; descriptions are for people (text).
    assert_eq!(Trace::from_binary(&trace.to_binary()), Ok(trace.clone().compact()));
    assert_eq!(text::from_text(&text::to_text(&trace)).expect("text decodes"), trace);
}

#[test]
fn replay_confirms_a_recorded_pass() {
    let trace = small_trace();
    let report = replay(&trace, 3).expect("valid trace");
    assert!(report.confirmed(), "{:?}", report.divergence);
    assert_eq!(report.events_compared, trace.events.len() as u64);
    assert_eq!(report.replayed, trace.outcome);
}

#[test]
fn replay_confirms_a_recorded_violation() {
    let mut s = default_scenario();
    s.bugs = vec![PlantedBug::DelegateKeepsSource];
    let (trace, run) = record(&s, 42);
    let violation = run.first_violation().expect("the planted bug is caught");
    assert_eq!(trace.outcome.violation, Some((violation.invariant.clone(), violation.event)));
    let report = replay(&trace, 3).expect("valid trace");
    assert!(report.confirmed());
    assert_eq!(report.replayed.violation, trace.outcome.violation);
}

#[test]
fn an_edited_digest_is_caught_at_its_event() {
    let mut trace = small_trace();
    trace.events[123].digest ^= 1;
    let d = replay(&trace, 2).expect("valid trace").divergence.expect("diverges");
    assert_eq!(d.index, 123);
    assert_eq!(d.expected_context.len(), 5);
    assert!(d.reason.contains("digest"), "{}", d.reason);
}

#[test]
fn an_edited_choice_is_caught_at_the_event_that_drew_it() {
    let mut trace = small_trace();
    let drawing_event = trace.events.iter().filter(|e| !e.choices.is_empty()).nth(40).expect("enough events draw").index as usize;
    let drawn = trace.events[drawing_event].choices[0];
    trace.events[drawing_event].choices[0] ^= 1;
    let d = replay(&trace, 2).expect("valid trace").divergence.expect("a changed choice changes the run");
    assert_eq!(d.index as usize, drawing_event);
    let named = format!("is {} in the trace, but seed 7 gives {drawn}", drawn ^ 1);
    assert!(d.reason.contains(&named), "the report names the choice and both values: {}", d.reason);
}

#[test]
fn an_edited_text_trace_file_diverges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.trace.ron");
    let trace = small_trace();
    files::write_trace(&path, &trace).expect("written");
    let edited = std::fs::read_to_string(&path).expect("readable").replacen(&format!("digest: \"{:016x}\"", trace.events[50].digest), "digest: \"1\"", 1);
    std::fs::write(&path, edited).expect("rewritten");
    let reread = files::read_trace(&path).expect("still a valid trace");
    assert_eq!(replay(&reread, 1).expect("valid").divergence.expect("diverges").index, 50);
}

#[test]
fn truncated_binary_traces_are_errors() {
    let bytes = small_trace().to_binary();
    for len in (0..bytes.len()).step_by(7) {
        assert!(Trace::from_binary(&bytes[..len]).is_err(), "a trace cut at {len} bytes decoded");
    }
}

#[test]
fn corrupted_binary_traces_never_panic() {
    let bytes = small_trace().to_binary();
    for i in (8..bytes.len()).step_by(97) {
        let mut corrupt = bytes.clone();
        corrupt[i] ^= 0x5a;
        if let Ok(trace) = Trace::from_binary(&corrupt) {
            // A flip that still decodes must still be safe to replay.
            let _ = replay(&trace, 1);
        }
    }
}

#[test]
fn wrong_version_and_garbage_are_reported() {
    let mut bytes = small_trace().to_binary();
    bytes[7] = (TRACE_FORMAT_VERSION + 1) as u8;
    assert_eq!(Trace::from_binary(&bytes), Err(TraceError::UnsupportedVersion { found: TRACE_FORMAT_VERSION + 1, supported: TRACE_FORMAT_VERSION }));
    assert_eq!(Trace::from_binary(b"hello world"), Err(TraceError::NotATrace));
    let mut extra = small_trace().to_binary();
    extra.push(0);
    assert_eq!(Trace::from_binary(&extra), Err(TraceError::TrailingBytes(1)));
    let err = files::decode(Path::new("x.ron"), b"(format_version: 1, oops").expect_err("not a trace");
    assert!(err.line.is_some() && err.column.is_some(), "{err}");
}

/// Supervisors nest their children, so a crafted trace can nest a scenario thousands of levels
/// deep; decoding stops at `MAX_NESTING` with an error instead of overflowing the stack.
#[test]
fn deeply_nested_binary_traces_are_an_error_not_a_stack_overflow() {
    use model::scenario::{Behaviour, TaskSpec};
    let mut trace = small_trace();
    let template = trace.scenario.tasks[0].clone();
    let mut task = TaskSpec { behaviour: Behaviour::Idle, ..template.clone() };
    for _ in 0..model::trace::MAX_NESTING {
        task = TaskSpec { behaviour: Behaviour::Supervisor { children: vec![task], backoff_ns: 1 }, ..template.clone() };
    }
    trace.scenario.tasks = vec![task];
    let error = Trace::from_binary(&trace.to_binary()).expect_err("too deep");
    assert!(error.to_string().contains("nested deeper than"), "{error}");
}
