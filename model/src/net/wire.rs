//! The wire: what the network does to one transmitted packet (the issue's "Links carry latency
//! and jitter, loss, duplication and reordering on the wire, one-way and two-way partitions and
//! heals, and node crash and restart").
//!
//! [`Wire::transmit`] takes a packet a node sends at virtual time `t` and returns its
//! [`Delivery`]s: none (lost), one, or two (duplicated), each with a node and an arrival time. A
//! broadcast goes over every link out of the sender, each copy on its own. It depends only on the
//! topology, the fault plan, the wire's per-rule counters and the draws it takes from the
//! [`Choices`]; the caller schedules the deliveries and reports each one's arrival back
//! ([`Wire::arrived`]) so the record shows what actually crossed the network.
//!
//! Per transmission over the link `from -> to`, in this order:
//! 1. the sender must be up and the link must not be cut at `t` (no draws otherwise);
//! 2. each non-partition rule whose scope matches the link and whose trigger is active at `t` is
//!    tried in plan order (the message faults' triggers; `Next` / `EveryNth` count the
//!    transmissions the rule was tried on). A firing `Drop` loses the packet and ends the
//!    evaluation; `Delay` adds its time, `Reorder` a drawn `0..=window_ns`, `Duplicate` asks for a
//!    second copy `gap_ns` after the first — these compose (a packet may be delayed and
//!    duplicated), unlike message faults where one fault per operation fires;
//! 3. the link's jitter is drawn (`0..=jitter_ns`);
//! 4. each copy arrives at `t + latency + delays + jitter` (the duplicate `gap_ns` later) — unless
//!    the link is cut or the receiver is down at that instant, when that copy is lost.
//!
//! So a packet crosses only if its link is up both when it is sent and when it arrives
//! (`net.no_delivery_across_partition`); a partition that starts and heals entirely while a packet
//! is in flight does not catch it (the packet was "past the cut"). Every draw is 0 for "nothing
//! unusual": no loss, no extra delay, no jitter.

use super::packet::Ipv4Address;
use super::topology::{LinkFault, LinkSpec, NetFaultPlan, NodeId, Topology};
use crate::bugs::{BugSet, PlantedBug};
use crate::choices::Choices;
use crate::fault::FaultTrigger;
use crate::time::{Duration, Instant};
use crate::trace_hash::{Fold, TraceHasher};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// One transmission over one link (a counter; a broadcast is one per link).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WirePacketId(pub u64);

/// Why a copy did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LossCause {
    /// No link from the sender to that address.
    NoLink,
    /// The sender was down when sending, or the receiver when it would have arrived.
    NodeDown,
    /// The link was cut when sending or when it would have arrived.
    Partition,
    /// A `Drop` rule fired.
    Dropped,
}

/// What the wire records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireEvent {
    /// A transmission over `from -> to` starts.
    Sent { packet: WirePacketId, from: NodeId, to: NodeId, at: Instant },
    /// A copy is lost (copy 0 is the original, 1 the duplicate).
    Lost { packet: WirePacketId, copy: u8, cause: LossCause },
    /// A copy will arrive at `arrival`.
    Scheduled { packet: WirePacketId, copy: u8, arrival: Instant },
    /// A copy arrived (reported by the caller when its time came).
    Arrived { packet: WirePacketId, copy: u8, at: Instant },
}

impl Fold for WireEvent {
    fn fold(&self, h: &mut TraceHasher) {
        match *self {
            WireEvent::Sent { packet, from, to, at } => {
                h.tag(0, 0);
                h.word(packet.0);
                h.word((u64::from(from.0) << 32) | u64::from(to.0));
                h.word(at.nanos());
            }
            WireEvent::Lost { packet, copy, cause } => {
                h.tag(1, (u64::from(copy) << 8) | cause as u64);
                h.word(packet.0);
            }
            WireEvent::Scheduled { packet, copy, arrival } => {
                h.tag(2, u64::from(copy));
                h.word(packet.0);
                h.word(arrival.nanos());
            }
            WireEvent::Arrived { packet, copy, at } => {
                h.tag(3, u64::from(copy));
                h.word(packet.0);
                h.word(at.nanos());
            }
        }
    }
}

/// A copy the caller must deliver to `to` at `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Delivery {
    pub packet: WirePacketId,
    pub copy: u8,
    pub from: NodeId,
    pub to: NodeId,
    pub at: Instant,
}

/// How often a link-fault rule was tried and fired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleCount {
    pub evaluated: u64,
    pub fired: u64,
}

/// The network between the nodes.
#[derive(Clone, Debug)]
pub struct Wire {
    topology: Topology,
    plan: NetFaultPlan,
    counts: Vec<RuleCount>,
    next_packet: u64,
    events: Vec<WireEvent>,
    bugs: BugSet,
}

impl Wire {
    /// A wire over a topology with a fault plan (validated against it).
    pub fn new(topology: Topology, plan: NetFaultPlan) -> Result<Self, alloc::string::String> {
        Self::with_bugs(topology, plan, BugSet::default())
    }

    pub fn with_bugs(topology: Topology, plan: NetFaultPlan, bugs: BugSet) -> Result<Self, alloc::string::String> {
        plan.validate(topology.len())?;
        let counts = alloc::vec![RuleCount::default(); plan.link_faults.len()];
        Ok(Wire { topology, plan, counts, next_packet: 0, events: Vec::new(), bugs })
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn plan(&self) -> &NetFaultPlan {
        &self.plan
    }

    /// Per link-fault rule, in plan order.
    pub fn rule_counts(&self) -> &[RuleCount] {
        &self.counts
    }

    /// Sends a packet addressed to `destination` from `from` at `sent_at`; appends its deliveries
    /// to `out`. An address no node has is recorded as a transmission from the sender to itself,
    /// lost for want of a link.
    pub fn transmit(&mut self, from: NodeId, destination: Ipv4Address, sent_at: Instant, choices: &mut Choices, out: &mut Vec<Delivery>) {
        if destination.is_broadcast() {
            let neighbours: Vec<NodeId> = self.topology.neighbours(from).collect();
            for to in neighbours {
                self.transmit_over(from, to, sent_at, choices, out);
            }
            return;
        }
        match self.topology.node_at(destination) {
            Some(to) => self.transmit_over(from, to, sent_at, choices, out),
            None => {
                let packet = self.mint();
                self.events.push(WireEvent::Sent { packet, from, to: from, at: sent_at });
                self.events.push(WireEvent::Lost { packet, copy: 0, cause: LossCause::NoLink });
            }
        }
    }

    /// The caller delivered `delivery` (its time came).
    pub fn arrived(&mut self, delivery: &Delivery) {
        self.events.push(WireEvent::Arrived { packet: delivery.packet, copy: delivery.copy, at: delivery.at });
    }

    /// Takes the events recorded so far.
    pub fn take_events(&mut self) -> Vec<WireEvent> {
        core::mem::take(&mut self.events)
    }

    fn mint(&mut self) -> WirePacketId {
        let id = WirePacketId(self.next_packet);
        self.next_packet += 1;
        id
    }

    fn transmit_over(&mut self, from: NodeId, to: NodeId, t: Instant, choices: &mut Choices, out: &mut Vec<Delivery>) {
        let packet = self.mint();
        self.events.push(WireEvent::Sent { packet, from, to, at: t });
        let Some(link) = self.topology.link(from, to) else {
            self.events.push(WireEvent::Lost { packet, copy: 0, cause: LossCause::NoLink });
            return;
        };
        let cause = if !self.plan.is_up(from, t.nanos()) {
            Some(LossCause::NodeDown)
        } else if self.plan.is_cut(from, to, t.nanos()) {
            Some(LossCause::Partition)
        } else {
            None
        };
        if let Some(cause) = cause {
            self.events.push(WireEvent::Lost { packet, copy: 0, cause });
            return;
        }
        let Some(faults) = self.apply_rules(from, to, t, choices) else {
            self.events.push(WireEvent::Lost { packet, copy: 0, cause: LossCause::Dropped });
            return;
        };
        let arrival = t.after(Duration(link_delay(link, faults.extra_ns, choices)));
        self.schedule(Delivery { packet, copy: 0, from, to, at: arrival }, out);
        if let Some(gap) = faults.duplicate_gap_ns {
            self.schedule(Delivery { packet, copy: 1, from, to, at: arrival.after(Duration(gap)) }, out);
        }
    }

    /// The extra delay and duplication the rules ask for, or `None` if a `Drop` fired.
    fn apply_rules(&mut self, from: NodeId, to: NodeId, t: Instant, choices: &mut Choices) -> Option<RuleEffects> {
        let mut effects = RuleEffects::default();
        for (rule, count) in self.plan.link_faults.iter().zip(self.counts.iter_mut()) {
            if rule.fault == LinkFault::Partition || !rule.on.matches(from, to) || !rule.when.active_at(t.nanos()) {
                continue;
            }
            count.evaluated += 1;
            if !trigger_fires(rule.when, count.evaluated, choices) {
                continue;
            }
            count.fired += 1;
            match rule.fault {
                LinkFault::Drop => return None,
                LinkFault::Delay { nanos } => effects.extra_ns = effects.extra_ns.saturating_add(nanos),
                LinkFault::Reorder { window_ns } => effects.extra_ns = effects.extra_ns.saturating_add(choices.below(window_ns.saturating_add(1))),
                LinkFault::Duplicate { gap_ns } => effects.duplicate_gap_ns = effects.duplicate_gap_ns.or(Some(gap_ns)),
                LinkFault::Partition => unreachable!("skipped above"),
            }
        }
        Some(effects)
    }

    /// A copy arrives unless its receiver is down or its link cut at the arrival instant.
    fn schedule(&mut self, d: Delivery, out: &mut Vec<Delivery>) {
        let cause = if !self.plan.is_up(d.to, d.at.nanos()) {
            Some(LossCause::NodeDown)
        } else if self.plan.is_cut(d.from, d.to, d.at.nanos()) && !self.bugs.has(PlantedBug::PartitionCheckedAtSendOnly) {
            Some(LossCause::Partition)
        } else {
            None
        };
        match cause {
            Some(cause) => self.events.push(WireEvent::Lost { packet: d.packet, copy: d.copy, cause }),
            None => {
                self.events.push(WireEvent::Scheduled { packet: d.packet, copy: d.copy, arrival: d.at });
                out.push(d);
            }
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct RuleEffects {
    extra_ns: u64,
    duplicate_gap_ns: Option<u64>,
}

/// Latency, the rules' extra delay and a drawn jitter.
fn link_delay(link: LinkSpec, extra_ns: u64, choices: &mut Choices) -> u64 {
    let jitter = choices.below(link.jitter_ns.saturating_add(1));
    link.latency_ns.saturating_add(extra_ns).saturating_add(jitter)
}

/// Whether a trigger fires on the `nth` (1-based) transmission it was tried on; time-based
/// triggers were checked for activity before (the message faults' rule, `kernel::faults`).
fn trigger_fires(trigger: FaultTrigger, nth: u64, choices: &mut Choices) -> bool {
    match trigger {
        FaultTrigger::Always | FaultTrigger::Window { .. } | FaultTrigger::Periodic { .. } => true,
        FaultTrigger::Next { count } => nth <= u64::from(count),
        FaultTrigger::EveryNth { n } => n > 0 && nth.is_multiple_of(u64::from(n)),
        FaultTrigger::Chance { per_mille } => choices.chance(per_mille),
    }
}
