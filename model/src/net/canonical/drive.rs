//! N nodes of the canonical path: [`NetNodes`], which the engine drives from its one event queue
//! and its one choice stream in a scenario run (each [`Action`] is an `Event::Net` there, see
//! `engine/net.rs`), and [`NetWorld`], the same nodes driven by a small queue of their own for the
//! domain layer's tests.
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
    /// Per node (by index), a `PacketCount` limit that replaces `softbus_packet_budget`.
    pub node_packet_budgets: Vec<Option<u64>>,
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

/// The nodes, the wire and the configuration: everything of a network run except the queue, the
/// clock and the choices, which belong to whoever drives it ([`NetWorld`] here, the engine's one
/// event loop in a scenario run). Each [`NetNodes::act`] leaves the actions it schedules in
/// [`NetNodes::take_scheduled`] and the events it records in [`NetNodes::take_recorded`], in order.
pub struct NetNodes {
    wire: Wire,
    nodes: Vec<NodeSlot>,
    config: NetRunConfig,
    bugs: BugSet,
    scheduled: Vec<(Instant, Action)>,
    recorded: Vec<NetEvent>,
}

impl NetNodes {
    /// The nodes of `topology` under the network faults of `plan`, none started yet.
    pub fn new(topology: Topology, plan: NetFaultPlan, config: NetRunConfig) -> Result<Self, String> {
        let bugs = BugSet::from_list(&config.bugs);
        plan.validate(topology.len())?;
        let wire = Wire::with_bugs(topology, plan, bugs)?;
        if let Some((n, _)) = config.impostors.iter().find(|(n, _)| n.index() >= wire.topology().len()) {
            return Err(format!("impostor {n} does not exist"));
        }
        let nodes = (0..wire.topology().len()).map(|_| NodeSlot { incarnation: 0, state: None }).collect();
        Ok(NetNodes { wire, nodes, config, bugs, scheduled: Vec::new(), recorded: Vec::new() })
    }

    /// The first actions of a run, in order: every node starts at time 0, then the plan's crashes
    /// and restarts in time order.
    pub fn initial_actions(&self) -> Vec<(Instant, Action)> {
        let mut out: Vec<(Instant, Action)> = (0..self.nodes.len()).map(|i| (Instant(0), Action::Start(NodeId(i as u32)))).collect();
        for (at, node, change) in self.wire.plan().node_schedule() {
            out.push((Instant(at), if change == NodeChange::Crash { Action::Crash(node) } else { Action::Restart(node) }));
        }
        out
    }

    /// The actions scheduled since the last call, in the order they were scheduled.
    pub fn take_scheduled(&mut self) -> alloc::vec::Drain<'_, (Instant, Action)> {
        self.scheduled.drain(..)
    }

    /// The events recorded since the last call, in order.
    pub fn take_recorded(&mut self) -> alloc::vec::Drain<'_, NetEvent> {
        self.recorded.drain(..)
    }

    pub fn wire(&self) -> &Wire {
        &self.wire
    }

    pub fn config(&self) -> &NetRunConfig {
        &self.config
    }

    /// How many nodes there are.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The incarnation of a node (0 until its first restart).
    pub fn incarnation(&self, node: NodeId) -> u32 {
        self.nodes[node.index()].incarnation
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

    /// The application of `node` sends `payload` on `stream` of its session with the node at
    /// `peer`; an error says why it could not (the node is down, no session is up, the soft-bus
    /// refused).
    pub fn app_send(&mut self, now: Instant, choices: &mut Choices, node: NodeId, peer: Ipv4Address, stream: u32, payload: Vec<u8>) -> Result<(), String> {
        let Some(state) = self.nodes[node.index()].state.as_mut() else { return Err(format!("{node} is down")) };
        let Some((session, _)) = state.softbus.sessions().find(|(_, p)| *p == peer) else { return Err(format!("{node} has no session with {peer}")) };
        let mut out = Vec::new();
        let sent = state.softbus.send(now, session, stream, payload, &mut out);
        if sent.is_err() {
            state.app.send_errors += 1;
        }
        self.pump(now, choices, node, out);
        sent.map_err(|e| format!("{e:?}"))
    }

    /// Carries out one action at `now`.
    pub fn act(&mut self, now: Instant, choices: &mut Choices, action: Action) {
        match action {
            Action::Start(node) => self.boot(now, choices, node, false),
            Action::Restart(node) => self.boot(now, choices, node, true),
            Action::Crash(node) => {
                self.nodes[node.index()].state = None;
                self.recorded.push(NetEvent::NodeCrashed { node });
            }
            Action::Arrival(delivery, packet) => {
                self.wire.arrived(&delivery);
                self.flush(delivery.to);
                let node = delivery.to;
                let Some(state) = self.nodes[node.index()].state.as_mut() else { return };
                state.netstack.deliver_from_wire(packet);
                self.pump(now, choices, node, Vec::new());
            }
            Action::Timer { node, incarnation, timer } => {
                let slot = &mut self.nodes[node.index()];
                if slot.incarnation != incarnation {
                    return;
                }
                let Some(state) = slot.state.as_mut() else { return };
                let mut out = Vec::new();
                state.softbus.on_timer(now, timer, &mut out);
                self.pump(now, choices, node, out);
            }
        }
    }

    /// A node (re)starts: a fresh kernel share, netstack, soft-bus and application.
    fn boot(&mut self, now: Instant, choices: &mut Choices, node: NodeId, restarting: bool) {
        let slot = &mut self.nodes[node.index()];
        if restarting {
            slot.incarnation += 1;
        }
        let incarnation = slot.incarnation;
        let spec = self.wire.topology().node(node).clone();
        let (softbus_exec, app_exec) = (ExecutionId(1 + 2 * u64::from(incarnation)), ExecutionId(2 + 2 * u64::from(incarnation)));
        let mut ledger = ResourceLedger::with_bugs(self.bugs);
        let limit = self.config.node_packet_budgets.get(node.index()).copied().flatten().or(self.config.softbus_packet_budget);
        let budget = limit.map(|n| ResourceBudget::unlimited().with_packet_count(PacketCount::new(n)));
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
            self.recorded.push(NetEvent::NodeRestarted { node, incarnation });
        }
        let mut out = Vec::new();
        self.nodes[node.index()].state.as_mut().expect("just booted").softbus.start(now, &mut out);
        self.pump(now, choices, node, out);
    }

    /// Carries out a node's outputs, transmits, receives — until nothing is left.
    fn pump(&mut self, now: Instant, choices: &mut Choices, node: NodeId, mut out: Vec<BusOutput>) {
        let mut deliveries = Vec::new();
        loop {
            self.carry_out(now, node, &mut out);
            let Some(state) = self.nodes[node.index()].state.as_mut() else { return };
            for packet in state.netstack.take_transmitted() {
                self.wire.transmit(node, packet.destination.address, now, choices, &mut deliveries);
                for d in deliveries.drain(..) {
                    self.scheduled.push((d.at, Action::Arrival(d, packet.clone())));
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
    fn carry_out(&mut self, now: Instant, node: NodeId, out: &mut Vec<BusOutput>) {
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
                BusOutput::SetTimer { at, timer } => self.scheduled.push((at, Action::Timer { node, incarnation, timer })),
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
        if let Some(state) = self.nodes[node.index()].state.as_mut() {
            self.recorded.extend(state.netstack.take_events().into_iter().map(|event| NetEvent::Packet { node, event }));
        }
        self.recorded.extend(self.wire.take_events().into_iter().map(NetEvent::Wire));
        if let Some(state) = self.nodes[node.index()].state.as_mut() {
            self.recorded.extend(state.softbus.take_events().into_iter().map(|e| match e {
                BusEvent::Discovery(event) => NetEvent::Discovery { node, event },
                BusEvent::Session(event) => NetEvent::Session { node, event },
            }));
        }
    }
}

/// N nodes, one wire, one queue, one choice stream: [`NetNodes`] driven by a queue of its own
/// (the engine drives the same nodes from its event queue in a scenario run).
pub struct NetWorld {
    now: Instant,
    queue: BTreeMap<(Instant, u64), Action>,
    seq: u64,
    choices: Choices,
    net: NetNodes,
    events: Vec<NetEvent>,
    monitor: NetMonitor,
    rules: RuleLog,
    hash: TraceHasher,
    executed: u64,
}

impl NetWorld {
    /// A world over `topology` with the network faults of `plan`; every node starts at time 0.
    pub fn new(topology: Topology, plan: NetFaultPlan, config: NetRunConfig, choices: Choices) -> Result<Self, String> {
        let monitor = NetMonitor::new(plan.clone());
        let net = NetNodes::new(topology, plan, config)?;
        let mut world = NetWorld { now: Instant(0), queue: BTreeMap::new(), seq: 0, choices, net, events: Vec::new(), monitor, rules: RuleLog::default(), hash: TraceHasher::default(), executed: 0 };
        for (at, action) in world.net.initial_actions() {
            world.schedule(at, action);
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
            self.net.act(at, &mut self.choices, action);
            let scheduled: Vec<(Instant, Action)> = self.net.take_scheduled().collect();
            for (at, action) in scheduled {
                self.schedule(at, action);
            }
            let recorded: Vec<NetEvent> = self.net.take_recorded().collect();
            for event in recorded {
                self.monitor.observe(&event, &mut self.rules);
                event.fold(&mut self.hash);
                self.events.push(event);
            }
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
        self.net.wire()
    }

    /// The application of a live node.
    pub fn app(&self, node: NodeId) -> Option<&App> {
        self.net.app(node)
    }

    /// The ledger of a live node.
    pub fn ledger(&self, node: NodeId) -> Option<&ResourceLedger> {
        self.net.ledger(node)
    }

    /// The soft-bus of a live node.
    pub fn softbus(&self, node: NodeId) -> Option<&SoftBus> {
        self.net.softbus(node)
    }

    /// The netstack of a live node.
    pub fn netstack(&self, node: NodeId) -> Option<&Netstack> {
        self.net.netstack(node)
    }

    /// The soft-bus identity of a live node (the one its packets are charged to).
    pub fn softbus_identity(&self, node: NodeId) -> Option<ExecutionId> {
        self.net.softbus_identity(node)
    }

    /// The payload number `index` that `from`'s application sends `to`.
    pub fn payload(from: Ipv4Address, to: Ipv4Address, index: u32) -> Vec<u8> {
        format!("{from}->{to}#{index}").into_bytes()
    }

    fn schedule(&mut self, at: Instant, action: Action) {
        self.queue.insert((at, self.seq), action);
        self.seq += 1;
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
