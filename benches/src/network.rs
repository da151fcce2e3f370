//! The `network` benchmark: networked runs of the canonical path (seeds `000_*`/`001_*`) —
//! events per wall-clock second and simulated seconds per wall-clock second.
//!
//! Workloads: the two-node proof clean and under faults (`scenarios/net_two_node_exchange.ron`,
//! `scenarios/net_two_node_faults.ron`), the eight-node mesh under faults
//! (`scenarios/net_eight_node_mesh.ron`) and without them, and generated full meshes of 16 and 32
//! nodes with the eight-node mesh's fault plan (5% loss, 3% duplication, 10% reordering, jitter, a
//! healing split of the first third of the nodes, the last node crashing and restarting). Every
//! workload must pass: every node completes its exchange with every peer (the generated meshes run
//! 8 s of virtual time: with 32 nodes a handshake refused while the peer is not yet discovered
//! is retried a second later, and 6 s is not always enough).
//!
//! A run of these lasts milliseconds, so each round repeats a workload until it has run at
//! least `ROUND_S` of wall-clock time; the figure is the median round divided by its repetitions.

use crate::harness::{median, workspace_root, Mode};
use model::{RunConfig, Scenario};
use reports::results::{BenchResult, Figures, NetWorkload, Network};
use std::time::Instant;

/// The least wall-clock time of one timed round.
const ROUND_S: f64 = 0.25;

/// A workload, ready to run.
struct Workload {
    name: String,
    scenario: Scenario,
}

fn file(name: &str) -> Result<Scenario, String> {
    let path = workspace_root().join("scenarios").join(format!("{name}.ron"));
    scenarios::load_scenario(&path).map_err(|e| e.to_string())
}

/// The eight-node mesh without its fault plan.
fn clean_mesh() -> Result<Scenario, String> {
    let mut s = file("net_eight_node_mesh")?;
    let net = s.network.as_mut().ok_or("net_eight_node_mesh has no network")?;
    net.faults = Default::default();
    s.expect.network.retain(|e| !format!("{e:?}").contains("Restarts"));
    Ok(s)
}

/// A full mesh of `n` nodes with the eight-node mesh's faults, as scenario text.
fn mesh_text(n: usize) -> String {
    let nodes: String = (0..n).map(|i| format!("(name: \"n{i}\", address: \"10.0.{}.{}\", device: {}),\n", i / 250, i % 250 + 1, 100 + i)).collect();
    let side: Vec<String> = (0..n / 3).map(|i| i.to_string()).collect();
    let mut expect: String = (0..n).map(|i| format!("(\"n{i}\", CompleteExchanges, Exactly({})),\n", n - 1)).collect();
    expect += &format!("(\"n{}\", Restarts, Exactly(1)),\n", n - 1);
    format!(
        "(name: \"net_mesh_{n}\", seed: {n}, limits: (max_time_ns: 8_000_000_000),
        network: Some((nodes: [{nodes}], mesh: Some((latency_ns: 1_000_000, jitter_ns: 300_000)),
            app: (messages_per_peer: 8, streams: 2),
            faults: (link_faults: [
                (fault: Drop, when: Chance(per_mille: 50)),
                (fault: Duplicate(gap_ns: 200_000), when: Chance(per_mille: 30)),
                (fault: Reorder(window_ns: 2_000_000), when: Chance(per_mille: 100)),
                (fault: Partition, on: Split(side: [{}]), when: Window(from_ns: 200_000_000, until_ns: 700_000_000)),
            ], node_faults: [(node: {}, crash_at_ns: 1_000_000, restart_at_ns: Some(300_000_000))]))),
        expect: (verdict: Pass, network: [{expect}]))",
        side.join(", "),
        n - 1
    )
}

fn mesh(n: usize) -> Result<Scenario, String> {
    scenarios::parse_scenario(&mesh_text(n), &format!("<{n}-node mesh>")).map_err(|e| e.to_string())
}

fn workloads(mode: &Mode) -> Result<Vec<Workload>, String> {
    let w = |name: &str, scenario: Scenario| Workload { name: name.to_string(), scenario };
    let mut out = vec![
        w("two nodes", file("net_two_node_exchange")?),
        w("two nodes, faults", file("net_two_node_faults")?),
        w("8-node mesh", clean_mesh()?),
        w("8-node mesh, faults", file("net_eight_node_mesh")?),
    ];
    if !mode.quick {
        out.push(w("16-node mesh, faults", mesh(16)?));
        out.push(w("32-node mesh, faults", mesh(32)?));
    }
    Ok(out)
}

/// One run: `(events, virtual seconds)`, or why the workload does not pass.
fn run_once(w: &Workload) -> Result<(u64, f64), String> {
    let report = model::run(&w.scenario, &RunConfig::seeded(w.scenario.seed));
    if let Some(v) = report.first_violation() {
        return Err(format!("{}: a violation in a benchmark run: {}", w.name, v.signature()));
    }
    if !report.passed() {
        return Err(format!("{}: expectations not met", w.name));
    }
    Ok((report.stats.events, report.end_time.0 as f64 / 1e9))
}

/// Runs the benchmark.
pub fn run(mode: &Mode) -> Result<BenchResult, String> {
    let loads = workloads(mode)?;
    let rounds = mode.pick(5, 1);
    // Calibrate: how many runs make a round of at least ROUND_S.
    let mut reps = Vec::new();
    let mut shapes = Vec::new();
    for w in &loads {
        let start = Instant::now();
        shapes.push(run_once(w)?);
        let one = start.elapsed().as_secs_f64().max(1e-6);
        reps.push(if mode.quick { 1 } else { ((ROUND_S / one).ceil() as u32).max(1) });
    }
    let mut walls = vec![Vec::new(); loads.len()];
    for round in 1..=rounds {
        eprintln!("network: round {round}/{rounds}");
        for (i, w) in loads.iter().enumerate() {
            let start = Instant::now();
            for _ in 0..reps[i] {
                run_once(w)?;
            }
            walls[i].push(start.elapsed().as_secs_f64() / reps[i] as f64);
        }
    }
    let workloads = loads
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let (events, virtual_s) = shapes[i];
            let wall_s = median(&walls[i]).max(1e-12);
            let net = w.scenario.network.as_ref();
            let faults = net.is_some_and(|n| !n.faults.link_faults.is_empty() || !n.faults.node_faults.is_empty());
            NetWorkload { name: w.name.clone(), nodes: net.map_or(0, |n| n.nodes.len()), faults, events, virtual_s, repetitions: reps[i], wall_s, events_per_s: events as f64 / wall_s, virtual_per_wall: virtual_s / wall_s }
        })
        .collect();
    let mut result = BenchResult::new("network", mode.quick, Figures::Network(Network { workloads }));
    result.notes.push(format!("Median of {rounds} interleaved rounds; each round repeats a workload until it has run at least {ROUND_S} s, and the figure is per run. Every run passes its expectations (every node completes its exchange with every peer)."));
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_meshes_parse_and_pass() {
        let w = Workload { name: "mesh 5".into(), scenario: mesh(5).expect("parses") };
        let (events, virtual_s) = run_once(&w).expect("passes");
        assert!(events > 100 && virtual_s > 0.0);
    }
}
