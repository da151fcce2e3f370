//! The interactive monitors: the checkers of `input::checks`, `focus::checks`,
//! `workspace::checks` and `editor::checks`, fed the workspace's records as observations
//! ([`crate::observation::InteractiveRecord`]), with their end-of-event postconditions checked
//! against the kernel's workspace and store only after an event that made such records.

use super::Checker;
use crate::editor::checks::EditorMonitor;
use crate::focus::checks::FocusMonitor;
use crate::input::checks::InputMonitor;
use crate::kernel::SimulatedKernel;
use crate::observation::InteractiveRecord;
use crate::workspace::checks::WorkspaceMonitor;
use crate::workspace::ComponentId;
use alloc::collections::{BTreeMap, BTreeSet};

/// Shadow state of the interactive invariants.
#[derive(Default)]
pub struct InteractiveMonitors {
    input: InputMonitor,
    focus: FocusMonitor,
    workspace: WorkspaceMonitor,
    editors: BTreeMap<ComponentId, EditorMonitor>,
    /// Whether this event made focus, input or workspace records.
    touched: bool,
    /// Editors that made records in this event.
    editors_touched: BTreeSet<ComponentId>,
}

impl InteractiveMonitors {
    /// One interactive record.
    pub fn observe(&mut self, record: &InteractiveRecord, c: &mut Checker<'_>) {
        match record {
            InteractiveRecord::Focus(e) => {
                self.input.observe_focus(e);
                self.focus.observe(e, c);
                self.touched = true;
            }
            InteractiveRecord::Input(e) => {
                self.input.observe_input(e, c);
                self.touched = true;
            }
            InteractiveRecord::Workspace(e) => {
                self.workspace.observe(e, c);
                self.touched = true;
            }
            InteractiveRecord::Editor { component, event } => {
                self.editors.entry(*component).or_default().observe(event, c);
                self.editors_touched.insert(*component);
            }
        }
    }

    /// The postconditions of an event that made interactive records.
    pub fn end_event(&mut self, kernel: &SimulatedKernel, c: &mut Checker<'_>) {
        let Some(a) = kernel.authority_state() else { return };
        let Some(i) = a.interactive.as_deref() else { return };
        if core::mem::take(&mut self.touched) {
            c.attribute("focus");
            self.focus.end_event(i.workspace.focus_manager(), c);
            c.attribute("workspace");
            self.workspace.end_event(&i.workspace, c);
        }
        if !self.editors_touched.is_empty() {
            c.attribute("editor");
            for id in core::mem::take(&mut self.editors_touched) {
                if let Some(m) = self.editors.get_mut(&id) {
                    m.end_event(&a.store, c);
                }
            }
        }
    }
}
