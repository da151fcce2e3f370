//! The scenario language's authority and resource parts (interface reference, "Policy Engine
//! Interface", "Phase 10", "Phase 11", "Phase 12", "Pipeline Interface", "Storage Interface";
//! architecture Phases 4–12): pipelines with their stage handlers, storage steps, and the
//! expectations about policy decisions, resource audit records, usage, pipeline outcomes and
//! traces, and storage versions. The policy engine (`Scenario::policy`, a [`crate::policy::PolicySpec`]),
//! task budgets (`TaskSpec::budget`, a [`crate::budget::ResourceBudget`]), schema migrations
//! (`Scenario::migrations`) and the authority faults (`FaultPlan::authority_faults`) are the domain
//! layer's own serde types. Field-by-field documentation with defaults and examples is in
//! `scenarios/README.md`, "Authority and resources".
//!
//! Names, never run-time ids: a pipeline is named by its spec's `name` (the `n`-th run of it by
//! `run: n`), a stage by its name, a transaction and a storage object by the label a `Storage`
//! step gave it (an object a pipeline stage created is labelled `<pipeline>.<stage>`), the
//! identity a resource record is about by its task's name. Capability ids inside pipelines are the
//! pipeline's own abstract numbers (the seed's `CapabilityId`s): the initial pool is the
//! declaration's `caps`, stages produce more, policies derive subsets of them.

use crate::budget::audit::MessageOperation;
use crate::budget::ResourceKind;
use crate::cancellation::CancellationReason;
use crate::pipeline::{PipelineSpec, StageHandler};
use crate::policy::PolicyEvent;
use crate::scenario::Count;
use crate::storage::ObjectKind;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// A pipeline a `RunPipeline` step can start: its spec, one handler per stage (a missing handler
/// succeeds at once), and the capabilities the pipeline starts with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineDecl {
    pub spec: PipelineSpec,
    #[serde(default)]
    pub handlers: Vec<StageHandler>,
    /// The initial capability pool (the pipeline's abstract capability ids).
    #[serde(default)]
    pub caps: Vec<u64>,
}

impl PipelineDecl {
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

/// One storage operation of a `Storage` step, inside the transaction the step names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum StorageStep {
    /// Begins a transaction labelled by the step's `tx` (costs nothing).
    Begin,
    /// Creates an object labelled `object` (one `StorageOps`).
    Create {
        object: String,
        kind: ObjectKind,
        #[serde(default)]
        schema: String,
        #[serde(default = "one")]
        version: u32,
    },
    /// Reads the version the transaction sees (one `StorageOps`).
    Read { object: String },
    /// A blob's new bytes, or a log's new entry (one `StorageOps`).
    Write { object: String, data: String },
    /// Sets a key of a map (one `StorageOps`).
    Put { object: String, key: String, value: String },
    /// Removes a key of a map (one `StorageOps`).
    Remove { object: String, key: String },
    /// Migrates the object to schema version `to` with the scenario's migration plan for its
    /// schema (a read and a write: two `StorageOps`).
    Migrate { object: String, to: u32 },
    /// Commits every write of the transaction, or none (costs nothing).
    Commit,
    /// Discards every write of the transaction (costs nothing).
    Rollback,
}

fn one() -> u32 {
    1
}

impl StorageStep {
    /// The object the operation names, if any.
    pub fn object(&self) -> Option<&str> {
        match self {
            StorageStep::Create { object, .. }
            | StorageStep::Read { object }
            | StorageStep::Write { object, .. }
            | StorageStep::Put { object, .. }
            | StorageStep::Remove { object, .. }
            | StorageStep::Migrate { object, .. } => Some(object),
            StorageStep::Begin | StorageStep::Commit | StorageStep::Rollback => None,
        }
    }

    /// The operation as the budget and the store see it.
    pub fn operation(&self) -> crate::storage::StorageOperation {
        use crate::storage::StorageOperation as O;
        match self {
            StorageStep::Begin => O::Begin,
            StorageStep::Create { .. } => O::Create,
            StorageStep::Read { .. } => O::Read,
            StorageStep::Write { .. } | StorageStep::Put { .. } | StorageStep::Remove { .. } => O::Write,
            StorageStep::Migrate { .. } => O::Migrate,
            StorageStep::Commit => O::Commit,
            StorageStep::Rollback => O::Rollback,
        }
    }
}

/// How an external cancellation of a pipeline is worded (`CancelPipeline(reason: ...)`).
pub type CancelReason = CancellationReason;

// ----- expectations ------------------------------------------------------------------------------

/// The kinds of resource audit record (the seed's `ResourceEvent` variants, plus `BudgetAttached`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResourceEventKind {
    MessageConsumed,
    CpuConsumed,
    StorageOpConsumed,
    PipelineStageConsumed,
    BudgetExhausted,
    CancelledDueToExhaustion,
    PacketConsumed,
    BudgetAttached,
}

impl ResourceEventKind {
    pub fn of(event: &crate::budget::audit::ResourceEvent) -> Self {
        use crate::budget::audit::ResourceEvent as E;
        match event {
            E::MessageConsumed { .. } => ResourceEventKind::MessageConsumed,
            E::CpuConsumed { .. } => ResourceEventKind::CpuConsumed,
            E::StorageOpConsumed { .. } => ResourceEventKind::StorageOpConsumed,
            E::PipelineStageConsumed { .. } => ResourceEventKind::PipelineStageConsumed,
            E::BudgetExhausted { .. } => ResourceEventKind::BudgetExhausted,
            E::CancelledDueToExhaustion { .. } => ResourceEventKind::CancelledDueToExhaustion,
            E::PacketConsumed { .. } => ResourceEventKind::PacketConsumed,
            E::BudgetAttached { .. } => ResourceEventKind::BudgetAttached,
        }
    }
}

/// Resource audit records by content: `(event: BudgetExhausted, task: "sender", resource: MessageCount)`.
/// A field not written matches anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcePattern {
    pub event: ResourceEventKind,
    /// The name of the task whose identity the record is about.
    #[serde(default)]
    pub task: Option<String>,
    /// The resource (consumption records have theirs; exhaustion and cancellation name it).
    #[serde(default)]
    pub resource: Option<ResourceKind>,
    /// `Send` or `Receive` (message consumption).
    #[serde(default)]
    pub operation: Option<MessageOperation>,
}

/// The kind of a policy decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DecisionKind {
    Allow,
    Deny,
    Require,
}

impl DecisionKind {
    pub fn of(decision: &crate::policy::PolicyDecision) -> Self {
        match decision {
            crate::policy::PolicyDecision::Allow { .. } => DecisionKind::Allow,
            crate::policy::PolicyDecision::Deny { .. } => DecisionKind::Deny,
            crate::policy::PolicyDecision::Require { .. } => DecisionKind::Require,
        }
    }
}

/// Policy audit records by content: `(event: OnSpawn, policy: "TrustDomainPolicy", decision: Deny)`.
/// One record per policy evaluated (a composition records each policy it evaluated).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyPattern {
    pub event: Option<PolicyEvent>,
    /// The name of the policy that made this record's decision.
    pub policy: Option<String>,
    pub decision: Option<DecisionKind>,
    /// The name of the task whose identity acted (the spawner, the delegator, the pipeline's executor).
    pub actor: Option<String>,
}

/// How a pipeline run ended (the trace's final result).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PipelineOutcome {
    Success,
    Failed,
    Cancelled,
}

/// Why a pipeline run did not succeed (the executor's error, without its fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PipelineErrorKind {
    SchemaMismatch,
    PolicyDenied,
    PolicyRequire,
    PolicyDerivedAuthorityInvalid,
    MissingCapability,
    StageFailed,
    Cancelled,
    ResourceExhausted,
}

impl PipelineErrorKind {
    pub fn of(e: &crate::pipeline::ExecutorError) -> Self {
        use crate::pipeline::ExecutorError as E;
        match e {
            E::SchemaMismatch(_) => PipelineErrorKind::SchemaMismatch,
            E::PolicyDenied { .. } => PipelineErrorKind::PolicyDenied,
            E::PolicyRequire { .. } => PipelineErrorKind::PolicyRequire,
            E::PolicyDerivedAuthorityInvalid(_) => PipelineErrorKind::PolicyDerivedAuthorityInvalid,
            E::MissingCapability { .. } => PipelineErrorKind::MissingCapability,
            E::StageFailed { .. } => PipelineErrorKind::StageFailed,
            E::Cancelled { .. } => PipelineErrorKind::Cancelled,
            E::ResourceExhausted(_) => PipelineErrorKind::ResourceExhausted,
        }
    }
}

/// How one attempt ended, as the execution trace records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttemptResult {
    Success,
    Failed,
    Retryable,
    Cancelled,
}

impl AttemptResult {
    pub fn of(r: &crate::pipeline::trace::StageExecutionResult) -> Self {
        use crate::pipeline::trace::StageExecutionResult as R;
        match r {
            R::Success => AttemptResult::Success,
            R::Failed { .. } => AttemptResult::Failed,
            R::Retryable { .. } => AttemptResult::Retryable,
            R::Cancelled { .. } => AttemptResult::Cancelled,
        }
    }
}

/// One entry of an execution trace: `(stage: "Flaky", attempt: 1, result: Retryable, start_ms: 100)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceEntryPattern {
    pub stage: String,
    #[serde(default)]
    pub attempt: u32,
    pub result: AttemptResult,
    /// Virtual time of the attempt's start / end, in whole milliseconds since the run began.
    #[serde(default)]
    pub start_ms: Option<u64>,
    #[serde(default)]
    pub end_ms: Option<u64>,
    /// The capability ids the attempt produced.
    #[serde(default)]
    pub caps_out: Option<Vec<u64>>,
}

/// What the `run`-th run of pipeline `pipeline` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineExpectation {
    pub pipeline: String,
    /// Which run of the pipeline (1 = the first `RunPipeline` of it).
    #[serde(default = "one")]
    pub run: u32,
    #[serde(default)]
    pub outcome: Option<PipelineOutcome>,
    #[serde(default)]
    pub error: Option<PipelineErrorKind>,
    /// Text the error message contains.
    #[serde(default)]
    pub message: Option<String>,
    /// The whole execution trace, entry by entry.
    #[serde(default)]
    pub trace: Option<Vec<TraceEntryPattern>>,
    /// `(stage, capabilities)`: what the handler of the stage's first attempt was given (the pool
    /// filtered by the authority in force).
    #[serde(default)]
    pub seen: Vec<(String, Vec<u64>)>,
}

/// What a labelled storage object holds at the end of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageExpectation {
    pub object: String,
    /// How many committed versions it has.
    #[serde(default)]
    pub versions: Option<Count>,
    /// The head version's content as text (a blob's bytes; a log's entries or a map's `key=value`
    /// pairs, one per line).
    #[serde(default)]
    pub head: Option<String>,
    /// Every committed version's content, oldest first (old versions stay readable and unchanged).
    #[serde(default)]
    pub history: Option<Vec<String>>,
    /// The head's schema version.
    #[serde(default)]
    pub schema_version: Option<u32>,
}

/// A stored object's content as text (see [`StorageExpectation::head`]).
pub fn content_text(content: &crate::storage::ObjectContent) -> String {
    use crate::storage::ObjectContent as C;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match content {
        C::Blob(b) => text(b),
        C::Log(entries) => entries.iter().map(|e| text(e)).collect::<Vec<_>>().join("\n"),
        C::Map(map) => map.iter().map(|(k, v)| alloc::format!("{}={}", text(k), text(v))).collect::<Vec<_>>().join("\n"),
    }
}
