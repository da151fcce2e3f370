//! UDP-style discovery (seed `001_*`: TASK-0003C "UDP discovery", RFC-0007 "UDP discovery"):
//! announce and listen.
//!
//! A node broadcasts an announce — its device identity, its incarnation, its session port — when
//! it starts and then every `announce_interval_ns`; it listens for the others' and keeps a
//! [`PeerTable`]: address → the identity announced for it. That identity is what the handshake
//! later binds sessions to (`net.session_bound_to_identity`).
//!
//! Choices where the seeds are silent:
//! - the table keeps the first identity learnt for an address (trust on first use); a later
//!   announce claiming another identity for a known address is ignored and recorded
//!   (`AnnounceConflict`) — discovery is unauthenticated, the handshake is where identity is proven;
//! - an announce with a higher incarnation from a known address means the peer restarted
//!   (`PeerRestarted`): its sessions are stale and the soft-bus closes them;
//! - a node ignores its own announces; announces go on for the whole run (a node that restarts,
//!   or heals from a partition, is found again).

use crate::net::events::{DeviceId, DiscoveryEvent};
use crate::net::packet::Ipv4Address;
use alloc::collections::BTreeMap;

/// What is known about a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerEntry {
    pub device: DeviceId,
    pub incarnation: u32,
    pub session_port: u16,
}

/// What an announce changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnounceOutcome {
    /// A new peer.
    Discovered,
    /// A known peer with a new incarnation.
    Restarted,
    /// Nothing new.
    Known,
    /// Another identity claimed for a known address: ignored.
    Conflict,
    /// Our own announce.
    Own,
}

/// Address → what its announces said.
#[derive(Clone, Debug, Default)]
pub struct PeerTable {
    peers: BTreeMap<Ipv4Address, PeerEntry>,
}

impl PeerTable {
    /// The identity learnt for an address.
    pub fn device(&self, address: Ipv4Address) -> Option<DeviceId> {
        self.peers.get(&address).map(|p| p.device)
    }

    pub fn get(&self, address: Ipv4Address) -> Option<&PeerEntry> {
        self.peers.get(&address)
    }

    /// The known peers in address order.
    pub fn iter(&self) -> impl Iterator<Item = (&Ipv4Address, &PeerEntry)> {
        self.peers.iter()
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

/// One node's discovery: its announce, and what it heard.
#[derive(Clone, Debug)]
pub struct Discovery {
    address: Ipv4Address,
    announced: DeviceId,
    incarnation: u32,
    session_port: u16,
    table: PeerTable,
}

impl Discovery {
    /// Discovery for a node at `address`, announcing `announced` (a node's own device, unless the
    /// scenario makes it an impostor).
    pub fn new(address: Ipv4Address, announced: DeviceId, incarnation: u32, session_port: u16) -> Self {
        Discovery { address, announced, incarnation, session_port, table: PeerTable::default() }
    }

    /// The announce to broadcast now: (device, incarnation, session port).
    pub fn announce(&self, events: &mut alloc::vec::Vec<DiscoveryEvent>) -> (DeviceId, u32, u16) {
        events.push(DiscoveryEvent::Announced { incarnation: self.incarnation });
        (self.announced, self.incarnation, self.session_port)
    }

    /// An announce heard from `from`.
    pub fn on_announce(&mut self, from: Ipv4Address, device: DeviceId, incarnation: u32, session_port: u16, events: &mut alloc::vec::Vec<DiscoveryEvent>) -> AnnounceOutcome {
        if from == self.address {
            return AnnounceOutcome::Own;
        }
        let Some(known) = self.table.peers.get_mut(&from) else {
            self.table.peers.insert(from, PeerEntry { device, incarnation, session_port });
            events.push(DiscoveryEvent::PeerDiscovered { address: from, device });
            return AnnounceOutcome::Discovered;
        };
        if known.device != device {
            events.push(DiscoveryEvent::AnnounceConflict { address: from, known: known.device, claimed: device });
            return AnnounceOutcome::Conflict;
        }
        if incarnation > known.incarnation {
            known.incarnation = incarnation;
            known.session_port = session_port;
            events.push(DiscoveryEvent::PeerRestarted { address: from, device, incarnation });
            return AnnounceOutcome::Restarted;
        }
        AnnounceOutcome::Known
    }

    pub fn table(&self) -> &PeerTable {
        &self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn the_first_identity_for_an_address_sticks() {
        let me = Ipv4Address::new(10, 0, 0, 1);
        let peer = Ipv4Address::new(10, 0, 0, 2);
        let mut d = Discovery::new(me, DeviceId(1), 0, 9);
        let mut ev = Vec::new();
        assert_eq!(d.on_announce(me, DeviceId(1), 0, 9, &mut ev), AnnounceOutcome::Own);
        assert_eq!(d.on_announce(peer, DeviceId(2), 0, 9, &mut ev), AnnounceOutcome::Discovered);
        assert_eq!(d.on_announce(peer, DeviceId(2), 0, 9, &mut ev), AnnounceOutcome::Known);
        assert_eq!(d.on_announce(peer, DeviceId(3), 0, 9, &mut ev), AnnounceOutcome::Conflict);
        assert_eq!(d.on_announce(peer, DeviceId(2), 1, 9, &mut ev), AnnounceOutcome::Restarted);
        assert_eq!(d.table().device(peer), Some(DeviceId(2)));
        assert_eq!(
            ev,
            [
                DiscoveryEvent::PeerDiscovered { address: peer, device: DeviceId(2) },
                DiscoveryEvent::AnnounceConflict { address: peer, known: DeviceId(2), claimed: DeviceId(3) },
                DiscoveryEvent::PeerRestarted { address: peer, device: DeviceId(2), incarnation: 1 },
            ]
        );
    }
}
