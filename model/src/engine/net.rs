//! The event loop's side of the network (seeds `000_*` and `001_*`, the canonical path).
//!
//! A scenario's `network` becomes a [`NetNodes`] (every node's netstack, soft-bus, application
//! and ledger, and the one wire) driven from the run's own queue and choice stream: each
//! [`Action`] the nodes schedule (a node's start, crash or restart, a packet copy's arrival, a
//! soft-bus timer) waits in a slot of [`NetRun`] and is an `Event::Net { slot }` in the queue, so
//! a queue entry stays a few ids. Per event the action is carried out, the actions it scheduled
//! are queued after everything already queued for their time, and every networking event it
//! recorded becomes an `Observation::Net` — checked by the `net.*` monitor, folded into the trace
//! hash and counted per node for the report and the `expect.network` expectations, like every
//! other observation. The wire draws its loss, duplication, delay, reordering and jitter from the
//! run's choices, so record/replay and shrinking see the network like everything else.
//!
//! At the start, every node's `Start` is queued at time 0 (in node order), then the fault plan's
//! crashes and restarts, after the scenario's own initial events.

use super::slots::Slots;
use super::{Event, Simulation};
use crate::budget::ResourceKind;
use crate::net::canonical::drive::{Action, NetNodes, NetRunConfig, NetWorld};
use crate::net::events::{DiscoveryEvent, NetEvent, SessionEvent};
use crate::net::service::{PacketOutcome, PacketServiceEvent};
use crate::net::topology::NodeId;
use crate::net::wire::WireEvent;
use crate::observation::Observation;
use crate::report::{NetAuditEvent, NetAuditRecord, NetNodeRow, NetReport};
use crate::scenario::{NetCounter, Network, Scenario};
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// The network of a run: the nodes, the actions waiting in the queue, the per-node counters.
pub(super) struct NetRun {
    nodes: NetNodes,
    actions: Slots<Action>,
    counters: Vec<[u64; NetCounter::ALL.len()]>,
    /// The security audit: `(time, node, record)` in the order recorded.
    audit: Vec<(Instant, NodeId, NetAuditEvent)>,
}

impl NetRun {
    /// The network a validated scenario declares (none if it declares none).
    pub(super) fn of(scenario: &Scenario) -> Option<Box<NetRun>> {
        let n = scenario.network.as_ref()?;
        let topology = n.topology().ok()?;
        let nodes = NetNodes::new(topology, n.faults.clone(), config(n, scenario)).ok()?;
        let counters = alloc::vec![[0; NetCounter::ALL.len()]; nodes.len()];
        Some(Box::new(NetRun { nodes, actions: Slots::new(), counters, audit: Vec::new() }))
    }

    fn count(&mut self, node: NodeId, counter: NetCounter) {
        self.counters[node.index()][counter as usize] += 1;
    }

    /// Counts one event for the report and keeps its audit record, if it has one.
    fn tally(&mut self, now: Instant, event: &NetEvent) {
        use NetCounter as C;
        if let Some((node, record)) = audit_record(event) {
            self.audit.push((now, node, record));
        }
        match event {
            NetEvent::Discovery { node, event: DiscoveryEvent::PeerDiscovered { .. } } => self.count(*node, C::PeersDiscovered),
            NetEvent::Session { node, event } => match event {
                SessionEvent::Established { .. } => self.count(*node, C::SessionsEstablished),
                SessionEvent::HandshakeRejected { .. } => self.count(*node, C::HandshakesRejected),
                SessionEvent::DataDelivered { .. } => self.count(*node, C::DataDelivered),
                _ => {}
            },
            NetEvent::Packet { node, event } => match event {
                PacketServiceEvent::Decided { allowed: true, .. } => self.count(*node, C::PacketsAllowed),
                PacketServiceEvent::Decided { allowed: false, .. } => self.count(*node, C::PacketsDenied),
                PacketServiceEvent::Resource { event, .. } if event.consumption().is_some_and(|(k, _, _)| k == ResourceKind::PacketCount) => self.count(*node, C::PacketsConsumed),
                PacketServiceEvent::Done { outcome: PacketOutcome::Exhausted, .. } => self.count(*node, C::PacketsExhausted),
                _ => {}
            },
            NetEvent::Wire(WireEvent::Sent { from, .. }) => self.count(*from, C::WireSent),
            NetEvent::NodeCrashed { node } => self.count(*node, C::Crashes),
            NetEvent::NodeRestarted { node, .. } => self.count(*node, C::Restarts),
            _ => {}
        }
    }

    /// The per-node counters at the end of the run.
    pub(super) fn report(&self) -> NetReport {
        let topology = self.nodes.wire().topology();
        let per_peer = self.nodes.config().messages_per_peer;
        let nodes = (0..self.nodes.len())
            .map(|i| {
                let node = NodeId(i as u32);
                let mut counts = self.counters[i];
                counts[NetCounter::CompleteExchanges as usize] = self.complete_exchanges(node, per_peer);
                let counters = NetCounter::ALL.iter().map(|c| (*c, counts[*c as usize])).collect();
                NetNodeRow { name: topology.node(node).name.clone(), address: topology.node(node).address, incarnation: self.nodes.incarnation(node), up: self.nodes.app(node).is_some(), counters }
            })
            .collect();
        let audit = self.audit.iter().map(|(at, node, event)| NetAuditRecord { at: *at, node: topology.node(*node).name.clone(), event: event.clone() }).collect();
        NetReport { nodes, audit }
    }

    /// Peers from which `node`'s application (its current incarnation) got every payload
    /// unaltered (a restarted peer sends them all again; that each flow delivers each payload once
    /// is `net.stream_in_order_exactly_once`'s business).
    fn complete_exchanges(&self, node: NodeId, per_peer: u32) -> u64 {
        let Some(app) = self.nodes.app(node) else { return 0 };
        let me = self.nodes.wire().topology().node(node).address;
        let complete = app.received.iter().filter(|(peer, got)| {
            let mut got: Vec<&[u8]> = got.iter().map(|(_, p)| p.as_slice()).collect();
            let mut want: Vec<Vec<u8>> = (0..per_peer).map(|k| NetWorld::payload(**peer, me, k)).collect();
            got.sort_unstable();
            got.dedup();
            want.sort_unstable();
            per_peer > 0 && got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| *g == w.as_slice())
        });
        complete.count() as u64
    }
}

/// The security audit's record of an event, if it is one.
fn audit_record(event: &NetEvent) -> Option<(NodeId, NetAuditEvent)> {
    let NetEvent::Session { node, event } = event else { return None };
    let record = match *event {
        SessionEvent::Established { peer, bound, role, .. } => NetAuditEvent::SessionBound { peer, bound, role },
        SessionEvent::HandshakeRejected { peer, expected, presented, reason, .. } => NetAuditEvent::HandshakeRejected { peer, expected, presented, reason },
        _ => return None,
    };
    Some((*node, record))
}

/// The nodes' configuration from the scenario.
fn config(n: &Network, scenario: &Scenario) -> NetRunConfig {
    NetRunConfig {
        policy: n.policy.clone(),
        softbus_packet_budget: n.packet_budget,
        node_packet_budgets: n.nodes.iter().map(|d| d.packet_budget).collect(),
        messages_per_peer: n.app.messages_per_peer,
        streams: n.app.streams,
        impostors: n.nodes.iter().enumerate().filter_map(|(i, d)| d.announce_as.map(|c| (NodeId(i as u32), c))).collect(),
        bugs: scenario.bugs.clone(),
        ..NetRunConfig::default()
    }
}

impl Simulation<'_> {
    /// Queues the network's first actions (after the scenario's other initial events).
    pub(super) fn schedule_network(&mut self) {
        let Some(net) = self.net.as_mut() else { return };
        let initial = net.nodes.initial_actions();
        for (at, action) in initial {
            let slot = net.actions.park(action);
            self.queue.push(at.0, Event::Net { slot });
        }
    }

    /// `Event::Net`: carries out the action in `slot`.
    pub(super) fn net_action(&mut self, slot: u32) {
        let Some(net) = self.net.as_mut() else { return };
        let Some(action) = net.actions.take(slot) else { return };
        let now: Instant = self.kernel.now();
        net.nodes.act(now, &mut self.kernel.choices, action);
        let scheduled: Vec<(Instant, Action)> = net.nodes.take_scheduled().collect();
        for (at, action) in scheduled {
            let slot = net.actions.park(action);
            self.queue.push(at.0, Event::Net { slot });
        }
        let recorded: Vec<NetEvent> = net.nodes.take_recorded().collect();
        for event in recorded {
            net.tally(now, &event);
            self.kernel.observations.push(Observation::Net(Box::new(event)));
        }
    }
}
