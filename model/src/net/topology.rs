//! The simulated network: nodes, links and the network fault plan (the issue's "Nodes and
//! links"; the seeds' acceptance proof is two QEMU VMs on one network, ours is N simulated nodes).
//!
//! A [`Topology`] lists nodes (a name, an address, the device identity the node's soft-bus
//! announces) and directed links between them, each with a latency and a jitter. A
//! [`NetFaultPlan`] is the network's faults as data, with the message faults' triggers
//! ([`FaultTrigger`]: `Always`, `Next`, `EveryNth`, `Chance`, `Window`, `Periodic`):
//! - [`LinkFault`]s on the links a [`LinkScope`] names: `Drop` (loss), `Duplicate`, `Delay`,
//!   `Reorder` (a drawn extra delay, so later packets overtake), and `Partition` (the link is cut
//!   while the trigger is active: `Always` for good, `Window` until its heal time, `Periodic` for a
//!   link that flaps). A partition on `Link { from, to }` is one-way; `Between`, `Node` and `Split`
//!   cut both ways.
//! - [`NodeFault`]s: a node crashes at a time and, optionally, restarts later (a new incarnation
//!   with fresh state; the driver of the nodes acts on them, the wire drops what arrives at a node
//!   that is down).
//!
//! Choices where the seeds are silent: a partition needs a time-based trigger (`Always`, `Window`,
//! `Periodic`): it is a state of the network, not a per-packet event (per-packet loss is `Drop`);
//! node ids are indices into the node list (a scenario layer resolves names to them once, like
//! symbols); links are directed, `two_way` declares both directions with the same parameters.

use super::events::DeviceId;
use super::packet::Ipv4Address;
use crate::fault::FaultTrigger;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A node: an index into the topology's node list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node#{}", self.0)
    }
}

/// One node of the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub name: String,
    pub address: Ipv4Address,
    /// The identity the node's soft-bus announces and proves in handshakes.
    pub device: DeviceId,
}

/// A directed link's parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub latency_ns: u64,
    /// Each packet takes `latency_ns` plus a drawn `0..=jitter_ns` (a draw of 0 = no jitter).
    #[serde(default)]
    pub jitter_ns: u64,
}

/// A link as a scenario declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkDecl {
    pub from: NodeId,
    pub to: NodeId,
    pub latency_ns: u64,
    #[serde(default)]
    pub jitter_ns: u64,
    /// Also declare `to -> from` with the same parameters.
    #[serde(default)]
    pub two_way: bool,
}

impl LinkDecl {
    pub fn new(from: NodeId, to: NodeId, spec: LinkSpec, two_way: bool) -> Self {
        LinkDecl { from, to, latency_ns: spec.latency_ns, jitter_ns: spec.jitter_ns, two_way }
    }

    pub fn spec(&self) -> LinkSpec {
        LinkSpec { latency_ns: self.latency_ns, jitter_ns: self.jitter_ns }
    }
}

/// Nodes and links, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    nodes: Vec<NodeSpec>,
    links: BTreeMap<(NodeId, NodeId), LinkSpec>,
    by_address: BTreeMap<Ipv4Address, NodeId>,
}

impl Topology {
    /// A topology from declarations; errors name the first problem.
    pub fn new(nodes: Vec<NodeSpec>, links: &[LinkDecl]) -> Result<Self, String> {
        let mut by_address = BTreeMap::new();
        let mut names = BTreeSet::new();
        let mut devices = BTreeSet::new();
        for (i, n) in nodes.iter().enumerate() {
            if !names.insert(n.name.as_str()) {
                return Err(format!("nodes[{i}]: the name `{}` is used twice", n.name));
            }
            if n.address.is_loopback() || n.address.is_broadcast() || n.address == Ipv4Address::UNSPECIFIED {
                return Err(format!("nodes[{i}] (`{}`): {} cannot be a node's address", n.name, n.address));
            }
            if by_address.insert(n.address, NodeId(i as u32)).is_some() {
                return Err(format!("nodes[{i}] (`{}`): the address {} is used twice", n.name, n.address));
            }
            if !devices.insert(n.device) {
                return Err(format!("nodes[{i}] (`{}`): the device {} is used twice", n.name, n.device));
            }
        }
        let mut map = BTreeMap::new();
        for (i, l) in links.iter().enumerate() {
            for (from, to) in [(l.from, l.to)].into_iter().chain(l.two_way.then_some((l.to, l.from))) {
                if from.index() >= nodes.len() || to.index() >= nodes.len() {
                    return Err(format!("links[{i}]: {from} -> {to} names a node that does not exist ({} nodes)", nodes.len()));
                }
                if from == to {
                    return Err(format!("links[{i}]: a link from {from} to itself"));
                }
                if map.insert((from, to), l.spec()).is_some() {
                    return Err(format!("links[{i}]: {from} -> {to} is declared twice"));
                }
            }
        }
        Ok(Topology { nodes, links: map, by_address })
    }

    /// Every node linked to every other, both ways, with the same parameters.
    pub fn full_mesh(nodes: Vec<NodeSpec>, spec: LinkSpec) -> Result<Self, String> {
        let n = nodes.len() as u32;
        let links: Vec<LinkDecl> = (0..n).flat_map(|a| (a + 1..n).map(move |b| LinkDecl::new(NodeId(a), NodeId(b), spec, true))).collect();
        Topology::new(nodes, &links)
    }

    pub fn nodes(&self) -> &[NodeSpec] {
        &self.nodes
    }

    pub fn node(&self, id: NodeId) -> &NodeSpec {
        &self.nodes[id.index()]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node with this address.
    pub fn node_at(&self, address: Ipv4Address) -> Option<NodeId> {
        self.by_address.get(&address).copied()
    }

    /// The link `from -> to`, if declared.
    pub fn link(&self, from: NodeId, to: NodeId) -> Option<LinkSpec> {
        self.links.get(&(from, to)).copied()
    }

    /// The nodes `from` has a link to, in id order.
    pub fn neighbours(&self, from: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.links.range((from, NodeId(0))..=(from, NodeId(u32::MAX))).map(|(&(_, to), _)| to)
    }
}

/// The faults of the network, as data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NetFaultPlan {
    #[serde(default)]
    pub link_faults: Vec<LinkFaultRule>,
    #[serde(default)]
    pub node_faults: Vec<NodeFault>,
}

/// One link-fault rule: what, on which links, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LinkFaultRule {
    pub fault: LinkFault,
    #[serde(default)]
    pub on: LinkScope,
    #[serde(default)]
    pub when: FaultTrigger,
}

/// What happens to a packet on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum LinkFault {
    /// The packet is lost.
    Drop,
    /// A second copy arrives `gap_ns` after the first.
    Duplicate { gap_ns: u64 },
    /// The packet takes `nanos` longer.
    Delay { nanos: u64 },
    /// The packet takes a drawn `0..=window_ns` longer, so packets sent after it may overtake it.
    Reorder { window_ns: u64 },
    /// The link is cut while the trigger is active.
    Partition,
}

/// Which directed links a rule applies to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum LinkScope {
    /// Every link.
    #[default]
    Any,
    /// The one link `from -> to` (a one-way partition).
    Link { from: NodeId, to: NodeId },
    /// Both links between `a` and `b` (a two-way partition).
    Between { a: NodeId, b: NodeId },
    /// Every link from or to the node (isolating it).
    Node(NodeId),
    /// Every link between `side` and the other nodes, both ways (a split into two groups).
    Split { side: Vec<NodeId> },
}

impl LinkScope {
    pub fn matches(&self, from: NodeId, to: NodeId) -> bool {
        match self {
            LinkScope::Any => true,
            LinkScope::Link { from: f, to: t } => (from, to) == (*f, *t),
            LinkScope::Between { a, b } => (from, to) == (*a, *b) || (from, to) == (*b, *a),
            LinkScope::Node(n) => from == *n || to == *n,
            LinkScope::Split { side } => side.contains(&from) != side.contains(&to),
        }
    }

    fn nodes(&self) -> Vec<NodeId> {
        match self {
            LinkScope::Any => Vec::new(),
            LinkScope::Link { from, to } => alloc::vec![*from, *to],
            LinkScope::Between { a, b } => alloc::vec![*a, *b],
            LinkScope::Node(n) => alloc::vec![*n],
            LinkScope::Split { side } => side.clone(),
        }
    }
}

/// A node crash, and optionally its restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NodeFault {
    pub node: NodeId,
    pub crash_at_ns: u64,
    /// When the node comes back (with fresh state); `None` = it stays down.
    #[serde(default)]
    pub restart_at_ns: Option<u64>,
}

/// A crash or a restart, in time order ([`NetFaultPlan::node_schedule`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeChange {
    Crash,
    Restart,
}

impl NetFaultPlan {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_link_fault(mut self, fault: LinkFault, on: LinkScope, when: FaultTrigger) -> Self {
        self.link_faults.push(LinkFaultRule { fault, on, when });
        self
    }

    pub fn with_node_fault(mut self, node: NodeId, crash_at_ns: u64, restart_at_ns: Option<u64>) -> Self {
        self.node_faults.push(NodeFault { node, crash_at_ns, restart_at_ns });
        self
    }

    /// Checks the plan against a topology of `nodes` nodes; errors name the first problem.
    pub fn validate(&self, nodes: usize) -> Result<(), String> {
        for (i, r) in self.link_faults.iter().enumerate() {
            if let Some(n) = r.on.nodes().into_iter().find(|n| n.index() >= nodes) {
                return Err(format!("link_faults[{i}]: {n} does not exist ({nodes} nodes)"));
            }
            let timed = matches!(r.when, FaultTrigger::Always | FaultTrigger::Window { .. } | FaultTrigger::Periodic { .. });
            if r.fault == LinkFault::Partition && !timed {
                return Err(format!("link_faults[{i}]: a Partition needs a time trigger (Always, Window or Periodic), not {:?}; per-packet loss is Drop", r.when));
            }
        }
        for (i, f) in self.node_faults.iter().enumerate() {
            if f.node.index() >= nodes {
                return Err(format!("node_faults[{i}]: {} does not exist ({nodes} nodes)", f.node));
            }
            if f.restart_at_ns.is_some_and(|r| r <= f.crash_at_ns) {
                return Err(format!("node_faults[{i}]: {} restarts at or before it crashes", f.node));
            }
            let overlaps = self.node_faults[..i].iter().any(|g| g.node == f.node && g.crash_at_ns < f.restart_at_ns.unwrap_or(u64::MAX) && f.crash_at_ns < g.restart_at_ns.unwrap_or(u64::MAX));
            if overlaps {
                return Err(format!("node_faults[{i}]: {} is already down then", f.node));
            }
        }
        Ok(())
    }

    /// Whether the link `from -> to` is cut at `now_ns`.
    pub fn is_cut(&self, from: NodeId, to: NodeId, now_ns: u64) -> bool {
        self.link_faults.iter().any(|r| r.fault == LinkFault::Partition && r.on.matches(from, to) && r.when.active_at(now_ns))
    }

    /// Whether the node is up at `now_ns`.
    pub fn is_up(&self, node: NodeId, now_ns: u64) -> bool {
        !self.node_faults.iter().any(|f| f.node == node && f.crash_at_ns <= now_ns && f.restart_at_ns.is_none_or(|r| now_ns < r))
    }

    /// Every crash and restart, in time order (ties: by node, crash before restart).
    pub fn node_schedule(&self) -> Vec<(u64, NodeId, NodeChange)> {
        let mut out: Vec<(u64, NodeId, NodeChange)> = Vec::new();
        for f in &self.node_faults {
            out.push((f.crash_at_ns, f.node, NodeChange::Crash));
            if let Some(r) = f.restart_at_ns {
                out.push((r, f.node, NodeChange::Restart));
            }
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn nodes(n: u32) -> Vec<NodeSpec> {
        (0..n).map(|i| NodeSpec { name: format!("n{i}"), address: Ipv4Address::new(10, 0, 0, i as u8 + 1), device: DeviceId(100 + u64::from(i)) }).collect()
    }

    #[test]
    fn a_full_mesh_links_every_pair_both_ways() {
        let t = Topology::full_mesh(nodes(4), LinkSpec { latency_ns: 5, jitter_ns: 0 }).unwrap();
        for a in 0..4 {
            let n: Vec<NodeId> = t.neighbours(NodeId(a)).collect();
            assert_eq!(n.len(), 3);
            assert!(!n.contains(&NodeId(a)));
        }
        assert_eq!(t.node_at(Ipv4Address::new(10, 0, 0, 3)), Some(NodeId(2)));
    }

    #[test]
    fn topologies_and_plans_are_validated() {
        let mut dup = nodes(2);
        dup[1].address = dup[0].address;
        assert!(Topology::new(dup, &[]).unwrap_err().contains("used twice"));
        let link = LinkDecl::new(NodeId(0), NodeId(5), LinkSpec::default(), false);
        assert!(Topology::new(nodes(2), &[link]).unwrap_err().contains("does not exist"));
        let plan = NetFaultPlan::new().with_link_fault(LinkFault::Partition, LinkScope::Any, FaultTrigger::Chance { per_mille: 5 });
        assert!(plan.validate(2).unwrap_err().contains("time trigger"));
        let plan = NetFaultPlan::new().with_node_fault(NodeId(0), 10, Some(20)).with_node_fault(NodeId(0), 15, None);
        assert!(plan.validate(2).unwrap_err().contains("already down"));
        let plan = NetFaultPlan::new().with_node_fault(NodeId(0), 10, Some(10));
        assert!(plan.validate(2).unwrap_err().to_string().contains("restarts"));
    }

    #[test]
    fn partitions_cut_the_links_their_scope_names_while_active() {
        let window = FaultTrigger::Window { from_ns: 100, until_ns: 200 };
        let plan = NetFaultPlan::new()
            .with_link_fault(LinkFault::Partition, LinkScope::Link { from: NodeId(0), to: NodeId(1) }, window)
            .with_link_fault(LinkFault::Partition, LinkScope::Split { side: vec![NodeId(2)] }, FaultTrigger::Periodic { every_ns: 1000, for_ns: 10, from_ns: 0 });
        assert!(!plan.is_cut(NodeId(0), NodeId(1), 99));
        assert!(plan.is_cut(NodeId(0), NodeId(1), 100));
        assert!(!plan.is_cut(NodeId(1), NodeId(0), 150), "one-way");
        assert!(!plan.is_cut(NodeId(0), NodeId(1), 200), "healed");
        assert!(plan.is_cut(NodeId(2), NodeId(0), 2005) && plan.is_cut(NodeId(1), NodeId(2), 5));
        assert!(!plan.is_cut(NodeId(2), NodeId(0), 2010));
        let crash = NetFaultPlan::new().with_node_fault(NodeId(1), 50, Some(80));
        assert!(crash.is_up(NodeId(1), 49) && !crash.is_up(NodeId(1), 50) && !crash.is_up(NodeId(1), 79) && crash.is_up(NodeId(1), 80));
        assert_eq!(crash.node_schedule(), vec![(50, NodeId(1), NodeChange::Crash), (80, NodeId(1), NodeChange::Restart)]);
    }
}
