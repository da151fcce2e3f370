//! Supervisor behaviour (interface reference, "Supervision Rules", "Restart Policies",
//! "Lifecycle States"; architecture Phase 7).
//!
//! The supervisor spawns each child with itself as parent and creator, tracks each child's
//! [`LifecycleState`], and reads the exit notifications of its own children only (the kernel
//! routes them to the parent's inbox). On a child's exit it applies the child's restart policy:
//! - normal exit: `Running → Stopping → Stopped`; only `Always` restarts it (`Stopped →
//!   Restarting`, an addition to the seed's transition list);
//! - failure or timeout: `Running → Failed`; if the policy says so, `Failed → Restarting` and a
//!   restart after the policy's delay (exponential backoff doubles the base delay per restart).
//!
//! A restart spawns a new task (new task id, new execution id) with the same spec
//! (`Restarting → Starting → Running`) and re-binds the dead child's durable capabilities to it
//! (audited as `Rebound`);
//! of the spec's initial capabilities only the non-durable ones are granted again, so durable ones
//! never multiply across restarts.
//!
//! Deliberately absent (the seed lists it as future work): cascade termination. When a
//! supervisor dies its children keep running, and a restarted supervisor spawns a fresh set beside
//! them (whose servers then cannot register their names).
//! Every transition is reported to the `lifecycle.valid_transition` invariant.

use super::{Ctx, Next};
use crate::identity::ExitNotification;
use crate::ids::{ExecutionId, TaskId};
use crate::kernel::{TaskDescriptor, WakeCause};
use crate::lifecycle::LifecycleState;
use crate::observation::Observation;
use crate::scenario::TaskSpec;
use crate::time::{Duration, Instant};
use alloc::vec::Vec;

#[derive(Clone, Debug)]
struct Child {
    spec: TaskSpec,
    task: Option<TaskId>,
    exec: Option<ExecutionId>,
    state: LifecycleState,
    restarts: u32,
    restart_at: Option<Instant>,
}

#[derive(Clone, Debug)]
pub struct Supervisor {
    children: Vec<Child>,
    backoff: Duration,
}

impl Supervisor {
    pub fn new(specs: Vec<TaskSpec>, backoff: Duration) -> Self {
        let children = specs
            .into_iter()
            .map(|spec| Child { spec, task: None, exec: None, state: LifecycleState::Starting, restarts: 0, restart_at: None })
            .collect();
        Supervisor { children, backoff }
    }

    pub fn step(&mut self, wake: WakeCause, ctx: &mut Ctx<'_>) -> Next {
        match wake {
            WakeCause::Start => {
                for i in 0..self.children.len() {
                    self.start_child(i, ctx);
                }
            }
            _ => {
                let notes = ctx.api.kernel.take_exit_notifications(ctx.api.task);
                for note in notes {
                    self.on_exit(&note, ctx);
                }
                self.restart_due(ctx);
            }
        }
        self.next_wait(ctx.api.kernel.now())
    }

    fn transition(&mut self, i: usize, to: LifecycleState, ctx: &mut Ctx<'_>) {
        let child = &mut self.children[i];
        let from = core::mem::replace(&mut child.state, to);
        let (supervisor, slot, child) = (ctx.api.task, i as u32, child.exec);
        ctx.api.kernel.observe_external(Observation::Lifecycle { supervisor, slot, child, from, to });
    }

    fn start_child(&mut self, i: usize, ctx: &mut Ctx<'_>) {
        let me = ctx.api.task;
        let kernel = &mut *ctx.api.kernel;
        let parent = kernel.get_task_identity(me);
        let spec = &self.children[i].spec;
        let domain = crate::identity::TrustDomain::new(spec.domain.clone());
        match kernel.spawn_task_with_identity(Some(me), TaskDescriptor::new(spec.name.clone()).with_budget(spec.budget), spec.kind, domain, parent) {
            Ok((handle, exec)) => {
                let previous = self.children[i].task.replace(handle.task_id);
                self.children[i].exec = Some(exec);
                if let Some(dead) = previous {
                    ctx.api.kernel.rebind_durable_capabilities(dead, handle.task_id);
                }
                let mut spec = self.children[i].spec.clone();
                if previous.is_some() {
                    // Durable capabilities came back by re-binding; only the others are granted anew.
                    spec.caps.retain(|c| !c.durable);
                }
                ctx.spawned.push((handle.task_id, spec));
                self.transition(i, LifecycleState::Running, ctx);
            }
            Err(_) => self.transition(i, LifecycleState::Failed, ctx),
        }
    }

    fn on_exit(&mut self, note: &ExitNotification, ctx: &mut Ctx<'_>) {
        let Some(i) = self.children.iter().position(|c| c.exec == Some(note.execution_id)) else { return };
        if self.children[i].state != LifecycleState::Running {
            return;
        }
        let policy = self.children[i].spec.restart;
        let restarts = self.children[i].restarts;
        if note.reason.is_failure() {
            self.transition(i, LifecycleState::Failed, ctx);
        } else {
            self.transition(i, LifecycleState::Stopping, ctx);
            self.transition(i, LifecycleState::Stopped, ctx);
        }
        if policy.should_restart(&note.reason, restarts) {
            self.transition(i, LifecycleState::Restarting, ctx);
            let delay = policy.restart_delay(self.backoff, restarts);
            self.children[i].restart_at = Some(ctx.api.kernel.now().after(delay));
        }
    }

    fn restart_due(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.api.kernel.now();
        for i in 0..self.children.len() {
            if self.children[i].restart_at.is_some_and(|at| at <= now) {
                self.children[i].restart_at = None;
                self.children[i].restarts += 1;
                ctx.api.kernel.stats.restarts += 1;
                if let Some(stats) = ctx.api.kernel.task_stats_mut(ctx.api.task) {
                    stats.restarts += 1;
                }
                self.transition(i, LifecycleState::Starting, ctx);
                self.start_child(i, ctx);
            }
        }
    }

    fn next_wait(&self, now: Instant) -> Next {
        let due = self.children.iter().filter_map(|c| c.restart_at).min();
        Next::Wait { channel: None, timeout: due.map(|at| Duration(at.0.saturating_sub(now.0))) }
    }
}
