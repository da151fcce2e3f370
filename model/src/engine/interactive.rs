//! The event loop's side of the workspace (architecture Phases 14-16): the workspace's start
//! (its declared components launch, its key scripts are expanded under the input faults and each
//! key becomes a `Key` event at its virtual time), the key events themselves, and the workspace
//! steps. The work is the kernel's (`kernel::Interactive`); here are only the scheduling and the
//! mapping of workspace errors to the step results scenarios state.

use super::{Event, Simulation};
use crate::error::KernelError;
use crate::focus::FocusError;
use crate::kernel::WorkspaceOp;
use crate::scenario::StepOp;
use crate::workspace::WorkspaceError;

impl Simulation<'_> {
    /// `WorkspaceStart`: launches the declared components and schedules the keys.
    pub(super) fn start_workspace(&mut self) {
        let times = self.kernel.start_workspace(self.scenario);
        for (i, at) in times.into_iter().enumerate() {
            self.schedule(at, Event::Key { key: i as u32 });
        }
    }

    /// A workspace step (`None` for any other step).
    pub(super) fn workspace_step(&mut self, op: &StepOp) -> Option<Result<(), KernelError>> {
        let result = match op {
            StepOp::Launch { component } => self.kernel.launch_component(component),
            StepOp::RequestFocus { component } => self.kernel.workspace_op(component, WorkspaceOp::RequestFocus),
            StepOp::ReleaseFocus { component } => self.kernel.workspace_op(component, WorkspaceOp::ReleaseFocus),
            StepOp::Close { component } => self.kernel.workspace_op(component, WorkspaceOp::Close),
            StepOp::Status { component } => self.kernel.workspace_op(component, WorkspaceOp::Status),
            StepOp::Revoke { component } => self.kernel.workspace_op(component, WorkspaceOp::Revoke),
            StepOp::Unsubscribe { component } => self.kernel.workspace_op(component, WorkspaceOp::Unsubscribe),
            StepOp::Subscribe { component } => self.kernel.workspace_op(component, WorkspaceOp::Subscribe),
            StepOp::NextComponent => self.kernel.cycle_focus(false),
            StepOp::PrevComponent => self.kernel.cycle_focus(true),
            _ => return None,
        };
        Some(result.map_err(|e| kernel_error(&e)))
    }
}

/// The step result of a workspace error: a policy or budget refusal is `InsufficientAuthority`,
/// anything about a component or subscription that cannot take the operation `InvalidCapability`.
fn kernel_error(e: &WorkspaceError) -> KernelError {
    match e {
        WorkspaceError::LaunchDenied { .. } | WorkspaceError::LaunchRequires { .. } | WorkspaceError::InvalidBudget(_) => KernelError::InsufficientAuthority,
        WorkspaceError::Focus(FocusError::Denied { .. } | FocusError::ApprovalRequired { .. }) => KernelError::InsufficientAuthority,
        WorkspaceError::Subscription(_)
        | WorkspaceError::UnknownComponent(_)
        | WorkspaceError::NotRunning { .. }
        | WorkspaceError::NotFocusable(_)
        | WorkspaceError::Focus(_)
        | WorkspaceError::NothingToFocus => KernelError::InvalidCapability,
    }
}
