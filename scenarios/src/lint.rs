//! Warnings about a valid scenario that declares faults which can never fire (issue: "a fault rule
//! can be declared and never fire without anyone knowing").
//!
//! The check is static and conservative: it warns only when nothing in the file can make the rule
//! fire — a trigger that never fires (`Chance(per_mille: 0)`, `Next(count: 0)`, an empty window, a
//! window or period that starts after the run's time limit), a task scope naming a task that never
//! performs the operation (an idle task no step makes send or receive, a capability passer or a
//! supervisor: they exchange no messages), a service scope naming a service nobody sends to (no
//! client, forwarder or `Send` step can reach it), and lifecycle faults that cannot happen (a
//! `CrashAt` after the time limit or before the task starts, a `CrashAfterMessages` on a task that
//! never receives). A rule it does not flag may still stay silent in a run; the run's summary
//! counts how often each rule was evaluated and fired.

use model::fault::{FaultScope, FaultTrigger, LifecycleFault, MessageFault, MessageFaultRule};
use model::scenario::{Behaviour, Scenario, StepOp, TaskSpec};

/// One warning: where (a path into the scenario) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

/// Every fault of `scenario` that can never fire.
pub fn lint(scenario: &Scenario) -> Vec<Warning> {
    let mut out = Vec::new();
    for (i, rule) in scenario.faults.message_faults.iter().enumerate() {
        if let Some(why) = rule_cannot_fire(scenario, rule) {
            out.push(Warning { path: format!("faults.message_faults[{i}]"), message: format!("this rule can never fire: {why}") });
        }
    }
    for (i, fault) in scenario.faults.lifecycle_faults.iter().enumerate() {
        if let Some(why) = lifecycle_cannot_fire(scenario, fault) {
            out.push(Warning { path: format!("faults.lifecycle_faults[{i}]"), message: format!("this fault can never fire: {why}") });
        }
    }
    out
}

fn rule_cannot_fire(s: &Scenario, rule: &MessageFaultRule) -> Option<String> {
    if let Some(why) = trigger_never_fires(rule.when, s.limits.max_time_ns) {
        return Some(why);
    }
    let receive = rule.fault == MessageFault::CrashOnRecv;
    match &rule.on {
        FaultScope::Any => None,
        FaultScope::Task(name) => {
            let task = task_named(s, name)?;
            let acts = if receive { receives(s, task) } else { sends(s, task) };
            (!acts).then(|| format!("task `{name}` never {} a message", if receive { "receives" } else { "sends" }))
        }
        FaultScope::Service(name) => (!reachable(s, name)).then(|| format!("nothing sends to service `{name}` (no client, forwarder or `Send` step)")),
    }
}

fn trigger_never_fires(trigger: FaultTrigger, max_time_ns: u64) -> Option<String> {
    match trigger {
        FaultTrigger::Chance { per_mille: 0 } => Some("`Chance(per_mille: 0)` never fires".into()),
        FaultTrigger::Next { count: 0 } => Some("`Next(count: 0)` never fires".into()),
        FaultTrigger::Window { from_ns, until_ns } if from_ns == until_ns => Some("the window is empty".into()),
        FaultTrigger::Window { from_ns, .. } | FaultTrigger::Periodic { from_ns, .. } if from_ns > max_time_ns => {
            Some(format!("it starts at {from_ns} ns, after the run's time limit of {max_time_ns} ns"))
        }
        FaultTrigger::Periodic { for_ns: 0, .. } => Some("`for_ns: 0` is never active".into()),
        _ => None,
    }
}

fn lifecycle_cannot_fire(s: &Scenario, fault: &LifecycleFault) -> Option<String> {
    match fault {
        LifecycleFault::CrashAt { task, at_ns } => {
            if *at_ns > s.limits.max_time_ns {
                return Some(format!("{at_ns} ns is after the run's time limit of {} ns", s.limits.max_time_ns));
            }
            let top = s.tasks.iter().find(|t| t.name == *task)?;
            (top.start_ns > *at_ns).then(|| format!("task `{task}` starts at {} ns, after the crash time", top.start_ns))
        }
        LifecycleFault::CrashAfterMessages { task, .. } => {
            let spec = task_named(s, task)?;
            (!receives(s, spec)).then(|| format!("task `{task}` never receives a message"))
        }
    }
}

fn task_named<'s>(s: &'s Scenario, name: &str) -> Option<&'s TaskSpec> {
    s.all_tasks().into_iter().map(|(_, t)| t).find(|t| t.name == name)
}

/// Whether a task can send: servers, clients and forwarders do; anything may through steps.
fn sends(s: &Scenario, task: &TaskSpec) -> bool {
    matches!(task.behaviour, Behaviour::Server { .. } | Behaviour::Client { .. } | Behaviour::Forwarder { .. })
        || s.steps.iter().any(|step| matches!(&step.op, StepOp::Send { task: t, .. } if *t == task.name))
}

/// Whether a task can receive: servers, clients and forwarders do; anything may through steps.
fn receives(s: &Scenario, task: &TaskSpec) -> bool {
    matches!(task.behaviour, Behaviour::Server { .. } | Behaviour::Client { .. } | Behaviour::Forwarder { .. })
        || s.steps.iter().any(|step| matches!(&step.op, StepOp::Receive { task: t, .. } if *t == task.name))
}

/// Whether anything can send to `service`'s channel: a client of it, a forwarder to it, or any
/// `Send` step (steps address channels by label, so any of them might be that channel).
fn reachable(s: &Scenario, service: &str) -> bool {
    let by_task = s.all_tasks().into_iter().any(|(_, t)| match &t.behaviour {
        Behaviour::Client { service: target, .. } => target == service,
        Behaviour::Forwarder { to, .. } => to == service,
        _ => false,
    });
    by_task || s.steps.iter().any(|step| matches!(step.op, StepOp::Send { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        crate::parse_scenario(text, "lint.ron").expect("valid")
    }

    const BASE: &str = r#"(name: "l", limits: (max_time_ns: 10_000_000), tasks: [
        (name: "srv", behaviour: Server(service: "echo")),
        (name: "cli", behaviour: Client(service: "echo")),
        (name: "lazy", behaviour: Idle),
        (name: "other", behaviour: Server(service: "nobody-calls")),
    ], faults: FAULTS)"#;

    fn warnings(faults: &str) -> Vec<String> {
        lint(&scenario(&BASE.replace("FAULTS", faults))).into_iter().map(|w| format!("{}: {}", w.path, w.message)).collect()
    }

    #[test]
    fn rules_that_can_fire_are_not_flagged() {
        let ok = "(message_faults: [(fault: Drop, when: Chance(per_mille: 10)), (fault: Delay(nanos: 5), on: Service(\"echo\")), \
                  (fault: CrashOnRecv, on: Task(\"srv\")), (fault: Drop, when: Window(from_ns: 0, until_ns: 5))], \
                  lifecycle_faults: [CrashAt(task: \"srv\", at_ns: 100), CrashAfterMessages(task: \"cli\", count: 2)])";
        assert_eq!(warnings(ok), Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_dead_rule_is_flagged_with_its_reason() {
        let cases = [
            ("(message_faults: [(fault: Drop, when: Chance(per_mille: 0))])", "Chance(per_mille: 0)"),
            ("(message_faults: [(fault: Drop, when: Next(count: 0))])", "Next(count: 0)"),
            ("(message_faults: [(fault: Drop, when: Window(from_ns: 7, until_ns: 7))])", "window is empty"),
            ("(message_faults: [(fault: Drop, when: Window(from_ns: 20_000_000, until_ns: 30_000_000))])", "after the run's time limit"),
            ("(message_faults: [(fault: Drop, when: Periodic(every_ns: 10, for_ns: 0))])", "never active"),
            ("(message_faults: [(fault: Drop, on: Task(\"lazy\"))])", "`lazy` never sends"),
            ("(message_faults: [(fault: CrashOnRecv, on: Task(\"lazy\"))])", "`lazy` never receives"),
            ("(message_faults: [(fault: Reorder, on: Service(\"nobody-calls\"))])", "nothing sends to service `nobody-calls`"),
            ("(lifecycle_faults: [CrashAt(task: \"srv\", at_ns: 20_000_000)])", "after the run's time limit"),
            ("(lifecycle_faults: [CrashAfterMessages(task: \"lazy\", count: 1)])", "`lazy` never receives"),
        ];
        for (faults, reason) in cases {
            let w = warnings(faults);
            assert_eq!(w.len(), 1, "{faults}: {w:?}");
            assert!(w[0].contains(reason), "{faults}: {w:?}");
        }
    }
}
