//! How a scenario chooses and composes policies: a serde description that builds a
//! [`PolicyEngine`] (domain layer, not yet read by the scenario language).
//!
//! ```
//! use model::policy::{PolicySpec, PolicyEvent, PolicyContext};
//! let spec: PolicySpec = ron::from_str(r#"Composed([
//!     NoOp,
//!     TrustDomain,
//!     PipelineSafety(max_stages_unsupervised: 3),
//!     Rules((name: "DenySandboxPipelinePolicy", rules: [
//!         (on: [OnPipelineStart], when: [ActorDomain("sandbox")], then: Deny("Sandbox cannot run pipelines")),
//!     ])),
//! ])"#).unwrap();
//! assert_eq!(spec.build().name(), "ComposedPolicy");
//! ```

use super::{ComposedPolicy, NoOpPolicy, PipelineSafetyPolicy, PolicyEngine, RuleListPolicy, TrustDomainPolicy};
use crate::bugs::BugSet;
use alloc::boxed::Box;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// A policy engine as data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum PolicySpec {
    /// [`NoOpPolicy`].
    NoOp,
    /// [`TrustDomainPolicy`].
    TrustDomain,
    /// [`PipelineSafetyPolicy`] with its parameter.
    PipelineSafety {
        #[serde(default = "default_max_stages")]
        max_stages_unsupervised: usize,
    },
    /// A rule list written in the scenario.
    Rules(RuleListPolicy),
    /// A [`ComposedPolicy`] of these, in order.
    Composed(Vec<PolicySpec>),
}

fn default_max_stages() -> usize {
    PipelineSafetyPolicy::new().max_stages_unsupervised
}

impl PolicySpec {
    /// The engine this spec describes.
    pub fn build(&self) -> Box<dyn PolicyEngine> {
        self.build_with_bugs(BugSet::default())
    }

    /// The engine with planted bugs switched on (they affect compositions).
    pub fn build_with_bugs(&self, bugs: BugSet) -> Box<dyn PolicyEngine> {
        match self {
            PolicySpec::NoOp => Box::new(NoOpPolicy),
            PolicySpec::TrustDomain => Box::new(TrustDomainPolicy),
            PolicySpec::PipelineSafety { max_stages_unsupervised } => Box::new(PipelineSafetyPolicy { max_stages_unsupervised: *max_stages_unsupervised }),
            PolicySpec::Rules(rules) => Box::new(rules.clone()),
            PolicySpec::Composed(parts) => Box::new(parts.iter().fold(ComposedPolicy::new().with_bugs(bugs), |c, p| c.add_policy(p.build_with_bugs(bugs)))),
        }
    }
}
