//! The simulated PandaGen system: kernel, capabilities, identity, supervision, faults, the
//! discrete-event loop, the invariants and the trace hash.
//!
//! `#![no_std]` + `alloc` and free of `unsafe`, so the same code runs on the host and inside
//! `kernel_bare`. The only randomness is [`choices::Choices`]; the only clock is the event loop's
//! virtual time; collections that are iterated are ordered (`BTreeMap`, vectors indexed by
//! counter ids), never hashed.
//!
//! Entry point: [`run`] a validated [`Scenario`] with a [`RunConfig`] and get a [`RunReport`].
//!
//! The authority and resource modules — [`policy`], [`derivation`], [`budget`],
//! [`cancellation`], [`pipeline`], [`storage`] (with [`rule_check`] for their invariant
//! checkers) — are driven by the kernel and the event loop. [`net`] (the networking of seeds
//! `000_*` and `001_*`: packet service, network, reliable stream, the canonical and the bring-up
//! lite paths, behind the mutually exclusive features `net-canonical` and `net-bringup-lite`) and
//! the interactive modules [`input`], [`focus`], [`workspace`] and [`editor`] are pure domain
//! layers with their own checkers; runs drive them through a scenario's `network` (the canonical
//! path; `engine/net.rs`) and its `workspace` (`engine/interactive.rs`).

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
// The `arbitrary` derive names `std`; the feature is for host-side fuzzing only, so the default
// build (the one `kernel_bare` links) stays free of `std`.
#[cfg(feature = "arbitrary")]
extern crate std;

pub mod behaviour;
pub mod budget;
pub mod bugs;
pub mod cancellation;
pub mod capability;
pub mod choices;
pub mod depth_limit;
pub mod derivation;
pub mod editor;
pub mod engine;
pub mod error;
pub mod event_queue;
pub mod expect;
pub mod fault;
pub mod focus;
pub mod generate;
pub mod identity;
pub mod ids;
pub mod input;
pub mod invariants;
pub mod kernel;
pub mod lifecycle;
pub mod message;
pub mod names;
pub mod net;
pub mod observation;
pub mod pipeline;
pub mod policy;
pub mod pattern;
pub mod report;
pub mod rule_check;
pub mod scenario;
pub mod stats;
pub mod storage;
pub mod time;
pub mod trace;
pub mod trace_hash;
pub mod watch;
pub mod workload;
pub mod workspace;

pub use engine::{run, EventSink, EventSummary, RunConfig, Simulation};
pub use report::RunReport;
pub use scenario::Scenario;
