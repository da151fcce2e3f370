//! Networking (seeds `000_*` "Networking Stack as Services" and `001_*` "Networking Authority:
//! Canonical vs Alternative Paths"). The domain layer; the engine drives it from a run's event
//! queue (`engine/net.rs` for a scenario's `network`, `engine/lite.rs` for its `lite_network`).
//!
//! Everything here is a pure, deterministic state machine: inputs are packets, timer firings,
//! application requests and the virtual time they happen at; outputs are packets to send, timers
//! to set, data handed to applications and events (the audit of what happened). Nothing here
//! keeps a clock, spawns a thread or opens a socket; the only randomness is a
//! [`Choices`](crate::choices::Choices) passed
//! to the [`wire`], so a later step can run N nodes — each with its own simulated kernel — in the
//! one event loop and the one choice stream.
//!
//! Modules, bottom up:
//! - [`packet`]: the seed's `NetworkInterfaceId`, `Endpoint`, `Packet`, `PacketProtocol`,
//!   `PacketContext`, `PacketDirection` (addresses as four bytes, see below);
//! - [`policy`]: `NetworkPolicy` with `AllowAllPolicy`, `DenyAllPolicy` and rule lists a scenario
//!   writes (`NetworkPolicySpec`, serde data);
//! - [`service`]: the packet service, `send_packet` / `receive_packet` over a passed-in
//!   [`ResourceLedger`](crate::budget::enforcement::ResourceLedger): policy, then budget, then
//!   effect;
//! - [`sockets`]: the sockets-style facade both netstacks export over IPC (requests, responses, the
//!   socket table);
//! - [`topology`]: nodes, links (latency, jitter) and the network fault plan (loss, duplication,
//!   delay, reordering, one- and two-way partitions with heals, node crash and restart) with the
//!   message faults' triggers;
//! - [`wire`]: what the network does to one transmitted packet, drawn from the choices;
//! - [`stream`]: the reliable stream (sequence numbers, cumulative acknowledgements,
//!   retransmission on virtual-time timeouts, a bounded window) that delivers in order exactly once;
//! - [`events`]: the networking event stream (every module's events, attributed to nodes) and the
//!   identifiers the soft-bus uses (`DeviceId`, `Nonce`, `SessionId`, `FlowId`);
//! - [`checks`]: the seven `net.*` invariants over that stream, reporting to a
//!   [`RuleSink`](crate::rule_check::RuleSink);
//! - `canonical` (feature `net-canonical`, the default): `netstackd` (sockets over the wire) and
//!   `dsoftbusd` (UDP-style discovery, sessions over the reliable stream with an XK-shaped
//!   handshake binding the session to the identity learnt at discovery, streams over sessions), and
//!   `drive`, a minimal N-node event loop over them;
//! - `lite` (feature `net-bringup-lite`): `netstackd-lite` (loopback only), the DHCP stub with the
//!   seed's fallback address, `echod` and `fetchd`.
//!
//! The two paths are the seed's mutually exclusive features: exactly one must be enabled.
//!
//! Choices where the seeds are silent (each module lists its own):
//! - addresses are IPv4 as four bytes (`Ipv4Address`), written `"10.0.0.1"` in scenario text:
//!   every address the seeds name is a dotted quad, and the simulation needs them `Copy` and
//!   ordered; interface ids come from a counter, not UUIDs (determinism);
//! - the identity charged for a packet is the one the seed's `send_packet` / `receive_packet`
//!   names: the caller's, which for a netstack is the owner of the socket the packet leaves from or
//!   arrives at (so budgets limit the applications, not the netstack);
//! - a refused receive leaves the packet queued (the seed's service: "a refusal must not also be a
//!   loss"); a netstack that will not deliver it discards it explicitly, and says so.

#[cfg(all(feature = "net-canonical", feature = "net-bringup-lite"))]
compile_error!(
    "features `net-canonical` and `net-bringup-lite` are mutually exclusive: seed 001 (\"Networking \
     Authority\") lets exactly one networking path be active (`cfg(feature = \"net-canonical\")` XOR \
     `cfg(feature = \"net-bringup-lite\")`) so the canonical `netstackd` and the bring-up `netstackd-lite` \
     never coexist. Build with the default features (canonical) or with `--no-default-features \
     --features net-bringup-lite`."
);

#[cfg(not(any(feature = "net-canonical", feature = "net-bringup-lite")))]
compile_error!(
    "no networking path selected: seed 001 (\"Networking Authority\") requires exactly one of the \
     features `net-canonical` (the default) or `net-bringup-lite`. Build with the default features, or \
     with `--no-default-features --features net-bringup-lite`."
);

pub mod checks;
pub mod events;
pub mod packet;
pub mod policy;
pub mod service;
pub mod sockets;
pub mod stream;
pub mod topology;
pub mod wire;

#[cfg(feature = "net-canonical")]
pub mod canonical;
#[cfg(feature = "net-bringup-lite")]
pub mod lite;

pub use events::NetEvent;
pub use packet::{Endpoint, Ipv4Address, Ipv4Cidr, NetworkInterfaceId, Packet, PacketContext, PacketDirection, PacketProtocol};
pub use policy::{AllowAllPolicy, DenyAllPolicy, NetworkDecision, NetworkPolicy, NetworkPolicySpec};
pub use service::{NetworkError, PacketService};
pub use topology::{NetFaultPlan, NodeId, Topology};
pub use wire::Wire;

use crate::trace_hash::TraceHasher;

/// Folds a byte string: its length, then its bytes in little-endian 8-byte chunks.
pub(crate) fn fold_bytes(h: &mut TraceHasher, bytes: &[u8]) {
    h.word(bytes.len() as u64);
    for chunk in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h.word(u64::from_le_bytes(w));
    }
}

/// A 64-bit FNV-1a digest of a payload: what the stream invariant compares instead of keeping
/// every payload.
pub fn payload_digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}
