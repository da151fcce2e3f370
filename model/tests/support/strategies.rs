//! Proptest strategies for the model's property tests: fault plans over given task and service
//! names, and whole generated runs. They live with the tests (not behind a feature of `model`), so
//! building the tests compiles `model` exactly as the binaries use it and `cargo test` and
//! `cargo build` share every artifact.

#![allow(dead_code)] // each test file uses some of them

use model::choices::Choices;
use model::fault::{FaultPlan, FaultScope, FaultTrigger, LifecycleFault, MessageFault, MessageFaultRule};
use model::generate::{generate, GenConfig};
use model::Scenario;
use proptest::prelude::*;

/// Any message fault, with delays up to 50 ms.
pub fn message_fault() -> impl Strategy<Value = MessageFault> {
    prop_oneof![
        Just(MessageFault::Drop),
        (1u64..50_000_000).prop_map(|nanos| MessageFault::Delay { nanos }),
        Just(MessageFault::Reorder),
        Just(MessageFault::CrashOnSend),
        Just(MessageFault::CrashOnRecv),
    ]
}

/// Any trigger, with counts and times in ranges that matter for short runs.
pub fn trigger() -> impl Strategy<Value = FaultTrigger> {
    prop_oneof![
        Just(FaultTrigger::Always),
        (0u32..20).prop_map(|count| FaultTrigger::Next { count }),
        (0u32..10).prop_map(|n| FaultTrigger::EveryNth { n }),
        (0u16..=1000).prop_map(|per_mille| FaultTrigger::Chance { per_mille }),
        (0u64..100_000_000, 0u64..100_000_000).prop_map(|(a, b)| FaultTrigger::Window { from_ns: a.min(b), until_ns: a.max(b) }),
        (1u64..10_000_000, 0u64..10_000_000, 0u64..10_000_000)
            .prop_map(|(every_ns, d, from_ns)| FaultTrigger::Periodic { every_ns, for_ns: d % (every_ns + 1), from_ns }),
    ]
}

fn pick(names: Vec<String>) -> BoxedStrategy<String> {
    if names.is_empty() {
        Just(String::from("nobody")).boxed()
    } else {
        proptest::sample::select(names).boxed()
    }
}

/// A fault plan whose scopes and lifecycle faults name the given tasks and services.
pub fn fault_plan(tasks: Vec<String>, services: Vec<String>) -> impl Strategy<Value = FaultPlan> {
    let scope = prop_oneof![Just(FaultScope::Any), pick(services).prop_map(FaultScope::Service), pick(tasks.clone()).prop_map(FaultScope::Task),];
    let rule = (message_fault(), scope, trigger()).prop_map(|(fault, on, when)| MessageFaultRule { fault, on, when });
    let names: Box<dyn Fn() -> BoxedStrategy<String>> = Box::new(move || pick(tasks.clone()));
    let lifecycle = prop_oneof![
        (names(), 0u32..30).prop_map(|(task, count)| LifecycleFault::CrashAfterMessages { task, count }),
        (names(), 0u64..100_000_000).prop_map(|(task, at_ns)| LifecycleFault::CrashAt { task, at_ns }),
    ];
    (proptest::collection::vec(rule, 0..5), proptest::collection::vec(lifecycle, 0..3))
        .prop_map(|(message_faults, lifecycle_faults)| FaultPlan { message_faults, lifecycle_faults, authority_faults: Vec::new(), input_faults: Vec::new() })
}

/// Generated scenarios (each from a random seed of the generator).
pub fn scenario(config: GenConfig) -> impl Strategy<Value = Scenario> {
    any::<u64>().prop_map(move |seed| generate(&mut Choices::seeded(seed), &config))
}
