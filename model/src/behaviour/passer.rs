//! Capability passer (interface reference, "Capability Lifecycle": grant, delegate, drop; "Trust
//! Boundaries": cross-domain delegation is allowed but audited).
//!
//! On start it uses every capability it holds (validation before use must accept them), then
//! holds them for `hold`. Afterwards it delegates the first half (rounded up) to the newest task
//! named `to` — if that task is gone, it drops them instead — drops the rest, and probes the
//! first capability it delegated: move semantics require that use to be refused (the kernel
//! audits an `InvalidUseAttempt`; a success would be caught by the capability invariants). Then
//! it exits normally. Chains A→B→C arise when `to` is itself a passer that holds longer.

use super::{Ctx, Next};
use crate::identity::ExitReason;
use crate::names::Symbol;
use crate::time::Duration;

#[derive(Clone, Debug)]
pub struct CapPasser {
    /// Name of the task that receives the delegated half.
    to: Symbol,
    hold: Duration,
    started: bool,
}

impl CapPasser {
    pub fn new(to: Symbol, hold: Duration) -> Self {
        CapPasser { to, hold, started: false }
    }

    pub fn step(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let me = ctx.api.task;
        let kernel = &mut *ctx.api.kernel;
        if !self.started {
            self.started = true;
            for cap in kernel.capabilities_of(me) {
                let _ = kernel.use_capability(cap, me);
            }
            return Next::sleep(self.hold);
        }
        let caps = kernel.capabilities_of(me);
        let keep_from = caps.len().div_ceil(2);
        let target = kernel.task_with_name(self.to);
        let mut probe = None;
        for (i, cap) in caps.iter().enumerate() {
            let delegated = i < keep_from && target.is_some_and(|t| kernel.delegate_capability(*cap, me, t).is_ok());
            if delegated {
                probe = probe.or(Some(*cap));
            } else {
                let _ = kernel.drop_capability(*cap, me);
            }
        }
        if let Some(cap) = probe {
            // Must fail: the capability moved away.
            let _ = kernel.use_capability(cap, me);
        }
        Next::Exit(ExitReason::Normal)
    }
}
