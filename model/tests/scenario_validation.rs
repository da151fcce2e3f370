//! `Scenario::validate` (`model/src/scenario.rs`): a scenario is the harness's way of writing
//! down a run of the seed's system (tasks, capability grants, services, fault plans — "Fault
//! Injection Semantics", "Service Discovery", "Capability Lifecycle"); names that do not resolve
//! and impossible values must be rejected before a run starts, with the offending path and name.

use model::error::KernelErrorKind;
use model::fault::{FaultScope, FaultTrigger, LifecycleFault, MessageFault, MessageFaultRule};
use model::scenario::{Behaviour, ExpectedVerdict, ScenarioError, Step, StepExpectation, StepOp, StepOutcome, TaskSpec};
use model::Scenario;

const BASE: &str = r#"(
    name: "base",
    tasks: [
        (name: "srv", behaviour: Server(service: "svc")),
        (name: "cli", behaviour: Client(service: "svc")),
        (name: "a", behaviour: Idle, caps: [(label: "k", kind: "file_read")]),
        (name: "b", behaviour: Idle),
        (name: "sup", behaviour: Supervisor(children: [(name: "child", behaviour: Idle)])),
    ],
    steps: [
        (at_ns: 100, op: Grant(task: "a", cap: "g", kind: "net")),
        (at_ns: 200, op: Delegate(cap: "g", from: "a", to: "b")),
    ],
)"#;

fn parse(text: &str) -> Scenario {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str::<Scenario>(text)
        .expect("scenario parses")
}

fn base() -> Scenario {
    let s = parse(BASE);
    s.validate().expect("the base scenario is valid");
    s
}

fn idle(name: &str) -> TaskSpec {
    TaskSpec {
        name: name.into(),
        behaviour: Behaviour::Idle,
        kind: Default::default(),
        domain: "user".into(),
        start_ns: 0,
        caps: Vec::new(),
        restart: Default::default(),
        budget: None,
    }
}

fn step(at_ns: u64, op: StepOp) -> Step {
    Step::new(at_ns, op)
}

fn rejected(s: &Scenario) -> ScenarioError {
    let e = s.validate().expect_err("the scenario must be rejected");
    assert!(!e.message.is_empty(), "an error without a message: {e:?}");
    e
}

fn assert_rejected(s: &Scenario, path: &str, name: Option<&str>) -> ScenarioError {
    let e = rejected(s);
    assert_eq!(e.path, path, "{e}");
    assert_eq!(e.name.as_deref(), name, "{e}");
    e
}

fn with_rule(when: FaultTrigger) -> Scenario {
    let mut s = base();
    s.faults.message_faults.push(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::Always));
    s.faults.message_faults.push(MessageFaultRule::new(MessageFault::Drop, when));
    s
}

#[test]
fn the_shipped_default_scenario_is_valid() {
    let s = parse(include_str!("../../scenarios/default.ron"));
    assert_eq!(s.validate(), Ok(()));
}

#[test]
fn duplicate_task_names_are_rejected() {
    let mut s = base();
    s.tasks.push(idle("a"));
    let e = assert_rejected(&s, "tasks[5].name", Some("a"));
    assert!(e.message.contains("duplicate"), "{e}");
    // Supervisor children share the namespace.
    let mut s = base();
    s.tasks.push(idle("child"));
    assert_rejected(&s, "tasks[5].name", Some("child"));
    let mut s = base();
    if let Behaviour::Supervisor { children, .. } = &mut s.tasks[4].behaviour {
        children.push(idle("srv"));
    }
    assert_rejected(&s, "tasks[4].behaviour.children[1].name", Some("srv"));
}

#[test]
fn unknown_task_in_a_step_is_rejected() {
    let mut s = base();
    s.steps.push(step(300, StepOp::Use { cap: "k".into(), task: "zed".into() }));
    assert_rejected(&s, "steps[2].op.task", Some("zed"));
    let mut s = base();
    s.steps[1] = step(200, StepOp::Delegate { cap: "g".into(), from: "a".into(), to: "nobody".into() });
    assert_rejected(&s, "steps[1].op.to", Some("nobody"));
    let mut s = base();
    s.steps.push(step(300, StepOp::Terminate { task: "ghost".into(), reason: Default::default() }));
    assert_rejected(&s, "steps[2].op.task", Some("ghost"));
    // Supervisor children are known tasks.
    let mut s = base();
    s.steps.push(step(300, StepOp::Terminate { task: "child".into(), reason: Default::default() }));
    assert_eq!(s.validate(), Ok(()));
}

#[test]
fn unknown_capability_label_is_rejected() {
    let mut s = base();
    s.steps.push(step(300, StepOp::Use { cap: "nope".into(), task: "a".into() }));
    let e = assert_rejected(&s, "steps[2].op.cap", Some("nope"));
    assert!(e.message.contains("nope"), "{e}");
    // Labels of spawn-time grants, steps and channel capabilities resolve.
    let mut s = base();
    s.steps.push(step(300, StepOp::Use { cap: "k".into(), task: "a".into() }));
    s.steps.push(step(300, StepOp::CreateChannel { task: "b".into(), channel: "ch".into(), cap: Some("ch-cap".into()) }));
    s.steps.push(step(400, StepOp::Drop { cap: "ch-cap".into(), task: "b".into() }));
    s.steps.push(step(400, StepOp::Clone { cap: "k".into(), task: "a".into(), new_cap: "k2".into() }));
    s.steps.push(step(500, StepOp::Use { cap: "k2".into(), task: "a".into() }));
    assert_eq!(s.validate(), Ok(()));
}

#[test]
fn a_label_used_before_the_step_that_grants_it_is_rejected() {
    // Labels are bound in time order: the delegation at 50 ns comes before the grant at 100 ns.
    let mut s = base();
    s.steps[1].at_ns = 50;
    assert_rejected(&s, "steps[1].op.cap", Some("g"));
    // At the same time, file order decides.
    let mut s = base();
    s.steps[1].at_ns = 100;
    assert_eq!(s.validate(), Ok(()));
    s.steps.swap(0, 1);
    assert_rejected(&s, "steps[0].op.cap", Some("g"));
    // File order alone does not matter when the times are right.
    let mut s = base();
    s.steps.swap(0, 1);
    assert_eq!(s.validate(), Ok(()));
    // Channels too.
    let mut s = base();
    s.steps.push(step(300, StepOp::Send { task: "a".into(), channel: "late".into(), action: String::new(), reply_to: None, version: Default::default(), answers: None }));
    s.steps.push(step(400, StepOp::CreateChannel { task: "a".into(), channel: "late".into(), cap: None }));
    assert_rejected(&s, "steps[2].op.channel", Some("late"));
}

#[test]
fn unknown_service_in_a_client_is_rejected() {
    let mut s = base();
    if let Behaviour::Client { service, .. } = &mut s.tasks[1].behaviour {
        *service = "nosvc".into();
    }
    let e = assert_rejected(&s, "tasks[1].behaviour.service", Some("nosvc"));
    assert!(e.message.contains("nosvc"), "{e}");
    // A service registered by a step counts.
    s.steps.push(step(0, StepOp::CreateChannel { task: "b".into(), channel: "c".into(), cap: None }));
    s.steps.push(step(1, StepOp::Register { task: "b".into(), service: "nosvc".into(), channel: "c".into() }));
    assert_eq!(s.validate(), Ok(()));
}

#[test]
fn unknown_task_in_a_lifecycle_fault_is_rejected() {
    let mut s = base();
    s.faults.lifecycle_faults.push(LifecycleFault::CrashAt { task: "srv".into(), at_ns: 10 });
    s.faults.lifecycle_faults.push(LifecycleFault::CrashAfterMessages { task: "child".into(), count: 3 });
    assert_eq!(s.validate(), Ok(()));
    s.faults.lifecycle_faults.push(LifecycleFault::CrashAt { task: "ghost".into(), at_ns: 10 });
    assert_rejected(&s, "faults.lifecycle_faults[2].task", Some("ghost"));
    let mut s = base();
    s.faults.lifecycle_faults.push(LifecycleFault::CrashAfterMessages { task: "phantom".into(), count: 1 });
    assert_rejected(&s, "faults.lifecycle_faults[0].task", Some("phantom"));
}

#[test]
fn unknown_names_in_fault_scopes_are_rejected() {
    let mut s = base();
    s.faults.message_faults.push(MessageFaultRule { fault: MessageFault::Drop, on: FaultScope::Service("nosvc".into()), when: FaultTrigger::Always });
    assert_rejected(&s, "faults.message_faults[0].on", Some("nosvc"));
    let mut s = base();
    s.faults.message_faults.push(MessageFaultRule { fault: MessageFault::Drop, on: FaultScope::Task("ghost".into()), when: FaultTrigger::Always });
    assert_rejected(&s, "faults.message_faults[0].on", Some("ghost"));
}

#[test]
fn chance_above_1000_per_mille_is_rejected() {
    assert_rejected(&with_rule(FaultTrigger::Chance { per_mille: 1001 }), "faults.message_faults[1].when", None);
    assert_rejected(&with_rule(FaultTrigger::Chance { per_mille: u16::MAX }), "faults.message_faults[1].when", None);
    assert_eq!(with_rule(FaultTrigger::Chance { per_mille: 1000 }).validate(), Ok(()));
    assert_eq!(with_rule(FaultTrigger::Chance { per_mille: 0 }).validate(), Ok(()));
}

#[test]
fn every_nth_with_n_zero_is_rejected() {
    assert_rejected(&with_rule(FaultTrigger::EveryNth { n: 0 }), "faults.message_faults[1].when", None);
    assert_eq!(with_rule(FaultTrigger::EveryNth { n: 1 }).validate(), Ok(()));
}

#[test]
fn window_ending_before_it_starts_is_rejected() {
    assert_rejected(&with_rule(FaultTrigger::Window { from_ns: 500, until_ns: 499 }), "faults.message_faults[1].when", None);
    assert_eq!(with_rule(FaultTrigger::Window { from_ns: 500, until_ns: 500 }).validate(), Ok(()));
    assert_eq!(with_rule(FaultTrigger::Window { from_ns: 0, until_ns: 500 }).validate(), Ok(()));
}

#[test]
fn unknown_invariant_in_the_expected_verdict_is_rejected() {
    let mut s = base();
    s.expect.verdict = ExpectedVerdict::Violation("cap.nonsense".into());
    let e = assert_rejected(&s, "expect.verdict", Some("cap.nonsense"));
    assert!(e.message.contains("cap.single_owner"), "the error lists the known invariants: {e}");
    for id in model::invariants::ALL {
        s.expect.verdict = ExpectedVerdict::Violation(id.to_string());
        assert_eq!(s.validate(), Ok(()), "{id}");
    }
}

#[test]
fn expected_step_out_of_range_is_rejected() {
    let mut s = base();
    s.expect.steps.push(StepExpectation { step: 1, result: StepOutcome::Ok });
    assert_eq!(s.validate(), Ok(()));
    s.expect.steps.push(StepExpectation { step: 2, result: StepOutcome::Err(KernelErrorKind::InvalidCapability) });
    assert_rejected(&s, "expect.steps[1].step", None);
}

#[test]
fn zero_event_limit_is_rejected() {
    let mut s = base();
    s.limits.max_events = 0;
    assert_rejected(&s, "limits.max_events", None);
    let mut s = base();
    s.limits.max_time_ns = 0;
    assert_rejected(&s, "limits.max_time_ns", None);
}

#[test]
fn errors_render_path_and_message() {
    let mut s = base();
    s.tasks.push(idle("b"));
    let e = rejected(&s);
    assert_eq!(e.to_string(), format!("{}: {}", e.path, e.message));
    assert!(e.to_string().starts_with("tasks[5].name: "));
}

/// Sizes a run would allocate up front or could not finish are bounded (`scenario.rs`, module
/// docs): the limits themselves are accepted, one more is refused.
#[test]
fn sizes_above_their_limits_are_rejected() {
    use model::scenario::{Workload, MAX_SUPERVISOR_DEPTH, MAX_WORKLOAD_TASKS};
    let mut s = base();
    s.workload = Some(Workload { ops: 1, interval_ns: 1, tasks: MAX_WORKLOAD_TASKS, mix: Default::default(), domains: vec!["user".into()], budget: None });
    assert_eq!(s.validate(), Ok(()));
    if let Some(w) = s.workload.as_mut() {
        w.tasks = MAX_WORKLOAD_TASKS + 1;
    }
    assert_rejected(&s, "workload.tasks", None);

    let nest = |depth: usize| {
        let mut s = base();
        let mut task = idle("leaf");
        for level in 0..depth {
            task = TaskSpec { behaviour: Behaviour::Supervisor { children: vec![task], backoff_ns: 1 }, ..idle(&format!("level{level}")) };
        }
        s.tasks = vec![task];
        s.steps.clear();
        s
    };
    assert_eq!(nest(MAX_SUPERVISOR_DEPTH).validate(), Ok(()));
    assert_eq!(nest(MAX_SUPERVISOR_DEPTH).supervisor_depth(), MAX_SUPERVISOR_DEPTH);
    let e = assert_rejected(&nest(MAX_SUPERVISOR_DEPTH + 1), "tasks[0]", Some("leaf"));
    assert!(e.message.contains("supervisors may nest at most 32 levels"), "{e}");
}
