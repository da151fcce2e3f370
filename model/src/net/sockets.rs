//! The sockets-style facade a netstack exports over IPC (seed `001_*`: `netstackd` "exports IPC
//! sockets facade", RFC-0006 "Userspace Networking v1 (sockets facade)"; `netstackd-lite` offers
//! the same to `echod` and `fetchd`).
//!
//! A client sends a [`SocketRequest`] in a message and gets a [`SocketResponse`] back; the
//! netstack keeps a [`SocketTable`]. Rules kept here:
//! - a socket belongs to the identity that bound it; only that identity may send, receive on or
//!   close it (`NotOwner` otherwise) — the facade is the capability boundary, and the owner is the
//!   identity charged for the socket's packets;
//! - one socket per (port, protocol); port 0 asks for an ephemeral port (the lowest free one from
//!   [`SocketTable::EPHEMERAL_FIRST`] up, so the choice is deterministic);
//! - each socket holds at most [`SocketTable::MAX_QUEUED_DATAGRAMS`] received datagrams; more are
//!   dropped and counted.
//!
//! Choice where the seeds are silent: the facade is datagram-shaped (`SendTo` / `Recv`); the
//! reliable stream the canonical soft-bus needs runs in the soft-bus over these datagrams
//! ([`super::stream`]), so one module holds the stream's rules whichever service hosts it.

use super::packet::{Endpoint, PacketProtocol};
use crate::ids::ExecutionId;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A socket of one netstack (a counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SocketId(pub u64);

/// A request over IPC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocketRequest {
    /// Bind a socket to a local port (0 = any free port).
    Bind { port: u16, protocol: PacketProtocol },
    /// Send a datagram from the socket to `to`.
    SendTo { socket: SocketId, to: Endpoint, payload: Vec<u8> },
    /// Take the oldest datagram received on the socket, if any.
    Recv { socket: SocketId },
    Close { socket: SocketId },
}

/// The answer to a [`SocketRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocketResponse {
    Bound { socket: SocketId, port: u16 },
    Sent,
    Datagram(Option<Datagram>),
    Closed,
    Error(SocketError),
}

/// A datagram as a socket hands it out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Datagram {
    pub from: Endpoint,
    pub to: Endpoint,
    pub payload: Vec<u8>,
}

/// Why a socket request failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocketError {
    PortInUse(u16),
    NoFreePort,
    UnknownSocket(SocketId),
    NotOwner(SocketId),
    /// The netstack has no route to that address (the lite netstack is loopback only).
    Unreachable(Endpoint),
    /// The packet service refused the packet (policy, budget or a full queue), with its message.
    Refused(alloc::string::String),
}

impl fmt::Display for SocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketError::PortInUse(p) => write!(f, "port {p} is in use"),
            SocketError::NoFreePort => f.write_str("no free port"),
            SocketError::UnknownSocket(s) => write!(f, "no socket {}", s.0),
            SocketError::NotOwner(s) => write!(f, "socket {} belongs to another identity", s.0),
            SocketError::Unreachable(e) => write!(f, "no route to {e}"),
            SocketError::Refused(why) => write!(f, "refused: {why}"),
        }
    }
}

#[derive(Clone, Debug)]
struct Socket {
    owner: ExecutionId,
    port: u16,
    protocol: PacketProtocol,
    queue: VecDeque<Datagram>,
}

/// The sockets of one netstack.
#[derive(Clone, Debug, Default)]
pub struct SocketTable {
    sockets: BTreeMap<SocketId, Socket>,
    by_port: BTreeMap<(u16, PacketProtocol), SocketId>,
    next: u64,
    /// Datagrams dropped because their socket's queue was full.
    pub overflowed: u64,
}

impl SocketTable {
    pub const EPHEMERAL_FIRST: u16 = 49152;
    pub const MAX_QUEUED_DATAGRAMS: usize = 256;

    pub fn new() -> Self {
        Self::default()
    }

    /// Binds a socket for `owner`.
    pub fn bind(&mut self, owner: ExecutionId, port: u16, protocol: PacketProtocol) -> Result<(SocketId, u16), SocketError> {
        let port = if port == 0 {
            (Self::EPHEMERAL_FIRST..=u16::MAX).find(|p| !self.by_port.contains_key(&(*p, protocol))).ok_or(SocketError::NoFreePort)?
        } else {
            port
        };
        if self.by_port.contains_key(&(port, protocol)) {
            return Err(SocketError::PortInUse(port));
        }
        let id = SocketId(self.next);
        self.next += 1;
        self.sockets.insert(id, Socket { owner, port, protocol, queue: VecDeque::new() });
        self.by_port.insert((port, protocol), id);
        Ok((id, port))
    }

    /// The socket's port and protocol, if `caller` owns it.
    pub fn owned(&self, caller: ExecutionId, socket: SocketId) -> Result<(u16, PacketProtocol), SocketError> {
        let s = self.sockets.get(&socket).ok_or(SocketError::UnknownSocket(socket))?;
        if s.owner != caller {
            return Err(SocketError::NotOwner(socket));
        }
        Ok((s.port, s.protocol))
    }

    /// The socket bound to a port, with its owner.
    pub fn bound_to(&self, port: u16, protocol: PacketProtocol) -> Option<(SocketId, ExecutionId)> {
        let id = *self.by_port.get(&(port, protocol))?;
        Some((id, self.sockets[&id].owner))
    }

    /// Queues a received datagram; false if the queue was full (the datagram is dropped).
    pub fn push(&mut self, socket: SocketId, datagram: Datagram) -> bool {
        let Some(s) = self.sockets.get_mut(&socket) else { return false };
        if s.queue.len() >= Self::MAX_QUEUED_DATAGRAMS {
            self.overflowed += 1;
            return false;
        }
        s.queue.push_back(datagram);
        true
    }

    /// The oldest datagram of a socket `caller` owns.
    pub fn recv(&mut self, caller: ExecutionId, socket: SocketId) -> Result<Option<Datagram>, SocketError> {
        self.owned(caller, socket)?;
        Ok(self.sockets.get_mut(&socket).and_then(|s| s.queue.pop_front()))
    }

    pub fn close(&mut self, caller: ExecutionId, socket: SocketId) -> Result<(), SocketError> {
        let (port, protocol) = self.owned(caller, socket)?;
        self.sockets.remove(&socket);
        self.by_port.remove(&(port, protocol));
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn sockets_belong_to_their_binder() {
        let (a, b) = (ExecutionId(1), ExecutionId(2));
        let mut t = SocketTable::new();
        let (s, port) = t.bind(a, 7, PacketProtocol::Udp).unwrap();
        assert_eq!(port, 7);
        assert_eq!(t.bind(b, 7, PacketProtocol::Udp), Err(SocketError::PortInUse(7)));
        assert!(t.bind(b, 7, PacketProtocol::Tcp).is_ok(), "ports are per protocol");
        assert_eq!(t.recv(b, s), Err(SocketError::NotOwner(s)));
        assert_eq!(t.close(b, s), Err(SocketError::NotOwner(s)));
        let (e1, p1) = t.bind(b, 0, PacketProtocol::Udp).unwrap();
        let (_, p2) = t.bind(b, 0, PacketProtocol::Udp).unwrap();
        assert_eq!((p1, p2), (SocketTable::EPHEMERAL_FIRST, SocketTable::EPHEMERAL_FIRST + 1));
        let d = Datagram { from: Endpoint::default(), to: Endpoint::default(), payload: vec![1] };
        for _ in 0..SocketTable::MAX_QUEUED_DATAGRAMS {
            assert!(t.push(e1, d.clone()));
        }
        assert!(!t.push(e1, d.clone()));
        assert_eq!(t.overflowed, 1);
        assert_eq!(t.recv(b, e1), Ok(Some(d)));
        t.close(a, s).unwrap();
        assert_eq!(t.bound_to(7, PacketProtocol::Udp), None);
        assert_eq!(t.recv(a, s), Err(SocketError::UnknownSocket(s)));
    }
}
