//! The watch: a log of the events a scenario's order, timing and occurrence expectations name,
//! kept while the run goes (the events themselves are gone after each step of the loop).
//!
//! It exists only when a scenario has such expectations, so no other run pays for it. After each
//! event the engine hands it the event and the event's observations; for every distinct pattern
//! the expectations name it counts the matches, keeps the first few (as many as the largest
//! `Nth` asks for) with their event index, position in the event and virtual time, and keeps the
//! three nearest misses (same kind of event, most written fields matching) to show when an
//! expectation fails. Patterns resolve names as described in [`crate::pattern`]; messages are
//! named by the `action` of the `Send` step that sent them.

use crate::engine::Event;
use crate::ids::{ChannelId, MessageId, TaskId};
use crate::kernel::SimulatedKernel;
use crate::names::Symbol;
use crate::observation::Observation;
use crate::pattern::{EventPattern, ExitKind, Labels, Resolve};
use crate::scenario::Expectations;
use crate::time::Instant;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Near misses kept per pattern.
const NEAR: usize = 3;

/// One match (or near miss) of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// Index of the event in the run.
    pub event: u64,
    /// Position within the event: 0 for the event itself (a wake-up), then its observations from 1.
    pub seq: u32,
    pub at: Instant,
    /// What happened, in words.
    pub what: String,
}

impl Occurrence {
    /// The order of occurrences in the run.
    pub fn key(&self) -> (u64, u32) {
        (self.event, self.seq)
    }
}

/// What the run showed for one pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternLog {
    pub pattern: EventPattern,
    /// Every match.
    pub count: u64,
    /// The first matches, in order.
    pub matches: Vec<Occurrence>,
    /// The nearest misses, best first: `(fields matched, occurrence)`.
    pub near: Vec<(u32, Occurrence)>,
}

/// The watch's result, kept in the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchLog {
    pub patterns: Vec<PatternLog>,
}

impl WatchLog {
    /// The log of a (base) pattern.
    pub fn of(&self, pattern: &EventPattern) -> Option<&PatternLog> {
        self.patterns.iter().find(|p| p.pattern == *pattern)
    }

    /// The occurrence a pattern names (its first match, or the `Nth`), if it happened.
    pub fn occurrence(&self, pattern: &EventPattern) -> Option<&Occurrence> {
        let (base, n) = pattern.base();
        self.of(base).and_then(|log| log.matches.get(n as usize - 1))
    }
}

struct Entry {
    keep: u32,
    log: PatternLog,
}

/// The watch of a run in progress.
pub struct Watch {
    entries: Vec<Entry>,
    /// The action of each message a `Send` step sent.
    messages: BTreeMap<MessageId, Symbol>,
    /// The name of each task id spawned so far.
    task_names: Vec<Symbol>,
}

impl Watch {
    /// A watch for every event pattern of `expect`.
    pub fn new(expect: &Expectations) -> Self {
        let mut entries: Vec<Entry> = Vec::new();
        for (_, pattern) in expect.event_patterns() {
            let (base, n) = pattern.base();
            match entries.iter_mut().find(|e| e.log.pattern == *base) {
                Some(e) => e.keep = e.keep.max(n),
                None => entries.push(Entry { keep: n, log: PatternLog { pattern: base.clone(), count: 0, matches: Vec::new(), near: Vec::new() } }),
            }
        }
        Watch { entries, messages: BTreeMap::new(), task_names: Vec::new() }
    }

    /// A `Send` step sent message `id` with `action`.
    pub fn note_step_message(&mut self, id: MessageId, action: Symbol) {
        self.messages.insert(id, action);
    }

    /// Matches event number `index` (at `at`) and its observations against every pattern.
    pub fn observe(&mut self, index: u64, at: Instant, event: &Event, kernel: &SimulatedKernel, caps: &Labels, channels: &Labels) {
        for obs in &kernel.observations {
            if let Observation::TaskSpawned { task, .. } = obs {
                let name = kernel.task(*task).map_or(Symbol(u32::MAX), |t| t.name_symbol);
                if self.task_names.len() <= task.index() {
                    self.task_names.resize(task.index() + 1, Symbol(u32::MAX));
                }
                self.task_names[task.index()] = name;
            }
        }
        let r = Resolve { names: kernel.names(), task_names: &self.task_names, caps, channels };
        let m = Matcher { r: &r, kernel, messages: &self.messages };
        let items = core::iter::once(Item::Event(event)).chain(kernel.observations.iter().map(Item::Observed));
        for (seq, item) in items.enumerate() {
            for entry in &mut self.entries {
                let Some((matched, written)) = m.score(&entry.log.pattern, item) else { continue };
                let occurrence = || Occurrence { event: index, seq: seq as u32, at, what: m.describe(item) };
                if matched == written {
                    entry.log.count += 1;
                    if entry.log.matches.len() < entry.keep as usize {
                        entry.log.matches.push(occurrence());
                    }
                } else {
                    note_near(&mut entry.log.near, matched, occurrence);
                }
            }
        }
    }

    /// The log, for the report.
    pub fn into_log(self) -> WatchLog {
        WatchLog { patterns: self.entries.into_iter().map(|e| e.log).collect() }
    }
}

/// Keeps the best `NEAR` misses (most fields matched; the earliest among equals).
fn note_near(near: &mut Vec<(u32, Occurrence)>, matched: u32, occurrence: impl FnOnce() -> Occurrence) {
    let position = near.iter().position(|(m, _)| matched > *m).unwrap_or(near.len());
    if position < NEAR {
        near.insert(position, (matched, occurrence()));
        near.truncate(NEAR);
    }
}

/// What a pattern is matched against: the event itself (wake-ups), or one of its observations.
#[derive(Clone, Copy)]
enum Item<'a> {
    Event(&'a Event),
    Observed(&'a Observation),
}

struct Matcher<'a> {
    r: &'a Resolve<'a>,
    kernel: &'a SimulatedKernel,
    messages: &'a BTreeMap<MessageId, Symbol>,
}

/// Counts written fields and matching ones.
#[derive(Default)]
struct Score {
    matched: u32,
    written: u32,
}

impl Score {
    fn field(mut self, check: Option<bool>) -> Self {
        if let Some(ok) = check {
            self.written += 1;
            self.matched += u32::from(ok);
        }
        self
    }
    fn done(self) -> Option<(u32, u32)> {
        Some((self.matched, self.written))
    }
}

impl Matcher<'_> {
    fn task(&self, want: &Option<String>, task: TaskId) -> Option<bool> {
        want.as_ref().map(|w| self.r.task_is(w, task))
    }
    fn named(&self, want: &str, task: TaskId) -> Option<bool> {
        Some(self.r.task_is(want, task))
    }
    fn channel(&self, want: &Option<String>, channel: ChannelId) -> Option<bool> {
        want.as_ref().map(|w| self.r.channels.names(w, channel.0))
    }
    fn action(&self, want: &Option<String>, msg: MessageId) -> Option<bool> {
        want.as_ref().map(|w| self.messages.get(&msg).is_some_and(|a| self.r.names.resolve(*a) == w))
    }

    /// `(fields matched, fields written)` when the item is the pattern's kind of event.
    fn score(&self, pattern: &EventPattern, item: Item<'_>) -> Option<(u32, u32)> {
        use EventPattern as P;
        use Observation as O;
        let s = Score::default();
        let obs = match item {
            Item::Event(Event::Wake { task, cause, .. }) => {
                let P::Woken { task: want, cause: c } = pattern else { return None };
                let task = TaskId(u64::from(*task));
                return s.field(self.named(want, task)).field(c.map(|c| c == *cause)).done();
            }
            Item::Event(_) => return None,
            Item::Observed(o) => o,
        };
        match (pattern, obs) {
            (P::Step(i), O::StepDone { step, .. }) => s.field(Some(step == i)).done(),
            (P::Spawned { task: want }, O::TaskSpawned { task, .. }) => s.field(self.named(want, *task)).done(),
            (P::Exited { task: want, reason }, O::TaskExited { task, reason: r, .. }) => {
                s.field(self.named(want, *task)).field(reason.map(|k| k == ExitKind::of(r))).done()
            }
            (P::Sent { task, channel, action }, O::MessageSent { msg, channel: ch, by }) => {
                s.field(self.task(task, *by)).field(self.channel(channel, *ch)).field(self.action(action, *msg)).done()
            }
            (P::Enqueued { channel, action }, O::MessageEnqueued { msg, channel: ch }) => s.field(self.channel(channel, *ch)).field(self.action(action, *msg)).done(),
            (P::Received { task, channel, action }, O::MessageReceived { msg, channel: ch, by }) => {
                s.field(self.task(task, *by)).field(self.channel(channel, *ch)).field(self.action(action, *msg)).done()
            }
            (P::Audit(p), O::Audit(event)) => p.score(event, self.r),
            (P::Used { task, cap }, O::CapUsed { cap: c, task: t }) => s.field(self.task(task, *t)).field(cap.as_ref().map(|l| self.r.cap_is(l, *c))).done(),
            (P::Registered { service, task }, O::ServiceRegistered { service: sv, task: t, .. }) => {
                s.field(Some(self.r.names.resolve(sv.0) == service)).field(self.task(task, *t)).done()
            }
            (P::Deregistered { service }, O::ServiceDeregistered { service: sv, .. }) => s.field(Some(self.r.names.resolve(sv.0) == service)).done(),
            (P::Lifecycle { task: want, to, supervisor }, O::Lifecycle { supervisor: sup, child, to: state, .. }) => {
                let task = child.and_then(|e| self.kernel.get_identity(e)).and_then(|i| i.task_id);
                s.field(Some(task.is_some_and(|t| self.r.task_is(want, t)))).field(to.map(|to| to == *state)).field(self.task(supervisor, *sup)).done()
            }
            (P::Fault(kind), O::FaultInjected(k)) => s.field(Some(k == kind)).done(),
            _ => None,
        }
    }

    /// The item in words, with task names, labels and actions resolved.
    fn describe(&self, item: Item<'_>) -> String {
        let r = self.r;
        let msg = |m: &MessageId| match self.messages.get(m) {
            Some(a) => format!("{m} {:?}", r.names.resolve(*a)),
            None => format!("{m}"),
        };
        let chan = |c: &ChannelId| {
            let labels: Vec<&str> = r.channels.of(c.0).collect();
            if labels.is_empty() {
                format!("{c}")
            } else {
                format!("{c} {:?}", labels.join("/"))
            }
        };
        match item {
            Item::Event(Event::Wake { task, cause, .. }) => format!("Woken {} ({cause:?})", r.task(TaskId(u64::from(*task)))),
            Item::Event(other) => format!("{other:?}"),
            Item::Observed(obs) => match obs {
                Observation::TaskSpawned { task, .. } => format!("Spawned {}", r.task(*task)),
                Observation::TaskExited { task, reason, .. } => format!("Exited {} ({:?})", r.task(*task), ExitKind::of(reason)),
                Observation::MessageSent { msg: m, channel, by } => format!("Sent {} by {} on {}", msg(m), r.task(*by), chan(channel)),
                Observation::MessageEnqueued { msg: m, channel } => format!("Enqueued {} on {}", msg(m), chan(channel)),
                Observation::MessageReceived { msg: m, channel, by } => format!("Received {} by {} on {}", msg(m), r.task(*by), chan(channel)),
                Observation::Audit(event) => format!("Audit({})", describe_audit(event, r)),
                Observation::CapUsed { cap, task } => format!("Used {} by {}", r.cap(*cap), r.task(*task)),
                Observation::StepDone { step, result } => format!("Step {step} done: {result:?}"),
                other => other.describe(r.names),
            },
        }
    }
}

/// An audit record with task names and capability labels resolved.
pub fn describe_audit(event: &crate::capability::CapabilityEvent, r: &Resolve<'_>) -> String {
    use crate::capability::CapabilityEvent as E;
    let name = |s: &Symbol| r.names.resolve(*s);
    match *event {
        E::Granted { cap, kind, to_task, durable } => format!("Granted {{ cap: {}, kind: {:?}, to_task: {}, durable: {durable} }}", r.cap(cap), name(&kind), r.task(to_task)),
        E::Delegated { cap, from_task, to_task } => format!("Delegated {{ cap: {}, from_task: {}, to_task: {} }}", r.cap(cap), r.task(from_task), r.task(to_task)),
        E::CrossDomainDelegation { cap, from_task, from_domain, to_task, to_domain } => format!(
            "CrossDomainDelegation {{ cap: {}, from_task: {}, from_domain: {:?}, to_task: {}, to_domain: {:?} }}",
            r.cap(cap),
            r.task(from_task),
            name(&from_domain),
            r.task(to_task),
            name(&to_domain)
        ),
        E::Cloned { cap, new_cap, task } => format!("Cloned {{ cap: {}, new_cap: {}, task: {} }}", r.cap(cap), r.cap(new_cap), r.task(task)),
        E::Dropped { cap, task } => format!("Dropped {{ cap: {}, task: {} }}", r.cap(cap), r.task(task)),
        E::InvalidUseAttempt { cap, task, reason } => format!("InvalidUseAttempt {{ cap: {}, task: {}, reason: {reason:?} }}", r.cap(cap), r.task(task)),
        E::Invalidated { cap, owner } => format!("Invalidated {{ cap: {}, owner: {} }}", r.cap(cap), r.task(owner)),
        E::Rebound { cap, from_task, to_task } => format!("Rebound {{ cap: {}, from_task: {}, to_task: {} }}", r.cap(cap), r.task(from_task), r.task(to_task)),
    }
}
