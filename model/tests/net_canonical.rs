//! The canonical path (seed `001_*`) in N-node runs: discovery, the identity-binding handshake,
//! sessions and streams over the packet service and the wire — clean; under loss, reordering and
//! duplication; across a partition that heals; against a peer proving another identity; in an
//! eight-node mesh; through a crash and restart; under a packet budget and a deny policy. Every
//! run checks the seven `net.*` invariants as it goes, and replays bit for bit from its choices.
#![cfg(feature = "net-canonical")]

mod net_common;

use model::budget::audit::ResourceEvent;
use model::choices::Choices;
use model::fault::FaultTrigger;
use model::net::canonical::drive::{NetRunConfig, NetWorld};
use model::net::checks;
use model::net::events::{CloseReason, DeviceId, DiscoveryEvent, NetEvent, RejectReason, SessionEvent};
use model::net::policy::NetworkPolicySpec;
use model::net::service::{PacketOutcome, PacketServiceEvent};
use model::net::stream::StreamConfig;
use model::net::topology::{LinkFault, LinkScope, NetFaultPlan, NodeId};
use model::net::wire::{LossCause, WireEvent};
use model::time::Instant;
use net_common::*;

const MS: u64 = 1_000_000;

fn config(messages: u32) -> NetRunConfig {
    NetRunConfig { messages_per_peer: messages, streams: 3, ..NetRunConfig::default() }
}

fn run(n: u32, latency_ms: u64, jitter_us: u64, plan: NetFaultPlan, config: NetRunConfig, choices: Choices, until_ms: u64) -> NetWorld {
    let mut w = NetWorld::new(mesh(n, latency_ms * MS, jitter_us * 1_000), plan, config, choices).unwrap();
    w.run_until(Instant(until_ms * MS));
    w
}

fn assert_clean(w: &NetWorld) {
    assert!(w.rules().is_clean(), "{:#?}", &w.rules().breaches[..w.rules().breaches.len().min(5)]);
}

/// Every live node got from every other node its payloads 0..m, in order, once (per stream in
/// stream order, and overall in send order since the streams share the session).
fn assert_all_delivered(w: &NetWorld, n: u32, m: u32) {
    for to in 0..n {
        let app = w.app(NodeId(to)).expect("node up");
        for from in (0..n).filter(|f| *f != to) {
            let (fa, ta) = (addr(from as u8 + 1), addr(to as u8 + 1));
            let expected: Vec<Vec<u8>> = (0..m).map(|i| NetWorld::payload(fa, ta, i)).collect();
            let got: Vec<Vec<u8>> = app.received.get(&fa).map(|v| v.iter().map(|(_, p)| p.clone()).collect()).unwrap_or_default();
            assert_eq!(got, expected, "node {to} from node {from}");
            let streams: Vec<u32> = app.received.get(&fa).map(|v| v.iter().map(|(s, _)| *s).collect()).unwrap_or_default();
            assert!(streams.iter().enumerate().all(|(i, s)| *s == i as u32 % 3), "payloads spread over the streams in order");
        }
    }
}

fn count(w: &NetWorld, pred: impl Fn(&NetEvent) -> bool) -> usize {
    w.events().iter().filter(|e| pred(e)).count()
}

fn lossy_plan(loss: u16, dup: u16, reorder: u16) -> NetFaultPlan {
    NetFaultPlan::new()
        .with_link_fault(LinkFault::Drop, LinkScope::Any, FaultTrigger::Chance { per_mille: loss })
        .with_link_fault(LinkFault::Duplicate { gap_ns: 300_000 }, LinkScope::Any, FaultTrigger::Chance { per_mille: dup })
        .with_link_fault(LinkFault::Reorder { window_ns: 3 * MS }, LinkScope::Any, FaultTrigger::Chance { per_mille: reorder })
}

#[test]
fn two_nodes_discover_each_other_bind_a_session_to_the_learnt_identity_and_exchange_data() {
    let w = run(2, 1, 0, NetFaultPlan::new(), config(10), Choices::seeded(1), 3_000);
    assert_clean(&w);
    assert_all_delivered(&w, 2, 10);
    for (me, peer, device) in [(0, 2, 101), (1, 1, 100)] {
        let bus = w.softbus(NodeId(me)).unwrap();
        assert_eq!(bus.peers().device(addr(peer)), Some(DeviceId(device)), "discovery on node {me}");
        assert_eq!(bus.sessions().count(), 1);
        assert_eq!(w.app(NodeId(me)).unwrap().sessions_up, [(addr(peer), DeviceId(device))]);
    }
    let established: Vec<_> = w.events().iter().filter_map(|e| if let NetEvent::Session { node, event: SessionEvent::Established { bound, .. } } = e { Some((*node, *bound)) } else { None }).collect();
    assert_eq!(established, [(NodeId(1), DeviceId(100)), (NodeId(0), DeviceId(101))], "the responder accepts first, each end bound to the other");
    for id in checks::ALL.iter().filter(|i| **i != checks::DENIED_CONSUMES_NOTHING) {
        assert!(w.rules().count(id) > 0, "{id} never checked");
    }
    // Every packet the soft-bus sent or received cost its identity one PacketCount, in the audit.
    for node in [NodeId(0), NodeId(1)] {
        let ledger = w.ledger(node).unwrap();
        let exec = w.softbus_identity(node).unwrap();
        let consumed = ledger.resource_audit().count_events(|e| matches!(e, ResourceEvent::PacketConsumed { execution_id, .. } if *execution_id == exec));
        let ops = count(&w, |e| matches!(e, NetEvent::Packet { node: n, event: PacketServiceEvent::Done { outcome: PacketOutcome::Sent | PacketOutcome::Received, .. } } if *n == node));
        assert_eq!(consumed, ops);
        assert_eq!(ledger.usage(exec).packet_count.get(), ops as u64);
    }
}

#[test]
fn sessions_deliver_everything_in_order_once_under_loss_reordering_and_duplication() {
    for seed in 0..6 {
        let w = run(2, 1, 500, lossy_plan(50, 50, 200), config(60), Choices::seeded(seed), 30_000);
        assert_clean(&w);
        assert_all_delivered(&w, 2, 60);
        let dropped = count(&w, |e| matches!(e, NetEvent::Wire(WireEvent::Lost { cause: LossCause::Dropped, .. })));
        let duplicated = count(&w, |e| matches!(e, NetEvent::Wire(WireEvent::Scheduled { copy: 1, .. })));
        assert!(dropped > 0 && duplicated > 0, "seed {seed}: the faults happened ({dropped} dropped, {duplicated} duplicated)");
    }
}

#[test]
fn a_session_survives_a_partition_that_heals_one_way_or_two() {
    let slow = NetRunConfig { softbus: model::net::canonical::softbus::SoftBusConfig { stream: StreamConfig { window: 2, ..StreamConfig::default() }, ..Default::default() }, ..config(200) };
    for scope in [LinkScope::Between { a: NodeId(0), b: NodeId(1) }, LinkScope::Link { from: NodeId(1), to: NodeId(0) }] {
        let plan = NetFaultPlan::new().with_link_fault(LinkFault::Partition, scope.clone(), FaultTrigger::Window { from_ns: 50 * MS, until_ns: 1_050 * MS });
        let w = run(2, 1, 0, plan, slow.clone(), Choices::seeded(3), 10_000);
        assert_clean(&w);
        assert_all_delivered(&w, 2, 200);
        assert!(count(&w, |e| matches!(e, NetEvent::Wire(WireEvent::Lost { cause: LossCause::Partition, .. }))) > 0, "{scope:?}: the partition cut something");
        assert_eq!(count(&w, |e| matches!(e, NetEvent::Session { event: SessionEvent::Closed { .. }, .. })), 0, "{scope:?}: the session outlived the partition");
        assert!(w.rules().count(checks::NO_DELIVERY_ACROSS_PARTITION) > 0);
    }
}

#[test]
fn a_partition_longer_than_the_stream_tolerates_ends_the_session_and_the_initiator_reconnects() {
    let plan = NetFaultPlan::new().with_link_fault(LinkFault::Partition, LinkScope::Between { a: NodeId(0), b: NodeId(1) }, FaultTrigger::Window { from_ns: 10 * MS, until_ns: 30_000 * MS });
    let slow = NetRunConfig { softbus: model::net::canonical::softbus::SoftBusConfig { stream: StreamConfig { window: 1, ..StreamConfig::default() }, ..Default::default() }, ..config(100) };
    let w = run(2, 1, 0, plan, slow, Choices::seeded(4), 45_000);
    assert_clean(&w);
    let closed = count(&w, |e| matches!(e, NetEvent::Session { event: SessionEvent::Closed { reason: CloseReason::StreamFailed, .. }, .. }));
    assert!(closed >= 1);
    // After the heal, a new session is up on both sides.
    assert_eq!(w.softbus(NodeId(0)).unwrap().sessions().count(), 1);
    assert_eq!(count(&w, |e| matches!(e, NetEvent::Session { node: NodeId(1), event: SessionEvent::Established { .. } })), 2);
}

#[test]
fn a_responder_proving_another_identity_than_discovery_learnt_is_rejected_and_audited() {
    // Node 1 announces device 555 but can only prove its own, 101.
    let cfg = NetRunConfig { impostors: vec![(NodeId(1), DeviceId(555))], ..config(5) };
    let w = run(2, 1, 0, NetFaultPlan::new(), cfg, Choices::seeded(1), 5_000);
    assert_clean(&w);
    let rejections: Vec<_> = w.events().iter().filter_map(|e| if let NetEvent::Session { node, event: SessionEvent::HandshakeRejected { expected, presented, reason, .. } } = e { Some((*node, *expected, *presented, *reason)) } else { None }).collect();
    assert_eq!(rejections, [(NodeId(0), Some(DeviceId(555)), DeviceId(101), RejectReason::IdentityMismatch)]);
    assert_eq!(count(&w, |e| matches!(e, NetEvent::Session { event: SessionEvent::Established { .. }, .. })), 0);
    assert_eq!(count(&w, |e| matches!(e, NetEvent::Session { event: SessionEvent::Connecting { .. }, .. })), 1, "the impostor is not called again");
    assert!(w.app(NodeId(0)).unwrap().received.is_empty() && w.app(NodeId(1)).unwrap().received.is_empty());
}

#[test]
fn an_initiator_proving_another_identity_is_rejected_by_the_responder_and_gets_no_data_through() {
    let cfg = NetRunConfig { impostors: vec![(NodeId(0), DeviceId(555))], ..config(5) };
    let w = run(2, 1, 0, NetFaultPlan::new(), cfg, Choices::seeded(1), 5_000);
    assert_clean(&w);
    assert!(w.events().iter().any(|e| matches!(e, NetEvent::Session { node: NodeId(1), event: SessionEvent::HandshakeRejected { expected: Some(DeviceId(555)), presented: DeviceId(100), .. } })));
    // The initiator had checked the responder (genuine) but was never accepted: its application
    // never saw a session, so it sent nothing into one.
    assert!(w.app(NodeId(0)).unwrap().sessions_up.is_empty());
    assert!(w.events().iter().any(|e| matches!(e, NetEvent::Session { node: NodeId(0), event: SessionEvent::Closed { reason: CloseReason::RejectedByPeer, .. } })));
    assert!(w.app(NodeId(1)).unwrap().received.is_empty(), "nothing reached the responder's application");
    assert_eq!(w.softbus(NodeId(0)).unwrap().sessions().count() + w.softbus(NodeId(1)).unwrap().sessions().count(), 0);
}

#[test]
fn a_responder_that_missed_the_initiators_announce_refuses_it_until_discovery_catches_up() {
    // The first packet from node 0 to node 1 — node 0's first announce — is lost.
    let plan = NetFaultPlan::new().with_link_fault(LinkFault::Drop, LinkScope::Link { from: NodeId(0), to: NodeId(1) }, FaultTrigger::Next { count: 1 });
    let w = run(2, 1, 0, plan, config(10), Choices::seeded(1), 5_000);
    assert_clean(&w);
    let rejected: Vec<_> = w.events().iter().filter_map(|e| if let NetEvent::Session { node, event: SessionEvent::HandshakeRejected { reason, expected, .. } } = e { Some((*node, *reason, *expected)) } else { None }).collect();
    assert_eq!(rejected, [(NodeId(1), RejectReason::UnknownPeer, None)]);
    assert_eq!(count(&w, |e| matches!(e, NetEvent::Session { event: SessionEvent::Connecting { .. }, .. })), 2, "the initiator called again");
    assert_eq!(w.app(NodeId(0)).unwrap().sessions_up.len(), 1, "the refused session never reached the application");
    assert_all_delivered(&w, 2, 10);
}

#[test]
fn an_eight_node_mesh_connects_every_pair_and_delivers_everything() {
    let w = run(8, 2, 1_000, lossy_plan(20, 50, 200), config(20), Choices::seeded(1), 20_000);
    assert_clean(&w);
    assert_all_delivered(&w, 8, 20);
    assert!(count(&w, |e| matches!(e, NetEvent::Session { event: SessionEvent::Established { .. }, .. })) >= 56, "28 pairs, both ends");
    for n in 0..8 {
        assert_eq!(w.softbus(NodeId(n)).unwrap().peers().len(), 7);
    }
}

#[test]
fn a_node_that_crashes_and_restarts_is_found_again_and_talks_as_its_new_incarnation() {
    let plan = NetFaultPlan::new().with_node_fault(NodeId(2), 2_000 * MS, Some(4_000 * MS));
    let w = run(3, 1, 0, plan, config(5), Choices::seeded(2), 15_000);
    assert_clean(&w);
    assert_eq!(count(&w, |e| matches!(e, NetEvent::NodeRestarted { node: NodeId(2), incarnation: 1 })), 1);
    for peer in [0, 1] {
        assert!(w.events().iter().any(|e| matches!(e, NetEvent::Discovery { node, event: DiscoveryEvent::PeerRestarted { incarnation: 1, .. } } if *node == NodeId(peer))));
        // The peer got node 2's payloads from each incarnation.
        let got: Vec<Vec<u8>> = w.app(NodeId(peer)).unwrap().received[&addr(3)].iter().map(|(_, p)| p.clone()).collect();
        let once: Vec<Vec<u8>> = (0..5).map(|i| NetWorld::payload(addr(3), addr(peer as u8 + 1), i)).collect();
        assert_eq!(got, [once.clone(), once].concat());
    }
    assert_eq!(w.softbus(NodeId(2)).unwrap().sessions().count(), 2, "node 2 has sessions with both peers again");
    assert!(w.app(NodeId(2)).unwrap().received.is_empty(), "the peers sent their payloads to the first incarnation only");
}

#[test]
fn a_run_replays_bit_for_bit_from_its_choices() {
    let go = |choices: Choices| run(4, 1, 700, lossy_plan(50, 30, 100), config(10), choices, 8_000);
    let first = go(Choices::seeded(21).recording());
    let list = first.choices().clone().take_record().unwrap();
    assert!(!list.is_empty());
    let again = go(Choices::seeded(21));
    assert_eq!(first.digest(), again.digest());
    assert_eq!(first.events(), again.events());
    assert_eq!(go(Choices::replaying(list)).digest(), first.digest());
    assert_ne!(go(Choices::seeded(22)).digest(), first.digest());
    // With no choices at all, nothing unusual happens: every payload arrives.
    let calm = go(Choices::replaying(Vec::new()));
    assert_all_delivered(&calm, 4, 10);
    assert_eq!(count(&calm, |e| matches!(e, NetEvent::Wire(WireEvent::Lost { .. }))), 0);
}

#[test]
fn a_soft_bus_out_of_packet_budget_is_cancelled_and_sends_nothing_more() {
    let cfg = NetRunConfig { softbus_packet_budget: Some(30), ..config(20) };
    let w = run(2, 1, 0, NetFaultPlan::new(), cfg, Choices::seeded(1), 5_000);
    assert_clean(&w);
    for node in [NodeId(0), NodeId(1)] {
        let (ledger, exec) = (w.ledger(node).unwrap(), w.softbus_identity(node).unwrap());
        assert_eq!(ledger.usage(exec).packet_count.get(), 30);
        assert!(ledger.is_identity_cancelled(exec));
        assert_eq!(ledger.resource_audit().count_events(|e| matches!(e, ResourceEvent::BudgetExhausted { .. })), 1);
        assert_eq!(ledger.resource_audit().count_events(|e| matches!(e, ResourceEvent::CancelledDueToExhaustion { .. })), 1);
    }
    assert!(count(&w, |e| matches!(e, NetEvent::Packet { event: PacketServiceEvent::Done { outcome: PacketOutcome::Exhausted, .. }, .. })) > 1);
    assert!(w.rules().count(checks::PACKET_BUDGET_EXACT) > 60);
}

#[test]
fn a_policy_denying_sessions_leaves_discovery_working_and_consumes_nothing_for_denied_packets() {
    let policy: NetworkPolicySpec = ron::from_str(r#"Rules((name: "NoSessions", rules: [(when: [DestinationPort(37021)], then: Deny("sessions are off"))]))"#).unwrap();
    let w = run(2, 1, 0, NetFaultPlan::new(), NetRunConfig { policy, ..config(5) }, Choices::seeded(1), 3_000);
    assert_clean(&w);
    assert_eq!(w.softbus(NodeId(0)).unwrap().peers().len(), 1);
    assert_eq!(count(&w, |e| matches!(e, NetEvent::Session { event: SessionEvent::Established { .. }, .. })), 0);
    let denied = count(&w, |e| matches!(e, NetEvent::Packet { event: PacketServiceEvent::Done { outcome: PacketOutcome::Denied, .. }, .. }));
    assert!(denied > 0);
    assert!(w.rules().count(checks::DENIED_CONSUMES_NOTHING) >= denied as u64);
}
