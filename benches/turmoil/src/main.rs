//! The reference workload of the performance issue on turmoil 0.7: 8 echo hosts and 8 clients in a
//! ring (client `i` calls host `i + 1`), over UDP. Each client sends one request, waits for its
//! reply, then sleeps 1 ms of virtual time before the next; a request without a reply in time is
//! sent again. 1.5 % of messages are lost: each receiver drops an arriving message with that
//! chance, drawn from its own ChaCha generator seeded from `--seed` (turmoil's own `fail_rate`
//! partitions whole links, which is another fault).
//!
//! Time: turmoil advances every host's paused tokio clock by one tick per step, and tokio's timers
//! have a resolution of 1 ms, so a tick shorter than 1 ms still moves the clocks 1 ms: the tick is
//! 1 ms (turmoil's default). Messages have no latency of their own; a reply arrives one or two
//! ticks after its request, so the timeout is 3 ms (the model's 500 µs cannot be expressed).
//!
//! Prints one JSON object: messages delivered (received and not dropped), requests completed,
//! virtual seconds, simulation steps and wall-clock seconds of the simulation alone.
//!
//! `cargo run --release --manifest-path benches/turmoil/Cargo.toml -- --requests 10000 --seed 1`

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::rc::Rc;
use std::cell::Cell;
use std::time::{Duration, Instant};
use turmoil::net::UdpSocket;

const NODES: usize = 8;
const PORT: u16 = 9000;
const TICK: Duration = Duration::from_millis(1);
const INTERVAL: Duration = Duration::from_millis(1);
const TIMEOUT: Duration = Duration::from_millis(3);

/// Command-line settings.
struct Settings {
    requests: u64,
    seed: u64,
    drop_per_mille: u32,
}

fn parse_args() -> Result<Settings, String> {
    let mut s = Settings { requests: 100_000, seed: 1, drop_per_mille: 15 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().map_err(|_| format!("{flag}: expected a whole number, got `{value}`"));
        match flag.as_str() {
            "--requests" => s.requests = number()?,
            "--seed" => s.seed = number()?,
            "--drop-per-mille" => s.drop_per_mille = u32::try_from(number()?.min(1000)).unwrap_or(1000),
            _ => return Err(format!("unknown argument `{flag}`; expected --requests N, --seed N or --drop-per-mille N")),
        }
    }
    Ok(s)
}

/// Whether an arriving message is lost.
fn lost(rng: &mut ChaCha8Rng, per_mille: u32) -> bool {
    rng.random_range(0..1000) < per_mille
}

/// Counters shared by every node of the simulation (turmoil runs them all on this thread).
#[derive(Default)]
struct Counters {
    delivered: Cell<u64>,
    completed: Cell<u64>,
}

/// Echo host `index`: answers every request that is not lost on the way in.
async fn server(index: usize, settings: (u64, u32), counters: Rc<Counters>) -> turmoil::Result {
    let (seed, per_mille) = settings;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (index as u64) << 32);
    let socket = UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await?;
    let mut buf = [0u8; 8];
    loop {
        let (n, from) = socket.recv_from(&mut buf).await?;
        if lost(&mut rng, per_mille) {
            continue;
        }
        counters.delivered.set(counters.delivered.get() + 1);
        socket.send_to(&buf[..n], from).await?;
    }
}

/// Client `index`: `requests` requests to the next host, each retried until answered.
async fn client(index: usize, settings: (u64, u64, u32), counters: Rc<Counters>) -> turmoil::Result {
    let (requests, seed, per_mille) = settings;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((NODES + index) as u64) << 32);
    let socket = UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await?;
    let target = (turmoil::lookup(format!("server{}", (index + 1) % NODES)), PORT);
    let mut buf = [0u8; 8];
    for seq in 0..requests {
        'attempt: loop {
            socket.send_to(&seq.to_le_bytes(), target).await?;
            let deadline = tokio::time::Instant::now() + TIMEOUT;
            loop {
                let Ok(received) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await else { continue 'attempt };
                let (n, _) = received?;
                if lost(&mut rng, per_mille) {
                    continue;
                }
                counters.delivered.set(counters.delivered.get() + 1);
                if n == 8 && u64::from_le_bytes(buf) == seq {
                    break 'attempt;
                }
            }
        }
        counters.completed.set(counters.completed.get() + 1);
        tokio::time::sleep(INTERVAL).await;
    }
    Ok(())
}

fn main() -> ExitCode {
    let settings = match parse_args() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let counters = Rc::new(Counters::default());
    // Room for every request with a retry or two; the run ends when every client is done.
    let virtual_limit = Duration::from_millis(settings.requests.saturating_mul(10)) + Duration::from_secs(10);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(virtual_limit)
        .tick_duration(TICK)
        .min_message_latency(Duration::ZERO)
        .max_message_latency(Duration::ZERO)
        .udp_capacity(1024)
        .rng_seed(settings.seed)
        .build();
    for i in 0..NODES {
        let c = counters.clone();
        let (seed, per_mille) = (settings.seed, settings.drop_per_mille);
        sim.host(format!("server{i}"), move || server(i, (seed, per_mille), c.clone()));
    }
    for i in 0..NODES {
        sim.client(format!("client{i}"), client(i, (settings.requests, settings.seed, settings.drop_per_mille), counters.clone()));
    }
    let start = Instant::now();
    let mut steps = 0u64;
    let outcome = loop {
        steps += 1;
        match sim.step() {
            Ok(true) => break Ok(()),
            Ok(false) => {}
            Err(e) => break Err(e),
        }
    };
    let wall_s = start.elapsed().as_secs_f64();
    if let Err(e) = outcome {
        eprintln!("error: the simulation failed: {e}");
        return ExitCode::FAILURE;
    }
    let json = serde_json::json!({
        "simulator": "turmoil 0.7",
        "clients": NODES,
        "servers": NODES,
        "requests_per_client": settings.requests,
        "requests_completed": counters.completed.get(),
        "messages_delivered": counters.delivered.get(),
        "virtual_s": sim.elapsed().as_secs_f64(),
        "steps": steps,
        "wall_s": wall_s,
    });
    println!("{json}");
    ExitCode::SUCCESS
}
