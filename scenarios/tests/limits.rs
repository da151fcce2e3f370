//! The size limits of scenarios (`scenarios/README.md`, "Limits"), from both sides.
//!
//! - **Nesting:** supervisors nest at most `MAX_SUPERVISOR_DEPTH` levels. A scenario at the limit
//!   loads, and its traces, text and binary, replay (whatever the tools write, the tools read); one
//!   level more is refused with the task it concerns; far more is refused in the same words, never
//!   in the RON library's; a trace whose scenario is too deep is refused too.
//! - **Resources:** every numeric field of the format at its largest value either runs within the
//!   documented memory bound (heap measured by a counting allocator) or is refused with exit 2.

use model::scenario::{MAX_SUPERVISOR_DEPTH, MAX_WORKLOAD_TASKS};
use model::{run, RunConfig, Scenario};
use std::process::Command;
use std::sync::Mutex;

// ----- a heap meter --------------------------------------------------------------------------

/// The system allocator, counting the bytes live and the peak since the last reset (the
/// `peak_alloc` crate, so this test needs no `unsafe` of its own).
#[global_allocator]
static GLOBAL: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

/// Tests that measure take turns (the meter is process-wide).
static MEASURING: Mutex<()> = Mutex::new(());

/// Runs `f` and returns its result with the peak heap it added, in bytes.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = GLOBAL.current_usage();
    GLOBAL.reset_peak_usage();
    let value = f();
    (value, GLOBAL.peak_usage().saturating_sub(base))
}

/// The documented memory bound of a run: 16 MiB plus 1 KiB per event it executes
/// (`scenarios/README.md`, "Limits"; measured worst cases stay below a quarter of it).
fn memory_bound(events: u64) -> usize {
    (16 << 20) + 1024 * events as usize
}

// ----- nesting -------------------------------------------------------------------------------

/// A scenario whose one task sits `depth` supervisors deep.
fn nested(depth: usize) -> String {
    let mut task = String::from("(name: \"leaf\", behaviour: Server(service: \"x\", version: (major: 1, minor: 0)))");
    for level in 0..depth {
        task = format!("(name: \"s{level}\", behaviour: Supervisor(children: [{task}]))");
    }
    format!("(name: \"nested\", tasks: [{task}])")
}

fn scenario_at(depth: usize) -> Scenario {
    // Built directly, so depths beyond what the loader accepts can still be encoded as traces.
    let mut scenario = scenarios::parse_scenario(&nested(0), "leaf.ron").expect("a flat scenario");
    for level in 0..depth {
        let child = scenario.tasks.remove(0);
        let behaviour = model::scenario::Behaviour::Supervisor { children: vec![child], backoff_ns: 100_000 };
        scenario.tasks.push(model::scenario::TaskSpec { name: format!("s{level}"), behaviour, ..scenario_task() });
    }
    scenario
}

fn scenario_task() -> model::scenario::TaskSpec {
    model::scenario::TaskSpec {
        name: String::new(),
        behaviour: model::scenario::Behaviour::Idle,
        kind: Default::default(),
        domain: "user".into(),
        start_ns: 0,
        caps: Vec::new(),
        restart: Default::default(),
        budget: None,
    }
}

#[test]
fn a_scenario_at_the_nesting_limit_loads_and_both_its_traces_replay() {
    let scenario = scenarios::parse_scenario(&nested(MAX_SUPERVISOR_DEPTH), "deep.ron").expect("the limit itself is accepted");
    assert_eq!(scenario.supervisor_depth(), MAX_SUPERVISOR_DEPTH);
    let (trace, _) = replay::record(&scenario, 5);
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["deep.trace", "deep.trace.ron"] {
        let path = dir.path().join(name);
        replay::files::write_trace(&path, &trace).expect("written");
        let read = replay::files::read_trace(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(replay::replay(&read, 1).expect("valid").confirmed(), "{name} does not replay");
    }
}

#[test]
fn deeper_nesting_is_refused_in_the_harness_own_words() {
    let limit = format!("supervisors may nest at most {MAX_SUPERVISOR_DEPTH} levels (the limit of scenarios and traces)");
    let one_more = scenarios::parse_scenario(&nested(MAX_SUPERVISOR_DEPTH + 1), "deep.ron").expect_err("one level too deep");
    assert_eq!(one_more.message, format!("task `leaf` sits 33 supervisors deep: {limit} (tasks[0])"));
    let text = nested(MAX_SUPERVISOR_DEPTH + 1);
    assert_eq!(one_more.column, text.find("\"leaf\"").map(|i| i + 1), "points at the task too deep");
    for depth in [MAX_SUPERVISOR_DEPTH + 10, 200, 5_000] {
        let err = scenarios::parse_scenario(&nested(depth), "deep.ron").expect_err("far too deep");
        assert!(err.message.contains(&limit), "{depth}: {err}");
        assert!(!err.message.contains("recursion") && !err.message.contains("serde_stacker"), "{depth}: {err}");
    }
}

#[test]
fn a_trace_whose_scenario_nests_too_deeply_is_refused_in_both_encodings() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Text traces a few levels too deep still parse and are refused by the depth check; deeper
    // ones cannot be written as text at all (the writer keeps the reader's limit).
    for (depth, names) in [(MAX_SUPERVISOR_DEPTH + 1, &["too_deep.trace", "too_deep.trace.ron"][..]), (MAX_SUPERVISOR_DEPTH + 20, &["too_deep.trace"][..])] {
        let (trace, _) = replay::record(&scenario_at(depth), 1);
        for name in names {
            let path = dir.path().join(name);
            replay::files::write_trace(&path, &trace).expect("written");
            let err = replay::files::read_trace(&path).expect_err("too deep").to_string();
            assert!(err.contains(&format!("nests supervisors {depth} levels deep: supervisors may nest at most {MAX_SUPERVISOR_DEPTH} levels")), "{depth} {name}: {err}");
        }
    }
}

// ----- resources -----------------------------------------------------------------------------

const U64: &str = "18446744073709551615";
const U32: &str = "4294967295";

/// A scenario using every part of the format, with `field` set to `value` (other fields small).
fn scenario_with(field: &str, value: &str) -> String {
    let v = |name: &str, small: &str| if name == field { value.to_string() } else { small.to_string() };
    format!(
        r#"(
    name: "resources", seed: {seed},
    limits: (max_time_ns: {max_time}, max_events: {max_events}, sched_jitter_ns: {jitter}),
    tasks: [
        (name: "srv", start_ns: {start}, behaviour: Server(service: "echo", version: (major: {major}, minor: {minor}), min_major: {min_major}, work_ns: {work})),
        (name: "cli", behaviour: Client(service: "echo", requests: {requests}, timeout_ns: {timeout}, retries: {retries}, backoff_ns: {backoff}, interval_ns: {interval}, version: (major: 1, minor: 0))),
        (name: "sup", behaviour: Supervisor(backoff_ns: {sup_backoff}, children: [
            (name: "kid", behaviour: CapPasser(to: "idle", hold_ns: {hold}), restart: ExponentialBackoff(max_attempts: {attempts}), caps: [(label: "k", kind: "f")]),
        ])),
        (name: "idle", behaviour: Idle),
    ],
    steps: [
        (at_ns: {at}, op: UseForged(task: "idle", id: {forged})),
        (op: Grant(task: "idle", cap: "g", kind: "x")),
    ],
    workload: (ops: {ops}, interval_ns: {wl_interval}, tasks: {wl_tasks}, mix: (spawn: {spawn}, grant: {grant}, send: 5, create_channel: 2)),
    faults: (
        message_faults: [
            (fault: Delay(nanos: {delay}), when: Next(count: {next})),
            (fault: Drop, when: EveryNth(n: {nth})),
            (fault: Reorder, when: Window(from_ns: {from}, until_ns: {until})),
        ],
        lifecycle_faults: [CrashAfterMessages(task: "srv", count: {crash_count}), CrashAt(task: "cli", at_ns: {crash_at})],
    ),
    expect: (steps: [(step: {step}, result: Ok)], counters: [(Events, AtMost({count}))]),
)"#,
        seed = v("seed", "3"),
        max_time = v("max_time_ns", "1_000_000_000"),
        max_events = v("max_events", "200_000"),
        jitter = v("sched_jitter_ns", "1_000"),
        start = v("start_ns", "0"),
        major = v("version.major", "2"),
        minor = v("version.minor", "0"),
        min_major = v("min_major", "1"),
        work = v("work_ns", "1_000"),
        requests = v("requests", "10"),
        timeout = v("timeout_ns", "1_000_000"),
        retries = v("retries", "3"),
        backoff = v("backoff_ns", "100_000"),
        interval = v("interval_ns", "0"),
        sup_backoff = v("Supervisor.backoff_ns", "100_000"),
        hold = v("hold_ns", "0"),
        attempts = v("max_attempts", "3"),
        at = v("at_ns", "10"),
        forged = v("UseForged.id", "1"),
        ops = v("workload.ops", "500"),
        wl_interval = v("workload.interval_ns", "10_000"),
        wl_tasks = v("workload.tasks", "4"),
        spawn = v("mix.spawn", "3"),
        grant = v("mix.grant", "5"),
        delay = v("Delay.nanos", "5_000"),
        next = v("Next.count", "3"),
        nth = v("EveryNth.n", "7"),
        from = v("Window.from_ns", "0"),
        until = v("Window.until_ns", "1_000"),
        crash_count = v("CrashAfterMessages.count", "20"),
        crash_at = v("CrashAt.at_ns", "50_000_000"),
        step = v("expect.step", "1"),
        count = v("Count", "1_000_000"),
    )
}

/// Every numeric field at its largest value, and whether the loader refuses it (with what).
const CASES: &[(&str, &str, Option<&str>)] = &[
    ("seed", U64, None),
    ("max_time_ns", U64, None),
    ("max_events", U64, None),
    ("sched_jitter_ns", U64, None),
    ("start_ns", U64, None),
    ("version.major", U32, None),
    ("version.minor", U32, None),
    ("min_major", "2", None),
    ("work_ns", U64, None),
    ("requests", U32, None),
    ("timeout_ns", U64, None),
    ("retries", U32, None),
    ("backoff_ns", U64, None),
    ("interval_ns", U64, None),
    ("Supervisor.backoff_ns", U64, None),
    ("hold_ns", U64, None),
    ("max_attempts", U32, None),
    ("at_ns", U64, None),
    ("UseForged.id", U64, None),
    ("workload.ops", U32, None),
    ("workload.interval_ns", U64, None),
    ("workload.tasks", U32, Some("expected at most 10000 workload tasks")),
    ("mix.spawn", U32, None),
    ("mix.grant", U32, None),
    ("Delay.nanos", U64, None),
    ("Next.count", U32, None),
    ("EveryNth.n", U32, None),
    ("Window.from_ns", U64, Some("expected a window with from_ns <= until_ns")),
    ("Window.until_ns", U64, None),
    ("CrashAfterMessages.count", U32, None),
    ("CrashAt.at_ns", U64, None),
    ("expect.step", U32, Some("no step 4294967295")),
    ("Count", U64, None),
];

#[test]
fn every_numeric_field_at_its_maximum_runs_within_the_memory_bound_or_is_refused() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let base = scenarios::parse_scenario(&scenario_with("", ""), "base.ron").expect("the base scenario is valid");
    let (report, _) = peak_heap(|| run(&base, &RunConfig::seeded(base.seed)));
    assert!(report.stats.workload_ops > 0 && report.stats.messages_sent > 0 && report.stats.restarts + report.stats.task_exits > 0, "the base scenario exercises the model");
    for &(field, value, refusal) in CASES {
        let text = scenario_with(field, value);
        match (scenarios::parse_scenario(&text, "max.ron"), refusal) {
            (Err(e), Some(wanted)) => assert!(e.message.contains(wanted), "{field}: {e}"),
            (Err(e), None) => panic!("{field} = {value} is refused, but the documentation says it runs: {e}"),
            (Ok(_), Some(wanted)) => panic!("{field} = {value} is accepted, but must be refused ({wanted})"),
            (Ok(scenario), None) => {
                let (report, peak) = peak_heap(|| run(&scenario, &RunConfig::seeded(scenario.seed)));
                let bound = memory_bound(report.stats.events);
                assert!(peak <= bound, "{field} = {value}: {peak} bytes of heap for {} events (bound {bound})", report.stats.events);
            }
        }
    }
}

#[test]
fn the_largest_accepted_sizes_run_within_the_memory_bound() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    // The most workload tasks, all spawned at the first operation, and the deepest nesting.
    let most_tasks = scenario_with("workload.tasks", &MAX_WORKLOAD_TASKS.to_string());
    let deepest = nested(MAX_SUPERVISOR_DEPTH);
    // A busy workload, where memory grows with every event.
    let busy = "(name: \"busy\", limits: (max_events: 300_000), workload: (ops: 4294967295, interval_ns: 1, mix: (spawn: 10, grant: 10, clone: 10, create_channel: 10, send: 10)))";
    for (name, text) in [("most workload tasks", most_tasks.as_str()), ("deepest nesting", &deepest), ("busy workload", busy)] {
        let scenario = scenarios::parse_scenario(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (report, peak) = peak_heap(|| run(&scenario, &RunConfig::seeded(1)));
        let bound = memory_bound(report.stats.events);
        assert!(peak <= bound, "{name}: {peak} bytes of heap for {} events (bound {bound})", report.stats.events);
    }
}

#[test]
fn refused_sizes_exit_2_from_the_binary_with_the_field_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = dir.path().join("tiny.ron");
    // The 60-byte scenario that used to abort the process while allocating 2 GB.
    std::fs::write(&tiny, "(name: \"x\", workload: (ops: 10, tasks: 4294967295))").expect("written");
    let deep = dir.path().join("deep.ron");
    std::fs::write(&deep, nested(MAX_SUPERVISOR_DEPTH + 1)).expect("written");
    for (path, wanted) in [(&tiny, "tiny.ron:1:33: expected at most 10000 workload tasks"), (&deep, "sits 33 supervisors deep")] {
        let out = Command::new(env!("CARGO_BIN_EXE_scenario")).arg(path).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(wanted), "{stderr}");
    }
}
