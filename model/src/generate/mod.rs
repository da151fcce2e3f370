//! Random whole runs for campaigns and fuzzing: a scenario shape (services with servers, some
//! supervised; clients; forwarders; capability passers across trust domains), a workload mix and
//! an adversarial fault plan, all drawn from [`Choices`] — seeded for campaigns, or read from a
//! fuzzer's bytes, so coverage guidance steers every decision.
//!
//! Swarm testing (Groce et al., 2012): with `swarm` on, each run enables a random subset of the
//! fault kinds and of the workload's operation kinds, so some runs concentrate on few features
//! and reach states a uniform mix rarely does. The subset chosen is part of the generated
//! scenario (its fault rules and operation weights), hence part of any trace and shrinkable.
//!
//! The network ([`network`]: nodes, links, policy, budgets, link and node faults) is drawn after
//! the authority parts.
//!
//! Every generated scenario validates: names are only drawn from tasks and services it created.
//!
//! The authority and resource parts ([`authority`]) are drawn last (so the kernel parts of a run
//! stay what they were for the same leading choices): budgets, a composed policy, pipelines with
//! stage handlers run by steps and by the workload, storage and CPU work in the workload mix,
//! cancellations, and authority faults; swarm mode switches each of them on or off per run. The
//! interactive parts ([`interactive`]: a workspace with components, focus and subscription steps,
//! key scripts, input faults) come after them.

mod authority;
mod network;
mod interactive;

use crate::bugs::PlantedBug;
use crate::choices::Choices;
use crate::fault::{FaultPlan, FaultScope, FaultTrigger, LifecycleFault, MessageFault, MessageFaultRule};
use crate::identity::IdentityKind;
use crate::lifecycle::RestartPolicy;
use crate::message::SchemaVersion;
use crate::scenario::{Behaviour, CapGrant, Limits, OpMix, Scenario, TaskSpec, Workload};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenConfig {
    /// Enable a random subset of fault and operation kinds per run.
    pub swarm: bool,
    /// Upper bound of workload operations.
    pub max_workload_ops: u32,
    /// Planted bugs to switch on.
    pub bugs: Vec<PlantedBug>,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig { swarm: true, max_workload_ops: 400, bugs: Vec::new() }
    }
}

impl GenConfig {
    /// The settings of the `generated_run` fuzz target (swarm, at most 200 workload operations),
    /// shared with `shrink --fuzz-artifact` so a crash artifact decodes to the very run that
    /// crashed.
    pub fn fuzzing(bugs: Vec<PlantedBug>) -> Self {
        GenConfig { swarm: true, max_workload_ops: 200, bugs }
    }
}

const DOMAINS: [&str; 3] = ["core", "user", "sandbox"];
const CAP_KINDS: [&str; 4] = ["file_read", "file_write", "net", "storage"];

struct Gen<'a> {
    c: &'a mut Choices,
    tasks: Vec<String>,
    services: Vec<String>,
    /// Tasks that send and receive messages (servers, forwarders, clients): the ones a
    /// task-scoped message fault can meet.
    talkers: Vec<String>,
}

impl Gen<'_> {
    fn upto(&mut self, max: u64) -> u64 {
        self.c.below(max + 1)
    }
    fn pick<'s>(&mut self, items: &'s [&'s str]) -> &'s str {
        items[self.c.index(items.len())]
    }
    fn flip(&mut self) -> bool {
        self.c.below(2) == 1
    }
    fn domain(&mut self) -> String {
        self.pick(&DOMAINS).to_string()
    }
    fn version(&mut self) -> SchemaVersion {
        SchemaVersion::new(1 + self.c.below(3) as u32, self.c.below(3) as u32)
    }
    fn task(&mut self, name: String, behaviour: Behaviour) -> TaskSpec {
        self.tasks.push(name.clone());
        let caps = (0..self.c.below(3)).map(|i| self.cap(&name, i)).collect();
        TaskSpec { name, behaviour, kind: IdentityKind::Service, domain: self.domain(), start_ns: self.upto(50) * 1_000, caps, restart: RestartPolicy::Never, budget: None }
    }
    fn cap(&mut self, owner: &str, i: u64) -> CapGrant {
        CapGrant { label: format!("{owner}-cap{i}"), kind: self.pick(&CAP_KINDS).to_string(), durable: self.c.below(4) == 0 }
    }
    fn restart(&mut self) -> RestartPolicy {
        match self.c.below(4) {
            0 => RestartPolicy::Never,
            1 => RestartPolicy::Always,
            2 => RestartPolicy::OnFailure,
            _ => RestartPolicy::ExponentialBackoff { max_attempts: 1 + self.c.below(4) as u32 },
        }
    }
}

/// Generates a valid scenario from `choices`.
pub fn generate(choices: &mut Choices, config: &GenConfig) -> Scenario {
    let mut g = Gen { c: choices, tasks: Vec::new(), services: Vec::new(), talkers: Vec::new() };
    let mut tasks = services(&mut g);
    tasks.extend(clients(&mut g));
    tasks.extend(passers(&mut g));
    let workload = workload(&mut g, config);
    let faults = faults(&mut g, config.swarm);
    let jitter = [0, 1_000, 5_000][g.c.index(3)];
    let mut s = Scenario {
        name: String::from("generated"),
        description: String::from("A generated run (shape, workload and faults drawn from choices)."),
        seed: 0,
        limits: Limits { max_time_ns: 50_000_000, max_events: 20_000, sched_jitter_ns: jitter, stop_on_violation: true },
        tasks,
        steps: Vec::new(),
        workload,
        faults,
        policy: None,
        pipelines: Vec::new(),
        migrations: Vec::new(),
        workspace: None,
        bugs: config.bugs.clone(),
        network: None,
        #[cfg(feature = "net-bringup-lite")]
        lite_network: None,
        expect: Default::default(),
    };
    authority::generate(&mut g, config.swarm, &mut s);
    network::generate(&mut g, config.swarm, &mut s);
    interactive::generate(&mut g, config.swarm, &mut s);
    s
}

/// One to three services, each a server, some behind a supervisor, some behind a forwarder.
fn services(g: &mut Gen<'_>) -> Vec<TaskSpec> {
    let mut out = Vec::new();
    for i in 0..1 + g.c.below(3) {
        let service = format!("svc{i}");
        let version = g.version();
        let server = Behaviour::Server { service: service.clone(), version, min_major: None, work_ns: g.upto(3) * 100_000 };
        let mut spec = g.task(format!("server{i}"), server);
        g.talkers.push(spec.name.clone());
        g.services.push(service.clone());
        if g.flip() {
            spec.restart = g.restart();
            let supervisor = Behaviour::Supervisor { children: vec![spec], backoff_ns: 50_000 + g.upto(4) * 50_000 };
            let mut sup = g.task(format!("sup{i}"), supervisor);
            sup.kind = IdentityKind::System;
            out.push(sup);
        } else {
            out.push(spec);
        }
        if g.flip() {
            let front = format!("front{i}");
            out.push(g.task(format!("forwarder{i}"), Behaviour::Forwarder { service: front.clone(), to: service }));
            g.talkers.push(format!("forwarder{i}"));
            g.services.push(front);
        }
    }
    out
}

/// One to four retrying clients of random services.
fn clients(g: &mut Gen<'_>) -> Vec<TaskSpec> {
    (0..1 + g.c.below(4))
        .map(|i| {
            let service = g.services[g.c.index(g.services.len())].clone();
            let behaviour = Behaviour::Client {
                service,
                requests: 1 + g.upto(20) as u32,
                timeout_ns: 200_000 + g.upto(10) * 100_000,
                retries: g.upto(4) as u32,
                backoff_ns: 10_000 + g.upto(10) * 10_000,
                interval_ns: g.upto(5) * 10_000,
                version: g.version(),
            };
            g.talkers.push(format!("client{i}"));
            g.task(format!("client{i}"), behaviour)
        })
        .collect()
}

/// Zero to three capability passers handing capabilities along a chain.
fn passers(g: &mut Gen<'_>) -> Vec<TaskSpec> {
    let n = g.c.below(4);
    let mut out: Vec<TaskSpec> = Vec::new();
    for i in 0..n {
        let to = if i + 1 < n { format!("passer{}", i + 1) } else { String::from("sink") };
        let hold_ns = 100_000 + g.upto(20) * 100_000;
        out.push(g.task(format!("passer{i}"), Behaviour::CapPasser { to, hold_ns }));
    }
    if n > 0 {
        out.push(g.task(String::from("sink"), Behaviour::Idle));
    }
    out
}

fn workload(g: &mut Gen<'_>, config: &GenConfig) -> Option<crate::scenario::Workload> {
    let ops = g.upto(u64::from(config.max_workload_ops)) as u32;
    if ops == 0 {
        return None;
    }
    let weight = |g: &mut Gen<'_>, default: u32| if config.swarm && g.flip() { 0 } else { default + g.upto(10) as u32 };
    let mut mix = OpMix {
        spawn: weight(g, 2),
        terminate: weight(g, 1),
        grant: weight(g, 5),
        delegate: weight(g, 5),
        clone: weight(g, 1),
        drop: weight(g, 2),
        use_cap: weight(g, 8),
        forged_use: weight(g, 1),
        create_channel: weight(g, 2),
        send: weight(g, 6),
        receive: weight(g, 5),
        register: weight(g, 2),
        lookup: weight(g, 4),
        storage: 0,
        pipeline: 0,
        compute: 0,
    };
    if mix.weights().iter().all(|&w| w == 0) {
        mix.grant = 1;
    }
    Some(Workload { ops, interval_ns: 2_000 + g.upto(20) * 1_000, tasks: 1 + g.upto(5) as u32, mix, domains: DOMAINS.iter().map(|d| d.to_string()).collect(), budget: None })
}

/// The fault kinds in the order swarm mode decides on them.
const MESSAGE_FAULTS: [MessageFault; 5] =
    [MessageFault::Drop, MessageFault::Delay { nanos: 0 }, MessageFault::Reorder, MessageFault::CrashOnSend, MessageFault::CrashOnRecv];

fn faults(g: &mut Gen<'_>, swarm: bool) -> FaultPlan {
    let mut plan = FaultPlan::default();
    for kind in MESSAGE_FAULTS {
        let enabled = !swarm || g.flip();
        for _ in 0..if enabled { 1 + g.c.below(2) } else { 0 } {
            let fault = match kind {
                MessageFault::Delay { .. } => MessageFault::Delay { nanos: 1_000 + g.upto(50) * 10_000 },
                other => other,
            };
            plan.message_faults.push(MessageFaultRule { fault, on: scope(g), when: trigger(g) });
        }
    }
    let lifecycle = if swarm { g.c.below(3) } else { 1 + g.c.below(2) };
    for _ in 0..lifecycle {
        let task = g.tasks[g.c.index(g.tasks.len())].clone();
        plan.lifecycle_faults.push(if g.flip() {
            LifecycleFault::CrashAfterMessages { task, count: 1 + g.upto(20) as u32 }
        } else {
            LifecycleFault::CrashAt { task, at_ns: g.upto(100) * 100_000 }
        });
    }
    plan
}

fn scope(g: &mut Gen<'_>) -> FaultScope {
    match g.c.below(3) {
        0 => FaultScope::Any,
        1 => FaultScope::Service(g.services[g.c.index(g.services.len())].clone()),
        _ => FaultScope::Task(g.talkers[g.c.index(g.talkers.len())].clone()),
    }
}

fn trigger(g: &mut Gen<'_>) -> FaultTrigger {
    match g.c.below(6) {
        0 => FaultTrigger::Chance { per_mille: 1 + g.upto(300) as u16 },
        1 => FaultTrigger::Next { count: 1 + g.upto(10) as u32 },
        2 => FaultTrigger::EveryNth { n: 2 + g.upto(10) as u32 },
        3 => {
            // Generated runs do most of their work in their first few milliseconds.
            let from_ns = g.upto(20) * 100_000;
            FaultTrigger::Window { from_ns, until_ns: from_ns + (1 + g.upto(30)) * 100_000 }
        }
        4 => {
            let every_ns = 200_000 + g.upto(20) * 100_000;
            FaultTrigger::Periodic { every_ns, for_ns: g.upto(every_ns / 100_000) * 100_000, from_ns: g.upto(20) * 100_000 }
        }
        _ => FaultTrigger::Chance { per_mille: 1 + g.upto(50) as u16 },
    }
}

/// A fuzzer's input read as a run: 8-byte little-endian words become choices; the first
/// `generation` words (or all, if fewer) drive [`generate`], the rest drive the run itself
/// (exhausted lists read as zeros). Fuzz targets and the artifact-to-trace command share this,
/// so a crash artifact maps to exactly one `(scenario, run choices)` pair.
pub fn fuzz_case(bytes: &[u8], config: &GenConfig) -> (Scenario, Vec<u64>) {
    let words: Vec<u64> = bytes
        .chunks(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect();
    let split = words.len().min(FUZZ_GENERATION_WORDS);
    let mut choices = Choices::replaying(words[..split].to_vec());
    let scenario = generate(&mut choices, config);
    (scenario, words[split..].to_vec())
}

/// How many leading words of a fuzz input shape the scenario.
pub const FUZZ_GENERATION_WORDS: usize = 160;

/// Swarm testing over a fixed scenario: keeps a random subset of its message-fault rules and
/// lifecycle faults and of its workload's operation kinds (each kept with probability 1/2), drawn
/// from `choices`. Removing parts never makes a valid scenario invalid.
pub fn swarm_template(template: &Scenario, choices: &mut Choices) -> Scenario {
    let mut s = template.clone();
    s.faults.message_faults.retain(|_| choices.below(2) == 1);
    s.faults.lifecycle_faults.retain(|_| choices.below(2) == 1);
    s.faults.authority_faults.retain(|_| choices.below(2) == 1);
    s.faults.input_faults.retain(|_| choices.below(2) == 1);
    if let Some(w) = &mut s.workload {
        // One draw per operation kind the template has weight for (the kinds added later, only
        // when weighted, so a template without them draws exactly as before).
        let mut weights = w.mix.weights_mut();
        let before: Vec<u32> = weights.iter().map(|w| **w).collect();
        for (i, w) in weights.iter_mut().enumerate() {
            if (i < 13 || **w > 0) && choices.below(2) == 0 {
                **w = 0;
            }
        }
        if weights.iter().all(|w| **w == 0) {
            // Keep at least one operation kind the template had.
            if let Some((w, b)) = weights.iter_mut().zip(before).find(|(_, b)| *b > 0) {
                **w = b;
            }
        }
    }
    s
}
