//! The `network` benchmark (see `benches::network`): prints its table and writes
//! `target/bench-results/network.json`.
//!
//! `cargo bench -p benches --bench network` (release); `PANDAGEN_BENCH_QUICK=1` for the small set.

fn main() -> std::process::ExitCode {
    benches::main(benches::network::run)
}
