//! The scenario language (scenarios/README.md, "Steps" and "Expectations"): every expectation
//! form is met when the run shows what it states and unmet (with the nearest events shown) when it
//! does not; the `Spawn`, `IsValid` and blocking `Receive` steps behave as documented; the run's end
//! time is its last event; expectations never change the run itself.

use model::report::RunReport;
use model::{run, RunConfig, Scenario};

fn parse(text: &str) -> Scenario {
    let s: Scenario = ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    s.validate().unwrap_or_else(|e| panic!("{e}\n{text}"));
    s
}

fn run_text(text: &str) -> RunReport {
    let s = parse(text);
    run(&s, &RunConfig::seeded(s.seed))
}

/// A small deterministic world: a cross-domain delegation, a refused use, a client/server pair,
/// a blocking receive, a restart.
fn world(expect: &str) -> String {
    format!(
        r#"(
    name: "world",
    limits: (sched_jitter_ns: 0),
    tasks: [
        (name: "k", domain: "core", behaviour: Idle, caps: [(label: "f", kind: "file_read")]),
        (name: "u", domain: "user", behaviour: Idle),
        (name: "rx", behaviour: Idle),
        (name: "srv", behaviour: Server(service: "s", version: (major: 2, minor: 0))),
        (name: "c", start_ns: 10_000, behaviour: Client(service: "s", requests: 2, version: (major: 1, minor: 0))),
        (name: "old", start_ns: 10_000, behaviour: Client(service: "s", requests: 1, version: (major: 0, minor: 1))),
        (name: "sup", behaviour: Supervisor(backoff_ns: 50_000, children: [(name: "w", behaviour: Idle, restart: Always)])),
    ],
    steps: [
        (at_ns: 1_000, op: Delegate(cap: "f", from: "k", to: "u")),
        (at_ns: 2_000, op: Use(cap: "f", task: "k")),
        (at_ns: 3_000, op: CreateChannel(task: "rx", channel: "q")),
        (at_ns: 4_000, op: Receive(task: "rx", channel: "q", timeout_ns: 100_000)),
        (at_ns: 30_000, op: Send(task: "u", channel: "q", action: "hi")),
        (at_ns: 200_000, op: Terminate(task: "w", reason: Failure(error: "x"))),
    ],
    expect: ({expect}),
)"#
    )
}

/// `(expectation, met)`: the world run must give the expectation (the only one besides the
/// verdict) this result.
const CASES: &[(&str, bool)] = &[
    (r#"steps: [(step: 1, result: Err(InvalidCapability))]"#, true),
    (r#"steps: [(step: 1, result: Ok)]"#, false),
    (r#"steps: [(step: 3, result: Received(action: "hi", from: "u"))]"#, true),
    (r#"steps: [(step: 3, result: Received(from: "k"))]"#, false),
    (r#"audit: [(CrossDomainDelegation(from_domain: "core", to_domain: "user"), Exactly(1))]"#, true),
    (r#"audit: [(CrossDomainDelegation(from_domain: "user"), Exactly(1))]"#, false),
    (r#"audit: [(InvalidUseAttempt(task: "k", cap: "f", reason: NotOwner), Exactly(1))]"#, true),
    (r#"audit: [(InvalidUseAttempt(task: "k", reason: NotValid), AtLeast(1))]"#, false),
    (r#"audit: [(Granted, AtMost(1))]"#, false),
    (r#"counters: [(ExitNotifications, Exactly(3))]"#, true),
    (r#"counters: [(ExitNotifications, Exactly(4))]"#, false),
    (r#"task_counters: [("c", RequestsCompleted, Exactly(2))]"#, true),
    (r#"task_counters: [("c", RequestsCompleted, Exactly(3))]"#, false),
    (r#"task_counters: [("old", Unsupported, Exactly(1))]"#, true),
    (r#"task_counters: [("w", Incarnations, Exactly(2))]"#, true),
    (r#"task_counters: [("w", Incarnations, Exactly(1))]"#, false),
    (r#"service_counters: [("s", Compatible, Exactly(2))]"#, true),
    (r#"service_counters: [("s", UpgradeRequired, AtLeast(1))]"#, false),
    (r#"occurrences: [(Received(task: "rx", action: "hi"), Exactly(1))]"#, true),
    (r#"occurrences: [(Received(task: "rx"), Exactly(2))]"#, false),
    (r#"occurrences: [(Audit(Delegated(to_task: "u")), Exactly(1))]"#, true),
    (r#"order: [(Step(4), Step(3))]"#, true),
    (r#"order: [(Step(3), Step(4))]"#, false),
    (r#"order: [(Exited(task: "w"), Nth(2, Spawned(task: "w")))]"#, true),
    (r#"order: [(Nth(3, Spawned(task: "w")), Step(0))]"#, false),
    (r#"timing: [(event: Step(3), at_ns: 30_000)]"#, true),
    (r#"timing: [(event: Step(3), at_ns: 29_999)]"#, false),
    (r#"timing: [(event: Nth(2, Spawned(task: "w")), since: Exited(task: "w"), after_ns: 50_000, within_ns: 50_000)]"#, true),
    (r#"timing: [(event: Nth(2, Spawned(task: "w")), since: Exited(task: "w"), within_ns: 49_999)]"#, false),
    (r#"timing: [(event: Nth(2, Spawned(task: "w")), after_ns: 250_001)]"#, false),
    (r#"timing: [(event: Exited(task: "k"), within_ns: 1_000_000)]"#, false),
];

#[test]
fn each_expectation_form_is_met_exactly_when_the_run_shows_it() {
    for (expectation, met) in CASES {
        let report = run_text(&world(expectation));
        assert!(report.violations.is_empty(), "{expectation}: {:?}", report.violations);
        assert_eq!(report.expectations.len(), 2, "{expectation}: {:#?}", report.expectations);
        let e = &report.expectations[1];
        assert_eq!(e.met, *met, "{expectation}: {e:#?}");
        assert!(e.path.starts_with("expect."), "{expectation}: path {}", e.path);
        // Unmet event expectations show the nearest events; a step's or a counter's actual value
        // says it all.
        let about_events = ["expect.audit", "expect.occurrences", "expect.order", "expect.timing", "expect.task_counters"].iter().any(|p| e.path.starts_with(p));
        if !e.met && about_events {
            assert!(!e.nearest.is_empty(), "{expectation}: an unmet expectation shows the nearest events: {e:#?}");
        }
    }
}

#[test]
fn step_expectations_are_checked_in_place_with_their_path() {
    let text = world("").replace(r#"op: Use(cap: "f", task: "k"))"#, r#"op: Use(cap: "f", task: "k"), expect: Ok)"#);
    let report = run_text(&text);
    let e = report.expectations.iter().find(|e| e.path == "steps[1].expect").expect("the step's own expectation");
    assert!(!e.met);
    assert_eq!(e.actual, "Err(InvalidCapability)");
}

#[test]
fn expectations_do_not_change_the_run() {
    let plain = run_text(&world(""));
    let watched = run_text(&world(r#"order: [(Step(0), Step(1))], timing: [(event: Step(3), at_ns: 30_000)], occurrences: [(Fault(Drop), Exactly(0))]"#));
    assert_eq!(plain.trace_hash, watched.trace_hash);
    assert_eq!(plain.stats, watched.stats);
    assert!(plain.watch.is_none(), "no watch without order, timing or occurrence expectations");
    assert!(watched.watch.is_some());
}

// ----- steps ---------------------------------------------------------------------------------

const STEPS: &str = r#"(
    name: "steps",
    limits: (sched_jitter_ns: 0),
    tasks: [
        (name: "a", behaviour: Idle, caps: [(label: "x", kind: "net")]),
        (name: "b", behaviour: Idle),
    ],
    steps: [
        (at_ns: 1_000, op: CreateChannel(task: "b", channel: "q")),
        (at_ns: 2_000, op: Receive(task: "b", channel: "q", timeout_ns: 10_000)),
        (at_ns: 20_000, op: Receive(task: "b", channel: "q", timeout_ns: 10_000)),
        (at_ns: 25_000, op: Send(task: "a", channel: "q", action: "m")),
        (at_ns: 40_000, op: Receive(task: "b", channel: "q", timeout_ns: 10_000)),
        (at_ns: 45_000, op: Terminate(task: "b")),
        (at_ns: 50_000, op: IsValid(task: "a", cap: "x")),
        (at_ns: 50_000, op: IsValid(task: "b", cap: "x")),
        (at_ns: 60_000, op: Spawn(task: "a", child: (name: "kid", behaviour: Idle), give: ["x"])),
        (at_ns: 61_000, op: IsValid(task: "kid", cap: "x")),
    ],
)"#;

#[test]
fn blocking_receive_resumes_on_message_or_timeout_and_never_completes_for_a_dead_task() {
    use model::error::KernelErrorKind;
    use model::report::StepValue;
    let report = run_text(STEPS);
    assert_eq!(report.step_results[1], Some(Err(KernelErrorKind::Timeout)));
    assert_eq!(report.step_results[2], Some(Ok(())));
    assert!(matches!(report.step_values[2], StepValue::Received(m) if report.names.resolve(m.action) == "m"));
    assert_eq!(report.step_results[4], None, "b was terminated while blocked: the step never completes");
    assert_eq!(report.stats.messages_delivered, 1);
}

#[test]
fn is_valid_answers_without_side_effects() {
    use model::capability::InvalidUseReason;
    use model::report::StepValue;
    let with = run_text(STEPS);
    assert_eq!(with.step_values[6], StepValue::Validity(Ok(())));
    assert_eq!(with.step_values[7], StepValue::Validity(Err(InvalidUseReason::NotOwner)));
    assert_eq!(with.step_values[9], StepValue::Validity(Ok(())), "the spawned child holds the capability it was given");
    let without_queries = STEPS.replace(r#"(at_ns: 50_000, op: IsValid(task: "a", cap: "x")),"#, "").replace(r#"(at_ns: 50_000, op: IsValid(task: "b", cap: "x")),"#, "");
    let without = run_text(&without_queries);
    assert_eq!(with.audit.records(), without.audit.records(), "IsValid is never audited");
    assert_eq!(with.stats.capability_ops, without.stats.capability_ops, "IsValid is not an operation on the table");
}

#[test]
fn a_second_blocking_receive_of_a_blocked_task_fails() {
    use model::error::KernelErrorKind;
    let text = STEPS.replace(
        r#"(at_ns: 25_000, op: Send(task: "a", channel: "q", action: "m")),"#,
        r#"(at_ns: 21_000, op: Receive(task: "b", channel: "q", timeout_ns: 10_000)), (at_ns: 25_000, op: Send(task: "a", channel: "q", action: "m")),"#,
    );
    let report = run_text(&text);
    assert_eq!(report.step_results[3], Some(Err(KernelErrorKind::ReceiveFailed)));
    assert_eq!(report.step_results[2], Some(Ok(())), "the first receive still completes");
}

#[test]
fn a_restart_rebinds_durable_capabilities_as_rebound_records_and_the_table_agrees() {
    use model::capability::AuditKind;
    let report = run_text(
        r#"(name: "rebind", tasks: [(name: "sup", behaviour: Supervisor(children: [(name: "w", behaviour: Idle, restart: Always, caps: [(label: "d", kind: "storage", durable: true)])]))],
           faults: (lifecycle_faults: [CrashAt(task: "w", at_ns: 10_000)]),
           expect: (audit: [(Rebound(cap: "d", from_task: "w", to_task: "w"), Exactly(1)), (Delegated, Exactly(0))]))"#,
    );
    assert!(report.passed(), "{:#?}", report.expectations);
    let checks = report.invariant_checks.iter().find(|(id, _)| id == "cap.audit_matches_table").map(|(_, n)| *n);
    assert!(checks.unwrap_or(0) > 0);
    assert_eq!(report.audit_counts.iter().find(|(k, _)| *k == AuditKind::Rebound).map(|(_, n)| *n), Some(1));
}

#[test]
fn an_idle_parent_reads_its_childrens_exit_notifications_and_the_run_goes_quiet() {
    use model::report::StopReason;
    let report = run_text(
        r#"(name: "parent", tasks: [(name: "p", behaviour: Idle), (name: "rx", behaviour: Idle)],
           steps: [
               (at_ns: 1_000, op: Spawn(task: "p", child: (name: "kid", behaviour: Idle))),
               (at_ns: 2_000, op: Spawn(task: "rx", child: (name: "kid2", behaviour: Idle))),
               (at_ns: 3_000, op: CreateChannel(task: "rx", channel: "q")),
               (at_ns: 4_000, op: Receive(task: "rx", channel: "q", timeout_ns: 10_000)),
               (at_ns: 5_000, op: Terminate(task: "kid")),
               (at_ns: 5_000, op: Terminate(task: "kid2")),
           ],
           expect: (task_counters: [("p", ExitNotifications, Exactly(1)), ("rx", ExitNotifications, Exactly(1))]))"#,
    );
    assert_eq!(report.stop, StopReason::Quiescent);
    assert!(report.stats.events < 30, "{} events", report.stats.events);
    assert!(report.passed(), "{:#?}", report.expectations);
    assert!(report.step_results[3].is_some(), "the blocked receive still times out");
}

// ----- end time ------------------------------------------------------------------------------

#[test]
fn the_end_time_is_the_last_event_and_stale_wake_ups_only_count() {
    // One request answered within microseconds; its 1 ms timeout wake-up is stale when it comes.
    let s = parse(
        r#"(name: "end", limits: (sched_jitter_ns: 0), tasks: [
            (name: "srv", behaviour: Server(service: "s")),
            (name: "c", start_ns: 1_000, behaviour: Client(service: "s", requests: 1, timeout_ns: 1_000_000)),
        ])"#,
    );
    let report = run(&s, &RunConfig { seed: 0, record_events: true, ..RunConfig::default() });
    let last = report.event_log.as_ref().and_then(|log| log.last()).map(|e| e.at).expect("events");
    assert_eq!(report.end_time.0, last);
    assert!(report.end_time.0 < 1_000_000, "the stale timeout at 1 ms does not extend the run: {}", report.end_time);
    assert_eq!(report.stats.ignored_wakeups, 1);
}

// ----- serde forms ---------------------------------------------------------------------------

#[test]
fn audit_patterns_read_bare_or_with_fields_and_survive_every_encoding() {
    use model::pattern::AuditPattern;
    let ron_opts = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    let list: Vec<(AuditPattern, u8)> = ron_opts.from_str(r#"[(Granted, 1), (Delegated(from_task: "a", to_task: "b"), 2), (InvalidUseAttempt(reason: NotOwner), 3), (Rebound(), 4)]"#).expect("parses");
    assert_eq!(list[0].0.describe(), "Granted");
    assert_eq!(list[1].0.describe(), r#"Delegated(from_task: "a", to_task: "b")"#);
    assert_eq!(list[2].0.describe(), "InvalidUseAttempt(reason: NotOwner)");
    assert_eq!(list[3].0.describe(), "Rebound");
    for (pattern, _) in &list {
        let json: AuditPattern = serde_json::from_value(serde_json::to_value(pattern).expect("to JSON")).expect("from JSON");
        assert_eq!(&json, pattern);
        let again: AuditPattern = ron_opts.from_str(&ron::to_string(pattern).expect("to RON")).expect("from RON");
        assert_eq!(&again, pattern);
    }
    let err = ron_opts.from_str::<Vec<(AuditPattern, u8)>>(r#"[(Granted(from_domain: "core"), 1)]"#).expect_err("Granted has no domain");
    assert!(err.to_string().contains("`cap`, `kind`, `to_task`, or `durable`"), "{err}");
}

/// A client and a server with two fault rules: the first drops the client's first request (it
/// fires exactly once, the client retries), the second reorders messages to the server, which
/// never has a second message queued to overtake, so it is evaluated but never fires with effect.
fn faulty_world(expect: &str) -> String {
    format!(
        r#"(
    name: "faulty",
    limits: (sched_jitter_ns: 0),
    tasks: [
        (name: "srv", behaviour: Server(service: "s")),
        (name: "c", start_ns: 10_000, behaviour: Client(service: "s", requests: 3, timeout_ns: 100_000, retries: 2)),
    ],
    faults: (message_faults: [
        (fault: Drop, on: Task("c"), when: Next(count: 1)),
        (fault: Reorder, on: Service("s"), when: EveryNth(n: 1)),
    ]),
    expect: ({expect}),
)"#
    )
}

#[test]
fn rule_expectations_count_firings_with_effect_and_evaluations() {
    let cases: &[(&str, bool)] = &[
        ("rules: [(rule: 0, fired: Exactly(1))]", true),
        ("rules: [(rule: 0, fired: Exactly(2))]", false),
        ("rules: [(rule: 0, fired: AtLeast(1), evaluated: AtLeast(4))]", true),
        ("rules: [(rule: 0, fired: AtLeast(1), evaluated: AtMost(1))]", false),
        ("rules: [(rule: 1, fired: Exactly(0), evaluated: AtLeast(3))]", true),
        ("rules: [(rule: 1, fired: AtLeast(1))]", false),
    ];
    for (expect, met) in cases {
        let report = run_text(&faulty_world(expect));
        let rule = report.expectations.last().expect("the rule expectation");
        assert_eq!(rule.met, *met, "{expect}: {rule:?}");
        assert_eq!(rule.path, "expect.rules[0]");
    }
    let unknown: Scenario = ron::from_str(&faulty_world("rules: [(rule: 2, fired: AtLeast(1))]")).expect("parses");
    let e = unknown.validate().expect_err("rule 2 does not exist");
    assert!(e.to_string().contains("expect.rules[0].rule") && e.to_string().contains("below 2"), "{e}");
}

#[test]
fn the_report_counts_operations_by_result_and_each_invariants_situations() {
    let report = run_text(&world(""));
    let op = |name: &str| report.operations.iter().find(|o| o.op == name).unwrap_or_else(|| panic!("no {name} row")).clone();
    // Steps: one delegation (ok), then k's use of the delegated capability (refused).
    assert_eq!(op("Delegate").ok, 1);
    let uses = op("Use");
    assert!(uses.errors.contains(&("InvalidCapability".into(), 1)), "{uses:?}");
    assert!(op("Send").ok >= 4, "the clients' requests and the step's send: {:?}", op("Send"));
    assert_eq!(op("Storage").calls(), 0, "no storage in this world");
    for ((id, checks), (sid, situations)) in report.invariant_checks.iter().zip(&report.invariant_situations) {
        assert_eq!(id, sid);
        assert_eq!(*checks == 0, situations.is_empty(), "{id}: {checks} checks in situations {situations:?}");
    }
    let fifo = &report.invariant_situations.iter().find(|(id, _)| id == "msg.at_most_once").expect("listed").1;
    assert!(fifo.iter().any(|s| s == "MessageReceived"), "{fifo:?}");
}
