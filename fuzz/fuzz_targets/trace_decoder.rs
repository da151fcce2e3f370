//! The binary trace decoder (`PGTRACE`, version byte, then a streamed header, event records and
//! outcome): untrusted bytes must decode or be rejected with an error, never panic. A decoded trace
//! whose scenario validates is replayed with bounded limits (at most 5,000 events and 100 ms of
//! virtual time); replay must report a match or a divergence, never panic. When the trace's own
//! limits are already that small, the streaming replay of the raw bytes must reach the same
//! verdict as the replay of the decoded trace.

#![no_main]

use libfuzzer_sys::fuzz_target;
use model::trace::Trace;

const MAX_EVENTS: u64 = 5_000;
const MAX_TIME_NS: u64 = 100_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(mut trace) = Trace::from_binary(data) else {
        return;
    };
    if trace.scenario.validate().is_err() {
        return;
    }
    let limits = trace.scenario.limits;
    let bounded = limits.max_events <= MAX_EVENTS && limits.max_time_ns <= MAX_TIME_NS;
    trace.scenario.limits.max_events = limits.max_events.min(MAX_EVENTS);
    trace.scenario.limits.max_time_ns = limits.max_time_ns.min(MAX_TIME_NS);
    let in_memory = replay::replay(&trace, 2);
    if bounded {
        let streamed = replay::replay_binary(data, 2);
        if let (Ok(a), Ok(b)) = (&in_memory, &streamed) {
            assert_eq!(a.confirmed(), b.confirmed(), "the streaming and in-memory replays disagree");
        }
    }
});
