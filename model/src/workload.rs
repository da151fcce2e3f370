//! The seeded random workload: a stream of kernel and capability operations drawn from the
//! scenario's operation mix, performed by idle "workload tasks" (`wl0`, `wl1`, ...).
//!
//! Every decision (which operation, which task, which capability, which channel) is one draw from
//! the run's choices. The workload stays inside its own world so it cannot silently break the
//! scenario's tasks: it delegates and drops only capabilities minted for workload tasks, sends and
//! receives only on channels workload tasks created, and terminates only workload tasks. It does
//! look up every service, and it deliberately misbehaves the way buggy user code would: it uses
//! capabilities, and registers channels, from tasks that do not hold them (three times in four the
//! requester is the holder),
//! from dead tasks, forged capability ids, and sends from terminated tasks. The kernel must refuse
//! all of that, and the invariants check that it does.

use crate::identity::{ExitReason, IdentityKind, TrustDomain};
use crate::ids::{CapId, ChannelId, TaskId};
use crate::kernel::{SimulatedKernel, TaskDescriptor};
use crate::message::{MessageEnvelope, MessagePayload, SchemaVersion, ServiceId};
use crate::names::{well_known, Symbol};
use crate::scenario::{Behaviour, OpMix, Step, StepOp, StorageStep, TaskSpec, Workload};
use crate::storage::ObjectKind;
use crate::time::Duration;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The operations of the mix, in the order of [`OpMix`]'s fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Spawn,
    Terminate,
    Grant,
    Delegate,
    Clone,
    Drop,
    UseCap,
    ForgedUse,
    CreateChannel,
    Send,
    Receive,
    Register,
    Lookup,
    Storage,
    Pipeline,
    Compute,
}

const OPS: [Op; 16] = [
    Op::Spawn,
    Op::Terminate,
    Op::Grant,
    Op::Delegate,
    Op::Clone,
    Op::Drop,
    Op::UseCap,
    Op::ForgedUse,
    Op::CreateChannel,
    Op::Send,
    Op::Receive,
    Op::Register,
    Op::Lookup,
    Op::Storage,
    Op::Pipeline,
    Op::Compute,
];

fn weights(m: &OpMix) -> [u32; 16] {
    m.weights()
}

/// What the workload asks the event loop to do (the loop, not the kernel, runs pipelines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadRequest {
    /// `task` starts a run of the scenario's pipeline number `decl`.
    RunPipeline { task: TaskId, decl: usize },
}

pub const CAP_KINDS: [&str; 4] = ["file_read", "file_write", "net", "storage"];
const WORKLOAD_SERVICES: u64 = 4;

/// The workload's state.
#[derive(Clone, Debug)]
pub struct WorkloadDriver {
    spec: Workload,
    weights: [u32; 16],
    total: u64,
    remaining: u32,
    tasks: Vec<TaskId>,
    channels: Vec<ChannelId>,
    caps: Vec<CapId>,
    services: Vec<ServiceId>,
    /// `CAP_KINDS`, interned.
    cap_kinds: [Symbol; 4],
    /// The workload's open transactions (label, owner) and objects (label, kind), in creation order.
    txs: Vec<(String, TaskId)>,
    tx_count: u32,
    objects: Vec<(String, ObjectKind)>,
    /// The names of the scenario's pipelines.
    pipelines: Vec<String>,
    started: bool,
    record: Option<WorkloadRecord>,
}

/// The workload's operations made explicit: the tasks it spawned (as idle scenario tasks) and
/// every operation as a scenario step naming tasks by name and capabilities and channels by the
/// labels `c<id>` and `ch<id>`. Replacing a workload by its record keeps the same kernel
/// operations at the same times without any random choice (the shrinker's first pass).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkloadRecord {
    pub tasks: Vec<TaskSpec>,
    pub steps: Vec<Step>,
    /// Positions in the run's choice sequence of the workload's own draws (which operation, which
    /// task, ...). Removing them from the choices keeps the rest of the run's draws aligned.
    pub draws: Vec<u64>,
}

fn cap_label(cap: CapId) -> String {
    format!("c{}", cap.0)
}

fn channel_label(channel: ChannelId) -> String {
    format!("ch{}", channel.0)
}

impl WorkloadDriver {
    /// A driver for `spec`; `services` are the scenario's services, which it may look up.
    /// Its names are interned in the kernel's name table.
    pub fn new(spec: &Workload, services: Vec<String>, pipelines: Vec<String>, kernel: &mut SimulatedKernel) -> Self {
        let weights = weights(&spec.mix);
        let mut all: Vec<ServiceId> = services.iter().map(|s| kernel.service_id(s)).collect();
        all.extend((0..WORKLOAD_SERVICES).map(|i| kernel.service_id(&format!("wl-svc{i}"))));
        let cap_kinds = CAP_KINDS.map(|k| kernel.intern(k));
        WorkloadDriver {
            spec: spec.clone(),
            weights,
            total: weights.iter().map(|&w| u64::from(w)).sum(),
            remaining: spec.ops,
            tasks: Vec::new(),
            channels: Vec::new(),
            caps: Vec::new(),
            services: all,
            cap_kinds,
            txs: Vec::new(),
            tx_count: 0,
            objects: Vec::new(),
            pipelines,
            started: false,
            record: None,
        }
    }

    /// Also keep every operation as an explicit step (see [`WorkloadRecord`]).
    pub fn recording(mut self) -> Self {
        self.record = Some(WorkloadRecord::default());
        self
    }

    /// The record kept, if recording.
    pub fn into_record(self) -> Option<WorkloadRecord> {
        self.record
    }

    /// One of the workload's own random decisions (recorded as such when recording).
    fn draw(&mut self, kernel: &mut SimulatedKernel, bound: u64) -> u64 {
        if let (Some(record), true) = (&mut self.record, bound > 1) {
            record.draws.push(kernel.choices.drawn());
        }
        kernel.choices.below(bound)
    }

    fn draw_index(&mut self, kernel: &mut SimulatedKernel, len: usize) -> usize {
        self.draw(kernel, len as u64) as usize
    }

    /// Records an operation as a step (only when recording: the step is built on demand).
    fn log(&mut self, kernel: &SimulatedKernel, op: impl FnOnce(&SimulatedKernel) -> StepOp) {
        if let Some(record) = &mut self.record {
            record.steps.push(Step::new(kernel.now().0, op(kernel)));
        }
    }

    fn name(kernel: &SimulatedKernel, task: TaskId) -> String {
        kernel.task(task).map_or_else(String::new, |t| t.name.clone())
    }

    /// Spawns the initial workload tasks (once, before the first operation).
    fn start(&mut self, kernel: &mut SimulatedKernel) {
        self.started = true;
        for _ in 0..self.spec.tasks {
            self.spawn(kernel);
        }
    }

    /// Whether operations remain.
    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// Gap before the next operation: uniform in `1..=2*interval`.
    pub fn next_gap(&mut self, kernel: &mut SimulatedKernel) -> Duration {
        Duration(1 + self.draw(kernel, self.spec.interval_ns.max(1).saturating_mul(2)))
    }

    /// Performs one operation (the first call also spawns the workload tasks); an operation the
    /// event loop must perform is returned.
    pub fn perform(&mut self, kernel: &mut SimulatedKernel) -> Option<WorkloadRequest> {
        if !self.started {
            self.start(kernel);
        }
        if self.remaining == 0 || self.total == 0 {
            return None;
        }
        self.remaining -= 1;
        kernel.stats.workload_ops += 1;
        match self.pick_op(kernel) {
            Op::Spawn => {
                self.spawn(kernel);
            }
            Op::Terminate => self.terminate(kernel),
            Op::Grant => self.grant(kernel),
            Op::Delegate => self.delegate(kernel),
            Op::Clone => self.clone_cap(kernel),
            Op::Drop => self.drop_cap(kernel),
            Op::UseCap => self.use_cap(kernel),
            Op::ForgedUse => self.forged_use(kernel),
            Op::CreateChannel => self.create_channel(kernel),
            Op::Send => self.send(kernel),
            Op::Receive => self.receive(kernel),
            Op::Register => self.register(kernel),
            Op::Lookup => self.lookup(kernel),
            Op::Storage => self.storage(kernel),
            Op::Pipeline => return self.pipeline(kernel),
            Op::Compute => self.compute(kernel),
        }
        None
    }

    fn pick_op(&mut self, kernel: &mut SimulatedKernel) -> Op {
        let mut x = self.draw(kernel, self.total);
        for (op, w) in OPS.iter().zip(self.weights) {
            if x < u64::from(w) {
                return *op;
            }
            x -= u64::from(w);
        }
        OPS[OPS.len() - 1]
    }

    /// A random element of `items` (a workload decision), or `None` if there is none.
    fn pick<T: Copy>(&mut self, kernel: &mut SimulatedKernel, items: impl Fn(&Self) -> &[T]) -> Option<T> {
        let len = items(self).len();
        if len == 0 {
            return None;
        }
        let i = self.draw_index(kernel, len);
        Some(items(self)[i])
    }

    fn any_task(&mut self, kernel: &mut SimulatedKernel) -> Option<TaskId> {
        self.pick(kernel, |w| &w.tasks)
    }

    fn spawn(&mut self, kernel: &mut SimulatedKernel) {
        let name = format!("wl{}", self.tasks.len());
        let d = self.draw_index(kernel, self.spec.domains.len());
        let domain = &self.spec.domains[d];
        let descriptor = TaskDescriptor::new(name).with_budget(self.spec.budget);
        let spawned = kernel.spawn_task_with_identity(None, descriptor, IdentityKind::Component, TrustDomain::new(domain.clone()), None);
        if let Ok((handle, _)) = spawned {
            self.tasks.push(handle.task_id);
            if let Some(record) = &mut self.record {
                let name = Self::name(kernel, handle.task_id);
                record.tasks.push(TaskSpec {
                    name,
                    behaviour: Behaviour::Idle,
                    kind: IdentityKind::Component,
                    domain: domain.clone(),
                    start_ns: kernel.now().0,
                    caps: Vec::new(),
                    restart: Default::default(),
                    budget: self.spec.budget,
                });
            }
        }
    }

    fn terminate(&mut self, kernel: &mut SimulatedKernel) {
        let Some(task) = self.any_task(kernel) else { return };
        let reason = match self.draw(kernel, 4) {
            0 => ExitReason::Normal,
            1 => ExitReason::Failure { error: "workload crash".into() },
            2 => ExitReason::Cancelled { reason: "workload cancel".into() },
            _ => ExitReason::Timeout,
        };
        self.log(kernel, |kernel| StepOp::Terminate { task: Self::name(kernel, task), reason: reason.clone() });
        let _ = kernel.terminate_task_with_reason(task, reason);
    }

    fn grant(&mut self, kernel: &mut SimulatedKernel) {
        let Some(task) = self.any_task(kernel) else { return };
        let k = self.draw_index(kernel, CAP_KINDS.len());
        let durable = self.draw(kernel, 8) == 0;
        let granted = kernel.grant_capability_of_kind(task, self.cap_kinds[k], durable);
        self.log(kernel, |kernel| {
            let cap = granted.as_ref().map_or_else(|_| String::from("unused"), |c| cap_label(*c));
            StepOp::Grant { task: Self::name(kernel, task), cap, kind: CAP_KINDS[k].into(), durable }
        });
        if let Ok(cap) = granted {
            self.caps.push(cap);
        }
    }

    /// Picks a workload capability and a requester: its owner three times in four.
    fn cap_and_requester(&mut self, kernel: &mut SimulatedKernel) -> Option<(CapId, TaskId)> {
        if self.caps.is_empty() {
            return None;
        }
        let i = self.draw_index(kernel, self.caps.len());
        let cap = self.caps[i];
        let owner = kernel.authority().entry(cap).map(|e| e.owner);
        match (self.draw(kernel, 4), owner) {
            (0, _) | (_, None) => self.any_task(kernel).map(|t| (cap, t)),
            (_, Some(o)) => Some((cap, o)),
        }
    }

    fn drop_cap(&mut self, kernel: &mut SimulatedKernel) {
        let Some((cap, task)) = self.cap_and_requester(kernel) else { return };
        self.log(kernel, |kernel| StepOp::Drop { cap: cap_label(cap), task: Self::name(kernel, task) });
        let _ = kernel.drop_capability(cap, task);
    }

    fn use_cap(&mut self, kernel: &mut SimulatedKernel) {
        let Some((cap, task)) = self.cap_and_requester(kernel) else { return };
        self.log(kernel, |kernel| StepOp::Use { cap: cap_label(cap), task: Self::name(kernel, task) });
        let _ = kernel.use_capability(cap, task);
    }

    fn delegate(&mut self, kernel: &mut SimulatedKernel) {
        let Some((cap, from)) = self.cap_and_requester(kernel) else { return };
        let Some(to) = self.any_task(kernel) else { return };
        self.log(kernel, |kernel| StepOp::Delegate { cap: cap_label(cap), from: Self::name(kernel, from), to: Self::name(kernel, to) });
        let _ = kernel.delegate_capability(cap, from, to);
    }

    fn clone_cap(&mut self, kernel: &mut SimulatedKernel) {
        let Some((cap, task)) = self.cap_and_requester(kernel) else { return };
        let cloned = kernel.clone_capability(cap, task);
        self.log(kernel, |kernel| {
            let new_cap = cloned.as_ref().map_or_else(|_| String::from("unused"), |c| cap_label(*c));
            StepOp::Clone { cap: cap_label(cap), task: Self::name(kernel, task), new_cap }
        });
        if let Ok(copy) = cloned {
            self.caps.push(copy);
        }
    }

    fn forged_use(&mut self, kernel: &mut SimulatedKernel) {
        let Some(task) = self.any_task(kernel) else { return };
        let offset = self.draw(kernel, 1_000);
        let forged = CapId(kernel.authority().minted() + offset);
        self.log(kernel, |kernel| StepOp::UseForged { task: Self::name(kernel, task), id: offset });
        let _ = kernel.use_capability(forged, task);
    }

    fn create_channel(&mut self, kernel: &mut SimulatedKernel) {
        let Some(task) = self.any_task(kernel) else { return };
        let created = kernel.create_channel(task);
        self.log(kernel, |kernel| {
            let labels = created.as_ref().ok().and_then(|c| kernel.channel(*c)).map(|e| (channel_label(e.id), cap_label(e.cap)));
            let (channel, cap) = labels.map_or((String::from("unused"), None), |(ch, cap)| (ch, Some(cap)));
            StepOp::CreateChannel { task: Self::name(kernel, task), channel, cap }
        });
        if let Ok(channel) = created {
            self.channels.push(channel);
            if let Some(entry) = kernel.channel(channel) {
                self.caps.push(entry.cap);
            }
        }
    }

    fn any_channel(&mut self, kernel: &mut SimulatedKernel) -> Option<ChannelId> {
        self.pick(kernel, |w| &w.channels)
    }

    fn send(&mut self, kernel: &mut SimulatedKernel) {
        let (Some(task), Some(channel)) = (self.any_task(kernel), self.any_channel(kernel)) else { return };
        let data = self.draw(kernel, 1 << 16);
        let msg = MessageEnvelope::new(ServiceId(well_known::WORKLOAD), well_known::DATA, SchemaVersion::new(1, 0), MessagePayload::Data(data));
        self.log(kernel, |kernel| StepOp::Send {
            task: Self::name(kernel, task),
            channel: channel_label(channel),
            action: String::from("data"),
            reply_to: None,
            version: SchemaVersion::new(1, 0),
            answers: None,
        });
        let _ = kernel.send_message(task, channel, msg);
    }

    fn receive(&mut self, kernel: &mut SimulatedKernel) {
        let (Some(task), Some(channel)) = (self.any_task(kernel), self.any_channel(kernel)) else { return };
        self.log(kernel, |kernel| StepOp::Receive { task: Self::name(kernel, task), channel: channel_label(channel), timeout_ns: 0 });
        let _ = kernel.receive_message(task, channel);
    }

    /// Registers a workload service on a channel, usually by the holder of the channel's capability.
    fn register(&mut self, kernel: &mut SimulatedKernel) {
        let Some(channel) = self.any_channel(kernel) else { return };
        let holder = kernel.channel(channel).and_then(|c| kernel.authority().entry(c.cap)).map(|e| e.owner);
        let task = match (self.draw(kernel, 4), holder) {
            (0, _) | (_, None) => self.any_task(kernel),
            (_, Some(owner)) => Some(owner),
        };
        let Some(task) = task else { return };
        let n = self.draw(kernel, WORKLOAD_SERVICES) as usize;
        let service = self.services[self.services.len() - WORKLOAD_SERVICES as usize + n];
        self.log(kernel, |kernel| StepOp::Register { task: Self::name(kernel, task), service: service.name(kernel.names()).into(), channel: channel_label(channel) });
        let _ = kernel.register_service(task, service, channel);
    }

    fn lookup(&mut self, kernel: &mut SimulatedKernel) {
        let Some(task) = self.any_task(kernel) else { return };
        let i = self.draw_index(kernel, self.services.len());
        let service = self.services[i];
        self.log(kernel, |kernel| StepOp::Lookup { task: Self::name(kernel, task), service: service.name(kernel.names()).into(), bind: None });
        let _ = kernel.lookup_service(task, &service);
    }

    /// A storage operation: begin a transaction, create an object, write (half of the time, to
    /// one of the first four objects, so transactions meet), commit or roll back, usually by the
    /// transaction's owner (three times in four).
    fn storage(&mut self, kernel: &mut SimulatedKernel) {
        let what = self.draw(kernel, 8);
        // Transactions end by commit or rollback here, or with their owner.
        self.txs.retain(|(_, owner)| kernel.is_alive(*owner));
        if what == 0 || self.txs.is_empty() {
            let Some(task) = self.any_task(kernel) else { return };
            let label = format!("wtx{}", self.tx_count);
            self.tx_count += 1;
            self.log(kernel, |kernel| StepOp::Storage { task: Self::name(kernel, task), tx: label.clone(), op: StorageStep::Begin });
            if kernel.storage_step(task, &label, &StorageStep::Begin).is_ok() {
                self.txs.push((label, task));
            }
            return;
        }
        let t = self.draw_index(kernel, self.txs.len());
        let (tx, owner) = self.txs[t].clone();
        let task = match self.draw(kernel, 4) {
            0 => self.any_task(kernel).unwrap_or(owner),
            _ => owner,
        };
        let op = match what {
            1 => {
                let kind = [ObjectKind::Blob, ObjectKind::Log, ObjectKind::Map][self.draw_index(kernel, 3)];
                StorageStep::Create { object: format!("wobj{}", self.objects.len()), kind, schema: String::from("wl"), version: 1 }
            }
            2..=5 if !self.objects.is_empty() => {
                let o = self.draw_index(kernel, self.objects.len().min(4));
                let (object, kind) = self.objects[o].clone();
                let data = format!("d{}", self.draw(kernel, 100));
                match kind {
                    ObjectKind::Map => StorageStep::Put { object, key: format!("k{}", self.draw(kernel, 4)), value: data },
                    _ => StorageStep::Write { object, data },
                }
            }
            6 => StorageStep::Commit,
            _ => StorageStep::Rollback,
        };
        self.log(kernel, |kernel| StepOp::Storage { task: Self::name(kernel, task), tx: tx.clone(), op: op.clone() });
        let done = kernel.storage_step(task, &tx, &op);
        match op {
            StorageStep::Create { object, kind, .. } if done.is_ok() => self.objects.push((object, kind)),
            StorageStep::Commit | StorageStep::Rollback if task == owner => {
                self.txs.remove(t);
            }
            _ => {}
        }
    }

    /// A run of one of the scenario's pipelines by a workload task (performed by the loop).
    fn pipeline(&mut self, kernel: &mut SimulatedKernel) -> Option<WorkloadRequest> {
        let task = self.any_task(kernel)?;
        if self.pipelines.is_empty() {
            return None;
        }
        let decl = self.draw_index(kernel, self.pipelines.len());
        let pipeline = self.pipelines[decl].clone();
        self.log(kernel, |kernel| StepOp::RunPipeline { task: Self::name(kernel, task), pipeline });
        Some(WorkloadRequest::RunPipeline { task, decl })
    }

    /// Simulated work by a workload task: 1 to 100 `CpuTicks`.
    fn compute(&mut self, kernel: &mut SimulatedKernel) {
        let Some(task) = self.any_task(kernel) else { return };
        let ticks = 1 + self.draw(kernel, 100);
        self.log(kernel, |kernel| StepOp::Compute { task: Self::name(kernel, task), ticks });
        let _ = kernel.compute(task, ticks);
    }
}
