//! Cost per event as the workload grows, on generated ring scenarios ([`crate::ring`]):
//!
//! - **tasks** 8 → 1,024: half echo servers, half clients, the reference's per-client rate, the
//!   same total number of requests at every size (so each size runs about as many events);
//! - **messages in flight** 10 → 100,000: 4 servers and 4 clients, every message delayed by `D`,
//!   clients that time out after 2 µs and send again, so each client keeps about `2D / period`
//!   messages in flight; the run lasts long enough for the delays to fill up, and the in-flight
//!   count observed is `messages delayed × D / virtual time` (Little's law).
//!
//! Each size runs `rounds` times, interleaved with the other sizes; the figure is the median.
//! Targets: at 1,024 tasks at most 1.3× the cost per event at 8; at 100,000 messages in flight at
//! most 1.5× the cost at 10.

use crate::harness::{median, Mode};
use crate::ring::Ring;
use model::{RunConfig, Scenario};
use reports::results::{BenchResult, Check, Figures, Scaling, ScalingPoint, ScalingSeries, Target};
use std::time::Instant;

/// Timeout and backoff of the in-flight workload's clients, and their mean attempt period
/// (timeout, backoff and the mean scheduling jitter of 500 ns).
const FLIGHT_TIMEOUT_NS: u64 = 2_000;
const FLIGHT_BACKOFF_NS: u64 = 500;
const FLIGHT_PERIOD_NS: u64 = 3_000;
const FLIGHT_CLIENTS: usize = 4;

/// A workload of one size, ready to run.
struct Size {
    size: u64,
    scenario: Scenario,
    /// The delay every message suffers (in-flight sizes).
    delay_ns: Option<u64>,
}

fn tasks_size(tasks: usize, total_requests: u32) -> Result<Size, String> {
    let half = tasks / 2;
    let ring = Ring { name: format!("tasks-{tasks}"), servers: half, clients: half, requests: (total_requests / half as u32).max(1), ..Ring::reference() };
    Ok(Size { size: tasks as u64, scenario: ring.scenario()?, delay_ns: None })
}

/// `in_flight` messages: `2 × clients × D / period = in_flight`.
fn flight_size(in_flight: u64, events: u64) -> Result<Size, String> {
    let delay = (in_flight * FLIGHT_PERIOD_NS / (2 * FLIGHT_CLIENTS as u64)).max(1);
    // About six events per attempt; at least twenty delays long so the pipeline is full most of the run.
    let per_ns = 6.0 * FLIGHT_CLIENTS as f64 / FLIGHT_PERIOD_NS as f64;
    let duration = ((events as f64 / per_ns) as u64).max(20 * delay);
    let ring = Ring {
        name: format!("in-flight-{in_flight}"),
        servers: FLIGHT_CLIENTS,
        clients: FLIGHT_CLIENTS,
        requests: u32::MAX,
        timeout_ns: FLIGHT_TIMEOUT_NS,
        backoff_ns: FLIGHT_BACKOFF_NS,
        interval_ns: 0,
        retries: u32::MAX,
        delay_ns: Some(delay),
        max_time_ns: duration,
        max_events: u64::MAX / 2,
        expect_all: false,
        ..Ring::reference()
    };
    Ok(Size { size: in_flight, scenario: ring.scenario()?, delay_ns: Some(delay) })
}

/// One timed run: `(events, wall seconds, messages in flight observed)`.
fn measure(size: &Size) -> Result<(u64, f64, Option<f64>), String> {
    let start = Instant::now();
    let report = model::run(&size.scenario, &RunConfig::seeded(size.scenario.seed));
    let wall = start.elapsed().as_secs_f64();
    if let Some(v) = report.first_violation() {
        return Err(format!("{}: a violation in a benchmark run: {}", size.scenario.name, v.signature()));
    }
    if !report.passed() {
        return Err(format!("{}: expectations not met", size.scenario.name));
    }
    let virtual_ns = report.end_time.0.max(1) as f64;
    let observed = size.delay_ns.map(|d| report.stats.messages_delayed as f64 * d as f64 / virtual_ns);
    Ok((report.stats.events, wall, observed))
}

fn series(dimension: &str, workload: &str, sizes: &[Size], rounds: u32) -> Result<ScalingSeries, String> {
    let mut walls = vec![Vec::new(); sizes.len()];
    let mut last = vec![(0, None); sizes.len()];
    for round in 1..=rounds {
        eprintln!("{dimension}: round {round}/{rounds}");
        for (i, size) in sizes.iter().enumerate() {
            let (events, wall, observed) = measure(size)?;
            walls[i].push(wall);
            last[i] = (events, observed);
        }
    }
    let ns = |i: usize| median(&walls[i]) * 1e9 / last[i].0.max(1) as f64;
    let smallest = ns(0).max(1e-9);
    let points = (0..sizes.len())
        .map(|i| ScalingPoint { size: sizes[i].size, observed: last[i].1, events: last[i].0, wall_s: median(&walls[i]), ns_per_event: ns(i), ratio_to_smallest: ns(i) / smallest })
        .collect();
    Ok(ScalingSeries { dimension: dimension.into(), workload: workload.into(), points })
}

/// Runs the benchmark.
pub fn run(mode: &Mode) -> Result<BenchResult, String> {
    let tasks: &[usize] = mode.pick(&[8, 32, 128, 512, 1024], &[8, 32]);
    let flights: &[u64] = mode.pick(&[10, 100, 1_000, 10_000, 100_000], &[10, 100]);
    let (total_requests, flight_events, rounds) = mode.pick((200_000, 600_000, 3), (400, 4_000, 1));
    let task_sizes = tasks.iter().map(|t| tasks_size(*t, total_requests)).collect::<Result<Vec<_>, _>>()?;
    let flight_sizes = flights.iter().map(|f| flight_size(*f, flight_events)).collect::<Result<Vec<_>, _>>()?;
    let tasks_workload = format!("half echo servers, half clients in a ring, {total_requests} requests in all, 1 per client per ms, 1.5% drop");
    let flight_workload = format!("4 servers, 4 clients, every message delayed, clients retry every ~{} µs, 1.5% drop", FLIGHT_PERIOD_NS as f64 / 1e3);
    let by_tasks = series("tasks", &tasks_workload, &task_sizes, rounds)?;
    let by_flight = series("messages in flight", &flight_workload, &flight_sizes, rounds)?;
    let mut checks = Vec::new();
    let last_ratio = |s: &ScalingSeries| s.points.last().map_or(1.0, |p| p.ratio_to_smallest);
    if !mode.quick {
        checks.push(Check::new("ns/event at 1,024 tasks ÷ at 8", last_ratio(&by_tasks), Target::AtMost(1.3), "ratio"));
        checks.push(Check::new("ns/event at 100,000 in flight ÷ at 10", last_ratio(&by_flight), Target::AtMost(1.5), "ratio"));
    }
    let mut result = BenchResult::new("scaling", mode.quick, Figures::Scaling(Scaling { series: vec![by_tasks, by_flight] }));
    result.checks = checks;
    result.notes.push(format!("Median of {rounds} interleaved rounds per size; `observed` messages in flight = messages delayed × delay ÷ virtual time (Little's law)."));
    Ok(result)
}
