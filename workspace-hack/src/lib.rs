//! No code. This crate's dependencies are the shared dependencies of the workspace's tools, with
//! every feature that some build of the workspace turns on for them (the "workspace hack"
//! pattern). Cargo resolves features per build — `cargo test --workspace` adds the tests'
//! dev-dependencies, `cargo run --bin scenario` sees only the `scenarios` package — and a
//! dependency compiled with other features is compiled again, with everything above it. Because
//! every tool depends on this crate (through `replay`), every build asks for the same features, so
//! `cargo build`, `cargo test --workspace` and `cargo run --bin <any tool>` reuse each other's
//! artifacts. `tests/features.rs` checks it and names what to add when a new dependency breaks it.
