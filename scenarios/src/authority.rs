//! Text forms of what a run kept of its authority and resource subsystems: the policy audit log
//! and each pipeline run's explained policy reports, the execution traces, the resource audit log
//! and the labelled storage objects with their committed versions. Printed by
//! `scenario --audit` and snapshotted for every library scenario that uses the subsystems.
//! Identities are shown with the name of the task that ran under them; times in milliseconds.

use crate::summary::format_ms;
use model::ids::ExecutionId;
use model::report::AuthorityReport;
use model::RunReport;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The authority sections of a run, or `None` if the run did not use the subsystems.
pub fn render_authority(report: &RunReport) -> Option<String> {
    let a = report.authority.as_ref()?;
    let names: BTreeMap<ExecutionId, &str> = report.tasks.iter().map(|t| (t.exec, report.names.resolve(t.name))).collect();
    let who = |e: ExecutionId| names.get(&e).map_or_else(|| format!("{e}"), |n| format!("{e} {n:?}"));
    let mut out = String::new();
    policy(&mut out, a, &who);
    pipelines(&mut out, a, report);
    resources(&mut out, a, &who);
    storage(&mut out, a);
    Some(out)
}

fn policy(out: &mut String, a: &AuthorityReport, who: &dyn Fn(ExecutionId) -> String) {
    let _ = writeln!(out, "policy audit log ({} records)", a.policy_audit.len());
    for (i, r) in a.policy_audit.iter().enumerate() {
        let actor = a.policy_actors.get(i).map_or_else(String::new, |e| who(*e));
        let _ = writeln!(out, "  {:>16} {:?} {}: {:?} (actor {actor}; {})", format_ms(r.timestamp.nanos()), r.event, r.policy_name, r.decision, r.context_summary);
    }
}

fn pipelines(out: &mut String, a: &AuthorityReport, report: &RunReport) {
    for run in &a.pipelines {
        let task = report.tasks.get(run.task.index()).map_or("?", |t| report.names.resolve(t.name));
        let outcome = match &run.outcome {
            None => String::from("still running"),
            Some(Ok(())) => String::from("Ok"),
            Some(Err(e)) => format!("Err: {e}"),
        };
        let _ = writeln!(out, "\npipeline {} {:?} run by {task:?}: {outcome}", run.id, run.name);
        let _ = writeln!(out, "  final result {:?}; execution authority {}", run.trace.final_result, run.authority);
        for (event, stage, r) in &run.reports {
            let stage = stage.map_or_else(String::new, |s| format!(" {s}"));
            let _ = writeln!(out, "  policy {event:?}{stage}: {r}");
            if let Some(delta) = &r.capability_delta {
                let _ = writeln!(out, "    capabilities {} -> {} ({delta})", r.input_capabilities.clone().unwrap_or_default(), r.output_capabilities.clone().unwrap_or_default());
            }
        }
        let _ = writeln!(out, "  execution trace ({} entries)", run.trace.entries.len());
        for e in &run.trace.entries {
            let _ = writeln!(
                out,
                "    {} {:?} attempt {} {}..{} {:?} in {:?} out {:?}",
                e.stage_id,
                e.stage_name,
                e.attempt,
                format_ms(e.start.nanos()),
                format_ms(e.end.nanos()),
                e.result,
                e.capabilities_in,
                e.capabilities_out
            );
        }
        for o in &run.orders {
            let _ = writeln!(out, "    handler of {} attempt {} saw {} (deadline {:?})", o.stage, o.attempt, o.capabilities, o.deadline.map(|d| format_ms(d.nanos())));
        }
    }
}

fn resources(out: &mut String, a: &AuthorityReport, who: &dyn Fn(ExecutionId) -> String) {
    let _ = writeln!(out, "\nresource audit log ({} records)", a.resource_audit.len());
    for e in &a.resource_audit {
        let text = format!("{e:?}").replace(&format!("execution_id: ExecutionId({})", e.execution_id().0), &format!("execution_id: {}", who(e.execution_id())));
        let _ = writeln!(out, "  {text}");
    }
}

fn storage(out: &mut String, a: &AuthorityReport) {
    if a.storage.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nstorage objects ({})", a.storage.len());
    for s in &a.storage {
        let _ = writeln!(out, "  {:?} {}: {} committed version(s)", s.label, s.object, s.versions.len());
        for v in &s.versions {
            let _ = writeln!(out, "    {} (parent {:?}) {:?} schema {}@v{}: {:?}", v.version, v.parent, v.kind, v.schema_id.0, v.schema_version.0, model::scenario::content_text(&v.content));
        }
    }
}
