//! The soft-bus's bytes on the wire (RFC-0007 "DSoftBus OS Transport v1": UDP discovery, TCP
//! sessions; RFC-0008's handshake messages): what goes in a [`Packet`](crate::net::Packet)'s
//! payload, encoded and decoded deterministically.
//!
//! Two layers: a [`BusFrame`] is a whole datagram (a discovery announce, or a transport segment,
//! acknowledgement or reset of a connection); a [`SessionMessage`] travels inside a segment, in
//! the reliable stream (the handshake's messages, a rejection, application data).
//!
//! Encoding (a choice; the seeds fix none): one tag byte, then the fields little-endian, byte
//! strings as a `u32` length and the bytes; an address is its four bytes. Decoding refuses a
//! wrong tag, a short buffer and trailing bytes, so a corrupted datagram is an error (the soft-bus
//! drops and counts it), never a panic.

use crate::net::events::{DeviceId, Nonce, RejectReason};
use crate::net::packet::Ipv4Address;
use alloc::vec::Vec;
use core::fmt;

/// A soft-bus datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusFrame {
    /// Discovery: "I am `device`, incarnation `incarnation`, sessions on `session_port`".
    Announce { device: DeviceId, incarnation: u32, session_port: u16 },
    /// A segment of connection `conn`'s reliable stream.
    Segment { conn: Nonce, seq: u64, payload: Vec<u8> },
    /// A cumulative acknowledgement on connection `conn`.
    Ack { conn: Nonce, next_expected: u64 },
    /// "I do not know connection `conn`."
    Reset { conn: Nonce },
}

/// A message in a connection's reliable stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionMessage {
    /// Handshake 1 (initiator → responder): the connection's nonce is the initiator's.
    Init,
    /// Handshake 2 (responder → initiator): the responder's nonce and the identity it proves.
    Response { responder: Nonce, device: DeviceId },
    /// Handshake 3 (initiator → responder): the identity the initiator proves.
    Confirm { device: DeviceId },
    /// Handshake 4 (responder → initiator): the initiator's identity checked, the session is up.
    Accept,
    /// The sender refuses the peer.
    Reject { reason: RejectReason },
    /// Application data: payload number `index` of the sender's flow, on stream `stream`.
    Data { stream: u32, index: u64, payload: Vec<u8> },
}

/// Why bytes are not a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    Truncated,
    UnknownTag(u8),
    TrailingBytes,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Truncated => f.write_str("frame truncated"),
            FrameError::UnknownTag(t) => write!(f, "unknown frame tag {t}"),
            FrameError::TrailingBytes => f.write_str("trailing bytes after the frame"),
        }
    }
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn nonce(mut self, n: Nonce) -> Self {
        self.0.extend_from_slice(&n.origin.0);
        self.u32(n.incarnation).u32(n.serial)
    }
    fn bytes(self, b: &[u8]) -> Self {
        let mut w = self.u32(b.len() as u32);
        w.0.extend_from_slice(b);
        w
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or(FrameError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }
    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, FrameError> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    fn u32(&mut self) -> Result<u32, FrameError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, FrameError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn nonce(&mut self) -> Result<Nonce, FrameError> {
        Ok(Nonce { origin: Ipv4Address(self.take()?), incarnation: self.u32()?, serial: self.u32()? })
    }
    fn bytes(&mut self) -> Result<Vec<u8>, FrameError> {
        let len = self.u32()? as usize;
        if self.0.len() < len {
            return Err(FrameError::Truncated);
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head.to_vec())
    }
    fn end<T>(self, value: T) -> Result<T, FrameError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(FrameError::TrailingBytes)
        }
    }
}

fn reason_byte(r: RejectReason) -> u8 {
    match r {
        RejectReason::IdentityMismatch => 0,
        RejectReason::UnknownPeer => 1,
    }
}

impl BusFrame {
    pub fn encode(&self) -> Vec<u8> {
        let w = Writer::default();
        match self {
            BusFrame::Announce { device, incarnation, session_port } => w.u8(0).u64(device.0).u32(*incarnation).u16(*session_port),
            BusFrame::Segment { conn, seq, payload } => w.u8(1).nonce(*conn).u64(*seq).bytes(payload),
            BusFrame::Ack { conn, next_expected } => w.u8(2).nonce(*conn).u64(*next_expected),
            BusFrame::Reset { conn } => w.u8(3).nonce(*conn),
        }
        .0
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        let mut r = Reader(bytes);
        let frame = match r.u8()? {
            0 => BusFrame::Announce { device: DeviceId(r.u64()?), incarnation: r.u32()?, session_port: r.u16()? },
            1 => BusFrame::Segment { conn: r.nonce()?, seq: r.u64()?, payload: r.bytes()? },
            2 => BusFrame::Ack { conn: r.nonce()?, next_expected: r.u64()? },
            3 => BusFrame::Reset { conn: r.nonce()? },
            t => return Err(FrameError::UnknownTag(t)),
        };
        r.end(frame)
    }
}

impl SessionMessage {
    pub fn encode(&self) -> Vec<u8> {
        let w = Writer::default();
        match self {
            SessionMessage::Init => w.u8(0),
            SessionMessage::Response { responder, device } => w.u8(1).nonce(*responder).u64(device.0),
            SessionMessage::Confirm { device } => w.u8(2).u64(device.0),
            SessionMessage::Reject { reason } => w.u8(3).u8(reason_byte(*reason)),
            SessionMessage::Data { stream, index, payload } => w.u8(4).u32(*stream).u64(*index).bytes(payload),
            SessionMessage::Accept => w.u8(5),
        }
        .0
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        let mut r = Reader(bytes);
        let message = match r.u8()? {
            0 => SessionMessage::Init,
            1 => SessionMessage::Response { responder: r.nonce()?, device: DeviceId(r.u64()?) },
            2 => SessionMessage::Confirm { device: DeviceId(r.u64()?) },
            3 => SessionMessage::Reject {
                reason: match r.u8()? {
                    0 => RejectReason::IdentityMismatch,
                    1 => RejectReason::UnknownPeer,
                    t => return Err(FrameError::UnknownTag(t)),
                },
            },
            4 => SessionMessage::Data { stream: r.u32()?, index: r.u64()?, payload: r.bytes()? },
            5 => SessionMessage::Accept,
            t => return Err(FrameError::UnknownTag(t)),
        };
        r.end(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn every_frame_round_trips_and_damage_is_an_error() {
        let conn = Nonce { origin: Ipv4Address::new(10, 0, 0, 1), incarnation: 2, serial: 7 };
        let frames = [
            BusFrame::Announce { device: DeviceId(9), incarnation: 1, session_port: 37021 },
            BusFrame::Segment { conn, seq: 5, payload: vec![1, 2, 3] },
            BusFrame::Ack { conn, next_expected: 6 },
            BusFrame::Reset { conn },
        ];
        for f in &frames {
            let bytes = f.encode();
            assert_eq!(&BusFrame::decode(&bytes).unwrap(), f);
            assert_eq!(BusFrame::decode(&bytes[..bytes.len() - 1]), Err(FrameError::Truncated));
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(BusFrame::decode(&longer), Err(FrameError::TrailingBytes));
        }
        let messages = [
            SessionMessage::Init,
            SessionMessage::Response { responder: conn, device: DeviceId(3) },
            SessionMessage::Confirm { device: DeviceId(4) },
            SessionMessage::Accept,
            SessionMessage::Reject { reason: RejectReason::UnknownPeer },
            SessionMessage::Data { stream: 1, index: 2, payload: vec![9; 20] },
        ];
        for m in &messages {
            assert_eq!(&SessionMessage::decode(&m.encode()).unwrap(), m);
        }
        assert_eq!(BusFrame::decode(&[9]), Err(FrameError::UnknownTag(9)));
        assert_eq!(SessionMessage::decode(&[]), Err(FrameError::Truncated));
        assert_eq!(BusFrame::decode(&[1, 0, 0]), Err(FrameError::Truncated));
    }
}
