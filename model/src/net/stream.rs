//! The reliable stream over lossy packets (seed `001_*`: DSoftBus sessions run over "TCP
//! sessions", RFC-0007; the issue: "a reliable stream built on lossy packets (sequence numbers,
//! acknowledgements, retransmission on virtual-time timeouts, a bounded window)").
//!
//! A [`StreamSender`] and a [`StreamReceiver`] are pure state machines, one per direction of a
//! connection. The sender numbers payloads from 0, keeps at most `window` of them unacknowledged,
//! retransmits on a timeout of virtual time, and fails after `max_retransmits` timeouts in a row
//! without progress. The receiver hands payloads to the application in sequence order, each
//! exactly once, whatever the wire did (loss, duplication, reordering, delay): it keeps segments
//! that arrive early (within its window), drops those it already delivered or that lie beyond its
//! window, and answers every segment with a cumulative acknowledgement (the next sequence number
//! it expects).
//!
//! Choices where the seeds are silent:
//! - sequence numbers are 64-bit and never wrap in a run;
//! - one retransmission timer per sender, armed at `now + rto` when a segment goes out with none
//!   running and re-armed on every acknowledgement that makes progress; on expiry the sender
//!   retransmits every unacknowledged segment (go-back-N; the receiver's buffer drops the copies it
//!   has) and doubles `rto` up to `max_rto_ns`; progress resets `rto` to its initial value;
//! - a timer is identified by a generation number: a firing whose generation is not the current
//!   one is stale and ignored (the event loop need not cancel timers);
//! - an acknowledgement at or below the oldest unacknowledged number, or above the next number to
//!   send, changes nothing;
//! - the application's queue before the window is bounded (`max_pending`; `WouldBlock` beyond).

use crate::bugs::{BugSet, PlantedBug};
use crate::time::{Duration, Instant};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// The stream's parameters (both ends of a connection use the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// The most unacknowledged segments in flight (and the receiver's buffer).
    pub window: u32,
    pub initial_rto_ns: u64,
    pub max_rto_ns: u64,
    /// Timeouts in a row without progress before the stream fails.
    pub max_retransmits: u32,
    /// Payloads the application may queue beyond the window.
    pub max_pending: u32,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig { window: 8, initial_rto_ns: Duration::from_millis(200).0, max_rto_ns: Duration::from_millis(1600).0, max_retransmits: 8, max_pending: 1024 }
    }
}

/// What the sender asks of its surroundings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SenderOutput {
    /// Put this segment on the wire.
    Transmit { seq: u64, payload: Vec<u8>, retransmission: bool },
    /// Call [`StreamSender::on_timer`] with `generation` at `at`.
    SetTimer { at: Instant, generation: u64 },
    /// The stream gave up: the peer did not acknowledge anything for `max_retransmits` timeouts.
    Failed,
}

/// Why the application could not send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamError {
    /// The queue before the window is full.
    WouldBlock,
    /// The stream failed.
    Failed,
}

/// The sending end.
#[derive(Clone, Debug)]
pub struct StreamSender {
    config: StreamConfig,
    /// The oldest unacknowledged sequence number.
    base: u64,
    /// Payloads `base..base + unacked.len()`.
    unacked: VecDeque<Vec<u8>>,
    pending: VecDeque<Vec<u8>>,
    rto_ns: u64,
    timeouts: u32,
    /// The running timer's generation.
    timer: Option<u64>,
    generation: u64,
    failed: bool,
    /// Segments retransmitted so far.
    pub retransmissions: u64,
}

impl StreamSender {
    pub fn new(config: StreamConfig) -> Self {
        StreamSender { config, base: 0, unacked: VecDeque::new(), pending: VecDeque::new(), rto_ns: config.initial_rto_ns, timeouts: 0, timer: None, generation: 0, failed: false, retransmissions: 0 }
    }

    /// Queues a payload; sends it at once if the window has room.
    pub fn send(&mut self, payload: Vec<u8>, now: Instant, out: &mut Vec<SenderOutput>) -> Result<(), StreamError> {
        if self.failed {
            return Err(StreamError::Failed);
        }
        if self.pending.len() >= self.config.max_pending as usize {
            return Err(StreamError::WouldBlock);
        }
        self.pending.push_back(payload);
        self.fill(now, out);
        Ok(())
    }

    /// A cumulative acknowledgement: the receiver expects `next_expected` next.
    pub fn on_ack(&mut self, next_expected: u64, now: Instant, out: &mut Vec<SenderOutput>) {
        let top = self.next_seq();
        if self.failed || next_expected <= self.base || next_expected > top {
            return;
        }
        let acked = (next_expected - self.base) as usize;
        self.unacked.drain(..acked);
        self.base = next_expected;
        self.timeouts = 0;
        self.rto_ns = self.config.initial_rto_ns;
        self.timer = None;
        if !self.unacked.is_empty() {
            self.arm(now, out);
        }
        self.fill(now, out);
    }

    /// The timer of `generation` fired.
    pub fn on_timer(&mut self, generation: u64, now: Instant, out: &mut Vec<SenderOutput>) {
        if self.failed || self.timer != Some(generation) {
            return;
        }
        self.timer = None;
        self.timeouts += 1;
        if self.timeouts > self.config.max_retransmits {
            self.failed = true;
            out.push(SenderOutput::Failed);
            return;
        }
        self.rto_ns = self.rto_ns.saturating_mul(2).min(self.config.max_rto_ns);
        for (i, payload) in self.unacked.iter().enumerate() {
            out.push(SenderOutput::Transmit { seq: self.base + i as u64, payload: payload.clone(), retransmission: true });
        }
        self.retransmissions += self.unacked.len() as u64;
        self.arm(now, out);
    }

    /// The next sequence number to be given to a new payload.
    pub fn next_seq(&self) -> u64 {
        self.base + self.unacked.len() as u64
    }

    /// The oldest unacknowledged sequence number.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Segments sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.unacked.len()
    }

    /// Payloads waiting for room in the window.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Payloads the peer has not acknowledged (in flight or waiting).
    pub fn undelivered(&self) -> u64 {
        (self.unacked.len() + self.pending.len()) as u64
    }

    /// Whether everything sent was acknowledged.
    pub fn is_idle(&self) -> bool {
        self.unacked.is_empty() && self.pending.is_empty()
    }

    pub fn has_failed(&self) -> bool {
        self.failed
    }

    fn fill(&mut self, now: Instant, out: &mut Vec<SenderOutput>) {
        while self.unacked.len() < self.config.window as usize {
            let Some(payload) = self.pending.pop_front() else { break };
            out.push(SenderOutput::Transmit { seq: self.next_seq(), payload: payload.clone(), retransmission: false });
            self.unacked.push_back(payload);
        }
        if self.timer.is_none() && !self.unacked.is_empty() {
            self.arm(now, out);
        }
    }

    fn arm(&mut self, now: Instant, out: &mut Vec<SenderOutput>) {
        self.generation += 1;
        self.timer = Some(self.generation);
        out.push(SenderOutput::SetTimer { at: now.after(Duration(self.rto_ns)), generation: self.generation });
    }
}

/// What the receiver asks of its surroundings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiverOutput {
    /// Hand this payload to the application.
    Deliver { seq: u64, payload: Vec<u8> },
    /// Send this cumulative acknowledgement.
    Ack { next_expected: u64 },
}

/// The receiving end.
#[derive(Clone, Debug)]
pub struct StreamReceiver {
    window: u32,
    next_expected: u64,
    buffer: BTreeMap<u64, Vec<u8>>,
    bugs: BugSet,
    /// Segments dropped as already delivered or beyond the window.
    pub duplicates: u64,
}

impl StreamReceiver {
    pub fn new(config: StreamConfig) -> Self {
        Self::with_bugs(config, BugSet::default())
    }

    pub fn with_bugs(config: StreamConfig, bugs: BugSet) -> Self {
        StreamReceiver { window: config.window.max(1), next_expected: 0, buffer: BTreeMap::new(), bugs, duplicates: 0 }
    }

    /// A segment arrived.
    pub fn on_segment(&mut self, seq: u64, payload: Vec<u8>, out: &mut Vec<ReceiverOutput>) {
        if seq < self.next_expected {
            self.duplicates += 1;
            if self.bugs.has(PlantedBug::RetransmissionDeliveredTwice) {
                out.push(ReceiverOutput::Deliver { seq, payload });
            }
        } else if seq >= self.next_expected.saturating_add(u64::from(self.window)) {
            self.duplicates += 1;
        } else {
            self.buffer.entry(seq).or_insert(payload);
            while let Some(p) = self.buffer.remove(&self.next_expected) {
                out.push(ReceiverOutput::Deliver { seq: self.next_expected, payload: p });
                self.next_expected += 1;
            }
        }
        out.push(ReceiverOutput::Ack { next_expected: self.next_expected });
    }

    /// The next sequence number the application will get.
    pub fn next_expected(&self) -> u64 {
        self.next_expected
    }

    /// Segments kept for later (arrived early).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn cfg() -> StreamConfig {
        StreamConfig { window: 2, initial_rto_ns: 100, max_rto_ns: 400, max_retransmits: 2, max_pending: 3 }
    }

    #[test]
    fn the_window_bounds_what_is_in_flight_and_acks_slide_it() {
        let mut s = StreamSender::new(cfg());
        let mut out = Vec::new();
        for i in 0..3u8 {
            s.send(vec![i], Instant(0), &mut out).unwrap();
        }
        assert_eq!(s.in_flight(), 2);
        assert_eq!(s.pending(), 1);
        assert_eq!(out.iter().filter(|o| matches!(o, SenderOutput::Transmit { .. })).count(), 2);
        assert_eq!(out.iter().filter(|o| matches!(o, SenderOutput::SetTimer { .. })).count(), 1);
        for i in 3..5u8 {
            s.send(vec![i], Instant(0), &mut out).unwrap();
        }
        assert_eq!(s.send(vec![9], Instant(0), &mut out), Err(StreamError::WouldBlock));
        out.clear();
        s.on_ack(1, Instant(10), &mut out);
        assert_eq!(out, vec![SenderOutput::SetTimer { at: Instant(110), generation: 2 }, SenderOutput::Transmit { seq: 2, payload: vec![2], retransmission: false }]);
        out.clear();
        s.on_ack(1, Instant(11), &mut out);
        s.on_ack(99, Instant(11), &mut out);
        assert!(out.is_empty(), "old and impossible acks change nothing");
    }

    #[test]
    fn timeouts_retransmit_back_off_and_finally_fail() {
        let mut s = StreamSender::new(cfg());
        let mut out = Vec::new();
        s.send(vec![1], Instant(0), &mut out).unwrap();
        out.clear();
        s.on_timer(0, Instant(100), &mut out);
        assert!(out.is_empty(), "a stale generation is ignored");
        s.on_timer(1, Instant(100), &mut out);
        assert_eq!(out, vec![SenderOutput::Transmit { seq: 0, payload: vec![1], retransmission: true }, SenderOutput::SetTimer { at: Instant(300), generation: 2 }]);
        out.clear();
        s.on_timer(2, Instant(300), &mut out);
        assert_eq!(out[1], SenderOutput::SetTimer { at: Instant(700), generation: 3 });
        out.clear();
        s.on_timer(3, Instant(700), &mut out);
        assert_eq!(out, vec![SenderOutput::Failed]);
        assert_eq!(s.send(vec![2], Instant(701), &mut out), Err(StreamError::Failed));
    }

    #[test]
    fn the_receiver_delivers_in_order_once_and_acks_cumulatively() {
        let mut r = StreamReceiver::new(StreamConfig { window: 3, ..cfg() });
        let mut out = Vec::new();
        r.on_segment(1, vec![1], &mut out);
        r.on_segment(3, vec![3], &mut out);
        assert_eq!(out, vec![ReceiverOutput::Ack { next_expected: 0 }, ReceiverOutput::Ack { next_expected: 0 }], "3 is beyond the window");
        out.clear();
        r.on_segment(0, vec![0], &mut out);
        r.on_segment(0, vec![0], &mut out);
        r.on_segment(1, vec![1], &mut out);
        assert_eq!(
            out,
            vec![
                ReceiverOutput::Deliver { seq: 0, payload: vec![0] },
                ReceiverOutput::Deliver { seq: 1, payload: vec![1] },
                ReceiverOutput::Ack { next_expected: 2 },
                ReceiverOutput::Ack { next_expected: 2 },
                ReceiverOutput::Ack { next_expected: 2 },
            ]
        );
        assert_eq!(r.duplicates, 3);
    }
}
