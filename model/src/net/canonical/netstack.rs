//! The canonical netstack service, `netstackd` (seed `001_*`: "smoltcp-based, owns virtio-net
//! MMIO, exports IPC sockets facade"): one node's sockets over its wire interface, every packet
//! through the packet service.
//!
//! Requests come in as [`SocketRequest`]s (over IPC, once wired); a `SendTo` becomes a [`Packet`]
//! from the node's address and the socket's port, sent with the socket owner's identity
//! ([`PacketService::send_packet`]: policy, budget, then the packet waits for the wire). Packets
//! from the wire wait in the interface's receive queue until [`Netstack::poll`] takes each one for
//! the socket bound to its destination port — with that socket owner's identity
//! ([`PacketService::receive_packet`]) — or discards it: no socket is bound there, it is not for
//! this node, or the policy or the owner's budget refused it.
//!
//! Choice where the seed is silent: the facade is datagram sockets; the soft-bus builds its
//! reliable stream on them (see [`crate::net::sockets`]).

use crate::budget::enforcement::ResourceLedger;
use crate::bugs::BugSet;
use crate::ids::ExecutionId;
use crate::net::packet::{Endpoint, Ipv4Address, NetworkInterfaceId, Packet};
use crate::net::policy::NetworkPolicy;
use crate::net::service::{InterfaceKind, PacketService, PacketServiceEvent};
use crate::net::sockets::{Datagram, SocketError, SocketRequest, SocketResponse, SocketTable};
use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec::Vec;

/// Why an inbound packet was discarded, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InboundDrops {
    /// Not for this node's address (nor broadcast).
    pub not_for_us: u64,
    /// No socket bound to its port and protocol.
    pub no_listener: u64,
    /// The policy or the socket owner's budget refused it.
    pub refused: u64,
    /// The socket's queue was full.
    pub overflow: u64,
}

/// One node's netstack.
#[derive(Debug)]
pub struct Netstack {
    address: Ipv4Address,
    interface: NetworkInterfaceId,
    service: PacketService,
    sockets: SocketTable,
    pub drops: InboundDrops,
}

impl Netstack {
    /// A netstack at `address` with one wire interface and a network policy.
    pub fn new(address: Ipv4Address, interface: NetworkInterfaceId, policy: Box<dyn NetworkPolicy>, bugs: BugSet) -> Self {
        let mut service = PacketService::with_bugs(policy, bugs);
        service.add_interface(interface, InterfaceKind::Wire);
        Netstack { address, interface, service, sockets: SocketTable::new(), drops: InboundDrops::default() }
    }

    pub fn address(&self) -> Ipv4Address {
        self.address
    }

    pub fn interface(&self) -> NetworkInterfaceId {
        self.interface
    }

    /// One request of the facade, on behalf of `caller`.
    pub fn handle(&mut self, caller: ExecutionId, request: SocketRequest, ledger: &mut ResourceLedger) -> SocketResponse {
        let result = match request {
            SocketRequest::Bind { port, protocol } => self.sockets.bind(caller, port, protocol).map(|(socket, port)| SocketResponse::Bound { socket, port }),
            SocketRequest::SendTo { socket, to, payload } => self.send_to(caller, socket, to, payload, ledger),
            SocketRequest::Recv { socket } => self.sockets.recv(caller, socket).map(SocketResponse::Datagram),
            SocketRequest::Close { socket } => self.sockets.close(caller, socket).map(|()| SocketResponse::Closed),
        };
        result.unwrap_or_else(SocketResponse::Error)
    }

    fn send_to(&mut self, caller: ExecutionId, socket: crate::net::sockets::SocketId, to: Endpoint, payload: Vec<u8>, ledger: &mut ResourceLedger) -> Result<SocketResponse, SocketError> {
        let (port, protocol) = self.sockets.owned(caller, socket)?;
        let packet = Packet::new(Endpoint::new(self.address, port), to, protocol, payload);
        self.service.send_packet(ledger, caller, self.interface, packet).map_err(|e| SocketError::Refused(e.to_string()))?;
        Ok(SocketResponse::Sent)
    }

    /// A packet arrives from the wire (false: the receive queue was full).
    pub fn deliver_from_wire(&mut self, packet: Packet) -> bool {
        self.service.deliver_from_wire(self.interface, packet)
    }

    /// Takes every received packet for its socket (or discards it).
    pub fn poll(&mut self, ledger: &mut ResourceLedger) {
        while let Some(head) = self.service.peek_received(self.interface) {
            let dest = head.destination;
            if dest.address != self.address && !dest.address.is_broadcast() {
                self.drops.not_for_us += 1;
                self.service.discard_head(self.interface);
                continue;
            }
            let Some((socket, owner)) = self.sockets.bound_to(dest.port, head.protocol) else {
                self.drops.no_listener += 1;
                self.service.discard_head(self.interface);
                continue;
            };
            match self.service.receive_packet(ledger, owner, self.interface) {
                Ok(Some(p)) => {
                    if !self.sockets.push(socket, Datagram { from: p.source, to: p.destination, payload: p.payload }) {
                        self.drops.overflow += 1;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    self.drops.refused += 1;
                    self.service.discard_head(self.interface);
                }
            }
        }
    }

    /// Takes the packets waiting for the wire, in send order.
    pub fn take_transmitted(&mut self) -> Vec<Packet> {
        self.service.take_transmitted(self.interface)
    }

    /// Takes the packet service's events.
    pub fn take_events(&mut self) -> Vec<PacketServiceEvent> {
        self.service.take_events()
    }
}
