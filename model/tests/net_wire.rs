//! The wire and the network fault plan: latency and jitter, loss, duplication, delay and
//! reordering with the message faults' triggers, one- and two-way partitions and their heals,
//! node crash and restart, broadcast; every draw of 0 is "nothing unusual"; runs replay from their
//! choices; and `net.no_delivery_across_partition` holds over all of it.

mod net_common;

use model::choices::Choices;
use model::fault::FaultTrigger;
use model::net::checks::NO_DELIVERY_ACROSS_PARTITION;
use model::net::events::NetEvent;
use model::net::topology::{LinkDecl, LinkFault, LinkScope, LinkSpec, NetFaultPlan, NodeId, Topology};
use model::net::wire::{Delivery, LossCause, Wire, WireEvent};
use model::net::Ipv4Address;
use net_common::*;

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);
const C: NodeId = NodeId(2);

fn wire(plan: NetFaultPlan) -> Wire {
    Wire::new(mesh(3, 1_000, 0), plan).unwrap()
}

fn arrivals(wire: &mut Wire, sends: &[(NodeId, Ipv4Address, u64)], choices: &mut Choices) -> (Vec<(Delivery, usize)>, Vec<NetEvent>) {
    let (arrived, events) = drive_wire(wire, sends, choices);
    let log = check(wire.plan(), &events);
    assert!(log.is_clean(), "{:?}", log.breaches);
    (arrived, events)
}

fn losses(events: &[NetEvent]) -> Vec<LossCause> {
    events.iter().filter_map(|e| if let NetEvent::Wire(WireEvent::Lost { cause, .. }) = e { Some(*cause) } else { None }).collect()
}

/// `n` packets from A to B, one every `every` ns from 0.
fn stream_ab(n: u64, every: u64) -> Vec<(NodeId, Ipv4Address, u64)> {
    (0..n).map(|i| (A, addr(2), i * every)).collect()
}

#[test]
fn a_clean_link_delivers_each_packet_once_after_its_latency_and_drawn_jitter() {
    let mut w = Wire::new(mesh(2, 1_000, 500), NetFaultPlan::new()).unwrap();
    let (got, _) = arrivals(&mut w, &stream_ab(3, 10), &mut Choices::replaying(vec![0, 500, 250]));
    let times: Vec<u64> = got.iter().map(|(d, _)| d.at.0).collect();
    assert_eq!(times, [1_000, 1_270, 1_510], "latency + 0, + 500 (sent at 10), + 250 (sent at 20)");
    assert!(got.iter().all(|(d, _)| d.to == B && d.copy == 0));
}

#[test]
fn drawing_zero_everywhere_means_nothing_unusual_happens() {
    let plan = NetFaultPlan::new()
        .with_link_fault(LinkFault::Drop, LinkScope::Any, FaultTrigger::Chance { per_mille: 500 })
        .with_link_fault(LinkFault::Duplicate { gap_ns: 5 }, LinkScope::Any, FaultTrigger::Chance { per_mille: 500 })
        .with_link_fault(LinkFault::Reorder { window_ns: 10_000 }, LinkScope::Any, FaultTrigger::Always);
    let mut w = Wire::new(mesh(2, 1_000, 300), plan).unwrap();
    let (got, _) = arrivals(&mut w, &stream_ab(20, 100), &mut Choices::replaying(Vec::new()));
    assert_eq!(got.len(), 20);
    assert!(got.iter().enumerate().all(|(i, (d, p))| *p == i && d.at.0 == 1_000 + 100 * i as u64), "in order, on time, once");
}

#[test]
fn triggers_pick_the_packets_a_rule_hits() {
    let cases: [(FaultTrigger, &[usize]); 5] = [
        (FaultTrigger::Always, &[]),
        (FaultTrigger::Next { count: 2 }, &[2, 3, 4, 5, 6, 7, 8, 9]),
        (FaultTrigger::EveryNth { n: 3 }, &[0, 1, 3, 4, 6, 7, 9]),
        (FaultTrigger::Window { from_ns: 300, until_ns: 600 }, &[0, 1, 2, 6, 7, 8, 9]),
        (FaultTrigger::Periodic { every_ns: 500, for_ns: 200, from_ns: 0 }, &[2, 3, 4, 7, 8, 9]),
    ];
    for (trigger, survivors) in cases {
        let mut w = wire(NetFaultPlan::new().with_link_fault(LinkFault::Drop, LinkScope::Link { from: A, to: B }, trigger));
        let (got, events) = arrivals(&mut w, &stream_ab(10, 100), &mut Choices::seeded(1));
        let got: Vec<usize> = got.iter().map(|(_, i)| *i).collect();
        assert_eq!(got, survivors, "{trigger:?}");
        assert!(losses(&events).iter().all(|c| *c == LossCause::Dropped));
        assert_eq!(w.rule_counts()[0].fired as usize, 10 - survivors.len(), "{trigger:?}");
    }
}

#[test]
fn five_percent_loss_loses_about_five_percent() {
    let plan = NetFaultPlan::new().with_link_fault(LinkFault::Drop, LinkScope::Any, FaultTrigger::Chance { per_mille: 50 });
    let mut w = wire(plan);
    let (got, _) = arrivals(&mut w, &stream_ab(10_000, 10), &mut Choices::seeded(7));
    let lost = 10_000 - got.len();
    assert!((400..600).contains(&lost), "{lost} of 10000 lost");
    assert_eq!(w.rule_counts()[0].evaluated, 10_000);
}

#[test]
fn duplication_delay_and_reordering_compose() {
    let plan = NetFaultPlan::new()
        .with_link_fault(LinkFault::Duplicate { gap_ns: 50 }, LinkScope::Link { from: A, to: B }, FaultTrigger::Next { count: 1 })
        .with_link_fault(LinkFault::Delay { nanos: 200 }, LinkScope::Link { from: A, to: B }, FaultTrigger::Next { count: 1 })
        .with_link_fault(LinkFault::Reorder { window_ns: 1_000 }, LinkScope::Link { from: A, to: B }, FaultTrigger::Always);
    let mut w = wire(plan);
    // Reorder draws: 900 extra for packet 0, 0 for packet 1.
    let (got, _) = arrivals(&mut w, &stream_ab(2, 10), &mut Choices::replaying(vec![900, 0]));
    let seen: Vec<(usize, u8, u64)> = got.iter().map(|(d, i)| (*i, d.copy, d.at.0)).collect();
    assert_eq!(seen, [(1, 0, 1_010), (0, 0, 2_100), (0, 1, 2_150)], "packet 1 overtakes packet 0, which arrives twice");
}

#[test]
fn partitions_cut_one_or_both_ways_and_heal() {
    let window = FaultTrigger::Window { from_ns: 1_000, until_ns: 5_000 };
    // One-way A -> B: B -> A still works.
    let sends = [(A, addr(2), 2_000), (B, addr(1), 2_000), (B, addr(3), 2_000), (A, addr(2), 6_000)];
    let mut w = wire(NetFaultPlan::new().with_link_fault(LinkFault::Partition, LinkScope::Link { from: A, to: B }, window));
    let (got, events) = arrivals(&mut w, &sends, &mut Choices::seeded(3));
    let mut got: Vec<usize> = got.iter().map(|(_, i)| *i).collect();
    got.sort();
    assert_eq!(got, [1, 2, 3]);
    assert_eq!(losses(&events), [LossCause::Partition]);
    // Two-way between A and B, isolation of C, a split {A, C} | {B}; all healed at 5000.
    for (scope, survivors) in [
        (LinkScope::Between { a: A, b: B }, vec![2, 3]),
        (LinkScope::Node(C), vec![0, 1, 3]),
        (LinkScope::Split { side: vec![A, C] }, vec![3]),
    ] {
        let mut w = wire(NetFaultPlan::new().with_link_fault(LinkFault::Partition, scope.clone(), window));
        let (got, _) = arrivals(&mut w, &sends, &mut Choices::seeded(3));
        let mut got: Vec<usize> = got.iter().map(|(_, i)| *i).collect();
        got.sort();
        assert_eq!(got, survivors, "{scope:?}");
    }
}

#[test]
fn a_packet_in_flight_when_a_partition_starts_is_lost_and_one_sent_before_the_heal_arrives_after_it() {
    let plan = NetFaultPlan::new().with_link_fault(LinkFault::Partition, LinkScope::Between { a: A, b: B }, FaultTrigger::Window { from_ns: 500, until_ns: 3_000 });
    let mut w = wire(plan);
    // Sent at 0, would arrive at 1000 (cut): lost. Sent at 3500: fine. Sent at 2500 (cut): lost.
    let (got, events) = arrivals(&mut w, &[(A, addr(2), 0), (A, addr(2), 2_500), (A, addr(2), 3_500)], &mut Choices::seeded(1));
    assert_eq!(got.iter().map(|(_, i)| *i).collect::<Vec<_>>(), [2]);
    assert_eq!(losses(&events), [LossCause::Partition, LossCause::Partition]);
    let log = check(w.plan(), &events);
    assert_eq!(log.count(NO_DELIVERY_ACROSS_PARTITION), 1);
}

#[test]
fn crashed_nodes_neither_send_nor_receive_until_they_restart() {
    let mut w = wire(NetFaultPlan::new().with_node_fault(B, 1_000, Some(4_000)));
    let sends = [(A, addr(2), 0), (A, addr(2), 500), (B, addr(1), 2_000), (A, addr(2), 3_500)];
    let (got, events) = arrivals(&mut w, &sends, &mut Choices::seeded(1));
    // 0 arrives at 1000 (down): lost; 500 arrives 1500: lost; B sends while down: lost; 3500
    // arrives at 4500: delivered.
    assert_eq!(got.iter().map(|(_, i)| *i).collect::<Vec<_>>(), [3]);
    assert_eq!(losses(&events), [LossCause::NodeDown; 3]);
}

#[test]
fn a_broadcast_crosses_every_link_of_the_sender_each_on_its_own() {
    let plan = NetFaultPlan::new().with_link_fault(LinkFault::Drop, LinkScope::Link { from: A, to: C }, FaultTrigger::Always);
    let mut w = wire(plan);
    let (got, _) = arrivals(&mut w, &[(A, Ipv4Address::BROADCAST, 0)], &mut Choices::seeded(1));
    assert_eq!(got.iter().map(|(d, _)| d.to).collect::<Vec<_>>(), [B]);
    let mut w = wire(NetFaultPlan::new());
    let (got, events) = arrivals(&mut w, &[(A, addr(99), 0)], &mut Choices::seeded(1));
    assert!(got.is_empty());
    assert_eq!(losses(&events), [LossCause::NoLink]);
    // A topology without the link C -> A.
    let t = Topology::new(nodes(3), &[LinkDecl::new(A, B, LinkSpec { latency_ns: 1, jitter_ns: 0 }, true), LinkDecl::new(A, C, LinkSpec { latency_ns: 1, jitter_ns: 0 }, false)]).unwrap();
    let mut w = Wire::new(t, NetFaultPlan::new()).unwrap();
    let (got, events) = arrivals(&mut w, &[(C, addr(1), 0), (C, Ipv4Address::BROADCAST, 0)], &mut Choices::seeded(1));
    assert!(got.is_empty());
    assert_eq!(losses(&events), [LossCause::NoLink]);
}

#[test]
fn a_run_is_a_function_of_its_choices_and_replays_from_them() {
    let plan = NetFaultPlan::new()
        .with_link_fault(LinkFault::Drop, LinkScope::Any, FaultTrigger::Chance { per_mille: 100 })
        .with_link_fault(LinkFault::Duplicate { gap_ns: 7 }, LinkScope::Any, FaultTrigger::Chance { per_mille: 100 })
        .with_link_fault(LinkFault::Reorder { window_ns: 3_000 }, LinkScope::Any, FaultTrigger::Chance { per_mille: 300 })
        .with_link_fault(LinkFault::Partition, LinkScope::Between { a: A, b: C }, FaultTrigger::Periodic { every_ns: 4_000, for_ns: 1_000, from_ns: 0 });
    let sends: Vec<_> = (0..300).map(|i| ([A, B, C][i % 3], addr([2, 3, 1][i % 3] as u8), i as u64 * 37)).collect();
    let run = |choices: &mut Choices| {
        let mut w = Wire::new(mesh(3, 1_000, 400), plan.clone()).unwrap();
        arrivals(&mut w, &sends, choices)
    };
    let mut recording = Choices::seeded(11).recording();
    let first = run(&mut recording);
    let second = run(&mut Choices::seeded(11));
    assert_eq!(first, second);
    let replayed = run(&mut Choices::replaying(recording.take_record().unwrap()));
    assert_eq!(first, replayed);
    let other = run(&mut Choices::seeded(12));
    assert_ne!(first.0, other.0, "another seed, another network");
}

#[test]
fn plans_are_validated_against_the_topology() {
    let bad = NetFaultPlan::new().with_link_fault(LinkFault::Drop, LinkScope::Node(NodeId(9)), FaultTrigger::Always);
    assert!(Wire::new(mesh(2, 1, 0), bad).unwrap_err().contains("does not exist"));
    let text = r#"(link_faults: [(fault: Partition, on: Between(a: 0, b: 1), when: Window(from_ns: 10, until_ns: 20))], node_faults: [(node: 1, crash_at_ns: 5, restart_at_ns: Some(9))])"#;
    let plan: NetFaultPlan = ron::from_str(text).unwrap();
    assert!(plan.validate(2).is_ok());
    assert!(plan.is_cut(B, A, 10) && !plan.is_up(B, 5));
}
