//! The packet service of seed `000_*`: the seed's examples (send/receive, deny-all, `PacketCount`
//! exhaustion, policy before budget), scenario rule lists, the resource audit log, and the three
//! packet invariants counted over every operation.

mod net_common;

use model::budget::audit::{PacketOperation, ResourceEvent};
use model::budget::enforcement::ResourceLedger;
use model::budget::{PacketCount, ResourceBudget, ResourceKind};
use model::ids::ExecutionId;
use model::net::checks::{DENIED_CONSUMES_NOTHING, PACKET_BUDGET_EXACT, POLICY_BEFORE_BUDGET};
use model::net::policy::{NetworkPolicySpec, NetworkRuleList};
use model::net::service::{InterfaceKind, PacketOutcome, PacketServiceEvent};
use model::net::topology::NetFaultPlan;
use model::net::{AllowAllPolicy, DenyAllPolicy, NetworkError, NetworkInterfaceId, PacketContext, PacketDirection, PacketService};
use net_common::*;

const EXEC: ExecutionId = ExecutionId(7);
const IFACE: NetworkInterfaceId = NetworkInterfaceId(1);

fn service(policy: Box<dyn model::net::NetworkPolicy>, kind: InterfaceKind) -> PacketService {
    let mut s = PacketService::new(policy);
    s.add_interface(IFACE, kind);
    s
}

fn ledger_with_packets(limit: Option<u64>) -> ResourceLedger {
    let mut l = ResourceLedger::new();
    l.attach(EXEC, None, limit.map(|n| ResourceBudget::unlimited().with_packet_count(PacketCount::new(n)))).unwrap();
    l
}

fn outcomes(events: &[PacketServiceEvent]) -> Vec<PacketOutcome> {
    events.iter().filter_map(|e| if let PacketServiceEvent::Done { outcome, .. } = e { Some(*outcome) } else { None }).collect()
}

/// The seed's `test_network_service_send_receive`: a packet sent on an interface is received from
/// it unchanged, and both operations consume one `PacketCount` each.
#[test]
fn a_sent_packet_is_received_and_each_operation_costs_one_packet() {
    let mut s = service(Box::new(AllowAllPolicy), InterfaceKind::Loopback);
    let mut l = ledger_with_packets(None);
    let p = packet(&[1, 2, 3]);
    s.send_packet(&mut l, EXEC, IFACE, p.clone()).unwrap();
    assert_eq!(s.queued_packets(IFACE), 1);
    assert_eq!(s.receive_packet(&mut l, EXEC, IFACE).unwrap(), Some(p));
    assert_eq!(s.receive_packet(&mut l, EXEC, IFACE).unwrap(), None, "an empty queue decides nothing");
    assert_eq!(l.usage(EXEC).packet_count, PacketCount::new(2));
    let audit = l.resource_audit();
    assert!(audit.has_event(|e| matches!(e, ResourceEvent::PacketConsumed { operation: PacketOperation::Send, before: 0, after: 1, .. })));
    assert!(audit.has_event(|e| matches!(e, ResourceEvent::PacketConsumed { operation: PacketOperation::Receive, before: 1, after: 2, .. })));
    let events = s.take_events();
    assert_eq!(outcomes(&events), [PacketOutcome::Sent, PacketOutcome::Received]);
    let log = check(&NetFaultPlan::default(), &as_net(events));
    assert!(log.is_clean(), "{:?}", log.breaches);
    assert_eq!((log.count(POLICY_BEFORE_BUDGET), log.count(PACKET_BUDGET_EXACT)), (4, 2));
}

/// The seed's `test_network_policy_denies`: deny-all refuses, nothing is queued, nothing consumed.
#[test]
fn deny_all_refuses_every_packet_and_consumes_nothing() {
    for kind in [InterfaceKind::Wire, InterfaceKind::Loopback] {
        let mut s = service(Box::new(DenyAllPolicy), kind);
        let mut l = ledger_with_packets(Some(10));
        let before = l.resource_audit().len();
        let err = s.send_packet(&mut l, EXEC, IFACE, packet(&[9])).unwrap_err();
        assert_eq!(err, NetworkError::PolicyDenied("All network traffic denied".into()));
        assert_eq!(err.to_string(), "Policy denied packet: All network traffic denied");
        assert!(s.take_transmitted(IFACE).is_empty());
        assert_eq!(s.queued_packets(IFACE), 0);
        assert_eq!(l.usage(EXEC).packet_count, PacketCount::ZERO);
        assert_eq!(l.resource_audit().len(), before, "a denied packet leaves no audit record");
        let events = s.take_events();
        assert_eq!(outcomes(&events), [PacketOutcome::Denied]);
        let log = check(&NetFaultPlan::default(), &as_net(events));
        assert!(log.is_clean() && log.count(DENIED_CONSUMES_NOTHING) > 0);
    }
}

/// The seed's `test_network_service_budget_exhausted`: a `PacketCount` of one allows one packet;
/// the second fails with the budget error, before taking effect, and the exhaustion and the
/// cancellation it causes are in the resource audit log; later packets fail as cancelled.
#[test]
fn packet_count_exhaustion_fails_before_the_effect_and_is_audited() {
    let mut s = service(Box::new(AllowAllPolicy), InterfaceKind::Wire);
    let mut l = ledger_with_packets(Some(1));
    s.send_packet(&mut l, EXEC, IFACE, packet(&[1])).unwrap();
    let NetworkError::BudgetExhausted(e) = s.send_packet(&mut l, EXEC, IFACE, packet(&[2])).unwrap_err() else { panic!("expected the budget error") };
    assert_eq!((e.resource_type, e.limit, e.usage, e.identity, e.cancelled), (ResourceKind::PacketCount, Some(1), 1, EXEC, false));
    assert_eq!(e.to_string(), "Resource budget exhausted: PacketCount limit=1, usage=1, identity=exec#7, operation=send_packet");
    assert_eq!(s.take_transmitted(IFACE), [packet(&[1])], "only the first packet took effect");
    let entries = &l.resource_audit().entries()[1..];
    assert!(
        matches!(
            entries,
            [
                ResourceEvent::PacketConsumed { operation: PacketOperation::Send, before: 0, after: 1, .. },
                ResourceEvent::BudgetExhausted { resource_type: ResourceKind::PacketCount, limit: 1, attempted_usage: 2, .. },
                ResourceEvent::CancelledDueToExhaustion { resource_type: ResourceKind::PacketCount, .. },
            ]
        ),
        "{entries:?}"
    );
    assert!(l.is_identity_cancelled(EXEC));
    let NetworkError::BudgetExhausted(again) = s.send_packet(&mut l, EXEC, IFACE, packet(&[3])).unwrap_err() else { panic!() };
    assert!(again.cancelled);
    let events = s.take_events();
    assert_eq!(outcomes(&events), [PacketOutcome::Sent, PacketOutcome::Exhausted, PacketOutcome::Exhausted]);
    let log = check(&NetFaultPlan::default(), &as_net(events));
    assert!(log.is_clean(), "{:?}", log.breaches);
    assert_eq!(log.count(PACKET_BUDGET_EXACT), 3);
}

/// "Policy evaluated before budget consumption": an identity without any budget left is refused
/// by the policy, not by the budget — and is not cancelled.
#[test]
fn the_policy_decides_before_the_budget_is_touched() {
    let mut s = service(Box::new(DenyAllPolicy), InterfaceKind::Wire);
    let mut l = ledger_with_packets(Some(0));
    let err = s.send_packet(&mut l, EXEC, IFACE, packet(&[1])).unwrap_err();
    assert!(matches!(err, NetworkError::PolicyDenied(_)), "{err:?}");
    assert!(!l.is_identity_cancelled(EXEC));
    assert_eq!(l.resource_audit().len(), 1, "only the budget attachment");
    // The same identity under allow-all is refused by its budget.
    let mut s = service(Box::new(AllowAllPolicy), InterfaceKind::Wire);
    assert!(matches!(s.send_packet(&mut l, EXEC, IFACE, packet(&[1])), Err(NetworkError::BudgetExhausted(_))));
    let events = s.take_events();
    let decided = events.iter().position(|e| matches!(e, PacketServiceEvent::Decided { .. })).unwrap();
    let charged = events.iter().position(|e| matches!(e, PacketServiceEvent::Resource { .. })).unwrap();
    assert!(decided < charged);
}

/// A refused receive (denied or exhausted) leaves the packet at the head of the queue (the seed
/// reference's "a refusal must not also be a loss"); the caller may discard it.
#[test]
fn a_refused_receive_keeps_the_packet_until_discarded() {
    let receive_only_denied: NetworkPolicySpec = ron::from_str(r#"Rules((name: "SendOnly", rules: [(when: [Direction(Receive)], then: Deny("receive denied"))]))"#).unwrap();
    let mut s = service(receive_only_denied.build(), InterfaceKind::Loopback);
    let mut l = ledger_with_packets(None);
    s.send_packet(&mut l, EXEC, IFACE, packet(&[1])).unwrap();
    assert_eq!(s.receive_packet(&mut l, EXEC, IFACE), Err(NetworkError::PolicyDenied("receive denied".into())));
    assert_eq!(s.queued_packets(IFACE), 1);
    assert_eq!(s.discard_head(IFACE), Some(packet(&[1])));
    assert_eq!(s.queued_packets(IFACE), 0);

    let mut s = service(Box::new(AllowAllPolicy), InterfaceKind::Loopback);
    let mut l = ledger_with_packets(Some(1));
    s.send_packet(&mut l, EXEC, IFACE, packet(&[2])).unwrap();
    assert!(matches!(s.receive_packet(&mut l, EXEC, IFACE), Err(NetworkError::BudgetExhausted(_))));
    assert_eq!(s.peek_received(IFACE), Some(&packet(&[2])));
}

/// Rule lists: the first matching rule decides, `otherwise` when none does; every condition.
#[test]
fn scenario_rules_decide_by_the_first_match() {
    let spec: NetworkPolicySpec = ron::from_str(
        r#"Rules((name: "Lab", otherwise: Deny("default deny"), rules: [
            (when: [DestinationPort(23)], then: Deny("no telnet")),
            (when: [Protocol(Udp), SourceIn("10.0.0.0/24")], then: Allow),
            (when: [Direction(Receive), PayloadAbove(2)], then: Allow),
            (when: [Not(Execution(ExecutionId(7))), Interface(1)], then: Allow),
            (when: [SourcePort(5), DestinationIn("192.168.0.0/16")], then: Allow),
        ]))"#,
    )
    .unwrap();
    let policy = spec.build();
    assert_eq!(policy.name(), "Lab");
    let decide = |p: &model::net::Packet, exec: u64, dir| policy.evaluate(&PacketContext { execution_id: ExecutionId(exec), interface_id: IFACE, direction: dir, packet: p }).is_allow();
    let mut telnet = packet(&[]);
    telnet.destination.port = 23;
    assert!(!decide(&telnet, 7, PacketDirection::Send));
    assert!(decide(&packet(&[]), 7, PacketDirection::Send), "UDP from 10.0.0.0/24");
    let mut tcp = packet(&[1, 2, 3]);
    tcp.protocol = model::net::PacketProtocol::Tcp;
    tcp.source.address = model::net::Ipv4Address::new(172, 16, 0, 1);
    assert!(decide(&tcp, 7, PacketDirection::Receive), "long receive");
    assert!(!decide(&tcp, 7, PacketDirection::Send), "falls through to otherwise");
    assert!(decide(&tcp, 8, PacketDirection::Send), "another identity on interface 1");
    tcp.source.port = 5;
    tcp.destination.address = model::net::Ipv4Address::new(192, 168, 3, 4);
    assert!(decide(&tcp, 7, PacketDirection::Send));
    assert!(ron::from_str::<NetworkRuleList>(r#"(name: "x", rules: [(when: [SourceIn("10.0.0.0/40")], then: Allow)])"#).is_err(), "bad networks are refused");
    assert!(ron::from_str::<NetworkPolicySpec>("DenyAll").unwrap().build().name() == "DenyAllPolicy");
}

/// Queues are bounded: a full transmit queue refuses after the policy and before the budget; a
/// full receive ring drops at the device; unknown interfaces are refused before anything runs.
#[test]
fn queues_are_bounded_and_interfaces_registered() {
    let mut s = service(Box::new(AllowAllPolicy), InterfaceKind::Wire);
    let mut l = ledger_with_packets(None);
    for _ in 0..PacketService::MAX_QUEUED_PACKETS {
        s.send_packet(&mut l, EXEC, IFACE, packet(&[0])).unwrap();
    }
    assert_eq!(s.send_packet(&mut l, EXEC, IFACE, packet(&[0])), Err(NetworkError::QueueFull(IFACE)));
    assert_eq!(l.usage(EXEC).packet_count.get(), PacketService::MAX_QUEUED_PACKETS as u64, "the refused packet cost nothing");
    for _ in 0..PacketService::MAX_QUEUED_PACKETS {
        assert!(s.deliver_from_wire(IFACE, packet(&[1])));
    }
    assert!(!s.deliver_from_wire(IFACE, packet(&[1])));
    let other = NetworkInterfaceId(99);
    assert_eq!(s.send_packet(&mut l, EXEC, other, packet(&[0])), Err(NetworkError::UnknownInterface(other)));
    assert_eq!(s.receive_packet(&mut l, EXEC, other), Err(NetworkError::UnknownInterface(other)));
    let events = s.take_events();
    assert!(events.contains(&PacketServiceEvent::RxOverflow { interface: IFACE }));
    let log = check(&NetFaultPlan::default(), &as_net(events));
    assert!(log.is_clean(), "{:?}", log.breaches);
}

/// `PayloadAbove(n)` holds for a payload of more than `n` bytes, not of exactly `n`; every policy
/// and the service name themselves (the name is what the policy audit shows).
#[test]
fn payload_above_is_strict_and_policies_are_named() {
    let policy = ron::from_str::<NetworkPolicySpec>(r#"Rules((name: "Big", otherwise: Deny("small"), rules: [(when: [PayloadAbove(2)], then: Allow)]))"#).unwrap().build();
    let decide = |p: &model::net::Packet| policy.evaluate(&PacketContext { execution_id: EXEC, interface_id: IFACE, direction: PacketDirection::Send, packet: p }).is_allow();
    assert!(!decide(&packet(&[1, 2])), "exactly 2 bytes is not above 2");
    assert!(decide(&packet(&[1, 2, 3])));
    use model::net::NetworkPolicy;
    assert_eq!(AllowAllPolicy.name(), "AllowAllPolicy");
    assert_eq!(DenyAllPolicy.name(), "DenyAllPolicy");
    assert_eq!(ron::from_str::<NetworkPolicySpec>("AllowAll").unwrap().build().name(), "AllowAllPolicy");
    assert_eq!(service(Box::new(DenyAllPolicy), InterfaceKind::Loopback).policy_name(), "DenyAllPolicy");
    assert_eq!(service(policy, InterfaceKind::Loopback).policy_name(), "Big");
}
