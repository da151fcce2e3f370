//! Evaluation of a scenario's expectations against a finished run, from what the run kept: the
//! step results and values, the audit log, the counters (global, per task, per service) and,
//! when the scenario has order, timing or occurrence expectations, the watch's log.
//!
//! One [`ExpectationResult`] per expectation, in this order: the verdict, each step's own
//! `expect` (in step order), then `expect.steps`, `audit`, `counters`, `task_counters`,
//! `service_counters`, `occurrences`, `order`, `timing`, then the authority and resource
//! expectations ([`authority`]): `resources`, `usage`, `policy`, `pipelines`, `storage`; then the
//! network counters ([`network`]), or in lite builds `expect.lite` (`lite`); then the interactive ones ([`interactive`]): the focus trail,
//! the workspace trail, each view; then `rules`. Each names its path in the scenario
//! (which the loader turns into a line) and, when unmet, the events nearest to what was expected.

mod authority;
mod interactive;
#[cfg(feature = "net-bringup-lite")]
mod lite;
mod network;

use crate::capability::AuditRecord;
use crate::names::Symbol;
use crate::pattern::{AuditPattern, EventPattern, Resolve};
use crate::report::{ExpectationResult, RunReport, StepResult, StepValue};
use crate::scenario::{Count, ExpectedVerdict, PayloadKind, Scenario, StepOutcome, Timing};
use crate::stats::{ServiceCounter, TaskCounter};
use crate::watch::{describe_audit, Occurrence, PatternLog};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// How many events an unmet expectation shows.
const SHOWN: usize = 3;

/// One result per expectation (see the module docs for the order).
pub fn evaluate(scenario: &Scenario, report: &RunReport) -> Vec<ExpectationResult> {
    let task_names: Vec<Symbol> = report.tasks.iter().map(|t| t.name).collect();
    let r = Resolve { names: &report.names, task_names: &task_names, caps: &report.cap_labels, channels: &report.channel_labels };
    let ev = Eval { scenario, report, r: &r };
    let e = &scenario.expect;
    let mut out = vec![verdict(&e.verdict, report)];
    for (i, step) in scenario.steps.iter().enumerate() {
        if let Some(outcome) = &step.expect {
            out.push(ev.step(i, outcome, format!("steps[{i}].expect")));
        }
    }
    for (j, s) in e.steps.iter().enumerate() {
        out.push(ev.step(s.step as usize, &s.result, format!("expect.steps[{j}]")));
    }
    for (j, (pattern, count)) in e.audit.iter().enumerate() {
        out.push(ev.audit(pattern, *count, format!("expect.audit[{j}]")));
    }
    for (j, (counter, count)) in e.counters.iter().enumerate() {
        let n = report.stats.get(*counter);
        out.push(result(format!("expect.counters[{j}]"), format!("{counter:?} {}", count_text(*count)), format!("{n}"), count.admits(n)));
    }
    for (j, (task, counter, count)) in e.task_counters.iter().enumerate() {
        out.push(ev.task_counter(task, *counter, *count, format!("expect.task_counters[{j}]")));
    }
    for (j, (service, counter, count)) in e.service_counters.iter().enumerate() {
        out.push(ev.service_counter(service, *counter, *count, format!("expect.service_counters[{j}]")));
    }
    for (j, (pattern, count)) in e.occurrences.iter().enumerate() {
        out.push(ev.occurrences(pattern, *count, format!("expect.occurrences[{j}]")));
    }
    for (j, (a, b)) in e.order.iter().enumerate() {
        out.push(ev.order(a, b, format!("expect.order[{j}]")));
    }
    for (j, t) in e.timing.iter().enumerate() {
        out.push(ev.timing(t, format!("expect.timing[{j}]")));
    }
    ev.authority(&mut out);
    ev.network(&mut out);
    #[cfg(feature = "net-bringup-lite")]
    ev.lite(&mut out);
    ev.interactive(&mut out);
    for (j, r) in e.rules.iter().enumerate() {
        out.push(rule(report, r, format!("expect.rules[{j}]")));
    }
    out
}

/// A message-fault rule's firings (and evaluations) against the run's rule counts.
fn rule(report: &RunReport, r: &crate::scenario::RuleExpectation, path: String) -> ExpectationResult {
    rule_result(&report.fault_rules, r, path)
}

/// A fault rule's firings (and evaluations) against `rules`, the run's counts of its kind.
fn rule_result(rules: &[crate::report::RuleCount], r: &crate::scenario::RuleExpectation, path: String) -> ExpectationResult {
    let counts = rules.get(r.rule as usize);
    let (evaluated, fired) = counts.map_or((0, 0), |c| (c.evaluated, c.fired));
    let mut expected = format!("rule {} fires {}", r.rule, count_text(r.fired));
    let mut met = r.fired.admits(fired);
    if let Some(e) = r.evaluated {
        expected.push_str(&format!(", evaluated {}", count_text(e)));
        met &= e.admits(evaluated);
    }
    let actual = format!("fired {fired} of {evaluated} evaluations ({})", counts.map_or("no such rule", |c| c.rule.as_str()));
    result(path, expected, actual, met)
}

fn result(path: String, expected: String, actual: String, met: bool) -> ExpectationResult {
    ExpectationResult { path, expected, actual, met, nearest: Vec::new(), location: None }
}

fn verdict(expected: &ExpectedVerdict, report: &RunReport) -> ExpectationResult {
    let first = report.first_violation();
    let actual = match first {
        None => String::from("no violation"),
        Some(v) => format!("{} violated at event {}", v.invariant, v.event),
    };
    let path = String::from("expect.verdict");
    match expected {
        ExpectedVerdict::Pass => result(path, String::from("no violation"), actual, first.is_none()),
        ExpectedVerdict::Violation(id) => result(path, format!("{id} violated first"), actual, first.is_some_and(|v| &v.invariant == id)),
    }
}

fn count_text(count: Count) -> String {
    match count {
        Count::Exactly(n) => format!("exactly {n}"),
        Count::AtLeast(n) => format!("at least {n}"),
        Count::AtMost(n) => format!("at most {n}"),
    }
}

/// Virtual time as milliseconds with six decimals (`t=0.250000ms`).
fn at(t: crate::time::Instant) -> String {
    format!("t={t}")
}

struct Eval<'a> {
    scenario: &'a Scenario,
    report: &'a RunReport,
    r: &'a Resolve<'a>,
}

impl Eval<'_> {
    // ----- steps ---------------------------------------------------------------------------

    fn step(&self, i: usize, outcome: &StepOutcome, path: String) -> ExpectationResult {
        let result = self.report.step_results.get(i).copied().flatten();
        let value = self.report.step_values.get(i).copied().unwrap_or_default();
        let met = result == Some(outcome.result()) && self.detail_holds(outcome, value);
        let op = self.scenario.steps.get(i).map_or("?", |s| s.op.name());
        let at_ns = self.scenario.steps.get(i).map_or(0, |s| s.at_ns);
        let expected = format!("step {i} ({op} at {}) returns {}", at(crate::time::Instant(at_ns)), self.outcome_text(outcome));
        self::result(path, expected, self.actual_text(result, value), met)
    }

    fn detail_holds(&self, outcome: &StepOutcome, value: StepValue) -> bool {
        match (outcome, value) {
            (StepOutcome::Valid, StepValue::Validity(v)) => v.is_ok(),
            (StepOutcome::Invalid(reason), StepValue::Validity(v)) => v == Err(*reason),
            (StepOutcome::Valid | StepOutcome::Invalid(_), _) => false,
            (StepOutcome::Received { action, from, answers, payload }, StepValue::Received(m)) => {
                let payload_ok = payload.is_none_or(|p| p == PayloadKind::of(&m.payload));
                let action_ok = action.as_ref().is_none_or(|a| self.r.names.resolve(m.action) == a);
                let from_ok = from.as_ref().is_none_or(|f| m.source.is_some_and(|t| self.r.task_is(f, t)));
                let answers_ok = answers.is_none_or(|s| match self.report.step_values.get(s as usize) {
                    Some(StepValue::Sent(id)) => m.correlation_id == Some(*id),
                    _ => false,
                });
                action_ok && from_ok && answers_ok && payload_ok
            }
            (StepOutcome::Received { .. }, _) => false,
            (StepOutcome::Ok | StepOutcome::Err(_), _) => true,
        }
    }

    fn outcome_text(&self, outcome: &StepOutcome) -> String {
        match outcome {
            StepOutcome::Ok => String::from("Ok"),
            StepOutcome::Err(kind) => format!("Err({kind})"),
            StepOutcome::Valid => String::from("Valid"),
            StepOutcome::Invalid(reason) => format!("Invalid({reason:?})"),
            StepOutcome::Received { action, from, answers, payload } => {
                let mut parts = Vec::new();
                if let Some(p) = payload {
                    parts.push(format!("payload {p:?}"));
                }
                if let Some(a) = action {
                    parts.push(format!("action {a:?}"));
                }
                if let Some(f) = from {
                    parts.push(format!("from {f:?}"));
                }
                if let Some(s) = answers {
                    parts.push(format!("answering step {s}'s message"));
                }
                format!("a message ({})", if parts.is_empty() { String::from("any") } else { parts.join(", ") })
            }
        }
    }

    fn actual_text(&self, result: StepResult, value: StepValue) -> String {
        match (result, value) {
            (None, _) => String::from("nothing (the step did not complete)"),
            (Some(_), StepValue::Validity(Ok(()))) => String::from("Valid"),
            (Some(_), StepValue::Validity(Err(reason))) => format!("Invalid({reason:?})"),
            (Some(Ok(())), StepValue::Received(m)) => {
                let from = m.source.map_or(String::from("?"), |t| self.r.task(t));
                let answers = match m.correlation_id.and_then(|c| self.sent_by(c)) {
                    Some(step) => format!(", answering step {step}'s message"),
                    None => m.correlation_id.map_or(String::new(), |c| format!(", correlation {c}")),
                };
                format!("a message ({}, action {:?}, from {from}{answers}, payload {:?})", m.id, self.r.names.resolve(m.action), PayloadKind::of(&m.payload))
            }
            (Some(Ok(())), _) => String::from("Ok"),
            (Some(Err(kind)), _) => format!("Err({kind})"),
        }
    }

    /// The step that sent message `id`.
    fn sent_by(&self, id: crate::ids::MessageId) -> Option<usize> {
        self.report.step_values.iter().position(|v| *v == StepValue::Sent(id))
    }

    // ----- audit -----------------------------------------------------------------------------

    fn audit(&self, pattern: &AuditPattern, count: Count, path: String) -> ExpectationResult {
        let records = self.report.audit.records();
        let matching: Vec<&AuditRecord> = records.iter().filter(|rec| pattern.matches(&rec.event, self.r)).collect();
        let n = matching.len() as u64;
        let mut out = result(path, format!("audit {} {}", pattern.describe(), count_text(count)), format!("{n}"), count.admits(n));
        if !out.met {
            let near = if too_many(count, n) { Vec::new() } else { self.near_records(pattern, records) };
            out.nearest = if near.is_empty() { matching.iter().take(SHOWN).map(|rec| self.record(rec)).collect() } else { near };
            if out.nearest.is_empty() {
                out.nearest.push(format!("no {} record at all", pattern.kind.name()));
            }
        }
        out
    }

    fn record(&self, rec: &AuditRecord) -> String {
        format!("{} {}", at(rec.at), describe_audit(&rec.event, self.r))
    }

    /// The records of the pattern's kind that match the most written fields (none if it has no
    /// written field: then every record of the kind matched).
    fn near_records(&self, pattern: &AuditPattern, records: &[AuditRecord]) -> Vec<String> {
        let mut scored: Vec<(u32, &AuditRecord)> = records.iter().filter_map(|rec| pattern.score(&rec.event, self.r).filter(|(m, w)| m < w).map(|(m, _)| (m, rec))).collect();
        scored.sort_by_key(|(m, _)| core::cmp::Reverse(*m));
        scored.iter().take(SHOWN).map(|(m, rec)| format!("{} (near miss: {m} of the written fields match)", self.record(rec))).collect()
    }

    // ----- per task and per service -----------------------------------------------------------

    fn task_counter(&self, task: &str, counter: TaskCounter, count: Count, path: String) -> ExpectationResult {
        let symbol = self.report.names.get(task);
        let rows: Vec<_> = self.report.tasks.iter().filter(|t| Some(t.name) == symbol).collect();
        let n: u64 = rows.iter().map(|t| t.get(counter)).sum();
        let mut out = result(path, format!("task {task:?} {counter:?} {}", count_text(count)), format!("{n}"), count.admits(n));
        if !out.met {
            out.nearest = rows.iter().map(|t| format!("{}: {}", self.r.task(t.id), t.get(counter))).collect();
            if out.nearest.is_empty() {
                out.nearest.push(format!("no task named {task:?} was spawned"));
            }
        }
        out
    }

    fn service_counter(&self, service: &str, counter: ServiceCounter, count: Count, path: String) -> ExpectationResult {
        let stats = self.report.names.get(service).and_then(|s| self.report.services.get(s.index()));
        let n = stats.map_or(0, |s| s.get(counter));
        result(path, format!("service {service:?} {counter:?} {}", count_text(count)), format!("{n}"), count.admits(n))
    }

    // ----- watched events ---------------------------------------------------------------------

    fn log(&self, pattern: &EventPattern) -> Option<&PatternLog> {
        self.report.watch.as_ref().and_then(|w| w.of(pattern.base().0))
    }

    fn occurrence(&self, pattern: &EventPattern) -> Option<&Occurrence> {
        self.report.watch.as_ref().and_then(|w| w.occurrence(pattern))
    }

    fn occurrences(&self, pattern: &EventPattern, count: Count, path: String) -> ExpectationResult {
        let log = self.log(pattern);
        let n = log.map_or(0, |l| l.count);
        let mut out = result(path, format!("{} happens {}", pattern.describe(), count_text(count)), format!("{n} times"), count.admits(n));
        if !out.met {
            out.nearest = match log {
                Some(l) if too_many(count, n) || (l.near.is_empty() && !l.matches.is_empty()) => l.matches.iter().take(SHOWN).map(show).collect(),
                _ => self.near(pattern),
            };
        }
        out
    }

    fn near(&self, pattern: &EventPattern) -> Vec<String> {
        let log = self.log(pattern);
        let shown: Vec<String> = log.map(|l| l.near.iter().take(SHOWN).map(|(m, o)| format!("{} (near miss: {m} of the written fields match)", show(o))).collect()).unwrap_or_default();
        if !shown.is_empty() {
            return shown;
        }
        match (pattern.base(), log) {
            ((_, n), Some(l)) if n > 1 => vec![format!("only {} match(es) of {}", l.count, pattern.base().0.describe())],
            _ => vec![String::from("no event of that kind at all")],
        }
    }

    /// `"<pattern> at t=..., event N"` or `"<pattern> never happened"`.
    fn when(&self, pattern: &EventPattern) -> String {
        match self.occurrence(pattern) {
            Some(o) => format!("{} at {} (event {})", pattern.describe(), at(o.at), o.event),
            None => format!("{} never happened", pattern.describe()),
        }
    }

    fn order(&self, a: &EventPattern, b: &EventPattern, path: String) -> ExpectationResult {
        let (oa, ob) = (self.occurrence(a), self.occurrence(b));
        let met = matches!((oa, ob), (Some(x), Some(y)) if x.key() < y.key());
        let mut out = result(path, format!("{} before {}", a.describe(), b.describe()), format!("{}; {}", self.when(a), self.when(b)), met);
        if !met {
            for (p, o) in [(a, oa), (b, ob)] {
                match o {
                    Some(o) => out.nearest.push(show(o)),
                    None => out.nearest.extend(self.near(p)),
                }
            }
        }
        out
    }

    fn timing(&self, t: &Timing, path: String) -> ExpectationResult {
        let mut bounds = Vec::new();
        if let Some(x) = t.at_ns {
            bounds.push(format!("exactly {x} ns"));
        }
        if let Some(x) = t.after_ns {
            bounds.push(format!("at least {x} ns"));
        }
        if let Some(x) = t.within_ns {
            bounds.push(format!("at most {x} ns"));
        }
        let since = t.since.as_ref().map_or(String::from("the start"), |s| s.describe());
        let expected = format!("{} {} after {since}", t.event.describe(), bounds.join(" and "));
        let event = self.occurrence(&t.event);
        let base = match &t.since {
            Some(s) => self.occurrence(s).map(|o| o.at),
            None => Some(crate::time::Instant(0)),
        };
        let (actual, met) = match (event, base) {
            (Some(o), Some(b)) if o.at >= b => {
                let d = o.at.0 - b.0;
                let met = t.at_ns.is_none_or(|x| d == x) && t.after_ns.is_none_or(|x| d >= x) && t.within_ns.is_none_or(|x| d <= x);
                (format!("{d} ns ({})", self.when(&t.event)), met)
            }
            (Some(_), Some(_)) => (format!("{}, before {since}", self.when(&t.event)), false),
            (None, _) => (self.when(&t.event), false),
            (Some(_), None) => (format!("{since} never happened"), false),
        };
        let mut out = result(path, expected, actual, met);
        if !met {
            match event {
                Some(o) => out.nearest.push(show(o)),
                None => out.nearest.extend(self.near(&t.event)),
            }
            if let Some(s) = &t.since {
                match self.occurrence(s) {
                    Some(o) => out.nearest.push(show(o)),
                    None => out.nearest.extend(self.near(s)),
                }
            }
        }
        out
    }
}

/// Whether `n` is above the bound (so the matches themselves are the interesting events).
fn too_many(count: Count, n: u64) -> bool {
    match count {
        Count::Exactly(k) | Count::AtMost(k) => n > k,
        Count::AtLeast(_) => false,
    }
}

fn show(o: &Occurrence) -> String {
    format!("{} (event {}) {}", at(o.at), o.event, o.what)
}
