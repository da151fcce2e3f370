//! Every build compiles shared dependencies alike: for each tool's package, every dependency it
//! builds (`cargo run --bin <tool>`) has exactly the features it has in the workspace's test build
//! (`cargo test --workspace`, dev-dependencies included), which is also a superset of `cargo
//! build`. Otherwise the second of two builds recompiles that dependency and everything above it.
//! A failure names the dependency and the features to add to `workspace-hack/Cargo.toml`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The packages with binaries a user runs, and the workspace itself.
const TOOLS: [&str; 7] = ["scenarios", "replay", "shrinker", "campaign", "kernel_bare_runner", "reports", "benches"];

/// `package version` → its features, for one `cargo tree` selection.
fn features(selection: &[&str], edges: &str) -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| String::from("cargo"));
    let out = Command::new(cargo)
        .current_dir(&root)
        .args(["tree", "--offline", "--prefix", "none", "-e", edges, "-f", "{p}|{f}"])
        .args(selection)
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree {selection:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.trim_end_matches(" (*)").split_once('|'))
        .map(|(package, features)| (package.split(" (").next().unwrap_or(package).to_string(), features.trim().to_string()))
        .collect()
}

#[test]
fn every_tool_builds_its_dependencies_with_the_workspace_features() {
    let workspace = features(&["--workspace"], "normal,build,dev");
    let mut differences = Vec::new();
    for tool in TOOLS {
        for (package, wanted) in features(&["-p", tool], "normal,build") {
            match workspace.get(&package) {
                Some(have) if *have == wanted => {}
                Some(have) => differences.push(format!("{package}: `cargo run` of {tool} builds it with [{wanted}], `cargo test --workspace` with [{have}]")),
                None => differences.push(format!("{package}: built for {tool} but not in the workspace build")),
            }
        }
    }
    let workspace_bins = features(&["--workspace"], "normal,build");
    for (package, wanted) in workspace_bins {
        if workspace.get(&package).is_some_and(|have| *have != wanted) {
            differences.push(format!("{package}: `cargo build` builds it with [{wanted}], `cargo test --workspace` with [{}]", workspace[&package]));
        }
    }
    differences.sort();
    differences.dedup();
    assert!(differences.is_empty(), "add these features to workspace-hack/Cargo.toml:\n{}", differences.join("\n"));
}
