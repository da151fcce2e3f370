//! Policy-driven capability derivation (interface reference and architecture, "Phase 10:
//! Policy-Driven Capability Derivation"). Domain layer, not yet wired into the kernel.
//!
//! A policy may answer `Allow { derived: Some(authority) }`: the operation proceeds with a
//! *subset* of the current capabilities. [`ScopedAuthority`] is the authority of one pipeline
//! execution: the pool of capabilities it holds, the execution authority (what the pipeline may
//! use, possibly restricted at `OnPipelineStart`) and, while a stage runs, the stage authority
//! (possibly restricted further at `OnPipelineStageStart`).
//!
//! Security invariants kept here ("Security Invariants", "Enforcement Flow"):
//! 1. **No escalation**: every derived set must be a subset of the authority it derives from,
//!    checked for each policy's proposal separately so the offending policy is named; otherwise
//!    the derivation fails with [`PolicyDerivedAuthorityInvalid`] (`derive.subset`);
//! 2. **Scoped isolation**: a stage-scoped derivation holds for that stage only; when the stage
//!    ends the next stage sees the execution authority again (`derive.stage_scope_restored`);
//! 3. **Explainable**: [`CapabilityDelta`] lists what was removed and (for a rejected proposal)
//!    what would have been added;
//! 4. the capability check uses both: a stage may use a capability only if the pool holds it and
//!    the authority in force allows it (`has_capability_with_authority`).
//!
//! Choices where the seed is silent:
//! - several policies proposing derivations (a `ComposedPolicy`): each proposal is checked against
//!   the current authority, and the result is their intersection (every policy restricts);
//! - capabilities a stage produces join the pool *and* the execution authority: the policy
//!   restricted what the pipeline started with, not what the pipeline itself creates (otherwise a
//!   restricted pipeline could never pass a capability from one stage to the next);
//! - `CapabilitySet` is a `BTreeSet` (the seed's `HashSet` would make iteration order, and so
//!   reports and hashes, depend on hashing).

use crate::bugs::{BugSet, PlantedBug};
use crate::pipeline::{PipelineId, StageId};
use crate::policy::PolicyEvent;
use crate::rule_check::RuleSink;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A set of capability ids. Serializes as a sorted list (`[1, 2]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CapabilitySet {
    pub capabilities: BTreeSet<u64>,
}

impl CapabilitySet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn contains(&self, cap: u64) -> bool {
        self.capabilities.contains(&cap)
    }

    pub fn insert(&mut self, cap: u64) -> bool {
        self.capabilities.insert(cap)
    }

    pub fn is_subset_of(&self, other: &CapabilitySet) -> bool {
        self.capabilities.is_subset(&other.capabilities)
    }

    pub fn intersection(&self, other: &CapabilitySet) -> CapabilitySet {
        self.capabilities.intersection(&other.capabilities).copied().collect()
    }

    /// `self \ other`.
    pub fn difference(&self, other: &CapabilitySet) -> CapabilitySet {
        self.capabilities.difference(&other.capabilities).copied().collect()
    }

    pub fn union(&self, other: &CapabilitySet) -> CapabilitySet {
        self.capabilities.union(&other.capabilities).copied().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.capabilities.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.capabilities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.capabilities.is_empty()
    }

    pub fn to_vec(&self) -> Vec<u64> {
        self.iter().collect()
    }
}

impl FromIterator<u64> for CapabilitySet {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        CapabilitySet { capabilities: iter.into_iter().collect() }
    }
}

impl<const N: usize> From<[u64; N]> for CapabilitySet {
    fn from(caps: [u64; N]) -> Self {
        caps.into_iter().collect()
    }
}

impl fmt::Display for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, self.iter())
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: impl Iterator<Item = u64>) -> fmt::Result {
    f.write_str("[")?;
    for (i, c) in items.enumerate() {
        write!(f, "{}{c}", if i == 0 { "" } else { ", " })?;
    }
    f.write_str("]")
}

impl Fold for CapabilitySet {
    /// The length, then the ids in ascending order.
    fn fold(&self, h: &mut TraceHasher) {
        h.word(self.len() as u64);
        self.iter().for_each(|c| h.word(c));
    }
}

/// A restricted authority a policy proposes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedAuthority {
    pub capabilities: CapabilitySet,
    /// Named restrictions ("read-only", "no-network"); recorded, not interpreted (future use).
    #[serde(default)]
    pub constraints: Vec<String>,
}

impl DerivedAuthority {
    pub fn from_capabilities(caps: impl IntoIterator<Item = u64>) -> Self {
        DerivedAuthority { capabilities: caps.into_iter().collect(), constraints: Vec::new() }
    }

    pub fn with_constraint(mut self, constraint: impl Into<String>) -> Self {
        self.constraints.push(constraint.into());
        self
    }
}

impl Fold for DerivedAuthority {
    fn fold(&self, h: &mut TraceHasher) {
        self.capabilities.fold(h);
        h.word(self.constraints.len() as u64);
        self.constraints.iter().for_each(|c| h.str(c));
    }
}

/// What changed between an authority and a derived one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityDelta {
    pub removed: Vec<u64>,
    /// Constraints of the derived authority (future use).
    pub restricted: Vec<String>,
    /// Capabilities the derived set has that the current one does not: must stay empty.
    pub added: Vec<u64>,
}

impl CapabilityDelta {
    pub fn from(before: &CapabilitySet, after: &CapabilitySet) -> Self {
        CapabilityDelta { removed: before.difference(after).to_vec(), restricted: Vec::new(), added: after.difference(before).to_vec() }
    }

    /// The delta of applying `derived` to `before`, with its constraints.
    pub fn of_derivation(before: &CapabilitySet, derived: &DerivedAuthority) -> Self {
        CapabilityDelta { restricted: derived.constraints.clone(), ..CapabilityDelta::from(before, &derived.capabilities) }
    }

    /// Whether the derived set would add authority.
    pub fn is_escalation(&self) -> bool {
        !self.added.is_empty()
    }
}

impl fmt::Display for CapabilityDelta {
    /// `removed: [3, 4], added: []`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("removed: ")?;
        write_list(f, self.removed.iter().copied())?;
        f.write_str(", added: ")?;
        write_list(f, self.added.iter().copied())
    }
}

/// A policy tried to derive more authority than available (a policy bug, or malice).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDerivedAuthorityInvalid {
    pub policy: String,
    pub event: PolicyEvent,
    pub reason: String,
    pub delta: CapabilityDelta,
    pub pipeline_id: Option<PipelineId>,
}

impl fmt::Display for PolicyDerivedAuthorityInvalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy {} at {:?}: {} ({})", self.policy, self.event, self.reason, self.delta)
    }
}

/// Applies the proposals of the policies that allowed with a derived authority to `current`.
///
/// Each proposal must be a subset of `current`; the first that is not makes the derivation fail,
/// naming its policy. The result is `current` intersected with every proposal (`current` itself
/// if there is none).
pub fn derive<'a>(
    current: &CapabilitySet,
    proposals: impl IntoIterator<Item = (&'a str, &'a DerivedAuthority)>,
    event: PolicyEvent,
    pipeline_id: Option<PipelineId>,
    bugs: BugSet,
) -> Result<CapabilitySet, Box<PolicyDerivedAuthorityInvalid>> {
    let mut result = current.clone();
    for (policy, derived) in proposals {
        if !derived.capabilities.is_subset_of(current) && !bugs.has(PlantedBug::DerivedAuthorityNotSubsetChecked) {
            return Err(Box::new(PolicyDerivedAuthorityInvalid {
                policy: policy.into(),
                event,
                reason: "Derived authority grants more capabilities than available".into(),
                delta: CapabilityDelta::of_derivation(current, derived),
                pipeline_id,
            }));
        }
        result = if bugs.has(PlantedBug::DerivedAuthorityNotSubsetChecked) { derived.capabilities.clone() } else { result.intersection(&derived.capabilities) };
    }
    Ok(result)
}

/// Where an authority applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DerivationScope {
    Pipeline,
    Stage(StageId),
}

/// A change of a pipeline execution's authority (input of the `derive.*` checkers and the trace
/// hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DerivationEvent {
    /// `OnPipelineStart` derived the execution authority `after` from the pool `before`.
    PipelineDerived { pipeline: PipelineId, before: CapabilitySet, after: CapabilitySet },
    /// A stage started with `stage_authority`, derived from the execution authority `execution`.
    StageEntered { pipeline: PipelineId, stage: StageId, execution: CapabilitySet, stage_authority: CapabilitySet },
    /// A successful stage's capabilities joined the pool and the execution authority.
    Produced { pipeline: PipelineId, stage: StageId, capabilities: CapabilitySet },
    /// The stage ended; `execution` is the execution authority the next stage sees.
    StageLeft { pipeline: PipelineId, stage: StageId, execution: CapabilitySet },
    /// A proposal was refused.
    Rejected { pipeline: PipelineId, scope: DerivationScope, policy: String, delta: CapabilityDelta },
}

impl Fold for DerivationEvent {
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            DerivationEvent::PipelineDerived { pipeline, before, after } => {
                h.tag(0, pipeline.0);
                before.fold(h);
                after.fold(h);
            }
            DerivationEvent::StageEntered { pipeline, stage, execution, stage_authority } => {
                h.tag(1, pipeline.0);
                h.word(u64::from(stage.0));
                execution.fold(h);
                stage_authority.fold(h);
            }
            DerivationEvent::Produced { pipeline, stage, capabilities } => {
                h.tag(2, pipeline.0);
                h.word(u64::from(stage.0));
                capabilities.fold(h);
            }
            DerivationEvent::StageLeft { pipeline, stage, execution } => {
                h.tag(3, pipeline.0);
                h.word(u64::from(stage.0));
                execution.fold(h);
            }
            DerivationEvent::Rejected { pipeline, scope, policy, delta } => {
                h.tag(4, pipeline.0);
                h.word(match scope {
                    DerivationScope::Pipeline => u64::MAX,
                    DerivationScope::Stage(s) => u64::from(s.0),
                });
                h.str(policy);
                let added: CapabilitySet = delta.added.iter().copied().collect();
                let removed: CapabilitySet = delta.removed.iter().copied().collect();
                removed.fold(h);
                added.fold(h);
            }
        }
    }
}

/// The authority of one pipeline execution: pool, execution authority, stage authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopedAuthority {
    pipeline: PipelineId,
    pool: CapabilitySet,
    execution: CapabilitySet,
    stage: Option<(StageId, CapabilitySet)>,
    events: Vec<DerivationEvent>,
    bugs: BugSet,
}

impl ScopedAuthority {
    /// The authority of a pipeline starting with `initial` capabilities (pool = execution authority).
    pub fn new(pipeline: PipelineId, initial: CapabilitySet, bugs: BugSet) -> Self {
        ScopedAuthority { pipeline, pool: initial.clone(), execution: initial, stage: None, events: Vec::new(), bugs }
    }

    /// `OnPipelineStart`: restricts the execution authority to the proposals (checked subsets of it).
    pub fn derive_for_pipeline<'a>(&mut self, proposals: impl IntoIterator<Item = (&'a str, &'a DerivedAuthority)>) -> Result<(), Box<PolicyDerivedAuthorityInvalid>> {
        let mut proposals = proposals.into_iter().peekable();
        if proposals.peek().is_none() {
            return Ok(());
        }
        match derive(&self.execution, proposals, PolicyEvent::OnPipelineStart, Some(self.pipeline), self.bugs) {
            Ok(derived) => {
                self.events.push(DerivationEvent::PipelineDerived { pipeline: self.pipeline, before: self.execution.clone(), after: derived.clone() });
                self.execution = derived;
                Ok(())
            }
            Err(e) => {
                self.events.push(DerivationEvent::Rejected { pipeline: self.pipeline, scope: DerivationScope::Pipeline, policy: e.policy.clone(), delta: e.delta.clone() });
                Err(e)
            }
        }
    }

    /// `OnPipelineStageStart`: the stage's authority is the execution authority, restricted by the
    /// proposals (checked subsets of it).
    pub fn enter_stage<'a>(&mut self, stage: StageId, proposals: impl IntoIterator<Item = (&'a str, &'a DerivedAuthority)>) -> Result<(), Box<PolicyDerivedAuthorityInvalid>> {
        match derive(&self.execution, proposals, PolicyEvent::OnPipelineStageStart, Some(self.pipeline), self.bugs) {
            Ok(stage_authority) => {
                self.events.push(DerivationEvent::StageEntered { pipeline: self.pipeline, stage, execution: self.execution.clone(), stage_authority: stage_authority.clone() });
                self.stage = Some((stage, stage_authority));
                Ok(())
            }
            Err(e) => {
                self.events.push(DerivationEvent::Rejected { pipeline: self.pipeline, scope: DerivationScope::Stage(stage), policy: e.policy.clone(), delta: e.delta.clone() });
                Err(e)
            }
        }
    }

    /// A successful stage's capabilities join the pool and the execution authority (and the
    /// authority of the stage, which is ending).
    pub fn commit_produced(&mut self, stage: StageId, produced: &CapabilitySet) {
        if produced.is_empty() {
            return;
        }
        self.pool = self.pool.union(produced);
        self.execution = self.execution.union(produced);
        if let Some((_, stage_authority)) = &mut self.stage {
            *stage_authority = stage_authority.union(produced);
        }
        self.events.push(DerivationEvent::Produced { pipeline: self.pipeline, stage, capabilities: produced.clone() });
    }

    /// Ends the stage scope: the next stage sees the execution authority again.
    pub fn leave_stage(&mut self) {
        if let Some((stage, stage_authority)) = self.stage.take() {
            if self.bugs.has(PlantedBug::StageScopeNotRestored) {
                self.execution = stage_authority;
            }
            self.events.push(DerivationEvent::StageLeft { pipeline: self.pipeline, stage, execution: self.execution.clone() });
        }
    }

    /// Whether the current stage (or, between stages, the pipeline) may use `cap`: the pool holds it
    /// and the authority in force allows it.
    pub fn has_capability_with_authority(&self, cap: u64) -> bool {
        self.pool.contains(cap) && self.in_force().contains(cap)
    }

    /// The authority in force: the stage's while a stage runs, otherwise the execution authority.
    pub fn in_force(&self) -> &CapabilitySet {
        self.stage.as_ref().map_or(&self.execution, |(_, s)| s)
    }

    /// What a handler sees: the pool filtered by the authority in force.
    pub fn visible(&self) -> CapabilitySet {
        self.pool.intersection(self.in_force())
    }

    pub fn pool(&self) -> &CapabilitySet {
        &self.pool
    }

    pub fn execution(&self) -> &CapabilitySet {
        &self.execution
    }

    /// The derivation events since the last call.
    pub fn take_events(&mut self) -> Vec<DerivationEvent> {
        core::mem::take(&mut self.events)
    }
}

pub const SUBSET: &str = "derive.subset";
pub const STAGE_SCOPE_RESTORED: &str = "derive.stage_scope_restored";

/// Shadow state of `derive.subset` (every derived authority is a subset of the one it derives
/// from) and `derive.stage_scope_restored` (after a stage, the execution authority is what it was
/// when the stage began plus what the stage produced).
#[derive(Clone, Debug, Default)]
pub struct DerivationMonitor {
    /// Per pipeline: the execution authority the current stage must restore.
    expected: BTreeMap<PipelineId, CapabilitySet>,
}

impl DerivationMonitor {
    pub fn observe(&mut self, event: &DerivationEvent, sink: &mut dyn RuleSink) {
        match event {
            DerivationEvent::PipelineDerived { pipeline, before, after } => {
                sink.check(SUBSET, after.is_subset_of(before), &|| format!("pipeline {} derived {after} from {before}: {}", pipeline.0, CapabilityDelta::from(before, after)));
            }
            DerivationEvent::StageEntered { pipeline, stage, execution, stage_authority } => {
                sink.check(SUBSET, stage_authority.is_subset_of(execution), &|| {
                    format!("stage {} of pipeline {} derived {stage_authority} from {execution}: {}", stage.0, pipeline.0, CapabilityDelta::from(execution, stage_authority))
                });
                self.expected.insert(*pipeline, execution.clone());
            }
            DerivationEvent::Produced { pipeline, capabilities, .. } => {
                if let Some(expected) = self.expected.get_mut(pipeline) {
                    *expected = expected.union(capabilities);
                }
            }
            DerivationEvent::StageLeft { pipeline, stage, execution } => {
                if let Some(expected) = self.expected.remove(pipeline) {
                    sink.check(STAGE_SCOPE_RESTORED, *execution == expected, &|| {
                        format!("after stage {} of pipeline {} the execution authority is {execution}, expected {expected}", stage.0, pipeline.0)
                    });
                }
            }
            DerivationEvent::Rejected { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let a = CapabilitySet::from([1, 2, 3, 4]);
        let b = CapabilitySet::from([3, 4, 5]);
        assert_eq!(a.intersection(&b), CapabilitySet::from([3, 4]));
        assert_eq!(a.difference(&b), CapabilitySet::from([1, 2]));
        assert_eq!(a.union(&b), CapabilitySet::from([1, 2, 3, 4, 5]));
        assert!(CapabilitySet::from([1, 2]).is_subset_of(&a));
        assert!(!b.is_subset_of(&a));
        assert!(CapabilitySet::new().is_subset_of(&CapabilitySet::new()));
        assert_eq!(alloc::format!("{a}"), "[1, 2, 3, 4]");
    }

    #[test]
    fn the_delta_shows_removed_and_added() {
        let d = CapabilityDelta::from(&CapabilitySet::from([1, 2, 3, 4]), &CapabilitySet::from([1, 2]));
        assert_eq!(alloc::format!("{d}"), "removed: [3, 4], added: []");
        assert!(!d.is_escalation());
        let d = CapabilityDelta::from(&CapabilitySet::from([1]), &CapabilitySet::from([999]));
        assert_eq!(alloc::format!("{d}"), "removed: [1], added: [999]");
        assert!(d.is_escalation());
    }
}
