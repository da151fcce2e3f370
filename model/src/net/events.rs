//! The networking event stream: every networking module's events, attributed to the node that
//! recorded them ([`NetEvent`]), plus the identifiers the soft-bus uses. The `net.*` checkers
//! ([`super::checks`]) read this stream; every event has a fixed binary form for the trace hash
//! (`Fold`, a stable tag per variant).
//!
//! The soft-bus events are defined here rather than in `canonical` so the stream (and its tags)
//! is the same whichever networking path a build selects.
//!
//! Identifiers (choices where the seeds are silent):
//! - [`DeviceId`]: a node's device identity — what the seed's Noise XK handshake proves with a
//!   static key. Modelled as a number: a node can only ever present its own (no cryptography is
//!   modelled, only the protocol states and the binding check);
//! - [`Nonce`]: unique per node incarnation: the node's address, its incarnation (restart count)
//!   and a serial number;
//! - [`SessionId`]: the initiator's and the responder's nonces, so it is unique in the run;
//! - [`FlowId`]: one direction of a session (the session and the sending address).

use super::packet::{Ipv4Address, Ipv4Cidr};
use super::service::PacketServiceEvent;
use super::topology::NodeId;
use super::wire::WireEvent;
use crate::trace_hash::{Fold, TraceHasher};
use core::fmt;
use serde::{Deserialize, Serialize};

/// A node's device identity (what its handshake proves).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(transparent)]
pub struct DeviceId(pub u64);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "device#{}", self.0)
    }
}

/// A number used once: unique to a node incarnation and a serial.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Nonce {
    pub origin: Ipv4Address,
    pub incarnation: u32,
    pub serial: u32,
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}~{}#{}", self.origin, self.incarnation, self.serial)
    }
}

/// A session: both ends' nonces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionId {
    pub initiator: Nonce,
    pub responder: Nonce,
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session({} / {})", self.initiator, self.responder)
    }
}

/// One direction of a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FlowId {
    pub session: SessionId,
    pub sender: Ipv4Address,
}

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} from {}", self.session, self.sender)
    }
}

/// Which end of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Initiator,
    Responder,
}

/// Why a handshake refused the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RejectReason {
    /// The peer proved another identity than the one learnt at discovery for its address.
    IdentityMismatch,
    /// Nothing was learnt at discovery for the peer's address.
    UnknownPeer,
}

/// Why a session (or a connection still in its handshake) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CloseReason {
    /// The reliable stream gave up (no acknowledgement for too long).
    StreamFailed,
    /// This end rejected the peer in the handshake.
    Rejected,
    /// The peer rejected this end.
    RejectedByPeer,
    /// The peer did not know the connection (it restarted).
    Reset,
    /// Discovery saw the peer come back as a new incarnation.
    PeerRestarted,
    /// A newer connection with the same peer replaced it.
    Superseded,
}

/// What discovery records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiscoveryEvent {
    /// This node announced itself (broadcast).
    Announced { incarnation: u32 },
    /// An address was learnt, with the identity it announced.
    PeerDiscovered { address: Ipv4Address, device: DeviceId },
    /// A known peer announced a new incarnation.
    PeerRestarted { address: Ipv4Address, device: DeviceId, incarnation: u32 },
    /// An announce claimed another identity for a known address; it was ignored.
    AnnounceConflict { address: Ipv4Address, known: DeviceId, claimed: DeviceId },
}

/// What the soft-bus records about sessions (the handshake audit included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionEvent {
    /// This node opened a connection to a peer (as initiator).
    Connecting { conn: Nonce, peer: Ipv4Address },
    /// The binding check: the identity the peer proved against the one learnt at discovery.
    IdentityChecked { session: SessionId, peer: Ipv4Address, expected: Option<DeviceId>, presented: DeviceId, passed: bool },
    /// The audit record of a refused peer.
    HandshakeRejected { session: SessionId, peer: Ipv4Address, expected: Option<DeviceId>, presented: DeviceId, reason: RejectReason },
    /// The session is up, bound to `bound`.
    Established { session: SessionId, peer: Ipv4Address, bound: DeviceId, role: Role },
    /// The application handed the session payload number `index` of this flow.
    DataSent { flow: FlowId, index: u64, digest: u64 },
    /// The session handed the application payload number `index` of this flow.
    DataDelivered { flow: FlowId, index: u64, digest: u64 },
    /// The connection ended; `undelivered` payloads this end sent were never acknowledged.
    Closed { conn: Nonce, session: Option<SessionId>, peer: Ipv4Address, reason: CloseReason, undelivered: u64 },
}

/// What the bring-up lite services record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiteEvent {
    /// The DHCP stub asked for a lease (attempt number).
    DhcpDiscover { attempt: u32 },
    /// A lease was bound.
    DhcpBound { cidr: Ipv4Cidr },
    /// No lease came: the documented fallback address is used.
    DhcpFallback { cidr: Ipv4Cidr },
    /// `echod` echoed a datagram of `len` bytes.
    Echoed { len: u32 },
    /// `fetchd` finished request `id` with a status (0 = timed out).
    Fetched { id: u64, status: u16, attempts: u32 },
}

/// One networking event, attributed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetEvent {
    Packet { node: NodeId, event: PacketServiceEvent },
    Wire(WireEvent),
    Discovery { node: NodeId, event: DiscoveryEvent },
    Session { node: NodeId, event: SessionEvent },
    Lite { node: NodeId, event: LiteEvent },
    NodeCrashed { node: NodeId },
    NodeRestarted { node: NodeId, incarnation: u32 },
}

impl Fold for Ipv4Address {
    fn fold(&self, h: &mut TraceHasher) {
        h.word(u64::from(self.to_u32()));
    }
}

impl Fold for Nonce {
    fn fold(&self, h: &mut TraceHasher) {
        h.word((u64::from(self.origin.to_u32()) << 32) | u64::from(self.incarnation));
        h.word(u64::from(self.serial));
    }
}

impl Fold for SessionId {
    fn fold(&self, h: &mut TraceHasher) {
        self.initiator.fold(h);
        self.responder.fold(h);
    }
}

impl Fold for FlowId {
    fn fold(&self, h: &mut TraceHasher) {
        self.session.fold(h);
        self.sender.fold(h);
    }
}

fn fold_device(h: &mut TraceHasher, d: Option<DeviceId>) {
    h.word(d.map_or(0, |d| d.0.wrapping_add(1)));
}

impl Fold for DiscoveryEvent {
    fn fold(&self, h: &mut TraceHasher) {
        match *self {
            DiscoveryEvent::Announced { incarnation } => h.tag(0, u64::from(incarnation)),
            DiscoveryEvent::PeerDiscovered { address, device } => {
                h.tag(1, 0);
                address.fold(h);
                h.word(device.0);
            }
            DiscoveryEvent::PeerRestarted { address, device, incarnation } => {
                h.tag(2, u64::from(incarnation));
                address.fold(h);
                h.word(device.0);
            }
            DiscoveryEvent::AnnounceConflict { address, known, claimed } => {
                h.tag(3, 0);
                address.fold(h);
                h.word(known.0);
                h.word(claimed.0);
            }
        }
    }
}

impl Fold for SessionEvent {
    fn fold(&self, h: &mut TraceHasher) {
        use SessionEvent as E;
        match *self {
            E::Connecting { conn, peer } => {
                h.tag(0, 0);
                conn.fold(h);
                peer.fold(h);
            }
            E::IdentityChecked { session, peer, expected, presented, passed } => {
                h.tag(1, u64::from(passed));
                session.fold(h);
                peer.fold(h);
                fold_device(h, expected);
                h.word(presented.0);
            }
            E::HandshakeRejected { session, peer, expected, presented, reason } => {
                h.tag(2, reason as u64);
                session.fold(h);
                peer.fold(h);
                fold_device(h, expected);
                h.word(presented.0);
            }
            E::Established { session, peer, bound, role } => {
                h.tag(3, role as u64);
                session.fold(h);
                peer.fold(h);
                h.word(bound.0);
            }
            E::DataSent { flow, index, digest } => {
                h.tag(4, 0);
                flow.fold(h);
                h.word(index);
                h.word(digest);
            }
            E::DataDelivered { flow, index, digest } => {
                h.tag(5, 0);
                flow.fold(h);
                h.word(index);
                h.word(digest);
            }
            E::Closed { conn, session, peer, reason, undelivered } => {
                h.tag(6, reason as u64);
                conn.fold(h);
                session.fold(h);
                peer.fold(h);
                h.word(undelivered);
            }
        }
    }
}

impl Fold for Ipv4Cidr {
    fn fold(&self, h: &mut TraceHasher) {
        h.word((u64::from(self.address.to_u32()) << 8) | u64::from(self.prefix_len));
    }
}

impl Fold for LiteEvent {
    fn fold(&self, h: &mut TraceHasher) {
        match *self {
            LiteEvent::DhcpDiscover { attempt } => h.tag(0, u64::from(attempt)),
            LiteEvent::DhcpBound { cidr } => {
                h.tag(1, 0);
                cidr.fold(h);
            }
            LiteEvent::DhcpFallback { cidr } => {
                h.tag(2, 0);
                cidr.fold(h);
            }
            LiteEvent::Echoed { len } => h.tag(3, u64::from(len)),
            LiteEvent::Fetched { id, status, attempts } => {
                h.tag(4, u64::from(status));
                h.word(id);
                h.word(u64::from(attempts));
            }
        }
    }
}

impl Fold for NetEvent {
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            NetEvent::Packet { node, event } => {
                h.tag(0, u64::from(node.0));
                event.fold(h);
            }
            NetEvent::Wire(event) => {
                h.tag(1, 0);
                event.fold(h);
            }
            NetEvent::Discovery { node, event } => {
                h.tag(2, u64::from(node.0));
                event.fold(h);
            }
            NetEvent::Session { node, event } => {
                h.tag(3, u64::from(node.0));
                event.fold(h);
            }
            NetEvent::Lite { node, event } => {
                h.tag(4, u64::from(node.0));
                event.fold(h);
            }
            NetEvent::NodeCrashed { node } => h.tag(5, u64::from(node.0)),
            NetEvent::NodeRestarted { node, incarnation } => {
                h.tag(6, u64::from(node.0));
                h.word(u64::from(*incarnation));
            }
        }
    }
}
