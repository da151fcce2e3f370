//! The run's only source of randomness (DESIGN.md, "Choices, not seeds, are the unit of
//! shrinking").
//!
//! Every random decision the model takes is one call to [`Choices::below`] (or a helper built on
//! it). When exploring, the values come from a `ChaCha8` generator seeded with the run's seed; the
//! values drawn can be recorded. When replaying or shrinking, they come from a recorded list, so a
//! run is exactly `(scenario, choice list)`.
//!
//! Replay rules (so a shrinker or a fuzzer may supply any list): a value at or above the bound is
//! taken modulo the bound (recorded values are always below it, so replay is exact, and a fuzzer's
//! arbitrary words become uniform decisions); once the list is exhausted every draw returns 0, the
//! simplest choice.
//! A draw with `bound <= 1` has only one answer and consumes nothing.

use alloc::vec::Vec;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

#[derive(Clone, Debug)]
enum Source {
    Seeded(alloc::boxed::Box<ChaCha8Rng>),
    Replay { list: Vec<u64>, pos: usize },
}

/// The stream of random decisions of one run.
#[derive(Clone, Debug)]
pub struct Choices {
    source: Source,
    record: Option<Vec<u64>>,
    drawn: u64,
    /// Running FNV-1a digest of every value drawn (folded into each event's trace digest, so a
    /// replay with an edited choice diverges exactly at the event that drew it).
    digest: u64,
}

const DIGEST_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const DIGEST_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Choices {
    /// Choices drawn from a generator seeded with `seed`.
    pub fn seeded(seed: u64) -> Self {
        Choices { source: Source::Seeded(alloc::boxed::Box::new(ChaCha8Rng::seed_from_u64(seed))), record: None, drawn: 0, digest: DIGEST_OFFSET }
    }

    /// Choices read back from a recorded list.
    pub fn replaying(list: Vec<u64>) -> Self {
        Choices { source: Source::Replay { list, pos: 0 }, record: None, drawn: 0, digest: DIGEST_OFFSET }
    }

    /// Also keep every value drawn, so the run can be written as a trace.
    pub fn recording(mut self) -> Self {
        self.record = Some(Vec::new());
        self
    }

    /// A value in `[0, bound)`; 0 when `bound <= 1`.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        let value = match &mut self.source {
            // Lemire's multiply-shift: unbiased enough for simulation and identical everywhere.
            Source::Seeded(rng) => ((rng.next_u64() as u128 * bound as u128) >> 64) as u64,
            Source::Replay { list, pos } => {
                let v = list.get(*pos).copied().unwrap_or(0);
                *pos += 1;
                v % bound
            }
        };
        self.drawn += 1;
        self.digest = (self.digest ^ value).wrapping_mul(DIGEST_PRIME);
        if let Some(record) = &mut self.record {
            record.push(value);
        }
        value
    }

    /// True with probability `per_mille / 1000`. A drawn 0 means "no": the simplest choice is
    /// the one where nothing unusual happens.
    pub fn chance(&mut self, per_mille: u16) -> bool {
        match per_mille {
            0 => false,
            p if p >= 1000 => true,
            p => self.below(1000) >= 1000 - u64::from(p),
        }
    }

    /// An index into a collection of `len` items (0 when empty).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Digest of every value drawn so far.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// How many values have been drawn.
    pub fn drawn(&self) -> u64 {
        self.drawn
    }

    /// The recorded values, if recording was on.
    pub fn take_record(&mut self) -> Option<Vec<u64>> {
        self.record.take()
    }
}
