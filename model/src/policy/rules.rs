//! A policy a scenario can write: an ordered list of rules (architecture Phase 8: "Policy
//! composition DSL for complex rules" is future work there; this is the smallest form of it the
//! harness needs to express the seed's example policies — `ReadOnlyFsPolicy`,
//! `NoNetworkStagePolicy`, a malicious escalating policy, `DenySandboxPipelinePolicy`, the
//! cross-domain focus policy).
//!
//! Semantics: the first rule whose events include the evaluated event (an empty list matches
//! every event) and whose conditions all hold decides; if no rule matches, the policy allows.
//! Evaluation reads only the event and the context, so it is deterministic and side-effect free.

use super::{PolicyContext, PolicyDecision, PolicyEngine, PolicyEvent};
use crate::derivation::DerivedAuthority;
use crate::identity::IdentityKind;
use crate::pipeline::{PipelineId, StageId};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// A named, ordered rule list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleListPolicy {
    pub name: String,
    pub rules: Vec<PolicyRule>,
}

/// One rule: when the event is one of `on` and every condition of `when` holds, decide `then`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// The events the rule applies to; empty = every event.
    #[serde(default)]
    pub on: Vec<PolicyEvent>,
    /// Conditions that must all hold; empty = always.
    #[serde(default)]
    pub when: Vec<RuleCondition>,
    pub then: RuleDecision,
}

/// A test on the context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum RuleCondition {
    /// The actor's trust domain is this one.
    ActorDomain(String),
    /// There is a target and its trust domain is this one.
    TargetDomain(String),
    ActorKind(IdentityKind),
    /// There is a target and it is of this kind.
    TargetKind(IdentityKind),
    /// Actor and target are in different trust domains.
    CrossDomain,
    /// The capability involved is this one.
    Capability(u64),
    Pipeline(PipelineId),
    Stage(StageId),
    /// The metadata has this key.
    HasMetadata(String),
    /// The metadata has this key with exactly this value.
    MetadataEquals { key: String, value: String },
    /// The metadata has this key with a number above `value`.
    MetadataAbove { key: String, value: u64 },
    /// The condition does not hold.
    Not(Box<RuleCondition>),
}

impl RuleCondition {
    pub fn holds(&self, context: &PolicyContext) -> bool {
        let target = context.target_identity.as_ref();
        match self {
            RuleCondition::ActorDomain(d) => context.actor_identity.trust_domain.0 == *d,
            RuleCondition::TargetDomain(d) => target.is_some_and(|t| t.trust_domain.0 == *d),
            RuleCondition::ActorKind(k) => context.actor_identity.kind == *k,
            RuleCondition::TargetKind(k) => target.is_some_and(|t| t.kind == *k),
            RuleCondition::CrossDomain => context.is_cross_domain(),
            RuleCondition::Capability(c) => context.capability_id == Some(*c),
            RuleCondition::Pipeline(p) => context.pipeline_id == Some(*p),
            RuleCondition::Stage(s) => context.stage_id == Some(*s),
            RuleCondition::HasMetadata(key) => context.metadata_value(key).is_some(),
            RuleCondition::MetadataEquals { key, value } => context.metadata_value(key) == Some(value.as_str()),
            RuleCondition::MetadataAbove { key, value } => context.metadata_value(key).and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > *value),
            RuleCondition::Not(inner) => !inner.holds(context),
        }
    }
}

/// What a matching rule decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum RuleDecision {
    Allow,
    Deny(String),
    Require(String),
    /// Allow with this derived authority (which must be a subset of the current one, or the
    /// enforcement point refuses it as `PolicyDerivedAuthorityInvalid`).
    Derive {
        capabilities: Vec<u64>,
        #[serde(default)]
        constraints: Vec<String>,
    },
}

impl RuleDecision {
    pub fn decision(&self) -> PolicyDecision {
        match self {
            RuleDecision::Allow => PolicyDecision::allow(),
            RuleDecision::Deny(reason) => PolicyDecision::deny(reason.clone()),
            RuleDecision::Require(action) => PolicyDecision::require(action.clone()),
            RuleDecision::Derive { capabilities, constraints } => {
                PolicyDecision::allow_with_derived(DerivedAuthority { capabilities: capabilities.iter().copied().collect(), constraints: constraints.clone() })
            }
        }
    }
}

impl PolicyRule {
    pub fn matches(&self, event: PolicyEvent, context: &PolicyContext) -> bool {
        (self.on.is_empty() || self.on.contains(&event)) && self.when.iter().all(|c| c.holds(context))
    }
}

impl PolicyEngine for RuleListPolicy {
    fn evaluate(&self, event: PolicyEvent, context: &PolicyContext) -> PolicyDecision {
        self.rules.iter().find(|r| r.matches(event, context)).map_or_else(PolicyDecision::allow, |r| r.then.decision())
    }

    fn name(&self) -> &str {
        &self.name
    }
}
