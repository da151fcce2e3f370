//! The `throughput` benchmark (see `benches::throughput`): prints its tables and writes
//! `target/bench-results/throughput.json`.
//!
//! `cargo bench -p benches --bench throughput` (release); `PANDAGEN_BENCH_QUICK=1` for tiny sizes.

fn main() -> std::process::ExitCode {
    benches::main(benches::throughput::run)
}
