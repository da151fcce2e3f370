//! The DHCP stub of `netstackd-lite` (seed `001_*`: "When DHCP is unavailable in single-VM smoke,
//! `netstackd` may fall back to `10.0.2.15/24` (slirp/usernet convention) to keep loopback-based
//! bring-up deterministic").
//!
//! A pure state machine: [`DhcpStub::start`] asks for a lease, a timer of `retry_ns` repeats the
//! request up to `attempts` times, the first offer while asking binds it, and when the last
//! attempt times out the stub configures [`FALLBACK`]. Nothing else changes the address.
//!
//! Choices where the seed is silent: an offer after the stub fell back is ignored (the address a
//! smoke test sees never changes under it); the request itself is an output — whoever stands for
//! the network (the node's driver, a scenario) decides whether and when an offer comes.

use crate::net::events::LiteEvent;
use crate::net::packet::{Ipv4Address, Ipv4Cidr};
use crate::time::{Duration, Instant};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// The documented fallback: `10.0.2.15/24`.
pub const FALLBACK: Ipv4Cidr = Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24);

/// The stub's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct DhcpConfig {
    /// Requests before falling back (at least one is made).
    pub attempts: u32,
    /// How long each request waits for an offer.
    pub retry_ns: u64,
}

impl Default for DhcpConfig {
    fn default() -> Self {
        DhcpConfig { attempts: 3, retry_ns: Duration::from_millis(1000).0 }
    }
}

/// Where the stub is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcpState {
    Idle,
    Discovering { attempt: u32 },
    Bound(Ipv4Cidr),
    Fallback(Ipv4Cidr),
}

/// What the stub asks of its surroundings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcpOutput {
    /// Broadcast a request (attempt number, from 1).
    SendDiscover { attempt: u32 },
    /// Call [`DhcpStub::on_timer`] with `attempt` at `at`.
    SetTimer { at: Instant, attempt: u32 },
    /// The interface's address is now `cidr`.
    Configured { cidr: Ipv4Cidr, fallback: bool },
}

/// The DHCP stub.
#[derive(Clone, Debug)]
pub struct DhcpStub {
    config: DhcpConfig,
    state: DhcpState,
    events: Vec<LiteEvent>,
}

impl DhcpStub {
    pub fn new(config: DhcpConfig) -> Self {
        DhcpStub { config, state: DhcpState::Idle, events: Vec::new() }
    }

    pub fn state(&self) -> DhcpState {
        self.state
    }

    /// Starts asking (only from `Idle`).
    pub fn start(&mut self, now: Instant, out: &mut Vec<DhcpOutput>) {
        if self.state == DhcpState::Idle {
            self.ask(1, now, out);
        }
    }

    /// An offer arrived; bound if the stub is still asking.
    pub fn on_offer(&mut self, lease: Ipv4Cidr, out: &mut Vec<DhcpOutput>) -> bool {
        if !matches!(self.state, DhcpState::Discovering { .. }) {
            return false;
        }
        self.state = DhcpState::Bound(lease);
        self.events.push(LiteEvent::DhcpBound { cidr: lease });
        out.push(DhcpOutput::Configured { cidr: lease, fallback: false });
        true
    }

    /// The wait of `attempt` ended.
    pub fn on_timer(&mut self, attempt: u32, now: Instant, out: &mut Vec<DhcpOutput>) {
        if self.state != (DhcpState::Discovering { attempt }) {
            return;
        }
        if attempt < self.config.attempts {
            self.ask(attempt + 1, now, out);
        } else {
            self.state = DhcpState::Fallback(FALLBACK);
            self.events.push(LiteEvent::DhcpFallback { cidr: FALLBACK });
            out.push(DhcpOutput::Configured { cidr: FALLBACK, fallback: true });
        }
    }

    /// Takes the records so far.
    pub fn take_events(&mut self) -> Vec<LiteEvent> {
        core::mem::take(&mut self.events)
    }

    fn ask(&mut self, attempt: u32, now: Instant, out: &mut Vec<DhcpOutput>) {
        self.state = DhcpState::Discovering { attempt };
        self.events.push(LiteEvent::DhcpDiscover { attempt });
        out.push(DhcpOutput::SendDiscover { attempt });
        out.push(DhcpOutput::SetTimer { at: now.after(Duration(self.config.retry_ns)), attempt });
    }
}
