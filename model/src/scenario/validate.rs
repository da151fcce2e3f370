//! Validation of steps and expectations: every name they use resolves (tasks, capability and
//! channel labels, services, trust domains, capability kinds, message actions, step numbers), and
//! every form is used where it means something (`Valid` on an `IsValid` step, a blocking `Receive`
//! by an `Idle` task, ...). Errors name the path, the offending name, and the valid alternatives.

use super::{err, Behaviour, ExpectedVerdict, Scenario, ScenarioError, Step, StepOp, StepOutcome};
use crate::pattern::{fields_of, AuditPattern, EventPattern};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The names a scenario defines.
pub(super) struct Known<'s> {
    pub tasks: BTreeSet<String>,
    behaviours: BTreeMap<&'s str, &'s Behaviour>,
    workload: bool,
    caps: BTreeSet<&'s str>,
    channels: BTreeSet<&'s str>,
    services: BTreeSet<String>,
    domains: BTreeSet<&'s str>,
    kinds: BTreeSet<&'s str>,
    actions: BTreeSet<&'s str>,
    steps: &'s [Step],
    pipelines: BTreeMap<&'s str, &'s super::PipelineDecl>,
    /// Storage object labels: created by steps, `<pipeline>.<stage>` of stages that use storage.
    objects: BTreeSet<String>,
    workload_objects: bool,
    /// Component names: declared by the workspace or launched by a step.
    components: BTreeSet<&'s str>,
    workspace: bool,
}

impl<'s> Known<'s> {
    pub fn of(s: &'s Scenario, tasks: BTreeSet<String>) -> Self {
        let mut k = Known {
            tasks,
            behaviours: BTreeMap::new(),
            workload: s.workload.is_some(),
            caps: BTreeSet::new(),
            channels: BTreeSet::new(),
            services: s.provided_services(),
            domains: BTreeSet::new(),
            kinds: BTreeSet::from(["channel"]),
            actions: BTreeSet::new(),
            steps: &s.steps,
            pipelines: s.pipelines.iter().map(|p| (p.spec.name.as_str(), p)).collect(),
            objects: BTreeSet::new(),
            workload_objects: s.workload.as_ref().is_some_and(|w| w.mix.storage > 0),
            components: BTreeSet::new(),
            workspace: s.workspace.is_some(),
        };
        for c in s.workspace.iter().flat_map(|w| &w.components) {
            k.components.insert(&c.name);
            k.objects.extend(c.document.as_ref().map(|d| d.label.clone()));
        }
        for p in &s.pipelines {
            for (stage, handler) in p.spec.stages.iter().zip(&p.handlers) {
                if handler.storage.is_some() {
                    k.objects.insert(format!("{}.{}", p.spec.name, stage.name));
                }
            }
        }
        for (_, t) in s.all_tasks() {
            k.behaviours.insert(&t.name, &t.behaviour);
            k.domains.insert(&t.domain);
            for c in &t.caps {
                k.caps.insert(&c.label);
                k.kinds.insert(&c.kind);
            }
        }
        if let Some(w) = &s.workload {
            k.domains.extend(w.domains.iter().map(String::as_str));
            k.kinds.extend(crate::workload::CAP_KINDS);
        }
        for step in &s.steps {
            match &step.op {
                StepOp::Grant { cap, kind, .. } => {
                    k.caps.insert(cap);
                    k.kinds.insert(kind);
                }
                StepOp::Clone { new_cap, .. } => {
                    k.caps.insert(new_cap);
                }
                StepOp::CreateChannel { channel, cap, .. } => {
                    k.channels.insert(channel);
                    k.caps.extend(cap.as_deref());
                }
                StepOp::Lookup { service, bind, .. } => {
                    k.services.insert(service.clone());
                    k.channels.extend(bind.as_deref());
                }
                StepOp::Send { action, .. } => {
                    k.actions.insert(action);
                }
                StepOp::Storage { op: super::StorageStep::Create { object, .. }, .. } => {
                    k.objects.insert(object.clone());
                }
                StepOp::Launch { component } => {
                    k.components.insert(&component.name);
                    k.objects.extend(component.document.as_ref().map(|d| d.label.clone()));
                }
                _ => {}
            }
        }
        k
    }

    fn task(&self, path: &str, name: &str) -> Result<(), ScenarioError> {
        let workload_task = self.workload && name.len() > 2 && name.starts_with("wl") && name[2..].chars().all(|c| c.is_ascii_digit());
        if self.tasks.contains(name) || workload_task {
            return Ok(());
        }
        Err(err(path, format!("unknown task `{name}`: expected {}", one_of(self.tasks.iter().map(String::as_str))), Some(name)))
    }

    fn cap(&self, path: &str, label: &str) -> Result<(), ScenarioError> {
        check(path, "capability label", label, &self.caps)
    }

    fn channel(&self, path: &str, label: &str) -> Result<(), ScenarioError> {
        check(path, "channel label", label, &self.channels)
    }

    fn service(&self, path: &str, name: &str) -> Result<(), ScenarioError> {
        if self.services.contains(name) {
            return Ok(());
        }
        Err(err(path, format!("unknown service `{name}`: expected {}", one_of(self.services.iter().map(String::as_str))), Some(name)))
    }

    fn pipeline(&self, path: &str, name: &str) -> Result<&'s super::PipelineDecl, ScenarioError> {
        self.pipelines.get(name).copied().ok_or_else(|| err(path, format!("unknown pipeline `{name}`: expected {}", one_of(self.pipelines.keys().copied())), Some(name)))
    }

    fn object(&self, path: &str, label: &str) -> Result<(), ScenarioError> {
        let workload = self.workload_objects && label.len() > 4 && label.starts_with("wobj") && label[4..].chars().all(|c| c.is_ascii_digit());
        if self.objects.contains(label) || workload {
            return Ok(());
        }
        Err(err(path, format!("unknown storage object `{label}`: expected {}", one_of(self.objects.iter().map(String::as_str))), Some(label)))
    }

    /// A component name a workspace step or expectation uses.
    fn component(&self, path: &str, name: &str) -> Result<(), ScenarioError> {
        self.needs_workspace(path)?;
        check(path, "component", name, &self.components)
    }

    fn needs_workspace(&self, path: &str) -> Result<(), ScenarioError> {
        if self.workspace {
            return Ok(());
        }
        Err(err(path, "workspace steps and expectations need a workspace: expected `workspace: Some((components: [...], keys: [...]))`", None))
    }

    fn step(&self, path: &str, index: u32) -> Result<&'s Step, ScenarioError> {
        self.steps.get(index as usize).ok_or_else(|| err(path, format!("no step {index} (the scenario has {} steps, numbered from 0)", self.steps.len()), None))
    }
}

/// `"a name of the kind"` or an error listing the alternatives.
fn check(path: &str, what: &str, name: &str, known: &BTreeSet<&str>) -> Result<(), ScenarioError> {
    if known.contains(name) {
        return Ok(());
    }
    Err(err(path, format!("unknown {what} `{name}`: expected {}", one_of(known.iter().copied())), Some(name)))
}

/// "one of `a`, `b`, `c`" (at most 12 names), or "none is defined".
fn one_of<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        return String::from("one defined in the scenario (there is none)");
    }
    let shown: Vec<String> = names.iter().take(12).map(|n| format!("`{n}`")).collect();
    let more = if names.len() > 12 { format!(", ... ({} more)", names.len() - 12) } else { String::new() };
    format!("one of {}{more}", shown.join(", "))
}

// ----- steps -------------------------------------------------------------------------------

/// Labels are bound in time order, as the run binds them.
pub(super) fn steps(s: &Scenario, known: &Known<'_>) -> Result<(), ScenarioError> {
    let mut caps: BTreeSet<&str> = BTreeSet::new();
    let mut channels: BTreeSet<&str> = BTreeSet::new();
    for (_, t) in s.declared_tasks() {
        caps.extend(t.caps.iter().map(|c| c.label.as_str()));
    }
    let mut storage = StorageLabels::default();
    let mut order: Vec<usize> = (0..s.steps.len()).collect();
    order.sort_by_key(|&i| (s.steps[i].at_ns, i));
    for i in order {
        step(s, i, known, &mut caps, &mut channels, &mut storage)?;
        outcome(s, i, known)?;
    }
    Ok(())
}

/// Transaction and object labels bound so far (in time order, as the run binds them).
#[derive(Default)]
struct StorageLabels<'s> {
    txs: BTreeSet<&'s str>,
    objects: BTreeSet<&'s str>,
}

impl<'s> StorageLabels<'s> {
    fn step(&mut self, path: &str, tx: &'s str, op: &'s super::StorageStep) -> Result<(), ScenarioError> {
        use super::StorageStep as S;
        if let S::Begin = op {
            self.txs.insert(tx);
            return Ok(());
        }
        if !self.txs.contains(tx) {
            return Err(err(format!("{path}.tx"), format!("unknown transaction `{tx}` (no Begin before this step): expected {}", one_of(self.txs.iter().copied())), Some(tx)));
        }
        match op {
            S::Create { object, .. } => {
                self.objects.insert(object);
            }
            S::Migrate { to: 0, .. } => return Err(err(format!("{path}.op.to"), "schema versions start at 1", None)),
            other => {
                if let Some(object) = other.object() {
                    if !self.objects.contains(object) {
                        return Err(err(
                            format!("{path}.op.object"),
                            format!("unknown object `{object}` (not created before this step): expected {}", one_of(self.objects.iter().copied())),
                            Some(object),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn step<'s>(s: &'s Scenario, i: usize, known: &Known<'_>, caps: &mut BTreeSet<&'s str>, channels: &mut BTreeSet<&'s str>, storage: &mut StorageLabels<'s>) -> Result<(), ScenarioError> {
    let path = format!("steps[{i}].op");
    let field = |f: &str, name: &str| known.task(&format!("{path}.{f}"), name);
    let task = |name: &str| field("task", name);
    let cap = |caps: &BTreeSet<&str>, f: &str, label: &str| {
        if caps.contains(label) {
            Ok(())
        } else {
            Err(err(format!("{path}.{f}"), format!("unknown capability label `{label}` (not granted before this step): expected {}", one_of(caps.iter().copied())), Some(label)))
        }
    };
    let chan = |channels: &BTreeSet<&str>, f: &str, label: &str| {
        if channels.contains(label) {
            Ok(())
        } else {
            Err(err(format!("{path}.{f}"), format!("unknown channel label `{label}` (not created before this step): expected {}", one_of(channels.iter().copied())), Some(label)))
        }
    };
    match &s.steps[i].op {
        StepOp::Grant { task: t, cap: c, .. } => {
            task(t)?;
            caps.insert(c);
        }
        StepOp::Delegate { cap: c, from, to } => {
            cap(caps, "cap", c)?;
            field("from", from)?;
            field("to", to)?;
        }
        StepOp::Drop { cap: c, task: t } | StepOp::Use { cap: c, task: t } | StepOp::IsValid { cap: c, task: t } => {
            cap(caps, "cap", c)?;
            task(t)?;
        }
        StepOp::Clone { cap: c, task: t, new_cap } => {
            cap(caps, "cap", c)?;
            task(t)?;
            caps.insert(new_cap);
        }
        StepOp::UseForged { task: t, .. } | StepOp::Terminate { task: t, .. } => task(t)?,
        StepOp::CreateChannel { task: t, channel, cap: label } => {
            task(t)?;
            channels.insert(channel);
            if let Some(l) = label {
                caps.insert(l);
            }
        }
        StepOp::Send { task: t, channel, reply_to, answers, .. } => {
            task(t)?;
            chan(channels, "channel", channel)?;
            if let Some(r) = reply_to {
                chan(channels, "reply_to", r)?;
            }
            if let Some(a) = answers {
                receive_step(known, &format!("{path}.answers"), *a)?;
            }
        }
        StepOp::Receive { task: t, channel, timeout_ns } => {
            task(t)?;
            chan(channels, "channel", channel)?;
            if *timeout_ns > 0 {
                blocking_task(known, &path, t)?;
            }
        }
        StepOp::Register { task: t, channel, .. } => {
            task(t)?;
            chan(channels, "channel", channel)?;
        }
        StepOp::Lookup { task: t, bind, .. } => {
            task(t)?;
            if let Some(b) = bind {
                channels.insert(b);
            }
        }
        StepOp::RunPipeline { task: t, pipeline } => {
            task(t)?;
            known.pipeline(&format!("{path}.pipeline"), pipeline)?;
        }
        StepOp::CancelPipeline { pipeline, .. } => {
            known.pipeline(&format!("{path}.pipeline"), pipeline)?;
        }
        StepOp::Compute { task: t, .. } => task(t)?,
        StepOp::Launch { component } => {
            known.needs_workspace(&path)?;
            super::interactive::validate_component(&format!("{path}.component"), component)?;
        }
        StepOp::RequestFocus { component }
        | StepOp::ReleaseFocus { component }
        | StepOp::Close { component }
        | StepOp::Status { component }
        | StepOp::Revoke { component }
        | StepOp::Unsubscribe { component }
        | StepOp::Subscribe { component } => known.component(&format!("{path}.component"), component)?,
        StepOp::NextComponent | StepOp::PrevComponent => known.needs_workspace(&path)?,
        StepOp::Storage { task: t, tx, op } => {
            task(t)?;
            storage.step(&path, tx, op)?;
        }
        StepOp::Spawn { task: t, child, give } => {
            task(t)?;
            for (j, label) in give.iter().enumerate() {
                cap(caps, &format!("give[{j}]"), label)?;
            }
            let mut nested = Vec::new();
            super::walk_tasks(String::new(), child, &mut nested);
            for (_, spec) in nested {
                caps.extend(spec.caps.iter().map(|c| c.label.as_str()));
            }
        }
    }
    Ok(())
}

/// A blocking receive parks the task: only an `Idle` task has no program of its own to park.
fn blocking_task(known: &Known<'_>, path: &str, name: &str) -> Result<(), ScenarioError> {
    match known.behaviours.get(name) {
        Some(Behaviour::Idle) | None => Ok(()),
        Some(other) => Err(err(
            format!("{path}.timeout_ns"),
            format!("a blocking Receive (timeout_ns > 0) parks its task, so the task must be Idle: `{name}` runs {}", behaviour_name(other)),
            None,
        )),
    }
}

fn behaviour_name(b: &Behaviour) -> &'static str {
    match b {
        Behaviour::Idle => "Idle",
        Behaviour::Server { .. } => "a Server",
        Behaviour::Client { .. } => "a Client",
        Behaviour::Forwarder { .. } => "a Forwarder",
        Behaviour::CapPasser { .. } => "a CapPasser",
        Behaviour::Supervisor { .. } => "a Supervisor",
    }
}

fn receive_step(known: &Known<'_>, path: &str, index: u32) -> Result<(), ScenarioError> {
    match known.step(path, index)?.op {
        StepOp::Receive { .. } => Ok(()),
        _ => Err(err(path, format!("step {index} is not a Receive: `answers` names the step that received the message answered"), None)),
    }
}

fn send_step(known: &Known<'_>, path: &str, index: u32) -> Result<(), ScenarioError> {
    match known.step(path, index)?.op {
        StepOp::Send { .. } => Ok(()),
        _ => Err(err(path, format!("step {index} is not a Send: `answers` names the step that sent the message answered"), None)),
    }
}

/// A step's own `expect` (and every `expect.steps` entry naming it) fits the step's kind.
fn outcome(s: &Scenario, i: usize, known: &Known<'_>) -> Result<(), ScenarioError> {
    match &s.steps[i].expect {
        Some(o) => fits(&s.steps[i].op, o, &format!("steps[{i}].expect"), known),
        None => Ok(()),
    }
}

fn fits(op: &StepOp, outcome: &StepOutcome, path: &str, known: &Known<'_>) -> Result<(), ScenarioError> {
    let name = op.name();
    match (outcome, op) {
        (StepOutcome::Valid | StepOutcome::Invalid(_), StepOp::IsValid { .. }) => Ok(()),
        (StepOutcome::Valid | StepOutcome::Invalid(_), _) => {
            Err(err(path, format!("`Valid` and `Invalid(<reason>)` answer an IsValid step; this is a {name} step: expected Ok or Err(<kernel error kind>)"), None))
        }
        (StepOutcome::Received { action, from, answers, .. }, StepOp::Receive { .. }) => {
            if let Some(a) = action {
                check(path, "action (of a Send step)", a, &known.actions)?;
            }
            if let Some(f) = from {
                known.task(path, f)?;
            }
            match answers {
                Some(a) => send_step(known, path, *a),
                None => Ok(()),
            }
        }
        (StepOutcome::Received { .. }, _) => Err(err(path, format!("`Received(...)` describes a Receive step; this is a {name} step: expected Ok or Err(<kernel error kind>)"), None)),
        (StepOutcome::Ok | StepOutcome::Err(_), StepOp::IsValid { .. }) => {
            Err(err(path, "an IsValid step answers `Valid` or `Invalid(<reason>)` (Unknown, NotValid, OwnerDead, NotOwner)", None))
        }
        _ => Ok(()),
    }
}

// ----- expectations ------------------------------------------------------------------------

pub(super) fn expectations(s: &Scenario, known: &Known<'_>) -> Result<(), ScenarioError> {
    let e = &s.expect;
    if !e.interactive.is_empty() {
        known.needs_workspace("expect.interactive")?;
    }
    for (i, v) in e.interactive.views.iter().enumerate() {
        known.component(&format!("expect.interactive.views[{i}].component"), &v.component)?;
    }
    let input_faults = s.faults.input_faults.len();
    for (i, r) in e.interactive.input_rules.iter().enumerate() {
        if r.rule as usize >= input_faults {
            let what = format!("a fault index below {input_faults} (the number of faults.input_faults)");
            return Err(err(format!("expect.interactive.input_rules[{i}].rule"), format!("no input fault {}: expected {what}", r.rule), None));
        }
    }
    if let ExpectedVerdict::Violation(id) = &e.verdict {
        if !crate::invariants::ALL.contains(&id.as_str()) {
            return Err(err("expect.verdict", format!("unknown invariant `{id}`: expected {}", one_of(crate::invariants::ALL.iter().copied())), Some(id)));
        }
    }
    for (i, st) in e.steps.iter().enumerate() {
        let path = format!("expect.steps[{i}]");
        let step = known.step(&format!("{path}.step"), st.step)?;
        fits(&step.op, &st.result, &format!("{path}.result"), known)?;
    }
    for (i, (pattern, _)) in e.audit.iter().enumerate() {
        audit(pattern, &format!("expect.audit[{i}]"), known)?;
    }
    for (i, (task, _, _)) in e.task_counters.iter().enumerate() {
        known.task(&format!("expect.task_counters[{i}]"), task)?;
    }
    let rules = s.faults.message_faults.len();
    for (i, r) in e.rules.iter().enumerate() {
        if r.rule as usize >= rules {
            let what = format!("a rule index below {rules} (the number of faults.message_faults)");
            return Err(err(format!("expect.rules[{i}].rule"), format!("no message-fault rule {}: expected {what}", r.rule), None));
        }
    }
    for (i, (service, _, _)) in e.service_counters.iter().enumerate() {
        known.service(&format!("expect.service_counters[{i}]"), service)?;
    }
    for (path, pattern) in e.event_patterns() {
        event(pattern, &path, known, true)?;
    }
    for (i, (pattern, _)) in e.occurrences.iter().enumerate() {
        if let EventPattern::Nth(..) = pattern {
            return Err(err(format!("expect.occurrences[{i}]"), "an occurrence count counts every match: `Nth` names one of them and has no count (write the pattern itself)", None));
        }
    }
    for (i, t) in e.timing.iter().enumerate() {
        if t.at_ns.is_none() && t.after_ns.is_none() && t.within_ns.is_none() {
            return Err(err(format!("expect.timing[{i}]"), "a timing expectation needs at least one of `at_ns`, `after_ns`, `within_ns`", None));
        }
        if let (Some(a), Some(w)) = (t.after_ns, t.within_ns) {
            if a > w {
                return Err(err(format!("expect.timing[{i}].after_ns"), format!("after_ns ({a}) is larger than within_ns ({w}): no time satisfies both"), None));
            }
        }
    }
    Ok(())
}

fn audit(p: &AuditPattern, path: &str, known: &Known<'_>) -> Result<(), ScenarioError> {
    let allowed = fields_of(p.kind);
    if let Some(f) = p.fields.written().find(|f| !allowed.contains(f)) {
        return Err(err(path, format!("`{f}` is not a field of {}: expected {}", p.kind.name(), one_of(allowed.iter().copied())), None));
    }
    let f = &p.fields;
    for label in [&f.cap, &f.new_cap].into_iter().flatten() {
        known.cap(path, label)?;
    }
    for task in [&f.task, &f.owner, &f.from_task, &f.to_task].into_iter().flatten() {
        known.task(path, task)?;
    }
    for domain in [&f.from_domain, &f.to_domain].into_iter().flatten() {
        check(path, "trust domain", domain, &known.domains)?;
    }
    if let Some(kind) = &f.kind {
        check(path, "capability kind", kind, &known.kinds)?;
    }
    Ok(())
}

fn event(p: &EventPattern, path: &str, known: &Known<'_>, top: bool) -> Result<(), ScenarioError> {
    let task = |t: &Option<String>| t.as_deref().map_or(Ok(()), |t| known.task(path, t));
    let channel = |c: &Option<String>| c.as_deref().map_or(Ok(()), |c| known.channel(path, c));
    let action = |a: &Option<String>| a.as_deref().map_or(Ok(()), |a| check(path, "action (of a Send step)", a, &known.actions));
    match p {
        EventPattern::Step(i) => known.step(path, *i).map(|_| ()),
        EventPattern::Spawned { task: t } | EventPattern::Exited { task: t, .. } | EventPattern::Woken { task: t, .. } => known.task(path, t),
        EventPattern::Lifecycle { task: t, supervisor, .. } => {
            known.task(path, t)?;
            task(supervisor)
        }
        EventPattern::Sent { task: t, channel: c, action: a } | EventPattern::Received { task: t, channel: c, action: a } => {
            task(t)?;
            channel(c)?;
            action(a)
        }
        EventPattern::Enqueued { channel: c, action: a } => {
            channel(c)?;
            action(a)
        }
        EventPattern::Audit(a) => audit(a, path, known),
        EventPattern::Used { task: t, cap } => {
            task(t)?;
            cap.as_deref().map_or(Ok(()), |c| known.cap(path, c))
        }
        EventPattern::Registered { service, task: t } => {
            known.service(path, service)?;
            task(t)
        }
        EventPattern::Deregistered { service } => known.service(path, service),
        EventPattern::Fault(_) => Ok(()),
        EventPattern::Nth(n, inner) => {
            if !top || matches!(**inner, EventPattern::Nth(..)) {
                return Err(err(path, "`Nth` cannot be nested: write `Nth(n, <pattern>)` once", None));
            }
            if *n == 0 {
                return Err(err(path, "`Nth` counts from 1: `Nth(1, p)` is the first match", None));
            }
            event(inner, path, known, false)
        }
    }
}

// ----- authority and resources ---------------------------------------------------------------

/// Most storage writes one stage attempt may do (they all happen in one event).
pub const MAX_STAGE_WRITES: u32 = 10_000;

/// Pipelines, migrations, authority faults and the authority expectations.
pub(super) fn authority(s: &Scenario, known: &Known<'_>) -> Result<(), ScenarioError> {
    let mut names = BTreeSet::new();
    for (i, p) in s.pipelines.iter().enumerate() {
        let path = format!("pipelines[{i}]");
        if p.spec.name.is_empty() {
            return Err(err(format!("{path}.spec.name"), "expected a non-empty pipeline name", None));
        }
        if !names.insert(p.spec.name.as_str()) {
            return Err(err(format!("{path}.spec.name"), format!("duplicate pipeline name `{}`", p.spec.name), Some(&p.spec.name)));
        }
        if p.spec.id.0 != 0 {
            return Err(err(format!("{path}.spec.id"), "pipeline ids are given by the run (1, 2, ... in start order): leave `id` out", None));
        }
        if p.handlers.len() > p.spec.stages.len() {
            return Err(err(format!("{path}.handlers"), format!("{} handlers for {} stages: expected at most one handler per stage", p.handlers.len(), p.spec.stages.len()), None));
        }
        let mut stages = BTreeSet::new();
        for (j, stage) in p.spec.stages.iter().enumerate() {
            if !stages.insert(stage.name.as_str()) {
                return Err(err(format!("{path}.spec.stages[{j}].name"), format!("duplicate stage name `{}` (expectations name stages)", stage.name), Some(&stage.name)));
            }
        }
        for (j, h) in p.handlers.iter().enumerate() {
            if h.storage.as_ref().is_some_and(|u| u.writes > MAX_STAGE_WRITES) {
                return Err(err(format!("{path}.handlers[{j}].storage.writes"), format!("expected at most {MAX_STAGE_WRITES} writes per attempt"), None));
            }
        }
    }
    let mut schemas = BTreeSet::new();
    for (i, m) in s.migrations.iter().enumerate() {
        if !schemas.insert(&m.schema) {
            return Err(err(format!("migrations[{i}].schema"), format!("a second migration plan for schema `{}`", m.schema.0), Some(&m.schema.0)));
        }
    }
    for (i, f) in s.faults.authority_faults.iter().enumerate() {
        let path = format!("faults.authority_faults[{i}]");
        match f {
            crate::fault::AuthorityFault::BudgetSqueeze { task, .. } => known.task(&format!("{path}.task"), task)?,
            crate::fault::AuthorityFault::PolicySwap { .. } => {}
            crate::fault::AuthorityFault::StageFailure { pipeline, stage, .. } => {
                let decl = known.pipeline(&format!("{path}.pipeline"), pipeline)?;
                stage_of(decl, &format!("{path}.stage"), stage)?;
            }
            crate::fault::AuthorityFault::StorageCrash { task, after_writes } => {
                known.task(&format!("{path}.task"), task)?;
                if *after_writes == 0 {
                    return Err(err(format!("{path}.after_writes"), "expected a positive write count (the crash comes right after that write)", None));
                }
            }
        }
    }
    authority_expectations(s, known)
}

fn stage_of(decl: &super::PipelineDecl, path: &str, name: &str) -> Result<(), ScenarioError> {
    if decl.spec.stages.iter().any(|s| s.name == name) {
        return Ok(());
    }
    Err(err(path, format!("unknown stage `{name}` of pipeline `{}`: expected {}", decl.spec.name, one_of(decl.spec.stages.iter().map(|s| s.name.as_str()))), Some(name)))
}

fn authority_expectations(s: &Scenario, known: &Known<'_>) -> Result<(), ScenarioError> {
    let e = &s.expect;
    for (i, (p, _)) in e.resources.iter().enumerate() {
        if let Some(t) = &p.task {
            known.task(&format!("expect.resources[{i}].task"), t)?;
        }
    }
    for (i, (t, _, _)) in e.usage.iter().enumerate() {
        known.task(&format!("expect.usage[{i}]"), t)?;
    }
    for (i, (p, _)) in e.policy.iter().enumerate() {
        if let Some(t) = &p.actor {
            known.task(&format!("expect.policy[{i}].actor"), t)?;
        }
    }
    for (i, p) in e.pipelines.iter().enumerate() {
        let path = format!("expect.pipelines[{i}]");
        let decl = known.pipeline(&format!("{path}.pipeline"), &p.pipeline)?;
        if p.run == 0 {
            return Err(err(format!("{path}.run"), "runs count from 1: `run: 1` is the first run", None));
        }
        for (j, entry) in p.trace.iter().flatten().enumerate() {
            stage_of(decl, &format!("{path}.trace[{j}].stage"), &entry.stage)?;
        }
        for (j, (stage, _)) in p.seen.iter().enumerate() {
            stage_of(decl, &format!("{path}.seen[{j}]"), stage)?;
        }
    }
    for (i, st) in e.storage.iter().enumerate() {
        known.object(&format!("expect.storage[{i}].object"), &st.object)?;
    }
    Ok(())
}
