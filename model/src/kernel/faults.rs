//! The fault injector: evaluates a [`FaultPlan`]'s message-fault rules against each send and
//! receive, and counts received messages for `CrashAfterMessages` (semantics in `crate::fault`).
//!
//! Rules are indexed by scope when the run starts: a send on a channel serving services `S` by a
//! task named `t` consults only the rules scoped `Any`, `Service(s)` for `s` in `S`, and
//! `Task(t)`, merged back into plan order, so "first firing rule in plan order" holds exactly as if
//! every rule were scanned. `Window` rules wait in a list sorted by start time and join their
//! bucket's open set when virtual time reaches them, leaving it when their window closes: a
//! thousand windows cost what the open ones cost. Matching is O(1) in the number of rules that
//! cannot apply.

use crate::choices::Choices;
use crate::fault::{FaultPlan, FaultScope, FaultTrigger, LifecycleFault, MessageFault};
use crate::message::ServiceId;
use crate::names::{Names, Symbol};
use crate::time::Instant;
use alloc::vec::Vec;

/// The rules of one scope, for one direction (send or receive), by plan index.
#[derive(Clone, Debug, Default)]
struct Bucket {
    /// Rules that are not windows, in plan order.
    always: Vec<u32>,
    /// Window rules not opened yet: `(from_ns, rule)`, sorted by start time.
    pending: Vec<(u64, u32)>,
    /// How many of `pending` have been opened.
    opened: usize,
    /// Window rules whose window has started and not yet ended, in plan order.
    open: Vec<u32>,
}

impl Bucket {
    fn add(&mut self, rule: u32, when: FaultTrigger) {
        match when {
            FaultTrigger::Window { from_ns, .. } => self.pending.push((from_ns, rule)),
            _ => self.always.push(rule),
        }
    }

    fn seal(&mut self) {
        self.pending.sort_unstable();
    }

    /// Opens windows that have started and closes those that have ended, as of `now`.
    fn advance(&mut self, now: u64, rules: &[Rule]) {
        while let Some(&(from, rule)) = self.pending.get(self.opened) {
            if from > now {
                break;
            }
            self.opened += 1;
            let at = self.open.partition_point(|r| *r < rule);
            self.open.insert(at, rule);
        }
        if !self.open.is_empty() {
            self.open.retain(|r| rules[*r as usize].when.active_at(now));
        }
    }
}

const NO_BUCKET: u32 = u32::MAX;

/// Which bucket holds the rules of each scope, for one direction.
#[derive(Clone, Debug)]
struct Index {
    any: u32,
    by_service: Vec<u32>,
    by_task: Vec<u32>,
}

impl Default for Index {
    fn default() -> Self {
        Index { any: NO_BUCKET, by_service: Vec::new(), by_task: Vec::new() }
    }
}

fn slot(list: &mut Vec<u32>, symbol: Symbol) -> &mut u32 {
    if list.len() <= symbol.index() {
        list.resize(symbol.index() + 1, NO_BUCKET);
    }
    &mut list[symbol.index()]
}

impl Index {
    /// The bucket id of `scope`, creating the bucket if needed.
    fn bucket_of(&mut self, scope: &FaultScope, names: &mut Names, buckets: &mut Vec<Bucket>) -> usize {
        let id = match scope {
            FaultScope::Any => &mut self.any,
            FaultScope::Service(s) => slot(&mut self.by_service, names.intern(s)),
            FaultScope::Task(t) => slot(&mut self.by_task, names.intern(t)),
        };
        if *id == NO_BUCKET {
            *id = buckets.len() as u32;
            buckets.push(Bucket::default());
        }
        *id as usize
    }

    /// The buckets that apply to an operation on a channel serving `services` by task `task`.
    fn applicable<'a>(&'a self, services: &'a [ServiceId], task: Symbol, buckets: &'a [Bucket]) -> impl Iterator<Item = &'a Bucket> + 'a {
        let of = |list: &Vec<u32>, symbol: Symbol| list.get(symbol.index()).copied().unwrap_or(NO_BUCKET);
        core::iter::once(self.any)
            .chain(services.iter().map(move |s| of(&self.by_service, s.0)))
            .chain(core::iter::once(of(&self.by_task, task)))
            .filter(|b| *b != NO_BUCKET)
            .map(move |b| &buckets[b as usize])
    }
}

#[derive(Clone, Debug)]
struct Rule {
    fault: MessageFault,
    when: FaultTrigger,
}

/// A `CrashAfterMessages` fault in progress.
#[derive(Clone, Debug)]
struct CrashAfter {
    count: u32,
    seen: u32,
    fired: bool,
}

/// Evaluation counts of the rules, in plan order.
#[derive(Clone, Debug, Default)]
struct Counts {
    /// How many operations each rule was evaluated on (in scope and, if timed, active).
    tried: Vec<u64>,
    /// How many times each rule fired (with effect: see [`FaultInjector::took_no_effect`]).
    fired: Vec<u64>,
    /// The rule that fired last.
    last: Option<u32>,
}

/// Runtime state of a fault plan.
#[derive(Clone, Debug)]
pub struct FaultInjector {
    rules: Vec<Rule>,
    buckets: Vec<Bucket>,
    send: Index,
    receive: Index,
    /// Buckets holding window rules (advanced as time passes).
    timed: Vec<u32>,
    advanced_to: Option<Instant>,
    counts: Counts,
    crash_after: Vec<CrashAfter>,
    /// `CrashAfterMessages` faults by target task name.
    crash_after_by_task: Vec<Vec<u32>>,
}

/// Lists merged per operation: `Any`, the task's and up to this many service buckets need no
/// allocation (two lists per bucket).
const INLINE_LISTS: usize = 8;

impl FaultInjector {
    /// The injector of `plan`; the plan's task and service names are interned in `names`.
    pub fn new(plan: &FaultPlan, names: &mut Names) -> Self {
        let (mut send, mut receive, mut buckets) = (Index::default(), Index::default(), Vec::new());
        let mut rules = Vec::with_capacity(plan.message_faults.len());
        for (i, rule) in plan.message_faults.iter().enumerate() {
            let index = if rule.fault.on_receive() { &mut receive } else { &mut send };
            let b = index.bucket_of(&rule.on, names, &mut buckets);
            buckets[b].add(i as u32, rule.when);
            rules.push(Rule { fault: rule.fault, when: rule.when });
        }
        buckets.iter_mut().for_each(Bucket::seal);
        let timed = (0..buckets.len() as u32).filter(|b| !buckets[*b as usize].pending.is_empty()).collect();
        let mut crash_after = Vec::new();
        let mut crash_after_by_task: Vec<Vec<u32>> = Vec::new();
        for fault in &plan.lifecycle_faults {
            if let LifecycleFault::CrashAfterMessages { task, count } = fault {
                let symbol = names.intern(task);
                if crash_after_by_task.len() <= symbol.index() {
                    crash_after_by_task.resize_with(symbol.index() + 1, Vec::new);
                }
                crash_after_by_task[symbol.index()].push(crash_after.len() as u32);
                crash_after.push(CrashAfter { count: *count, seen: 0, fired: false });
            }
        }
        let n = rules.len();
        let counts = Counts { tried: alloc::vec![0; n], fired: alloc::vec![0; n], last: None };
        FaultInjector { rules, buckets, send, receive, timed, advanced_to: None, counts, crash_after, crash_after_by_task }
    }

    /// The send fault to inject, if any (first firing rule in plan order).
    #[inline]
    pub fn on_send(&mut self, services: &[ServiceId], task: Symbol, now: Instant, choices: &mut Choices) -> Option<MessageFault> {
        if self.send.any == NO_BUCKET && self.send.by_service.is_empty() && self.send.by_task.is_empty() {
            return None;
        }
        self.advance(now);
        if let Some(rules) = only_any(&self.send, &self.buckets) {
            return first_firing_in(rules, &self.rules, &mut self.counts, now, choices);
        }
        let buckets = self.send.applicable(services, task, &self.buckets);
        first_firing(buckets, &self.rules, &mut self.counts, now, choices)
    }

    /// Whether to inject a receive failure.
    #[inline]
    pub fn on_receive(&mut self, services: &[ServiceId], task: Symbol, now: Instant, choices: &mut Choices) -> bool {
        if self.receive.any == NO_BUCKET && self.receive.by_service.is_empty() && self.receive.by_task.is_empty() {
            return false;
        }
        self.advance(now);
        if let Some(rules) = only_any(&self.receive, &self.buckets) {
            return first_firing_in(rules, &self.rules, &mut self.counts, now, choices).is_some();
        }
        let buckets = self.receive.applicable(services, task, &self.buckets);
        first_firing(buckets, &self.rules, &mut self.counts, now, choices).is_some()
    }

    /// Brings the window rules up to `now`.
    fn advance(&mut self, now: Instant) {
        if self.timed.is_empty() || self.advanced_to == Some(now) {
            return;
        }
        self.advanced_to = Some(now);
        for &b in &self.timed {
            self.buckets[b as usize].advance(now.nanos(), &self.rules);
        }
    }

    /// Counts a message received by a task named `task`; true when a `CrashAfterMessages`
    /// fault for that name reaches its count (each fires once).
    pub fn count_received(&mut self, task: Symbol) -> bool {
        let Some(faults) = self.crash_after_by_task.get(task.index()) else { return false };
        let mut fire = false;
        for &f in faults {
            let fault = &mut self.crash_after[f as usize];
            if !fault.fired {
                fault.seen += 1;
                if fault.seen >= fault.count {
                    fault.fired = true;
                    fire = true;
                }
            }
        }
        fire
    }

    /// Operations each message-fault rule was evaluated on, in plan order.
    pub fn tried(&self) -> &[u64] {
        &self.counts.tried
    }

    /// The fault the last firing rule injected could not act (a `Reorder` with nothing queued to
    /// overtake): it does not count as fired.
    pub fn took_no_effect(&mut self) {
        if let Some(i) = self.counts.last.take() {
            self.counts.fired[i as usize] -= 1;
        }
    }

    /// How many times each message-fault rule fired with effect, in plan order.
    pub fn fired(&self) -> &[u64] {
        &self.counts.fired
    }
}

/// The fast path: when every rule of a direction is scoped `Any` and no window is open, the
/// applicable rules are that one list, already in plan order.
fn only_any<'b>(index: &Index, buckets: &'b [Bucket]) -> Option<&'b [u32]> {
    if !index.by_service.is_empty() || !index.by_task.is_empty() || index.any == NO_BUCKET {
        return None;
    }
    let bucket = &buckets[index.any as usize];
    bucket.open.is_empty().then_some(&bucket.always[..])
}

/// [`first_firing`] over one list in plan order.
fn first_firing_in(list: &[u32], rules: &[Rule], counts: &mut Counts, now: Instant, choices: &mut Choices) -> Option<MessageFault> {
    list.iter().find_map(|&i| try_rule(i as usize, rules, counts, now, choices))
}

/// Evaluates rule `i` on one operation: counts it if active, and fires it if its trigger says so.
fn try_rule(i: usize, rules: &[Rule], counts: &mut Counts, now: Instant, choices: &mut Choices) -> Option<MessageFault> {
    let rule = &rules[i];
    if !rule.when.active_at(now.nanos()) {
        return None;
    }
    counts.tried[i] += 1;
    if trigger_fires(rule.when, counts.tried[i], choices) {
        counts.fired[i] += 1;
        counts.last = Some(i as u32);
        return Some(rule.fault);
    }
    None
}

/// Walks the rules of `buckets` in plan order and returns the first that fires.
fn first_firing<'b>(buckets: impl Iterator<Item = &'b Bucket>, rules: &[Rule], counts: &mut Counts, now: Instant, choices: &mut Choices) -> Option<MessageFault> {
    let mut inline: [&[u32]; INLINE_LISTS] = [&[]; INLINE_LISTS];
    let mut spill: Vec<&[u32]> = Vec::new();
    let mut n = 0;
    for bucket in buckets {
        for list in [&bucket.always[..], &bucket.open[..]] {
            if list.is_empty() {
                continue;
            }
            if n < INLINE_LISTS {
                inline[n] = list;
            } else {
                spill.push(list);
            }
            n += 1;
        }
    }
    if n > INLINE_LISTS {
        spill.extend_from_slice(&inline);
    }
    let lists: &[&[u32]] = if n > INLINE_LISTS { &spill } else { &inline[..n] };
    let mut cursor = [0usize; INLINE_LISTS];
    let mut spilled_cursor = alloc::vec::Vec::new();
    let cursor: &mut [usize] = if n > INLINE_LISTS {
        spilled_cursor.resize(n, 0);
        &mut spilled_cursor
    } else {
        &mut cursor[..n]
    };
    while let Some(i) = next_in_plan_order(lists, cursor) {
        if let Some(fault) = try_rule(i as usize, rules, counts, now, choices) {
            return Some(fault);
        }
    }
    None
}

/// The smallest rule index at any cursor (advancing that cursor), or `None` when all are done.
/// Rule lists are disjoint (a rule has one scope), so no index appears twice.
fn next_in_plan_order(lists: &[&[u32]], cursor: &mut [usize]) -> Option<u32> {
    let mut best: Option<(usize, u32)> = None;
    for (l, list) in lists.iter().enumerate() {
        if let Some(&rule) = list.get(cursor[l]) {
            if best.is_none_or(|(_, b)| rule < b) {
                best = Some((l, rule));
            }
        }
    }
    let (l, rule) = best?;
    cursor[l] += 1;
    Some(rule)
}

fn trigger_fires(trigger: FaultTrigger, nth: u64, choices: &mut Choices) -> bool {
    match trigger {
        FaultTrigger::Always | FaultTrigger::Window { .. } | FaultTrigger::Periodic { .. } => true,
        FaultTrigger::Next { count } => nth <= u64::from(count),
        FaultTrigger::EveryNth { n } => n > 0 && nth.is_multiple_of(u64::from(n)),
        FaultTrigger::Chance { per_mille } => choices.chance(per_mille),
    }
}
