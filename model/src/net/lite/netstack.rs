//! `netstackd-lite` (seed `001_*`: "DHCP stub + loopback only, no smoltcp"): the sockets facade
//! over one loopback interface.
//!
//! A datagram may go to `127.0.0.0/8` or to the node's own address (once the DHCP stub configured
//! one); anything else is `Unreachable` — there is no wire. A sent packet goes through the packet
//! service with the sending socket's owner (policy, budget, then straight into the loopback
//! receive queue), and [`LiteNetstack::poll`] takes it for the socket bound to its destination
//! port with that socket owner's identity (policy and budget again: the seed charges sends and
//! receives alike), or discards it.
//!
//! Choice where the seed is silent: the source address of a looped-back packet is `127.0.0.1`
//! when it goes to a loopback address and the node's own address otherwise.

use crate::budget::enforcement::ResourceLedger;
use crate::bugs::BugSet;
use crate::ids::ExecutionId;
use crate::net::packet::{Endpoint, Ipv4Address, Ipv4Cidr, NetworkInterfaceId, Packet};
use crate::net::policy::NetworkPolicy;
use crate::net::service::{InterfaceKind, PacketService, PacketServiceEvent};
use crate::net::sockets::{Datagram, SocketError, SocketId, SocketRequest, SocketResponse, SocketTable};
use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec::Vec;

/// The loopback-only netstack.
#[derive(Debug)]
pub struct LiteNetstack {
    address: Option<Ipv4Cidr>,
    interface: NetworkInterfaceId,
    service: PacketService,
    sockets: SocketTable,
    /// Packets discarded: no listener, or refused by policy or budget.
    pub discarded: u64,
}

impl LiteNetstack {
    pub fn new(interface: NetworkInterfaceId, policy: Box<dyn NetworkPolicy>, bugs: BugSet) -> Self {
        let mut service = PacketService::with_bugs(policy, bugs);
        service.add_interface(interface, InterfaceKind::Loopback);
        LiteNetstack { address: None, interface, service, sockets: SocketTable::new(), discarded: 0 }
    }

    /// The address the DHCP stub configured.
    pub fn configure(&mut self, cidr: Ipv4Cidr) {
        self.address = Some(cidr);
    }

    pub fn address(&self) -> Option<Ipv4Cidr> {
        self.address
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

    fn is_local(&self, address: Ipv4Address) -> bool {
        address.is_loopback() || self.address.is_some_and(|c| c.address == address)
    }

    fn send_to(&mut self, caller: ExecutionId, socket: SocketId, to: Endpoint, payload: Vec<u8>, ledger: &mut ResourceLedger) -> Result<SocketResponse, SocketError> {
        let (port, protocol) = self.sockets.owned(caller, socket)?;
        if !self.is_local(to.address) {
            return Err(SocketError::Unreachable(to));
        }
        let source = if to.address.is_loopback() { Ipv4Address::LOOPBACK } else { to.address };
        let packet = Packet::new(Endpoint::new(source, port), to, protocol, payload);
        self.service.send_packet(ledger, caller, self.interface, packet).map_err(|e| SocketError::Refused(e.to_string()))?;
        Ok(SocketResponse::Sent)
    }

    /// Takes every looped-back packet for its socket (or discards it).
    pub fn poll(&mut self, ledger: &mut ResourceLedger) {
        while let Some(head) = self.service.peek_received(self.interface) {
            let Some((socket, owner)) = self.sockets.bound_to(head.destination.port, head.protocol) else {
                self.discarded += 1;
                self.service.discard_head(self.interface);
                continue;
            };
            match self.service.receive_packet(ledger, owner, self.interface) {
                Ok(Some(p)) => {
                    self.sockets.push(socket, Datagram { from: p.source, to: p.destination, payload: p.payload });
                }
                Ok(None) => break,
                Err(_) => {
                    self.discarded += 1;
                    self.service.discard_head(self.interface);
                }
            }
        }
    }

    /// Takes the packet service's events.
    pub fn take_events(&mut self) -> Vec<PacketServiceEvent> {
        self.service.take_events()
    }
}
