//! The bring-up lite path (seed `001_*`, feature `net-bringup-lite`): loopback-only netstack, the
//! DHCP stub with its documented fallback address, `echod` and `fetchd` — every packet through the
//! packet service, the packet invariants checked as the node runs; and the same node in a scenario
//! run (`lite_network`), where the `net.*` invariants catch the packet service's planted bugs.
#![cfg(feature = "net-bringup-lite")]

use model::budget::audit::ResourceEvent;
use model::net::checks;
use model::net::events::{LiteEvent, NetEvent};
use model::net::lite::dhcp::{DhcpConfig, DhcpOutput, DhcpState, DhcpStub, FALLBACK};
use model::net::lite::fetch::FetchResult;
use model::net::lite::node::{LiteNode, LiteNodeConfig, CLIENT, ECHOD, FETCHD, RESPONDER, RESPONDER_PORT};
use model::net::policy::NetworkPolicySpec;
use model::net::sockets::{SocketError, SocketResponse};
use model::net::{Endpoint, Ipv4Address, Ipv4Cidr};
use model::time::Instant;

const MS: u64 = 1_000_000;

fn node(config: LiteNodeConfig) -> LiteNode {
    LiteNode::new(LiteNodeConfig { pages: vec![("/hello".into(), b"hello, world".to_vec())], ..config })
}

fn assert_clean(n: &LiteNode) {
    assert!(n.rules().is_clean(), "{:#?}", n.rules().breaches);
}

#[test]
fn echod_sends_every_datagram_back_over_loopback() {
    let mut n = node(LiteNodeConfig::default());
    for payload in [b"ping".to_vec(), vec![], vec![7; 300]] {
        assert_eq!(n.echo(payload.clone()), SocketResponse::Sent);
        let got = n.client_received.pop().expect("an echo");
        assert_eq!(got.payload, payload);
        assert_eq!(got.from, Endpoint::new(Ipv4Address::LOOPBACK, 7));
    }
    assert_clean(&n);
    assert!(n.events().iter().filter(|e| matches!(e, NetEvent::Lite { event: LiteEvent::Echoed { .. }, .. })).count() == 3);
    // Each echo is four packet operations: client send, echod receive, echod send, client receive.
    for exec in [CLIENT, ECHOD] {
        assert_eq!(n.ledger().usage(exec).packet_count.get(), 6, "{exec}");
    }
    assert!(n.rules().count(checks::PACKET_BUDGET_EXACT) >= 12);
}

#[test]
fn the_lite_netstack_is_loopback_only() {
    let mut n = node(LiteNodeConfig::default());
    let far = Endpoint::new(Ipv4Address::new(192, 168, 1, 1), 7);
    assert_eq!(n.client_send(far, b"x".to_vec()), SocketResponse::Error(SocketError::Unreachable(far)));
    // Its own address is local once configured (here: the fallback, after the stub gives up).
    n.run_until(Instant(10_000 * MS));
    let own = Endpoint::new(FALLBACK.address, 7);
    assert_eq!(n.client_send(own, b"self".to_vec()), SocketResponse::Sent);
    assert_eq!(n.client_received.last().unwrap().payload, b"self");
    assert_clean(&n);
}

#[test]
fn fetchd_gets_a_page_a_missing_page_and_times_out_on_silence() {
    let mut n = node(LiteNodeConfig::default());
    let ok = n.fetch(&format!("http://127.0.0.1:{RESPONDER_PORT}/hello")).unwrap();
    let missing = n.fetch(&format!("http://127.0.0.1:{RESPONDER_PORT}/nope")).unwrap();
    let silent = n.fetch("http://127.0.0.1:9/hello").unwrap();
    assert!(n.fetch("http://localhost/hello").is_err(), "names are not resolved");
    n.run_until(Instant(5_000 * MS));
    assert_eq!(n.fetch_results[&ok], FetchResult::Response { status: 200, body: b"hello, world".to_vec() });
    assert_eq!(n.fetch_results[&missing], FetchResult::Response { status: 404, body: b"not found".to_vec() });
    assert_eq!(n.fetch_results[&silent], FetchResult::TimedOut);
    assert!(n.events().iter().any(|e| matches!(e, NetEvent::Lite { event: LiteEvent::Fetched { status: 0, attempts: 3, .. }, .. })));
    assert_eq!(n.ledger().usage(RESPONDER).packet_count.get(), 4, "two requests in, two answers out");
    assert_eq!(n.ledger().usage(FETCHD).packet_count.get(), 2 + 3 + 2, "two answered requests, three unanswered attempts, two answers received");
    assert_clean(&n);
}

#[test]
fn dhcp_binds_an_offered_lease_or_falls_back_to_the_documented_address() {
    let lease = Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 42), 24);
    // An offer in time.
    let mut n = node(LiteNodeConfig { dhcp_offer: Some((200 * MS, lease)), ..LiteNodeConfig::default() });
    n.run_until(Instant(10_000 * MS));
    assert_eq!(n.address(), Some(lease));
    assert_eq!(n.dhcp().state(), DhcpState::Bound(lease));
    // No server: three attempts a second apart, then 10.0.2.15/24.
    let mut n = node(LiteNodeConfig::default());
    n.run_until(Instant(2_999 * MS));
    assert_eq!(n.address(), None);
    n.run_until(Instant(3_000 * MS));
    assert_eq!(n.address(), Some(FALLBACK));
    assert_eq!(FALLBACK.to_string(), "10.0.2.15/24");
    let lite: Vec<LiteEvent> = n.events().iter().filter_map(|e| if let NetEvent::Lite { event, .. } = e { Some(*event) } else { None }).collect();
    assert_eq!(lite, [LiteEvent::DhcpDiscover { attempt: 1 }, LiteEvent::DhcpDiscover { attempt: 2 }, LiteEvent::DhcpDiscover { attempt: 3 }, LiteEvent::DhcpFallback { cidr: FALLBACK }]);
    // A server too slow for every attempt: fallback, and the late offers change nothing.
    let mut n = node(LiteNodeConfig { dhcp_offer: Some((3_500 * MS, lease)), ..LiteNodeConfig::default() });
    n.run_until(Instant(20_000 * MS));
    assert_eq!(n.address(), Some(FALLBACK));
}

#[test]
fn the_dhcp_stub_ignores_stale_timers_and_late_offers() {
    let mut stub = DhcpStub::new(DhcpConfig { attempts: 2, retry_ns: 100 });
    let mut out = Vec::new();
    stub.start(Instant(0), &mut out);
    assert_eq!(out, [DhcpOutput::SendDiscover { attempt: 1 }, DhcpOutput::SetTimer { at: Instant(100), attempt: 1 }]);
    out.clear();
    stub.on_timer(7, Instant(50), &mut out);
    assert!(out.is_empty(), "a timer of another attempt");
    stub.on_timer(1, Instant(100), &mut out);
    stub.on_timer(2, Instant(200), &mut out);
    assert_eq!(out.last(), Some(&DhcpOutput::Configured { cidr: FALLBACK, fallback: true }));
    assert!(!stub.on_offer(Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 9), 24), &mut out));
    assert_eq!(stub.state(), DhcpState::Fallback(FALLBACK));
}

#[test]
fn the_lite_path_keeps_policy_and_budgets() {
    // Deny-all: nothing leaves the client, nothing is consumed.
    let mut n = node(LiteNodeConfig { policy: NetworkPolicySpec::DenyAll, ..LiteNodeConfig::default() });
    assert!(matches!(n.echo(b"x".to_vec()), SocketResponse::Error(SocketError::Refused(why)) if why.contains("All network traffic denied")));
    assert_eq!(n.ledger().usage(CLIENT).packet_count.get(), 0);
    assert_clean(&n);
    assert!(n.rules().count(checks::DENIED_CONSUMES_NOTHING) > 0);
    // A client with a PacketCount of 3: one echo (send + receive), one more send, then exhausted.
    let mut n = node(LiteNodeConfig { client_packet_budget: Some(3), ..LiteNodeConfig::default() });
    assert_eq!(n.echo(b"1".to_vec()), SocketResponse::Sent);
    assert_eq!(n.client_received.len(), 1);
    assert_eq!(n.echo(b"2".to_vec()), SocketResponse::Sent);
    assert_eq!(n.client_received.len(), 1, "the echo back could not be received: the budget ran out");
    assert!(matches!(n.echo(b"3".to_vec()), SocketResponse::Error(SocketError::Refused(_))));
    assert!(n.ledger().is_identity_cancelled(CLIENT));
    assert!(n.ledger().resource_audit().has_event(|e| matches!(e, ResourceEvent::BudgetExhausted { .. })));
    assert_clean(&n);
}

#[test]
fn a_lite_run_is_deterministic() {
    let go = || {
        let mut n = node(LiteNodeConfig { dhcp_offer: Some((1_500 * MS, Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 7), 24))), ..LiteNodeConfig::default() });
        n.echo(b"a".to_vec());
        n.fetch("http://127.0.0.1:8080/hello").unwrap();
        n.run_until(Instant(5_000 * MS));
        (n.digest(), n.events().len())
    };
    assert_eq!(go(), go());
}

/// A lite scenario run through the normal runner (`lite_network`, `engine/lite.rs`).
fn lite_scenario(bugs: &str) -> model::Scenario {
    let text = format!(
        r#"(
            name: "lite",
            limits: (max_time_ns: 100_000_000),
            bugs: [{bugs}],
            lite_network: Some((
                policy: Rules((name: "NoFetch", rules: [(when: [DestinationPort(8080)], then: Deny("no fetch"))])),
                client_packet_budget: Some(3),
                fetch: (timeout_ns: 10_000_000, max_attempts: 3),
                script: [
                    (at_ns: 1_000_000, op: Echo("a")),
                    (at_ns: 2_000_000, op: Echo("b")),
                    (at_ns: 3_000_000, op: Fetch("http://127.0.0.1:8080/hello")),
                ],
            )),
        )"#
    );
    let s: model::Scenario = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME).from_str(&text).expect("parses");
    s.validate().expect("valid");
    s
}

#[test]
fn a_lite_scenario_runs_on_the_run_queue_checked_by_the_net_invariants() {
    let s = lite_scenario("");
    let report = model::run(&s, &model::RunConfig::seeded(1));
    assert!(report.first_violation().is_none(), "{:?}", report.first_violation());
    let checks = |id: &str| report.invariant_checks.iter().find(|(i, _)| i == id).map_or(0, |(_, n)| *n);
    for id in [checks::POLICY_BEFORE_BUDGET, checks::DENIED_CONSUMES_NOTHING, checks::PACKET_BUDGET_EXACT] {
        assert!(checks(id) > 0, "{id} is checked in lite runs");
    }
    let lite = report.lite.as_ref().expect("a lite report");
    assert_eq!(lite.echo_replies, ["a"], "the client's budget of 3 pays one echo and one more send");
    assert_eq!(lite.fetches[0].status, Some(0), "the rule denies every request to the responder");
    assert_eq!(lite.get(model::report::LiteCounter::PacketsDenied), 3);
    assert_eq!(lite.get(model::report::LiteCounter::PacketsExhausted), 1);
    assert_eq!(report.trace_hash, model::run(&s, &model::RunConfig::seeded(2)).trace_hash, "nothing in a lite run is drawn");
    assert_eq!(report.choices_drawn, 0);
}

#[test]
fn the_packet_service_bugs_are_caught_in_lite_runs() {
    use model::bugs::PlantedBug::*;
    for bug in [NetPolicyCheckedAfterBudget, DeniedPacketCharged, ReceivedPacketNotCharged] {
        let report = model::run(&lite_scenario(&format!("{bug:?}")), &model::RunConfig::seeded(1));
        let first = report.first_violation().map(|v| v.invariant.as_str());
        assert_eq!(first, Some(bug.caught_by()[0]), "{bug:?}");
    }
}
