//! Pipeline and stage specifications and their validation (interface reference, "Core Types",
//! "Pipeline Validation"; architecture Phase 5, "Typed Composition", Phase 6 timeouts).
//!
//! Validation checks, in the seed's order, and reports the first failure:
//! 1. at least one stage (`PipelineError::NoStages`);
//! 2. the first stage's input is the pipeline's input;
//! 3. each stage's output is the next stage's input;
//! 4. the last stage's output is the pipeline's output.
//!
//! Contract: validation happens before execution (the executor cannot be built from an invalid
//! spec); a mismatch is `PipelineError::SchemaMismatch` naming the link, the schema expected and
//! the one found; schema ids are strings with version tags (`"blob_params@v2"`), compared exactly,
//! so two versions of one schema do not chain.
//!
//! Choices where the seed is silent: a stage's `handler` (service name) and `action` are kept for
//! reports and policy context; what a stage does in the simulation is its
//! [`super::StageHandler`], given beside the spec. Payloads are not modelled, only their schema ids.

use super::{PipelineId, RetryPolicy, StageId};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A payload schema id: a name with an optional version tag (`name@vN`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PayloadSchemaId(pub String);

impl PayloadSchemaId {
    pub fn new(id: impl Into<String>) -> Self {
        PayloadSchemaId(id.into())
    }

    /// `name@v{version}`.
    pub fn versioned(name: &str, version: u32) -> Self {
        PayloadSchemaId(format!("{name}@v{version}"))
    }

    /// The name without the version tag.
    pub fn name(&self) -> &str {
        self.0.split_once('@').map_or(self.0.as_str(), |(n, _)| n)
    }

    /// The version tag, if there is one.
    pub fn version(&self) -> Option<u32> {
        self.0.split_once("@v").and_then(|(_, v)| v.parse().ok())
    }
}

impl fmt::Display for PayloadSchemaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    pub name: String,
    /// The service that handles the stage.
    #[serde(default)]
    pub handler: String,
    #[serde(default)]
    pub action: String,
    pub input_schema: PayloadSchemaId,
    pub output_schema: PayloadSchemaId,
    #[serde(default)]
    pub retry_policy: RetryPolicy,
    /// Capabilities the stage cannot run without (from the initial pool or earlier stages).
    #[serde(default)]
    pub required_capabilities: Vec<u64>,
    /// Deadline of the stage, all attempts and backoffs included.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl StageSpec {
    pub fn new(name: &str, handler: &str, action: &str, input: PayloadSchemaId, output: PayloadSchemaId) -> Self {
        StageSpec {
            name: name.into(),
            handler: handler.into(),
            action: action.into(),
            input_schema: input,
            output_schema: output,
            retry_policy: RetryPolicy::none(),
            required_capabilities: Vec::new(),
            timeout_ms: None,
        }
    }

    pub fn with_capabilities(mut self, caps: Vec<u64>) -> Self {
        self.required_capabilities = caps;
        self
    }

    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    pub fn with_timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
}

/// A whole pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    #[serde(default)]
    pub id: PipelineId,
    pub name: String,
    pub stages: Vec<StageSpec>,
    pub initial_input_schema: PayloadSchemaId,
    pub final_output_schema: PayloadSchemaId,
    /// Deadline of the whole pipeline.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// Where in the chain a schema did not match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchemaLink {
    /// Pipeline input → first stage input.
    PipelineInput,
    /// Output of `from` → input of the next stage `to`.
    Between { from: StageId, to: StageId },
    /// Last stage output → pipeline output.
    PipelineOutput,
}

/// Why a pipeline is invalid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PipelineError {
    NoStages,
    SchemaMismatch { link: SchemaLink, expected: PayloadSchemaId, found: PayloadSchemaId },
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::NoStages => f.write_str("pipeline has no stages"),
            PipelineError::SchemaMismatch { link, expected, found } => write!(f, "schema mismatch at {link:?}: expected {expected}, found {found}"),
        }
    }
}

impl PipelineSpec {
    pub fn new(id: PipelineId, name: &str, input: PayloadSchemaId, output: PayloadSchemaId) -> Self {
        PipelineSpec { id, name: name.into(), stages: Vec::new(), initial_input_schema: input, final_output_schema: output, timeout_ms: None }
    }

    pub fn add_stage(mut self, stage: StageSpec) -> Self {
        self.stages.push(stage);
        self
    }

    pub fn with_timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    /// The stage with id `stage`.
    pub fn stage(&self, stage: StageId) -> Option<&StageSpec> {
        self.stages.get(stage.index())
    }

    /// Checks the schema chain (see the module documentation).
    pub fn validate(&self) -> Result<(), PipelineError> {
        let (Some(first), Some(last)) = (self.stages.first(), self.stages.last()) else { return Err(PipelineError::NoStages) };
        let mismatch = |link, expected: &PayloadSchemaId, found: &PayloadSchemaId| Err(PipelineError::SchemaMismatch { link, expected: expected.clone(), found: found.clone() });
        if first.input_schema != self.initial_input_schema {
            return mismatch(SchemaLink::PipelineInput, &self.initial_input_schema, &first.input_schema);
        }
        for (i, pair) in self.stages.windows(2).enumerate() {
            if pair[0].output_schema != pair[1].input_schema {
                let link = SchemaLink::Between { from: StageId(i as u32), to: StageId(i as u32 + 1) };
                return mismatch(link, &pair[0].output_schema, &pair[1].input_schema);
            }
        }
        if last.output_schema != self.final_output_schema {
            return mismatch(SchemaLink::PipelineOutput, &self.final_output_schema, &last.output_schema);
        }
        Ok(())
    }
}
