//! The kernel's authority and resource state and its enforcement points (interface reference,
//! "Policy Engine Interface" / "Enforcement Points", "Phase 11" / "Enforcement Points", "Phase 12:
//! Resource Enforcement Interface", "Storage Interface"; architecture Phases 4, 6, 8–12).
//!
//! A kernel holds an [`Authority`] only when its scenario uses the subsystems (a policy, budgets,
//! pipelines, storage, CPU work, authority faults), so a run that does not pays one `Option`
//! check per enforcement point. Inside, each part is on only when used: the [`ResourceLedger`]
//! when the scenario declares a budget, runs a pipeline, does CPU work, squeezes a budget or states
//! a resource expectation; the policy engine when the scenario (or a policy swap) installs one.
//!
//! Order at every enforcement point (architecture Phase 12, "policy, then budget, then effect"):
//! the operation's own validity checks, then the policy (`Deny` and `Require` refuse with
//! `InsufficientAuthority`), then the budget (`ResourceExhausted`, which cancels the identity),
//! then the effect. Every refusal leaves no effect. Points:
//! - **spawn** (`spawn_task_with_identity`): `OnSpawn` with the spawner (or, for a supervisor's
//!   child, the parent) as actor and the new identity as target; then the budget is attached,
//!   inherited from the parent and never more than the parent's (`InsufficientAuthority`);
//! - **delegation**: `OnCapabilityDelegate` with both identities and the capability;
//! - **send / receive**: one `MessageCount` before the effect. A send is charged when it is
//!   accepted, before the fault injector decides its fate, so a dropped or delayed message is
//!   charged exactly once, at send time; a receive only when a message would be returned;
//! - **storage operations** (steps and pipeline stages): `StorageOperation::cost()` units of
//!   `StorageOps` before the store runs the operation;
//! - **CPU work** (`Compute` steps, stage attempts): the ticks asked for.
//!
//! Choices where the seed is silent:
//! - a task spawned by the scenario itself has no actor, so no `OnSpawn` is evaluated for it;
//! - a cancelled (exhausted) identity keeps running but every budgeted operation fails as
//!   cancelled; a task with a behaviour exits with `ExitReason::Cancelled` at its next wake-up
//!   (cancelled is distinct from failed: supervisors' `OnFailure` policies do not restart it);
//! - when a task ends, its open transactions are rolled back and its running pipelines are
//!   cancelled (`Custom("executor exited")`);
//! - every audit record and store change becomes an observation as it happens (`flush`), so the
//!   invariant monitors see them in order with the kernel's other effects.

use super::{OpKind, SimulatedKernel};
use crate::budget::audit::MessageOperation;
use crate::budget::enforcement::{Consumption, ResourceLedger};
use crate::budget::{ResourceBudget, ResourceKind};
use crate::bugs::{BugSet, PlantedBug};
use crate::cancellation::{CancellationReason, CancellationSource, Cancellations};
use crate::error::KernelError;
use crate::fault::AuthorityFault;
use crate::identity::IdentityMetadata;
use crate::ids::{ExecutionId, TaskId};
use crate::names::Symbol;
use crate::observation::{FaultKind, Observation};
use crate::pattern::Labels;
use crate::pipeline::{AttemptOrder, ExecutorError, PipelineExecutor, StageId, StageResult};
use crate::policy::audit::{PolicyAuditLog, PolicyCheck};
use crate::policy::{PolicyContext, PolicyEngine, PolicyEvent};
use crate::scenario::{Scenario, StepOp, StorageStep};
use crate::storage::{MigrationPlan, ObjectId, ObjectKind, ObjectSchemaId, ObjectSchemaVersion, StorageOperation, Transaction, TransactionState, TransactionalStorage, VersionedStore};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// One transaction and the task that owns it.
#[derive(Debug)]
pub struct TxSlot {
    pub owner: TaskId,
    pub tx: Transaction,
}

/// The attempt a pipeline run is waiting for.
#[derive(Clone, Debug)]
pub struct RunningAttempt {
    pub stage: StageId,
    pub attempt: u32,
    /// How the attempt ends when its time is up.
    pub result: StageResult,
    /// The attempt's transaction (index into `Authority::transactions`), if its handler uses storage.
    pub tx: Option<u32>,
    /// The object the attempt's transaction created, if it did.
    pub created: Option<ObjectId>,
}

/// One run of a pipeline: the executor and what the event loop keeps around it.
pub struct PipelineRun {
    /// Index of the declaration in `Scenario::pipelines`.
    pub decl: u32,
    pub name: String,
    /// The task whose identity runs the pipeline.
    pub task: TaskId,
    pub source: CancellationSource,
    /// `None`: the spec failed validation, nothing ran (`outcome` says why).
    pub executor: Option<PipelineExecutor>,
    pub outcome: Option<Result<(), ExecutorError>>,
    /// Counts the inputs scheduled for this run: a queued input of an older generation is stale.
    pub generation: u32,
    pub attempt: Option<RunningAttempt>,
    /// Every attempt order the executor gave, in order (what each handler saw).
    pub orders: Vec<AttemptOrder>,
    /// The object each stage's storage use writes to, once a commit created it.
    pub objects: Vec<Option<ObjectId>>,
}

impl PipelineRun {
    pub fn is_finished(&self) -> bool {
        self.outcome.is_some()
    }
}

/// A `StorageCrash` fault: the task name, the write that triggers it, whether it fired.
#[derive(Clone, Debug)]
struct StorageCrashRule {
    task: Symbol,
    after_writes: u32,
    fired: bool,
}

/// A `StageFailure` fault and how many attempts it failed so far.
#[derive(Clone, Debug)]
pub struct StageFailureRule {
    pub pipeline: String,
    pub stage: String,
    pub attempts: u32,
    pub permanent: bool,
    pub used: u32,
}

/// The authority and resource state of a run.
pub struct Authority {
    pub ledger: Option<ResourceLedger>,
    pub policy: Option<Box<dyn PolicyEngine>>,
    pub policy_audit: PolicyAuditLog,
    /// The acting identity of each policy audit record (parallel to `policy_audit`).
    pub policy_actors: Vec<ExecutionId>,
    pub cancellations: Cancellations,
    pub store: VersionedStore,
    /// Every transaction a task began, in begin order (so in transaction id order; the
    /// workspace's editors begin theirs in the store directly, so an index is not an id:
    /// [`Authority::transaction`] finds one by id).
    pub transactions: Vec<TxSlot>,
    /// Transaction labels of `Storage` steps (the newest binding).
    tx_labels: BTreeMap<String, u32>,
    /// Object labels: the newest binding, and every binding (for the report).
    objects: BTreeMap<String, ObjectId>,
    pub object_labels: Labels,
    pub pipelines: Vec<PipelineRun>,
    /// Runs whose executing task ended: the event loop delivers their cancellation.
    pub pending_cancels: Vec<u32>,
    pub stage_failures: Vec<StageFailureRule>,
    storage_crashes: Vec<StorageCrashRule>,
    /// Storage writes per task name (by name symbol).
    writes: BTreeMap<Symbol, u32>,
    migrations: Vec<MigrationPlan>,
    /// The scenario's workspace, if it declares one.
    pub interactive: Option<Box<super::Interactive>>,
    resource_cursor: usize,
    cancel_cursor: usize,
    bugs: BugSet,
}

impl core::fmt::Debug for Authority {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Authority")
            .field("policy", &self.policy.as_ref().map(|p| p.name()))
            .field("pipelines", &self.pipelines.len())
            .field("transactions", &self.transactions.len())
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// The authority state a scenario needs, or `None` if it uses none of the subsystems.
    pub fn for_scenario(scenario: &Scenario, names: &mut crate::names::Names) -> Option<Box<Authority>> {
        let steps = || scenario.steps.iter().map(|s| &s.op);
        let budgets = scenario.all_tasks().iter().any(|(_, t)| t.budget.is_some());
        let compute = steps().any(|op| matches!(op, StepOp::Compute { .. }));
        let storage = steps().any(|op| matches!(op, StepOp::Storage { .. }));
        let faults = &scenario.faults.authority_faults;
        let squeeze = faults.iter().any(|f| matches!(f, AuthorityFault::BudgetSqueeze { .. }));
        let swap = faults.iter().any(|f| matches!(f, AuthorityFault::PolicySwap { .. }));
        let resource_expectations = !(scenario.expect.resources.is_empty() && scenario.expect.usage.is_empty());
        let workload = scenario.workload.as_ref().map_or((false, false), |w| (w.mix.storage > 0, w.mix.pipeline > 0 || w.mix.compute > 0));
        let workspace = scenario.workspace.is_some();
        let ledger_on = workspace || budgets || compute || squeeze || resource_expectations || !scenario.pipelines.is_empty() || workload.1;
        let used = ledger_on || storage || swap || workload.0 || scenario.policy.is_some() || !faults.is_empty();
        if !used {
            return None;
        }
        let bugs = BugSet::from_list(&scenario.bugs);
        let storage_crashes = faults
            .iter()
            .filter_map(|f| match f {
                AuthorityFault::StorageCrash { task, after_writes } => Some(StorageCrashRule { task: names.intern(task), after_writes: *after_writes, fired: false }),
                _ => None,
            })
            .collect();
        let stage_failures = faults
            .iter()
            .filter_map(|f| match f {
                AuthorityFault::StageFailure { pipeline, stage, attempts, permanent } => {
                    Some(StageFailureRule { pipeline: pipeline.clone(), stage: stage.clone(), attempts: *attempts, permanent: *permanent, used: 0 })
                }
                _ => None,
            })
            .collect();
        Some(Box::new(Authority {
            ledger: ledger_on.then(|| ResourceLedger::with_bugs(bugs)),
            policy: scenario.policy.as_ref().map(|p| p.build_with_bugs(bugs)),
            policy_audit: PolicyAuditLog::default(),
            policy_actors: Vec::new(),
            cancellations: Cancellations::new(),
            store: VersionedStore::with_bugs(bugs),
            transactions: Vec::new(),
            tx_labels: BTreeMap::new(),
            objects: BTreeMap::new(),
            object_labels: Labels::default(),
            pipelines: Vec::new(),
            pending_cancels: Vec::new(),
            stage_failures,
            storage_crashes,
            writes: BTreeMap::new(),
            migrations: scenario.migrations.clone(),
            interactive: None,
            resource_cursor: 0,
            cancel_cursor: 0,
            bugs,
        }))
    }

    /// The slot of the transaction `id`, if a task began it.
    pub fn transaction(&self, id: crate::storage::TransactionId) -> Option<&TxSlot> {
        let at = self.transactions.binary_search_by_key(&id.0, |s| s.tx.id().0).ok()?;
        self.transactions.get(at)
    }

    /// Binds a storage object label.
    pub fn bind_object(&mut self, label: &str, object: ObjectId) {
        self.objects.insert(String::from(label), object);
        self.object_labels.bind(label, object.0);
    }

    /// The object a label names now.
    pub fn object(&self, label: &str) -> Option<ObjectId> {
        self.objects.get(label).copied()
    }

    /// Every storage label with the objects it named.
    pub fn labelled_objects(&self) -> impl Iterator<Item = (&str, ObjectId)> {
        self.objects.iter().map(|(l, o)| (l.as_str(), *o))
    }

    /// Budget usage of an identity (zero without a ledger).
    pub fn usage(&self, exec: ExecutionId, kind: ResourceKind) -> u64 {
        self.ledger.as_ref().map_or(0, |l| l.usage(exec).get(kind))
    }

    /// The resource audit log (empty without a ledger).
    pub fn resource_audit(&self) -> &[crate::budget::audit::ResourceEvent] {
        self.ledger.as_ref().map_or(&[], |l| l.resource_audit().entries())
    }

    pub fn bugs(&self) -> BugSet {
        self.bugs
    }
}

impl SimulatedKernel {
    /// The authority and resource state, if the scenario uses it.
    pub fn authority_state(&self) -> Option<&Authority> {
        self.authority.as_deref()
    }

    pub(crate) fn authority_state_mut(&mut self) -> Option<&mut Authority> {
        self.authority.as_deref_mut()
    }

    /// Whether budgets are enforced in this run.
    pub fn budgets_on(&self) -> bool {
        self.authority.as_ref().is_some_and(|a| a.ledger.is_some())
    }

    /// Turns the audit records and store changes made since the last call into observations.
    pub(crate) fn flush_authority(&mut self) {
        let Some(a) = self.authority.as_deref_mut() else { return };
        if let Some(ledger) = &a.ledger {
            let entries = ledger.resource_audit().entries();
            for e in entries[a.resource_cursor..].iter().copied() {
                if matches!(e, crate::budget::audit::ResourceEvent::BudgetExhausted { .. }) {
                    self.stats.budget_exhaustions += 1;
                }
                self.observations.push(Observation::Resource(e));
            }
            a.resource_cursor = entries.len();
        }
        let cancellations = a.cancellations.events();
        for e in &cancellations[a.cancel_cursor..] {
            self.observations.push(Observation::Cancellation(Box::new(e.clone())));
        }
        a.cancel_cursor = cancellations.len();
        for e in a.store.take_events() {
            match e {
                crate::storage::StorageEvent::Committed { .. } => self.stats.storage_commits += 1,
                crate::storage::StorageEvent::RolledBack { .. } | crate::storage::StorageEvent::CommitFailed { .. } => self.stats.storage_rollbacks += 1,
                _ => {}
            }
            self.observations.push(Observation::Storage(Box::new(e)));
        }
    }

    /// The execution identity of a task (its metadata's id).
    pub(crate) fn exec_of(&self, task: TaskId) -> ExecutionId {
        self.tasks[task.index()].identity.execution_id
    }

    /// Charges `consumption` to `task`'s identity before the operation takes effect.
    pub(crate) fn charge(&mut self, task: TaskId, consumption: Consumption) -> Result<(), KernelError> {
        let exec = self.exec_of(task);
        let Some(ledger) = self.authority.as_deref_mut().and_then(|a| a.ledger.as_mut()) else { return Ok(()) };
        let result = ledger.try_consume(exec, consumption);
        self.flush_authority();
        result.map_err(|e| KernelError::ResourceExhausted(e.to_string()))
    }

    /// The message charge of a send or receive, when budgets are on.
    pub(crate) fn charge_message(&mut self, task: TaskId, operation: MessageOperation) -> Result<(), KernelError> {
        if self.authority.is_none() {
            return Ok(());
        }
        self.charge(task, Consumption::Message(operation))
    }

    /// Whether budget exhaustion cancelled `task`'s identity, and for which resource.
    pub fn cancelled_by_exhaustion(&self, task: TaskId) -> Option<ResourceKind> {
        let ledger = self.authority.as_deref()?.ledger.as_ref()?;
        ledger.cancelled_by(self.exec_of(task))
    }

    /// Evaluates the policy at an enforcement point, records and observes the decision, and
    /// refuses on `Deny` / `Require`. `actor` is the identity whose operation it is.
    pub(crate) fn enforce_policy(&mut self, event: PolicyEvent, context: PolicyContext) -> Result<(), KernelError> {
        let Some(a) = self.authority.as_deref_mut() else { return Ok(()) };
        let Some(engine) = a.policy.as_deref() else { return Ok(()) };
        let report = engine.evaluate_with_report(event, &context);
        let actor = context.actor_identity.execution_id;
        a.policy_audit.record(self.now, event, &context, &report);
        a.policy_actors.resize(a.policy_audit.len(), actor);
        let refused = event.is_enforced() && !report.decision.is_allow();
        self.stats.policy_evaluations += 1;
        if refused {
            self.stats.policy_refusals += 1;
        }
        self.observations.push(Observation::Policy(Box::new(PolicyCheck { event, context, report, refused })));
        if refused {
            Err(KernelError::InsufficientAuthority)
        } else {
            Ok(())
        }
    }

    /// The identity metadata of a running task.
    pub(crate) fn identity_of(&self, task: TaskId) -> IdentityMetadata {
        self.tasks[task.index()].identity.clone()
    }

    /// `OnCapabilityDelegate` for moving `cap` from `from` to `to`.
    pub(crate) fn enforce_delegation(&mut self, cap: crate::ids::CapId, from: TaskId, to: TaskId) -> Result<(), KernelError> {
        if self.authority.as_ref().is_none_or(|a| a.policy.is_none()) {
            return Ok(());
        }
        let context = PolicyContext::for_capability_delegation(self.identity_of(from), self.identity_of(to), cap.0);
        let decision = self.enforce_policy(PolicyEvent::OnCapabilityDelegate, context);
        if self.bug(PlantedBug::DelegationIgnoresPolicy) {
            return Ok(());
        }
        decision
    }

    /// `OnSpawn` and the budget inheritance check for a new identity `exec`, before the spawn
    /// takes effect. Returns the budget to attach.
    pub(crate) fn admit_spawn(&mut self, actor: Option<ExecutionId>, target: &IdentityMetadata, parent: Option<ExecutionId>, requested: Option<ResourceBudget>) -> Result<(), KernelError> {
        if self.authority.is_none() {
            return Ok(());
        }
        let actor = actor.and_then(|a| self.get_identity(a).cloned());
        if let Some(actor) = actor.filter(|_| self.authority.as_ref().is_some_and(|a| a.policy.is_some())) {
            self.enforce_policy(PolicyEvent::OnSpawn, PolicyContext::for_spawn(actor, target.clone()))?;
        }
        let Some(ledger) = self.authority.as_deref().and_then(|a| a.ledger.as_ref()) else { return Ok(()) };
        let parent_budget = parent.and_then(|p| ledger.budget(p));
        let inherits = crate::budget::derive_child_budget(parent_budget.as_ref(), requested).is_ok();
        if inherits || self.bug(PlantedBug::BudgetInheritanceUnchecked) {
            Ok(())
        } else {
            Err(KernelError::InsufficientAuthority)
        }
    }

    /// Attaches the budget of a spawned identity (after `admit_spawn` accepted it).
    pub(crate) fn attach_budget(&mut self, exec: ExecutionId, parent: Option<ExecutionId>, requested: Option<ResourceBudget>) {
        let Some(ledger) = self.authority.as_deref_mut().and_then(|a| a.ledger.as_mut()) else { return };
        let attached = ledger.attach(exec, parent, requested);
        debug_assert!(attached.is_ok() || self.bugs.has(PlantedBug::BudgetInheritanceUnchecked), "admit_spawn checked the inheritance");
        self.flush_authority();
    }

    /// A `Compute` step: `task` does `ticks` of simulated work.
    pub fn compute(&mut self, task: TaskId, ticks: u64) -> Result<(), KernelError> {
        let result = self.compute_unrecorded(task, ticks);
        self.ops.record(OpKind::Compute, &result);
        result
    }

    fn compute_unrecorded(&mut self, task: TaskId, ticks: u64) -> Result<(), KernelError> {
        if !self.is_alive(task) {
            return Err(KernelError::InsufficientAuthority);
        }
        self.charge(task, Consumption::Cpu(crate::budget::CpuTicks(ticks)))
    }

    /// Ends the authority state of a task that terminated: its open transactions are rolled
    /// back, its running pipelines cancelled.
    pub(crate) fn authority_on_exit(&mut self, task: TaskId) {
        let now = self.now;
        let Some(a) = self.authority.as_deref_mut() else { return };
        let commit = a.bugs.has(PlantedBug::CrashCommitsOpenTransaction);
        for slot in a.transactions.iter_mut().filter(|s| s.owner == task && s.tx.state() == TransactionState::Active) {
            let _ = if commit { a.store.commit(&mut slot.tx) } else { a.store.rollback(&mut slot.tx) };
        }
        for (i, run) in a.pipelines.iter().enumerate() {
            if run.task == task && !run.is_finished() && a.cancellations.cancel(run.source, CancellationReason::Custom("executor exited".into()), now) {
                a.pending_cancels.push(i as u32);
            }
        }
        self.flush_authority();
    }

    // ----- storage ---------------------------------------------------------------------------

    /// Begins a transaction owned by `task`; returns its index.
    pub(crate) fn begin_transaction(&mut self, task: TaskId) -> Option<u32> {
        let a = self.authority.as_deref_mut()?;
        let tx = a.store.begin_transaction().ok()?;
        a.transactions.push(TxSlot { owner: task, tx });
        let index = a.transactions.len() as u32 - 1;
        self.flush_authority();
        Some(index)
    }

    /// Charges a storage operation's cost to `task`, then counts it.
    pub(crate) fn charge_storage(&mut self, task: TaskId, op: StorageOperation) -> Result<(), KernelError> {
        for _ in 0..op.cost().get() {
            self.charge(task, Consumption::StorageOp)?;
            self.stats.storage_ops += 1;
        }
        Ok(())
    }

    /// After a storage write by `task`: counts it, and arms a `StorageCrash` fault that hits.
    pub(crate) fn note_storage_write(&mut self, task: TaskId) {
        let name = self.tasks[task.index()].name_symbol;
        let Some(a) = self.authority.as_deref_mut() else { return };
        let writes = a.writes.entry(name).or_insert(0);
        *writes += 1;
        let n = *writes;
        let mut crash = false;
        for rule in a.storage_crashes.iter_mut().filter(|r| r.task == name && !r.fired && r.after_writes <= n) {
            rule.fired = true;
            crash = true;
        }
        if crash {
            self.pending_crashes.push((task, FaultKind::StorageCrash, "injected crash inside a transaction".into()));
        }
    }

    /// A `Storage` step: `task` performs `op` in the transaction labelled `tx`.
    pub fn storage_step(&mut self, task: TaskId, tx: &str, op: &StorageStep) -> Result<(), KernelError> {
        let result = self.storage_step_unrecorded(task, tx, op);
        self.ops.record(OpKind::Storage, &result);
        result
    }

    fn storage_step_unrecorded(&mut self, task: TaskId, tx: &str, op: &StorageStep) -> Result<(), KernelError> {
        if !self.is_alive(task) || self.authority.is_none() {
            return Err(KernelError::InsufficientAuthority);
        }
        if let StorageStep::Begin = op {
            let index = self.begin_transaction(task).ok_or_else(|| storage_error("the store refused to begin"))?;
            if let Some(a) = self.authority.as_deref_mut() {
                a.tx_labels.insert(String::from(tx), index);
            }
            return Ok(());
        }
        let a = self.authority.as_deref().expect("checked above");
        let index = *a.tx_labels.get(tx).ok_or_else(|| storage_error(&alloc::format!("no transaction labelled {tx}")))?;
        if a.transactions[index as usize].owner != task {
            return Err(KernelError::InsufficientAuthority);
        }
        let object = match op.object() {
            Some(label) if !matches!(op, StorageStep::Create { .. }) => Some(a.object(label).ok_or_else(|| storage_error(&alloc::format!("no object labelled {label}")))?),
            _ => None,
        };
        let operation = op.operation();
        self.charge_storage(task, operation)?;
        let a = self.authority.as_deref_mut().expect("checked above");
        let slot = &mut a.transactions[index as usize];
        let store = &mut a.store;
        let tx = &mut slot.tx;
        let result = match op {
            StorageStep::Begin => Ok(None),
            StorageStep::Create { kind, schema, version, .. } => store.create(tx, *kind, ObjectSchemaId(schema.clone()), ObjectSchemaVersion(*version)).map(Some),
            StorageStep::Read { .. } => store.read(tx, object.expect("named")).map(|_| None),
            StorageStep::Write { data, .. } => store.write(tx, object.expect("named"), data.as_bytes()).map(|_| None),
            StorageStep::Put { key, value, .. } => store.put(tx, object.expect("named"), key.as_bytes(), value.as_bytes()).map(|_| None),
            StorageStep::Remove { key, .. } => store.remove(tx, object.expect("named"), key.as_bytes()).map(|_| None),
            StorageStep::Migrate { to, .. } => {
                let object = object.expect("named");
                match store.read_content(tx, object).map(|o| (o.schema_id.clone(), o.schema_version)) {
                    // Without a plan for the object's schema there is no step from its version.
                    Ok((schema, from)) => match a.migrations.iter().find(|m| m.schema == schema) {
                        Some(plan) => store.migrate(tx, object, plan, ObjectSchemaVersion(*to)).map(|_| None),
                        None => Err(crate::storage::TransactionError::Migration(crate::storage::MigrationError::NoPath { missing: from })),
                    },
                    Err(e) => Err(e),
                }
            }
            StorageStep::Commit => store.commit(tx).map(|_| None),
            StorageStep::Rollback => store.rollback(tx).map(|_| None),
        };
        if let (Ok(Some(created)), StorageStep::Create { object: label, .. }) = (&result, op) {
            a.bind_object(label, *created);
        }
        self.flush_authority();
        result.map_err(|e| storage_error(&e.to_string()))?;
        if matches!(operation, StorageOperation::Create | StorageOperation::Write | StorageOperation::Migrate) {
            self.note_storage_write(task);
        }
        Ok(())
    }

    /// The stage handler's storage use for one attempt: a new transaction owned by `task` that
    /// creates the stage's object (if no earlier attempt committed one) and writes `writes` times.
    /// Returns the transaction, the object it created, and the outcome that replaces the
    /// handler's when an operation was refused.
    pub(crate) fn stage_storage(&mut self, task: TaskId, object: Option<ObjectId>, stage: StageId, usage: &crate::pipeline::StorageUse) -> (Option<u32>, Option<ObjectId>, Option<StageResult>) {
        let failed = |e: KernelError| match e {
            KernelError::ResourceExhausted(_) => exhausted_result(ResourceKind::StorageOps),
            other => StageResult::Failure { error: other.to_string() },
        };
        let Some(index) = self.begin_transaction(task) else { return (None, None, Some(StageResult::Failure { error: "the store refused to begin".into() })) };
        let mut created = None;
        let object = match object {
            Some(o) => o,
            None => {
                if let Err(e) = self.charge_storage(task, StorageOperation::Create) {
                    return (Some(index), None, Some(failed(e)));
                }
                let a = self.authority.as_deref_mut().expect("a transaction began");
                let slot = &mut a.transactions[index as usize];
                match a.store.create(&mut slot.tx, usage.kind, ObjectSchemaId(alloc::format!("stage-{}", stage.0)), ObjectSchemaVersion(1)) {
                    Ok(o) => {
                        self.flush_authority();
                        self.note_storage_write(task);
                        created = Some(o);
                        o
                    }
                    Err(e) => return (Some(index), None, Some(StageResult::Failure { error: e.to_string() })),
                }
            }
        };
        for i in 0..usage.writes {
            if !self.is_alive(task) {
                break;
            }
            if let Err(e) = self.charge_storage(task, StorageOperation::Write) {
                return (Some(index), created, Some(failed(e)));
            }
            let a = self.authority.as_deref_mut().expect("a transaction began");
            let slot = &mut a.transactions[index as usize];
            let data = usage.data.as_bytes();
            let written = match usage.kind {
                ObjectKind::Blob | ObjectKind::Log => a.store.write(&mut slot.tx, object, data),
                ObjectKind::Map => a.store.put(&mut slot.tx, object, alloc::format!("{i}").as_bytes(), data),
            };
            self.flush_authority();
            if let Err(e) = written {
                return (Some(index), created, Some(StageResult::Failure { error: e.to_string() }));
            }
            self.note_storage_write(task);
        }
        (Some(index), created, None)
    }

    /// Commits (if `accept`) or rolls back a stage attempt's transaction, if it is still active.
    /// Returns whether it committed.
    pub(crate) fn settle_transaction(&mut self, index: u32, accept: bool) -> bool {
        let Some(a) = self.authority.as_deref_mut() else { return false };
        let slot = &mut a.transactions[index as usize];
        if slot.tx.state() != TransactionState::Active {
            return slot.tx.state() == TransactionState::Committed && accept;
        }
        let committed = if accept { a.store.commit(&mut slot.tx).is_ok() } else { a.store.rollback(&mut slot.tx).map(|_| false).unwrap_or(false) };
        self.flush_authority();
        committed
    }

    // ----- authority faults -------------------------------------------------------------------

    /// A `BudgetSqueeze` fault: the newest task named `task` gets a lower limit.
    pub(crate) fn squeeze_budget(&mut self, task: &str, resource: ResourceKind, limit: u64) {
        let Some(task) = self.task_named(task).filter(|t| self.is_alive(*t)) else { return };
        let exec = self.exec_of(task);
        let Some(ledger) = self.authority.as_deref_mut().and_then(|a| a.ledger.as_mut()) else { return };
        ledger.squeeze(exec, resource, limit);
        self.fault(FaultKind::BudgetSqueeze);
        self.flush_authority();
    }

    /// A `PolicySwap` fault: the policy engine becomes `policy`.
    pub(crate) fn swap_policy(&mut self, policy: Option<&crate::policy::PolicySpec>) {
        let Some(a) = self.authority.as_deref_mut() else { return };
        a.policy = policy.map(|p| p.build_with_bugs(a.bugs));
        self.fault(FaultKind::PolicySwap);
    }

    /// Whether a `StageFailure` fault fails this attempt, and how.
    pub(crate) fn injected_stage_failure(&mut self, pipeline: &str, stage: &str) -> Option<StageResult> {
        let a = self.authority.as_deref_mut()?;
        let rule = a.stage_failures.iter_mut().find(|r| r.pipeline == pipeline && r.stage == stage && r.used < r.attempts)?;
        rule.used += 1;
        let error = String::from("injected stage failure");
        let result = if rule.permanent { StageResult::Failure { error } } else { StageResult::Retryable { error } };
        self.fault(FaultKind::StageFailure);
        Some(result)
    }
}

/// The stage result of an attempt whose budget ran out.
pub(crate) fn exhausted_result(kind: ResourceKind) -> StageResult {
    StageResult::Cancelled { reason: CancellationReason::Custom(alloc::format!("Budget exhausted: {kind}")) }
}

fn storage_error(message: &str) -> KernelError {
    KernelError::StorageError(String::from(message))
}
