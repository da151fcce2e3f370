//! Each `net.*` checker on a hand-written bad event stream breaks exactly its invariant, and on
//! the corrected stream holds (and counts its checks). Data-driven: one row per invariant.

mod net_common;

use model::budget::audit::{PacketOperation, ResourceEvent};
use model::budget::enforcement::Consumption;
use model::budget::ResourceKind;
use model::fault::FaultTrigger;
use model::ids::ExecutionId;
use model::net::checks::{self, NetMonitor};
use model::net::events::{DeviceId, DiscoveryEvent, FlowId, NetEvent, Nonce, Role, SessionEvent, SessionId};
use model::net::service::{PacketOpId, PacketOutcome, PacketServiceEvent as P};
use model::net::topology::{LinkFault, LinkScope, NetFaultPlan, NodeId};
use model::net::wire::{WireEvent, WirePacketId};
use model::net::{NetworkInterfaceId, PacketDirection};
use model::rule_check::RuleLog;
use model::time::Instant;
use model::trace_hash::{Fold, TraceHasher};
use net_common::addr;

const N: NodeId = NodeId(0);
const E: ExecutionId = ExecutionId(5);
const OP: PacketOpId = PacketOpId(0);

fn pkt(event: P) -> NetEvent {
    NetEvent::Packet { node: N, event }
}

fn attempt(direction: PacketDirection) -> NetEvent {
    pkt(P::Attempt { op: OP, execution_id: E, interface: NetworkInterfaceId(0), direction })
}

fn decided(allowed: bool) -> NetEvent {
    pkt(P::Decided { op: OP, allowed })
}

fn consumed(exec: ExecutionId, operation: PacketOperation, before: u64) -> NetEvent {
    pkt(P::Resource { op: OP, event: ResourceEvent::PacketConsumed { execution_id: exec, operation, before, after: before + 1 } })
}

fn done(outcome: PacketOutcome) -> NetEvent {
    pkt(P::Done { op: OP, outcome })
}

fn exhausted() -> NetEvent {
    pkt(P::Resource { op: OP, event: ResourceEvent::BudgetExhausted { execution_id: E, resource_type: ResourceKind::PacketCount, limit: 0, attempted_usage: 1, operation: Consumption::Packet(PacketOperation::Send) } })
}

fn session_id() -> SessionId {
    SessionId { initiator: Nonce { origin: addr(1), incarnation: 0, serial: 0 }, responder: Nonce { origin: addr(2), incarnation: 0, serial: 0 } }
}

fn sess(node: u32, event: SessionEvent) -> NetEvent {
    NetEvent::Session { node: NodeId(node), event }
}

fn discovered(node: u32, last: u8, device: u64) -> NetEvent {
    NetEvent::Discovery { node: NodeId(node), event: DiscoveryEvent::PeerDiscovered { address: addr(last), device: DeviceId(device) } }
}

fn checked(passed: bool) -> NetEvent {
    sess(0, SessionEvent::IdentityChecked { session: session_id(), peer: addr(2), expected: Some(DeviceId(2)), presented: DeviceId(2), passed })
}

fn established(bound: u64) -> NetEvent {
    sess(0, SessionEvent::Established { session: session_id(), peer: addr(2), bound: DeviceId(bound), role: Role::Initiator })
}

fn flow() -> FlowId {
    FlowId { session: session_id(), sender: addr(2) }
}

fn data(sent: bool, index: u64, digest: u64) -> NetEvent {
    let (flow, node) = (flow(), if sent { 1 } else { 0 });
    sess(node, if sent { SessionEvent::DataSent { flow, index, digest } } else { SessionEvent::DataDelivered { flow, index, digest } })
}

fn wire(e: WireEvent) -> NetEvent {
    NetEvent::Wire(e)
}

/// A partition between nodes 0 and 1 during [100, 200).
fn partition() -> NetFaultPlan {
    NetFaultPlan::new().with_link_fault(LinkFault::Partition, LinkScope::Between { a: NodeId(0), b: NodeId(1) }, FaultTrigger::Window { from_ns: 100, until_ns: 200 })
}

fn sent_packet(at: u64) -> NetEvent {
    wire(WireEvent::Sent { packet: WirePacketId(0), from: NodeId(0), to: NodeId(1), at: Instant(at) })
}

fn scheduled_and_arrived(at: u64) -> [NetEvent; 2] {
    [wire(WireEvent::Scheduled { packet: WirePacketId(0), copy: 0, arrival: Instant(at) }), wire(WireEvent::Arrived { packet: WirePacketId(0), copy: 0, at: Instant(at) })]
}

struct Case {
    invariant: &'static str,
    plan: NetFaultPlan,
    bad: Vec<NetEvent>,
    good: Vec<NetEvent>,
}

fn cases() -> Vec<Case> {
    let session_prelude = || vec![discovered(0, 2, 2)];
    vec![
        Case {
            invariant: checks::POLICY_BEFORE_BUDGET,
            plan: NetFaultPlan::new(),
            bad: vec![attempt(PacketDirection::Send), consumed(E, PacketOperation::Send, 0), decided(true), done(PacketOutcome::Sent)],
            good: vec![attempt(PacketDirection::Send), decided(true), consumed(E, PacketOperation::Send, 0), done(PacketOutcome::Sent)],
        },
        Case {
            invariant: checks::POLICY_BEFORE_BUDGET,
            plan: NetFaultPlan::new(),
            bad: vec![attempt(PacketDirection::Receive), done(PacketOutcome::Received)],
            good: vec![attempt(PacketDirection::Receive), decided(true), consumed(E, PacketOperation::Receive, 0), done(PacketOutcome::Received)],
        },
        Case {
            invariant: checks::DENIED_CONSUMES_NOTHING,
            plan: NetFaultPlan::new(),
            bad: vec![attempt(PacketDirection::Send), decided(false), exhausted(), done(PacketOutcome::Denied)],
            good: vec![attempt(PacketDirection::Send), decided(false), done(PacketOutcome::Denied)],
        },
        Case {
            invariant: checks::PACKET_BUDGET_EXACT,
            plan: NetFaultPlan::new(),
            bad: vec![attempt(PacketDirection::Receive), decided(true), consumed(ExecutionId(6), PacketOperation::Receive, 0), done(PacketOutcome::Received)],
            good: vec![attempt(PacketDirection::Receive), decided(true), consumed(E, PacketOperation::Receive, 0), done(PacketOutcome::Received)],
        },
        Case {
            invariant: checks::PACKET_BUDGET_EXACT,
            plan: NetFaultPlan::new(),
            bad: vec![attempt(PacketDirection::Send), decided(true), consumed(E, PacketOperation::Send, 0), consumed(E, PacketOperation::Send, 1), done(PacketOutcome::Sent)],
            good: vec![attempt(PacketDirection::Send), decided(true), exhausted(), done(PacketOutcome::Exhausted)],
        },
        Case {
            invariant: checks::NO_DELIVERY_ACROSS_PARTITION,
            plan: partition(),
            bad: [vec![sent_packet(50)], scheduled_and_arrived(150).to_vec()].concat(),
            good: [vec![sent_packet(50)], scheduled_and_arrived(250).to_vec()].concat(),
        },
        Case {
            invariant: checks::NO_DELIVERY_ACROSS_PARTITION,
            plan: partition(),
            bad: [vec![sent_packet(150)], scheduled_and_arrived(250).to_vec()].concat(),
            good: [vec![sent_packet(250)], scheduled_and_arrived(350).to_vec()].concat(),
        },
        Case {
            invariant: checks::STREAM_IN_ORDER_EXACTLY_ONCE,
            plan: NetFaultPlan::new(),
            bad: [session_prelude(), vec![checked(true), established(2), data(true, 0, 10), data(true, 1, 11), data(false, 0, 10), data(false, 0, 10), data(false, 1, 11)]].concat(),
            good: [session_prelude(), vec![checked(true), established(2), data(true, 0, 10), data(true, 1, 11), data(false, 0, 10), data(false, 1, 11)]].concat(),
        },
        Case {
            invariant: checks::STREAM_IN_ORDER_EXACTLY_ONCE,
            plan: NetFaultPlan::new(),
            bad: [session_prelude(), vec![checked(true), established(2), data(true, 0, 10), data(true, 1, 11), data(false, 1, 11)]].concat(),
            good: [session_prelude(), vec![checked(true), established(2), data(true, 0, 10), data(false, 0, 10)]].concat(),
        },
        Case {
            invariant: checks::STREAM_IN_ORDER_EXACTLY_ONCE,
            plan: NetFaultPlan::new(),
            bad: [session_prelude(), vec![checked(true), established(2), data(true, 0, 10), data(false, 0, 99)]].concat(),
            good: [session_prelude(), vec![checked(true), established(2), data(true, 0, 99), data(false, 0, 99)]].concat(),
        },
        Case {
            invariant: checks::SESSION_BOUND_TO_IDENTITY,
            plan: NetFaultPlan::new(),
            bad: [session_prelude(), vec![checked(true), established(3)]].concat(),
            good: [session_prelude(), vec![checked(true), established(2)]].concat(),
        },
        Case {
            invariant: checks::NO_SESSION_WITH_UNVERIFIED_PEER,
            plan: NetFaultPlan::new(),
            bad: [session_prelude(), vec![established(2), checked(true)]].concat(),
            good: [session_prelude(), vec![checked(false), checked(true), established(2)]].concat(),
        },
        Case {
            invariant: checks::NO_SESSION_WITH_UNVERIFIED_PEER,
            plan: NetFaultPlan::new(),
            bad: [session_prelude(), vec![checked(false), established(2)]].concat(),
            good: [session_prelude(), vec![checked(true), established(2)]].concat(),
        },
        Case {
            invariant: checks::NO_SESSION_WITH_UNVERIFIED_PEER,
            plan: NetFaultPlan::new(),
            bad: vec![data(true, 0, 10), data(false, 0, 10)],
            good: [session_prelude(), vec![checked(true), established(2), data(true, 0, 10), data(false, 0, 10)]].concat(),
        },
    ]
}

fn run(plan: &NetFaultPlan, events: &[NetEvent]) -> RuleLog {
    let mut log = RuleLog::default();
    NetMonitor::check_all(plan.clone(), events, &mut log);
    log
}

#[test]
fn each_bad_stream_breaks_exactly_its_invariant_and_the_good_one_holds() {
    let mut wrong = Vec::new();
    for (i, case) in cases().iter().enumerate() {
        let bad = run(&case.plan, &case.bad);
        if bad.breached() != [case.invariant] {
            wrong.push(format!("case {i}: expected [{}], breached {:?}: {:#?}", case.invariant, bad.breached(), bad.breaches));
        }
        let good = run(&case.plan, &case.good);
        if !good.is_clean() || good.count(case.invariant) == 0 {
            wrong.push(format!("case {i} (good): {:?}, {} checks of {}", good.breaches, good.count(case.invariant), case.invariant));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let covered: std::collections::BTreeSet<&str> = cases().iter().map(|c| c.invariant).collect();
    assert_eq!(covered.len(), checks::ALL.len(), "every invariant has a bad stream");
}

#[test]
fn a_crash_forgets_what_the_node_knew() {
    // After node 0 restarts, its old discovery and sessions are gone: a session it establishes
    // must be bound to what it learns again.
    let events = [discovered(0, 2, 2), NetEvent::NodeRestarted { node: N, incarnation: 1 }, checked(true), established(2)];
    let log = run(&NetFaultPlan::new(), &events);
    assert_eq!(log.breached(), [checks::SESSION_BOUND_TO_IDENTITY]);
}

#[test]
fn every_event_folds_to_a_distinct_stable_form() {
    let mut all: Vec<NetEvent> = cases().into_iter().flat_map(|c| c.bad.into_iter().chain(c.good)).collect();
    all.extend([NetEvent::NodeCrashed { node: N }, NetEvent::NodeRestarted { node: N, incarnation: 1 }]);
    let digest = |e: &NetEvent| {
        let mut h = TraceHasher::default();
        e.fold(&mut h);
        h.value()
    };
    let mut seen = std::collections::BTreeMap::new();
    for e in &all {
        if let Some(other) = seen.insert(digest(e), e.clone()) {
            assert_eq!(&other, e, "two different events fold alike");
        }
    }
    // The forms are pinned: changing one breaks recorded traces once the modules are wired.
    let mut h = TraceHasher::default();
    all.iter().for_each(|e| e.fold(&mut h));
    assert_eq!(h.value(), PINNED);
}

const PINNED: u64 = 10_793_118_334_163_760_440;
