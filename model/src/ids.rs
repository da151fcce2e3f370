//! Identifiers of kernel objects (interface reference `002_*`, "Kernel API", "Capability System",
//! "Execution Identity").
//!
//! Every id is a plain integer handed out by a counter in the kernel, never random and never
//! reused: `TaskId`, `ChannelId`, `MessageId`, `CapId` and `ExecutionId` all grow monotonically.
//! The seed uses UUID v4 for `ExecutionId`; the harness uses a counter instead because ids must be
//! a deterministic function of the run (DESIGN.md, "Determinism is a contract").

use core::fmt;
use serde::{Deserialize, Serialize};

macro_rules! counter_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub u64);

        impl $name {
            /// The id as an index into the kernel's arena of these objects.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

counter_id!(
    /// A task, unique for the whole run (task ids are never reused).
    TaskId, "task#"
);
counter_id!(
    /// A bidirectional message channel.
    ChannelId, "chan#"
);
counter_id!(
    /// A message envelope; ids grow in send order, so per-channel FIFO order is id order.
    MessageId, "msg#"
);
counter_id!(
    /// A capability in the authority table. Only the kernel mints them.
    CapId, "cap#"
);
counter_id!(
    /// An execution identity; never reused, even after the task terminates.
    ExecutionId, "exec#"
);

/// Monotonic counter that mints ids of one kind.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IdCounter {
    next: u64,
}

impl IdCounter {
    /// Returns the next value and advances the counter.
    pub fn mint(&mut self) -> u64 {
        let value = self.next;
        self.next += 1;
        value
    }

    /// How many ids have been minted so far (the next id to be handed out).
    pub fn minted(&self) -> u64 {
        self.next
    }
}
