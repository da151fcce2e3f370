//! Parked actions of the network layers (`engine/net.rs`, `engine/lite.rs`): an action waits in a
//! numbered slot while its `Event::Net { slot }` is in the queue, so a queue entry stays a few
//! ids. Freed slots are reused, the most recently freed first, so the store grows only with the
//! actions waiting at once.

use alloc::vec::Vec;

/// Actions waiting for their event, by slot.
#[derive(Debug)]
pub(super) struct Slots<T> {
    actions: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Slots<T> {
    pub(super) fn new() -> Self {
        Slots { actions: Vec::new(), free: Vec::new() }
    }

    /// Parks `action`; its slot number.
    pub(super) fn park(&mut self, action: T) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.actions[slot as usize] = Some(action);
                slot
            }
            None => {
                self.actions.push(Some(action));
                (self.actions.len() - 1) as u32
            }
        }
    }

    /// The action in `slot`, freeing it (none if the slot is empty).
    pub(super) fn take(&mut self, slot: u32) -> Option<T> {
        let action = self.actions.get_mut(slot as usize).and_then(Option::take)?;
        self.free.push(slot);
        Some(action)
    }
}
