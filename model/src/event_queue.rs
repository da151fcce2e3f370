//! The event queue: events ordered by (virtual time, insertion sequence), the earliest first
//! (DESIGN.md, "A discrete-event loop").
//!
//! A binary heap of 32-byte entries: the key `(time << 64) | sequence` as one `u128` (one
//! comparison orders by time, then by insertion) and the event, a few ids. Keys are unique (the
//! sequence is), so the order is total and the queue is deterministic. (A radix heap, which a
//! monotone loop would allow, was measured slower on the reference workload: timers a millisecond
//! ahead move down through many buckets.)

use alloc::collections::BinaryHeap;
use core::cmp::Ordering;

/// `(time << 64) | sequence`.
type Key = u128;

struct Entry<T> {
    key: Key,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    /// Reversed, so the max-heap yields the smallest key first.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A priority queue of `T` keyed by `(time, sequence)`.
pub struct EventQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    next_seq: u64,
}

impl<T: Copy> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue { heap: BinaryHeap::new(), next_seq: 0 }
    }
}

impl<T: Copy> EventQueue<T> {
    /// Schedules `item` at virtual time `at`, after everything already scheduled for that time.
    #[inline]
    pub fn push(&mut self, at: u64, item: T) {
        let key = (Key::from(at) << 64) | Key::from(self.next_seq);
        self.next_seq += 1;
        self.heap.push(Entry { key, item });
    }

    /// The earliest event: `(time, item)`, without taking it.
    #[inline]
    pub fn peek(&mut self) -> Option<(u64, T)> {
        self.heap.peek().map(|e| ((e.key >> 64) as u64, e.item))
    }

    /// Takes the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, T)> {
        self.heap.pop().map(|e| ((e.key >> 64) as u64, e.item))
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = EventQueue::default();
        q.push(5, 'a');
        q.push(3, 'b');
        q.push(5, 'c');
        q.push(3, 'd');
        assert_eq!(q.peek(), Some((3, 'b')));
        let order: Vec<_> = core::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [(3, 'b'), (3, 'd'), (5, 'a'), (5, 'c')]);
        assert!(q.is_empty());
    }

    #[test]
    fn interleaved_pushes_match_a_sorted_reference() {
        // A deterministic pseudo-random schedule: each pop may push events at or after its time.
        let mut q = EventQueue::default();
        let mut reference: Vec<(u64, u64, u32)> = Vec::new();
        let (mut x, mut seq, mut now) = (12345u64, 0u64, 0u64);
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..2_000u32 {
            for _ in 0..(next() % 3) {
                let at = now + next() % 50;
                q.push(at, round);
                reference.push((at, seq, round));
                seq += 1;
            }
            reference.sort();
            let expected = if reference.is_empty() { None } else { Some(reference.remove(0)) };
            let got = q.pop();
            assert_eq!(got, expected.map(|(at, _, r)| (at, r)), "round {round}");
            if let Some((at, _)) = got {
                now = at;
            }
        }
        assert_eq!(q.len(), reference.len());
    }
}
