//! The editor invariants (checked in runs by the interactive monitors, `invariants::interactive`).
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `editor.save_creates_version` | every save names a version no earlier record named, newer than the version it was made from, and after the save the store holds it committed, as the object's head, with exactly the saved content ("Save Semantics": "New immutable version created in storage", "New VersionId returned"; "Save always creates new version") |
//! | `editor.no_silent_loss` | content that was never saved is discarded only by `:q!`: a quit that is not forced, and a load over the buffer, find the buffer holding the last saved (or loaded) content (":q — Quit (blocked if dirty)", ":q! — Force quit (discard changes)") |
//!
//! [`EditorMonitor`] follows one editor's audit: the digest of its last saved or loaded content,
//! the versions it has seen; [`EditorMonitor::end_event`] compares the saves with the store. The
//! loss check compares content digests, not the editor's dirty flag, so a wrong dirty flag is
//! caught too.

use super::{content_digest, Editor, EditorEvent};
use crate::rule_check::RuleSink;
use crate::storage::{ObjectContent, ObjectId, VersionId, VersionedStore};
use crate::trace_hash::{Fold, TraceHasher};
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::vec::Vec;

pub const SAVE_CREATES_VERSION: &str = "editor.save_creates_version";
pub const NO_SILENT_LOSS: &str = "editor.no_silent_loss";

/// Shadow state of the editor invariants, for one editor.
#[derive(Clone, Debug)]
pub struct EditorMonitor {
    /// Digest of the content last saved or loaded (a new editor holds an empty document).
    clean: u64,
    versions: BTreeSet<VersionId>,
    /// Saves to compare with the store at the end of the event.
    to_verify: Vec<(ObjectId, VersionId, u64)>,
    seen: usize,
}

impl Default for EditorMonitor {
    fn default() -> Self {
        EditorMonitor { clean: content_digest(""), versions: BTreeSet::new(), to_verify: Vec::new(), seen: 0 }
    }
}

impl EditorMonitor {
    /// Checks one editor record.
    pub fn observe(&mut self, event: &EditorEvent, sink: &mut dyn RuleSink) {
        match event {
            EditorEvent::DocumentOpened { version, content_digest, replaced_digest, .. } => {
                let clean = self.clean;
                sink.check(NO_SILENT_LOSS, *replaced_digest == clean, &|| format!("a load replaced unsaved content (digest {replaced_digest:#x}, last saved {clean:#x})"));
                self.versions.extend(*version);
                self.clean = *content_digest;
            }
            EditorEvent::Saved { object, parent, version, content_digest, at, .. } => {
                let fresh = !self.versions.contains(version) && parent.is_none_or(|p| *version > p);
                sink.check(SAVE_CREATES_VERSION, fresh, &|| format!("{at}: save of {object} named {version} (from {parent:?}), which is not a new version"));
                self.versions.insert(*version);
                self.versions.extend(*parent);
                self.clean = *content_digest;
                self.to_verify.push((*object, *version, *content_digest));
            }
            EditorEvent::Quit { forced, content_digest, at } => {
                let clean = self.clean;
                sink.check(NO_SILENT_LOSS, *forced || *content_digest == clean, &|| format!("{at}: quit without `!` discarded unsaved content (digest {content_digest:#x}, last saved {clean:#x})"));
            }
            EditorEvent::SaveFailed { .. } | EditorEvent::QuitRefused { .. } => {}
        }
    }

    /// End of an event: every save since the last one is in the store, committed, as the head,
    /// with the saved content.
    pub fn end_event(&mut self, store: &VersionedStore, sink: &mut dyn RuleSink) {
        for (object, version, digest) in core::mem::take(&mut self.to_verify) {
            let stored = store.version(version).filter(|o| o.id == object).map(|o| {
                let mut h = TraceHasher::default();
                o.content.fold(&mut h);
                (h.value(), matches!(o.content, ObjectContent::Blob(_)))
            });
            let head = store.head(object);
            let holds = stored == Some((digest, true)) && head == Some(version);
            sink.check(SAVE_CREATES_VERSION, holds, &|| format!("saved {version} of {object}: the store has {stored:?} (want digest {digest:#x}), head {head:?}"));
        }
    }

    /// Checks the editor's records since the last call, then its saves against the store.
    pub fn catch_up(&mut self, editor: &Editor, store: &VersionedStore, sink: &mut dyn RuleSink) {
        for e in &editor.events()[self.seen..] {
            self.observe(e, sink);
        }
        self.seen = editor.events().len();
        self.end_event(store, sink);
    }
}
