//! The physical reference: a minimal hand-written discrete-event loop of the ring workload, the
//! least a simulator of it must do. A binary heap of small entries ordered by (time, insertion
//! number), one seeded ChaCha8 generator, a `VecDeque` inbox per node, and the model's shape of a
//! request: a client sends, the server is woken after a random 0..=jitter ns, answers into the
//! client's inbox, the client is woken likewise; a message is dropped at send with the ring's
//! chance; a client that has no answer after its timeout sends again after the backoff, and a
//! stale timeout pops and does nothing. No invariants, no observations, no trace hash, no
//! capabilities: everything the model does beyond this is its overhead.

use crate::ring::Ring;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// The model's default scheduling jitter (`Limits::sched_jitter_ns`).
pub const JITTER_NS: u64 = 1_000;

/// What an event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A node drains its inbox.
    Wake,
    /// A client sends (its first attempt at a request, or a retry).
    Send,
    /// A client's attempt `token` timed out (stale if the client moved on).
    Timeout(u32),
}

/// A heap entry: 24 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    at: u64,
    seq: u64,
    node: u32,
    kind: Kind,
}

/// A message in an inbox: who sent it and the request number.
#[derive(Clone, Copy, Debug)]
struct Message {
    from: u32,
    seq: u32,
}

/// A client's progress.
#[derive(Clone, Copy, Debug, Default)]
struct Client {
    seq: u32,
    token: u32,
    awaiting: bool,
}

/// What a run of the loop counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub events: u64,
    pub messages_delivered: u64,
    pub messages_dropped: u64,
    pub requests_completed: u64,
    pub end_ns: u64,
}

struct Loop<'a> {
    ring: &'a Ring,
    heap: BinaryHeap<Reverse<Entry>>,
    next_seq: u64,
    now: u64,
    rng: ChaCha8Rng,
    inbox: Vec<VecDeque<Message>>,
    /// Whether a node already has a wake-up queued (a parked task is woken once).
    woken: Vec<bool>,
    clients: Vec<Client>,
    out: Outcome,
}

impl Loop<'_> {
    fn schedule(&mut self, at: u64, node: u32, kind: Kind) {
        self.heap.push(Reverse(Entry { at, seq: self.next_seq, node, kind }));
        self.next_seq += 1;
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n
    }

    /// Sends a message into `to`'s inbox, unless the drop rule takes it; wakes `to`.
    fn send(&mut self, to: u32, message: Message) {
        if self.below(1000) < u64::from(self.ring.drop_per_mille) {
            self.out.messages_dropped += 1;
            return;
        }
        self.inbox[to as usize].push_back(message);
        if !self.woken[to as usize] {
            self.woken[to as usize] = true;
            let at = self.now + self.below(JITTER_NS + 1);
            self.schedule(at, to, Kind::Wake);
        }
    }

    fn server_node(&self, client: usize) -> u32 {
        self.ring.service(client) as u32
    }

    fn client_node(&self, client: usize) -> u32 {
        (self.ring.servers + client) as u32
    }

    fn attempt(&mut self, client: usize) {
        let (seq, token) = {
            let c = &mut self.clients[client];
            c.token += 1;
            c.awaiting = true;
            (c.seq, c.token)
        };
        let (server, me) = (self.server_node(client), self.client_node(client));
        self.send(server, Message { from: me, seq });
        self.schedule(self.now + self.ring.timeout_ns, me, Kind::Timeout(token));
    }

    fn wake(&mut self, node: u32) {
        self.woken[node as usize] = false;
        while let Some(m) = self.inbox[node as usize].pop_front() {
            self.out.messages_delivered += 1;
            match (node as usize).checked_sub(self.ring.servers) {
                None => self.send(m.from, Message { from: node, seq: m.seq }),
                Some(client) => self.answered(client, m.seq),
            }
        }
    }

    fn answered(&mut self, client: usize, seq: u32) {
        let c = &mut self.clients[client];
        if !c.awaiting || seq != c.seq {
            return; // a late answer to an earlier attempt
        }
        c.awaiting = false;
        c.token += 1;
        c.seq += 1;
        self.out.requests_completed += 1;
        if c.seq < self.ring.requests {
            let at = self.now + self.ring.interval_ns;
            self.schedule(at, self.client_node(client), Kind::Send);
        }
    }

    fn timeout(&mut self, node: u32, token: u32) {
        let client = node as usize - self.ring.servers;
        let c = &mut self.clients[client];
        if c.awaiting && c.token == token {
            c.awaiting = false;
            self.schedule(self.now + self.ring.backoff_ns, node, Kind::Send);
        }
    }
}

/// Runs the ring workload (drop and timeouts; delays are not modelled) to completion or to
/// `max_time_ns`/`max_events`.
pub fn run(ring: &Ring) -> Outcome {
    let nodes = ring.servers + ring.clients;
    let mut l = Loop {
        ring,
        heap: BinaryHeap::with_capacity(4 * nodes),
        next_seq: 0,
        now: 0,
        rng: ChaCha8Rng::seed_from_u64(ring.seed),
        inbox: vec![VecDeque::new(); nodes],
        woken: vec![false; nodes],
        clients: vec![Client::default(); ring.clients],
        out: Outcome::default(),
    };
    for client in 0..ring.clients {
        if ring.requests > 0 {
            l.schedule(0, l.client_node(client), Kind::Send);
        }
    }
    while let Some(Reverse(e)) = l.heap.pop() {
        if e.at > ring.max_time_ns || l.out.events >= ring.max_events {
            break;
        }
        l.now = e.at;
        l.out.events += 1;
        match e.kind {
            Kind::Wake => l.wake(e.node),
            Kind::Send => l.attempt(e.node as usize - ring.servers),
            Kind::Timeout(token) => l.timeout(e.node, token),
        }
    }
    l.out.end_ns = l.now;
    l.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_is_answered_despite_drops() {
        let ring = Ring::reference_with(2_000);
        let out = run(&ring);
        assert_eq!(out.requests_completed, 16_000);
        assert!(out.messages_dropped > 300 && out.messages_dropped < 700, "{out:?}");
        // A request and its answer, plus the retries' messages.
        assert!(out.messages_delivered >= 32_000 && out.messages_delivered < 33_000, "{out:?}");
        // Virtual time: 2,000 requests a millisecond apart.
        assert!(out.end_ns > 2_000_000_000 && out.end_ns < 2_100_000_000, "{out:?}");
        assert_eq!(run(&ring), out, "deterministic");
    }

    #[test]
    fn without_drops_a_request_is_four_events() {
        let ring = Ring { drop_per_mille: 0, ..Ring::reference_with(100) };
        let out = run(&ring);
        // send, server wake, client wake, stale timeout
        assert_eq!(out.events, 4 * 100 * 8);
        assert_eq!(out.messages_delivered, 2 * 100 * 8);
    }
}
