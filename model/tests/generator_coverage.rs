//! Generator coverage: over many generated runs, every behaviour, fault kind, fault scope, trigger,
//! restart policy, lifecycle fault and workload operation kind appears with at least a stated
//! frequency, run sizes span their range and swarm subsets vary. A generator that collapsed (always
//! the smallest choice, a scope never drawn, an arm deleted) fails here, whatever the planted-bug
//! power tests say. The frequencies asserted are well below what the generator gives (see each
//! comment), so the test is about collapse, not about tuning.

use model::choices::Choices;
use model::fault::{FaultScope, FaultTrigger, LifecycleFault, MessageFault};
use model::generate::{generate, GenConfig};
use model::lifecycle::RestartPolicy;
use model::scenario::{Behaviour, Scenario, TaskSpec};
use std::collections::{BTreeMap, BTreeSet};

const RUNS: u64 = 2_000;

fn scenarios(config: &GenConfig) -> Vec<Scenario> {
    (0..RUNS).map(|seed| generate(&mut Choices::seeded(seed), config)).collect()
}

fn all_tasks(s: &Scenario) -> Vec<&TaskSpec> {
    s.all_tasks().into_iter().map(|(_, t)| t).collect()
}

/// How many of the scenarios satisfy `has`.
fn share(scenarios: &[Scenario], has: impl Fn(&Scenario) -> bool) -> f64 {
    scenarios.iter().filter(|s| has(s)).count() as f64 / scenarios.len() as f64
}

fn assert_at_least(what: &str, got: f64, floor: f64) {
    assert!(got >= floor, "{what}: {:.1}% of generated runs, expected at least {:.1}%", got * 100.0, floor * 100.0);
}

#[test]
fn every_behaviour_appears() {
    let all = scenarios(&GenConfig::default());
    let behaviour = |name: &'static str| move |s: &Scenario| all_tasks(s).iter().any(|t| behaviour_name(&t.behaviour) == name);
    for (name, floor) in [("Server", 0.99), ("Client", 0.99), ("Forwarder", 0.3), ("Supervisor", 0.3), ("CapPasser", 0.3), ("Idle", 0.3)] {
        assert_at_least(name, share(&all, behaviour(name)), floor);
    }
}

fn behaviour_name(b: &Behaviour) -> &'static str {
    match b {
        Behaviour::Idle => "Idle",
        Behaviour::Server { .. } => "Server",
        Behaviour::Client { .. } => "Client",
        Behaviour::Forwarder { .. } => "Forwarder",
        Behaviour::CapPasser { .. } => "CapPasser",
        Behaviour::Supervisor { .. } => "Supervisor",
    }
}

#[test]
fn every_fault_kind_scope_and_trigger_appears() {
    let all = scenarios(&GenConfig::default());
    let rules: Vec<_> = all.iter().flat_map(|s| s.faults.message_faults.iter()).collect();
    let fault = |r: &&model::fault::MessageFaultRule| match r.fault {
        MessageFault::Drop => "Drop",
        MessageFault::Delay { .. } => "Delay",
        MessageFault::Reorder => "Reorder",
        MessageFault::CrashOnSend => "CrashOnSend",
        MessageFault::CrashOnRecv => "CrashOnRecv",
    };
    let scope = |r: &&model::fault::MessageFaultRule| match r.on {
        FaultScope::Any => "Any",
        FaultScope::Service(_) => "Service",
        FaultScope::Task(_) => "Task",
    };
    let trigger = |r: &&model::fault::MessageFaultRule| match r.when {
        FaultTrigger::Always => "Always",
        FaultTrigger::Next { .. } => "Next",
        FaultTrigger::EveryNth { .. } => "EveryNth",
        FaultTrigger::Chance { .. } => "Chance",
        FaultTrigger::Window { .. } => "Window",
        FaultTrigger::Periodic { .. } => "Periodic",
    };
    let histogram = |key: &dyn Fn(&&model::fault::MessageFaultRule) -> &'static str| {
        let mut h = BTreeMap::new();
        for r in &rules {
            *h.entry(key(r)).or_insert(0usize) += 1;
        }
        h
    };
    let n = rules.len() as f64;
    // Each kind is drawn for about half of the runs (swarm), one or two rules each: ~15% of rules.
    for (name, count) in [("Drop", 0), ("Delay", 0), ("Reorder", 0), ("CrashOnSend", 0), ("CrashOnRecv", 0)].map(|(k, _)| (k, histogram(&fault).get(k).copied().unwrap_or(0))) {
        assert_at_least(&format!("fault {name} (share of rules)"), count as f64 / n, 0.08);
    }
    // Scopes: a third each.
    for name in ["Any", "Service", "Task"] {
        assert_at_least(&format!("scope {name} (share of rules)"), histogram(&scope).get(name).copied().unwrap_or(0) as f64 / n, 0.2);
    }
    // Triggers: a sixth each, Chance a third.
    for name in ["Chance", "Next", "EveryNth", "Window", "Periodic"] {
        assert_at_least(&format!("trigger {name} (share of rules)"), histogram(&trigger).get(name).copied().unwrap_or(0) as f64 / n, 0.08);
    }
}

#[test]
fn every_restart_policy_and_lifecycle_fault_appears() {
    let all = scenarios(&GenConfig::default());
    let children: Vec<RestartPolicy> = all
        .iter()
        .flat_map(all_tasks)
        .filter_map(|t| match &t.behaviour {
            Behaviour::Supervisor { children, .. } => Some(children.iter().map(|c| c.restart).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    let n = children.len() as f64;
    assert!(n > 100.0, "supervised children: {n}");
    for (name, is) in [
        ("Never", (|p: &RestartPolicy| *p == RestartPolicy::Never) as fn(&RestartPolicy) -> bool),
        ("Always", |p| *p == RestartPolicy::Always),
        ("OnFailure", |p| *p == RestartPolicy::OnFailure),
        ("ExponentialBackoff", |p| matches!(p, RestartPolicy::ExponentialBackoff { .. })),
    ] {
        assert_at_least(&format!("restart {name} (share of supervised children)"), children.iter().filter(|p| is(p)).count() as f64 / n, 0.15);
    }
    let crash_after = |s: &Scenario| s.faults.lifecycle_faults.iter().any(|f| matches!(f, LifecycleFault::CrashAfterMessages { .. }));
    let crash_at = |s: &Scenario| s.faults.lifecycle_faults.iter().any(|f| matches!(f, LifecycleFault::CrashAt { .. }));
    assert_at_least("CrashAfterMessages", share(&all, crash_after), 0.2);
    assert_at_least("CrashAt", share(&all, crash_at), 0.2);
}

#[test]
fn every_workload_operation_kind_is_weighted_in() {
    let all = scenarios(&GenConfig::default());
    let with_workload: Vec<_> = all.iter().filter_map(|s| s.workload.as_ref()).collect();
    assert_at_least("runs with a workload", with_workload.len() as f64 / all.len() as f64, 0.9);
    let m = |w: &&model::scenario::Workload| {
        let m = w.mix;
        [m.spawn, m.terminate, m.grant, m.delegate, m.clone, m.drop, m.use_cap, m.forged_use, m.create_channel, m.send, m.receive, m.register, m.lookup]
    };
    for op in 0..13 {
        let weighted = with_workload.iter().filter(|w| m(w)[op] > 0).count() as f64 / with_workload.len() as f64;
        // Swarm keeps each kind in half of the runs.
        assert_at_least(&format!("workload operation #{op} weighted in"), weighted, 0.3);
    }
}

#[test]
fn sizes_span_their_range_and_swarm_subsets_vary() {
    let config = GenConfig::default();
    let all = scenarios(&config);
    let ops: Vec<u32> = all.iter().map(|s| s.workload.as_ref().map_or(0, |w| w.ops)).collect();
    let max = config.max_workload_ops;
    assert!(ops.iter().any(|&o| o <= max / 10), "no small workload");
    assert!(ops.iter().any(|&o| o >= max * 9 / 10), "no large workload (max {:?})", ops.iter().max());
    let tasks: BTreeSet<usize> = all.iter().map(|s| all_tasks(s).len()).collect();
    assert!(tasks.len() >= 6, "task counts barely vary: {tasks:?}");
    let jitters: BTreeSet<u64> = all.iter().map(|s| s.limits.sched_jitter_ns).collect();
    assert_eq!(jitters.len(), 3, "every scheduling jitter is drawn: {jitters:?}");
    let subsets: BTreeSet<Vec<u8>> = all
        .iter()
        .map(|s| {
            let mut kinds: Vec<u8> = s.faults.message_faults.iter().map(|r| kind_index(r.fault)).collect();
            kinds.sort_unstable();
            kinds.dedup();
            kinds
        })
        .collect();
    assert!(subsets.len() >= 24, "swarm draws only {} distinct subsets of the 5 message-fault kinds", subsets.len());
}

fn kind_index(f: MessageFault) -> u8 {
    match f {
        MessageFault::Drop => 0,
        MessageFault::Delay { .. } => 1,
        MessageFault::Reorder => 2,
        MessageFault::CrashOnSend => 3,
        MessageFault::CrashOnRecv => 4,
    }
}

/// Generated runs exercise what they declare: over 300 runs every invariant is checked and every
/// fault kind is injected at least once, and about half of the rules fire with effect.
#[test]
fn generated_runs_exercise_every_invariant_and_fault() {
    let config = GenConfig::default();
    let mut checks: BTreeMap<String, u64> = BTreeMap::new();
    let (mut faults, mut rules, mut fired) = (model::stats::RunStats::default(), 0u64, 0u64);
    let mut fired_by_shape: BTreeMap<(u8, String), u64> = BTreeMap::new();
    for seed in 0..300 {
        let s = generate(&mut Choices::seeded(seed), &config);
        let r = model::run(&s, &model::RunConfig::seeded(seed));
        assert!(r.violations.is_empty(), "seed {seed}: the correct model violated {:?}", r.violations.first());
        for (id, n) in &r.invariant_checks {
            *checks.entry(id.clone()).or_default() += n;
        }
        faults.messages_dropped += r.stats.messages_dropped;
        faults.messages_delayed += r.stats.messages_delayed;
        faults.messages_reordered += r.stats.messages_reordered;
        faults.send_failures += r.stats.send_failures;
        faults.receive_failures += r.stats.receive_failures;
        faults.lifecycle_crashes += r.stats.lifecycle_crashes;
        faults.restarts += r.stats.restarts;
        rules += r.fault_rules.len() as u64;
        fired += r.fault_rules.iter().filter(|c| c.fired > 0).count() as u64;
        for (rule, counts) in s.faults.message_faults.iter().zip(&r.fault_rules) {
            let scope = format!("{:?}", rule.on).split('(').next().unwrap_or("").to_string();
            *fired_by_shape.entry((kind_index(rule.fault), scope)).or_default() += counts.fired;
        }
    }
    // Every fault kind fires with effect under every kind of scope (a Reorder scoped to a client
    // needs a queue at its server to overtake: servers take time per request).
    let silent: Vec<_> = fired_by_shape.iter().filter(|(_, n)| **n == 0).map(|(shape, _)| shape.clone()).collect();
    assert!(silent.is_empty(), "(fault kind, scope) never fired with effect over 300 runs: {silent:?}");
    assert!(fired_by_shape.len() >= 15, "5 kinds x 3 scopes drawn: {:?}", fired_by_shape.keys());
    let unchecked: Vec<_> = checks.iter().filter(|(_, n)| **n == 0).map(|(id, _)| id.clone()).collect();
    // A lite build runs no network (a scenario's `network` needs the canonical path).
    let unchecked: Vec<_> = unchecked.into_iter().filter(|id| cfg!(feature = "net-canonical") || !id.starts_with("net.")).collect();
    assert!(unchecked.is_empty(), "never checked over 300 generated runs: {unchecked:?}");
    let s = faults;
    for (what, n) in [
        ("drops", s.messages_dropped),
        ("delays", s.messages_delayed),
        ("reorders", s.messages_reordered),
        ("send crashes", s.send_failures),
        ("receive crashes", s.receive_failures),
        ("lifecycle crashes", s.lifecycle_crashes),
        ("restarts", s.restarts),
    ] {
        assert!(n > 0, "no {what} in 300 generated runs");
    }
    // About half: a Reorder needs a message already queued to overtake, a Service rule a client
    // of that service, a Chance rule enough operations; a collapsed generator gives far fewer.
    assert!(fired * 100 >= rules * 45, "only {fired} of {rules} generated fault rules ever fired");
}


#[test]
fn the_workspace_its_steps_and_every_input_fault_kind_appear() {
    use model::input::InputFault;
    use model::workspace::ComponentType;
    let all = scenarios(&GenConfig::default());
    // The workspace is on in about half of the swarm runs; input faults in about half of those.
    assert_at_least("workspace", share(&all, |s| s.workspace.is_some()), 0.35);
    let components: Vec<_> = all.iter().filter_map(|s| s.workspace.as_ref()).flat_map(|w| w.components.iter()).collect();
    let n = components.len() as f64;
    for (name, has) in [
        ("editor", (|c: &&model::scenario::ComponentDecl| c.component_type == ComponentType::Editor) as fn(&&model::scenario::ComponentDecl) -> bool),
        ("cli", |c| c.component_type == ComponentType::Cli),
        ("guest", |c| c.trust_domain.as_deref() == Some("guest")),
        ("budget", |c| c.budget.is_some()),
        ("document", |c| c.document.is_some()),
    ] {
        assert_at_least(&format!("component {name} (share of components)"), components.iter().filter(|c| has(c)).count() as f64 / n, 0.1);
    }
    let step = |name: &'static str| move |s: &Scenario| s.steps.iter().any(|st| st.op.name() == name);
    for name in ["Launch", "RequestFocus", "ReleaseFocus", "NextComponent", "PrevComponent", "Close", "Status", "Revoke", "Unsubscribe", "Subscribe"] {
        assert_at_least(&format!("step {name}"), share(&all, step(name)), 0.05);
    }
    let keys: Vec<usize> = all.iter().filter_map(|s| s.workspace.as_ref()).map(|w| w.keys.iter().map(|k| k.keys.len()).sum()).collect();
    assert!(keys.iter().min() < keys.iter().max(), "key stream lengths vary");
    let fault = |name: &'static str| {
        move |s: &Scenario| {
            s.faults.input_faults.iter().any(|f| {
                name == match f {
                    InputFault::Storm { .. } => "Storm",
                    InputFault::Repeat { .. } => "Repeat",
                    InputFault::Lose { .. } => "Lose",
                    InputFault::Duplicate { .. } => "Duplicate",
                }
            })
        }
    };
    for name in ["Storm", "Repeat", "Lose", "Duplicate"] {
        assert_at_least(&format!("input fault {name}"), share(&all, fault(name)), 0.04);
    }
}

#[test]
fn generated_runs_check_every_interactive_invariant() {
    let config = GenConfig::default();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for seed in 0..200 {
        let s = generate(&mut Choices::seeded(seed), &config);
        let report = model::run(&s, &model::RunConfig::seeded(seed));
        assert!(report.violations.is_empty(), "seed {seed}: {:#?}", report.violations);
        for (id, n) in report.invariant_checks {
            *counts.entry(id).or_default() += n;
        }
    }
    for id in model::invariants::ALL.iter().filter(|id| ["input.", "focus.", "workspace.", "editor."].iter().any(|p| id.starts_with(p))) {
        assert!(counts.get(*id).copied().unwrap_or(0) > 0, "{id} never checked in 200 generated runs");
    }
}
