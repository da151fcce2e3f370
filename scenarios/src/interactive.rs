//! Text form of what a run kept of its workspace: every component with its status line and, for
//! an editor, its rendered view; the input faults' firings; the focus audit trail; the workspace
//! audit trail; the input service's audit. Printed by `scenario --audit` and snapshotted for every library scenario that
//! declares a workspace (the snapshots of the focus and workspace audit trails and of the
//! editors' rendered views).

use model::RunReport;
use std::fmt::Write;

/// The workspace sections of a run, or `None` if the scenario has no workspace.
pub fn render_interactive(report: &RunReport) -> Option<String> {
    let i = report.interactive.as_ref()?;
    let mut out = String::new();
    let _ = writeln!(out, "components ({}; {} keys injected)", i.components.len(), i.keys);
    for c in &i.components {
        let _ = writeln!(out, "  {:?}: {}", c.name, c.status);
        if let Some(view) = &c.view {
            for line in view.lines() {
                let _ = writeln!(out, "    | {line}");
            }
        }
    }
    if !i.input_fault_rules.is_empty() {
        let _ = writeln!(out, "input faults (fault, evaluated, fired)");
        for (n, r) in i.input_fault_rules.iter().enumerate() {
            let never = if r.fired == 0 { "  never fired" } else { "" };
            let _ = writeln!(out, "  [{n}] {}  {} {}{never}", r.rule, r.evaluated, r.fired);
        }
    }
    for (title, trail) in [("focus audit trail", &i.focus_trail), ("workspace audit trail", &i.workspace_trail), ("input audit", &i.input_trail)] {
        let _ = writeln!(out, "{title} ({} records)", trail.len());
        for line in trail {
            let _ = writeln!(out, "  {line}");
        }
    }
    Some(out)
}
