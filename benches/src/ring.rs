//! The reference workload's shape in any size, as scenario text (the user-facing RON format, so
//! the benchmarks depend only on the loader): `servers` echo servers and `clients` clients, client
//! `i` calling server `(i + 1) % servers`, one request per client per `interval_ns`, a random
//! drop of `drop_per_mille`, and optionally every message delayed by `delay_ns` (which holds many
//! messages in flight). `Ring::reference()` is `benches/workloads/reference.ron` (a test checks).

use model::Scenario;
use std::fmt::Write as _;

/// The parameters of a ring workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring {
    pub name: String,
    pub seed: u64,
    pub servers: usize,
    pub clients: usize,
    pub requests: u32,
    pub timeout_ns: u64,
    pub retries: u32,
    pub backoff_ns: u64,
    pub interval_ns: u64,
    pub drop_per_mille: u16,
    /// Every message (after the drop rule) is delayed this long.
    pub delay_ns: Option<u64>,
    pub max_time_ns: u64,
    pub max_events: u64,
    /// Expect every request to complete (off when the run is cut short by `max_time_ns`).
    pub expect_all: bool,
}

impl Ring {
    /// The performance issue's reference workload: 8 servers, 8 clients, 100,000 requests each.
    pub fn reference() -> Self {
        Ring {
            name: "reference".into(),
            seed: 1,
            servers: 8,
            clients: 8,
            requests: 100_000,
            timeout_ns: 500_000,
            retries: 1_000_000,
            backoff_ns: 1_000,
            interval_ns: 1_000_000,
            drop_per_mille: 15,
            delay_ns: None,
            max_time_ns: 200_000_000_000,
            max_events: 100_000_000,
            expect_all: true,
        }
    }

    /// The reference shape with `requests` per client (quick runs).
    pub fn reference_with(requests: u32) -> Self {
        Ring { requests, ..Ring::reference() }
    }

    pub fn service(&self, client: usize) -> usize {
        (client + 1) % self.servers.max(1)
    }

    /// The scenario as RON text.
    pub fn ron(&self) -> String {
        let mut s = format!("(\n    name: \"{}\",\n    seed: {},\n    limits: (max_time_ns: {}, max_events: {}),\n    tasks: [\n", self.name, self.seed, self.max_time_ns, self.max_events);
        for i in 0..self.servers {
            let _ = writeln!(s, "        (name: \"server{i}\", behaviour: Server(service: \"echo{i}\")),");
        }
        for i in 0..self.clients {
            let _ = writeln!(
                s,
                "        (name: \"client{i}\", behaviour: Client(service: \"echo{}\", requests: {}, timeout_ns: {}, retries: {}, backoff_ns: {}, interval_ns: {})),",
                self.service(i),
                self.requests,
                self.timeout_ns,
                self.retries,
                self.backoff_ns,
                self.interval_ns
            );
        }
        s += "    ],\n    faults: (message_faults: [";
        if self.drop_per_mille > 0 {
            let _ = write!(s, "(fault: Drop, when: Chance(per_mille: {}))", self.drop_per_mille);
        }
        if let Some(nanos) = self.delay_ns {
            let _ = write!(s, "{}(fault: Delay(nanos: {nanos}), when: Always)", if self.drop_per_mille > 0 { ", " } else { "" });
        }
        s += "]),\n";
        if self.expect_all {
            let _ = writeln!(s, "    expect: (counters: [(RequestsCompleted, Exactly({}))]),", self.requests as u64 * self.clients as u64);
        }
        s + ")\n"
    }

    /// The scenario, parsed and validated by the loader.
    pub fn scenario(&self) -> Result<Scenario, String> {
        scenarios::parse_scenario(&self.ron(), &format!("<generated {}>", self.name)).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_reference_is_the_reference_file() {
        let file = crate::harness::workspace_root().join("benches/workloads/reference.ron");
        let loaded = scenarios::load_scenario(&file).expect("reference.ron loads");
        assert_eq!(Ring::reference().scenario().expect("generated reference parses"), loaded);
    }

    #[test]
    fn delays_and_sizes_are_generated() {
        let ring = Ring { servers: 3, clients: 5, delay_ns: Some(7_000), expect_all: false, ..Ring::reference_with(10) };
        let s = ring.scenario().expect("parses");
        assert_eq!(s.tasks.len(), 8);
        assert_eq!(s.faults.message_faults.len(), 2);
        assert!(s.expect.counters.is_empty());
        assert_eq!(ring.service(4), 2);
    }
}
