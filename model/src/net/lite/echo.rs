//! `echod` (seed `001_*`: "UDP echo server"): every datagram on its port goes back to its sender,
//! unchanged, from the same port.

use crate::net::events::LiteEvent;
use crate::net::sockets::{Datagram, SocketId, SocketRequest};
use alloc::vec::Vec;

/// The port `echod` binds (the classic echo port).
pub const ECHO_PORT: u16 = 7;

/// The echo server (its socket is bound by whoever starts it).
#[derive(Clone, Debug)]
pub struct EchoService {
    socket: SocketId,
    events: Vec<LiteEvent>,
}

impl EchoService {
    pub fn new(socket: SocketId) -> Self {
        EchoService { socket, events: Vec::new() }
    }

    pub fn socket(&self) -> SocketId {
        self.socket
    }

    /// The reply to a received datagram.
    pub fn on_datagram(&mut self, datagram: Datagram) -> SocketRequest {
        self.events.push(LiteEvent::Echoed { len: datagram.payload.len() as u32 });
        SocketRequest::SendTo { socket: self.socket, to: datagram.from, payload: datagram.payload }
    }

    pub fn take_events(&mut self) -> Vec<LiteEvent> {
        core::mem::take(&mut self.events)
    }
}
