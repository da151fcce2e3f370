//! Resource budgets (interface reference, "Phase 11: Resource Budget Interface"; architecture
//! "Phase 11: Resource Quotas, Budgets, and Deterministic Accounting"; networking `000_*`,
//! "Packet Budget Resource"). Domain layer, not yet wired into the kernel.
//!
//! Six abstract resources, each a strong newtype over `u64` with checked and saturating
//! arithmetic: [`CpuTicks`], [`MemoryUnits`], [`MessageCount`], [`StorageOps`],
//! [`PipelineStages`], [`PacketCount`]. A [`ResourceBudget`] holds an optional limit per resource
//! (`None` = unlimited) and is immutable once made (builders return a new budget); a
//! [`ResourceUsage`] counts what an identity consumed (saturating, starts at zero).
//!
//! Rules kept here (seed "Contract" lists of `ResourceBudget`, `ResourceUsage`, "Budget Attachment
//! to Identity"):
//! - `None` for a resource means unlimited; [`ResourceBudget::is_subset_of`] checks inheritance:
//!   per resource, an unlimited parent allows anything, a limited parent requires a limited child
//!   no larger than it (`budget.child_within_parent`, checked by [`rules`]);
//! - [`ResourceUsage::exceeds`] returns the first violated limit, in field order;
//!   [`ResourceUsage::remaining`] subtracts saturating;
//! - [`derive_child_budget`] is the spawn-time check: a child asking for no budget inherits its
//!   parent's (a choice where the seed is silent: an unlimited child of a limited parent would be
//!   an escalation), a child asking for more than its parent is refused with
//!   `InvalidBudgetDerivation`.
//!
//! Enforcement (consume before effect, exhaustion cancels the identity) is in [`enforcement`], the
//! resource audit log in [`audit`], the invariant checkers in [`rules`].

pub mod audit;
pub mod enforcement;
pub mod rules;

use alloc::string::String;
use core::fmt;
use serde::{Deserialize, Serialize};

macro_rules! resource {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            pub const ZERO: $name = $name(0);

            pub const fn new(units: u64) -> Self {
                $name(units)
            }

            /// The number of units.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// `self + other`, or `None` on overflow.
            pub fn checked_add(self, other: Self) -> Option<Self> {
                self.0.checked_add(other.0).map($name)
            }

            /// `self + other`, saturating at `u64::MAX` (never panics).
            pub fn saturating_add(self, other: Self) -> Self {
                $name(self.0.saturating_add(other.0))
            }

            /// `self - other`, or `None` below zero.
            pub fn checked_sub(self, other: Self) -> Option<Self> {
                self.0.checked_sub(other.0).map($name)
            }

            /// `self - other`, saturating at zero.
            pub fn saturating_sub(self, other: Self) -> Self {
                $name(self.0.saturating_sub(other.0))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} {}", self.0, stringify!($name))
            }
        }
    };
}

resource!(
    /// Simulated execution steps (not real CPU cycles).
    CpuTicks
);
resource!(
    /// Abstract memory units (not bytes or pages). Defined but not enforced, as in the seed.
    MemoryUnits
);
resource!(
    /// Messages sent or received; each send and each receive is one unit.
    MessageCount
);
resource!(
    /// Storage read and write operations, independent of data size.
    StorageOps
);
resource!(
    /// Pipeline stages entered; each stage entry is one unit (retries are not new entries).
    PipelineStages
);
resource!(
    /// Network packets sent or received (networking seed `000_*`); each packet is one unit.
    PacketCount
);

/// Which resource, payload-free (the seed's `resource_type` strings as an enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResourceKind {
    CpuTicks,
    MemoryUnits,
    MessageCount,
    StorageOps,
    PipelineStages,
    PacketCount,
}

impl ResourceKind {
    /// Every resource, in field order (the order `exceeds` reports in).
    pub const ALL: [ResourceKind; 6] = [
        ResourceKind::CpuTicks,
        ResourceKind::MemoryUnits,
        ResourceKind::MessageCount,
        ResourceKind::StorageOps,
        ResourceKind::PipelineStages,
        ResourceKind::PacketCount,
    ];

    /// The seed's name of the resource type (`"MessageCount"`).
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::CpuTicks => "CpuTicks",
            ResourceKind::MemoryUnits => "MemoryUnits",
            ResourceKind::MessageCount => "MessageCount",
            ResourceKind::StorageOps => "StorageOps",
            ResourceKind::PipelineStages => "PipelineStages",
            ResourceKind::PacketCount => "PacketCount",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Immutable limits, one optional limit per resource (`None` = unlimited).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceBudget {
    #[serde(default)]
    pub cpu_ticks: Option<CpuTicks>,
    #[serde(default)]
    pub memory_units: Option<MemoryUnits>,
    #[serde(default)]
    pub message_count: Option<MessageCount>,
    #[serde(default)]
    pub storage_ops: Option<StorageOps>,
    #[serde(default)]
    pub pipeline_stages: Option<PipelineStages>,
    #[serde(default)]
    pub packet_count: Option<PacketCount>,
}

impl ResourceBudget {
    /// No constraints.
    pub const fn unlimited() -> Self {
        ResourceBudget { cpu_ticks: None, memory_units: None, message_count: None, storage_ops: None, pipeline_stages: None, packet_count: None }
    }

    /// Every resource exhausted from the start.
    pub const fn zero() -> Self {
        ResourceBudget {
            cpu_ticks: Some(CpuTicks(0)),
            memory_units: Some(MemoryUnits(0)),
            message_count: Some(MessageCount(0)),
            storage_ops: Some(StorageOps(0)),
            pipeline_stages: Some(PipelineStages(0)),
            packet_count: Some(PacketCount(0)),
        }
    }

    pub fn with_cpu_ticks(self, limit: CpuTicks) -> Self {
        ResourceBudget { cpu_ticks: Some(limit), ..self }
    }
    pub fn with_memory_units(self, limit: MemoryUnits) -> Self {
        ResourceBudget { memory_units: Some(limit), ..self }
    }
    pub fn with_message_count(self, limit: MessageCount) -> Self {
        ResourceBudget { message_count: Some(limit), ..self }
    }
    pub fn with_storage_ops(self, limit: StorageOps) -> Self {
        ResourceBudget { storage_ops: Some(limit), ..self }
    }
    pub fn with_pipeline_stages(self, limit: PipelineStages) -> Self {
        ResourceBudget { pipeline_stages: Some(limit), ..self }
    }
    pub fn with_packet_count(self, limit: PacketCount) -> Self {
        ResourceBudget { packet_count: Some(limit), ..self }
    }

    /// The limit of `kind` in units, `None` if unlimited.
    pub fn limit(&self, kind: ResourceKind) -> Option<u64> {
        match kind {
            ResourceKind::CpuTicks => self.cpu_ticks.map(CpuTicks::get),
            ResourceKind::MemoryUnits => self.memory_units.map(MemoryUnits::get),
            ResourceKind::MessageCount => self.message_count.map(MessageCount::get),
            ResourceKind::StorageOps => self.storage_ops.map(StorageOps::get),
            ResourceKind::PipelineStages => self.pipeline_stages.map(PipelineStages::get),
            ResourceKind::PacketCount => self.packet_count.map(PacketCount::get),
        }
    }

    /// A copy with the limit of `kind` set to `limit`.
    pub fn with_limit(self, kind: ResourceKind, limit: Option<u64>) -> Self {
        match kind {
            ResourceKind::CpuTicks => ResourceBudget { cpu_ticks: limit.map(CpuTicks), ..self },
            ResourceKind::MemoryUnits => ResourceBudget { memory_units: limit.map(MemoryUnits), ..self },
            ResourceKind::MessageCount => ResourceBudget { message_count: limit.map(MessageCount), ..self },
            ResourceKind::StorageOps => ResourceBudget { storage_ops: limit.map(StorageOps), ..self },
            ResourceKind::PipelineStages => ResourceBudget { pipeline_stages: limit.map(PipelineStages), ..self },
            ResourceKind::PacketCount => ResourceBudget { packet_count: limit.map(PacketCount), ..self },
        }
    }

    /// Child ≤ parent, resource by resource: an unlimited parent allows anything; a limited parent
    /// requires a limited child that is no larger.
    pub fn is_subset_of(&self, parent: &ResourceBudget) -> bool {
        ResourceKind::ALL.iter().all(|&k| match (self.limit(k), parent.limit(k)) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(child), Some(parent)) => child <= parent,
        })
    }

    /// The most restrictive of both, resource by resource.
    pub fn min(&self, other: &ResourceBudget) -> ResourceBudget {
        ResourceKind::ALL.iter().fold(ResourceBudget::unlimited(), |acc, &k| {
            let limit = match (self.limit(k), other.limit(k)) {
                (None, x) | (x, None) => x,
                (Some(a), Some(b)) => Some(a.min(b)),
            };
            acc.with_limit(k, limit)
        })
    }

    /// Whether no resource is limited.
    pub fn is_unlimited(&self) -> bool {
        ResourceKind::ALL.iter().all(|&k| self.limit(k).is_none())
    }
}

/// An identity's optional budget as a budget (`None` = unlimited).
pub fn effective(budget: Option<&ResourceBudget>) -> ResourceBudget {
    budget.copied().unwrap_or(ResourceBudget::unlimited())
}

/// Whether a child's optional budget inherits from its parent's (child ≤ parent; `None` is
/// unlimited on both sides).
pub fn budget_inherits_from(child: Option<&ResourceBudget>, parent: Option<&ResourceBudget>) -> bool {
    effective(child).is_subset_of(&effective(parent))
}

/// The spawn-time check of "Budget Attachment to Identity": the budget a child gets when it asks
/// for `requested` under a parent holding `parent`.
///
/// No request inherits the parent's budget; a request within the parent's is granted as asked; a
/// request exceeding it is refused with `InvalidBudgetDerivation` ("child budget exceeds parent").
pub fn derive_child_budget(parent: Option<&ResourceBudget>, requested: Option<ResourceBudget>) -> Result<Option<ResourceBudget>, ResourceError> {
    match requested {
        None => Ok(parent.copied()),
        Some(child) if budget_inherits_from(Some(&child), parent) => Ok(Some(child)),
        Some(_) => Err(ResourceError::InvalidBudgetDerivation { reason: "Budget inheritance violation: child budget exceeds parent".into() }),
    }
}

/// What an identity consumed so far (always tracked, starts at zero, saturating).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceUsage {
    pub cpu_ticks: CpuTicks,
    pub memory_units: MemoryUnits,
    pub message_count: MessageCount,
    pub storage_ops: StorageOps,
    pub pipeline_stages: PipelineStages,
    pub packet_count: PacketCount,
}

impl ResourceUsage {
    pub const fn zero() -> Self {
        ResourceUsage {
            cpu_ticks: CpuTicks(0),
            memory_units: MemoryUnits(0),
            message_count: MessageCount(0),
            storage_ops: StorageOps(0),
            pipeline_stages: PipelineStages(0),
            packet_count: PacketCount(0),
        }
    }

    /// Units of `kind` consumed.
    pub fn get(&self, kind: ResourceKind) -> u64 {
        match kind {
            ResourceKind::CpuTicks => self.cpu_ticks.0,
            ResourceKind::MemoryUnits => self.memory_units.0,
            ResourceKind::MessageCount => self.message_count.0,
            ResourceKind::StorageOps => self.storage_ops.0,
            ResourceKind::PipelineStages => self.pipeline_stages.0,
            ResourceKind::PacketCount => self.packet_count.0,
        }
    }

    /// Adds `units` of `kind`, saturating.
    pub fn add(&mut self, kind: ResourceKind, units: u64) {
        let slot = match kind {
            ResourceKind::CpuTicks => &mut self.cpu_ticks.0,
            ResourceKind::MemoryUnits => &mut self.memory_units.0,
            ResourceKind::MessageCount => &mut self.message_count.0,
            ResourceKind::StorageOps => &mut self.storage_ops.0,
            ResourceKind::PipelineStages => &mut self.pipeline_stages.0,
            ResourceKind::PacketCount => &mut self.packet_count.0,
        };
        *slot = slot.saturating_add(units);
    }

    pub fn consume_cpu_ticks(&mut self, ticks: CpuTicks) {
        self.cpu_ticks = self.cpu_ticks.saturating_add(ticks);
    }
    pub fn consume_memory_units(&mut self, units: MemoryUnits) {
        self.memory_units = self.memory_units.saturating_add(units);
    }
    pub fn consume_message(&mut self) {
        self.message_count = self.message_count.saturating_add(MessageCount(1));
    }
    pub fn consume_storage_op(&mut self) {
        self.storage_ops = self.storage_ops.saturating_add(StorageOps(1));
    }
    pub fn consume_pipeline_stage(&mut self) {
        self.pipeline_stages = self.pipeline_stages.saturating_add(PipelineStages(1));
    }
    pub fn consume_packet(&mut self) {
        self.packet_count = self.packet_count.saturating_add(PacketCount(1));
    }

    /// The first limit of `budget` this usage is above, in field order.
    pub fn exceeds(&self, budget: &ResourceBudget) -> Option<ResourceExceeded> {
        ResourceKind::ALL.iter().find_map(|&k| {
            let limit = budget.limit(k)?;
            (self.get(k) > limit).then(|| ResourceExceeded::new(k, limit, self.get(k)))
        })
    }

    /// What is left of `budget` (`None` where unlimited), subtracting saturating.
    pub fn remaining(&self, budget: &ResourceBudget) -> ResourceBudget {
        ResourceKind::ALL.iter().fold(ResourceBudget::unlimited(), |acc, &k| acc.with_limit(k, budget.limit(k).map(|l| l.saturating_sub(self.get(k)))))
    }
}

impl fmt::Display for ResourceUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cpu={} mem={} msg={} storage={} stages={} packets={}",
            self.cpu_ticks.0, self.memory_units.0, self.message_count.0, self.storage_ops.0, self.pipeline_stages.0, self.packet_count.0
        )
    }
}

/// A limit that usage went above: which resource, the limit and the usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceExceeded {
    CpuTicks { limit: CpuTicks, usage: CpuTicks },
    MemoryUnits { limit: MemoryUnits, usage: MemoryUnits },
    MessageCount { limit: MessageCount, usage: MessageCount },
    StorageOps { limit: StorageOps, usage: StorageOps },
    PipelineStages { limit: PipelineStages, usage: PipelineStages },
    PacketCount { limit: PacketCount, usage: PacketCount },
}

impl ResourceExceeded {
    pub fn new(kind: ResourceKind, limit: u64, usage: u64) -> Self {
        match kind {
            ResourceKind::CpuTicks => ResourceExceeded::CpuTicks { limit: CpuTicks(limit), usage: CpuTicks(usage) },
            ResourceKind::MemoryUnits => ResourceExceeded::MemoryUnits { limit: MemoryUnits(limit), usage: MemoryUnits(usage) },
            ResourceKind::MessageCount => ResourceExceeded::MessageCount { limit: MessageCount(limit), usage: MessageCount(usage) },
            ResourceKind::StorageOps => ResourceExceeded::StorageOps { limit: StorageOps(limit), usage: StorageOps(usage) },
            ResourceKind::PipelineStages => ResourceExceeded::PipelineStages { limit: PipelineStages(limit), usage: PipelineStages(usage) },
            ResourceKind::PacketCount => ResourceExceeded::PacketCount { limit: PacketCount(limit), usage: PacketCount(usage) },
        }
    }

    fn parts(&self) -> (ResourceKind, u64, u64) {
        match *self {
            ResourceExceeded::CpuTicks { limit, usage } => (ResourceKind::CpuTicks, limit.0, usage.0),
            ResourceExceeded::MemoryUnits { limit, usage } => (ResourceKind::MemoryUnits, limit.0, usage.0),
            ResourceExceeded::MessageCount { limit, usage } => (ResourceKind::MessageCount, limit.0, usage.0),
            ResourceExceeded::StorageOps { limit, usage } => (ResourceKind::StorageOps, limit.0, usage.0),
            ResourceExceeded::PipelineStages { limit, usage } => (ResourceKind::PipelineStages, limit.0, usage.0),
            ResourceExceeded::PacketCount { limit, usage } => (ResourceKind::PacketCount, limit.0, usage.0),
        }
    }

    pub fn kind(&self) -> ResourceKind {
        self.parts().0
    }
    pub fn limit(&self) -> u64 {
        self.parts().1
    }
    pub fn usage(&self) -> u64 {
        self.parts().2
    }
}

impl fmt::Display for ResourceExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, limit, usage) = self.parts();
        write!(f, "{kind} limit={limit}, usage={usage}")
    }
}

/// Consumption between two usages (`after - before`, saturating per resource).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDelta {
    pub cpu_ticks: u64,
    pub memory_units: u64,
    pub message_count: u64,
    pub storage_ops: u64,
    pub pipeline_stages: u64,
    pub packet_count: u64,
}

impl ResourceDelta {
    pub fn from(before: &ResourceUsage, after: &ResourceUsage) -> Self {
        let d = |k| after.get(k).saturating_sub(before.get(k));
        ResourceDelta {
            cpu_ticks: d(ResourceKind::CpuTicks),
            memory_units: d(ResourceKind::MemoryUnits),
            message_count: d(ResourceKind::MessageCount),
            storage_ops: d(ResourceKind::StorageOps),
            pipeline_stages: d(ResourceKind::PipelineStages),
            packet_count: d(ResourceKind::PacketCount),
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == ResourceDelta::default()
    }
}

impl fmt::Display for ResourceDelta {
    /// `cpu=+10, msg=+1` (resources that did not change are left out; `none` if nothing did).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            ("cpu", self.cpu_ticks),
            ("mem", self.memory_units),
            ("msg", self.message_count),
            ("storage", self.storage_ops),
            ("stages", self.pipeline_stages),
            ("packets", self.packet_count),
        ];
        let mut first = true;
        for (name, n) in parts.iter().filter(|(_, n)| *n > 0) {
            write!(f, "{}{name}=+{n}", if first { "" } else { ", " })?;
            first = false;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// Budget errors of "Error Types" (Phase 11).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceError {
    BudgetExceeded(ResourceExceeded),
    BudgetMissing { operation: String },
    InvalidBudgetDerivation { reason: String },
}

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceError::BudgetExceeded(e) => write!(f, "Resource budget exceeded: {e}"),
            ResourceError::BudgetMissing { operation } => write!(f, "Resource budget missing for {operation}"),
            ResourceError::InvalidBudgetDerivation { reason } => write!(f, "Invalid budget derivation: {reason}"),
        }
    }
}

impl crate::trace_hash::Fold for ResourceBudget {
    /// One word per resource: the limit plus one, or 0 for unlimited.
    fn fold(&self, h: &mut crate::trace_hash::TraceHasher) {
        for k in ResourceKind::ALL {
            h.word(self.limit(k).map_or(0, |l| l.saturating_add(1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn arithmetic_is_checked_or_saturating_at_both_ends() {
        assert_eq!(CpuTicks::new(100).checked_add(CpuTicks::new(50)), Some(CpuTicks::new(150)));
        assert_eq!(CpuTicks::new(100).saturating_add(CpuTicks::new(50)), CpuTicks::new(150));
        assert_eq!(CpuTicks::new(u64::MAX).checked_add(CpuTicks::new(1)), None);
        assert_eq!(CpuTicks::new(u64::MAX).saturating_add(CpuTicks::new(1)), CpuTicks::new(u64::MAX));
        assert_eq!(PacketCount::new(3).checked_sub(PacketCount::new(4)), None);
        assert_eq!(PacketCount::new(3).saturating_sub(PacketCount::new(4)), PacketCount::ZERO);
        assert_eq!(StorageOps::new(7).checked_sub(StorageOps::new(7)), Some(StorageOps::ZERO));
        assert_eq!(MessageCount::new(10).to_string(), "10 MessageCount");
    }

    #[test]
    fn limits_read_back_per_kind() {
        for (i, k) in ResourceKind::ALL.into_iter().enumerate() {
            let b = ResourceBudget::unlimited().with_limit(k, Some(i as u64 + 1));
            for other in ResourceKind::ALL {
                assert_eq!(b.limit(other), (other == k).then_some(i as u64 + 1), "{k} vs {other}");
            }
            let mut u = ResourceUsage::zero();
            u.add(k, 5);
            assert_eq!(u.get(k), 5);
            assert_eq!(ResourceKind::ALL.iter().map(|&o| u.get(o)).sum::<u64>(), 5);
        }
    }
}
