//! The networking planted bugs (DESIGN.md, "Bugs must be findable"): each deliberately broken
//! rule, switched on alone, breaks exactly the invariant `PlantedBug::caught_by` names, and the
//! same workout on the correct model breaks nothing while checking it. Two layers: a workout per
//! module (both feature configurations), and whole N-node runs of the canonical path. The
//! whole-run layer through the engine (a scenario's `network`) is `scenarios/bug_*.ron`, the
//! generated-run searches and the campaign power test.

mod net_common;

use model::budget::enforcement::ResourceLedger;
use model::budget::rules::BudgetMonitor;
use model::budget::{PacketCount, ResourceBudget};
use model::bugs::{BugSet, PlantedBug};
use model::choices::Choices;
use model::fault::FaultTrigger;
use model::ids::ExecutionId;
use model::net::policy::NetworkPolicySpec;
use model::net::service::InterfaceKind;
use model::net::stream::{StreamConfig, StreamReceiver};
use model::net::topology::{LinkFault, LinkScope, NetFaultPlan, NodeId};
use model::net::wire::Wire;
use model::net::{NetworkInterfaceId, PacketService};
use model::rule_check::RuleLog;
use net_common::*;

fn network_bugs() -> Vec<PlantedBug> {
    PlantedBug::ALL.into_iter().filter(|b| b.is_network()).collect()
}

fn merge(into: &mut RuleLog, from: RuleLog) {
    for (id, n) in from.checks {
        *into.checks.entry(id).or_default() += n;
    }
    into.breaches.extend(from.breaches);
}

/// Sends and receives on a loopback interface under a policy denying port 23, until the
/// identity's `PacketCount` of 8 runs out; the networking and the budget invariants are checked.
fn packet_workout(bugs: &[PlantedBug]) -> RuleLog {
    let exec = ExecutionId(1);
    let iface = NetworkInterfaceId(0);
    let policy: NetworkPolicySpec = ron::from_str(r#"Rules((name: "NoTelnet", rules: [(when: [DestinationPort(23)], then: Deny("no telnet"))]))"#).unwrap();
    let mut s = PacketService::with_bugs(policy.build(), BugSet::from_list(bugs));
    s.add_interface(iface, InterfaceKind::Loopback);
    let mut ledger = ResourceLedger::with_bugs(BugSet::from_list(bugs));
    ledger.attach(exec, None, Some(ResourceBudget::unlimited().with_packet_count(PacketCount::new(8)))).unwrap();
    let mut telnet = packet(b"login");
    telnet.destination.port = 23;
    for i in 0..6u8 {
        let _ = s.send_packet(&mut ledger, exec, iface, packet(&[i]));
        let _ = s.send_packet(&mut ledger, exec, iface, telnet.clone());
        let _ = s.receive_packet(&mut ledger, exec, iface);
    }
    let mut log = check(&NetFaultPlan::default(), &as_net(s.take_events()));
    let mut budget = RuleLog::default();
    BudgetMonitor::check_log(ledger.resource_audit().entries(), &mut budget);
    merge(&mut log, budget);
    log
}

/// Packets between A and B around a partition of [500, 3000): one in flight when it starts, one
/// sent during it, one after it.
fn wire_workout(bugs: &[PlantedBug]) -> RuleLog {
    let plan = NetFaultPlan::new().with_link_fault(LinkFault::Partition, LinkScope::Between { a: NodeId(0), b: NodeId(1) }, FaultTrigger::Window { from_ns: 500, until_ns: 3_000 });
    let mut w = Wire::with_bugs(mesh(2, 1_000, 0), plan.clone(), BugSet::from_list(bugs)).unwrap();
    let (_, events) = drive_wire(&mut w, &[(NodeId(0), addr(2), 0), (NodeId(1), addr(1), 2_500), (NodeId(0), addr(2), 3_500)], &mut Choices::seeded(1));
    check(&plan, &events)
}

/// Ten payloads whose first acknowledgements are lost, so retransmissions reach the receiver.
fn stream_workout(bugs: &[PlantedBug]) -> RuleLog {
    let config = StreamConfig { window: 4, initial_rto_ns: 50, max_rto_ns: 200, max_retransmits: 20, max_pending: 32 };
    let sent = payloads(10);
    let fates = [Fate::Arrive(1), Fate::Arrive(2), Fate::Arrive(3), Fate::Arrive(4), Fate::Lose, Fate::Lose, Fate::Lose, Fate::Lose, Fate::Twice(1, 5)];
    let mut receiver = StreamReceiver::with_bugs(config, BugSet::from_list(bugs));
    let run = run_stream(config, &mut receiver, &sent, &fates, u64::MAX);
    stream_events(&sent, &run.delivered)
}

/// The handshake bugs need the canonical path: two nodes, the responder an impostor (it
/// announces device 555, proves 101); then two honest nodes.
#[cfg(feature = "net-canonical")]
fn handshake_workout(bugs: &[PlantedBug]) -> RuleLog {
    use model::net::canonical::drive::{NetRunConfig, NetWorld};
    use model::net::events::DeviceId;
    let mut log = RuleLog::default();
    for impostors in [vec![(NodeId(1), DeviceId(555))], vec![]] {
        let config = NetRunConfig { messages_per_peer: 3, streams: 1, impostors, bugs: bugs.to_vec(), ..NetRunConfig::default() };
        let mut w = NetWorld::new(mesh(2, 1_000_000, 0), NetFaultPlan::new(), config, Choices::seeded(1)).unwrap();
        w.run_until(model::time::Instant(2_000_000_000));
        merge(&mut log, w.rules().clone());
    }
    log
}

/// The workout that exposes each networking bug, if this configuration has it.
fn workout(bug: PlantedBug) -> Option<fn(&[PlantedBug]) -> RuleLog> {
    use PlantedBug::*;
    match bug {
        NetPolicyCheckedAfterBudget | DeniedPacketCharged | ReceivedPacketNotCharged => Some(packet_workout),
        PartitionCheckedAtSendOnly => Some(wire_workout),
        RetransmissionDeliveredTwice => Some(stream_workout),
        #[cfg(feature = "net-canonical")]
        SessionBindsPresentedIdentity | SessionAcceptedBeforeIdentityCheck => Some(handshake_workout),
        #[cfg(not(feature = "net-canonical"))]
        SessionBindsPresentedIdentity | SessionAcceptedBeforeIdentityCheck => None,
        other => unreachable!("{other:?} is not a networking bug"),
    }
}

#[test]
fn there_are_seven_network_bugs_one_per_invariant_all_reachable_by_runs() {
    let bugs = network_bugs();
    assert_eq!(bugs.len(), 7);
    let caught: std::collections::BTreeSet<&str> = bugs.iter().map(|b| b.caught_by()[0]).collect();
    assert_eq!(caught, model::net::checks::ALL.into_iter().collect());
    let canonical = cfg!(feature = "net-canonical");
    assert!(bugs.iter().all(|b| b.reachable_by_runs() == canonical), "a scenario's network (canonical path) reaches them");
    for id in model::net::checks::ALL {
        assert!(model::invariants::ALL.contains(&id), "{id} is checked and counted in runs");
    }
}

#[test]
fn every_workout_is_clean_on_the_correct_model_and_checks_the_invariant() {
    for bug in network_bugs() {
        let Some(workout) = workout(bug) else { continue };
        let log = workout(&[]);
        assert!(log.is_clean(), "{bug:?}'s workout breaks the correct model: {:#?}", log.breaches);
        let invariant = bug.caught_by()[0];
        assert!(log.count(invariant) > 0, "{bug:?}'s workout never checks {invariant}");
    }
}

#[test]
fn each_planted_bug_breaks_exactly_its_invariant() {
    let mut wrong = Vec::new();
    let mut shown = 0;
    for bug in network_bugs() {
        let Some(workout) = workout(bug) else { continue };
        shown += 1;
        let log = workout(&[bug]);
        if log.breached() != [bug.caught_by()[0]] {
            wrong.push(format!("{bug:?}: expected [{}], breached {:?}: {:#?}", bug.caught_by()[0], log.breached(), log.breaches.iter().take(3).collect::<Vec<_>>()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(shown, if cfg!(feature = "net-canonical") { 7 } else { 5 });
}

/// Whole canonical runs: every networking bug is found by a run of the N-node loop whose
/// scenario gives it the chance (a denial, a partition starting while packets fly, loss, an
/// impostor), and breaks only its invariant there too.
#[cfg(feature = "net-canonical")]
#[test]
fn whole_runs_catch_each_network_bug_by_its_invariant_alone() {
    use model::net::canonical::drive::{NetRunConfig, NetWorld};
    use model::net::events::DeviceId;
    let deny_node1_announces: NetworkPolicySpec =
        ron::from_str(r#"Rules((name: "Quiet", rules: [(when: [Direction(Receive), SourceIn("10.0.0.2/32"), DestinationPort(37020)], then: Deny("ignore 10.0.0.2"))]))"#).unwrap();
    let ms = 1_000_000;
    let mut wrong = Vec::new();
    for bug in network_bugs() {
        let mut config = NetRunConfig { messages_per_peer: 20, streams: 2, bugs: vec![bug], ..NetRunConfig::default() };
        let mut plan = NetFaultPlan::new();
        match bug {
            PlantedBug::DeniedPacketCharged => config.policy = deny_node1_announces.clone(),
            PlantedBug::PartitionCheckedAtSendOnly => plan = plan.with_link_fault(LinkFault::Partition, LinkScope::Any, FaultTrigger::Window { from_ns: ms / 2, until_ns: 2 * ms }),
            PlantedBug::RetransmissionDeliveredTwice => plan = plan.with_link_fault(LinkFault::Drop, LinkScope::Any, FaultTrigger::Chance { per_mille: 100 }),
            PlantedBug::SessionBindsPresentedIdentity => config.impostors = vec![(NodeId(1), DeviceId(555))],
            _ => {}
        }
        for bugs in [vec![], vec![bug]] {
            let config = NetRunConfig { bugs: bugs.clone(), ..config.clone() };
            let mut w = NetWorld::new(mesh(3, ms, 0), plan.clone(), config, Choices::seeded(5)).unwrap();
            w.run_until(model::time::Instant(5_000 * ms));
            let expected: Vec<&str> = if bugs.is_empty() { vec![] } else { vec![bug.caught_by()[0]] };
            if w.rules().breached() != expected {
                wrong.push(format!("{bug:?} (on: {}): expected {expected:?}, breached {:?}: {:?}", !bugs.is_empty(), w.rules().breached(), w.rules().breaches.first()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
