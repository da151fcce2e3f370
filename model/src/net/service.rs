//! The packet service (seed `000_*`, "Networking Service", "Service API": `send_packet()` and
//! `receive_packet()`, "Policy evaluated before budget consumption"; "SimKernel Packet
//! Enforcement": `try_consume_packet`, audit logging, cancellation on exhaustion).
//!
//! One [`PacketService`] per node holds the node's interfaces and its network policy. Every
//! packet operation goes through the same path, in this order:
//! 1. **policy**: the policy sees the [`PacketContext`]; a `Deny` ends the operation, which
//!    consumes nothing and has no effect (`net.denied_consumes_nothing`);
//! 2. **queue ceiling** (sends only): a full transmit queue refuses the packet, consuming nothing;
//! 3. **budget**: one `PacketCount` from the identity named by the call, through the node's
//!    [`ResourceLedger`] (so the consumption, or the exhaustion and the cancellation it causes,
//!    is in the resource audit log); an exhausted budget ends the operation without effect;
//! 4. **effect**: the packet is queued for the wire (or, on a loopback interface, straight into the
//!    interface's receive queue), or taken from the receive queue and returned.
//!
//! Every operation is recorded as [`PacketServiceEvent`]s: `Attempt`, `Decided`, the ledger's
//! audit records it caused (`Resource`), `Done` — what the `net.policy_before_budget`,
//! `net.denied_consumes_nothing` and `net.packet_budget_exact` checkers read.
//!
//! Choices where the seed is silent (the seed reference's later fixes, kept): a refused receive
//! (denied or exhausted) leaves the packet at the head of the receive queue — a refusal is not a
//! loss; the caller may [`PacketService::discard_head`] it. Queues hold at most
//! [`PacketService::MAX_QUEUED_PACKETS`]; interfaces are registered (an unknown interface is an
//! error before anything is evaluated), so ids cannot grow the table. A packet arriving from the
//! wire onto a full receive queue is dropped by the device (recorded as `RxOverflow`). An empty
//! receive queue returns `Ok(None)` without evaluating anything (there is no packet to decide on).

use super::packet::{NetworkInterfaceId, Packet, PacketContext, PacketDirection};
use super::policy::{NetworkDecision, NetworkPolicy};
use crate::budget::audit::{PacketOperation, ResourceEvent};
use crate::budget::enforcement::{BudgetExhausted, ResourceLedger};
use crate::bugs::{BugSet, PlantedBug};
use crate::ids::ExecutionId;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// One packet operation of one service (a counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PacketOpId(pub u64);

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PacketOutcome {
    /// Queued for the wire (or looped back).
    Sent,
    /// Taken from the receive queue and returned.
    Received,
    /// The policy denied it.
    Denied,
    /// The identity's `PacketCount` budget was exhausted (or it was already cancelled).
    Exhausted,
    /// The transmit queue was full.
    QueueFull,
}

impl PacketOutcome {
    /// Whether the operation took effect.
    pub fn took_effect(self) -> bool {
        matches!(self, PacketOutcome::Sent | PacketOutcome::Received)
    }
}

/// What the packet service records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PacketServiceEvent {
    /// An operation starts: who, where, which way.
    Attempt { op: PacketOpId, execution_id: ExecutionId, interface: NetworkInterfaceId, direction: PacketDirection },
    /// The policy decided.
    Decided { op: PacketOpId, allowed: bool },
    /// A resource audit record the operation caused.
    Resource { op: PacketOpId, event: ResourceEvent },
    /// The operation ended.
    Done { op: PacketOpId, outcome: PacketOutcome },
    /// A packet from the wire was dropped by the device: the receive queue was full.
    RxOverflow { interface: NetworkInterfaceId },
    /// The head of a receive queue was thrown away by its caller (after a refused receive).
    Discarded { interface: NetworkInterfaceId },
}

impl Fold for PacketServiceEvent {
    fn fold(&self, h: &mut TraceHasher) {
        use PacketServiceEvent as E;
        match self {
            E::Attempt { op, execution_id, interface, direction } => {
                h.tag(0, *direction as u64);
                h.word(op.0);
                h.word(execution_id.0);
                h.word(interface.0);
            }
            E::Decided { op, allowed } => {
                h.tag(1, u64::from(*allowed));
                h.word(op.0);
            }
            E::Resource { op, event } => {
                h.tag(2, 0);
                h.word(op.0);
                event.fold(h);
            }
            E::Done { op, outcome } => {
                h.tag(3, *outcome as u64);
                h.word(op.0);
            }
            E::RxOverflow { interface } => {
                h.tag(4, 0);
                h.word(interface.0);
            }
            E::Discarded { interface } => {
                h.tag(5, 0);
                h.word(interface.0);
            }
        }
    }
}

/// Why a packet operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkError {
    /// The seed's `PolicyDenied`.
    PolicyDenied(String),
    /// The seed's `BudgetError`: `PacketCount` exhausted (the ledger's error).
    BudgetExhausted(BudgetExhausted),
    /// The interface's transmit queue is full.
    QueueFull(NetworkInterfaceId),
    /// No such interface on this node.
    UnknownInterface(NetworkInterfaceId),
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkError::PolicyDenied(reason) => write!(f, "Policy denied packet: {reason}"),
            NetworkError::BudgetExhausted(e) => write!(f, "Budget enforcement failed: {e}"),
            NetworkError::QueueFull(i) => write!(f, "Queue for interface {i} is full"),
            NetworkError::UnknownInterface(i) => write!(f, "No interface {i}"),
        }
    }
}

/// What an interface is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InterfaceKind {
    /// The node's link to the network: sent packets wait for the wire in the transmit queue.
    Wire,
    /// Loopback: a sent packet goes straight to the same interface's receive queue.
    Loopback,
}

#[derive(Clone, Debug)]
struct Interface {
    kind: InterfaceKind,
    tx: VecDeque<Packet>,
    rx: VecDeque<Packet>,
}

/// A node's packet service: its interfaces, its policy, its event record.
pub struct PacketService {
    policy: Box<dyn NetworkPolicy>,
    interfaces: BTreeMap<NetworkInterfaceId, Interface>,
    next_op: u64,
    events: Vec<PacketServiceEvent>,
    bugs: BugSet,
}

impl fmt::Debug for PacketService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketService").field("policy", &self.policy.name()).field("interfaces", &self.interfaces.len()).field("next_op", &self.next_op).finish()
    }
}

impl PacketService {
    /// The most packets one queue holds.
    pub const MAX_QUEUED_PACKETS: usize = 1024;

    pub fn new(policy: Box<dyn NetworkPolicy>) -> Self {
        Self::with_bugs(policy, BugSet::default())
    }

    /// A service with planted bugs switched on.
    pub fn with_bugs(policy: Box<dyn NetworkPolicy>, bugs: BugSet) -> Self {
        PacketService { policy, interfaces: BTreeMap::new(), next_op: 0, events: Vec::new(), bugs }
    }

    /// Registers an interface (idempotent).
    pub fn add_interface(&mut self, id: NetworkInterfaceId, kind: InterfaceKind) {
        self.interfaces.entry(id).or_insert(Interface { kind, tx: VecDeque::new(), rx: VecDeque::new() });
    }

    pub fn policy_name(&self) -> &str {
        self.policy.name()
    }

    /// `send_packet`: policy, queue ceiling, budget, then the packet is queued.
    pub fn send_packet(&mut self, ledger: &mut ResourceLedger, execution_id: ExecutionId, interface: NetworkInterfaceId, packet: Packet) -> Result<(), NetworkError> {
        let iface = self.interfaces.get(&interface).ok_or(NetworkError::UnknownInterface(interface))?;
        let full = match iface.kind {
            InterfaceKind::Wire => iface.tx.len() >= Self::MAX_QUEUED_PACKETS,
            InterfaceKind::Loopback => iface.rx.len() >= Self::MAX_QUEUED_PACKETS,
        };
        let op = self.begin(execution_id, interface, PacketDirection::Send);
        let context = PacketContext { execution_id, interface_id: interface, direction: PacketDirection::Send, packet: &packet };
        let admitted = self.admit(ledger, op, &context, full);
        if admitted.is_ok() {
            let iface = self.interfaces.get_mut(&interface).expect("checked above");
            match iface.kind {
                InterfaceKind::Wire => iface.tx.push_back(packet),
                InterfaceKind::Loopback => iface.rx.push_back(packet),
            }
        }
        self.finish(op, admitted.as_ref().err(), PacketOutcome::Sent);
        admitted
    }

    /// `receive_packet`: the head of the receive queue, if policy and budget allow taking it. A
    /// refused packet stays at the head.
    pub fn receive_packet(&mut self, ledger: &mut ResourceLedger, execution_id: ExecutionId, interface: NetworkInterfaceId) -> Result<Option<Packet>, NetworkError> {
        let iface = self.interfaces.get(&interface).ok_or(NetworkError::UnknownInterface(interface))?;
        let Some(head) = iface.rx.front() else { return Ok(None) };
        // The head is cloned only for the policy's view; the queue keeps it until it is taken.
        let head = head.clone();
        let op = self.begin(execution_id, interface, PacketDirection::Receive);
        let context = PacketContext { execution_id, interface_id: interface, direction: PacketDirection::Receive, packet: &head };
        let admitted = self.admit(ledger, op, &context, false);
        if admitted.is_ok() {
            self.interfaces.get_mut(&interface).expect("checked above").rx.pop_front();
        }
        self.finish(op, admitted.as_ref().err(), PacketOutcome::Received);
        admitted.map(|()| Some(head))
    }

    /// The packet at the head of an interface's receive queue.
    pub fn peek_received(&self, interface: NetworkInterfaceId) -> Option<&Packet> {
        self.interfaces.get(&interface).and_then(|i| i.rx.front())
    }

    /// Throws away the head of a receive queue (the caller will not take it).
    pub fn discard_head(&mut self, interface: NetworkInterfaceId) -> Option<Packet> {
        let packet = self.interfaces.get_mut(&interface)?.rx.pop_front()?;
        self.events.push(PacketServiceEvent::Discarded { interface });
        Some(packet)
    }

    /// A packet arrives from the wire (the device's receive ring: no policy, no budget yet).
    /// Returns false if the queue was full and the packet dropped.
    pub fn deliver_from_wire(&mut self, interface: NetworkInterfaceId, packet: Packet) -> bool {
        let Some(iface) = self.interfaces.get_mut(&interface) else { return false };
        if iface.rx.len() >= Self::MAX_QUEUED_PACKETS {
            self.events.push(PacketServiceEvent::RxOverflow { interface });
            return false;
        }
        iface.rx.push_back(packet);
        true
    }

    /// Takes the packets waiting for the wire, in send order.
    pub fn take_transmitted(&mut self, interface: NetworkInterfaceId) -> Vec<Packet> {
        self.interfaces.get_mut(&interface).map(|i| i.tx.drain(..).collect()).unwrap_or_default()
    }

    /// Packets waiting to be received on an interface.
    pub fn queued_packets(&self, interface: NetworkInterfaceId) -> usize {
        self.interfaces.get(&interface).map_or(0, |i| i.rx.len())
    }

    /// Takes the events recorded so far.
    pub fn take_events(&mut self) -> Vec<PacketServiceEvent> {
        core::mem::take(&mut self.events)
    }

    fn begin(&mut self, execution_id: ExecutionId, interface: NetworkInterfaceId, direction: PacketDirection) -> PacketOpId {
        let op = PacketOpId(self.next_op);
        self.next_op += 1;
        self.events.push(PacketServiceEvent::Attempt { op, execution_id, interface, direction });
        op
    }

    fn finish(&mut self, op: PacketOpId, error: Option<&NetworkError>, success: PacketOutcome) {
        let outcome = match error {
            None => success,
            Some(NetworkError::PolicyDenied(_)) => PacketOutcome::Denied,
            Some(NetworkError::BudgetExhausted(_)) => PacketOutcome::Exhausted,
            Some(NetworkError::QueueFull(_) | NetworkError::UnknownInterface(_)) => PacketOutcome::QueueFull,
        };
        self.events.push(PacketServiceEvent::Done { op, outcome });
    }

    /// Policy, queue ceiling, budget — in the seed's order (unless a planted bug reorders them).
    fn admit(&mut self, ledger: &mut ResourceLedger, op: PacketOpId, context: &PacketContext<'_>, queue_full: bool) -> Result<(), NetworkError> {
        if self.bugs.has(PlantedBug::NetPolicyCheckedAfterBudget) {
            self.charge(ledger, op, context)?;
            self.decide(op, context)?;
            return if queue_full { Err(NetworkError::QueueFull(context.interface_id)) } else { Ok(()) };
        }
        if let Err(denied) = self.decide(op, context) {
            if self.bugs.has(PlantedBug::DeniedPacketCharged) {
                let _ = self.charge(ledger, op, context);
            }
            return Err(denied);
        }
        if queue_full {
            return Err(NetworkError::QueueFull(context.interface_id));
        }
        if context.direction == PacketDirection::Receive && self.bugs.has(PlantedBug::ReceivedPacketNotCharged) {
            return Ok(());
        }
        self.charge(ledger, op, context)
    }

    fn decide(&mut self, op: PacketOpId, context: &PacketContext<'_>) -> Result<(), NetworkError> {
        let decision = self.policy.evaluate(context);
        self.events.push(PacketServiceEvent::Decided { op, allowed: decision.is_allow() });
        match decision {
            NetworkDecision::Allow => Ok(()),
            NetworkDecision::Deny { reason } => Err(NetworkError::PolicyDenied(reason)),
        }
    }

    /// One `PacketCount` from the context's identity; the ledger's audit records are copied into
    /// the service's events, attributed to the operation.
    fn charge(&mut self, ledger: &mut ResourceLedger, op: PacketOpId, context: &PacketContext<'_>) -> Result<(), NetworkError> {
        let operation = match context.direction {
            PacketDirection::Send => PacketOperation::Send,
            PacketDirection::Receive => PacketOperation::Receive,
        };
        let before = ledger.resource_audit().len();
        let result = ledger.try_consume_packet(context.execution_id, operation);
        for event in &ledger.resource_audit().entries()[before..] {
            self.events.push(PacketServiceEvent::Resource { op, event: *event });
        }
        result.map_err(NetworkError::BudgetExhausted)
    }
}
