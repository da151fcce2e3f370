//! The reference policies (interface reference, "Reference Policy Implementations"; architecture
//! Phases 8 and 9), exactly as the seed writes them.
//!
//! - [`NoOpPolicy`] allows everything.
//! - [`TrustDomainPolicy`]: at `OnSpawn` a `sandbox` actor may not spawn a `System` identity
//!   (Deny); at `OnCapabilityDelegate` a cross-domain delegation requires approval (Require);
//!   everything else is allowed.
//! - [`PipelineSafetyPolicy`]: at `OnPipelineStart` a pipeline of the `user` domain must carry a
//!   `timeout_ms` (Require), and a pipeline whose `stage_count` is above
//!   `max_stages_unsupervised` requires supervision (Require); everything else is allowed.
//!
//! Choice where the seed is silent: `PipelineSafetyPolicy::new()` allows 10 stages unsupervised.
//! A `stage_count` that does not parse as a number is ignored, as in the seed's code.

use super::{PolicyContext, PolicyDecision, PolicyEngine, PolicyEvent};
use crate::identity::{IdentityKind, TrustDomain};
use alloc::format;

/// Always allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoOpPolicy;

impl PolicyEngine for NoOpPolicy {
    fn evaluate(&self, _event: PolicyEvent, _context: &PolicyContext) -> PolicyDecision {
        PolicyDecision::allow()
    }

    fn name(&self) -> &str {
        "NoOpPolicy"
    }
}

/// Sandbox restrictions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrustDomainPolicy;

impl PolicyEngine for TrustDomainPolicy {
    fn evaluate(&self, event: PolicyEvent, context: &PolicyContext) -> PolicyDecision {
        match event {
            PolicyEvent::OnSpawn => {
                let target_is_system = context.target_identity.as_ref().is_some_and(|t| t.kind == IdentityKind::System);
                if context.actor_identity.trust_domain == TrustDomain::sandbox() && target_is_system {
                    return PolicyDecision::deny("Sandbox cannot spawn System services");
                }
                PolicyDecision::allow()
            }
            PolicyEvent::OnCapabilityDelegate => {
                if context.is_cross_domain() {
                    return PolicyDecision::require("Cross-domain delegation needs approval");
                }
                PolicyDecision::allow()
            }
            _ => PolicyDecision::allow(),
        }
    }

    fn name(&self) -> &str {
        "TrustDomainPolicy"
    }
}

/// Timeout and supervision requirements for pipelines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipelineSafetyPolicy {
    pub max_stages_unsupervised: usize,
}

impl PipelineSafetyPolicy {
    /// The default: up to 10 stages unsupervised.
    pub const fn new() -> Self {
        PipelineSafetyPolicy { max_stages_unsupervised: 10 }
    }
}

impl Default for PipelineSafetyPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl PolicyEngine for PipelineSafetyPolicy {
    fn evaluate(&self, event: PolicyEvent, context: &PolicyContext) -> PolicyDecision {
        if event != PolicyEvent::OnPipelineStart {
            return PolicyDecision::allow();
        }
        if context.actor_identity.trust_domain == TrustDomain::user() && context.metadata_value("timeout_ms").is_none() {
            return PolicyDecision::require("Pipelines in user domain must specify timeout");
        }
        if let Some(count) = context.metadata_value("stage_count").and_then(|s| s.parse::<usize>().ok()) {
            if count > self.max_stages_unsupervised {
                return PolicyDecision::require(format!("Pipelines with {count} stages require supervision"));
            }
        }
        PolicyDecision::allow()
    }

    fn name(&self) -> &str {
        "PipelineSafetyPolicy"
    }
}
