//! The trace hash: a running 64-bit FNV-1a hash over every event, its observations and the
//! digest of the random choices drawn so far, fed by
//! their canonical `postcard` encoding (a stable, documented wire format), so it is the same on
//! every host and in `kernel_bare`. No pointer, no `Hash` impl of the standard library, no wall
//! clock goes in. The hash after each event is that event's digest, which traces record and replay
//! compares to find the first divergence.

use postcard::ser_flavors::Flavor;
use serde::Serialize;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A running FNV-1a hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHasher {
    state: u64,
}

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher { state: FNV_OFFSET }
    }
}

/// A postcard flavor that hashes bytes instead of storing them (no allocation).
struct HashingFlavor<'a> {
    state: &'a mut u64,
}

impl Flavor for HashingFlavor<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        *self.state = (*self.state ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

impl TraceHasher {
    /// Folds a value's canonical encoding into the hash.
    pub fn feed<T: Serialize + ?Sized>(&mut self, value: &T) {
        // Encoding into a hashing flavor cannot fail for the model's types (no maps of unknown
        // length, no custom errors); a failure would only lose bytes, never panic.
        let _ = postcard::serialize_with_flavor(value, HashingFlavor { state: &mut self.state });
    }

    /// The hash so far.
    pub fn value(&self) -> u64 {
        self.state
    }
}
