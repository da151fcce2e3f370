//! The canonical networking path (seed `001_*`, "Canonical Networking System (Primary)", feature
//! `net-canonical`, the default): per node a netstack service (`netstackd`) exporting the sockets
//! facade, and a soft-bus service (`dsoftbusd`) doing discovery, sessions with the identity-binding
//! handshake, and streams over sessions.
//!
//! - [`frame`]: the soft-bus's datagrams and session messages as bytes;
//! - [`discovery`]: announce and listen, the peer table;
//! - [`handshake`]: the XK-shaped handshake and its binding check;
//! - [`softbus`]: the service: discovery, connections over the reliable stream, sessions, streams;
//! - [`netstack`]: the node's sockets over its wire interface, through the packet service;
//! - [`drive`]: a minimal N-node event loop over all of it (tests, and the wiring's reference).

pub mod discovery;
pub mod drive;
pub mod frame;
pub mod handshake;
pub mod netstack;
pub mod softbus;
