//! The network of a generated run, drawn after everything else (so the kernel and authority parts
//! stay what they were for the same leading choices): 1 to [`MAX_NODES`] nodes, a full mesh or
//! random links with random latency and jitter, sometimes an impostor, a policy (mostly
//! `AllowAll`, sometimes `DenyAll` or rules denying a port or a peer), sometimes `PacketCount`
//! budgets, what the applications send, and a network fault plan: loss, duplication, delay,
//! reordering, one- and two-way partitions and splits with their heals, node crashes and restarts.
//! In swarm mode each fault kind is on or off per run; zero choices give no network at all, so a
//! shrunk choice list simplifies toward the run without one.

use super::Gen;
use crate::fault::FaultTrigger;
use crate::net::events::DeviceId;
use crate::net::packet::{Ipv4Address, Ipv4Cidr, PacketDirection};
use crate::net::policy::{NetworkPolicySpec, NetworkRule, NetworkRuleList, NetworkVerdict, PacketCondition};
use crate::net::topology::{LinkFault, LinkFaultRule, LinkScope, LinkSpec, NetFaultPlan, NodeFault, NodeId};
use crate::scenario::{NetApp, NetLink, NetNode, Network, Scenario};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Most nodes of a generated network.
pub const MAX_NODES: u64 = 4;

const MS: u64 = 1_000_000;

/// Adds a network to `s`, or not.
pub(super) fn generate(g: &mut Gen<'_>, swarm: bool, s: &mut Scenario) {
    let wanted = if swarm { g.flip() } else { g.c.below(4) != 0 };
    if !wanted || cfg!(not(feature = "net-canonical")) {
        return;
    }
    let n = 1 + g.c.below(MAX_NODES) as usize;
    let mut nodes: Vec<NetNode> = (0..n).map(|i| NetNode { name: format!("n{i}"), address: Ipv4Address::new(10, 0, 0, i as u8 + 1), device: DeviceId(100 + i as u64), announce_as: None, packet_budget: None }).collect();
    if n > 1 && g.c.below(4) == 0 {
        let i = g.c.index(n);
        nodes[i].announce_as = Some(DeviceId(555));
    }
    let (links, mesh) = if g.flip() { (Vec::new(), Some(link(g))) } else { (random_links(g, n), None) };
    let policy = policy(g);
    let packet_budget = (g.c.below(3) == 0).then(|| 5 + g.upto(60));
    for node in &mut nodes {
        if g.c.below(6) == 0 {
            node.packet_budget = Some(2 + g.upto(30));
        }
    }
    let app = NetApp { messages_per_peer: g.upto(6) as u32, streams: 1 + g.c.below(3) as u32 };
    let faults = faults(g, swarm, n);
    s.network = Some(Network { nodes, links, mesh, policy, packet_budget, app, faults });
}

fn link(g: &mut Gen<'_>) -> LinkSpec {
    LinkSpec { latency_ns: [0, 100_000, MS, 3 * MS][g.c.index(4)], jitter_ns: if g.flip() { 0 } else { g.upto(10) * 50_000 } }
}

/// Each pair linked (both ways, or one way) with probability 3/4.
fn random_links(g: &mut Gen<'_>, n: usize) -> Vec<NetLink> {
    let mut out = Vec::new();
    for a in 0..n {
        for b in a + 1..n {
            if g.c.below(4) == 0 {
                continue;
            }
            let spec = link(g);
            let (from, to) = if g.flip() { (a, b) } else { (b, a) };
            out.push(NetLink { from: format!("n{from}"), to: format!("n{to}"), latency_ns: spec.latency_ns, jitter_ns: spec.jitter_ns, two_way: g.c.below(4) != 0 });
        }
    }
    out
}

fn policy(g: &mut Gen<'_>) -> NetworkPolicySpec {
    match g.c.below(8) {
        0 => NetworkPolicySpec::DenyAll,
        1 => deny("NoSessions", vec![PacketCondition::DestinationPort(37021)], "no sessions"),
        2 => deny("QuietPeer", vec![PacketCondition::Direction(PacketDirection::Receive), PacketCondition::SourceIn(Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 32))], "ignore 10.0.0.2"),
        _ => NetworkPolicySpec::AllowAll,
    }
}

/// A rule list denying what matches `when` and allowing the rest.
fn deny(name: &str, when: Vec<PacketCondition>, reason: &str) -> NetworkPolicySpec {
    NetworkPolicySpec::Rules(NetworkRuleList { name: name.into(), rules: vec![NetworkRule { when, then: NetworkVerdict::Deny(reason.into()) }], otherwise: NetworkVerdict::Allow })
}

/// The link-fault kinds in the order swarm mode decides on them.
const LINK_FAULTS: [LinkFault; 5] = [LinkFault::Drop, LinkFault::Duplicate { gap_ns: 0 }, LinkFault::Delay { nanos: 0 }, LinkFault::Reorder { window_ns: 0 }, LinkFault::Partition];

fn faults(g: &mut Gen<'_>, swarm: bool, n: usize) -> NetFaultPlan {
    let mut plan = NetFaultPlan::new();
    for kind in LINK_FAULTS {
        let enabled = if swarm { g.flip() } else { g.c.below(3) == 0 };
        if !enabled {
            continue;
        }
        let fault = match kind {
            LinkFault::Duplicate { .. } => LinkFault::Duplicate { gap_ns: g.upto(20) * 50_000 },
            LinkFault::Delay { .. } => LinkFault::Delay { nanos: (1 + g.upto(20)) * 100_000 },
            LinkFault::Reorder { .. } => LinkFault::Reorder { window_ns: (1 + g.upto(20)) * 100_000 },
            other => other,
        };
        let (on, when) = if fault == LinkFault::Partition { (scope(g, n), window(g)) } else { (LinkScope::Any, chance(g)) };
        plan.link_faults.push(LinkFaultRule { fault, on, when });
    }
    let crashes = if swarm { g.c.below(2) } else { u64::from(g.c.below(4) == 0) };
    for _ in 0..crashes {
        let node = NodeId(g.c.index(n) as u32);
        let crash_at_ns = g.upto(20) * 500_000;
        let restart_at_ns = g.flip().then(|| crash_at_ns + (1 + g.upto(20)) * 500_000);
        plan.node_faults.push(NodeFault { node, crash_at_ns, restart_at_ns });
    }
    plan
}

fn chance(g: &mut Gen<'_>) -> FaultTrigger {
    FaultTrigger::Chance { per_mille: (10 + g.upto(30) * 10) as u16 }
}

/// A partition window that heals, starting early (while the first packets fly) or later.
fn window(g: &mut Gen<'_>) -> FaultTrigger {
    let from_ns = g.upto(20) * 250_000;
    FaultTrigger::Window { from_ns, until_ns: from_ns + (1 + g.upto(40)) * 500_000 }
}

fn scope(g: &mut Gen<'_>, n: usize) -> LinkScope {
    let node = |g: &mut Gen<'_>| NodeId(g.c.index(n) as u32);
    match g.c.below(5) {
        0 => LinkScope::Any,
        1 => LinkScope::Node(node(g)),
        2 => LinkScope::Link { from: node(g), to: node(g) },
        3 => LinkScope::Between { a: node(g), b: node(g) },
        _ => LinkScope::Split { side: (0..n as u32).filter(|_| g.flip()).map(NodeId).collect() },
    }
}
