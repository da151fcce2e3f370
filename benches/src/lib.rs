//! The benchmarks of the PandaGen harness as library code, so each `benches/*.rs` target is a
//! one-line `main` and the smoke test (`tests/smoke.rs`) runs every one of them in quick mode.
//!
//! - [`harness`]: the mode (normal, or quick with `PANDAGEN_BENCH_QUICK=1`), where results go,
//!   printing and writing a result, medians and latency percentiles.
//! - [`ring`]: the reference workload's shape (echo servers and clients in a ring) as scenario
//!   text, in any size.
//! - [`minimal`]: the minimal hand-written discrete-event loop of the same workload, the physical
//!   reference.
//! - [`reference`], [`scaling`], [`recording`], [`throughput`], [`time_to_find`], [`network`]: one module per
//!   benchmark, each `run(&Mode) -> Result<BenchResult, String>`.

pub mod harness;
pub mod minimal;
pub mod network;
pub mod recording;
pub mod reference;
pub mod ring;
pub mod scaling;
pub mod throughput;
pub mod time_to_find;

pub use harness::{main, Mode};
