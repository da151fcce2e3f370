//! Text form of the network's security audit (seed `001_*`: sessions bound to the identity learnt
//! at discovery; a peer presenting another identity is rejected and audited): one line per
//! record, with its virtual time and the node that recorded it. Printed by `scenario --audit` and
//! snapshotted for every library scenario that declares a network.

use model::RunReport;
use std::fmt::Write;

/// The network audit of a run, or `None` if the scenario has no network.
pub fn render_network(report: &RunReport) -> Option<String> {
    let net = report.network.as_ref()?;
    let mut out = format!("network audit ({} records)\n", net.audit.len());
    for r in &net.audit {
        let _ = writeln!(out, "  {:>16} {:<6} {}", r.at.to_string(), r.node, r.event.describe());
    }
    Some(out)
}
