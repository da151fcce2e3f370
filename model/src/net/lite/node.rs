//! One bring-up lite node on virtual time: `netstackd-lite`, the DHCP stub, `echod`, `fetchd`, a
//! static responder and a client task — the stand-in the lite tests use, and the reference for
//! wiring the lite path into the engine.
//!
//! Identities (each its own `PacketCount` account in the node's ledger): `echod` 1, `fetchd` 2,
//! the responder 3, the client 4. The DHCP stub starts at time 0; whether offers come is the
//! configuration's `dhcp_offer` (each request answered after a delay with a lease), standing for
//! the network behind `virtionetd-lite`. Every loopback packet goes through the packet service;
//! the events go to the [`NetMonitor`] and the trace hash as they happen.
//!
//! Two ways to drive it: on its own ([`LiteNode::new`], then [`LiteNode::run_until`] over its own
//! little queue, as the lite tests do), or from a run's event queue ([`LiteNode::idle`], then
//! [`LiteNode::act`] per [`LiteAction`], collecting [`LiteNode::take_scheduled`] and
//! [`LiteNode::take_recorded`] after each; `engine/lite.rs`).

use super::dhcp::{DhcpConfig, DhcpOutput, DhcpStub};
use super::echo::{EchoService, ECHO_PORT};
use super::fetch::{FetchClient, FetchConfig, FetchId, FetchOutput, FetchResult, StaticResponder};
use super::netstack::LiteNetstack;
use crate::budget::enforcement::ResourceLedger;
use crate::budget::{PacketCount, ResourceBudget};
use crate::bugs::{BugSet, PlantedBug};
use crate::ids::ExecutionId;
use crate::net::checks::NetMonitor;
use crate::net::events::NetEvent;
use crate::net::packet::{Endpoint, Ipv4Address, Ipv4Cidr, NetworkInterfaceId, PacketProtocol};
use crate::net::policy::NetworkPolicySpec;
use crate::net::sockets::{Datagram, SocketId, SocketRequest, SocketResponse};
use crate::net::topology::{NetFaultPlan, NodeId};
use crate::rule_check::RuleLog;
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

pub const ECHOD: ExecutionId = ExecutionId(1);
pub const FETCHD: ExecutionId = ExecutionId(2);
pub const RESPONDER: ExecutionId = ExecutionId(3);
pub const CLIENT: ExecutionId = ExecutionId(4);

/// The port the static responder listens on.
pub const RESPONDER_PORT: u16 = 8080;

/// The node's configuration.
#[derive(Clone, Debug, Default)]
pub struct LiteNodeConfig {
    pub policy: NetworkPolicySpec,
    pub dhcp: DhcpConfig,
    /// Each DHCP request is answered after this many ns with this lease; `None` = no server.
    pub dhcp_offer: Option<(u64, Ipv4Cidr)>,
    pub fetch: FetchConfig,
    /// The responder's pages: path → content.
    pub pages: Vec<(String, Vec<u8>)>,
    /// A `PacketCount` limit for the client identity.
    pub client_packet_budget: Option<u64>,
    pub bugs: Vec<PlantedBug>,
}

/// Something the node does at a virtual time: its start, a timer or offer it scheduled, or an
/// action of the client's script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiteAction {
    /// The node boots: the DHCP stub starts asking.
    Start,
    DhcpOffer(Ipv4Cidr),
    DhcpTimer(u32),
    FetchTimer(FetchId, u32),
    /// The client sends `payload` to `echod` at `to`.
    ClientSend { to: Endpoint, payload: Vec<u8> },
    /// `fetchd` fetches a URL (checked by whoever scripts it; a bad one is counted, not fetched).
    Fetch(String),
}

/// The node.
#[derive(Debug)]
pub struct LiteNode {
    now: Instant,
    queue: BTreeMap<(Instant, u64), LiteAction>,
    seq: u64,
    /// Actions scheduled by the last step, not yet taken.
    scheduled: Vec<(Instant, LiteAction)>,
    config: LiteNodeConfig,
    ledger: ResourceLedger,
    netstack: LiteNetstack,
    dhcp: DhcpStub,
    echo: EchoService,
    fetch: FetchClient,
    responder: StaticResponder,
    responder_socket: SocketId,
    client_socket: SocketId,
    /// What the client received, in order.
    pub client_received: Vec<Datagram>,
    /// Every finished fetch.
    pub fetch_results: BTreeMap<FetchId, FetchResult>,
    /// Every scripted fetch in script order: its URL and its id (none: the URL was refused).
    pub fetches: Vec<(String, Option<FetchId>)>,
    /// The client's sends the netstack refused (unreachable, policy, budget).
    pub client_refused: u64,
    events: Vec<NetEvent>,
    /// How many of `events` [`LiteNode::take_recorded`] has handed out.
    taken: usize,
    monitor: NetMonitor,
    rules: RuleLog,
    hash: TraceHasher,
}

const NODE: NodeId = NodeId(0);

impl LiteNode {
    /// A node at time 0 with its services bound and the DHCP stub asking (driven on its own).
    pub fn new(config: LiteNodeConfig) -> Self {
        let mut node = LiteNode::idle(config);
        node.act(Instant(0), LiteAction::Start);
        node.enqueue_scheduled();
        node
    }

    /// A node at time 0 with its services bound, not started (its first action is
    /// [`LiteAction::Start`]).
    pub fn idle(config: LiteNodeConfig) -> Self {
        let bugs = BugSet::from_list(&config.bugs);
        let mut ledger = ResourceLedger::with_bugs(bugs);
        for exec in [ECHOD, FETCHD, RESPONDER] {
            ledger.attach(exec, None, None).expect("a root identity inherits nothing");
        }
        let client_budget = config.client_packet_budget.map(|n| ResourceBudget::unlimited().with_packet_count(PacketCount::new(n)));
        ledger.attach(CLIENT, None, client_budget).expect("a root identity inherits nothing");
        let mut netstack = LiteNetstack::new(NetworkInterfaceId(0), config.policy.build(), bugs);
        let mut bind = |exec, port| match netstack.handle(exec, SocketRequest::Bind { port, protocol: PacketProtocol::Udp }, &mut ledger) {
            SocketResponse::Bound { socket, .. } => socket,
            other => unreachable!("a fresh netstack binds every service's port: {other:?}"),
        };
        let echo = EchoService::new(bind(ECHOD, ECHO_PORT));
        let fetch = FetchClient::new(bind(FETCHD, 0), config.fetch);
        let responder_socket = bind(RESPONDER, RESPONDER_PORT);
        let client_socket = bind(CLIENT, 0);
        let responder = config.pages.iter().fold(StaticResponder::new(responder_socket), |r, (path, content)| r.with_page(path, content));
        let dhcp = DhcpStub::new(config.dhcp);
        let mut node = LiteNode {
            now: Instant(0),
            queue: BTreeMap::new(),
            seq: 0,
            scheduled: Vec::new(),
            config,
            ledger,
            netstack,
            dhcp,
            echo,
            fetch,
            responder,
            responder_socket,
            client_socket,
            client_received: Vec::new(),
            fetch_results: BTreeMap::new(),
            fetches: Vec::new(),
            client_refused: 0,
            events: Vec::new(),
            taken: 0,
            monitor: NetMonitor::new(NetFaultPlan::default()),
            rules: RuleLog::default(),
            hash: TraceHasher::default(),
        };
        node.flush();
        node
    }

    /// The client sends `payload` to `echod` at `to` (normally `127.0.0.1:7`).
    pub fn client_send(&mut self, to: Endpoint, payload: Vec<u8>) -> SocketResponse {
        let r = self.send_from_client(to, payload);
        self.enqueue_scheduled();
        r
    }

    fn send_from_client(&mut self, to: Endpoint, payload: Vec<u8>) -> SocketResponse {
        let r = self.netstack.handle(CLIENT, SocketRequest::SendTo { socket: self.client_socket, to, payload }, &mut self.ledger);
        if matches!(r, SocketResponse::Error(_)) {
            self.client_refused += 1;
        }
        self.pump();
        r
    }

    /// The client asks `echod` on loopback.
    pub fn echo(&mut self, payload: Vec<u8>) -> SocketResponse {
        self.client_send(Endpoint::new(Ipv4Address::LOOPBACK, ECHO_PORT), payload)
    }

    /// `fetchd` fetches `url`.
    pub fn fetch(&mut self, url: &str) -> Result<FetchId, super::fetch::BadUrl> {
        let id = self.start_fetch(url);
        self.enqueue_scheduled();
        id
    }

    fn start_fetch(&mut self, url: &str) -> Result<FetchId, super::fetch::BadUrl> {
        let mut out = Vec::new();
        let id = self.fetch.fetch(url, self.now, &mut out);
        self.fetches.push((url.into(), id.as_ref().ok().copied()));
        self.fetch_outputs(out);
        self.pump();
        id
    }

    /// Runs every action due at or before `until` (driven on its own).
    pub fn run_until(&mut self, until: Instant) {
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > until {
                break;
            }
            let ((at, _), action) = entry.remove_entry();
            self.act(at, action);
            self.enqueue_scheduled();
        }
        self.now = self.now.max(until);
    }

    /// Carries out `action` at `now` (not before the node's current time) and delivers every
    /// packet it looped back; what it scheduled waits for [`LiteNode::take_scheduled`].
    pub fn act(&mut self, now: Instant, action: LiteAction) {
        self.now = self.now.max(now);
        match action {
            LiteAction::Start => {
                let mut out = Vec::new();
                self.dhcp.start(self.now, &mut out);
                self.dhcp_outputs(out);
            }
            LiteAction::ClientSend { to, payload } => {
                self.send_from_client(to, payload);
            }
            LiteAction::Fetch(url) => {
                let _ = self.start_fetch(&url);
            }
            LiteAction::DhcpOffer(lease) => {
                let mut out = Vec::new();
                self.dhcp.on_offer(lease, &mut out);
                self.dhcp_outputs(out);
            }
            LiteAction::DhcpTimer(attempt) => {
                let mut out = Vec::new();
                self.dhcp.on_timer(attempt, self.now, &mut out);
                self.dhcp_outputs(out);
            }
            LiteAction::FetchTimer(id, attempt) => {
                let mut out = Vec::new();
                self.fetch.on_timer(id, attempt, self.now, &mut out);
                self.fetch_outputs(out);
            }
        }
        self.pump();
    }

    /// The actions the last steps scheduled, in the order they were scheduled.
    pub fn take_scheduled(&mut self) -> impl Iterator<Item = (Instant, LiteAction)> + '_ {
        self.scheduled.drain(..)
    }

    /// The events recorded since the last call.
    pub fn take_recorded(&mut self) -> &[NetEvent] {
        let from = core::mem::replace(&mut self.taken, self.events.len());
        &self.events[from..]
    }

    /// Packets the netstack discarded (no listener, or refused on receive).
    pub fn discarded(&self) -> u64 {
        self.netstack.discarded
    }

    fn enqueue_scheduled(&mut self) {
        let scheduled: Vec<(Instant, LiteAction)> = self.scheduled.drain(..).collect();
        for (at, action) in scheduled {
            self.queue.insert((at, self.seq), action);
            self.seq += 1;
        }
    }

    /// The address the DHCP stub configured.
    pub fn address(&self) -> Option<Ipv4Cidr> {
        self.netstack.address()
    }

    pub fn dhcp(&self) -> &DhcpStub {
        &self.dhcp
    }

    pub fn ledger(&self) -> &ResourceLedger {
        &self.ledger
    }

    pub fn events(&self) -> &[NetEvent] {
        &self.events
    }

    pub fn rules(&self) -> &RuleLog {
        &self.rules
    }

    pub fn digest(&self) -> u64 {
        self.hash.value()
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    fn schedule(&mut self, at: Instant, action: LiteAction) {
        self.scheduled.push((at, action));
    }

    fn dhcp_outputs(&mut self, out: Vec<DhcpOutput>) {
        for o in out {
            match o {
                DhcpOutput::SendDiscover { .. } => {
                    if let Some((delay, lease)) = self.config.dhcp_offer {
                        self.schedule(self.now.after(crate::time::Duration(delay)), LiteAction::DhcpOffer(lease));
                    }
                }
                DhcpOutput::SetTimer { at, attempt } => self.schedule(at, LiteAction::DhcpTimer(attempt)),
                DhcpOutput::Configured { cidr, .. } => self.netstack.configure(cidr),
            }
        }
    }

    fn fetch_outputs(&mut self, out: Vec<FetchOutput>) {
        for o in out {
            match o {
                FetchOutput::Send(request) => {
                    self.netstack.handle(FETCHD, request, &mut self.ledger);
                }
                FetchOutput::SetTimer { at, id, attempt } => self.schedule(at, LiteAction::FetchTimer(id, attempt)),
                FetchOutput::Done { id, result } => {
                    self.fetch_results.insert(id, result);
                }
            }
        }
    }

    /// Delivers looped-back packets to the services until none is left.
    fn pump(&mut self) {
        loop {
            self.netstack.poll(&mut self.ledger);
            let mut progressed = false;
            while let Some(d) = self.recv(ECHOD, self.echo.socket()) {
                let reply = self.echo.on_datagram(d);
                self.netstack.handle(ECHOD, reply, &mut self.ledger);
                progressed = true;
            }
            while let Some(d) = self.recv(RESPONDER, self.responder_socket) {
                if let Some(reply) = self.responder.on_datagram(d) {
                    self.netstack.handle(RESPONDER, reply, &mut self.ledger);
                }
                progressed = true;
            }
            while let Some(d) = self.recv(FETCHD, self.fetch.socket()) {
                let mut out = Vec::new();
                self.fetch.on_datagram(&d, &mut out);
                self.fetch_outputs(out);
                progressed = true;
            }
            while let Some(d) = self.recv(CLIENT, self.client_socket) {
                self.client_received.push(d);
            }
            self.flush();
            if !progressed {
                return;
            }
        }
    }

    fn recv(&mut self, exec: ExecutionId, socket: SocketId) -> Option<Datagram> {
        match self.netstack.handle(exec, SocketRequest::Recv { socket }, &mut self.ledger) {
            SocketResponse::Datagram(d) => d,
            _ => None,
        }
    }

    fn flush(&mut self) {
        let mut batch: Vec<NetEvent> = self.netstack.take_events().into_iter().map(|event| NetEvent::Packet { node: NODE, event }).collect();
        for e in self.dhcp.take_events().into_iter().chain(self.echo.take_events()).chain(self.fetch.take_events()) {
            batch.push(NetEvent::Lite { node: NODE, event: e });
        }
        for e in batch {
            self.monitor.observe(&e, &mut self.rules);
            e.fold(&mut self.hash);
            self.events.push(e);
        }
    }
}
