//! The fault injector's index (interface reference, "Fault Injection Semantics"; DESIGN.md, "fault
//! rules are indexed by scope"): indexing rules by scope and opening windows as time passes must
//! give exactly the run a linear scan of the plan gives — same faults, same choices, same trace.

use model::fault::{FaultScope, FaultTrigger, MessageFault, MessageFaultRule};
use model::scenario::{Behaviour, Scenario, TaskSpec};
use model::{run, RunConfig};

fn task(name: &str, behaviour: Behaviour) -> TaskSpec {
    TaskSpec { name: name.into(), behaviour, kind: Default::default(), domain: "user".into(), start_ns: 0, caps: vec![], restart: Default::default(), budget: None }
}

/// Two echo servers, two clients, and an idle task that never sends.
fn scenario(rules: Vec<MessageFaultRule>) -> Scenario {
    let client = |service: &str| Behaviour::Client {
        service: service.into(),
        requests: 300,
        timeout_ns: 500_000,
        retries: 1_000,
        backoff_ns: 1_000,
        interval_ns: 100_000,
        version: Default::default(),
    };
    let server = |service: &str| Behaviour::Server { service: service.into(), version: Default::default(), min_major: None, work_ns: 0 };
    let mut s = Scenario {
        name: "index".into(),
        description: String::new(),
        seed: 5,
        limits: Default::default(),
        tasks: vec![task("s0", server("a")), task("s1", server("b")), task("c0", client("a")), task("c1", client("b")), task("quiet", Behaviour::Idle)],
        steps: vec![],
        workload: None,
        faults: Default::default(),
        policy: None,
        pipelines: vec![],
        migrations: vec![],
        workspace: None,
        bugs: vec![],
        network: None,
        #[cfg(feature = "net-bringup-lite")]
        lite_network: None,
        expect: Default::default(),
    };
    s.faults.message_faults = rules;
    s.validate().expect("valid");
    s
}

fn rule(fault: MessageFault, on: FaultScope, when: FaultTrigger) -> MessageFaultRule {
    MessageFaultRule { fault, on, when }
}

#[test]
fn a_periodic_rule_is_its_windows() {
    let periodic = rule(MessageFault::Drop, FaultScope::Any, FaultTrigger::Periodic { every_ns: 3_000_000, for_ns: 1_000_000, from_ns: 500_000 });
    let windows: Vec<_> = (0..40u64)
        .map(|i| {
            let from_ns = 500_000 + i * 3_000_000;
            rule(MessageFault::Drop, FaultScope::Any, FaultTrigger::Window { from_ns, until_ns: from_ns + 1_000_000 })
        })
        .collect();
    let a = run(&scenario(vec![periodic]), &RunConfig::seeded(1));
    let b = run(&scenario(windows), &RunConfig::seeded(1));
    assert!(a.stats.messages_dropped > 10, "the periodic rule fires: {}", a.stats.messages_dropped);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.fault_rules[0].fired, b.fault_rules.iter().map(|r| r.fired).sum::<u64>());
}

#[test]
fn rules_that_cannot_apply_change_nothing() {
    let chance = rule(MessageFault::Drop, FaultScope::Any, FaultTrigger::Chance { per_mille: 15 });
    let mut crowded = vec![chance.clone()];
    for i in 0..300u64 {
        // Scoped to a task that sends nothing, or in windows long past the end of the run.
        crowded.push(rule(MessageFault::Delay { nanos: 7 }, FaultScope::Task("quiet".into()), FaultTrigger::Always));
        crowded.push(rule(MessageFault::Drop, FaultScope::Any, FaultTrigger::Window { from_ns: 10_000_000_000 + i, until_ns: 20_000_000_000 }));
    }
    let plain = run(&scenario(vec![chance]), &RunConfig::seeded(2));
    let with_noise = run(&scenario(crowded), &RunConfig::seeded(2));
    assert_eq!(plain.stats.messages_sent, with_noise.stats.messages_sent);
    assert_eq!(plain.stats.messages_dropped, with_noise.stats.messages_dropped);
    assert_eq!(plain.choices_drawn, with_noise.choices_drawn);
    assert!(with_noise.fault_rules.iter().skip(1).all(|r| r.fired == 0), "no out-of-scope rule fired");
}

#[test]
fn the_first_rule_in_plan_order_wins_across_scopes() {
    // A service-scoped rule before an `Any` rule wins on that service's channel; on the other
    // service's channel only the `Any` rule applies.
    let rules = vec![
        rule(MessageFault::Delay { nanos: 1_000 }, FaultScope::Service("a".into()), FaultTrigger::Always),
        rule(MessageFault::Drop, FaultScope::Any, FaultTrigger::EveryNth { n: 2 }),
    ];
    let r = run(&scenario(rules), &RunConfig::seeded(3));
    let (delay, drop) = (r.fault_rules[0].clone(), r.fault_rules[1].clone());
    assert!(delay.fired > 0 && drop.fired > 0);
    assert_eq!(delay.fired, delay.evaluated, "Always fires on every operation it is evaluated on");
    assert_eq!(r.stats.messages_delayed, delay.fired);
    assert_eq!(r.stats.messages_dropped, drop.fired);
    // Operations on service a's channel never reach the Any rule: it sees only the others.
    assert!(drop.evaluated < r.stats.messages_sent, "{drop:?} vs {} sent", r.stats.messages_sent);
    assert_eq!(delay.evaluated + drop.evaluated, r.stats.messages_sent);
}
