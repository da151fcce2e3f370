//! The networking invariants, checked from the networking event stream alone (domain layer, not
//! yet wired into the engine's checker).
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `net.policy_before_budget` | no resource record of a packet operation comes before its policy decision, and no operation takes effect without the policy's allow (`000_*`: "Policy evaluated before budget consumption") |
//! | `net.denied_consumes_nothing` | after the policy denies a packet, the operation records nothing in the resource audit log and takes no effect (`000_*`: "Policy gating") |
//! | `net.packet_budget_exact` | an allowed packet that takes effect consumes exactly one `PacketCount` of the operation's own identity and direction; one refused by the budget or a full queue consumes none (`000_*`: "every packet consumes `PacketCount`") |
//! | `net.no_delivery_across_partition` | a copy arrives over a link only if the link was up when it was sent and is up when it arrives (the network fault plan) |
//! | `net.stream_in_order_exactly_once` | per flow, the application gets payloads 0, 1, 2, … each once, each equal to what was sent with that number |
//! | `net.session_bound_to_identity` | a session is bound to the identity the node learnt at discovery for the peer's address (`001_*`: TASK-0004 "identity binding") |
//! | `net.no_session_with_unverified_peer` | a session is established only after its end passed the identity check, and data reaches the application only on an established session (RFC-0008) |
//!
//! The [`NetMonitor`] keeps its own shadow state (open operations, transmissions in flight, each
//! node's learnt peers, verified and established sessions, what each flow sent) and checks each
//! event in O(log n). A node's crash or restart forgets its shadow (its state is gone too).

use super::events::{DiscoveryEvent, FlowId, NetEvent, SessionEvent, SessionId};
use super::packet::{Ipv4Address, PacketDirection};
use super::service::{PacketOpId, PacketOutcome, PacketServiceEvent};
use super::topology::{NetFaultPlan, NodeId};
use super::wire::{WireEvent, WirePacketId};
use crate::budget::audit::{PacketOperation, ResourceEvent};
use crate::ids::ExecutionId;
use crate::rule_check::RuleSink;
use crate::time::Instant;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;

pub const POLICY_BEFORE_BUDGET: &str = "net.policy_before_budget";
pub const DENIED_CONSUMES_NOTHING: &str = "net.denied_consumes_nothing";
pub const PACKET_BUDGET_EXACT: &str = "net.packet_budget_exact";
pub const NO_DELIVERY_ACROSS_PARTITION: &str = "net.no_delivery_across_partition";
pub const STREAM_IN_ORDER_EXACTLY_ONCE: &str = "net.stream_in_order_exactly_once";
pub const SESSION_BOUND_TO_IDENTITY: &str = "net.session_bound_to_identity";
pub const NO_SESSION_WITH_UNVERIFIED_PEER: &str = "net.no_session_with_unverified_peer";

/// Every `net.*` invariant id.
pub const ALL: [&str; 7] = [
    POLICY_BEFORE_BUDGET,
    DENIED_CONSUMES_NOTHING,
    PACKET_BUDGET_EXACT,
    NO_DELIVERY_ACROSS_PARTITION,
    STREAM_IN_ORDER_EXACTLY_ONCE,
    SESSION_BOUND_TO_IDENTITY,
    NO_SESSION_WITH_UNVERIFIED_PEER,
];

/// One open packet operation.
#[derive(Clone, Copy, Debug)]
struct Operation {
    execution_id: ExecutionId,
    direction: PacketDirection,
    decided: Option<bool>,
    /// `PacketCount` consumptions of the operation's identity and direction.
    consumed: u32,
    exhausted: u32,
    /// Consumptions of another identity, resource or direction.
    foreign: u32,
}

/// A transmission, until its last scheduled copy arrived.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    from: NodeId,
    to: NodeId,
    sent_at: Instant,
    scheduled: u8,
}

/// Shadow state of the networking invariants.
#[derive(Clone, Debug, Default)]
pub struct NetMonitor {
    plan: NetFaultPlan,
    ops: BTreeMap<(NodeId, PacketOpId), Operation>,
    in_flight: BTreeMap<WirePacketId, InFlight>,
    last_sent: Option<WirePacketId>,
    peers: BTreeMap<(NodeId, Ipv4Address), super::events::DeviceId>,
    verified: BTreeSet<(NodeId, SessionId)>,
    established: BTreeSet<(NodeId, SessionId)>,
    sent: BTreeMap<(FlowId, u64), u64>,
    next_index: BTreeMap<FlowId, u64>,
}

impl NetMonitor {
    /// A monitor for a network with this fault plan (the partition check reads its schedule).
    pub fn new(plan: NetFaultPlan) -> Self {
        NetMonitor { plan, ..Self::default() }
    }

    /// Checks one event.
    pub fn observe(&mut self, event: &NetEvent, sink: &mut dyn RuleSink) {
        match event {
            NetEvent::Packet { node, event } => self.packet(*node, event, sink),
            NetEvent::Wire(event) => self.wire(event, sink),
            NetEvent::Discovery { node, event } => self.discovery(*node, event),
            NetEvent::Session { node, event } => self.session(*node, event, sink),
            NetEvent::Lite { .. } => {}
            NetEvent::NodeCrashed { node } | NetEvent::NodeRestarted { node, .. } => self.forget(*node),
        }
    }

    /// Checks a whole stream from the start.
    pub fn check_all(plan: NetFaultPlan, events: &[NetEvent], sink: &mut dyn RuleSink) {
        let mut monitor = NetMonitor::new(plan);
        for e in events {
            monitor.observe(e, sink);
        }
    }

    fn packet(&mut self, node: NodeId, event: &PacketServiceEvent, sink: &mut dyn RuleSink) {
        match *event {
            PacketServiceEvent::Attempt { op, execution_id, direction, .. } => {
                self.ops.insert((node, op), Operation { execution_id, direction, decided: None, consumed: 0, exhausted: 0, foreign: 0 });
            }
            PacketServiceEvent::Decided { op, allowed } => {
                if let Some(o) = self.ops.get_mut(&(node, op)) {
                    o.decided = Some(allowed);
                }
            }
            PacketServiceEvent::Resource { op, event } => {
                let Some(o) = self.ops.get_mut(&(node, op)) else { return };
                sink.check(POLICY_BEFORE_BUDGET, o.decided.is_some(), &|| format!("{node} op {}: {event:?} recorded before the policy decided", op.0));
                sink.check(DENIED_CONSUMES_NOTHING, o.decided != Some(false), &|| format!("{node} op {}: {event:?} recorded after the policy denied the packet", op.0));
                count_resource(o, &event);
            }
            PacketServiceEvent::Done { op, outcome } => {
                let Some(o) = self.ops.remove(&(node, op)) else { return };
                finish(node, op, &o, outcome, sink);
            }
            PacketServiceEvent::RxOverflow { .. } | PacketServiceEvent::Discarded { .. } => {}
        }
    }

    fn wire(&mut self, event: &WireEvent, sink: &mut dyn RuleSink) {
        match *event {
            WireEvent::Sent { packet, from, to, at } => {
                // The previous transmission's events are complete: forget it if nothing of it is
                // still travelling.
                if let Some(prev) = self.last_sent.replace(packet) {
                    if self.in_flight.get(&prev).is_some_and(|f| f.scheduled == 0) {
                        self.in_flight.remove(&prev);
                    }
                }
                self.in_flight.insert(packet, InFlight { from, to, sent_at: at, scheduled: 0 });
            }
            WireEvent::Scheduled { packet, .. } => {
                if let Some(f) = self.in_flight.get_mut(&packet) {
                    f.scheduled += 1;
                }
            }
            WireEvent::Lost { .. } => {}
            WireEvent::Arrived { packet, copy, at } => {
                let Some(f) = self.in_flight.get_mut(&packet) else {
                    sink.check(NO_DELIVERY_ACROSS_PARTITION, false, &|| format!("packet {} copy {copy} arrived at {at} but was never sent (or arrived too often)", packet.0));
                    return;
                };
                let (cut_at_send, cut_at_arrival) = (self.plan.is_cut(f.from, f.to, f.sent_at.nanos()), self.plan.is_cut(f.from, f.to, at.nanos()));
                let f = *f;
                sink.check(NO_DELIVERY_ACROSS_PARTITION, !cut_at_send && !cut_at_arrival, &|| {
                    format!("packet {} copy {copy} crossed {} -> {} (sent {}, arrived {at}) while the link was cut at {}", packet.0, f.from, f.to, f.sent_at, if cut_at_send { "sending" } else { "arrival" })
                });
                let entry = self.in_flight.get_mut(&packet).expect("found above");
                entry.scheduled = entry.scheduled.saturating_sub(1);
                if entry.scheduled == 0 && self.last_sent != Some(packet) {
                    self.in_flight.remove(&packet);
                }
            }
        }
    }

    fn discovery(&mut self, node: NodeId, event: &DiscoveryEvent) {
        if let DiscoveryEvent::PeerDiscovered { address, device } = *event {
            self.peers.insert((node, address), device);
        }
    }

    fn session(&mut self, node: NodeId, event: &SessionEvent, sink: &mut dyn RuleSink) {
        match *event {
            SessionEvent::IdentityChecked { session, passed: true, .. } => {
                self.verified.insert((node, session));
            }
            SessionEvent::Established { session, peer, bound, .. } => {
                sink.check(NO_SESSION_WITH_UNVERIFIED_PEER, self.verified.contains(&(node, session)), &|| format!("{node} established {session} with {peer} before its identity check passed"));
                let learnt = self.peers.get(&(node, peer)).copied();
                sink.check(SESSION_BOUND_TO_IDENTITY, learnt == Some(bound), &|| format!("{node} bound {session} with {peer} to {bound}, but learnt {learnt:?} for {peer} at discovery"));
                self.established.insert((node, session));
            }
            SessionEvent::DataSent { flow, index, digest } => {
                self.sent.insert((flow, index), digest);
            }
            SessionEvent::DataDelivered { flow, index, digest } => {
                sink.check(NO_SESSION_WITH_UNVERIFIED_PEER, self.established.contains(&(node, flow.session)), &|| format!("{node} handed the application data of {flow} on a session it has not established"));
                self.delivered(flow, index, digest, sink);
            }
            SessionEvent::Closed { session: Some(session), .. } => {
                self.established.remove(&(node, session));
                self.verified.remove(&(node, session));
            }
            _ => {}
        }
    }

    fn delivered(&mut self, flow: FlowId, index: u64, digest: u64, sink: &mut dyn RuleSink) {
        let expected = self.next_index.get(&flow).copied().unwrap_or(0);
        let sent = self.sent.get(&(flow, index)).copied();
        let ok = index == expected && sent == Some(digest);
        sink.check(STREAM_IN_ORDER_EXACTLY_ONCE, ok, &|| {
            let what = if index < expected {
                "again (already delivered)"
            } else if index > expected {
                "out of order (a gap before it)"
            } else if sent.is_none() {
                "but it was never sent"
            } else {
                "with other content than was sent"
            };
            format!("{flow}: payload {index} delivered {what}; expected payload {expected}")
        });
        if index >= expected {
            self.next_index.insert(flow, index + 1);
            self.sent.remove(&(flow, index));
        }
    }

    /// A node crashed or restarted: its peers, sessions and open operations are gone.
    fn forget(&mut self, node: NodeId) {
        self.peers.retain(|(n, _), _| *n != node);
        self.verified.retain(|(n, _)| *n != node);
        self.established.retain(|(n, _)| *n != node);
        self.ops.retain(|(n, _), _| *n != node);
    }
}

fn count_resource(o: &mut Operation, event: &ResourceEvent) {
    let direction = |op: PacketOperation| match op {
        PacketOperation::Send => PacketDirection::Send,
        PacketOperation::Receive => PacketDirection::Receive,
    };
    match *event {
        ResourceEvent::PacketConsumed { execution_id, operation, before, after } if execution_id == o.execution_id && direction(operation) == o.direction && after == before.saturating_add(1) => o.consumed += 1,
        ResourceEvent::BudgetExhausted { execution_id, resource_type: crate::budget::ResourceKind::PacketCount, .. } if execution_id == o.execution_id => o.exhausted += 1,
        ResourceEvent::CancelledDueToExhaustion { execution_id, .. } if execution_id == o.execution_id => {}
        _ => o.foreign += 1,
    }
}

/// The end-of-operation checks.
fn finish(node: NodeId, op: PacketOpId, o: &Operation, outcome: PacketOutcome, sink: &mut dyn RuleSink) {
    if outcome.took_effect() {
        sink.check(POLICY_BEFORE_BUDGET, o.decided == Some(true), &|| format!("{node} op {}: the packet was {outcome:?} without the policy's allow (decision {:?})", op.0, o.decided));
    }
    if o.decided == Some(false) {
        sink.check(DENIED_CONSUMES_NOTHING, !outcome.took_effect(), &|| format!("{node} op {}: the policy denied the packet but it was {outcome:?}", op.0));
    }
    if o.decided != Some(true) {
        return;
    }
    let exact = match outcome {
        PacketOutcome::Sent | PacketOutcome::Received => o.consumed == 1 && o.exhausted == 0 && o.foreign == 0,
        PacketOutcome::Exhausted => o.consumed == 0 && o.exhausted <= 1 && o.foreign == 0,
        PacketOutcome::QueueFull | PacketOutcome::Denied => o.consumed == 0 && o.exhausted == 0 && o.foreign == 0,
    };
    sink.check(PACKET_BUDGET_EXACT, exact, &|| {
        format!(
            "{node} op {} ({:?} by {}): {outcome:?} after {} PacketCount consumption(s) of its identity, {} exhaustion(s), {} other record(s); expected {}",
            op.0,
            o.direction,
            o.execution_id,
            o.consumed,
            o.exhausted,
            o.foreign,
            if outcome.took_effect() { "exactly one consumption" } else { "none" }
        )
    });
}
