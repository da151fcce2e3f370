//! The reliable stream under arbitrary wire behaviour (property tests): whatever the channel does
//! to segments and acknowledgements — loss, duplication, any delay and so any reordering — the
//! receiver hands the application exactly the payloads sent, in order, each once; once the
//! channel behaves, everything arrives; a stream that gives up has delivered a prefix.

mod net_common;

use model::net::checks::STREAM_IN_ORDER_EXACTLY_ONCE;
use model::net::stream::{StreamConfig, StreamReceiver};
use net_common::*;
use proptest::prelude::*;

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        4 => (1u64..40).prop_map(Fate::Arrive),
        2 => Just(Fate::Lose),
        1 => (1u64..40, 1u64..80).prop_map(|(a, b)| Fate::Twice(a, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn everything_arrives_in_order_exactly_once_whatever_the_wire_does(
        fates in proptest::collection::vec(fate(), 0..300),
        n in 0usize..40,
        window in 1u32..10,
        rto in 20u64..200,
    ) {
        let config = StreamConfig { window, initial_rto_ns: rto, max_rto_ns: rto * 4, max_retransmits: 10_000, max_pending: 64 };
        let sent = payloads(n);
        let mut receiver = StreamReceiver::new(config);
        let run = run_stream(config, &mut receiver, &sent, &fates, u64::MAX);
        prop_assert!(!run.failed);
        prop_assert_eq!(&run.delivered, &sent);
        prop_assert!(run.sender_idle, "every payload acknowledged");
        let log = stream_events(&sent, &run.delivered);
        prop_assert!(log.is_clean(), "{:?}", log.breaches);
        prop_assert_eq!(log.count(STREAM_IN_ORDER_EXACTLY_ONCE), n as u64);
    }

    #[test]
    fn a_stream_that_gives_up_has_delivered_a_prefix_once(
        fates in proptest::collection::vec(fate(), 0..60),
        n in 1usize..20,
        window in 1u32..6,
    ) {
        // After the given fates, everything is lost: the sender must give up.
        let mut all = fates.clone();
        all.extend(std::iter::repeat_n(Fate::Lose, 10_000));
        let config = StreamConfig { window, initial_rto_ns: 30, max_rto_ns: 120, max_retransmits: 3, max_pending: 64 };
        let sent = payloads(n);
        let mut receiver = StreamReceiver::new(config);
        let run = run_stream(config, &mut receiver, &sent, &all, u64::MAX);
        prop_assert!(run.delivered.len() <= n);
        prop_assert_eq!(&run.delivered[..], &sent[..run.delivered.len()]);
        prop_assert!(run.failed || run.sender_idle);
        let log = stream_events(&sent, &run.delivered);
        prop_assert!(log.is_clean(), "{:?}", log.breaches);
    }
}

#[test]
fn lost_acknowledgements_cause_retransmissions_the_receiver_drops() {
    let config = StreamConfig { window: 4, initial_rto_ns: 50, max_rto_ns: 200, max_retransmits: 10, max_pending: 16 };
    let sent = payloads(4);
    // Four segments arrive; their four acknowledgements are lost; the retransmissions arrive again.
    let fates = [Fate::Arrive(1), Fate::Arrive(1), Fate::Arrive(1), Fate::Arrive(1), Fate::Lose, Fate::Lose, Fate::Lose, Fate::Lose];
    let mut receiver = StreamReceiver::new(config);
    let run = run_stream(config, &mut receiver, &sent, &fates, u64::MAX);
    assert_eq!(run.delivered, sent);
    assert_eq!(run.retransmissions, 4);
    assert_eq!(receiver.duplicates, 4);
}
