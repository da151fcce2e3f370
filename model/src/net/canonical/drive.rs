//! A minimal N-node event loop over the canonical path: the stand-in the tests use, and the
//! reference for wiring networking into the engine (each [`Action`] here becomes an event
//! there).
//!
//! Every node has its own simulated kernel's share of the model — a [`ResourceLedger`], the
//! soft-bus's and the application's identities — plus a [`Netstack`], a [`SoftBus`] and a small
//! application that, once a session with a peer is up, sends it `messages_per_peer` payloads
//! round-robin over `streams` streams and keeps what it receives. All nodes share the one
//! [`Wire`], the one queue of actions ordered by (virtual time, insertion) and the one
//! [`Choices`]: no threads, no sockets, and the run is a pure function of (topology, fault plan,
//! configuration, choices).
//!
//! Per action, the node's soft-bus outputs are carried out in order (datagrams through the
//! netstack's facade with the soft-bus's identity, timers into the queue, notices to the
//! application, whose sends produce more outputs); then the packets waiting for the wire are
//! transmitted (their deliveries queued); then the netstack takes what arrived and the soft-bus
//! reads its sockets — until nothing is left to do. Every event recorded on the way goes, in
//! order, to the [`NetMonitor`], the trace hash and the kept event list.
//!
//! Crash and restart come from the fault plan: a crashed node's state is dropped (its timers and
//! the packets in flight to it are dropped when they come due); a restarted node is a new
//! incarnation with fresh state and fresh identities.

use super::netstack::Netstack;
use super::softbus::{AppNotice, BusEvent, BusOutput, BusTimer, SoftBus, SoftBusConfig};
use crate::budget::enforcement::ResourceLedger;
use crate::budget::{PacketCount, ResourceBudget};
use crate::bugs::{BugSet, PlantedBug};
use crate::choices::Choices;
use crate::ids::ExecutionId;
use crate::net::checks::NetMonitor;
use crate::net::events::{DeviceId, NetEvent};
use crate::net::packet::{Ipv4Address, NetworkInterfaceId, Packet, PacketProtocol};
use crate::net::policy::NetworkPolicySpec;
use crate::net::sockets::{SocketId, SocketRequest, SocketResponse};
use crate::net::topology::{NetFaultPlan, NodeChange, NodeId, Topology};
use crate::net::wire::{Delivery, Wire};
use crate::rule_check::RuleLog;
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// What the run does besides the topology and the fault plan.
#[derive(Clone, Debug, Default)]
pub struct NetRunConfig {
    pub softbus: SoftBusConfig,
    /// Every node's network policy.
    pub policy: NetworkPolicySpec,
    /// A `PacketCount` limit for every node's soft-bus identity (`None` = unlimited).
    pub softbus_packet_budget: Option<u64>,
    /// Payloads each application sends each peer once a session with it is up.
    pub messages_per_peer: u32,
    /// Streams the payloads are spread over (round-robin; 0 counts as 1).
    pub streams: u32,
    /// Nodes that announce another identity than their own.
    pub impostors: Vec<(NodeId, DeviceId)>,
    pub bugs: Vec<PlantedBug>,
}

/// Something that happens at a virtual time.
#[derive(Clone, Debug)]
pub enum Action {
    Start(NodeId),
    Crash(NodeId),
    Restart(NodeId),
    /// A copy of a packet reaches a node.
    Arrival(Delivery, Packet),
    /// A soft-bus timer of one incarnation of a node.
    Timer { node: NodeId, incarnation: u32, timer: BusTimer },
}

/// The application of one node.
#[derive(Clone, Debug, Default)]
pub struct App {
    sent_to: BTreeSet<Ipv4Address>,
    /// What each peer sent, in the order received: (stream, payload).
    pub received: BTreeMap<Ipv4Address, Vec<(u32, Vec<u8>)>>,
    /// Sessions that came up, with the peer's identity.
    pub sessions_up: Vec<(Ipv4Address, DeviceId)>,
    /// Sends the soft-bus refused.
    pub send_errors: u64,
}

/// One live incarnation of a node.
#[derive(Debug)]
struct NodeState {
    ledger: ResourceLedger,
    softbus_exec: ExecutionId,
    netstack: Netstack,
    softbus: SoftBus,
    discovery_socket: SocketId,
    session_socket: SocketId,
    app: App,
}

#[derive(Debug)]
struct NodeSlot {
    incarnation: u32,
    state: Option<NodeState>,
}

/// N nodes, one wire, one queue, one choice stream.
pub struct NetWorld {
    now: Instant,
    queue: BTreeMap<(Instant, u64), Action>,
    seq: u64,
    wire: Wire,
    choices: Choices,
    nodes: Vec<NodeSlot>,
    config: NetRunConfig,
    bugs: BugSet,
    events: Vec<NetEvent>,
    monitor: NetMonitor,
    rules: RuleLog,
    hash: TraceHasher,
    executed: u64,
}

impl NetWorld {
    /// A world over `topology` with the network faults of `plan`; every node starts at time 0.
    pub fn new(topology: Topology, plan: NetFaultPlan, config: NetRunConfig, choices: Choices) -> Result<Self, String> {
        let bugs = BugSet::from_list(&config.bugs);
        let monitor = NetMonitor::new(plan.clone());
        let schedule = plan.node_schedule();
        let wire = Wire::with_bugs(topology, plan, bugs)?;
        if let Some((n, _)) = config.impostors.iter().find(|(n, _)| n.index() >= wire.topology().len()) {
            return Err(format!("impostor {n} does not exist"));
        }
        let nodes = (0..wire.topology().len()).map(|_| NodeSlot { incarnation: 0, state: None }).collect();
        let mut world = NetWorld { now: Instant(0), queue: BTreeMap::new(), seq: 0, wire, choices, nodes, config, bugs, events: Vec::new(), monitor, rules: RuleLog::default(), hash: TraceHasher::default(), executed: 0 };
        for i in 0..world.nodes.len() {
            world.schedule(Instant(0), Action::Start(NodeId(i as u32)));
        }
        for (at, node, change) in schedule {
            world.schedule(Instant(at), if change == NodeChange::Crash { Action::Crash(node) } else { Action::Restart(node) });
        }
        Ok(world)
    }

    /// Runs every action due at or before `until`; returns how many ran.
    pub fn run_until(&mut self, until: Instant) -> u64 {
        let start = self.executed;
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > until {
                break;
            }
            let ((at, _), action) = entry.remove_entry();
            self.now = at;
            self.executed += 1;
            self.act(action);
        }
        self.now = self.now.max(until);
        self.executed - start
    }

    /// The events recorded so far, in order.
    pub fn events(&self) -> &[NetEvent] {
        &self.events
    }

    /// The `net.*` checks so far.
    pub fn rules(&self) -> &RuleLog {
        &self.rules
    }

    /// The trace hash of every event so far.
    pub fn digest(&self) -> u64 {
        self.hash.value()
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn choices(&self) -> &Choices {
        &self.choices
    }

    pub fn wire(&self) -> &Wire {
        &self.wire
    }

    /// The application of a live node.
    pub fn app(&self, node: NodeId) -> Option<&App> {
        self.nodes[node.index()].state.as_ref().map(|s| &s.app)
    }

    /// The ledger of a live node.
    pub fn ledger(&self, node: NodeId) -> Option<&ResourceLedger> {
        self.nodes[node.index()].state.as_ref().map(|s| &s.ledger)
    }

    /// The soft-bus of a live node.
    pub fn softbus(&self, node: NodeId) -> Option<&SoftBus> {
        self.nodes[node.index()].state.as_ref().map(|s| &s.softbus)
    }

    /// The netstack of a live node.
    pub fn netstack(&self, node: NodeId) -> Option<&Netstack> {
        self.nodes[node.index()].state.as_ref().map(|s| &s.netstack)
    }

    /// The soft-bus identity of a live node (the one its packets are charged to).
    pub fn softbus_identity(&self, node: NodeId) -> Option<ExecutionId> {
        self.nodes[node.index()].state.as_ref().map(|s| s.softbus_exec)
    }

    /// The payload number `index` that `from`'s application sends `to`.
    pub fn payload(from: Ipv4Address, to: Ipv4Address, index: u32) -> Vec<u8> {
        format!("{from}->{to}#{index}").into_bytes()
    }

    fn schedule(&mut self, at: Instant, action: Action) {
        self.queue.insert((at, self.seq), action);
        self.seq += 1;
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Start(node) => self.boot(node, false),
            Action::Restart(node) => self.boot(node, true),
            Action::Crash(node) => {
                self.nodes[node.index()].state = None;
                self.record(NetEvent::NodeCrashed { node });
            }
            Action::Arrival(delivery, packet) => {
                self.wire.arrived(&delivery);
                self.flush(delivery.to);
                let node = delivery.to;
                let Some(state) = self.nodes[node.index()].state.as_mut() else { return };
                state.netstack.deliver_from_wire(packet);
                self.pump(node, Vec::new());
            }
            Action::Timer { node, incarnation, timer } => {
                let slot = &mut self.nodes[node.index()];
                if slot.incarnation != incarnation {
                    return;
                }
                let Some(state) = slot.state.as_mut() else { return };
                let mut out = Vec::new();
                state.softbus.on_timer(self.now, timer, &mut out);
                self.pump(node, out);
            }
        }
    }

    /// A node (re)starts: a fresh kernel share, netstack, soft-bus and application.
    fn boot(&mut self, node: NodeId, restarting: bool) {
        let slot = &mut self.nodes[node.index()];
        if restarting {
            slot.incarnation += 1;
        }
        let incarnation = slot.incarnation;
        let spec = self.wire.topology().node(node).clone();
        let (softbus_exec, app_exec) = (ExecutionId(1 + 2 * u64::from(incarnation)), ExecutionId(2 + 2 * u64::from(incarnation)));
        let mut ledger = ResourceLedger::with_bugs(self.bugs);
        let budget = self.config.softbus_packet_budget.map(|n| ResourceBudget::unlimited().with_packet_count(PacketCount::new(n)));
        ledger.attach(softbus_exec, None, budget).expect("a root identity inherits nothing");
        ledger.attach(app_exec, None, None).expect("a root identity inherits nothing");
        let mut netstack = Netstack::new(spec.address, NetworkInterfaceId(node.0.into()), self.config.policy.build(), self.bugs);
        let cfg = self.config.softbus;
        let bind = |n: &mut Netstack, ledger: &mut ResourceLedger, port, protocol| match n.handle(softbus_exec, SocketRequest::Bind { port, protocol }, ledger) {
            SocketResponse::Bound { socket, .. } => socket,
            other => unreachable!("a fresh netstack binds the soft-bus's port: {other:?}"),
        };
        let discovery_socket = bind(&mut netstack, &mut ledger, cfg.discovery_port, PacketProtocol::Udp);
        let session_socket = bind(&mut netstack, &mut ledger, cfg.session_port, PacketProtocol::Tcp);
        let mut softbus = SoftBus::new(cfg, spec.address, spec.device, incarnation, self.bugs);
        if let Some((_, claimed)) = self.config.impostors.iter().find(|(n, _)| *n == node) {
            softbus = softbus.announcing_as(*claimed);
        }
        slot.state = Some(NodeState { ledger, softbus_exec, netstack, softbus, discovery_socket, session_socket, app: App::default() });
        if restarting {
            self.record(NetEvent::NodeRestarted { node, incarnation });
        }
        let mut out = Vec::new();
        self.nodes[node.index()].state.as_mut().expect("just booted").softbus.start(self.now, &mut out);
        self.pump(node, out);
    }

    /// Carries out a node's outputs, transmits, receives — until nothing is left.
    fn pump(&mut self, node: NodeId, mut out: Vec<BusOutput>) {
        let mut deliveries = Vec::new();
        loop {
            self.carry_out(node, &mut out);
            let now = self.now;
            let Some(state) = self.nodes[node.index()].state.as_mut() else { return };
            for packet in state.netstack.take_transmitted() {
                self.wire.transmit(node, packet.destination.address, now, &mut self.choices, &mut deliveries);
                for d in deliveries.drain(..) {
                    self.queue.insert((d.at, self.seq), Action::Arrival(d, packet.clone()));
                    self.seq += 1;
                }
            }
            state.netstack.poll(&mut state.ledger);
            for socket in [state.discovery_socket, state.session_socket] {
                while let SocketResponse::Datagram(Some(d)) = state.netstack.handle(state.softbus_exec, SocketRequest::Recv { socket }, &mut state.ledger) {
                    state.softbus.on_datagram(now, d.from, &d.payload, &mut out);
                }
            }
            self.flush(node);
            if out.is_empty() {
                return;
            }
        }
    }

    /// The soft-bus's outputs, in order (the application's sends append more).
    fn carry_out(&mut self, node: NodeId, out: &mut Vec<BusOutput>) {
        let now = self.now;
        let incarnation = self.nodes[node.index()].incarnation;
        let mut i = 0;
        while i < out.len() {
            let output = out[i].clone();
            i += 1;
            let Some(state) = self.nodes[node.index()].state.as_mut() else { return };
            match output {
                BusOutput::Send { from_port, to, payload, .. } => {
                    let socket = if from_port == self.config.softbus.discovery_port { state.discovery_socket } else { state.session_socket };
                    let _ = state.netstack.handle(state.softbus_exec, SocketRequest::SendTo { socket, to, payload }, &mut state.ledger);
                }
                BusOutput::SetTimer { at, timer } => {
                    self.queue.insert((at, self.seq), Action::Timer { node, incarnation, timer });
                    self.seq += 1;
                }
                BusOutput::App(notice) => {
                    let mut more = Vec::new();
                    app_notice(state, notice, &self.config, now, &mut more);
                    out.extend(more);
                }
            }
        }
        out.clear();
    }

    /// Records the events a node's services and the wire produced, in order.
    fn flush(&mut self, node: NodeId) {
        let mut batch = Vec::new();
        if let Some(state) = self.nodes[node.index()].state.as_mut() {
            batch.extend(state.netstack.take_events().into_iter().map(|event| NetEvent::Packet { node, event }));
        }
        batch.extend(self.wire.take_events().into_iter().map(NetEvent::Wire));
        if let Some(state) = self.nodes[node.index()].state.as_mut() {
            batch.extend(state.softbus.take_events().into_iter().map(|e| match e {
                BusEvent::Discovery(event) => NetEvent::Discovery { node, event },
                BusEvent::Session(event) => NetEvent::Session { node, event },
            }));
        }
        for e in batch {
            self.record(e);
        }
    }

    fn record(&mut self, event: NetEvent) {
        self.monitor.observe(&event, &mut self.rules);
        event.fold(&mut self.hash);
        self.events.push(event);
    }
}

/// The application's reaction to a notice: a new session gets the payloads for that peer (once
/// per peer per incarnation); data is kept.
fn app_notice(state: &mut NodeState, notice: AppNotice, config: &NetRunConfig, now: Instant, out: &mut Vec<BusOutput>) {
    match notice {
        AppNotice::SessionUp { session, peer, device } => {
            state.app.sessions_up.push((peer, device));
            if !state.app.sent_to.insert(peer) {
                return;
            }
            let me = state.softbus.address();
            for i in 0..config.messages_per_peer {
                let stream = i % config.streams.max(1);
                if state.softbus.send(now, session, stream, NetWorld::payload(me, peer, i), out).is_err() {
                    state.app.send_errors += 1;
                }
            }
        }
        AppNotice::Data { peer, stream, payload, .. } => state.app.received.entry(peer).or_default().push((stream, payload)),
        AppNotice::SessionDown { .. } => {}
    }
}
