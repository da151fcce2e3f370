//! The event loop's side of the bring-up lite network (seed `001_*`, "Alternative Path: Bring-up
//! Lite", feature `net-bringup-lite`).
//!
//! A scenario's `lite_network` becomes one [`LiteNode`] driven from the run's own queue, like the
//! canonical network (`engine/net.rs`): each [`LiteAction`] (the node's start, a DHCP offer or
//! timer, a fetch timer, a scripted echo or fetch) waits in a slot of [`LiteRun`] and is an
//! `Event::Net { slot }` in the queue. Per event the action is carried out, the actions it
//! scheduled are queued after everything already queued for their time, and every networking event
//! it recorded becomes an `Observation::Net` — checked by the `net.*` monitor, folded into the
//! trace hash and counted for the report and `expect.lite`. Nothing here draws a choice: the lite
//! node has no wire.
//!
//! At the start, the node's `Start` is queued at time 0, then the script's actions at their times
//! (in script order), after the scenario's other initial events.

use super::slots::Slots;
use super::{Event, Simulation};
use crate::budget::ResourceKind;
use crate::net::events::{LiteEvent, NetEvent};
use crate::net::lite::dhcp::DhcpState;
use crate::net::lite::echo::ECHO_PORT;
use crate::net::lite::fetch::FetchResult;
use crate::net::lite::node::{LiteAction, LiteNode};
use crate::net::packet::{Endpoint, Ipv4Address};
use crate::net::service::{PacketOutcome, PacketServiceEvent};
use crate::observation::Observation;
use crate::report::{LiteCounter, LiteFetchRow, LiteReport};
use crate::scenario::{LiteOp, Scenario};
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// The lite node of a run: the node, the actions waiting in the queue, the counters.
pub(super) struct LiteRun {
    node: LiteNode,
    actions: Slots<LiteAction>,
    counters: [u64; LiteCounter::ALL.len()],
    /// Attempts each finished fetch took, by fetch number.
    attempts: BTreeMap<u64, u32>,
}

impl LiteRun {
    /// The lite node a validated scenario declares (none if it declares none).
    pub(super) fn of(scenario: &Scenario) -> Option<Box<LiteRun>> {
        let n = scenario.lite_network.as_ref()?;
        let node = LiteNode::idle(n.node_config(&scenario.bugs));
        Some(Box::new(LiteRun { node, actions: Slots::new(), counters: [0; LiteCounter::ALL.len()], attempts: BTreeMap::new() }))
    }

    fn count(&mut self, counter: LiteCounter) {
        self.counters[counter as usize] += 1;
    }

    /// Counts one event for the report.
    fn tally(&mut self, event: &NetEvent) {
        use LiteCounter as C;
        match event {
            NetEvent::Lite { event, .. } => match *event {
                LiteEvent::DhcpDiscover { .. } => self.count(C::DhcpRequests),
                LiteEvent::Echoed { .. } => self.count(C::Echoed),
                LiteEvent::Fetched { id, status, attempts } => {
                    self.count(if status == 0 { C::FetchesTimedOut } else { C::FetchesAnswered });
                    self.attempts.insert(id, attempts);
                }
                LiteEvent::DhcpBound { .. } | LiteEvent::DhcpFallback { .. } => {}
            },
            NetEvent::Packet { event, .. } => match event {
                PacketServiceEvent::Decided { allowed: true, .. } => self.count(C::PacketsAllowed),
                PacketServiceEvent::Decided { allowed: false, .. } => self.count(C::PacketsDenied),
                PacketServiceEvent::Resource { event, .. } if event.consumption().is_some_and(|(k, _, _)| k == ResourceKind::PacketCount) => self.count(C::PacketsConsumed),
                PacketServiceEvent::Done { outcome: PacketOutcome::Exhausted, .. } => self.count(C::PacketsExhausted),
                _ => {}
            },
            _ => {}
        }
    }

    /// What the node shows at the end of the run.
    pub(super) fn report(&self) -> LiteReport {
        let n = &self.node;
        let mut counts = self.counters;
        counts[LiteCounter::ClientSendsRefused as usize] = n.client_refused;
        counts[LiteCounter::ClientSends as usize] -= n.client_refused.min(counts[LiteCounter::ClientSends as usize]);
        counts[LiteCounter::EchoReplies as usize] = n.client_received.len() as u64;
        counts[LiteCounter::PacketsDiscarded as usize] = n.discarded();
        let fetches = n
            .fetches
            .iter()
            .map(|(url, id)| {
                let result = id.and_then(|id| n.fetch_results.get(&id));
                let attempts = id.and_then(|id| self.attempts.get(&id.0)).copied().unwrap_or(0);
                let (status, body) = match result {
                    Some(FetchResult::Response { status, body }) => (Some(*status), String::from_utf8_lossy(body).into_owned()),
                    Some(FetchResult::TimedOut) => (Some(0), String::new()),
                    None => (None, String::new()),
                };
                LiteFetchRow { url: url.clone(), status, body, attempts }
            })
            .collect();
        LiteReport {
            address: n.address(),
            fallback: matches!(n.dhcp().state(), DhcpState::Fallback(_)),
            echo_replies: n.client_received.iter().map(|d| String::from_utf8_lossy(&d.payload).into_owned()).collect(),
            fetches,
            counters: LiteCounter::ALL.iter().map(|c| (*c, counts[*c as usize])).collect(),
        }
    }
}

/// The node's action for a script step.
fn scripted(op: &LiteOp) -> LiteAction {
    let echo = |address: Ipv4Address, payload: &str| LiteAction::ClientSend { to: Endpoint::new(address, ECHO_PORT), payload: payload.as_bytes().to_vec() };
    match op {
        LiteOp::Echo(payload) => echo(Ipv4Address::LOOPBACK, payload),
        LiteOp::EchoAt(address, payload) => echo(*address, payload),
        LiteOp::Fetch(url) => LiteAction::Fetch(url.clone()),
    }
}

impl Simulation<'_> {
    /// Queues the node's start and the script (after the scenario's other initial events).
    pub(super) fn schedule_lite_network(&mut self) {
        let (Some(lite), Some(n)) = (self.lite.as_mut(), self.scenario.lite_network.as_ref()) else { return };
        let initial = core::iter::once((0, LiteAction::Start)).chain(n.script.iter().map(|s| (s.at_ns, scripted(&s.op))));
        for (at, action) in initial {
            let slot = lite.actions.park(action);
            self.queue.push(at, Event::Net { slot });
        }
    }

    /// `Event::Net` in a lite build: carries out the action in `slot`.
    pub(super) fn lite_action(&mut self, slot: u32) {
        let Some(lite) = self.lite.as_mut() else { return };
        let Some(action) = lite.actions.take(slot) else { return };
        if matches!(action, LiteAction::ClientSend { .. }) {
            lite.count(LiteCounter::ClientSends);
        }
        let now: Instant = self.kernel.now();
        lite.node.act(now, action);
        let scheduled: Vec<(Instant, LiteAction)> = lite.node.take_scheduled().collect();
        for (at, action) in scheduled {
            let slot = lite.actions.park(action);
            self.queue.push(at.0, Event::Net { slot });
        }
        let recorded: Vec<NetEvent> = lite.node.take_recorded().to_vec();
        for event in recorded {
            lite.tally(&event);
            self.kernel.observations.push(Observation::Net(Box::new(event)));
        }
    }
}
