//! Contract tests for the seed's "Phase 11: Resource Budget Interface" (resource types,
//! `ResourceBudget`, `ResourceUsage`, budget attachment and inheritance, error types) and
//! "Phase 12: Resource Enforcement Interface" (enforcement points, exhaustion semantics,
//! cancellation integration, the resource audit log), plus `PacketCount` from the networking seed
//! (`000_*`, "Packet Budget Resource").
//!
//! Choices of the model tested where the seed is silent (`model/src/budget/`): a child asking for
//! no budget inherits its parent's; the exhaustion error carries the usage before the failing
//! operation; an identity without a budget is unlimited but its usage is tracked.

mod common;

use model::budget::audit::{MessageOperation, PacketOperation, ResourceEvent};
use model::budget::enforcement::{Consumption, ResourceLedger};
use model::budget::rules::BudgetMonitor;
use model::budget::*;
use model::ids::ExecutionId;
use model::pipeline::{PipelineId, StageId};
use model::rule_check::RuleLog;

const A: ExecutionId = ExecutionId(1);
const B: ExecutionId = ExecutionId(2);
const SEND: Consumption = Consumption::Message(MessageOperation::Send);
const RECEIVE: Consumption = Consumption::Message(MessageOperation::Receive);

fn ledger_with(exec: ExecutionId, budget: ResourceBudget) -> ResourceLedger {
    let mut l = ResourceLedger::new();
    l.attach(exec, None, Some(budget)).unwrap();
    l
}

/// Checks the budget invariants over the ledger's whole audit log.
fn rules(l: &ResourceLedger) -> RuleLog {
    let mut log = RuleLog::default();
    BudgetMonitor::check_log(l.resource_audit().entries(), &mut log);
    log
}

// ----- resource types -------------------------------------------------------------------------

#[test]
fn every_resource_type_has_checked_and_saturating_arithmetic() {
    // Seed: `ticks.checked_add(more)` = Some(150), `saturating_add` = 150, never panics.
    macro_rules! check {
        ($($t:ident),*) => {$(
            assert_eq!($t::new(100).checked_add($t::new(50)), Some($t::new(150)), stringify!($t));
            assert_eq!($t::new(100).saturating_add($t::new(50)), $t::new(150));
            assert_eq!($t::new(u64::MAX).checked_add($t::new(1)), None);
            assert_eq!($t::new(u64::MAX - 1).saturating_add($t::new(5)), $t::new(u64::MAX));
            assert_eq!($t::new(5).checked_sub($t::new(6)), None);
            assert_eq!($t::new(5).saturating_sub($t::new(6)), $t::ZERO);
            assert_eq!($t::new(6).checked_sub($t::new(5)), Some($t::new(1)));
            assert_eq!($t::default(), $t::ZERO);
        )*};
    }
    check!(CpuTicks, MemoryUnits, MessageCount, StorageOps, PipelineStages, PacketCount);
}

// ----- ResourceBudget ---------------------------------------------------------------------------

#[test]
fn unlimited_zero_and_builders() {
    let unlimited = ResourceBudget::unlimited();
    let zero = ResourceBudget::zero();
    for k in ResourceKind::ALL {
        assert_eq!(unlimited.limit(k), None, "{k}");
        assert_eq!(zero.limit(k), Some(0), "{k}");
    }
    let b = ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(1000)).with_message_count(MessageCount::new(50));
    assert_eq!(b.limit(ResourceKind::CpuTicks), Some(1000));
    assert_eq!(b.limit(ResourceKind::MessageCount), Some(50));
    assert_eq!(b.limit(ResourceKind::StorageOps), None);
    let all = ResourceBudget::unlimited()
        .with_memory_units(MemoryUnits::new(1))
        .with_storage_ops(StorageOps::new(2))
        .with_pipeline_stages(PipelineStages::new(3))
        .with_packet_count(PacketCount::new(4));
    assert_eq!(ResourceKind::ALL.map(|k| all.limit(k)), [None, Some(1), None, Some(2), Some(3), Some(4)]);
    assert!(unlimited.is_unlimited() && !b.is_unlimited());
}

#[test]
fn subset_check_is_child_at_most_parent_per_resource() {
    let cpu = |n| ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(n));
    let u = ResourceBudget::unlimited;
    // (child, parent, child ⊆ parent)
    let cases = [
        (cpu(1000), cpu(1000), true),
        (cpu(999), cpu(1000), true),
        (cpu(1001), cpu(1000), false),
        (cpu(5), u(), true),
        (u(), cpu(5), false),
        (u(), u(), true),
        (ResourceBudget::zero(), cpu(5), true),
        (cpu(5).with_message_count(MessageCount::new(1)), cpu(5), true),
        (cpu(5), cpu(5).with_message_count(MessageCount::new(1)), false),
        (cpu(1).with_packet_count(PacketCount::new(3)), cpu(1).with_packet_count(PacketCount::new(2)), false),
    ];
    for (i, (child, parent, expected)) in cases.iter().enumerate() {
        assert_eq!(child.is_subset_of(parent), *expected, "case {i}: {child:?} ⊆ {parent:?}");
    }
}

#[test]
fn min_is_the_most_restrictive_per_resource() {
    let a = ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(10)).with_message_count(MessageCount::new(7));
    let b = ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(20)).with_storage_ops(StorageOps::new(3));
    let m = a.min(&b);
    assert_eq!(m, ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(10)).with_message_count(MessageCount::new(7)).with_storage_ops(StorageOps::new(3)));
    assert_eq!(a.min(&b), b.min(&a));
    assert!(m.is_subset_of(&a) && m.is_subset_of(&b));
}

#[test]
fn budgets_serialize_and_reject_unknown_fields() {
    let b = ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(1000)).with_packet_count(PacketCount::new(9));
    let text = ron::to_string(&b).unwrap();
    assert_eq!(ron::from_str::<ResourceBudget>(&text).unwrap(), b);
    assert_eq!(ron::from_str::<ResourceBudget>("(message_count: Some(10))").unwrap(), ResourceBudget::unlimited().with_message_count(MessageCount::new(10)));
    assert!(ron::from_str::<ResourceBudget>("(messages: Some(10))").is_err());
}

// ----- ResourceUsage ----------------------------------------------------------------------------

#[test]
fn usage_starts_at_zero_and_consumes_one_unit_per_helper() {
    let mut u = ResourceUsage::zero();
    assert_eq!(u, ResourceUsage::default());
    u.consume_cpu_ticks(CpuTicks::new(10));
    u.consume_memory_units(MemoryUnits::new(4));
    u.consume_message();
    u.consume_storage_op();
    u.consume_pipeline_stage();
    u.consume_packet();
    u.consume_packet();
    assert_eq!(ResourceKind::ALL.map(|k| u.get(k)), [10, 4, 1, 1, 1, 2]);
    u.consume_cpu_ticks(CpuTicks::new(u64::MAX));
    assert_eq!(u.cpu_ticks, CpuTicks::new(u64::MAX), "saturating, never panics");
}

#[test]
fn exceeds_reports_the_first_violated_limit_in_field_order() {
    let budget = ResourceBudget::unlimited().with_message_count(MessageCount::new(10)).with_storage_ops(StorageOps::new(0)).with_cpu_ticks(CpuTicks::new(100));
    let mut u = ResourceUsage::zero();
    assert_eq!(u.exceeds(&budget), None);
    u.add(ResourceKind::StorageOps, 1);
    u.add(ResourceKind::MessageCount, 11);
    let e = u.exceeds(&budget).unwrap();
    assert_eq!(e, ResourceExceeded::MessageCount { limit: MessageCount::new(10), usage: MessageCount::new(11) }, "message_count comes before storage_ops");
    assert_eq!((e.kind(), e.limit(), e.usage()), (ResourceKind::MessageCount, 10, 11));
    assert_eq!(e.to_string(), "MessageCount limit=10, usage=11");
    u.add(ResourceKind::CpuTicks, 100);
    assert_eq!(u.exceeds(&budget).unwrap().kind(), ResourceKind::MessageCount, "at the limit is not above it");
    u.add(ResourceKind::CpuTicks, 1);
    assert_eq!(u.exceeds(&budget).unwrap().kind(), ResourceKind::CpuTicks);
    for k in ResourceKind::ALL {
        let e = ResourceExceeded::new(k, 3, 4);
        assert_eq!((e.kind(), e.limit(), e.usage()), (k, 3, 4));
    }
}

#[test]
fn remaining_subtracts_saturating_and_keeps_unlimited() {
    let budget = ResourceBudget::unlimited().with_message_count(MessageCount::new(10)).with_cpu_ticks(CpuTicks::new(5));
    let mut u = ResourceUsage::zero();
    u.add(ResourceKind::MessageCount, 4);
    u.add(ResourceKind::CpuTicks, 9);
    u.add(ResourceKind::StorageOps, 100);
    let r = u.remaining(&budget);
    assert_eq!(r.limit(ResourceKind::MessageCount), Some(6));
    assert_eq!(r.limit(ResourceKind::CpuTicks), Some(0));
    assert_eq!(r.limit(ResourceKind::StorageOps), None);
}

#[test]
fn delta_shows_what_changed() {
    let before = ResourceUsage::zero();
    let mut after = before;
    after.consume_cpu_ticks(CpuTicks::new(10));
    after.consume_message();
    let d = ResourceDelta::from(&before, &after);
    assert_eq!((d.cpu_ticks, d.message_count, d.storage_ops), (10, 1, 0));
    assert_eq!(d.to_string(), "cpu=+10, msg=+1");
    assert_eq!(ResourceDelta::from(&after, &after).to_string(), "none");
    assert!(ResourceDelta::from(&after, &before).is_zero(), "saturating: usage never goes down");
    after.consume_packet();
    assert_eq!(ResourceDelta::from(&before, &after).packet_count, 1);
}

// ----- attachment and inheritance -------------------------------------------------------------

#[test]
fn budget_inheritance_is_refused_at_spawn_when_the_child_asks_for_more() {
    // The seed's example: parent CpuTicks 1000, child 2000 → InsufficientAuthority("Budget
    // inheritance violation: child budget exceeds parent").
    let parent_budget = ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(1000));
    let child_budget = ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(2000));
    let mut l = ledger_with(A, parent_budget);
    let err = l.attach(B, Some(A), Some(child_budget)).unwrap_err();
    assert_eq!(err, ResourceError::InvalidBudgetDerivation { reason: "Budget inheritance violation: child budget exceeds parent".into() });
    assert!(err.to_string().contains("child budget exceeds parent"));
    assert_eq!(l.budget(B), None, "a refused child gets no budget");
    assert_eq!(l.resource_audit().len(), 1, "only the parent's attachment is recorded");
    assert!(rules(&l).is_clean());
}

#[test]
fn child_budgets_within_the_parent_are_granted_and_no_request_inherits() {
    let parent = ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(1000)).with_message_count(MessageCount::new(10));
    type Case = (Option<ResourceBudget>, Result<Option<ResourceBudget>, ()>);
    let cases: [Case; 4] = [
        (None, Ok(Some(parent))),
        (Some(parent), Ok(Some(parent))),
        (Some(parent.with_cpu_ticks(CpuTicks::new(10))), Ok(Some(parent.with_cpu_ticks(CpuTicks::new(10))))),
        (Some(ResourceBudget::unlimited()), Err(())),
    ];
    for (i, (requested, expected)) in cases.into_iter().enumerate() {
        let mut l = ledger_with(A, parent);
        let got = l.attach(B, Some(A), requested).map_err(|_| ());
        assert_eq!(got, expected, "case {i}");
        if let Ok(b) = expected {
            assert_eq!(l.budget(B), b);
        }
        assert!(rules(&l).is_clean(), "case {i}");
    }
    assert_eq!(derive_child_budget(None, None), Ok(None), "no budget anywhere stays unlimited");
    assert!(budget_inherits_from(Some(&parent), None));
    assert!(!budget_inherits_from(None, Some(&parent)));
}

// ----- enforcement: the ten-send MessageCount example ------------------------------------------

#[test]
fn ten_sends_succeed_and_the_eleventh_is_exhausted_then_everything_fails_as_cancelled() {
    let mut l = ledger_with(A, ResourceBudget::unlimited().with_message_count(MessageCount::new(10)));
    for i in 0..10 {
        assert_eq!(l.try_consume(A, SEND), Ok(()), "send {i}");
    }
    let e = l.try_consume(A, SEND).unwrap_err();
    assert_eq!((e.resource_type, e.limit, e.usage, e.cancelled), (ResourceKind::MessageCount, Some(10), 10, false));
    assert_eq!(e.to_string(), "Resource budget exhausted: MessageCount limit=10, usage=10, identity=exec#1, operation=send_message");
    assert!(l.is_identity_cancelled(A));
    assert_eq!(l.cancelled_by(A), Some(ResourceKind::MessageCount));
    assert_eq!(l.usage(A).message_count, MessageCount::new(10), "the failing send took no effect");
    // Every later operation of the identity fails at once as cancelled, whatever the resource.
    for c in [SEND, RECEIVE, Consumption::Cpu(CpuTicks::new(1)), Consumption::StorageOp, Consumption::Packet(PacketOperation::Send)] {
        let e = l.try_consume(A, c).unwrap_err();
        assert!(e.cancelled && e.to_string().contains("cancelled"), "{c:?}: {e}");
    }
    assert_eq!(l.usage(A), {
        let mut u = ResourceUsage::zero();
        u.add(ResourceKind::MessageCount, 10);
        u
    });
    let audit = l.resource_audit();
    assert_eq!(audit.count_events(|e| matches!(e, ResourceEvent::MessageConsumed { .. })), 10);
    assert_eq!(audit.count_events(|e| matches!(e, ResourceEvent::BudgetExhausted { .. })), 1);
    assert!(audit.has_event(|e| matches!(e, ResourceEvent::CancelledDueToExhaustion { resource_type: ResourceKind::MessageCount, .. })));
    assert!(audit.has_event(|e| matches!(e, ResourceEvent::BudgetExhausted { limit: 10, attempted_usage: 11, operation: SEND, .. })));
    let consumed: Vec<(u64, u64)> = audit.entries().iter().filter_map(|e| e.consumption().map(|(_, b, a)| (b, a))).collect();
    assert_eq!(consumed, (0..10).map(|i| (i, i + 1)).collect::<Vec<_>>(), "before/after of every send");
    let r = rules(&l);
    assert!(r.is_clean(), "{:?}", r.breaches);
    assert_eq!(r.count("budget.exact_consumption"), 10);
    assert_eq!(r.count("budget.exhaustion_cancels"), 1);
}

#[test]
fn receives_consume_message_count_like_sends() {
    let mut l = ledger_with(A, ResourceBudget::unlimited().with_message_count(MessageCount::new(3)));
    assert!(l.try_consume(A, SEND).is_ok());
    assert!(l.try_consume(A, RECEIVE).is_ok());
    assert!(l.try_consume(A, RECEIVE).is_ok());
    let e = l.try_consume(A, RECEIVE).unwrap_err();
    assert_eq!(e.operation.operation(), "receive_message");
    assert!(l.resource_audit().has_event(|e| matches!(e, ResourceEvent::MessageConsumed { operation: MessageOperation::Receive, before: 2, after: 3, .. })));
    assert!(rules(&l).is_clean());
}

#[test]
fn cpu_ticks_are_counted_exactly_and_an_overshooting_request_fails_whole() {
    let mut l = ledger_with(A, ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(100)));
    for _ in 0..3 {
        l.try_consume_cpu_ticks(A, 30).unwrap();
    }
    assert_eq!(l.try_consume_cpu_ticks(A, 0), Ok(()), "zero ticks never exhaust");
    let e = l.try_consume_cpu_ticks(A, 11).unwrap_err();
    assert_eq!((e.usage, e.limit), (90, Some(100)));
    assert_eq!(l.usage(A).cpu_ticks, CpuTicks::new(90), "no partial consumption");
    assert!(l.resource_audit().has_event(|e| matches!(e, ResourceEvent::BudgetExhausted { attempted_usage: 101, .. })));
    assert!(l.resource_audit().has_event(|e| matches!(e, ResourceEvent::CpuConsumed { amount: 30, before: 60, after: 90, .. })));
    assert!(rules(&l).is_clean());
}

#[test]
fn exactly_reaching_the_limit_is_allowed() {
    for kind_budget in [
        (ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(7)), Consumption::Cpu(CpuTicks::new(7))),
        (ResourceBudget::unlimited().with_storage_ops(StorageOps::new(1)), Consumption::StorageOp),
        (ResourceBudget::unlimited().with_pipeline_stages(PipelineStages::new(1)), Consumption::PipelineStage { pipeline: PipelineId(1), stage: StageId(0) }),
        (ResourceBudget::unlimited().with_packet_count(PacketCount::new(1)), Consumption::Packet(PacketOperation::Receive)),
    ] {
        let (budget, c) = kind_budget;
        let mut l = ledger_with(A, budget);
        assert_eq!(l.try_consume(A, c), Ok(()), "{c:?}");
        assert!(l.try_consume(A, c).is_err(), "{c:?} a second time");
        assert_eq!(l.remaining(A).limit(c.kind()), Some(0));
        assert!(rules(&l).is_clean());
    }
}

#[test]
fn pipeline_stage_consumption_records_the_stage() {
    let mut l = ledger_with(A, ResourceBudget::unlimited().with_pipeline_stages(PipelineStages::new(2)));
    l.try_consume_pipeline_stage(A, PipelineId(4), StageId(0)).unwrap();
    l.try_consume_pipeline_stage(A, PipelineId(4), StageId(1)).unwrap();
    let e = l.try_consume_pipeline_stage(A, PipelineId(4), StageId(2)).unwrap_err();
    assert_eq!(e.operation, Consumption::PipelineStage { pipeline: PipelineId(4), stage: StageId(2) });
    assert!(l.resource_audit().has_event(|e| matches!(e, ResourceEvent::PipelineStageConsumed { pipeline: PipelineId(4), stage: StageId(1), before: 1, after: 2, .. })));
    assert!(l.is_identity_cancelled(A));
}

#[test]
fn packets_consume_packet_count_and_exhaustion_cancels() {
    // Networking seed: every packet consumes PacketCount; `PacketConsumed` + `PacketOperation`;
    // audit logging + cancellation on exhaustion.
    let mut l = ledger_with(A, ResourceBudget::unlimited().with_packet_count(PacketCount::new(2)));
    l.try_consume_packet(A, PacketOperation::Send).unwrap();
    l.try_consume_packet(A, PacketOperation::Receive).unwrap();
    let e = l.try_consume_packet(A, PacketOperation::Send).unwrap_err();
    assert_eq!((e.resource_type, e.operation.operation()), (ResourceKind::PacketCount, "send_packet"));
    let audit = l.resource_audit();
    assert_eq!(audit.count_events(|e| matches!(e, ResourceEvent::PacketConsumed { .. })), 2);
    assert!(audit.has_event(|e| matches!(e, ResourceEvent::PacketConsumed { operation: PacketOperation::Receive, before: 1, after: 2, .. })));
    assert!(audit.has_event(|e| matches!(e, ResourceEvent::CancelledDueToExhaustion { resource_type: ResourceKind::PacketCount, .. })));
    assert_eq!(l.usage(A).packet_count, PacketCount::new(2));
    assert!(rules(&l).is_clean());
}

#[test]
fn a_zero_budget_refuses_the_first_operation() {
    let mut l = ledger_with(A, ResourceBudget::zero());
    assert!(l.try_consume(A, Consumption::StorageOp).is_err());
    assert_eq!(l.usage(A), ResourceUsage::zero());
    assert!(rules(&l).is_clean());
}

#[test]
fn without_a_budget_nothing_is_enforced_but_usage_is_tracked() {
    let mut l = ResourceLedger::new();
    for _ in 0..1000 {
        l.try_consume(B, SEND).unwrap();
    }
    l.try_consume_cpu_ticks(B, u64::MAX).unwrap();
    l.try_consume_cpu_ticks(B, 5).unwrap();
    assert_eq!(l.usage(B).message_count, MessageCount::new(1000));
    assert_eq!(l.usage(B).cpu_ticks, CpuTicks::new(u64::MAX), "saturating");
    assert!(!l.is_identity_cancelled(B));
    assert!(l.remaining(B).is_unlimited());
}

#[test]
fn accounting_is_per_identity() {
    let mut l = ledger_with(A, ResourceBudget::unlimited().with_message_count(MessageCount::new(1)));
    l.attach(B, None, Some(ResourceBudget::unlimited().with_message_count(MessageCount::new(1)))).unwrap();
    l.try_consume(A, SEND).unwrap();
    assert!(l.try_consume(A, SEND).is_err());
    assert_eq!(l.try_consume(B, SEND), Ok(()), "B's budget is its own");
    assert!(!l.is_identity_cancelled(B));
    assert_eq!(l.resource_audit().entries_for_execution(B).len(), 2, "attachment and one send");
    l.release(A);
    assert_eq!(l.budget(A), None);
    assert!(rules(&l).is_clean());
}

#[test]
fn the_same_operations_give_the_same_audit_log() {
    let ops = |l: &mut ResourceLedger| {
        let mut results = Vec::new();
        for i in 0..30u64 {
            let c = match i % 4 {
                0 => SEND,
                1 => Consumption::Cpu(CpuTicks::new(i)),
                2 => Consumption::StorageOp,
                _ => Consumption::Packet(PacketOperation::Receive),
            };
            results.push(l.try_consume(A, c).is_ok());
        }
        results
    };
    let budget = ResourceBudget::unlimited().with_cpu_ticks(CpuTicks::new(100)).with_message_count(MessageCount::new(6));
    let (mut l1, mut l2) = (ledger_with(A, budget), ledger_with(A, budget));
    assert_eq!(ops(&mut l1), ops(&mut l2));
    assert_eq!(l1.resource_audit(), l2.resource_audit());
    let digest = |l: &ResourceLedger| {
        let mut h = model::trace_hash::TraceHasher::default();
        l.resource_audit().entries().iter().for_each(|e| h.feed(e));
        h.value()
    };
    assert_eq!(digest(&l1), digest(&l2));
    assert!(rules(&l1).is_clean());
}

#[test]
fn audit_events_fold_distinctly() {
    use model::trace_hash::TraceHasher;
    let events = [
        ResourceEvent::MessageConsumed { execution_id: A, operation: MessageOperation::Send, before: 0, after: 1 },
        ResourceEvent::MessageConsumed { execution_id: A, operation: MessageOperation::Receive, before: 0, after: 1 },
        ResourceEvent::CpuConsumed { execution_id: A, amount: 1, before: 0, after: 1 },
        ResourceEvent::StorageOpConsumed { execution_id: A, before: 0, after: 1 },
        ResourceEvent::PipelineStageConsumed { execution_id: A, pipeline: PipelineId(0), stage: StageId(0), before: 0, after: 1 },
        ResourceEvent::BudgetExhausted { execution_id: A, resource_type: ResourceKind::CpuTicks, limit: 0, attempted_usage: 1, operation: Consumption::StorageOp },
        ResourceEvent::CancelledDueToExhaustion { execution_id: A, resource_type: ResourceKind::CpuTicks },
        ResourceEvent::PacketConsumed { execution_id: A, operation: PacketOperation::Send, before: 0, after: 1 },
        ResourceEvent::BudgetAttached { execution_id: A, parent: None, budget: None },
        ResourceEvent::BudgetAttached { execution_id: A, parent: None, budget: Some(ResourceBudget::zero()) },
    ];
    let digests: std::collections::BTreeSet<u64> = events
        .iter()
        .map(TraceHasher::digest_of)
        .collect();
    assert_eq!(digests.len(), events.len());
}

/// The budget checks, each on a minimal audit log that breaks it.
#[test]
fn each_budget_check_catches_a_hand_made_violation() {
    let attach = |e: ExecutionId, parent, budget| ResourceEvent::BudgetAttached { execution_id: e, parent, budget: Some(budget) };
    let msgs = |n| ResourceBudget::unlimited().with_message_count(MessageCount::new(n));
    let sent = |before, after| ResourceEvent::MessageConsumed { execution_id: A, operation: MessageOperation::Send, before, after };
    let exhausted = ResourceEvent::BudgetExhausted { execution_id: A, resource_type: ResourceKind::MessageCount, limit: 1, attempted_usage: 2, operation: SEND };
    let cancelled = |kind| ResourceEvent::CancelledDueToExhaustion { execution_id: A, resource_type: kind };
    let cases: Vec<(&str, Vec<ResourceEvent>, &str)> = vec![
        ("usage above the limit", vec![attach(A, None, msgs(1)), sent(0, 1), sent(1, 2)], "budget.usage_within_limit"),
        ("a child above its parent", vec![attach(A, None, msgs(1)), attach(B, Some(A), msgs(2))], "budget.child_within_parent"),
        ("an unlimited child of a limited parent", vec![attach(A, None, msgs(1)), ResourceEvent::BudgetAttached { execution_id: B, parent: Some(A), budget: None }], "budget.child_within_parent"),
        ("two units for one send", vec![sent(0, 2)], "budget.exact_consumption"),
        ("a consumption that skips usage", vec![sent(0, 1), sent(2, 3)], "budget.exact_consumption"),
        ("consumption after the cancellation", vec![attach(A, None, msgs(1)), sent(0, 1), exhausted, cancelled(ResourceKind::MessageCount), ResourceEvent::CpuConsumed { execution_id: A, amount: 1, before: 0, after: 1 }], "budget.nothing_after_cancel"),
        ("a second exhaustion after the cancellation", vec![attach(A, None, msgs(1)), sent(0, 1), exhausted, cancelled(ResourceKind::MessageCount), exhausted, cancelled(ResourceKind::MessageCount)], "budget.nothing_after_cancel"),
        ("an exhaustion never cancelled", vec![attach(A, None, msgs(1)), sent(0, 1), exhausted], "budget.exhaustion_cancels"),
        ("a cancellation for another resource", vec![attach(A, None, msgs(1)), sent(0, 1), exhausted, cancelled(ResourceKind::CpuTicks)], "budget.exhaustion_cancels"),
        ("a cancellation without exhaustion", vec![cancelled(ResourceKind::CpuTicks)], "budget.exhaustion_cancels"),
    ];
    for (what, log, invariant) in cases {
        let mut rules = RuleLog::default();
        BudgetMonitor::check_log(&log, &mut rules);
        assert_eq!(rules.breached(), [invariant], "{what}: {:#?}", rules.breaches);
    }
}
