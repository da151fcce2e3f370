//! The scenario language's bring-up lite part (seed `001_*`, "Alternative Path: Bring-up Lite",
//! feature `net-bringup-lite`): one lite node — `netstackd-lite` on loopback, the DHCP stub,
//! `echod`, `fetchd` and a static responder — with its DHCP server (an offer, or none: the stub
//! falls back to `10.0.2.15/24`), its network policy, a `PacketCount` budget for the client and
//! a script of client actions at virtual times; and `expect.lite`, what the run must show.
//! Field-by-field documentation with defaults and examples is in `scenarios/README.md`,
//! "Bring-up lite networking".
//!
//! The section exists only in lite builds (`lite_network`; a canonical build names the feature
//! to build with), so canonical scenarios, their digests and their traces are unchanged. The node
//! runs in the run's own event queue (`engine/lite.rs`); nothing in it draws a choice.

use crate::net::lite::dhcp::DhcpConfig;
use crate::net::lite::fetch::{parse_url, FetchConfig};
use crate::net::lite::node::LiteNodeConfig;
use crate::net::packet::{Ipv4Address, Ipv4Cidr};
use crate::net::policy::NetworkPolicySpec;
use crate::report::LiteCounter;
use crate::scenario::{err, Count, ScenarioError};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// Most client actions a script holds.
pub const MAX_SCRIPT: usize = 10_000;

/// The lite node of a scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiteNetwork {
    /// The DHCP stub's requests (default 3 attempts, 1 s apart).
    #[serde(default)]
    pub dhcp: DhcpConfig,
    /// The DHCP server: each request answered after `after_ns` with `lease`; none = no server
    /// (the stub falls back to `10.0.2.15/24` when its last attempt times out).
    #[serde(default)]
    pub offer: Option<LiteOffer>,
    /// The node's network policy (default `AllowAll`).
    #[serde(default)]
    pub policy: NetworkPolicySpec,
    /// The static responder's pages (it listens on port 8080).
    #[serde(default)]
    pub pages: Vec<LitePage>,
    /// A `PacketCount` limit for the client identity; none = unlimited.
    #[serde(default)]
    pub client_packet_budget: Option<u64>,
    /// `fetchd`'s wait per attempt and attempts per fetch (default 500 ms, 3).
    #[serde(default)]
    pub fetch: LiteFetchConfig,
    /// What the client does, at virtual times.
    #[serde(default)]
    pub script: Vec<LiteStep>,
}

/// A DHCP server's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiteOffer {
    pub after_ns: u64,
    pub lease: Ipv4Cidr,
}

/// A page of the static responder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LitePage {
    /// Starts with `/`.
    pub path: String,
    pub body: String,
}

/// `fetchd`'s parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct LiteFetchConfig {
    pub timeout_ns: u64,
    pub max_attempts: u32,
}

impl Default for LiteFetchConfig {
    fn default() -> Self {
        let d = FetchConfig::default();
        LiteFetchConfig { timeout_ns: d.timeout_ns, max_attempts: d.max_attempts }
    }
}

/// A client action at a virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiteStep {
    pub at_ns: u64,
    pub op: LiteOp,
}

/// What the client does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiteOp {
    /// Sends the payload to `echod` on loopback (`127.0.0.1:7`).
    Echo(String),
    /// Sends the payload to `echod` at this address, port 7 (the node's own address once DHCP
    /// configured one; anything else is unreachable).
    EchoAt(Ipv4Address, String),
    /// `fetchd` fetches `http://A.B.C.D[:PORT]/PATH` (the responder is `127.0.0.1:8080`).
    Fetch(String),
}

/// `expect.lite`: what the lite node shows at the end of the run (every field optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiteExpectation {
    /// The interface's address at the end (as configured by the DHCP stub).
    #[serde(default)]
    pub address: Option<Ipv4Cidr>,
    /// Whether the address is the fallback (true) or a bound lease (false).
    #[serde(default)]
    pub fallback: Option<bool>,
    /// Every payload the client got back, in order.
    #[serde(default)]
    pub echo_replies: Option<Vec<String>>,
    /// The scripted fetches, in script order (the first entries; fewer may be listed).
    #[serde(default)]
    pub fetches: Vec<LiteFetchExpectation>,
    /// The node's counters at the end.
    #[serde(default)]
    pub counters: Vec<(LiteCounter, Count)>,
}

/// How one fetch ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiteFetchExpectation {
    pub url: String,
    /// The answer's status; 0 = timed out after every attempt.
    pub status: u16,
    /// The answer's body, when given.
    #[serde(default)]
    pub body: Option<String>,
    /// Attempts it took, when given.
    #[serde(default)]
    pub attempts: Option<u32>,
}

impl LiteNetwork {
    /// The node's configuration (the scenario's planted bugs included).
    pub fn node_config(&self, bugs: &[crate::bugs::PlantedBug]) -> LiteNodeConfig {
        LiteNodeConfig {
            policy: self.policy.clone(),
            dhcp: self.dhcp,
            dhcp_offer: self.offer.map(|o| (o.after_ns, o.lease)),
            fetch: FetchConfig { timeout_ns: self.fetch.timeout_ns, max_attempts: self.fetch.max_attempts },
            pages: self.pages.iter().map(|p| (p.path.clone(), p.body.as_bytes().to_vec())).collect(),
            client_packet_budget: self.client_packet_budget,
            bugs: bugs.to_vec(),
        }
    }

    /// Checks the section: DHCP, offer, pages, fetch parameters, script.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if self.dhcp.attempts == 0 {
            return Err(err("lite_network.dhcp.attempts", "expected at least one attempt", None));
        }
        if self.dhcp.retry_ns == 0 {
            return Err(err("lite_network.dhcp.retry_ns", "expected a wait of at least 1 ns", None));
        }
        if let Some(o) = self.offer {
            if o.lease.prefix_len > 32 {
                return Err(err("lite_network.offer.lease", "expected a prefix length of at most 32", None));
            }
        }
        for (i, p) in self.pages.iter().enumerate() {
            if !p.path.starts_with('/') || p.path.contains(' ') {
                return Err(err(format!("lite_network.pages[{i}].path"), format!("expected a path starting with `/` and without spaces, found `{}`", p.path), None));
            }
        }
        if self.fetch.timeout_ns == 0 || self.fetch.max_attempts == 0 {
            return Err(err("lite_network.fetch", "expected `timeout_ns` and `max_attempts` of at least 1", None));
        }
        if self.script.len() > MAX_SCRIPT {
            return Err(err("lite_network.script", format!("{} actions: at most {MAX_SCRIPT}", self.script.len()), None));
        }
        for (i, s) in self.script.iter().enumerate() {
            if let LiteOp::Fetch(url) = &s.op {
                if parse_url(url).is_err() {
                    return Err(err(format!("lite_network.script[{i}].op"), format!("expected a URL `http://A.B.C.D[:PORT]/PATH` (no names, no spaces), found `{url}`"), Some(url)));
                }
            }
        }
        Ok(())
    }

    /// How many fetches the script makes.
    pub fn fetch_count(&self) -> usize {
        self.script.iter().filter(|s| matches!(s.op, LiteOp::Fetch(_))).count()
    }
}

/// Checks `expect.lite` against the declared section.
pub fn validate_expectation(network: Option<&LiteNetwork>, expect: Option<&LiteExpectation>) -> Result<(), ScenarioError> {
    let Some(e) = expect else { return Ok(()) };
    let Some(n) = network else { return Err(err("expect.lite", "the scenario declares no `lite_network`", None)) };
    if e.fetches.len() > n.fetch_count() {
        return Err(err("expect.lite.fetches", format!("{} fetches expected, the script makes {}", e.fetches.len(), n.fetch_count()), None));
    }
    Ok(())
}
