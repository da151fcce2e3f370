//! Human-readable rendering of a [`RunReport`]: the multi-line run summary, the audit log and the
//! reproduce command.
//!
//! Everything here is a pure function of the report and the scenario path, so the text is as
//! deterministic as the run itself (snapshot tests rely on it). Wall-clock measurements never
//! appear here; the binary prints them separately on stderr.

use model::report::{ExpectationResult, StopReason};
use model::RunReport;
use std::fmt::Display;

/// Width of the label column of the summary.
const LABEL: usize = 14;

/// The command that re-runs this exact run.
pub fn reproduce_command(scenario_path: &str, seed: u64) -> String {
    format!("cargo run --release --bin scenario -- {} --seed {seed}", shell_quote(scenario_path))
}

/// The command that reproduces `report`'s run of the scenario at `scenario_path`: a run of a lite
/// network needs a lite build; every other run is the same in both builds, so the default one.
pub fn reproduce_run_command(report: &RunReport, scenario_path: &str) -> String {
    let command = reproduce_command(scenario_path, report.seed);
    match report.lite {
        Some(_) => command.replacen("--release", "--release --no-default-features --features net-bringup-lite", 1),
        None => command,
    }
}

/// Quotes a path for a POSIX shell when it contains anything beyond safe characters.
fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./+,:=@%".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Nanoseconds as milliseconds with three decimals (truncated, integer arithmetic).
pub fn format_ms(nanos: u64) -> String {
    format!("{}.{:03} ms", nanos / 1_000_000, (nanos % 1_000_000) / 1_000)
}

/// `PASS` when every expectation was met, `FAIL` otherwise.
pub fn verdict(report: &RunReport) -> &'static str {
    if report.passed() {
        "PASS"
    } else {
        "FAIL"
    }
}

fn stop_text(stop: StopReason) -> &'static str {
    match stop {
        StopReason::Quiescent => "Quiescent (no event left)",
        StopReason::TimeLimit => "TimeLimit (virtual time limit reached)",
        StopReason::EventLimit => "EventLimit (event limit reached)",
        StopReason::Violation => "Violation (stopped at the first violation)",
        StopReason::Interrupted => "Interrupted (the run's observer stopped it)",
    }
}

/// Appends `label value` with the label padded to the label column.
fn row(out: &mut String, label: &str, value: impl Display) {
    out.push_str(&format!("{label:<LABEL$} {value}\n"));
}

/// Minimum width of the name column of the tables, so the audit and invariant tables line up.
const TABLE_NAME: usize = 32;

/// Appends `  name  value` rows with the names padded to a common width.
fn table<N: Display, V: Display>(out: &mut String, rows: &[(N, V)]) {
    let names: Vec<String> = rows.iter().map(|(n, _)| n.to_string()).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).max(TABLE_NAME);
    for (name, (_, value)) in names.iter().zip(rows) {
        out.push_str(&format!("  {name:<width$}  {value:>10}\n"));
    }
}

/// The readable multi-line summary of a run (deterministic; see the module docs).
pub fn render_summary(report: &RunReport, scenario_path: &str) -> String {
    let mut out = String::new();
    header(&mut out, report, scenario_path);
    counters(&mut out, report);
    invariants(&mut out, report);
    violations(&mut out, report);
    expectations(&mut out, report, scenario_path);
    out.push('\n');
    row(&mut out, "trace hash", report.trace_hash_hex());
    row(&mut out, "reproduce", reproduce_run_command(report, scenario_path));
    out
}

fn header(out: &mut String, report: &RunReport, scenario_path: &str) {
    let met = report.expectations.iter().filter(|e| e.met).count();
    let total = report.expectations.len();
    row(out, "scenario", format!("{}  ({scenario_path})", report.scenario));
    row(out, "seed", report.seed);
    row(out, "verdict", format!("{}  ({met} of {total} expectations met)", verdict(report)));
    row(out, "stop", stop_text(report.stop));
    row(out, "events", report.stats.events);
    row(out, "virtual time", format_ms(report.end_time.nanos()));
    row(out, "choices", format!("{} drawn", report.choices_drawn));
}

fn counters(out: &mut String, report: &RunReport) {
    let s = &report.stats;
    out.push('\n');
    row(
        out,
        "messages",
        format!(
            "sent {}, delivered {}, dropped {}, delayed {}, reordered {}",
            s.messages_sent, s.messages_delivered, s.messages_dropped, s.messages_delayed, s.messages_reordered
        ),
    );
    row(out, "failures", format!("send {}, receive {}", s.send_failures, s.receive_failures));
    row(out, "faults", format!("injected {}, lifecycle crashes {}", s.faults_injected, s.lifecycle_crashes));
    row(out, "tasks", format!("spawned {}, exits {}, restarts {}", s.tasks_spawned, s.task_exits, s.restarts));
    row(
        out,
        "requests",
        format!("completed {}, failed {}, rejected {}", s.requests_completed, s.requests_failed, s.requests_rejected),
    );
    row(out, "capabilities", format!("{} ops", s.capability_ops));
    row(out, "workload", format!("{} ops", s.workload_ops));
    row(out, "wake-ups", format!("{} ignored (their parking had ended)", s.ignored_wakeups));
    if report.authority.is_some() {
        row(
            out,
            "pipelines",
            format!(
                "started {}, succeeded {}, failed {}, cancelled {}; stage attempts {}",
                s.pipelines_started, s.pipelines_succeeded, s.pipelines_failed, s.pipelines_cancelled, s.stage_attempts
            ),
        );
        row(out, "policy", format!("{} evaluations, {} refusals", s.policy_evaluations, s.policy_refusals));
        row(out, "budgets", format!("{} exhaustions", s.budget_exhaustions));
        row(out, "storage", format!("{} ops, {} commits, {} rollbacks", s.storage_ops, s.storage_commits, s.storage_rollbacks));
    }
    out.push_str("\naudit events (kind, count)\n");
    let audit: Vec<(String, u64)> = report.audit_counts.iter().map(|(k, n)| (format!("{k:?}"), *n)).collect();
    table(out, &audit);
}

fn invariants(out: &mut String, report: &RunReport) {
    out.push_str("\ninvariants (id, checks, situations)\n");
    let width = report.invariant_checks.iter().map(|(id, _)| id.chars().count()).max().unwrap_or(0).max(TABLE_NAME);
    for (id, n) in &report.invariant_checks {
        let situations = report.invariant_situations.iter().find(|(i, _)| i == id).map_or(0, |(_, s)| s.len());
        out.push_str(&format!("  {id:<width$}  {n:>10}  {situations:>3}\n"));
    }
    operations(out, report);
    fault_rules(out, report);
    network(out, report);
    lite(out, report);
}

/// The bring-up lite node: its address, echo replies, fetches and non-zero counters.
fn lite(out: &mut String, report: &RunReport) {
    let Some(lite) = &report.lite else { return };
    out.push_str("\nlite network\n");
    let address = lite.address.map_or("none (DHCP still asking)".to_string(), |a| format!("{a}{}", if lite.fallback { " (fallback)" } else { " (lease)" }));
    out.push_str(&format!("  address     {address}\n"));
    out.push_str(&format!("  echoes      {:?}\n", lite.echo_replies));
    for f in &lite.fetches {
        let end = match f.status {
            None => "still waiting".to_string(),
            Some(0) => format!("timed out after {} attempt(s)", f.attempts),
            Some(s) => format!("{s} {:?} after {} attempt(s)", f.body, f.attempts),
        };
        out.push_str(&format!("  fetch       {}: {end}\n", f.url));
    }
    let counters: Vec<String> = model::report::LiteCounter::ALL.iter().filter(|c| lite.get(**c) > 0).map(|c| format!("{c:?} {}", lite.get(*c))).collect();
    out.push_str(&format!("  counters    {}\n", if counters.is_empty() { "nothing".to_string() } else { counters.join(", ") }));
}

/// Each node of the scenario's network: its address, state and non-zero counters.
fn network(out: &mut String, report: &RunReport) {
    let Some(net) = &report.network else { return };
    out.push_str("\nnetwork (node, address, state, counters)\n");
    for n in &net.nodes {
        let state = if n.up { format!("up (incarnation {})", n.incarnation) } else { "down".to_string() };
        let counters: Vec<String> = model::scenario::NetCounter::ALL.iter().filter(|c| n.get(**c) > 0).map(|c| format!("{c:?} {}", n.get(*c))).collect();
        out.push_str(&format!("  {:<10} {:<12} {state}: {}\n", n.name, n.address.to_string(), if counters.is_empty() { "nothing".to_string() } else { counters.join(", ") }));
    }
}

/// Each kernel operation: calls that ended `Ok`, and those that ended with each error kind.
fn operations(out: &mut String, report: &RunReport) {
    if report.operations.is_empty() {
        return;
    }
    out.push_str("\noperations (op, ok, errors)\n");
    for o in &report.operations {
        let errors: Vec<String> = o.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let never = if o.calls() == 0 { "never called" } else { "" };
        out.push_str(&format!("  {:<14}  {:>10}  {}{never}\n", o.op, o.ok, errors.join(", ")));
    }
}

/// Each message-fault rule: how often it was evaluated and how often it fired with effect.
fn fault_rules(out: &mut String, report: &RunReport) {
    if report.fault_rules.is_empty() {
        return;
    }
    out.push_str("\nfault rules (rule, evaluated, fired)\n");
    let width = report.fault_rules.iter().map(|r| r.rule.chars().count()).max().unwrap_or(0);
    for (i, r) in report.fault_rules.iter().enumerate() {
        let never = if r.fired == 0 { "  never fired" } else { "" };
        out.push_str(&format!("  [{i}] {:<width$}  {:>9} {:>9}{never}\n", r.rule, r.evaluated, r.fired));
    }
}

fn violations(out: &mut String, report: &RunReport) {
    out.push('\n');
    if report.violations.is_empty() {
        row(out, "violations", "none");
        return;
    }
    row(out, "violations", report.violations.len());
    for (i, v) in report.violations.iter().enumerate() {
        out.push_str(&format!("  [{}] {} (subsystem {}) at event {}, virtual time {}\n", i + 1, v.invariant, v.subsystem, v.event, v.at));
        out.push_str(&format!("      {}\n", v.message));
        if !v.objects.is_empty() {
            out.push_str(&format!("      objects: {}\n", v.objects.join(", ")));
        }
    }
}

fn expectations(out: &mut String, report: &RunReport, scenario_path: &str) {
    out.push('\n');
    if report.expectations.is_empty() {
        row(out, "expectations", "none");
        return;
    }
    row(out, "expectations", report.expectations.len());
    for e in &report.expectations {
        if e.met {
            out.push_str(&format!("  ok      expected {}; actual {}\n", e.expected, e.actual));
        } else {
            out.push_str(&format!("  FAILED  {}: expected {}; actual {}\n", place(e, scenario_path), e.expected, e.actual));
            for n in &e.nearest {
                out.push_str(&format!("          nearest: {n}\n"));
            }
        }
    }
}

/// `file:line:column` of an expectation when it was located, else `file (path)`.
fn place(e: &ExpectationResult, scenario_path: &str) -> String {
    match e.location {
        Some((line, column)) => format!("{scenario_path}:{line}:{column} ({})", e.path),
        None => format!("{scenario_path} ({})", e.path),
    }
}

/// The unmet expectations, each with where it is written and the nearest events (empty when the
/// run passed).
pub fn render_unmet(report: &RunReport, scenario_path: &str) -> String {
    let mut out = String::new();
    for e in report.expectations.iter().filter(|e| !e.met) {
        out.push_str(&format!("unmet expectation at {}: expected {}; actual {}\n", place(e, scenario_path), e.expected, e.actual));
        for n in &e.nearest {
            out.push_str(&format!("  nearest: {n}\n"));
        }
    }
    out
}

/// The capability audit log, one record per line: `<virtual time> <event>`.
pub fn render_audit(report: &RunReport) -> String {
    let records = report.audit.records();
    let mut out = format!("audit log ({} records)\n", records.len());
    for r in records {
        out.push_str(&format!("  {:>16} {}\n", r.at.to_string(), r.event.describe(&report.names)));
    }
    out
}
