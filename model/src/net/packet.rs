//! The packet service's types (seed `000_*`, "Networking Service", "Core types"):
//! `NetworkInterfaceId`, `Endpoint`, `Packet`, `PacketProtocol`, `PacketContext`,
//! `PacketDirection`.
//!
//! Choices where the seed is silent: an interface id comes from a counter (the seed's reference
//! mints UUIDs; ids here must be a function of the run); an endpoint's address is an IPv4
//! address held as four bytes and written `"10.0.0.1"` in scenario text (the seed's `String`
//! always holds a dotted quad; the simulation needs addresses `Copy` and ordered); the policy's
//! context borrows the packet instead of copying it.

use crate::ids::ExecutionId;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A network interface of one node, minted by a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NetworkInterfaceId(pub u64);

impl fmt::Display for NetworkInterfaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "iface#{}", self.0)
    }
}

/// An IPv4 address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Address(pub [u8; 4]);

impl Ipv4Address {
    /// `127.0.0.1`.
    pub const LOOPBACK: Ipv4Address = Ipv4Address([127, 0, 0, 1]);
    /// `255.255.255.255`: every node the sender has a link to (discovery announces).
    pub const BROADCAST: Ipv4Address = Ipv4Address([255, 255, 255, 255]);
    /// `0.0.0.0`: no address yet (a DHCP client before its lease).
    pub const UNSPECIFIED: Ipv4Address = Ipv4Address([0, 0, 0, 0]);

    pub const fn new(a: u8, b: u8, c: u8, d: u8) -> Self {
        Ipv4Address([a, b, c, d])
    }

    /// The address as a big-endian number.
    pub fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    pub fn from_u32(n: u32) -> Self {
        Ipv4Address(n.to_be_bytes())
    }

    pub fn is_loopback(self) -> bool {
        self.0[0] == 127
    }

    pub fn is_broadcast(self) -> bool {
        self == Self::BROADCAST
    }
}

impl fmt::Display for Ipv4Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// Why a text is not an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressParseError(pub String);

impl fmt::Display for AddressParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an IPv4 address (expected four numbers 0-255 separated by dots, like \"10.0.0.1\")", self.0)
    }
}

impl FromStr for Ipv4Address {
    type Err = AddressParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AddressParseError(s.into());
        let mut bytes = [0u8; 4];
        let mut parts = s.split('.');
        for b in &mut bytes {
            let part = parts.next().ok_or_else(err)?;
            if part.is_empty() || part.len() > 3 || !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            *b = part.parse().map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(Ipv4Address(bytes))
    }
}

impl Serialize for Ipv4Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An address with its prefix length (`10.0.2.15/24`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    pub address: Ipv4Address,
    pub prefix_len: u8,
}

impl Ipv4Cidr {
    pub const fn new(address: Ipv4Address, prefix_len: u8) -> Self {
        Ipv4Cidr { address, prefix_len }
    }

    /// The network mask (`/24` = `255.255.255.0`).
    pub fn mask(self) -> u32 {
        match self.prefix_len {
            0 => 0,
            n if n >= 32 => u32::MAX,
            n => u32::MAX << (32 - u32::from(n)),
        }
    }

    /// Whether `address` is in this network.
    pub fn contains(self, address: Ipv4Address) -> bool {
        address.to_u32() & self.mask() == self.address.to_u32() & self.mask()
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = AddressParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AddressParseError(s.into());
        let (address, prefix) = s.split_once('/').ok_or_else(err)?;
        let prefix_len: u8 = prefix.parse().map_err(|_| err())?;
        if prefix_len > 32 {
            return Err(err());
        }
        Ok(Ipv4Cidr { address: address.parse().map_err(|_| err())?, prefix_len })
    }
}

impl Serialize for Ipv4Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An address and a port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub address: Ipv4Address,
    pub port: u16,
}

impl Endpoint {
    pub const fn new(address: Ipv4Address, port: u16) -> Self {
        Endpoint { address, port }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.address, self.port)
    }
}

/// The seed's packet protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PacketProtocol {
    Tcp,
    Udp,
    Custom,
}

/// A packet: source, destination, protocol and payload bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packet {
    pub source: Endpoint,
    pub destination: Endpoint,
    pub protocol: PacketProtocol,
    pub payload: Vec<u8>,
}

impl Packet {
    pub fn new(source: Endpoint, destination: Endpoint, protocol: PacketProtocol, payload: Vec<u8>) -> Self {
        Packet { source, destination, protocol, payload }
    }
}

/// Which way a packet goes through the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PacketDirection {
    Send,
    Receive,
}

/// What a network policy sees: who, on which interface, which way, which packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketContext<'a> {
    pub execution_id: ExecutionId,
    pub interface_id: NetworkInterfaceId,
    pub direction: PacketDirection,
    pub packet: &'a Packet,
}

impl Fold for Endpoint {
    fn fold(&self, h: &mut TraceHasher) {
        h.word((u64::from(self.address.to_u32()) << 16) | u64::from(self.port));
    }
}

impl Fold for Packet {
    fn fold(&self, h: &mut TraceHasher) {
        h.tag(0, self.protocol as u64);
        self.source.fold(h);
        self.destination.fold(h);
        super::fold_bytes(h, &self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn addresses_parse_and_print_as_dotted_quads() {
        for text in ["10.0.0.1", "0.0.0.0", "255.255.255.255", "127.0.0.1"] {
            assert_eq!(text.parse::<Ipv4Address>().unwrap().to_string(), text);
        }
        for bad in ["", "10.0.0", "10.0.0.1.2", "10.0.0.256", "10.0.0.-1", "a.b.c.d", "10..0.1", "1.2.3.0004"] {
            assert!(bad.parse::<Ipv4Address>().is_err(), "{bad}");
        }
        let cidr: Ipv4Cidr = "10.0.2.15/24".parse().unwrap();
        assert_eq!(cidr.to_string(), "10.0.2.15/24");
        assert!(cidr.contains(Ipv4Address::new(10, 0, 2, 2)));
        assert!(!cidr.contains(Ipv4Address::new(10, 0, 3, 2)));
        assert!("10.0.2.15/33".parse::<Ipv4Cidr>().is_err());
        assert!(Ipv4Cidr::new(Ipv4Address::LOOPBACK, 0).contains(Ipv4Address::BROADCAST));
    }
}
