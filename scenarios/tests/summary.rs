//! Snapshot of the text summary for a fixed report, so the format is pinned independently of the
//! simulator's behaviour: an empty scenario is run, then every field the summary shows is
//! overwritten with fixed values (fields added to `RunReport` later keep the test compiling).

use model::capability::{AuditKind, AuditLog, CapabilityEvent};
use model::ids::{CapId, TaskId};
use model::report::{ExpectationResult, RunReport, StopReason, Violation};
use model::stats::RunStats;
use model::time::Instant;
use model::{run, RunConfig};
use scenarios::{parse_scenario, render_audit, render_summary, reproduce_command};

fn report() -> RunReport {
    let mut names = model::names::Names::new();
    let mut audit = AuditLog::default();
    audit.push(Instant(1_000), CapabilityEvent::Granted { cap: CapId(0), kind: names.intern("file_read"), to_task: TaskId(0), durable: false });
    audit.push(Instant(2_500), CapabilityEvent::Delegated { cap: CapId(0), from_task: TaskId(0), to_task: TaskId(1) });
    let scenario = parse_scenario("(name: \"empty\")", "empty.ron").expect("valid");
    let mut r = run(&scenario, &RunConfig::seeded(9));
    r.scenario = "fixed".into();
    r.seed = 9;
    r.stop = StopReason::Violation;
    r.end_time = Instant(12_345_678);
    r.stats = RunStats { events: 40, tasks_spawned: 2, messages_sent: 5, messages_delivered: 4, messages_dropped: 1, capability_ops: 3, ..RunStats::default() };
    r.invariant_checks = vec![("cap.single_owner".into(), 12), ("msg.at_most_once".into(), 5)];
    r.violations = vec![Violation {
        invariant: "cap.single_owner".into(),
        subsystem: "capability.delegate".into(),
        event: 17,
        at: Instant(2_500),
        message: "task#0 can still use cap#0 after delegating it to task#1".into(),
        objects: vec!["cap#0".into(), "task#0".into()],
    }];
    r.expectations = vec![
        ExpectationResult {
            path: "expect.verdict".into(),
            expected: "cap.single_owner violated first".into(),
            actual: "cap.single_owner violated at event 17".into(),
            met: true,
            nearest: vec![],
            location: Some((20, 9)),
        },
        ExpectationResult {
            path: "expect.audit[0]".into(),
            expected: "audit Delegated(to_task: \"c\") exactly 1".into(),
            actual: "0".into(),
            met: false,
            nearest: vec!["t=0.002500ms Delegated { cap: cap#0, from_task: task#0, to_task: task#1 } (near miss: 0 of the written fields match)".into()],
            location: Some((22, 17)),
        },
        ExpectationResult { path: "expect.counters[0]".into(), expected: "Events at most 10".into(), actual: "40".into(), met: false, nearest: vec![], location: None },
    ];
    r.audit_counts = vec![(AuditKind::Granted, 1), (AuditKind::Delegated, 1)];
    r.trace_hash = 0x0123_4567_89ab_cdef;
    r.choices_drawn = 3;
    r.audit = audit;
    r.names = names;
    r
}

#[test]
fn summary_format() {
    insta::assert_snapshot!(render_summary(&report(), "scenarios/fixed.ron"));
}

#[test]
fn audit_format() {
    insta::assert_snapshot!(render_audit(&report()));
}

#[test]
fn reproduce_quotes_unusual_paths() {
    assert_eq!(reproduce_command("a/b.ron", 1), "cargo run --release --bin scenario -- a/b.ron --seed 1");
    assert_eq!(reproduce_command("my dir/it's.ron", 2), r"cargo run --release --bin scenario -- 'my dir/it'\''s.ron' --seed 2");
}

#[test]
fn a_lite_run_is_reproduced_by_a_lite_build() {
    let mut report = report();
    assert_eq!(scenarios::reproduce_run_command(&report, "a.ron"), reproduce_command("a.ron", report.seed), "runs without a lite network: the default build");
    report.lite = Some(model::report::LiteReport::default());
    let want = format!("cargo run --release --no-default-features --features net-bringup-lite --bin scenario -- a.ron --seed {}", report.seed);
    assert_eq!(scenarios::reproduce_run_command(&report, "a.ron"), want);
}
