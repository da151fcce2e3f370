//! The bring-up lite networking path (seed `001_*`, "Alternative Path: Bring-up Lite (Secondary)",
//! TASK-0248/0249, feature `net-bringup-lite`): deterministic, minimal networking for smoke tests,
//! without discovery or sessions.
//!
//! - [`netstack`]: `netstackd-lite`, the sockets facade over loopback only (no wire);
//! - [`dhcp`]: the DHCP stub, with the documented fallback address `10.0.2.15/24`;
//! - [`echo`]: `echod`, a UDP echo server;
//! - [`fetch`]: `fetchd`, an HTTP-like client (and the static responder it fetches from);
//! - [`node`]: one node with all of them on virtual time, driven by a run's queue
//!   (`engine/lite.rs`, a scenario's `lite_network`) or on its own (the lite tests).
//!
//! Every packet still goes through the packet service (policy, then `PacketCount`, then effect),
//! charged to the identity of the service that sends or receives it.

pub mod dhcp;
pub mod echo;
pub mod fetch;
pub mod netstack;
pub mod node;
