//! The `reference` benchmark (see `benches::reference`): prints its tables and writes
//! `target/bench-results/reference.json`.
//!
//! `cargo bench -p benches --bench reference` (release); `PANDAGEN_BENCH_QUICK=1` for tiny sizes.

fn main() -> std::process::ExitCode {
    benches::main(benches::reference::run)
}
