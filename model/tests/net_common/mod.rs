//! Helpers shared by the networking tests (`net_*.rs`).
#![allow(dead_code)]

use model::choices::Choices;
use model::net::checks::NetMonitor;
use model::net::events::{DeviceId, FlowId, NetEvent, Role, SessionEvent, SessionId};
use model::net::payload_digest;
use model::net::service::PacketServiceEvent;
use model::net::stream::{ReceiverOutput, SenderOutput, StreamConfig, StreamReceiver, StreamSender};
use model::net::topology::{LinkSpec, NetFaultPlan, NodeId, NodeSpec, Topology};
use model::net::wire::{Delivery, Wire};
use model::net::{Endpoint, Ipv4Address, Packet, PacketProtocol};
use model::rule_check::RuleLog;
use model::time::Instant;
use std::collections::BTreeMap;

/// `10.0.0.<last>`.
pub fn addr(last: u8) -> Ipv4Address {
    Ipv4Address::new(10, 0, 0, last)
}

/// A UDP packet from `10.0.0.1:1000` to `10.0.0.2:2000`.
pub fn packet(payload: &[u8]) -> Packet {
    Packet::new(Endpoint::new(addr(1), 1000), Endpoint::new(addr(2), 2000), PacketProtocol::Udp, payload.to_vec())
}

/// Nodes `n0..n{count}` at `10.0.0.1..`, device ids 100, 101, ….
pub fn nodes(count: u32) -> Vec<NodeSpec> {
    (0..count).map(|i| NodeSpec { name: format!("n{i}"), address: addr(i as u8 + 1), device: DeviceId(100 + u64::from(i)) }).collect()
}

pub fn mesh(count: u32, latency_ns: u64, jitter_ns: u64) -> Topology {
    Topology::full_mesh(nodes(count), LinkSpec { latency_ns, jitter_ns }).unwrap()
}

/// The packet service's events as node 0's networking events.
pub fn as_net(events: Vec<PacketServiceEvent>) -> Vec<NetEvent> {
    events.into_iter().map(|event| NetEvent::Packet { node: NodeId(0), event }).collect()
}

/// Runs the monitor over `events` with `plan`.
pub fn check(plan: &NetFaultPlan, events: &[NetEvent]) -> RuleLog {
    let mut log = RuleLog::default();
    NetMonitor::check_all(plan.clone(), events, &mut log);
    log
}

/// Transmits packets through a wire as a driver would: each at its send time, arrivals reported
/// in time order. Returns the arrivals (delivery, packet index) in arrival order and the wire's
/// events (sends, losses, schedules and arrivals) as networking events.
pub fn drive_wire(wire: &mut Wire, sends: &[(NodeId, Ipv4Address, u64)], choices: &mut Choices) -> (Vec<(Delivery, usize)>, Vec<NetEvent>) {
    let mut pending: BTreeMap<(Instant, u64), (Delivery, usize)> = BTreeMap::new();
    let mut seq = 0;
    let mut events = Vec::new();
    let mut arrived = Vec::new();
    let mut out = Vec::new();
    let flush_until = |wire: &mut Wire, pending: &mut BTreeMap<(Instant, u64), (Delivery, usize)>, t: Option<u64>, events: &mut Vec<NetEvent>, arrived: &mut Vec<(Delivery, usize)>| {
        while let Some(entry) = pending.first_entry() {
            if t.is_some_and(|t| entry.key().0 .0 > t) {
                break;
            }
            let (d, i) = entry.remove();
            wire.arrived(&d);
            events.extend(wire.take_events().into_iter().map(NetEvent::Wire));
            arrived.push((d, i));
        }
    };
    for (i, &(from, to, at)) in sends.iter().enumerate() {
        flush_until(wire, &mut pending, Some(at), &mut events, &mut arrived);
        wire.transmit(from, to, Instant(at), choices, &mut out);
        events.extend(wire.take_events().into_iter().map(NetEvent::Wire));
        for d in out.drain(..) {
            pending.insert((d.at, seq), (d, i));
            seq += 1;
        }
    }
    flush_until(wire, &mut pending, None, &mut events, &mut arrived);
    (arrived, events)
}

/// What the channel does to one segment or acknowledgement in the stream tests.
#[derive(Clone, Copy, Debug)]
pub enum Fate {
    /// Arrives after this many ticks (1..).
    Arrive(u64),
    Lose,
    /// Arrives twice, after these many ticks.
    Twice(u64, u64),
}

/// The result of a stream run.
pub struct StreamRun {
    pub delivered: Vec<Vec<u8>>,
    pub sender_idle: bool,
    pub failed: bool,
    pub retransmissions: u64,
}

/// Sends `payloads` over a sender/receiver pair whose channel (both directions) suffers `fates`
/// in turn (then behaves: every later packet arrives after 1 tick). Returns what the receiver
/// delivered. `max_time` bounds the run.
pub fn run_stream(config: StreamConfig, receiver: &mut StreamReceiver, payloads: &[Vec<u8>], fates: &[Fate], max_time: u64) -> StreamRun {
    #[derive(Debug)]
    enum Ev {
        Segment(u64, Vec<u8>),
        Ack(u64),
        Timer(u64),
    }
    let mut sender = StreamSender::new(config);
    let mut queue: BTreeMap<(u64, u64), Ev> = BTreeMap::new();
    let mut seq = 0u64;
    let mut fate_i = 0usize;
    let mut delivered = Vec::new();
    let mut out = Vec::new();
    let mut rout = Vec::new();
    let mut failed = false;
    let mut now = 0u64;
    let next_fate = |fate_i: &mut usize| {
        let f = fates.get(*fate_i).copied().unwrap_or(Fate::Arrive(1));
        *fate_i += 1;
        f
    };
    let push = |queue: &mut BTreeMap<(u64, u64), Ev>, seq: &mut u64, at: u64, ev: Ev| {
        queue.insert((at, *seq), ev);
        *seq += 1;
    };
    for p in payloads {
        // The application queues everything at time 0 (pending beyond the window).
        let _ = sender.send(p.clone(), Instant(0), &mut out);
    }
    loop {
        for o in out.drain(..) {
            match o {
                SenderOutput::Transmit { seq: s, payload, .. } => match next_fate(&mut fate_i) {
                    Fate::Arrive(d) => push(&mut queue, &mut seq, now + d.max(1), Ev::Segment(s, payload)),
                    Fate::Lose => {}
                    Fate::Twice(a, b) => {
                        push(&mut queue, &mut seq, now + a.max(1), Ev::Segment(s, payload.clone()));
                        push(&mut queue, &mut seq, now + b.max(1), Ev::Segment(s, payload));
                    }
                },
                SenderOutput::SetTimer { at, generation } => push(&mut queue, &mut seq, at.0, Ev::Timer(generation)),
                SenderOutput::Failed => failed = true,
            }
        }
        for r in rout.drain(..) {
            match r {
                ReceiverOutput::Deliver { payload, .. } => delivered.push(payload),
                ReceiverOutput::Ack { next_expected } => match next_fate(&mut fate_i) {
                    Fate::Arrive(d) => push(&mut queue, &mut seq, now + d.max(1), Ev::Ack(next_expected)),
                    Fate::Lose => {}
                    Fate::Twice(a, b) => {
                        push(&mut queue, &mut seq, now + a.max(1), Ev::Ack(next_expected));
                        push(&mut queue, &mut seq, now + b.max(1), Ev::Ack(next_expected));
                    }
                },
            }
        }
        let Some(((at, _), ev)) = queue.pop_first() else { break };
        if at > max_time {
            break;
        }
        now = at;
        match ev {
            Ev::Segment(s, p) => receiver.on_segment(s, p, &mut rout),
            Ev::Ack(a) => sender.on_ack(a, Instant(now), &mut out),
            Ev::Timer(g) => sender.on_timer(g, Instant(now), &mut out),
        }
    }
    StreamRun { delivered, sender_idle: sender.is_idle(), failed, retransmissions: sender.retransmissions }
}

pub fn payloads(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("payload {i}").into_bytes()).collect()
}

/// The stream invariant's view of a stream run: `sent` handed to a session of one flow, then
/// `delivered` handed to the receiving application (each named by its position in `sent`).
pub fn stream_events(sent: &[Vec<u8>], delivered: &[Vec<u8>]) -> RuleLog {
    let flow = FlowId::default();
    let mut log = RuleLog::default();
    let mut m = NetMonitor::new(NetFaultPlan::default());
    let node = NodeId(1);
    m.observe(&NetEvent::Session { node, event: SessionEvent::Established { session: SessionId::default(), peer: addr(1), bound: DeviceId(0), role: Role::Responder } }, &mut RuleLog::default());
    for (i, p) in sent.iter().enumerate() {
        m.observe(&NetEvent::Session { node: NodeId(0), event: SessionEvent::DataSent { flow, index: i as u64, digest: payload_digest(p) } }, &mut log);
    }
    for p in delivered {
        let index = sent.iter().position(|s| s == p).map_or(u64::MAX, |i| i as u64);
        m.observe(&NetEvent::Session { node, event: SessionEvent::DataDelivered { flow, index, digest: payload_digest(p) } }, &mut log);
    }
    log
}
