//! The editor component (interface reference, "Editor Service (Phase 15)"; architecture "Phase 15:
//! Editor Component (Modal, Versioned, Capability-Safe)"). A pure state machine; in runs, each
//! editor component of the scenario's workspace has one (`kernel::Interactive`), fed the keys the
//! input service delivers to it, saving into the run's store.
//!
//! A modal, vi-like editor driven only by key events ([`Editor::process_input`], fed what the
//! input service delivers), saving through the versioned store, rendering to text
//! ([`Editor::render`]). It is a pure state machine: the store, the directory links and the
//! virtual time are passed in ([`EditorEnv`]).
//!
//! Modes and keys (seed tables):
//! - **Normal**: `h`/Left, `j`/Down, `k`/Up, `l`/Right move; `i` enters Insert; `x` (and Delete)
//!   deletes the character under the cursor; `:` enters Command;
//! - **Insert**: printable characters insert at the cursor; Enter splits the line; Backspace
//!   deletes the previous character (at column 0 it joins the line to the previous one); Delete
//!   deletes the character under the cursor (at the end of a line it joins the next); Escape
//!   returns to Normal;
//! - **Command**: characters build the command; Enter executes it and returns to Normal; Escape
//!   cancels; Backspace deletes the last character (on an empty command it returns to Normal).
//!
//! Save semantics (seed "Save Semantics"): `:w` creates a new immutable version of the document's
//! object in the store and returns its id; the directory link is updated **only if** the document
//! handle has `can_update_link` (and a label to link); otherwise the new version exists and the
//! directory still points to the old one, and the status says so. `:q` is refused while the buffer
//! is dirty, `:q!` discards, `:wq` / `:x` save then quit. Every save, refusal and quit is recorded
//! ([`EditorEvent`]) with a digest of the buffer's content, which the checkers
//! (`editor.save_creates_version`, `editor.no_silent_loss`) compare with the store and with the
//! last saved content.
//!
//! Choices where the seed is silent:
//! - cursor: in Normal mode the column stays on a character (`0..len-1`, 0 on an empty line); in
//!   Insert mode it may sit after the last one (`0..=len`); Escape from Insert moves it one left
//!   (as vi does); moving up or down keeps the column, clamped to the new line (no remembered
//!   column); moves past the buffer's edges stay at the edge;
//! - keys held with Ctrl, Alt or Meta do nothing (no chords are bound); `Released` events are
//!   ignored; `Repeat` events act like presses (a held key repeats); Tab inserts a tab character in
//!   Insert mode; other keys without a binding do nothing;
//! - the dirty flag is set by every change, cleared by a save or a load (typing a character and
//!   deleting it leaves the buffer dirty, as in vi);
//! - `:w` on a new document (no handle) creates a new blob object, which becomes the document
//!   (without a label or link permission): the seed's own test saves a fresh editor;
//! - a save writes on top of the object's current head; a failed save (a storage error) leaves the
//!   buffer dirty and records `SaveFailed`;
//! - a save is charged to the saving component's budget ([`SaveBudget`], the authority subsystem's
//!   `StorageOps`, like every other storage operation): each storage operation of the save's
//!   transaction (`StorageOperation::cost`: the object's creation for a new document, the read
//!   of its head, the write of the new version — 2 units, 3 for a new document) is consumed just
//!   before it runs; when the budget refuses one, the transaction is rolled back (no new
//!   version), the buffer stays dirty, the status line shows the refusal (`E: save failed:
//!   Resource budget exhausted: StorageOps ...`), `SaveFailed` is recorded and the save returns
//!   [`EditorError::BudgetExhausted`], on which the caller ends the component (in runs the
//!   workspace terminates it with a failure, as for any exhausted component); without a
//!   [`SaveBudget`] (standalone use) saves are free;
//! - loading a document, or starting a new one, over a dirty buffer is refused
//!   (`UnsavedChanges`), like `:e` without `!`;
//! - after a quit the editor is closed: input is refused with `Closed`;
//! - the status line is `MODE label [+] | message` (`[No Name]` without a label, `[+]` when dirty;
//!   in Command mode the message is the command being typed); messages stay until replaced;
//!   the viewport scrolls just enough to keep the cursor visible; rows past the end show `~`; the
//!   cursor's character is shown in brackets (`[h]ello`, `[ ]` past the end of a line).

pub mod buffer;
pub mod checks;
pub mod command;

pub use buffer::{Cursor, Position, TextBuffer};
pub use command::{CommandError, EditorCommand};

use crate::budget::enforcement::{BudgetExhausted, Consumption, ResourceLedger};
use crate::bugs::{BugSet, PlantedBug};
use crate::ids::ExecutionId;
use crate::input::{InputEvent, KeyCode, KeyEvent, KeyState};
use crate::storage::{ObjectContent, ObjectId, ObjectKind, ObjectSchemaId, ObjectSchemaVersion, StorageOperation, TransactionError, TransactionState, TransactionalStorage, VersionId, VersionedStore};
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{self, Write};
use serde::{Deserialize, Serialize};

/// The editor's mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EditorMode {
    #[default]
    Normal,
    Insert,
    Command,
}

impl EditorMode {
    /// The name on the status line.
    pub fn name(self) -> &'static str {
        match self {
            EditorMode::Normal => "NORMAL",
            EditorMode::Insert => "INSERT",
            EditorMode::Command => "COMMAND",
        }
    }
}

/// The editor's state (seed "Editor State").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorState {
    mode: EditorMode,
    buffer: TextBuffer,
    cursor: Cursor,
    dirty: bool,
    command_buffer: String,
    status_message: String,
    document_label: Option<String>,
}

impl EditorState {
    pub fn mode(&self) -> EditorMode {
        self.mode
    }
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }
    pub fn status_message(&self) -> &str {
        &self.status_message
    }
    /// The command being typed (Command mode).
    pub fn command_buffer(&self) -> &str {
        &self.command_buffer
    }
    pub fn buffer(&self) -> &TextBuffer {
        &self.buffer
    }
    /// The display name (not authority).
    pub fn document_label(&self) -> Option<&str> {
        self.document_label.as_deref()
    }
}

/// The capability to a document (seed "Document Handle"): `path_label` is for display only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentHandle {
    pub object_id: ObjectId,
    pub version_id: VersionId,
    #[serde(default)]
    pub path_label: Option<String>,
    /// Whether saving may update the directory link of `path_label`.
    #[serde(default)]
    pub can_update_link: bool,
}

impl DocumentHandle {
    pub fn new(object_id: ObjectId, version_id: VersionId, path_label: Option<&str>, can_update_link: bool) -> Self {
        DocumentHandle { object_id, version_id, path_label: path_label.map(String::from), can_update_link }
    }
}

/// The directory: label → the object and version it links to (a separate authority from the
/// object's content).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryLinks {
    links: BTreeMap<String, (ObjectId, VersionId)>,
}

impl DirectoryLinks {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn link(&mut self, label: &str, object: ObjectId, version: VersionId) {
        self.links.insert(label.into(), (object, version));
    }
    pub fn get(&self, label: &str) -> Option<(ObjectId, VersionId)> {
        self.links.get(label).copied()
    }
}

/// What a save did (seed "Save Semantics").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveResult {
    pub new_version_id: VersionId,
    /// Whether the directory link now points to the new version.
    pub link_updated: bool,
    pub message: String,
}

/// What the caller should do after an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EditorAction {
    Continue,
    /// A new version was saved.
    Saved(VersionId),
    /// The editor quit (after saving, for `:wq`: see [`Editor::last_save`]).
    Quit,
}

/// Why an input or an operation failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EditorError {
    Command(CommandError),
    Storage(TransactionError),
    /// The document's content could not be read (not a blob, not UTF-8, no such version).
    Io(String),
    /// A load or new document would discard unsaved changes.
    UnsavedChanges,
    /// The component's `StorageOps` budget refused a storage operation of a save.
    BudgetExhausted(BudgetExhausted),
    /// The editor has quit.
    Closed,
}

impl fmt::Display for EditorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditorError::Command(e) => write!(f, "{e}"),
            EditorError::Storage(e) => write!(f, "storage: {e}"),
            EditorError::Io(e) => write!(f, "I/O: {e}"),
            EditorError::UnsavedChanges => f.write_str("E37: No write since last change"),
            EditorError::BudgetExhausted(e) => write!(f, "{e}"),
            EditorError::Closed => f.write_str("the editor has quit"),
        }
    }
}

impl From<TransactionError> for EditorError {
    fn from(e: TransactionError) -> Self {
        EditorError::Storage(e)
    }
}

/// What the editor needs for one input: the time, the store, the directory, and the budget its
/// saves are charged to.
pub struct EditorEnv<'a> {
    pub now: Instant,
    pub store: &'a mut VersionedStore,
    pub links: &'a mut DirectoryLinks,
    /// `None`: saves are not charged (a standalone editor).
    pub budget: Option<SaveBudget<'a>>,
}

/// The account a save's storage operations are charged to: `identity`'s budget in `ledger`.
pub struct SaveBudget<'a> {
    pub ledger: &'a mut ResourceLedger,
    pub identity: ExecutionId,
}

impl SaveBudget<'_> {
    /// Consumes the `StorageOps` of `op`, one unit at a time, before it runs.
    fn charge(&mut self, op: StorageOperation) -> Result<(), EditorError> {
        for _ in 0..op.cost().get() {
            self.ledger.try_consume(self.identity, Consumption::StorageOp).map_err(EditorError::BudgetExhausted)?;
        }
        Ok(())
    }
}

/// One record of the editor's audit (input of [`checks`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EditorEvent {
    /// A document (or a new, empty one) replaced the buffer, whose content had `replaced_digest`.
    DocumentOpened { object: Option<ObjectId>, version: Option<VersionId>, content_digest: u64, replaced_digest: u64 },
    /// The buffer (`content_digest`) was saved as `version` of `object`, made from `parent`.
    Saved { object: ObjectId, parent: Option<VersionId>, version: VersionId, content_digest: u64, link_updated: bool, at: Instant },
    SaveFailed { reason: String, at: Instant },
    /// `:q` refused: the buffer is dirty.
    QuitRefused { at: Instant },
    /// The editor quit with the buffer holding `content_digest`; `forced` for `:q!`.
    Quit { forced: bool, content_digest: u64, at: Instant },
}

impl Fold for EditorEvent {
    /// Tags are stable; new variants take new tags.
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            EditorEvent::DocumentOpened { object, version, content_digest, replaced_digest } => {
                h.tag(0, 0);
                object.map(|o| o.0).fold(h);
                version.map(|v| v.0).fold(h);
                h.word(*content_digest);
                h.word(*replaced_digest);
            }
            EditorEvent::Saved { object, parent, version, content_digest, link_updated, at } => {
                h.tag(1, u64::from(*link_updated));
                h.word(object.0);
                parent.map(|p| p.0).fold(h);
                h.word(version.0);
                h.word(*content_digest);
                h.word(at.nanos());
            }
            EditorEvent::SaveFailed { reason, at } => {
                h.tag(2, 0);
                h.str(reason);
                h.word(at.nanos());
            }
            EditorEvent::QuitRefused { at } => {
                h.tag(3, 0);
                h.word(at.nanos());
            }
            EditorEvent::Quit { forced, content_digest, at } => {
                h.tag(4, u64::from(*forced));
                h.word(*content_digest);
                h.word(at.nanos());
            }
        }
    }
}

/// The digest of a document's content: the trace-hash fold of the blob it is saved as.
pub fn content_digest(content: &str) -> u64 {
    let mut h = TraceHasher::default();
    ObjectContent::Blob(content.as_bytes().to_vec()).fold(&mut h);
    h.value()
}

/// The schema of the objects the editor creates.
pub const TEXT_SCHEMA: &str = "text/plain";

/// The default viewport height, in lines.
pub const DEFAULT_VIEWPORT: usize = 20;

/// The editor component.
#[derive(Clone, Debug)]
pub struct Editor {
    state: EditorState,
    viewport: usize,
    /// First row shown.
    top: usize,
    document: Option<DocumentHandle>,
    last_save: Option<SaveResult>,
    closed: bool,
    events: Vec<EditorEvent>,
    bugs: BugSet,
}

impl Default for Editor {
    fn default() -> Self {
        Self::new()
    }
}

impl Editor {
    /// An empty new document, viewport of 20 lines.
    pub fn new() -> Self {
        Self::with_viewport(DEFAULT_VIEWPORT)
    }

    /// An empty new document with a viewport of `lines` (at least 1).
    pub fn with_viewport(lines: usize) -> Self {
        Editor { state: EditorState::default(), viewport: lines.max(1), top: 0, document: None, last_save: None, closed: false, events: Vec::new(), bugs: BugSet::default() }
    }

    /// The editor with planted bugs switched on.
    pub fn with_bugs(mut self, bugs: BugSet) -> Self {
        self.bugs = bugs;
        self
    }

    pub fn state(&self) -> &EditorState {
        &self.state
    }

    /// The open document's handle (`None` for a new, never saved document).
    pub fn document(&self) -> Option<&DocumentHandle> {
        self.document.as_ref()
    }

    /// The buffer's content.
    pub fn get_content(&self) -> String {
        self.state.buffer.content()
    }

    /// The last successful save.
    pub fn last_save(&self) -> Option<&SaveResult> {
        self.last_save.as_ref()
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The editor's audit, in order.
    pub fn events(&self) -> &[EditorEvent] {
        &self.events
    }

    // ----- documents -------------------------------------------------------------------------

    /// Starts a new, empty document (refused over unsaved changes).
    pub fn new_document(&mut self) -> Result<(), EditorError> {
        self.replace_buffer("", None)
    }

    /// Loads `content` as the document `handle` names (refused over unsaved changes).
    pub fn load_document(&mut self, content: &str, handle: DocumentHandle) -> Result<(), EditorError> {
        self.replace_buffer(content, Some(handle))
    }

    /// Loads the version `handle` names from the store.
    pub fn open(&mut self, handle: DocumentHandle, store: &VersionedStore) -> Result<(), EditorError> {
        let stored = store.version(handle.version_id).filter(|o| o.id == handle.object_id).ok_or_else(|| EditorError::Io(format!("{} has no committed {}", handle.object_id, handle.version_id)))?;
        let ObjectContent::Blob(bytes) = &stored.content else { return Err(EditorError::Io(format!("{} is not a blob", handle.object_id))) };
        let text = core::str::from_utf8(bytes).map_err(|e| EditorError::Io(format!("{} is not UTF-8: {e}", handle.version_id)))?;
        let text = String::from(text);
        self.load_document(&text, handle)
    }

    fn replace_buffer(&mut self, content: &str, handle: Option<DocumentHandle>) -> Result<(), EditorError> {
        if self.closed {
            return Err(EditorError::Closed);
        }
        if self.state.dirty {
            return Err(EditorError::UnsavedChanges);
        }
        let replaced_digest = content_digest(&self.get_content());
        self.events.push(EditorEvent::DocumentOpened { object: handle.as_ref().map(|h| h.object_id), version: handle.as_ref().map(|h| h.version_id), content_digest: content_digest(content), replaced_digest });
        self.state = EditorState { buffer: TextBuffer::from_content(content), document_label: handle.as_ref().and_then(|h| h.path_label.clone()), ..EditorState::default() };
        self.state.status_message = match &self.state.document_label {
            Some(label) => format!("\"{label}\" {}L", self.state.buffer.line_count()),
            None => String::new(),
        };
        self.document = handle;
        self.top = 0;
        Ok(())
    }

    // ----- input -----------------------------------------------------------------------------

    /// Handles one input event.
    pub fn process_input(&mut self, event: &InputEvent, env: &mut EditorEnv<'_>) -> Result<EditorAction, EditorError> {
        if self.closed {
            return Err(EditorError::Closed);
        }
        let Some(key) = event.as_key() else { return Ok(EditorAction::Continue) };
        if key.state == KeyState::Released || key.modifiers.is_chord() {
            return Ok(EditorAction::Continue);
        }
        let action = match self.state.mode {
            EditorMode::Normal => {
                self.normal_key(key);
                Ok(EditorAction::Continue)
            }
            EditorMode::Insert => {
                self.insert_key(key);
                Ok(EditorAction::Continue)
            }
            EditorMode::Command => self.command_key(key, env),
        };
        self.scroll();
        action
    }

    fn normal_key(&mut self, key: &KeyEvent) {
        match (key.code, key.char()) {
            (KeyCode::Left, _) | (_, Some('h')) => self.move_by(0, -1),
            (KeyCode::Down, _) | (_, Some('j')) => self.move_by(1, 0),
            (KeyCode::Up, _) | (_, Some('k')) => self.move_by(-1, 0),
            (KeyCode::Right, _) | (_, Some('l')) => self.move_by(0, 1),
            (KeyCode::Delete, _) | (_, Some('x')) => {
                let p = self.state.cursor.position();
                if self.state.buffer.delete_char(p.row, p.col) {
                    self.state.dirty = true;
                }
                self.clamp();
            }
            (_, Some('i')) => self.state.mode = EditorMode::Insert,
            (_, Some(':')) => {
                self.state.mode = EditorMode::Command;
                self.state.command_buffer.clear();
            }
            _ => {}
        }
    }

    fn insert_key(&mut self, key: &KeyEvent) {
        let Position { row, col } = self.state.cursor.position();
        let buffer = &mut self.state.buffer;
        match key.code {
            KeyCode::Escape => {
                self.state.mode = EditorMode::Normal;
                self.state.cursor.set(row, col.saturating_sub(1));
                self.clamp();
            }
            KeyCode::Enter => {
                buffer.split_line(row, col);
                self.state.cursor.set(row + 1, 0);
                self.state.dirty = true;
            }
            KeyCode::Backspace if col > 0 => {
                buffer.delete_char(row, col - 1);
                self.state.cursor.set(row, col - 1);
                self.state.dirty = true;
            }
            KeyCode::Backspace if row > 0 => {
                let end = buffer.line_len(row - 1);
                buffer.join_with_next(row - 1);
                self.state.cursor.set(row - 1, end);
                self.state.dirty = true;
            }
            KeyCode::Delete => {
                if buffer.delete_char(row, col) || buffer.join_with_next(row) {
                    self.state.dirty = true;
                }
            }
            KeyCode::Left => self.move_by(0, -1),
            KeyCode::Right => self.move_by(0, 1),
            KeyCode::Up => self.move_by(-1, 0),
            KeyCode::Down => self.move_by(1, 0),
            KeyCode::Tab => self.insert('\t'),
            _ => {
                if let Some(c) = key.char() {
                    self.insert(c);
                }
            }
        }
    }

    fn insert(&mut self, c: char) {
        let Position { row, col } = self.state.cursor.position();
        self.state.buffer.insert_char(row, col, c);
        self.state.cursor.set(row, col + 1);
        self.state.dirty = true;
    }

    fn command_key(&mut self, key: &KeyEvent, env: &mut EditorEnv<'_>) -> Result<EditorAction, EditorError> {
        match key.code {
            KeyCode::Escape => self.leave_command(),
            KeyCode::Backspace if self.state.command_buffer.pop().is_none() => self.leave_command(),
            KeyCode::Enter => {
                let line = core::mem::take(&mut self.state.command_buffer);
                self.state.mode = EditorMode::Normal;
                return self.execute(&line, env);
            }
            _ => {
                if let Some(c) = key.char() {
                    self.state.command_buffer.push(c);
                }
            }
        }
        Ok(EditorAction::Continue)
    }

    fn leave_command(&mut self) {
        self.state.mode = EditorMode::Normal;
        self.state.command_buffer.clear();
    }

    // ----- commands --------------------------------------------------------------------------

    fn execute(&mut self, line: &str, env: &mut EditorEnv<'_>) -> Result<EditorAction, EditorError> {
        let command = match EditorCommand::parse(line) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(EditorAction::Continue),
            Err(e) => {
                self.state.status_message = e.to_string();
                return Err(EditorError::Command(e));
            }
        };
        match command {
            EditorCommand::Write => self.save(env).map(|r| EditorAction::Saved(r.new_version_id)),
            EditorCommand::Quit if self.state.dirty && !self.bugs.has(PlantedBug::QuitDiscardsDirtyBuffer) => {
                self.state.status_message = "E37: No write since last change (add ! to override)".into();
                self.events.push(EditorEvent::QuitRefused { at: env.now });
                Ok(EditorAction::Continue)
            }
            EditorCommand::Quit => Ok(self.quit(false, env.now)),
            EditorCommand::ForceQuit => Ok(self.quit(true, env.now)),
            EditorCommand::WriteQuit => {
                self.save(env)?;
                Ok(self.quit(false, env.now))
            }
        }
    }

    fn quit(&mut self, forced: bool, now: Instant) -> EditorAction {
        self.closed = true;
        self.events.push(EditorEvent::Quit { forced, content_digest: content_digest(&self.get_content()), at: now });
        EditorAction::Quit
    }

    /// Saves the buffer as a new version (seed "Save Semantics").
    pub fn save(&mut self, env: &mut EditorEnv<'_>) -> Result<SaveResult, EditorError> {
        if self.closed {
            return Err(EditorError::Closed);
        }
        let content = self.get_content();
        let digest = content_digest(&content);
        let written = match (&self.document, self.bugs.has(PlantedBug::SaveReusesVersion)) {
            (Some(h), true) => Ok((h.object_id, Some(h.version_id), h.version_id)),
            _ => self.write_version(&content, env),
        };
        let (object, parent, version) = match written {
            Ok(w) => w,
            Err(e) => {
                self.state.status_message = format!("E: save failed: {e}");
                self.events.push(EditorEvent::SaveFailed { reason: e.to_string(), at: env.now });
                return Err(e);
            }
        };
        let handle = self.document.get_or_insert(DocumentHandle::new(object, version, None, false));
        handle.version_id = version;
        let link = handle.path_label.clone().filter(|_| handle.can_update_link);
        if let Some(label) = &link {
            env.links.link(label, object, version);
        }
        let mut message = format!("Saved {version}");
        if link.is_none() && handle.path_label.is_some() {
            message.push_str("; link not updated (no directory write permission)");
        }
        self.state.dirty = false;
        self.state.status_message = message.clone();
        self.events.push(EditorEvent::Saved { object, parent, version, content_digest: digest, link_updated: link.is_some(), at: env.now });
        let result = SaveResult { new_version_id: version, link_updated: link.is_some(), message };
        self.last_save = Some(result.clone());
        Ok(result)
    }

    /// Writes `content` as a new version of the document's object (a new object for a new
    /// document) in one transaction: `(object, parent, version)`.
    /// Each operation is charged to `env.budget` before it runs.
    fn write_version(&self, content: &str, env: &mut EditorEnv<'_>) -> Result<(ObjectId, Option<VersionId>, VersionId), EditorError> {
        let store = &mut *env.store;
        let mut charge = |op| env.budget.as_mut().map_or(Ok(()), |b| b.charge(op));
        let mut tx = store.begin_transaction()?;
        let mut steps = || -> Result<_, EditorError> {
            let object = match &self.document {
                Some(h) => h.object_id,
                None => {
                    charge(StorageOperation::Create)?;
                    store.create(&mut tx, ObjectKind::Blob, ObjectSchemaId(TEXT_SCHEMA.into()), ObjectSchemaVersion(1))?
                }
            };
            charge(StorageOperation::Read)?;
            let parent = store.read(&tx, object)?;
            charge(StorageOperation::Write)?;
            let version = store.write(&mut tx, object, content.as_bytes())?;
            store.commit(&mut tx)?;
            Ok((object, Some(parent), version))
        };
        let result = steps();
        if tx.state() == TransactionState::Active {
            let _ = store.rollback(&mut tx);
        }
        result
    }

    // ----- cursor ----------------------------------------------------------------------------

    /// Moves the cursor by rows and columns, clamped to the buffer and the mode's column range.
    fn move_by(&mut self, rows: isize, cols: isize) {
        let p = self.state.cursor.position();
        let last_row = self.state.buffer.line_count() - 1;
        let row = p.row.saturating_add_signed(rows).min(last_row);
        let col = p.col.saturating_add_signed(cols);
        self.state.cursor.set(row, col);
        self.clamp();
    }

    /// Keeps the cursor on the buffer: the row on a line, the column in the mode's range.
    fn clamp(&mut self) {
        let p = self.state.cursor.position();
        let row = p.row.min(self.state.buffer.line_count() - 1);
        let len = self.state.buffer.line_len(row);
        let max = if self.state.mode == EditorMode::Insert { len } else { len.saturating_sub(1) };
        self.state.cursor.set(row, p.col.min(max));
    }

    /// Scrolls just enough to show the cursor.
    fn scroll(&mut self) {
        let row = self.state.cursor.position().row;
        if row < self.top {
            self.top = row;
        } else if row >= self.top + self.viewport {
            self.top = row + 1 - self.viewport;
        }
    }

    // ----- rendering -------------------------------------------------------------------------

    /// The viewport (the cursor's character in brackets, `~` past the end) and the status line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let cursor = self.state.cursor.position();
        for row in self.top..self.top + self.viewport {
            if row >= self.state.buffer.line_count() {
                out.push_str("~\n");
                continue;
            }
            let line = self.state.buffer.line(row);
            if row != cursor.row {
                let _ = writeln!(out, "{line}");
                continue;
            }
            for (i, c) in line.chars().enumerate() {
                if i == cursor.col {
                    let _ = write!(out, "[{c}]");
                } else {
                    out.push(c);
                }
            }
            if cursor.col >= line.chars().count() {
                out.push_str("[ ]");
            }
            out.push('\n');
        }
        out.push_str(&self.status_line());
        out
    }

    /// `MODE label [+] | message`.
    pub fn status_line(&self) -> String {
        let mut s = String::from(self.state.mode.name());
        let _ = write!(s, " {}", self.state.document_label.as_deref().unwrap_or("[No Name]"));
        if self.state.dirty {
            s.push_str(" [+]");
        }
        if self.state.mode == EditorMode::Command {
            let _ = write!(s, " | :{}", self.state.command_buffer);
        } else if !self.state.status_message.is_empty() {
            let _ = write!(s, " | {}", self.state.status_message);
        }
        s
    }
}
