//! The soft-bus service, `dsoftbusd` (seed `001_*`: "DSoftBus distributed networking (discovery,
//! sessions, streams)"; TASK-0003/3B/3C/4/5): discovery, sessions over the reliable stream with
//! the identity-binding handshake, and streams over sessions — one pure state machine per node.
//!
//! Inputs: [`SoftBus::start`], datagrams from the netstack's sockets
//! ([`SoftBus::on_datagram`]), timer firings ([`SoftBus::on_timer`]) and the application's sends
//! ([`SoftBus::send`]). Outputs ([`BusOutput`]): datagrams to send through the netstack, timers to
//! set, notices for the application. Events ([`BusEvent`]): discovery and session records, in
//! the order they happened.
//!
//! A connection is one reliable stream each way (a [`StreamSender`] and a [`StreamReceiver`])
//! identified by the initiator's nonce. Its first messages are the handshake's
//! ([`super::handshake`]); once established, [`SessionMessage::Data`] carries the application's
//! payloads: each numbered per flow (`index`), tagged with a stream id (streams are multiplexed
//! over the session's one ordered channel, so each stream is in order too). What a session hands
//! the application is exactly what the receiver delivers, in order, once
//! (`net.stream_in_order_exactly_once`).
//!
//! Choices where the seeds are silent:
//! - of two discovered peers, the one with the lower address initiates (one session per pair, no
//!   simultaneous-open race); the other waits;
//! - a segment for a connection this node does not know opens a new (responder) connection if it
//!   is sequence 0 and is otherwise answered with `Reset`, which closes the peer's side (a
//!   restarted node tells its peers at once that their sessions are gone); a newer connection from
//!   the same peer supersedes the older;
//! - the initiator reconnects `reconnect_after_ns` after a session ends — unless the peer proved
//!   another identity (either end's `IdentityMismatch`): that address is not called again;
//! - a rejecting end keeps the connection until its `Reject` is acknowledged (so the peer learns
//!   of it), delivering nothing more on it;
//! - payloads the application handed a session that ended are not carried over to the next one:
//!   `Closed.undelivered` counts them, the application decides.

use super::discovery::{AnnounceOutcome, Discovery, PeerTable};
use super::frame::{BusFrame, SessionMessage};
use super::handshake::{Handshake, HandshakeState};
use crate::bugs::BugSet;
use crate::net::events::{CloseReason, DeviceId, DiscoveryEvent, FlowId, Nonce, RejectReason, Role, SessionEvent, SessionId};
use crate::net::packet::{Endpoint, Ipv4Address, PacketProtocol};
use crate::net::payload_digest;
use crate::net::stream::{ReceiverOutput, SenderOutput, StreamConfig, StreamError, StreamReceiver, StreamSender};
use crate::time::{Duration, Instant};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// The soft-bus's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoftBusConfig {
    pub discovery_port: u16,
    pub session_port: u16,
    pub announce_interval_ns: u64,
    pub reconnect_after_ns: u64,
    pub stream: StreamConfig,
}

impl Default for SoftBusConfig {
    fn default() -> Self {
        SoftBusConfig { discovery_port: 37020, session_port: 37021, announce_interval_ns: Duration::from_millis(500).0, reconnect_after_ns: Duration::from_millis(1000).0, stream: StreamConfig::default() }
    }
}

/// A timer the soft-bus asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BusTimer {
    /// Broadcast the next announce.
    Announce,
    /// A connection's retransmission timer.
    Stream { conn: Nonce, generation: u64 },
    /// Call this peer again.
    Reconnect { peer: Ipv4Address },
}

/// What the soft-bus tells its application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppNotice {
    SessionUp { session: SessionId, peer: Ipv4Address, device: DeviceId },
    Data { session: SessionId, peer: Ipv4Address, stream: u32, payload: Vec<u8> },
    SessionDown { session: SessionId, peer: Ipv4Address, reason: CloseReason },
}

/// What the soft-bus asks of its surroundings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusOutput {
    /// Send a datagram from the soft-bus's socket on `from_port`.
    Send { from_port: u16, to: Endpoint, protocol: PacketProtocol, payload: Vec<u8> },
    SetTimer { at: Instant, timer: BusTimer },
    App(AppNotice),
}

/// A soft-bus record, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusEvent {
    Discovery(DiscoveryEvent),
    Session(SessionEvent),
}

/// Why the application could not send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No established session with that id.
    NoSession(SessionId),
    Stream(StreamError),
}

#[derive(Clone, Debug)]
struct Connection {
    peer: Endpoint,
    handshake: Handshake,
    sender: StreamSender,
    receiver: StreamReceiver,
    /// Payloads this end's application sent on the session so far.
    sent_index: u64,
    /// The application was told the session is up.
    up: bool,
    /// Rejected by this end: kept only until the `Reject` is acknowledged.
    closing: bool,
}

/// The incarnation of the peer a connection talks to, once known.
fn peer_incarnation(c: &Connection) -> Option<u32> {
    let session = c.handshake.session()?;
    Some(match c.handshake.role() {
        Role::Initiator => session.responder.incarnation,
        Role::Responder => session.initiator.incarnation,
    })
}

/// One node's soft-bus.
#[derive(Clone, Debug)]
pub struct SoftBus {
    config: SoftBusConfig,
    address: Ipv4Address,
    device: DeviceId,
    incarnation: u32,
    discovery: Discovery,
    conns: BTreeMap<Nonce, Connection>,
    /// The live connection with each peer.
    current: BTreeMap<Ipv4Address, Nonce>,
    /// Peers that proved another identity: never called again.
    blocked: BTreeSet<Ipv4Address>,
    serial: u32,
    events: Vec<BusEvent>,
    bugs: BugSet,
    /// Datagrams that did not decode, or did not fit the protocol.
    pub malformed: u64,
}

impl SoftBus {
    /// The soft-bus of a node at `address` whose identity is `device`, in its `incarnation`.
    pub fn new(config: SoftBusConfig, address: Ipv4Address, device: DeviceId, incarnation: u32, bugs: BugSet) -> Self {
        SoftBus {
            config,
            address,
            device,
            incarnation,
            discovery: Discovery::new(address, device, incarnation, config.session_port),
            conns: BTreeMap::new(),
            current: BTreeMap::new(),
            blocked: BTreeSet::new(),
            serial: 0,
            events: Vec::new(),
            bugs,
            malformed: 0,
        }
    }

    /// An impostor: announces `claimed` at discovery (it can still only prove its own identity).
    pub fn announcing_as(mut self, claimed: DeviceId) -> Self {
        self.discovery = Discovery::new(self.address, claimed, self.incarnation, self.config.session_port);
        self
    }

    pub fn config(&self) -> &SoftBusConfig {
        &self.config
    }

    pub fn address(&self) -> Ipv4Address {
        self.address
    }

    pub fn peers(&self) -> &PeerTable {
        self.discovery.table()
    }

    /// The established sessions with their peers, in connection order.
    pub fn sessions(&self) -> impl Iterator<Item = (SessionId, Ipv4Address)> + '_ {
        self.conns.values().filter(|c| c.handshake.is_established() && !c.closing).filter_map(|c| Some((c.handshake.session()?, c.peer.address)))
    }

    /// Takes the records so far.
    pub fn take_events(&mut self) -> Vec<BusEvent> {
        core::mem::take(&mut self.events)
    }

    /// Starts: the first announce, and the timer for the next.
    pub fn start(&mut self, now: Instant, out: &mut Vec<BusOutput>) {
        self.announce(now, out);
    }

    /// A timer fired.
    pub fn on_timer(&mut self, now: Instant, timer: BusTimer, out: &mut Vec<BusOutput>) {
        match timer {
            BusTimer::Announce => self.announce(now, out),
            BusTimer::Stream { conn, generation } => {
                let mut stream_out = Vec::new();
                let Some(c) = self.conns.get_mut(&conn) else { return };
                c.sender.on_timer(generation, now, &mut stream_out);
                self.sender_outputs(conn, stream_out, now, out);
            }
            BusTimer::Reconnect { peer } => {
                if !self.current.contains_key(&peer) {
                    self.connect(peer, now, out);
                }
            }
        }
    }

    /// A datagram arrived on one of the soft-bus's sockets.
    pub fn on_datagram(&mut self, now: Instant, from: Endpoint, payload: &[u8], out: &mut Vec<BusOutput>) {
        match BusFrame::decode(payload) {
            Ok(BusFrame::Announce { device, incarnation, session_port }) => self.on_announce(now, from, device, incarnation, session_port, out),
            Ok(BusFrame::Segment { conn, seq, payload }) => self.on_segment(now, from, conn, seq, payload, out),
            Ok(BusFrame::Ack { conn, next_expected }) => {
                let mut stream_out = Vec::new();
                let Some(c) = self.conns.get_mut(&conn) else { return };
                c.sender.on_ack(next_expected, now, &mut stream_out);
                self.sender_outputs(conn, stream_out, now, out);
                self.drop_if_done(conn);
            }
            Ok(BusFrame::Reset { conn }) => {
                if self.conns.get(&conn).is_some_and(|c| c.peer.address == from.address) {
                    self.close(conn, CloseReason::Reset, now, out);
                }
            }
            Err(_) => self.malformed += 1,
        }
    }

    /// The application sends `payload` on `stream` of an established session.
    pub fn send(&mut self, now: Instant, session: SessionId, stream: u32, payload: Vec<u8>, out: &mut Vec<BusOutput>) -> Result<(), SendError> {
        let conn = session.initiator;
        let c = self.conns.get_mut(&conn).filter(|c| c.handshake.session() == Some(session) && c.handshake.is_established() && !c.closing).ok_or(SendError::NoSession(session))?;
        let index = c.sent_index;
        let digest = payload_digest(&payload);
        let mut stream_out = Vec::new();
        c.sender.send(SessionMessage::Data { stream, index, payload }.encode(), now, &mut stream_out).map_err(SendError::Stream)?;
        c.sent_index += 1;
        self.events.push(BusEvent::Session(SessionEvent::DataSent { flow: FlowId { session, sender: self.address }, index, digest }));
        self.sender_outputs(conn, stream_out, now, out);
        Ok(())
    }

    fn announce(&mut self, now: Instant, out: &mut Vec<BusOutput>) {
        let mut ev = Vec::new();
        let (device, incarnation, session_port) = self.discovery.announce(&mut ev);
        self.events.extend(ev.into_iter().map(BusEvent::Discovery));
        let payload = BusFrame::Announce { device, incarnation, session_port }.encode();
        out.push(BusOutput::Send { from_port: self.config.discovery_port, to: Endpoint::new(Ipv4Address::BROADCAST, self.config.discovery_port), protocol: PacketProtocol::Udp, payload });
        out.push(BusOutput::SetTimer { at: now.after(Duration(self.config.announce_interval_ns)), timer: BusTimer::Announce });
    }

    fn on_announce(&mut self, now: Instant, from: Endpoint, device: DeviceId, incarnation: u32, session_port: u16, out: &mut Vec<BusOutput>) {
        let mut ev = Vec::new();
        let outcome = self.discovery.on_announce(from.address, device, incarnation, session_port, &mut ev);
        self.events.extend(ev.into_iter().map(BusEvent::Discovery));
        match outcome {
            AnnounceOutcome::Discovered => self.connect(from.address, now, out),
            AnnounceOutcome::Restarted => {
                // Only a connection with an older incarnation of the peer is stale.
                let stale = self.current.get(&from.address).copied().filter(|conn| self.conns.get(conn).and_then(peer_incarnation).is_some_and(|i| i < incarnation));
                if let Some(conn) = stale {
                    self.close(conn, CloseReason::PeerRestarted, now, out);
                }
                self.connect(from.address, now, out);
            }
            AnnounceOutcome::Known | AnnounceOutcome::Conflict | AnnounceOutcome::Own => {}
        }
    }

    /// Opens a connection to `peer` if this node is the one that initiates and none is live.
    fn connect(&mut self, peer: Ipv4Address, now: Instant, out: &mut Vec<BusOutput>) {
        if peer <= self.address || self.blocked.contains(&peer) || self.current.contains_key(&peer) {
            return;
        }
        let Some(entry) = self.discovery.table().get(peer).copied() else { return };
        let conn = self.mint();
        let (handshake, init) = Handshake::initiate(conn, peer, self.device, self.bugs);
        let c = Connection { peer: Endpoint::new(peer, entry.session_port), handshake, sender: StreamSender::new(self.config.stream), receiver: StreamReceiver::with_bugs(self.config.stream, self.bugs), sent_index: 0, up: false, closing: false };
        self.conns.insert(conn, c);
        self.current.insert(peer, conn);
        self.events.push(BusEvent::Session(SessionEvent::Connecting { conn, peer }));
        self.stream_send(conn, init, now, out);
    }

    fn mint(&mut self) -> Nonce {
        let n = Nonce { origin: self.address, incarnation: self.incarnation, serial: self.serial };
        self.serial += 1;
        n
    }

    fn on_segment(&mut self, now: Instant, from: Endpoint, conn: Nonce, seq: u64, payload: Vec<u8>, out: &mut Vec<BusOutput>) {
        if !self.conns.contains_key(&conn) {
            if seq != 0 || conn.origin != from.address || self.is_stale(conn) {
                out.push(self.transport(from, BusFrame::Reset { conn }));
                return;
            }
            self.accept(conn, from, now, out);
        }
        let c = self.conns.get_mut(&conn).expect("known or just accepted");
        if c.peer.address != from.address {
            self.malformed += 1;
            return;
        }
        let peer = c.peer;
        let mut received = Vec::new();
        c.receiver.on_segment(seq, payload, &mut received);
        for r in received {
            match r {
                // Acknowledged even if the message just closed the connection, so the peer's
                // stream stops retransmitting it.
                ReceiverOutput::Ack { next_expected } => out.push(self.transport(peer, BusFrame::Ack { conn, next_expected })),
                ReceiverOutput::Deliver { payload, .. } => {
                    if self.conns.contains_key(&conn) {
                        self.on_message(conn, &payload, now, out);
                    }
                }
            }
        }
    }

    /// Whether `conn` (from its initiator) is older than the live connection with that peer.
    fn is_stale(&self, conn: Nonce) -> bool {
        self.current.get(&conn.origin).is_some_and(|live| live.origin == conn.origin && *live > conn)
    }

    /// A new connection from `from`, this node responding.
    fn accept(&mut self, conn: Nonce, from: Endpoint, now: Instant, out: &mut Vec<BusOutput>) {
        if let Some(old) = self.current.get(&from.address).copied() {
            self.close(old, CloseReason::Superseded, now, out);
        }
        let responder = self.mint();
        let handshake = Handshake::respond(conn, responder, from.address, self.device, self.bugs);
        let c = Connection { peer: from, handshake, sender: StreamSender::new(self.config.stream), receiver: StreamReceiver::with_bugs(self.config.stream, self.bugs), sent_index: 0, up: false, closing: false };
        self.conns.insert(conn, c);
        self.current.insert(from.address, conn);
    }

    /// A message delivered in order by a connection's stream.
    fn on_message(&mut self, conn: Nonce, bytes: &[u8], now: Instant, out: &mut Vec<BusOutput>) {
        let Ok(message) = SessionMessage::decode(bytes) else {
            self.malformed += 1;
            return;
        };
        let c = self.conns.get_mut(&conn).expect("caller checked");
        if c.closing {
            return;
        }
        if let (SessionMessage::Data { stream, index, payload }, true) = (&message, c.handshake.is_established()) {
            let session = c.handshake.session().expect("established");
            let peer = c.peer.address;
            self.events.push(BusEvent::Session(SessionEvent::DataDelivered { flow: FlowId { session, sender: peer }, index: *index, digest: payload_digest(payload) }));
            out.push(BusOutput::App(AppNotice::Data { session, peer, stream: *stream, payload: payload.clone() }));
            return;
        }
        let learnt = self.discovery.table().device(c.peer.address);
        let mut ev = Vec::new();
        let step = c.handshake.on_message(&message, learnt, &mut ev);
        let (state, session, peer) = (c.handshake.state(), c.handshake.session(), c.peer.address);
        self.events.extend(ev.into_iter().map(BusEvent::Session));
        if step.unexpected {
            self.malformed += 1;
        }
        if let Some(reply) = step.reply {
            self.stream_send(conn, reply, now, out);
        }
        if step.established {
            if let (Some(session), HandshakeState::Established { bound }) = (session, state) {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.up = true;
                }
                out.push(BusOutput::App(AppNotice::SessionUp { session, peer, device: bound }));
            }
        }
        match state {
            HandshakeState::Rejected(reason) if step.refused => {
                if reason == RejectReason::IdentityMismatch {
                    self.blocked.insert(peer);
                }
                self.close(conn, CloseReason::Rejected, now, out);
            }
            HandshakeState::RejectedByPeer(reason) if step.refused => {
                if reason == RejectReason::IdentityMismatch {
                    self.blocked.insert(peer);
                }
                self.close(conn, CloseReason::RejectedByPeer, now, out);
            }
            _ => {}
        }
    }

    fn stream_send(&mut self, conn: Nonce, message: SessionMessage, now: Instant, out: &mut Vec<BusOutput>) {
        let mut stream_out = Vec::new();
        let Some(c) = self.conns.get_mut(&conn) else { return };
        // The handshake's messages are few and come first: the pending queue always has room.
        let _ = c.sender.send(message.encode(), now, &mut stream_out);
        self.sender_outputs(conn, stream_out, now, out);
    }

    fn sender_outputs(&mut self, conn: Nonce, outputs: Vec<SenderOutput>, now: Instant, out: &mut Vec<BusOutput>) {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer) else { return };
        for o in outputs {
            match o {
                SenderOutput::Transmit { seq, payload, .. } => out.push(self.transport(peer, BusFrame::Segment { conn, seq, payload })),
                SenderOutput::SetTimer { at, generation } => out.push(BusOutput::SetTimer { at, timer: BusTimer::Stream { conn, generation } }),
                SenderOutput::Failed => {
                    let closing = self.conns.get(&conn).is_some_and(|c| c.closing);
                    if closing {
                        self.conns.remove(&conn);
                    } else {
                        self.close(conn, CloseReason::StreamFailed, now, out);
                    }
                    return;
                }
            }
        }
    }

    fn transport(&self, to: Endpoint, frame: BusFrame) -> BusOutput {
        BusOutput::Send { from_port: self.config.session_port, to, protocol: PacketProtocol::Tcp, payload: frame.encode() }
    }

    /// Ends a connection: records it, tells the application, and (as initiator) plans a reconnect.
    fn close(&mut self, conn: Nonce, reason: CloseReason, now: Instant, out: &mut Vec<BusOutput>) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.closing {
            return;
        }
        let (peer, session, was_up, role) = (c.peer.address, c.handshake.session(), c.up, c.handshake.role());
        self.events.push(BusEvent::Session(SessionEvent::Closed { conn, session, peer, reason, undelivered: c.sender.undelivered() }));
        if self.current.get(&peer) == Some(&conn) {
            self.current.remove(&peer);
        }
        if reason == CloseReason::Rejected {
            c.closing = true;
        } else {
            self.conns.remove(&conn);
        }
        if let (true, Some(session)) = (was_up, session) {
            out.push(BusOutput::App(AppNotice::SessionDown { session, peer, reason }));
        }
        if role == Role::Initiator && !self.blocked.contains(&peer) && reason != CloseReason::Superseded {
            out.push(BusOutput::SetTimer { at: now.after(Duration(self.config.reconnect_after_ns)), timer: BusTimer::Reconnect { peer } });
        }
    }

    /// A rejecting connection whose `Reject` was acknowledged is gone.
    fn drop_if_done(&mut self, conn: Nonce) {
        if self.conns.get(&conn).is_some_and(|c| c.closing && c.sender.is_idle()) {
            self.conns.remove(&conn);
        }
    }
}
