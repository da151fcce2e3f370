//! A minimal stand-in for the event loop: runs a [`PipelineExecutor`] with scenario-defined
//! [`StageHandler`]s to completion on virtual time. Used by the tests of the seed's pipeline
//! examples, and the reference for wiring the executor into the engine (each step here becomes an
//! event there).
//!
//! Per attempt the driver charges the handler's CPU ticks to the executor's identity (before the
//! work: an exhausted budget cancels the attempt at once), opens a storage transaction if the
//! handler uses storage (each operation charged before it runs), and delivers the outcome after
//! the handler's duration — unless a cancellation or a deadline comes first. At equal times the
//! outcome (or wake-up) is delivered first, then a cancellation, then a deadline; the executor
//! treats an outcome at or after a deadline as a timeout, so the order does not change the result.
//! The transaction commits if the executor accepted the attempt's success and rolls back otherwise.

use super::executor::{Action, AttemptOrder, ExecutorEnv, ExecutorError, PipelineExecutor};
use super::{StageHandler, StageId, StageResult, StorageUse};
use crate::budget::enforcement::{Consumption, ResourceLedger};
use crate::cancellation::{CancellationReason, CancellationSource, Cancellations};
use crate::ids::ExecutionId;
use crate::policy::audit::PolicyAuditLog;
use crate::policy::PolicyEngine;
use crate::storage::{ObjectId, ObjectKind, ObjectSchemaId, ObjectSchemaVersion, StorageOperation, Transaction, TransactionalStorage, VersionedStore};
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

/// Everything around a pipeline execution.
#[derive(Default)]
pub struct World {
    pub now: Instant,
    pub cancellations: Cancellations,
    pub policy: Option<Box<dyn PolicyEngine>>,
    pub policy_audit: PolicyAuditLog,
    pub resources: ResourceLedger,
    pub storage: VersionedStore,
    /// An external cancellation: `source` is cancelled with the reason at that time.
    pub cancel_at: Option<(Instant, CancellationSource, CancellationReason)>,
    /// Every attempt order the executor gave (what each handler saw), in order.
    pub orders: Vec<AttemptOrder>,
    /// The object each stage's storage use writes to, once a transaction created it.
    pub stage_objects: BTreeMap<StageId, ObjectId>,
}

impl World {
    pub fn new() -> Self {
        Self::default()
    }

    /// The executor's view of the world at `self.now`.
    pub fn env(&mut self) -> ExecutorEnv<'_> {
        ExecutorEnv { now: self.now, cancellations: &self.cancellations, policy: self.policy.as_deref(), policy_audit: &mut self.policy_audit, resources: &mut self.resources }
    }
}

/// What interrupts a wait before it ends.
enum Interrupt {
    Cancel(Instant),
    Deadline(Instant),
}

/// The first cancellation or deadline strictly before `until` (cancellation first on ties).
fn interrupt_before(world: &World, deadline: Option<Instant>, until: Instant) -> Option<Interrupt> {
    let cancel = world.cancel_at.as_ref().map(|(t, _, _)| (*t).max(world.now)).filter(|t| *t < until);
    let deadline = deadline.map(|d| d.max(world.now)).filter(|d| *d < until);
    match (cancel, deadline) {
        (Some(c), Some(d)) if c <= d => Some(Interrupt::Cancel(c)),
        (_, Some(d)) => Some(Interrupt::Deadline(d)),
        (Some(c), None) => Some(Interrupt::Cancel(c)),
        (None, None) => None,
    }
}

/// Delivers an interruption; `None` if nothing comes before `until`.
fn deliver_interrupt(executor: &mut PipelineExecutor, world: &mut World, deadline: Option<Instant>, until: Instant) -> Option<Action> {
    match interrupt_before(world, deadline, until)? {
        Interrupt::Cancel(t) => {
            world.now = t;
            if let Some((_, source, reason)) = world.cancel_at.take() {
                world.cancellations.cancel(source, reason, t);
            }
            Some(executor.on_cancel(&mut world.env()))
        }
        Interrupt::Deadline(t) => {
            world.now = t;
            Some(executor.on_deadline(&mut world.env()))
        }
    }
}

/// Runs the executor to completion; handlers are indexed by stage (a missing one succeeds).
pub fn run_pipeline(executor: &mut PipelineExecutor, handlers: &[StageHandler], world: &mut World) -> Result<(), ExecutorError> {
    if world.cancel_at.as_ref().is_some_and(|(t, _, _)| *t <= world.now) {
        if let Some((_, source, reason)) = world.cancel_at.take() {
            world.cancellations.cancel(source, reason, world.now);
        }
    }
    let exec = executor.identity().execution_id;
    let mut action = executor.start(&mut world.env());
    loop {
        action = match action {
            Action::Finished(result) => return result,
            Action::Nothing => {
                // Unreachable: the driver only delivers inputs that apply.
                return Err(ExecutorError::Cancelled { stage_name: None, reason: CancellationReason::Custom("driver stalled".to_string()) });
            }
            Action::WaitUntil { until, deadline } => match deliver_interrupt(executor, world, deadline, until) {
                Some(a) => a,
                None => {
                    world.now = until;
                    executor.on_wake(&mut world.env())
                }
            },
            Action::StartAttempt(order) => {
                world.orders.push(order.clone());
                let handler = handlers.get(order.stage.index()).cloned().unwrap_or_default();
                let (result, tx) = perform(world, exec, order.stage, &handler, &order);
                let done = if matches!(result, StageResult::Cancelled { .. }) { world.now } else { world.now.after(handler.duration()) };
                let next = match deliver_interrupt(executor, world, order.deadline, done) {
                    Some(a) => a,
                    None => {
                        world.now = done;
                        executor.on_attempt_outcome(order.stage, order.attempt, result, &mut world.env())
                    }
                };
                let accepted = executor.trace().entries.iter().rev().find(|e| e.stage_id == order.stage && e.attempt == order.attempt).is_some_and(|e| e.result.is_success());
                settle_storage(world, order.stage, tx, accepted);
                next
            }
        };
    }
}

/// An attempt's storage transaction and the object it created, if any.
struct AttemptStorage {
    tx: Transaction,
    created: Option<ObjectId>,
}

/// Starts the attempt: CPU, then storage, each charged before it runs. Returns the handler's
/// result (a cancellation if a budget ran out, a failure if storage refused) and its transaction.
fn perform(world: &mut World, exec: ExecutionId, stage: StageId, handler: &StageHandler, order: &AttemptOrder) -> (StageResult, Option<AttemptStorage>) {
    if handler.cpu_ticks > 0 {
        if let Err(e) = world.resources.try_consume_cpu_ticks(exec, handler.cpu_ticks) {
            return (exhausted(e.resource_type), None);
        }
    }
    let result = handler.result(order.attempt);
    let Some(usage) = &handler.storage else { return (result, None) };
    let (storage, refusal) = use_storage(world, exec, stage, usage);
    (refusal.unwrap_or(result), storage)
}

fn exhausted(kind: crate::budget::ResourceKind) -> StageResult {
    StageResult::Cancelled { reason: CancellationReason::Custom(format!("Budget exhausted: {kind}")) }
}

/// Runs the handler's storage use in a new transaction. Returns the transaction and, if an
/// operation was refused (exhausted budget, storage error), the outcome that replaces the
/// handler's.
fn use_storage(world: &mut World, exec: ExecutionId, stage: StageId, usage: &StorageUse) -> (Option<AttemptStorage>, Option<StageResult>) {
    let tx = match world.storage.begin_transaction() {
        Ok(tx) => tx,
        Err(e) => return (None, Some(StageResult::Failure { error: e.to_string() })),
    };
    let mut storage = AttemptStorage { tx, created: None };
    let object = match world.stage_objects.get(&stage) {
        Some(o) => *o,
        None => {
            let created = charge(world, exec, StorageOperation::Create).and_then(|()| {
                world.storage.create(&mut storage.tx, usage.kind, ObjectSchemaId(format!("stage-{}", stage.0)), ObjectSchemaVersion(1)).map_err(|e| StageResult::Failure { error: e.to_string() })
            });
            match created {
                Ok(o) => {
                    storage.created = Some(o);
                    o
                }
                Err(outcome) => return (Some(storage), Some(outcome)),
            }
        }
    };
    for i in 0..usage.writes {
        let written = charge(world, exec, StorageOperation::Write).and_then(|()| {
            let data = usage.data.as_bytes();
            let r = match usage.kind {
                ObjectKind::Blob | ObjectKind::Log => world.storage.write(&mut storage.tx, object, data),
                ObjectKind::Map => world.storage.put(&mut storage.tx, object, format!("{i}").as_bytes(), data),
            };
            r.map(|_| ()).map_err(|e| StageResult::Failure { error: e.to_string() })
        });
        if let Err(outcome) = written {
            return (Some(storage), Some(outcome));
        }
    }
    (Some(storage), None)
}

/// Charges one storage operation's cost before it runs.
fn charge(world: &mut World, exec: ExecutionId, op: StorageOperation) -> Result<(), StageResult> {
    for _ in 0..op.cost().get() {
        world.resources.try_consume(exec, Consumption::StorageOp).map_err(|e| exhausted(e.resource_type))?;
    }
    Ok(())
}

/// Commits the attempt's transaction if its success was accepted, rolls it back otherwise.
fn settle_storage(world: &mut World, stage: StageId, storage: Option<AttemptStorage>, accepted: bool) {
    let Some(mut storage) = storage else { return };
    if accepted && world.storage.commit(&mut storage.tx).is_ok() {
        if let Some(o) = storage.created {
            world.stage_objects.insert(stage, o);
        }
    } else if storage.tx.state() == crate::storage::TransactionState::Active {
        let _ = world.storage.rollback(&mut storage.tx);
    }
}

/// The resource ledger of a world, for tests.
impl World {
    pub fn ledger(&self) -> &ResourceLedger {
        &self.resources
    }
}
