//! The `scaling` benchmark (see `benches::scaling`): prints its tables and writes
//! `target/bench-results/scaling.json`.
//!
//! `cargo bench -p benches --bench scaling` (release); `PANDAGEN_BENCH_QUICK=1` for tiny sizes.

fn main() -> std::process::ExitCode {
    benches::main(benches::scaling::run)
}
