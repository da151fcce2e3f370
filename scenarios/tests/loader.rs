//! Loader and command-line tests: RON syntax errors, validation errors and unknown fields are
//! reported with line and column; missing files fail cleanly; valid scenarios parse; the
//! `scenario` binary exits with the documented codes.

use model::scenario::{Behaviour, ExpectedVerdict, StepOp};
use scenarios::{load_scenario, parse_scenario, LoadError};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn parse_err(text: &str) -> LoadError {
    match parse_scenario(text, "test.ron") {
        Ok(s) => panic!("expected an error, parsed {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn malformed_ron_reports_line_and_column() {
    let err = match load_scenario(&data("malformed.ron")) {
        Ok(s) => panic!("expected an error, parsed {s:?}"),
        Err(e) => e,
    };
    assert_eq!((err.line, err.column), (Some(5), Some(5)), "{err}");
    assert!(err.message.contains("Expected comma"), "{err}");
    assert!(err.to_string().ends_with("malformed.ron:5:5: Expected comma"), "{err}");
}

#[test]
fn unknown_task_in_step_is_located() {
    let text = "Scenario(\n  name: \"t\",\n  tasks: [(name: \"alice\", behaviour: Idle)],\n  steps: [\n    (op: Grant(task: \"alice\", cap: \"c\", kind: \"k\")),\n    (op: Use(cap: \"c\", task: \"bob\")),\n  ],\n)\n";
    let err = parse_err(text);
    assert_eq!((err.line, err.column), (Some(6), Some(30)), "{err}");
    insta::assert_snapshot!(err.to_string(), @"test.ron:6:30: unknown task `bob`: expected one of `alice` (steps[1].op.task)");
}

#[test]
fn unknown_task_in_file_points_at_the_name() {
    let err = load_scenario(&data("unknown_task.ron")).expect_err("bob is not a task");
    assert_eq!((err.line, err.column), (Some(8), Some(52)), "{err}");
    assert!(err.message.starts_with("unknown task `bob`"), "{err}");
}

#[test]
fn unknown_field_reports_what_was_expected() {
    let err = parse_err("Scenario(\n  name: \"t\",\n  sed: 3,\n)");
    assert_eq!((err.line, err.column), (Some(3), Some(3)), "{err}");
    assert!(err.message.contains("Unexpected field named `sed`"), "{err}");
    assert!(err.message.contains("`seed`") && err.message.contains("expected one of"), "{err}");
}

#[test]
fn unknown_field_in_nested_variant_is_rejected() {
    let err = parse_err("(name: \"t\", tasks: [(name: \"a\", behaviour: Idle)],\n steps: [(op: Use(cap: \"c\", task: \"a\", tsk: \"a\"))])");
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.message.contains("`tsk`") && err.message.contains("`Use`"), "{err}");
}

#[test]
fn unknown_variant_lists_the_variants() {
    let err = parse_err("(name: \"t\", tasks: [(name: \"a\", behaviour: Sleepy)])");
    assert_eq!((err.line, err.column), (Some(1), Some(44)), "{err}");
    assert!(err.message.contains("`Sleepy`") && err.message.contains("`Idle`"), "{err}");
}

#[test]
fn validation_error_without_name_points_at_the_field() {
    let err = parse_err("(\n  name: \"t\",\n  limits: (\n    max_events: 0,\n  ),\n)");
    assert_eq!((err.line, err.column), (Some(4), Some(5)), "{err}");
    assert!(err.message.contains("limits.max_events"), "{err}");
}

#[test]
fn missing_file_errors_cleanly() {
    let err = load_scenario(Path::new("/nonexistent/dir/none.ron")).expect_err("no such file");
    assert_eq!((err.line, err.column), (None, None));
    assert!(err.message.contains("No such file"), "{err}");
    assert!(err.to_string().starts_with("/nonexistent/dir/none.ron: cannot read"), "{err}");
}

/// What is not a scenario file says what it is: a directory, a trace (binary, text, or cut
/// short), a binary file, an endless device. A byte-order mark before a scenario is ignored.
#[test]
fn files_that_are_not_scenarios_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("written");
        path
    };
    let scenario = load_scenario(&data("minimal.ron")).expect("loads");
    let (trace, _) = replay::record(&scenario, 1);
    let binary = write("run.trace", &trace.to_binary());
    let text = write("run.trace.ron", replay::text::to_text(&trace).as_bytes());
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend(std::fs::read(data("minimal.ron")).expect("readable"));
    assert_eq!(load_scenario(&write("bom.ron", &bom)).expect("a BOM is ignored"), scenario);
    let cases = [
        (dir.path().to_path_buf(), "is a directory, not a scenario file"),
        (binary, "is a trace, not a scenario: replay it with"),
        (text, "is a trace, not a scenario: replay it with"),
        (write("cut.trace", b"PGT"), "is a binary trace, not a scenario (and a broken one: file is too short to be a binary trace"),
        (write("junk.bin", &[0xff, 0x00, 0x9c, 0x80]), "not a scenario: the file is not UTF-8 text"),
        (write("bom_bad.ron", b"\xef\xbb\xbf(name: 3)"), "1:7: Expected string"),
        (Path::new("/dev/zero").to_path_buf(), "is larger than 1024 MiB"),
    ];
    for (path, wanted) in cases {
        let err = load_scenario(&path).expect_err("not a scenario");
        assert!(err.to_string().contains(wanted), "{}: {err}", path.display());
    }
}

#[test]
fn valid_scenario_parses() {
    let s = load_scenario(&data("minimal.ron")).expect("minimal.ron is valid");
    assert_eq!(s.name, "minimal");
    assert_eq!(s.seed, 7);
    assert_eq!(s.limits.max_time_ns, 10_000_000);
    assert_eq!(s.limits.max_events, 1_000_000, "unwritten limits keep their defaults");
    assert_eq!(s.tasks[0].domain, "user");
    assert!(matches!(s.tasks[0].behaviour, Behaviour::Idle));
    assert!(matches!(&s.steps[1].op, StepOp::Use { cap, .. } if cap == "file"));
    assert_eq!(s.expect.verdict, ExpectedVerdict::Pass);
}

#[test]
fn implicit_some_and_explicit_some_both_work() {
    let text = |bind: &str| {
        format!("(name: \"t\", tasks: [(name: \"a\", behaviour: Idle)], workload: {bind}, steps: [(op: Lookup(task: \"a\", service: \"s\", bind: \"x\"))])")
    };
    let implicit = parse_scenario(&text("(ops: 3)"), "t").expect("implicit Some");
    let explicit = parse_scenario(&text("Some((ops: 3))"), "t").expect("explicit Some");
    assert_eq!(implicit, explicit);
    assert_eq!(implicit.workload.map(|w| (w.ops, w.tasks)), Some((3, 4)));
}

// ---- the `scenario` binary ----

fn scenario_cmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scenario")).args(args).output().expect("the scenario binary runs")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

#[test]
fn binary_exits_2_on_malformed_file() {
    let path = data("malformed.ron");
    let out = scenario_cmd(&[path_str(&path)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: ") && stderr.contains("malformed.ron:5:5: Expected comma"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn binary_exits_2_on_invalid_scenario_and_missing_file() {
    let path = data("unknown_task.ron");
    assert_eq!(scenario_cmd(&[path_str(&path)]).status.code(), Some(2));
    assert_eq!(scenario_cmd(&["/nonexistent/none.ron"]).status.code(), Some(2));
}

#[test]
fn binary_exits_2_on_bad_arguments() {
    let path = data("minimal.ron");
    assert_eq!(scenario_cmd(&[path_str(&path), "--seed", "banana"]).status.code(), Some(2));
    assert_eq!(scenario_cmd(&[path_str(&path), "--format", "xml"]).status.code(), Some(2));
    assert_eq!(scenario_cmd(&[]).status.code(), Some(2));
}

#[test]
fn binary_help_exits_0() {
    let out = scenario_cmd(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in ["--seed", "--format", "--check-determinism", "--audit", "--events-per-second", "Exit codes"] {
        assert!(help.contains(needle), "help lacks {needle}: {help}");
    }
}

#[test]
fn binary_runs_a_passing_scenario() {
    let path = data("minimal.ron");
    let out = scenario_cmd(&[path_str(&path), "--check-determinism", "--audit"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("PASS"), "{stdout}");
    assert!(stdout.contains("determinism: ok (2 runs, hash "), "{stdout}");
    assert!(stdout.contains("audit log ("), "{stdout}");
    assert!(stdout.contains(&format!("--bin scenario -- {} --seed 7", path_str(&path))), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("wall-clock: "));
}

#[test]
fn binary_json_output_is_valid_and_seed_overrides() {
    let path = data("minimal.ron");
    let out = scenario_cmd(&[path_str(&path), "--format", "json", "--seed", "0x10"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["report"]["seed"], "16", "seeds are decimal strings");
    assert_eq!(json["report"]["trace_hash"], json["trace_hash_hex"], "hashes are 16 hex digits");
    assert_eq!(json["passed"], true);
    assert!(json["reproduce"].as_str().is_some_and(|r| r.ends_with("--seed 16")), "{json}");
}

/// JSON readers hold numbers as doubles: no integer above 2^53 may appear as a number, even for
/// the largest seed and with forged capability ids (bit 63) in the audit log.
#[test]
fn binary_json_output_has_no_number_a_double_cannot_hold() {
    fn largest(v: &serde_json::Value) -> u64 {
        match v {
            serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
            serde_json::Value::Array(a) => a.iter().map(largest).max().unwrap_or(0),
            serde_json::Value::Object(o) => o.values().map(largest).max().unwrap_or(0),
            _ => 0,
        }
    }
    let path = data("example.ron");
    let out = scenario_cmd(&[path_str(&path), "--format", "json", "--audit", "--check-determinism", "--seed", "0xffffffffffffffff"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["report"]["seed"], "18446744073709551615");
    assert!(largest(&json) <= 1 << 53, "{json}");
}

#[test]
fn binary_text_output_is_deterministic() {
    let path = data("minimal.ron");
    let a = scenario_cmd(&[path_str(&path), "--seed", "3"]);
    let b = scenario_cmd(&[path_str(&path), "--seed", "3"]);
    assert_eq!(a.stdout, b.stdout);
}

// ---- the expectation and step forms of the scenario language ----

/// A valid scenario using the newer forms; each case below breaks one line of it.
const LANGUAGE: &str = r#"(
  name: "lang",
  tasks: [(name: "k", domain: "core", behaviour: Idle, caps: [(label: "f", kind: "file_read")]), (name: "u", behaviour: Idle), (name: "srv", behaviour: Server(service: "s"))],
  steps: [
    (op: CreateChannel(task: "u", channel: "q")),
    (at_ns: 10, op: Receive(task: "u", channel: "q", timeout_ns: 100), expect: Err(Timeout)),
    (at_ns: 20, op: IsValid(task: "k", cap: "f"), expect: Valid),
    (at_ns: 30, op: Spawn(task: "k", child: (name: "kid", behaviour: Idle), give: ["f"]), expect: Ok),
  ],
  expect: (
    audit: [(CrossDomainDelegation(from_domain: "core", to_domain: "user"), Exactly(1))],
    task_counters: [("kid", Incarnations, Exactly(1))],
    order: [(Step(2), Spawned(task: "kid"))],
    timing: [(event: Step(1), at_ns: 110)],
  ),
)
"#;

/// `(text replaced, replacement, line, column, what the message must say)`.
const LANGUAGE_ERRORS: &[(&str, &str, usize, usize, &str)] = &[
    ("from_domain: \"core\"", "from_dom: \"core\"", 11, 36, "Unexpected field named `from_dom` in `CrossDomainDelegation`, expected one of `cap`, `from_task`, `from_domain`, `to_task`, or `to_domain`"),
    ("CrossDomainDelegation(", "CrossDomain(", 11, 14, "Unexpected variant named `CrossDomain` in enum `AuditPattern`, expected one of `Granted`"),
    ("to_domain: \"user\"", "to_domain: \"usr\"", 11, 68, "unknown trust domain `usr`: expected one of `core`, `user` (expect.audit[0])"),
    ("(\"kid\", Incarnations", "(\"kyd\", Incarnations", 12, 22, "unknown task `kyd`: expected one of `k`, `kid`, `srv`, `u` (expect.task_counters[0])"),
    ("Incarnations", "Incarnation", 12, 29, "Unexpected variant named `Incarnation` in enum `TaskCounter`"),
    ("Step(2), Spawned", "Nth(0, Step(2)), Spawned", 13, 13, "`Nth` counts from 1"),
    ("Step(2), Spawned", "Step(9), Spawned", 13, 13, "no step 9 (the scenario has 4 steps, numbered from 0) (expect.order[0])"),
    ("at_ns: 110)", "when: 110)", 14, 31, "Unexpected field named `when` in `Timing`"),
    ("(event: Step(1), at_ns: 110)", "(event: Step(1))", 14, 14, "a timing expectation needs at least one of `at_ns`, `after_ns`, `within_ns` (expect.timing[0])"),
    ("expect: Valid", "expect: Ok", 7, 51, "an IsValid step answers `Valid` or `Invalid(<reason>)`"),
    ("expect: Err(Timeout)", "expect: Invalid(NotOwner)", 6, 72, "`Valid` and `Invalid(<reason>)` answer an IsValid step; this is a Receive step: expected Ok or Err(<kernel error kind>) (steps[1].expect)"),
    ("task: \"u\", channel: \"q\", timeout_ns", "task: \"srv\", channel: \"q\", timeout_ns", 6, 56, "a blocking Receive (timeout_ns > 0) parks its task, so the task must be Idle: `srv` runs a Server (steps[1].op.timeout_ns)"),
    ("give: [\"f\"]", "give: [\"g\"]", 8, 84, "unknown capability label `g` (not granted before this step): expected one of `f` (steps[3].op.give[0])"),
    ("child: (name: \"kid\"", "child: (name: \"u\"", 8, 52, "duplicate task name `u` (steps[3].op.child.name)"),
];

#[test]
fn errors_in_the_language_forms_name_their_place_and_the_alternatives() {
    parse_scenario(LANGUAGE, "lang.ron").unwrap_or_else(|e| panic!("the base text is valid: {e}"));
    for (from, to, line, column, message) in LANGUAGE_ERRORS {
        assert!(LANGUAGE.contains(from), "the case {from:?} matches the base text");
        let err = parse_err(&LANGUAGE.replacen(from, to, 1));
        assert!(err.message.contains(message), "{from} -> {to}: {err}");
        assert_eq!((err.line, err.column), (Some(*line), Some(*column)), "{from} -> {to}: {err}");
    }
}

#[test]
fn binary_names_the_line_of_each_unmet_expectation_and_the_nearest_events() {
    let path = data("unmet.ron");
    let out = scenario_cmd(&[path_str(&path)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unmet.ron:10:54 (steps[1].expect): expected step 1 (Use at t=0.002000ms) returns Ok; actual Err(InvalidCapability)"), "{stderr}");
    assert!(stderr.contains("unmet.ron:13:17 (expect.audit[0]): expected audit CrossDomainDelegation(from_domain: \"user\") exactly 1; actual 0"), "{stderr}");
    assert!(stderr.contains("nearest: t=0.001000ms CrossDomainDelegation { cap: cap#0 \"f\", from_task: task#0 \"k\", from_domain: \"core\""), "{stderr}");
    let json = scenario_cmd(&[path_str(&path), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("stdout is JSON");
    assert_eq!(json["report"]["expectations"][1]["location"], serde_json::json!([10, 54]), "{json}");
}

/// The network part of the language: `(from, to, line, column, message)` edits of the two-node file.
const NETWORK: &str = include_str!("../../scenarios/net_two_node_exchange.ron");
const NETWORK_ERRORS: &[(&str, &str, usize, usize, &str)] = &[
    ("to: \"beta\", latency", "to: \"gamma\", latency", 15, 37, "no node named `gamma` (nodes: alpha, beta) (network.links[0].to)"),
    ("address: \"10.0.0.2\"", "address: \"10.0.0.1\"", 13, 20, "the address 10.0.0.1 is used twice (network.nodes[1])"),
    ("address: \"10.0.0.2\"", "address: \"10.0.0.300\"", 13, 38, "`10.0.0.300` is not an IPv4 address"),
    ("(\"alpha\", PeersDiscovered", "(\"omega\", PeersDiscovered", 21, 14, "no node named `omega` (nodes: alpha, beta) (expect.network[0])"),
    ("streams: 2", "streams: 0", 16, 37, "expected at least one stream (network.app.streams)"),
    (
        "latency_ns: 1_000_000)],",
        "latency_ns: 1_000_000)], faults: (node_faults: [(node: 5, crash_at_ns: 10)]),",
        15,
        93,
        "node#5 does not exist (2 nodes) (fault plans number nodes from 0 in declaration order) (network.faults.node_faults[0])",
    ),
];

#[test]
fn errors_in_the_network_name_their_place_and_the_alternatives() {
    if !scenarios::runs_here(NETWORK) {
        // A lite build refuses a canonical network, at the section, naming the build to use.
        let err = parse_err(NETWORK);
        assert!(err.message.contains("default build"), "{err}");
        assert_eq!(err.line, Some(NETWORK.lines().position(|l| l.trim_start().starts_with("network:")).expect("a network") + 1));
        return;
    }
    parse_scenario(NETWORK, "net.ron").unwrap_or_else(|e| panic!("the base text is valid: {e}"));
    for (from, to, line, column, message) in NETWORK_ERRORS {
        assert!(NETWORK.contains(from), "the case {from:?} matches the base text");
        let err = parse_err(&NETWORK.replacen(from, to, 1));
        assert!(err.message.contains(message), "{from} -> {to}: {err}");
        assert_eq!((err.line, err.column), (Some(*line), Some(*column)), "{from} -> {to}: {err}");
    }
}
