//! Situations: what a check of an invariant was about — the kind of observation being checked
//! (an audit record by its audit kind), or, for the checks at the end of an event, the part of the
//! kernel they are attributed to. Issue 15's run coverage: an invariant checked a million times in
//! one situation has seen less than one checked a hundred times in six.
//!
//! A situation is one bit of a 64-bit set, so the monitors record it with one `|=` per check.

use crate::observation::Observation;
use alloc::vec::Vec;

/// Observation kinds in declaration order (bits 0..28).
const OBSERVATIONS: [&str; 28] = [
    "TaskSpawned",
    "TaskExited",
    "ExitNotified",
    "ChannelCreated",
    "MessageSent",
    "MessageEnqueued",
    "MessageDropped",
    "MessageDelayed",
    "MessageReordered",
    "MessageReceived",
    "SendFailed",
    "ReceiveFailed",
    "Audit",
    "CapUsed",
    "ServiceRegistered",
    "ServiceDeregistered",
    "ServiceLookedUp",
    "Lifecycle",
    "FaultInjected",
    "StepDone",
    "IdentityCreated",
    "Resource",
    "Policy",
    "Pipeline",
    "Storage",
    "Cancellation",
    "Net",
    "Interactive",
];

/// Audit records by kind (bits 32..40), in `AuditKind::ALL` order.
const AUDIT_BASE: u32 = 32;

/// End-of-event checks by the subsystem they are attributed to (bits 48..), the last bit for any
/// other.
const END_OF_EVENT: [&str; 5] = ["budget", "capability.delegate", "capability.table", "storage", "termination"];
const END_BASE: u32 = 48;
const OTHER: u32 = 63;

/// The situation bit of a check made while looking at `obs`.
pub fn of_observation(obs: &Observation) -> u64 {
    let bit = match obs {
        Observation::Audit(e) => AUDIT_BASE + e.kind() as u32,
        _ => variant_index(obs),
    };
    1 << bit
}

/// The situation bit of an end-of-event check attributed to `subsystem`.
pub fn of_subsystem(subsystem: &str) -> u64 {
    let bit = END_OF_EVENT.iter().position(|s| *s == subsystem).map_or(OTHER, |i| END_BASE + i as u32);
    1 << bit
}

/// The names of the situations in `set`, in bit order: `MessageReceived`, `Audit:Delegated`,
/// `end of event:termination`, `other`.
pub fn names(set: u64) -> Vec<alloc::string::String> {
    use alloc::format;
    (0..64u32)
        .filter(|b| set & (1 << b) != 0)
        .map(|b| match b {
            b if (b as usize) < OBSERVATIONS.len() => OBSERVATIONS[b as usize].into(),
            b if (AUDIT_BASE..AUDIT_BASE + 8).contains(&b) => format!("Audit:{:?}", crate::capability::AuditKind::ALL[(b - AUDIT_BASE) as usize]),
            b if (END_BASE..END_BASE + END_OF_EVENT.len() as u32).contains(&b) => format!("end of event:{}", END_OF_EVENT[(b - END_BASE) as usize]),
            _ => "other".into(),
        })
        .collect()
}

/// The index of `obs`'s variant in [`OBSERVATIONS`].
fn variant_index(obs: &Observation) -> u32 {
    use Observation as O;
    match obs {
        O::TaskSpawned { .. } => 0,
        O::TaskExited { .. } => 1,
        O::ExitNotified { .. } => 2,
        O::ChannelCreated { .. } => 3,
        O::MessageSent { .. } => 4,
        O::MessageEnqueued { .. } => 5,
        O::MessageDropped { .. } => 6,
        O::MessageDelayed { .. } => 7,
        O::MessageReordered { .. } => 8,
        O::MessageReceived { .. } => 9,
        O::SendFailed { .. } => 10,
        O::ReceiveFailed { .. } => 11,
        O::Audit(_) => 12,
        O::CapUsed { .. } => 13,
        O::ServiceRegistered { .. } => 14,
        O::ServiceDeregistered { .. } => 15,
        O::ServiceLookedUp { .. } => 16,
        O::Lifecycle { .. } => 17,
        O::FaultInjected(_) => 18,
        O::StepDone { .. } => 19,
        O::IdentityCreated { .. } => 20,
        O::Resource(_) => 21,
        O::Policy(_) => 22,
        O::Pipeline(_) => 23,
        O::Storage(_) => 24,
        O::Cancellation(_) => 25,
        O::Net(_) => 26,
        O::Interactive(_) => 27,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::CapabilityEvent;
    use crate::ids::{CapId, TaskId};

    #[test]
    fn observations_audit_kinds_and_end_of_event_checks_are_distinct_situations() {
        let received = of_observation(&Observation::CapUsed { cap: CapId(1), task: TaskId(2) });
        let dropped = of_observation(&Observation::Audit(CapabilityEvent::Dropped { cap: CapId(1), task: TaskId(2) }));
        let end = of_subsystem("termination");
        assert_eq!(names(received | dropped | end | of_subsystem("elsewhere")), ["CapUsed", "Audit:Dropped", "end of event:termination", "other"]);
        assert_eq!((received | dropped | end).count_ones(), 3);
    }
}
