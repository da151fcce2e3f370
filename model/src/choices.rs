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
//!
//! A replay remembers the first recorded value that was out of range for its draw
//! ([`Choices::first_mismatch`]): such a value cannot have been recorded by a run, so a trace that
//! holds one was edited, and replay reports it instead of silently reducing it.

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
    first_mismatch: Option<ChoiceMismatch>,
    /// Replay only: the generator of the trace's seed, drawn in step with the list, to name the
    /// first recorded value its seed would not have given (see [`Choices::with_seed_shadow`]).
    shadow: Option<alloc::boxed::Box<ChaCha8Rng>>,
    first_seed_disagreement: Option<SeedDisagreement>,
}

/// The first replayed value that differs from what the trace's seed gives at that position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedDisagreement {
    pub position: u64,
    pub recorded: u64,
    pub seeded: u64,
}

/// A replayed value that a run could not have drawn: at or above the bound of its draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChoiceMismatch {
    /// Position of the value in the choice list (0-based).
    pub position: u64,
    /// The value in the list.
    pub recorded: u64,
    /// The bound of the draw it was used for (values are in `0..bound`).
    pub bound: u64,
}

const DIGEST_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const DIGEST_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Choices {
    /// Choices drawn from a generator seeded with `seed`.
    pub fn seeded(seed: u64) -> Self {
        Choices { source: Source::Seeded(alloc::boxed::Box::new(ChaCha8Rng::seed_from_u64(seed))), record: None, drawn: 0, digest: DIGEST_OFFSET, first_mismatch: None, shadow: None, first_seed_disagreement: None }
    }

    /// Choices read back from a recorded list.
    pub fn replaying(list: Vec<u64>) -> Self {
        Choices { source: Source::Replay { list, pos: 0 }, record: None, drawn: 0, digest: DIGEST_OFFSET, first_mismatch: None, shadow: None, first_seed_disagreement: None }
    }

    /// Replay only: also draw from the generator of `seed` in step with the list, remembering
    /// the first position where the list departs from it. For a trace recorded from that seed
    /// (not shrunk), that position is where the trace was edited.
    pub fn with_seed_shadow(mut self, seed: u64) -> Self {
        self.shadow = Some(alloc::boxed::Box::new(ChaCha8Rng::seed_from_u64(seed)));
        self
    }

    /// The first value that departs from the shadow seed (see [`Choices::with_seed_shadow`]).
    pub fn first_seed_disagreement(&self) -> Option<SeedDisagreement> {
        self.first_seed_disagreement
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
                if v >= bound && self.first_mismatch.is_none() {
                    self.first_mismatch = Some(ChoiceMismatch { position: *pos as u64, recorded: v, bound });
                }
                *pos += 1;
                v % bound
            }
        };
        if let Some(rng) = &mut self.shadow {
            let seeded = ((rng.next_u64() as u128 * bound as u128) >> 64) as u64;
            if seeded != value && self.first_seed_disagreement.is_none() {
                self.first_seed_disagreement = Some(SeedDisagreement { position: self.drawn, recorded: value, seeded });
            }
        }
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

    /// Starts recording (if not already on) from the next draw.
    pub fn record_from_now(&mut self) {
        if self.record.is_none() {
            self.record = Some(Vec::new());
        }
    }

    /// The values recorded so far (empty unless recording).
    pub fn recorded(&self) -> &[u64] {
        self.record.as_deref().unwrap_or(&[])
    }

    /// Forgets the values recorded so far (streaming recorders take them event by event).
    pub fn clear_recorded(&mut self) {
        if let Some(record) = &mut self.record {
            record.clear();
        }
    }

    /// Replay only: values of the list not drawn (yet).
    pub fn unread(&self) -> u64 {
        match &self.source {
            Source::Replay { list, pos } => list.len().saturating_sub(*pos) as u64,
            Source::Seeded(_) => 0,
        }
    }

    /// Replay only: the first out-of-range value met (see the module docs).
    pub fn first_mismatch(&self) -> Option<ChoiceMismatch> {
        self.first_mismatch
    }
}
