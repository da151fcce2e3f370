//! The authority and resource monitors: the domain layer's checkers (`budget::rules`,
//! `pipeline::checks` with `derivation`, `storage::checks`, `policy::checks`, `cancellation`),
//! fed with the run's observations, plus the checks that relate those records to the kernel's
//! operations:
//! - `budget.exact_consumption`, one charge per operation: with budgets on, every accepted send
//!   (and every receive that returns or loses a message) is preceded by exactly one
//!   `MessageConsumed` of its task's identity, every first attempt of a stage by exactly one
//!   `PipelineStageConsumed` of that stage, a retry by none, and no charge is left without its
//!   operation at the end of an event;
//! - `policy.deny_has_no_effect` at the kernel's enforcement points: after a refused spawn no
//!   task is spawned, after a refused delegation the capability is not delegated;
//! - `storage.no_partial_commit`, a crashed transaction is not committed: a transaction whose
//!   owner has ended never commits.
//!
//! Work per observation is O(log n) (maps keyed by pipeline, identity, version); the storage
//! postconditions at the end of an event cover only the objects the event touched.

use super::{Checker, Invariant, Liveness};
use crate::budget::audit::{MessageOperation, ResourceEvent};
use crate::budget::rules::BudgetMonitor;
use crate::cancellation::CancellationMonitor;
use crate::capability::CapabilityEvent;
use crate::ids::{CapId, ExecutionId, TaskId};
use crate::kernel::SimulatedKernel;
use crate::observation::Observation;
use crate::pipeline::checks::PipelineMonitor;
use crate::pipeline::{PipelineEvent, PipelineId, StageId};
use crate::policy::audit::PolicyCheck;
use crate::policy::checks::{composition_precedence, DecisionMemo};
use crate::policy::PolicyEvent;
use crate::storage::checks::StorageMonitor;
use crate::storage::StorageEvent;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

/// Charges not yet matched with their operation, within one event.
#[derive(Default)]
struct Charges {
    send: Option<ExecutionId>,
    receive: Option<ExecutionId>,
    stage: Option<(PipelineId, StageId)>,
}

/// A kernel operation the policy refused, within one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    Spawn,
    Delegate(CapId),
}

/// Shadow state of the authority and resource invariants.
#[derive(Default)]
pub struct AuthorityMonitors {
    budget: BudgetMonitor,
    budget_seen: bool,
    pipelines: BTreeMap<PipelineId, PipelineMonitor>,
    storage: StorageMonitor,
    storage_seen: bool,
    memo: DecisionMemo,
    cancellation: CancellationMonitor,
    charges: Charges,
    refusal: Option<Refusal>,
}

impl AuthorityMonitors {
    /// One authority observation.
    pub fn observe(&mut self, obs: &Observation, kernel: &SimulatedKernel, liveness: &Liveness, c: &mut Checker<'_>) {
        match obs {
            Observation::Resource(e) => {
                self.budget_seen = true;
                self.charge_recorded(e, c);
                self.budget.observe(e, c);
            }
            Observation::Policy(check) => self.policy(check, c),
            Observation::Pipeline(e) => self.pipeline(e, kernel, c),
            Observation::Storage(e) => {
                self.storage_seen = true;
                if let StorageEvent::Committed { tx, .. } = **e {
                    let owner = kernel.authority_state().and_then(|a| a.transaction(tx)).map(|s| s.owner);
                    let alive = owner.is_none_or(|o| liveness.alive(o));
                    c.check(Invariant::StorageNoPartialCommit, alive, || (format!("{tx} committed after its owner {owner:?} ended inside it"), Vec::new()));
                }
                self.storage.observe(e, c);
            }
            Observation::Cancellation(e) => self.cancellation.observe(e, c),
            _ => {}
        }
    }

    /// A policy swap: decisions before it say nothing about decisions after it.
    pub fn policy_swapped(&mut self) {
        self.memo = DecisionMemo::default();
    }

    fn policy(&mut self, check: &PolicyCheck, c: &mut Checker<'_>) {
        self.memo.observe(check.event, &check.context, &check.report.decision, c);
        composition_precedence(&check.report, c);
        match check.event {
            PolicyEvent::OnSpawn => self.refusal = check.refused.then_some(Refusal::Spawn),
            PolicyEvent::OnCapabilityDelegate => self.refusal = check.refused.then(|| Refusal::Delegate(CapId(check.context.capability_id.unwrap_or(u64::MAX)))),
            _ => {}
        }
    }

    /// A spawn or a delegation happened: it must not be the one the policy just refused.
    pub fn refused_effect(&mut self, obs: &Observation, c: &mut Checker<'_>) {
        let Some(refusal) = self.refusal else { return };
        let hit = match obs {
            Observation::TaskSpawned { .. } => refusal == Refusal::Spawn,
            Observation::Audit(CapabilityEvent::Delegated { cap, .. }) => refusal == Refusal::Delegate(*cap),
            _ => false,
        };
        if hit {
            self.refusal = None;
            c.check(Invariant::PolicyDenyHasNoEffect, false, || (format!("{refusal:?} went ahead although the policy refused it: {obs:?}"), Vec::new()));
        }
    }

    // ----- one charge per operation -----------------------------------------------------------

    fn charge_recorded(&mut self, e: &ResourceEvent, c: &mut Checker<'_>) {
        let (slot, what) = match *e {
            ResourceEvent::MessageConsumed { execution_id, operation: MessageOperation::Send, .. } => (&mut self.charges.send, Some(execution_id)),
            ResourceEvent::MessageConsumed { execution_id, operation: MessageOperation::Receive, .. } => (&mut self.charges.receive, Some(execution_id)),
            ResourceEvent::PipelineStageConsumed { pipeline, stage, .. } => {
                let previous = self.charges.stage.replace((pipeline, stage));
                c.check(Invariant::BudgetExactConsumption, previous.is_none(), || (format!("{stage} of {pipeline} charged again before its attempt started ({previous:?})"), Vec::new()));
                return;
            }
            _ => return,
        };
        let previous = core::mem::replace(slot, what);
        c.check(Invariant::BudgetExactConsumption, previous.is_none(), || (format!("{e:?}: a second charge for one operation (pending {previous:?})"), Vec::new()));
    }

    /// A key was delivered to a component: the receive charge before it was its operation
    /// (`input.delivery_consumes_budget` checks the amount).
    pub fn input_delivered(&mut self) {
        self.charges.receive = None;
    }

    /// A send or receive by `by` happened: exactly one charge of its identity precedes it.
    pub fn charged(&mut self, obs: &Observation, by: TaskId, kernel: &SimulatedKernel, c: &mut Checker<'_>) {
        let exec = kernel.task(by).map(|t| t.identity.execution_id);
        let slot = match obs {
            Observation::MessageSent { .. } | Observation::SendFailed { .. } => &mut self.charges.send,
            _ => &mut self.charges.receive,
        };
        let pending = slot.take();
        c.check(Invariant::BudgetExactConsumption, pending.is_some() && pending == exec, || {
            (format!("{obs:?} by {by} ({exec:?}) was charged {pending:?}: every message operation is charged exactly once, to its task"), Vec::new())
        });
    }

    // ----- pipelines ----------------------------------------------------------------------------

    fn pipeline(&mut self, e: &PipelineEvent, kernel: &SimulatedKernel, c: &mut Checker<'_>) {
        let id = e.pipeline();
        let runs = kernel.authority_state().map_or(&[][..], |a| a.pipelines.as_slice());
        let run = runs.get((id.0 as usize).wrapping_sub(1)).and_then(|r| r.executor.as_ref());
        if let PipelineEvent::Started { .. } = e {
            if let Some(executor) = run {
                self.pipelines.insert(id, PipelineMonitor::new(executor.spec()));
            }
        }
        if let PipelineEvent::AttemptStarted { pipeline, stage, attempt, .. } = *e {
            let pending = self.charges.stage.take();
            let expected = (attempt == 0).then_some((pipeline, stage));
            c.check(Invariant::BudgetExactConsumption, pending == expected, || {
                (format!("attempt {attempt} of {stage} of {pipeline} started with stage charge {pending:?}: a stage entry is charged once, a retry never"), Vec::new())
            });
        }
        let Some(monitor) = self.pipelines.get_mut(&id) else { return };
        monitor.observe(e, c);
        if let PipelineEvent::Finished { .. } = e {
            if let Some(executor) = run {
                monitor.check_trace(executor.trace(), c);
            }
            self.pipelines.remove(&id);
        }
    }

    // ----- end of an event ----------------------------------------------------------------------

    pub fn end_event(&mut self, kernel: &SimulatedKernel, c: &mut Checker<'_>) {
        c.attribute("budget");
        if self.refusal.take().is_some() {
            c.check(Invariant::PolicyDenyHasNoEffect, true, unreachable_description);
        }
        let charges = core::mem::take(&mut self.charges);
        for (what, pending) in [("send", charges.send.map(|e| format!("{e}"))), ("receive", charges.receive.map(|e| format!("{e}"))), ("stage", charges.stage.map(|(p, s)| format!("{s} of {p}")))] {
            if let Some(p) = pending {
                c.check(Invariant::BudgetExactConsumption, false, || (format!("a {what} charge of {p} with no {what} after it"), Vec::new()));
            }
        }
        if core::mem::take(&mut self.budget_seen) {
            self.budget.end_event(c);
        }
        if core::mem::take(&mut self.storage_seen) {
            if let Some(a) = kernel.authority_state() {
                c.attribute("storage");
                self.storage.end_event(&a.store, c);
            }
        }
    }
}

fn unreachable_description() -> (alloc::string::String, Vec<alloc::string::String>) {
    (alloc::string::String::from("a refused operation had no effect"), Vec::new())
}
