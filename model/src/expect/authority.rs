//! Evaluation of the authority and resource expectations (`resources`, `usage`, `policy`,
//! `pipelines`, `storage`) from the run's [`crate::report::AuthorityReport`]. Identities are named
//! by their task's name; a pipeline by its name and run number; an object by its label.

use super::{count_text, result, Eval, SHOWN};
use crate::budget::audit::ResourceEvent;
use crate::ids::ExecutionId;
use crate::names::Symbol;
use crate::report::{AuthorityReport, ExpectationResult, PipelineRecord};
use crate::scenario::{content_text, AttemptResult, DecisionKind, PipelineErrorKind, PipelineExpectation, PipelineOutcome, PolicyPattern, ResourceEventKind, ResourcePattern, StorageExpectation};
use crate::scenario::Count;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

impl Eval<'_> {
    /// Every authority expectation, in scenario order.
    pub(super) fn authority(&self, out: &mut Vec<ExpectationResult>) {
        let e = &self.scenario.expect;
        if e.resources.is_empty() && e.usage.is_empty() && e.policy.is_empty() && e.pipelines.is_empty() && e.storage.is_empty() {
            return;
        }
        let empty = AuthorityReport::default();
        let a = self.report.authority.as_ref().unwrap_or(&empty);
        let names: BTreeMap<ExecutionId, Symbol> = self.report.tasks.iter().map(|t| (t.exec, t.name)).collect();
        let x = Authority { ev: self, a, names };
        for (j, (p, count)) in e.resources.iter().enumerate() {
            out.push(x.resources(p, *count, format!("expect.resources[{j}]")));
        }
        for (j, (task, kind, count)) in e.usage.iter().enumerate() {
            out.push(x.usage(task, *kind, *count, format!("expect.usage[{j}]")));
        }
        for (j, (p, count)) in e.policy.iter().enumerate() {
            out.push(x.policy(p, *count, format!("expect.policy[{j}]")));
        }
        for (j, p) in e.pipelines.iter().enumerate() {
            out.push(x.pipeline(p, format!("expect.pipelines[{j}]")));
        }
        for (j, s) in e.storage.iter().enumerate() {
            out.push(x.storage(s, format!("expect.storage[{j}]")));
        }
    }
}

struct Authority<'a> {
    ev: &'a Eval<'a>,
    a: &'a AuthorityReport,
    names: BTreeMap<ExecutionId, Symbol>,
}

impl Authority<'_> {
    /// Whether `exec` is the identity of a task named `name`.
    fn is(&self, name: &str, exec: ExecutionId) -> bool {
        self.names.get(&exec).is_some_and(|s| self.ev.report.names.resolve(*s) == name)
    }

    fn who(&self, exec: ExecutionId) -> String {
        match self.names.get(&exec) {
            Some(s) => format!("{exec} {:?}", self.ev.report.names.resolve(*s)),
            None => format!("{exec}"),
        }
    }

    // ----- resource audit records -------------------------------------------------------------

    fn resource_matches(&self, p: &ResourcePattern, e: &ResourceEvent) -> bool {
        let resource = match *e {
            ResourceEvent::BudgetExhausted { resource_type, .. } | ResourceEvent::CancelledDueToExhaustion { resource_type, .. } => Some(resource_type),
            _ => e.consumption().map(|(k, _, _)| k),
        };
        let operation = match *e {
            ResourceEvent::MessageConsumed { operation, .. } => Some(operation),
            _ => None,
        };
        ResourceEventKind::of(e) == p.event
            && p.task.as_deref().is_none_or(|t| self.is(t, e.execution_id()))
            && p.resource.is_none_or(|r| resource == Some(r))
            && p.operation.is_none_or(|o| operation == Some(o))
    }

    fn describe_resource(&self, e: &ResourceEvent) -> String {
        crate::capability::readable_ids(&format!("{e:?}")).replace(&format!("{}", e.execution_id()), &self.who(e.execution_id()))
    }

    fn resources(&self, p: &ResourcePattern, count: Count, path: String) -> ExpectationResult {
        let matching: Vec<&ResourceEvent> = self.a.resource_audit.iter().filter(|e| self.resource_matches(p, e)).collect();
        let n = matching.len() as u64;
        let mut out = result(path, format!("resource records {} {}", describe_resource_pattern(p), count_text(count)), format!("{n}"), count.admits(n));
        if !out.met {
            let same_kind = self.a.resource_audit.iter().filter(|e| ResourceEventKind::of(e) == p.event);
            let shown: Vec<String> = if n > 0 { matching.iter().take(SHOWN).map(|e| self.describe_resource(e)).collect() } else { same_kind.take(SHOWN).map(|e| self.describe_resource(e)).collect() };
            out.nearest = if shown.is_empty() { alloc::vec![format!("no {:?} record at all", p.event)] } else { shown };
        }
        out
    }

    fn usage(&self, task: &str, kind: crate::budget::ResourceKind, count: Count, path: String) -> ExpectationResult {
        let symbol = self.ev.report.names.get(task);
        let rows: Vec<_> = self.ev.report.tasks.iter().filter(|t| Some(t.name) == symbol).collect();
        let n: u64 = rows.iter().map(|t| t.usage.get(kind)).sum();
        let mut out = result(path, format!("task {task:?} used {kind} {}", count_text(count)), format!("{n}"), count.admits(n));
        if !out.met {
            out.nearest = rows.iter().map(|t| format!("{}: {}", self.ev.r.task(t.id), t.usage)).collect();
        }
        out
    }

    // ----- policy decisions -------------------------------------------------------------------

    fn policy(&self, p: &PolicyPattern, count: Count, path: String) -> ExpectationResult {
        let records = &self.a.policy_audit;
        let matches = |i: usize| {
            let r = &records[i];
            p.event.is_none_or(|e| e == r.event)
                && p.policy.as_deref().is_none_or(|n| n == r.policy_name)
                && p.decision.is_none_or(|d| d == DecisionKind::of(&r.decision))
                && p.actor.as_deref().is_none_or(|t| self.a.policy_actors.get(i).is_some_and(|e| self.is(t, *e)))
        };
        let matching: Vec<usize> = (0..records.len()).filter(|&i| matches(i)).collect();
        let n = matching.len() as u64;
        let mut out = result(path, format!("policy records {} {}", describe_policy_pattern(p), count_text(count)), format!("{n}"), count.admits(n));
        if !out.met {
            let describe = |i: usize| {
                let r = &records[i];
                format!("t={} {:?} {}: {:?} ({})", r.timestamp, r.event, r.policy_name, r.decision, r.context_summary)
            };
            let shown: Vec<String> = if n > 0 { matching.iter().take(SHOWN).map(|&i| describe(i)).collect() } else { (0..records.len()).rev().take(SHOWN).map(describe).collect() };
            out.nearest = if shown.is_empty() { alloc::vec![String::from("no policy decision at all")] } else { shown };
        }
        out
    }

    // ----- pipelines ----------------------------------------------------------------------------

    fn pipeline(&self, e: &PipelineExpectation, path: String) -> ExpectationResult {
        let expected = describe_pipeline_expectation(e);
        let Some(run) = self.a.pipeline(&e.pipeline, e.run) else {
            let runs = self.a.pipelines.iter().filter(|p| p.name == e.pipeline).count();
            return result(path, expected, format!("pipeline {:?} ran {runs} time(s)", e.pipeline), false);
        };
        let mut problems = Vec::new();
        let outcome = run_outcome(run);
        if let Some(want) = e.outcome {
            if outcome != Some(want) {
                problems.push(format!("ended {outcome:?}"));
            }
        }
        let error = run.outcome.as_ref().and_then(|o| o.as_ref().err());
        if let Some(want) = e.error {
            if error.map(PipelineErrorKind::of) != Some(want) {
                problems.push(format!("error {:?}", error.map(PipelineErrorKind::of)));
            }
        }
        if let Some(text) = &e.message {
            let message = error.map(|e| format!("{e}")).unwrap_or_default();
            if !message.contains(text.as_str()) {
                problems.push(format!("error message {message:?}"));
            }
        }
        if let Some(want) = &e.trace {
            let entries = &run.trace.entries;
            let same = want.len() == entries.len()
                && want.iter().zip(entries).all(|(w, t)| {
                    w.stage == t.stage_name
                        && w.attempt == t.attempt
                        && w.result == AttemptResult::of(&t.result)
                        && w.start_ms.is_none_or(|ms| ms == t.start_time_ms())
                        && w.end_ms.is_none_or(|ms| ms == t.end_time_ms())
                        && w.caps_out.as_ref().is_none_or(|c| *c == t.capabilities_out)
                });
            if !same {
                problems.push(format!("a trace of {} entries", entries.len()));
            }
        }
        for (stage, caps) in &e.seen {
            let index = self.ev.scenario.pipelines.iter().find(|p| p.spec.name == e.pipeline).and_then(|p| p.spec.stages.iter().position(|s| s.name == *stage));
            let seen = run.orders.iter().find(|o| Some(o.stage.index()) == index).map(|o| o.capabilities.to_vec());
            if seen.as_ref() != Some(caps) {
                problems.push(format!("stage {stage:?} saw {seen:?}"));
            }
        }
        let met = problems.is_empty();
        let actual = if met { format!("as expected ({})", describe_run(run)) } else { format!("{} ({})", problems.join("; "), describe_run(run)) };
        let mut out = result(path, expected, actual, met);
        if !met {
            out.nearest = run.trace.entries.iter().map(|t| format!("{} attempt {} {:?} {}ms..{}ms out {:?}", t.stage_name, t.attempt, t.result, t.start_time_ms(), t.end_time_ms(), t.capabilities_out)).collect();
        }
        out
    }

    // ----- storage ------------------------------------------------------------------------------

    fn storage(&self, e: &StorageExpectation, path: String) -> ExpectationResult {
        let expected = describe_storage_expectation(e);
        let Some(object) = self.a.object(&e.object) else {
            return result(path, expected, format!("no object was labelled {:?} (its creation never committed or never ran)", e.object), false);
        };
        let contents: Vec<String> = object.versions.iter().map(|v| content_text(&v.content)).collect();
        let head = object.versions.last();
        let n = object.versions.len() as u64;
        let met = e.versions.is_none_or(|c| c.admits(n))
            && e.head.as_ref().is_none_or(|h| contents.last() == Some(h))
            && e.history.as_ref().is_none_or(|h| *h == contents)
            && e.schema_version.is_none_or(|v| head.is_some_and(|o| o.schema_version.0 == v));
        let actual = format!("{n} committed version(s), contents {contents:?}, head schema version {:?}", head.map(|o| o.schema_version.0));
        result(path, expected, actual, met)
    }
}

fn run_outcome(run: &PipelineRecord) -> Option<PipelineOutcome> {
    match (&run.outcome, &run.trace.final_result) {
        (None, _) => None,
        (Some(Ok(())), _) => Some(PipelineOutcome::Success),
        (Some(Err(_)), crate::pipeline::PipelineExecutionResult::Cancelled { .. }) => Some(PipelineOutcome::Cancelled),
        (Some(Err(_)), _) => Some(PipelineOutcome::Failed),
    }
}

fn describe_run(run: &PipelineRecord) -> String {
    match &run.outcome {
        None => format!("{} still running", run.id),
        Some(Ok(())) => format!("{} succeeded, {} trace entries", run.id, run.trace.entries.len()),
        Some(Err(e)) => format!("{} ended {:?}: {e}, {} trace entries", run.id, run_outcome(run).unwrap_or(PipelineOutcome::Failed), run.trace.entries.len()),
    }
}

fn describe_resource_pattern(p: &ResourcePattern) -> String {
    let mut parts = alloc::vec![format!("{:?}", p.event)];
    if let Some(t) = &p.task {
        parts.push(format!("task {t:?}"));
    }
    if let Some(r) = p.resource {
        parts.push(format!("resource {r}"));
    }
    if let Some(o) = p.operation {
        parts.push(format!("operation {o:?}"));
    }
    parts.join(", ")
}

fn describe_policy_pattern(p: &PolicyPattern) -> String {
    let mut parts = Vec::new();
    if let Some(e) = p.event {
        parts.push(format!("event {e:?}"));
    }
    if let Some(n) = &p.policy {
        parts.push(format!("policy {n:?}"));
    }
    if let Some(d) = p.decision {
        parts.push(format!("decision {d:?}"));
    }
    if let Some(t) = &p.actor {
        parts.push(format!("actor {t:?}"));
    }
    if parts.is_empty() {
        String::from("(any)")
    } else {
        parts.join(", ")
    }
}

fn describe_pipeline_expectation(e: &PipelineExpectation) -> String {
    let mut parts = alloc::vec![format!("pipeline {:?} run {}", e.pipeline, e.run)];
    if let Some(o) = e.outcome {
        parts.push(format!("ends {o:?}"));
    }
    if let Some(k) = e.error {
        parts.push(format!("error {k:?}"));
    }
    if let Some(m) = &e.message {
        parts.push(format!("message containing {m:?}"));
    }
    if let Some(t) = &e.trace {
        parts.push(format!("a trace of {} entries as written", t.len()));
    }
    for (stage, caps) in &e.seen {
        parts.push(format!("stage {stage:?} sees {caps:?}"));
    }
    parts.join(", ")
}

fn describe_storage_expectation(e: &StorageExpectation) -> String {
    let mut parts = alloc::vec![format!("object {:?}", e.object)];
    if let Some(c) = e.versions {
        parts.push(format!("{} committed versions", count_text(c)));
    }
    if let Some(h) = &e.head {
        parts.push(format!("head {h:?}"));
    }
    if let Some(h) = &e.history {
        parts.push(format!("history {h:?}"));
    }
    if let Some(v) = e.schema_version {
        parts.push(format!("schema version {v}"));
    }
    parts.join(", ")
}
