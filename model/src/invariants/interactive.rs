//! The interactive monitors: the checkers of `input::checks`, `focus::checks`,
//! `workspace::checks` and `editor::checks`, fed the workspace's records as observations
//! ([`crate::observation::InteractiveRecord`]), with their end-of-event postconditions checked
//! against the kernel's workspace and store only after an event that made such records.
//!
//! Here too is the part of `budget.exact_consumption` about editor saves: in an event, the
//! `StorageOps` charged to a component's identity are its save's storage operations, no more and
//! no fewer: a successful save is charged exactly its cost (2 units: the head's read and the new
//! version's write; 3 for a new document, whose object is created first), a failed one at most
//! that, and a component is charged nothing in an event without a save.

use super::{Checker, Invariant};
use crate::budget::audit::ResourceEvent;
use crate::editor::checks::EditorMonitor;
use crate::editor::EditorEvent;
use crate::ids::ExecutionId;
use crate::focus::checks::FocusMonitor;
use crate::input::checks::InputMonitor;
use crate::kernel::SimulatedKernel;
use crate::observation::InteractiveRecord;
use crate::workspace::checks::WorkspaceMonitor;
use crate::workspace::ComponentId;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::vec::Vec;

/// `StorageOps` of a save of a document whose object exists (read, write) and of a new one
/// (create, read, write).
const SAVE_COST: u64 = 2;
const NEW_DOCUMENT_SAVE_COST: u64 = 3;

/// A save an editor recorded in this event.
#[derive(Clone, Copy, Debug)]
struct SaveAttempt {
    component: ComponentId,
    cost: u64,
    saved: bool,
}

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
    /// Editors whose document has an object in the store (saves cost [`SAVE_COST`]).
    has_object: BTreeSet<ComponentId>,
    /// `StorageOps` charged in this event, by identity.
    storage_charges: BTreeMap<ExecutionId, u64>,
    /// Saves recorded in this event.
    saves: Vec<SaveAttempt>,
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
                self.save_recorded(*component, event);
                self.editors.entry(*component).or_default().observe(event, c);
                self.editors_touched.insert(*component);
            }
        }
    }

    /// A resource record: the `StorageOps` charges are kept for the save check.
    pub fn resource(&mut self, e: &ResourceEvent) {
        if let ResourceEvent::StorageOpConsumed { execution_id, before, after } = *e {
            *self.storage_charges.entry(execution_id).or_insert(0) += after.saturating_sub(before);
        }
    }

    /// Notes a save (and whether the editor's document has an object, which sets its cost).
    fn save_recorded(&mut self, component: ComponentId, event: &EditorEvent) {
        let cost = if self.has_object.contains(&component) { SAVE_COST } else { NEW_DOCUMENT_SAVE_COST };
        match event {
            EditorEvent::DocumentOpened { object: Some(_), .. } => {
                self.has_object.insert(component);
            }
            EditorEvent::DocumentOpened { object: None, .. } => {
                self.has_object.remove(&component);
            }
            EditorEvent::Saved { .. } => {
                self.saves.push(SaveAttempt { component, cost, saved: true });
                self.has_object.insert(component);
            }
            EditorEvent::SaveFailed { .. } => self.saves.push(SaveAttempt { component, cost, saved: false }),
            EditorEvent::QuitRefused { .. } | EditorEvent::Quit { .. } => {}
        }
    }

    /// Every component's `StorageOps` charges of this event are its save's operations.
    fn check_save_charges(&mut self, workspace: &crate::workspace::WorkspaceManager, c: &mut Checker<'_>) {
        let mut charges = core::mem::take(&mut self.storage_charges);
        for save in core::mem::take(&mut self.saves) {
            let Ok(info) = workspace.status(save.component) else { continue };
            let charged = charges.remove(&info.identity.execution_id).unwrap_or(0);
            let holds = if save.saved { charged == save.cost } else { charged <= save.cost };
            c.check(Invariant::BudgetExactConsumption, holds, || {
                let what = if save.saved { "a save" } else { "a failed save" };
                (format!("{what} of {} was charged {charged} StorageOps; its storage operations cost {}", save.component, save.cost), Vec::new())
            });
        }
        for component in workspace.list() {
            if let Some(charged) = charges.remove(&component.identity.execution_id) {
                c.check(Invariant::BudgetExactConsumption, false, || (format!("{} was charged {charged} StorageOps in an event without a save", component.id), Vec::new()));
            }
        }
    }

    /// The postconditions of an event that made interactive records.
    pub fn end_event(&mut self, kernel: &SimulatedKernel, c: &mut Checker<'_>) {
        let Some(a) = kernel.authority_state() else { return };
        let Some(i) = a.interactive.as_deref() else { return };
        if !self.saves.is_empty() || !self.storage_charges.is_empty() {
            c.attribute("budget");
            self.check_save_charges(&i.workspace, c);
        }
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
