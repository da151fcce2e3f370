//! The scenario language's network part (seeds `000_*` "Networking Stack as Services" and `001_*`
//! "Networking Authority", the canonical path): nodes, links, the network policy, `PacketCount`
//! budgets, what each node's application does, the network fault plan, and the expectations about
//! network outcomes. Field-by-field documentation with defaults and examples is in
//! `scenarios/README.md`, "Networking".
//!
//! Every node runs a netstack (`netstackd`), a soft-bus (`dsoftbusd`) and an application, each
//! with its own identities and its own `PacketCount` account, in the run's one event loop and one
//! choice stream (`engine/net.rs`). Nodes are named in links and expectations; the network fault
//! plan ([`NetFaultPlan`], the domain layer's own serde type) numbers them in declaration order
//! from 0, like its `Node(1)`, `Between(a: 0, b: 1)`, and has the message faults' triggers.

use crate::net::events::DeviceId;
use crate::net::packet::Ipv4Address;
use crate::net::policy::NetworkPolicySpec;
use crate::net::topology::{LinkDecl, LinkSpec, NetFaultPlan, NodeId, NodeSpec, Topology};
use crate::scenario::{err, Count, ScenarioError};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// Most nodes a scenario declares (every node is booted at time 0).
pub const MAX_NODES: usize = 64;

/// The network of a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub nodes: Vec<NetNode>,
    /// Links by node name; `mesh` adds every other pair.
    #[serde(default)]
    pub links: Vec<NetLink>,
    /// Links every pair of nodes not linked in `links`, both ways, with these parameters.
    #[serde(default)]
    pub mesh: Option<LinkSpec>,
    /// Every node's network policy (default `AllowAll`).
    #[serde(default)]
    pub policy: NetworkPolicySpec,
    /// A `PacketCount` limit for every node's soft-bus identity (a node's own `packet_budget`
    /// replaces it); none = unlimited.
    #[serde(default)]
    pub packet_budget: Option<u64>,
    /// What every node's application does.
    #[serde(default)]
    pub app: NetApp,
    /// Link faults and node crashes with their restarts.
    #[serde(default)]
    pub faults: NetFaultPlan,
}

/// A node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetNode {
    pub name: String,
    pub address: Ipv4Address,
    /// The identity its soft-bus proves in handshakes.
    pub device: DeviceId,
    /// Announce this identity at discovery instead (an impostor: its handshakes are rejected).
    #[serde(default)]
    pub announce_as: Option<DeviceId>,
    /// This node's soft-bus `PacketCount` limit (replaces the network's `packet_budget`).
    #[serde(default)]
    pub packet_budget: Option<u64>,
}

/// A link by node names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetLink {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub latency_ns: u64,
    /// Each packet takes `latency_ns` plus a drawn `0..=jitter_ns`.
    #[serde(default)]
    pub jitter_ns: u64,
    /// Also the link `to -> from` with the same parameters (default true).
    #[serde(default = "yes")]
    pub two_way: bool,
}

fn yes() -> bool {
    true
}

/// What each node's application does: once a session with a peer is up, it sends that peer
/// `messages_per_peer` payloads round-robin over `streams` streams, and keeps what it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct NetApp {
    pub messages_per_peer: u32,
    pub streams: u32,
}

impl Default for NetApp {
    fn default() -> Self {
        NetApp { messages_per_peer: 4, streams: 1 }
    }
}

/// A per-node network counter an expectation can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NetCounter {
    /// Peers the node discovered (first announce of each address, per incarnation).
    PeersDiscovered,
    /// Sessions established at the node (either role).
    SessionsEstablished,
    /// Handshakes the node rejected (a peer presenting another identity than the one learnt).
    HandshakesRejected,
    /// Payloads the node's soft-bus handed its application.
    DataDelivered,
    /// Peers from which the application received every payload, in order, exactly once.
    CompleteExchanges,
    /// Packet operations the policy allowed.
    PacketsAllowed,
    /// Packet operations the policy denied.
    PacketsDenied,
    /// `PacketCount` consumption records of the node's identities.
    PacketsConsumed,
    /// Packet operations refused because the identity's `PacketCount` was exhausted.
    PacketsExhausted,
    /// Transmissions the node put on the wire.
    WireSent,
    /// Crashes of the node.
    Crashes,
    /// Restarts of the node.
    Restarts,
}

impl NetCounter {
    pub const ALL: [NetCounter; 12] = [
        NetCounter::PeersDiscovered,
        NetCounter::SessionsEstablished,
        NetCounter::HandshakesRejected,
        NetCounter::DataDelivered,
        NetCounter::CompleteExchanges,
        NetCounter::PacketsAllowed,
        NetCounter::PacketsDenied,
        NetCounter::PacketsConsumed,
        NetCounter::PacketsExhausted,
        NetCounter::WireSent,
        NetCounter::Crashes,
        NetCounter::Restarts,
    ];
}

/// `(node, counter, count)`: a node's counter at the end of the run.
pub type NetExpectation = (String, NetCounter, Count);

impl Network {
    /// The topology: nodes in declaration order, links resolved, `mesh` completed.
    pub fn topology(&self) -> Result<Topology, ScenarioError> {
        let nodes: Vec<NodeSpec> = self.nodes.iter().map(|n| NodeSpec { name: n.name.clone(), address: n.address, device: n.device }).collect();
        let mut links = Vec::new();
        for (i, l) in self.links.iter().enumerate() {
            let from = self.node(&l.from).ok_or_else(|| self.unknown(format!("network.links[{i}].from"), &l.from))?;
            let to = self.node(&l.to).ok_or_else(|| self.unknown(format!("network.links[{i}].to"), &l.to))?;
            links.push(LinkDecl::new(from, to, LinkSpec { latency_ns: l.latency_ns, jitter_ns: l.jitter_ns }, l.two_way));
        }
        if let Some(spec) = self.mesh {
            let n = self.nodes.len() as u32;
            for a in 0..n {
                for b in a + 1..n {
                    let linked = links.iter().any(|l: &LinkDecl| (l.from.0, l.to.0) == (a, b) || (l.from.0, l.to.0) == (b, a));
                    if !linked {
                        links.push(LinkDecl::new(NodeId(a), NodeId(b), spec, true));
                    }
                }
            }
        }
        Topology::new(nodes, &links).map_err(|m| self.locate(m))
    }

    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name).map(|i| NodeId(i as u32))
    }

    fn unknown(&self, path: String, name: &str) -> ScenarioError {
        let known: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        err(path, format!("no node named `{name}` (nodes: {})", known.join(", ")), Some(name))
    }

    /// A topology error (`nodes[i] ...`, `links[i] ...`) with its scenario path.
    fn locate(&self, message: String) -> ScenarioError {
        let path = message.split(':').next().unwrap_or_default().split_whitespace().next().unwrap_or_default();
        let name = path.strip_prefix("nodes[").and_then(|r| r.split(']').next()).and_then(|i| i.parse::<usize>().ok()).and_then(|i| self.nodes.get(i)).map(|n| n.name.as_str());
        err(format!("network.{path}"), message.clone(), name)
    }

    /// Checks the whole network: nodes, links, budgets, application, fault plan.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if self.nodes.is_empty() {
            return Err(err("network.nodes", "expected at least one node", None));
        }
        if self.nodes.len() > MAX_NODES {
            return Err(err("network.nodes", format!("{} nodes: at most {MAX_NODES}", self.nodes.len()), None));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if n.name.is_empty() {
                return Err(err(format!("network.nodes[{i}].name"), "expected a non-empty node name", None));
            }
        }
        self.topology()?;
        if let Err(m) = self.faults.validate(self.nodes.len()) {
            let path = m.split(':').next().unwrap_or_default();
            return Err(err(format!("network.faults.{path}"), format!("{m} (fault plans number nodes from 0 in declaration order)"), None));
        }
        if self.app.streams == 0 {
            return Err(err("network.app.streams", "expected at least one stream", None));
        }
        if self.app.messages_per_peer > 10_000 {
            return Err(err("network.app.messages_per_peer", "at most 10000 payloads per peer", None));
        }
        Ok(())
    }

    /// Checks the network expectations against the declared nodes.
    pub fn validate_expectations(network: Option<&Network>, expectations: &[NetExpectation]) -> Result<(), ScenarioError> {
        for (j, (node, _, _)) in expectations.iter().enumerate() {
            let path = format!("expect.network[{j}]");
            match network {
                None => return Err(err(path, "the scenario declares no `network`", Some(node))),
                Some(n) if n.node(node).is_none() => return Err(n.unknown(path, node)),
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_listed_in_declaration_order() {
        // The engine counts into an array indexed by `counter as usize`.
        for (i, c) in NetCounter::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "{c:?}");
        }
    }

    #[test]
    fn links_and_the_mesh_resolve_names_and_errors_name_the_path() {
        let node = |name: &str, last: u8| NetNode { name: name.into(), address: Ipv4Address::new(10, 0, 0, last), device: DeviceId(u64::from(last)), announce_as: None, packet_budget: None };
        let mut n = Network { nodes: alloc::vec![node("a", 1), node("b", 2), node("c", 3)], links: Vec::new(), mesh: None, policy: NetworkPolicySpec::AllowAll, packet_budget: None, app: NetApp::default(), faults: NetFaultPlan::new() };
        n.links.push(NetLink { from: "a".into(), to: "b".into(), latency_ns: 5, jitter_ns: 0, two_way: false });
        n.mesh = Some(LinkSpec { latency_ns: 9, jitter_ns: 0 });
        let t = n.topology().expect("valid");
        assert_eq!(t.link(NodeId(0), NodeId(1)).map(|l| l.latency_ns), Some(5));
        assert_eq!(t.link(NodeId(1), NodeId(0)), None, "a declared one-way link is not completed by the mesh");
        assert_eq!(t.link(NodeId(2), NodeId(0)).map(|l| l.latency_ns), Some(9));
        n.links[0].to = "z".into();
        let e = n.validate().unwrap_err();
        assert_eq!((e.path.as_str(), e.name.as_deref()), ("network.links[0].to", Some("z")));
        n.links.clear();
        n.nodes[2].address = n.nodes[0].address;
        assert_eq!(n.validate().unwrap_err().path, "network.nodes[2]");
    }
}
