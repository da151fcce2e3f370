//! The fault injector: evaluates a [`FaultPlan`]'s rules against each send and receive, and
//! counts received messages for `CrashAfterMessages` (semantics in `crate::fault`).

use crate::choices::Choices;
use crate::message::ServiceId;
use crate::fault::{FaultPlan, FaultScope, FaultTrigger, LifecycleFault, MessageFault, MessageFaultRule};
use crate::time::Instant;
use alloc::string::String;
use alloc::vec::Vec;

/// Runtime state of a fault plan.
#[derive(Clone, Debug)]
pub struct FaultInjector {
    rules: Vec<MessageFaultRule>,
    /// How many operations each rule was tried on.
    tried: Vec<u64>,
    /// `CrashAfterMessages` faults: (task name, count, received so far, fired).
    crash_after: Vec<(String, u32, u32, bool)>,
}

impl FaultInjector {
    pub fn new(plan: &FaultPlan) -> Self {
        let crash_after = plan
            .lifecycle_faults
            .iter()
            .filter_map(|f| match f {
                LifecycleFault::CrashAfterMessages { task, count } => Some((task.clone(), *count, 0, false)),
                LifecycleFault::CrashAt { .. } => None,
            })
            .collect();
        FaultInjector { rules: plan.message_faults.clone(), tried: alloc::vec![0; plan.message_faults.len()], crash_after }
    }

    /// The send fault to inject, if any (first firing rule in plan order).
    pub fn on_send(&mut self, services: &[ServiceId], task: &str, now: Instant, choices: &mut Choices) -> Option<MessageFault> {
        self.first_firing(false, services, task, now, choices)
    }

    /// Whether to inject a receive failure.
    pub fn on_receive(&mut self, services: &[ServiceId], task: &str, now: Instant, choices: &mut Choices) -> bool {
        self.first_firing(true, services, task, now, choices).is_some()
    }

    fn first_firing(&mut self, receive: bool, services: &[ServiceId], task: &str, now: Instant, choices: &mut Choices) -> Option<MessageFault> {
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.fault.on_receive() != receive || !scope_matches(&rule.on, services, task) {
                continue;
            }
            self.tried[i] += 1;
            if trigger_fires(rule.when, self.tried[i], now, choices) {
                return Some(rule.fault);
            }
        }
        None
    }

    /// Counts a message received by a task named `task`; true when a `CrashAfterMessages`
    /// fault for that name reaches its count (each fires once).
    pub fn count_received(&mut self, task: &str) -> bool {
        let mut fire = false;
        for (name, count, seen, fired) in self.crash_after.iter_mut() {
            if name == task && !*fired {
                *seen += 1;
                if *seen >= *count {
                    *fired = true;
                    fire = true;
                }
            }
        }
        fire
    }

    /// Operations each message-fault rule was tried on, in plan order.
    pub fn tried(&self) -> &[u64] {
        &self.tried
    }
}

fn scope_matches(scope: &FaultScope, services: &[ServiceId], task: &str) -> bool {
    match scope {
        FaultScope::Any => true,
        FaultScope::Service(s) => services.iter().any(|x| x.0 == *s),
        FaultScope::Task(t) => t == task,
    }
}

fn trigger_fires(trigger: FaultTrigger, nth: u64, now: Instant, choices: &mut Choices) -> bool {
    match trigger {
        FaultTrigger::Always => true,
        FaultTrigger::Next { count } => nth <= u64::from(count),
        FaultTrigger::EveryNth { n } => n > 0 && nth.is_multiple_of(u64::from(n)),
        FaultTrigger::Chance { per_mille } => choices.chance(per_mille),
        FaultTrigger::Window { from_ns, until_ns } => (from_ns..until_ns).contains(&now.nanos()),
    }
}
