//! Network policies (seed `000_*`, "Policy": the `NetworkPolicy` trait, `AllowAllPolicy`,
//! `DenyAllPolicy`), plus rule lists a scenario writes.
//!
//! A policy looks at a [`PacketContext`] and answers [`NetworkDecision`]: `Allow` or `Deny` with a
//! reason. Evaluation takes `&self` and reads only the context, so it is deterministic and has no
//! side effects; the service acts on the decision ([`super::service`]).
//!
//! [`NetworkRuleList`] semantics (the seed names "scenario-defined rules" but no form): the first
//! rule whose conditions all hold decides; if none matches, the list's `otherwise` decides (allow
//! by default). [`NetworkPolicySpec`] is how a scenario chooses a policy:
//!
//! ```
//! use model::net::policy::NetworkPolicySpec;
//! let spec: NetworkPolicySpec = ron::from_str(r#"Rules((name: "NoTelnet", rules: [
//!     (when: [DestinationPort(23)], then: Deny("telnet is not allowed")),
//!     (when: [Direction(Receive), Protocol(Udp), Not(SourceIn("10.0.0.0/8"))], then: Deny("foreign datagram")),
//! ]))"#).unwrap();
//! assert_eq!(spec.build().name(), "NoTelnet");
//! ```

use super::packet::{Ipv4Cidr, NetworkInterfaceId, PacketContext, PacketDirection, PacketProtocol};
use crate::ids::ExecutionId;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// A network policy's answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NetworkDecision {
    Allow,
    Deny { reason: String },
}

impl NetworkDecision {
    pub fn deny(reason: impl Into<String>) -> Self {
        NetworkDecision::Deny { reason: reason.into() }
    }

    pub fn is_allow(&self) -> bool {
        matches!(self, NetworkDecision::Allow)
    }
}

/// Decides whether a packet may be sent or received.
pub trait NetworkPolicy {
    /// The decision for this packet, from the context alone.
    fn evaluate(&self, context: &PacketContext<'_>) -> NetworkDecision;

    /// The policy's name (for the audit).
    fn name(&self) -> &str;
}

/// Allows every packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllowAllPolicy;

impl NetworkPolicy for AllowAllPolicy {
    fn evaluate(&self, _context: &PacketContext<'_>) -> NetworkDecision {
        NetworkDecision::Allow
    }

    fn name(&self) -> &str {
        "AllowAllPolicy"
    }
}

/// Denies every packet ("All network traffic denied", the seed reference's reason).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DenyAllPolicy;

impl NetworkPolicy for DenyAllPolicy {
    fn evaluate(&self, _context: &PacketContext<'_>) -> NetworkDecision {
        NetworkDecision::deny("All network traffic denied")
    }

    fn name(&self) -> &str {
        "DenyAllPolicy"
    }
}

/// A named, ordered rule list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkRuleList {
    pub name: String,
    pub rules: Vec<NetworkRule>,
    /// What happens when no rule matches.
    #[serde(default)]
    pub otherwise: NetworkVerdict,
}

/// One rule: when every condition holds, decide `then`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkRule {
    /// Conditions that must all hold; empty = always.
    #[serde(default)]
    pub when: Vec<PacketCondition>,
    pub then: NetworkVerdict,
}

/// What a rule decides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkVerdict {
    #[default]
    Allow,
    Deny(String),
}

impl NetworkVerdict {
    pub fn decision(&self) -> NetworkDecision {
        match self {
            NetworkVerdict::Allow => NetworkDecision::Allow,
            NetworkVerdict::Deny(reason) => NetworkDecision::deny(reason.clone()),
        }
    }
}

/// A test on the packet context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PacketCondition {
    Direction(PacketDirection),
    Protocol(PacketProtocol),
    /// The packet's source address is in this network.
    SourceIn(Ipv4Cidr),
    /// The packet's destination address is in this network.
    DestinationIn(Ipv4Cidr),
    SourcePort(u16),
    DestinationPort(u16),
    Interface(NetworkInterfaceId),
    /// The identity sending or receiving is this one.
    Execution(ExecutionId),
    /// The payload is longer than this many bytes.
    PayloadAbove(u32),
    /// The condition does not hold.
    Not(Box<PacketCondition>),
}

impl PacketCondition {
    pub fn holds(&self, c: &PacketContext<'_>) -> bool {
        let p = c.packet;
        match self {
            PacketCondition::Direction(d) => c.direction == *d,
            PacketCondition::Protocol(pr) => p.protocol == *pr,
            PacketCondition::SourceIn(net) => net.contains(p.source.address),
            PacketCondition::DestinationIn(net) => net.contains(p.destination.address),
            PacketCondition::SourcePort(port) => p.source.port == *port,
            PacketCondition::DestinationPort(port) => p.destination.port == *port,
            PacketCondition::Interface(i) => c.interface_id == *i,
            PacketCondition::Execution(e) => c.execution_id == *e,
            PacketCondition::PayloadAbove(n) => p.payload.len() as u64 > u64::from(*n),
            PacketCondition::Not(inner) => !inner.holds(c),
        }
    }
}

impl NetworkPolicy for NetworkRuleList {
    fn evaluate(&self, context: &PacketContext<'_>) -> NetworkDecision {
        let rule = self.rules.iter().find(|r| r.when.iter().all(|c| c.holds(context)));
        rule.map_or(&self.otherwise, |r| &r.then).decision()
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// A network policy as scenario data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkPolicySpec {
    #[default]
    AllowAll,
    DenyAll,
    Rules(NetworkRuleList),
}

impl NetworkPolicySpec {
    /// The policy this spec describes.
    pub fn build(&self) -> Box<dyn NetworkPolicy> {
        match self {
            NetworkPolicySpec::AllowAll => Box::new(AllowAllPolicy),
            NetworkPolicySpec::DenyAll => Box::new(DenyAllPolicy),
            NetworkPolicySpec::Rules(rules) => Box::new(rules.clone()),
        }
    }
}
