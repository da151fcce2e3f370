//! Contract tests for the seed's "Editor Service (Phase 15)" ("Editor State", "Processing Input",
//! "Document Operations", "Rendering", "Modal Input Processing", "Save Semantics", "Testing with
//! SimKernel", "Integration Example") and architecture Phase 15: modal editing driven only by key
//! events, `:w` creating a new storage version, `:q` refused while dirty, `:q!`, `:wq`, the link
//! update only with permission, the rendered view; an editing session typed through the input
//! service of a workspace and saved; the `editor.*` checkers, each shown a bad record stream.
//!
//! Choices of the model tested where the seed is silent (`model/src/editor/`): vi's cursor
//! columns (on a character in Normal mode, after the last one allowed in Insert mode, one left on
//! Escape); chords and releases ignored, repeats act like presses; loading over unsaved changes is
//! refused; `:x` is `:wq`; a new document's first save creates its object.

mod common;

use common::interactive::{keys, Desk};
use model::editor::checks::{EditorMonitor, NO_SILENT_LOSS, SAVE_CREATES_VERSION};
use model::editor::*;
use model::identity::ExitReason;
use model::input::{apply_input_faults, InputEvent, InputFault, KeyCode, KeyEvent, KeyScript, Modifiers};
use model::rule_check::RuleLog;
use model::storage::{ObjectContent, ObjectKind, ObjectSchemaId, ObjectSchemaVersion, TransactionalStorage, VersionId, VersionedStore};
use model::time::Instant;
use model::workspace::{ComponentState, ComponentType, KeyDispatch, LaunchConfig};

/// An editor with its store and directory, checked after every key.
struct Bench {
    editor: Editor,
    store: VersionedStore,
    links: DirectoryLinks,
    now: Instant,
    monitor: EditorMonitor,
    rules: RuleLog,
}

impl Bench {
    fn new(editor: Editor) -> Self {
        Bench { editor, store: VersionedStore::new(), links: DirectoryLinks::new(), now: Instant(0), monitor: EditorMonitor::default(), rules: RuleLog::default() }
    }

    /// A bench whose editor has `content` loaded as a committed document (clean).
    fn with_document(content: &str, label: Option<&str>, can_update_link: bool) -> Self {
        let mut b = Bench::new(Editor::with_viewport(4));
        let handle = b.document(content, label, can_update_link);
        b.editor.open(handle, &b.store).unwrap();
        b.check();
        b
    }

    fn document(&mut self, content: &str, label: Option<&str>, can_update_link: bool) -> DocumentHandle {
        let mut tx = self.store.begin_transaction().unwrap();
        let o = self.store.create(&mut tx, ObjectKind::Blob, ObjectSchemaId(TEXT_SCHEMA.into()), ObjectSchemaVersion(1)).unwrap();
        let v = self.store.write(&mut tx, o, content.as_bytes()).unwrap();
        self.store.commit(&mut tx).unwrap();
        if let Some(l) = label {
            self.links.link(l, o, v);
        }
        DocumentHandle::new(o, v, label, can_update_link)
    }

    fn input(&mut self, event: KeyEvent) -> Result<EditorAction, EditorError> {
        self.now = Instant(self.now.0 + 1);
        let r = self.editor.process_input(&InputEvent::key(event), &mut EditorEnv { now: self.now, store: &mut self.store, links: &mut self.links, budget: None });
        self.check();
        r
    }

    fn type_keys(&mut self, text: &str) -> Vec<Result<EditorAction, EditorError>> {
        keys(text).into_iter().map(|k| self.input(k)).collect()
    }

    /// The result of the last key of `text`.
    fn last(&mut self, text: &str) -> Result<EditorAction, EditorError> {
        self.type_keys(text).pop().expect("at least one key")
    }

    fn check(&mut self) {
        self.monitor.catch_up(&self.editor, &self.store, &mut self.rules);
    }

    fn blob(&self, v: VersionId) -> String {
        match &self.store.version(v).unwrap().content {
            ObjectContent::Blob(b) => String::from_utf8(b.clone()).unwrap(),
            other => panic!("not a blob: {other:?}"),
        }
    }

    fn assert_clean(&self) {
        assert!(self.rules.is_clean(), "invariants broke: {:#?}", self.rules.breaches);
    }
}

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::pressed(code, Modifiers::none())
}

fn press_shift(code: KeyCode) -> KeyEvent {
    KeyEvent::pressed(code, Modifiers::SHIFT)
}

#[test]
fn the_seed_editor_workflow() {
    // Seed "Testing with SimKernel": test_editor_workflow.
    let mut b = Bench::new(Editor::new());
    b.input(press(KeyCode::I)).unwrap();
    for k in [KeyCode::H, KeyCode::E, KeyCode::L, KeyCode::L, KeyCode::O] {
        b.input(press(k)).unwrap();
    }
    b.input(press(KeyCode::Escape)).unwrap();
    assert_eq!(b.editor.get_content(), "hello");
    assert!(b.editor.state().is_dirty());
    b.input(press_shift(KeyCode::Semicolon)).unwrap();
    assert_eq!(b.editor.state().mode(), EditorMode::Command);
    b.input(press(KeyCode::W)).unwrap();
    let result = b.input(press(KeyCode::Enter)).unwrap();
    assert!(matches!(result, EditorAction::Saved(_)));
    assert!(!b.editor.state().is_dirty());
    let EditorAction::Saved(v) = result else { unreachable!() };
    assert_eq!(b.blob(v), "hello");
    assert_eq!(b.editor.document().map(|h| h.version_id), Some(v), "the new document is now the saved object");
    b.assert_clean();
}

/// (loaded content, keys, content, cursor (row, col), mode, dirty)
type EditingCase = (&'static str, &'static str, &'static str, (usize, usize), EditorMode, bool);

#[test]
fn modal_editing_follows_the_seed_tables() {
    use EditorMode::*;
    let table: [EditingCase; 20] = [
        ("", "ihello<Esc>", "hello", (0, 4), Normal, true),
        ("", "iab<Enter>cd", "ab\ncd", (1, 2), Insert, true),
        ("ab\ncd", "jli<BS><BS>", "abd", (0, 2), Insert, true),
        ("hello", "xxx", "lo", (0, 0), Normal, true),
        ("hello", "llllllll", "hello", (0, 4), Normal, false),
        ("hello", "lllli<Right><Right>", "hello", (0, 5), Insert, false),
        ("hello", "lllli<Right><Esc>", "hello", (0, 4), Normal, false),
        ("ab\ncdef", "jlllk", "ab\ncdef", (0, 1), Normal, false),
        ("ab\ncdef", "<Down><Right><Right><Up><Left>", "ab\ncdef", (0, 0), Normal, false),
        ("a\nb", "kkkjjjj", "a\nb", (1, 0), Normal, false),
        ("ab", "i<Esc>", "ab", (0, 0), Normal, false),
        ("ab", "li<Del><Del>", "a", (0, 1), Insert, true),
        ("ab\ncd", "li<Del><Del><Del>", "ad", (0, 1), Insert, true),
        ("", "i<C-a>b<A-c><M-d>", "b", (0, 1), Insert, true),
        ("x", "i<Tab>", "\tx", (0, 1), Insert, true),
        ("x", "Hxi<F1><Home>", "", (0, 0), Insert, true),
        ("héllo", "lx", "hllo", (0, 1), Normal, true),
        ("", "iA!<S-Enter>~", "A!\n~", (1, 1), Insert, true),
        ("abc", "lli<BS>x<Esc>", "axc", (0, 1), Normal, true),
        ("", "x<Del>hjkl", "", (0, 0), Normal, false),
    ];
    for (content, typed, expected, (row, col), mode, dirty) in table {
        let mut b = Bench::with_document(content, None, false);
        for r in b.type_keys(typed) {
            assert_eq!(r, Ok(EditorAction::Continue), "{typed:?}");
        }
        let s = b.editor.state();
        let case = format!("{content:?} + {typed:?}");
        assert_eq!(b.editor.get_content(), expected, "{case}");
        assert_eq!(s.cursor().position(), Position { row, col }, "{case}");
        assert_eq!((s.mode(), s.is_dirty()), (mode, dirty), "{case}");
        b.assert_clean();
    }
}

#[test]
fn releases_are_ignored_and_repeats_act_like_presses() {
    let mut b = Bench::with_document("", None, false);
    b.type_keys("i");
    b.input(KeyEvent::repeat(KeyCode::Z, Modifiers::NONE)).unwrap();
    b.input(KeyEvent::repeat(KeyCode::Z, Modifiers::NONE)).unwrap();
    b.input(KeyEvent::released(KeyCode::Z, Modifiers::NONE)).unwrap();
    b.input(KeyEvent::released(KeyCode::Escape, Modifiers::NONE)).unwrap();
    assert_eq!(b.editor.get_content(), "zz");
    assert_eq!(b.editor.state().mode(), EditorMode::Insert);
}

#[test]
fn command_mode_builds_cancels_and_executes_commands() {
    let mut b = Bench::with_document("text", Some("t.txt"), false);
    b.type_keys(":wq<Esc>");
    assert_eq!((b.editor.state().mode(), b.editor.state().command_buffer()), (EditorMode::Normal, ""), "Escape cancels");
    b.type_keys(":w<BS>");
    assert_eq!((b.editor.state().mode(), b.editor.state().command_buffer()), (EditorMode::Command, ""));
    b.type_keys("<BS>");
    assert_eq!(b.editor.state().mode(), EditorMode::Normal, "Backspace on an empty command leaves");
    assert_eq!(b.last(":<Enter>"), Ok(EditorAction::Continue), "an empty command does nothing");
    assert_eq!(b.last(":foo<Enter>"), Err(EditorError::Command(CommandError::Unknown("foo".into()))));
    assert_eq!(b.editor.state().status_message(), "E492: Not an editor command: foo");
    assert_eq!(b.editor.state().mode(), EditorMode::Normal);
    assert!(matches!(b.last(":write<Enter>"), Ok(EditorAction::Saved(_))));
    assert_eq!(b.last(":quit!<Enter>"), Ok(EditorAction::Quit));
    assert!(b.editor.is_closed());
    assert_eq!(b.last("i"), Err(EditorError::Closed), "a closed editor takes no input");
    b.assert_clean();
}

#[test]
fn quit_is_refused_on_a_dirty_buffer_until_forced() {
    let mut b = Bench::with_document("draft", None, false);
    b.type_keys("x");
    assert_eq!(b.last(":q<Enter>"), Ok(EditorAction::Continue));
    assert!(!b.editor.is_closed());
    assert_eq!(b.editor.state().status_message(), "E37: No write since last change (add ! to override)");
    assert!(matches!(b.editor.events().last(), Some(EditorEvent::QuitRefused { .. })));
    assert_eq!(b.last(":q!<Enter>"), Ok(EditorAction::Quit), ":q! discards");
    assert!(matches!(b.editor.events().last(), Some(EditorEvent::Quit { forced: true, .. })));
    b.assert_clean();
    // A clean buffer quits at once; typing a character and deleting it still leaves it dirty.
    let mut clean = Bench::with_document("draft", None, false);
    assert_eq!(clean.last(":q<Enter>"), Ok(EditorAction::Quit));
    let mut undone = Bench::with_document("draft", None, false);
    undone.type_keys("ia<BS><Esc>");
    assert_eq!(undone.editor.get_content(), "draft");
    assert_eq!(undone.last(":q<Enter>"), Ok(EditorAction::Continue));
}

#[test]
fn write_quit_and_x_save_then_quit() {
    for command in [":wq<Enter>", ":x<Enter>"] {
        let mut b = Bench::with_document("v1", None, false);
        b.type_keys("x");
        assert_eq!(b.last(command), Ok(EditorAction::Quit), "{command}");
        let saved = b.editor.last_save().unwrap().new_version_id;
        assert_eq!(b.blob(saved), "1");
        assert!(b.editor.is_closed());
        b.assert_clean();
    }
}

#[test]
fn every_save_creates_a_new_version_and_old_versions_remain() {
    let mut b = Bench::with_document("a", None, false);
    let object = b.editor.document().unwrap().object_id;
    let first = b.editor.document().unwrap().version_id;
    let mut versions = vec![first];
    for text in ["ib<Esc>:w<Enter>", "ic<Esc>:w<Enter>", ":w<Enter>"] {
        let Ok(EditorAction::Saved(v)) = b.last(text) else { panic!("{text} did not save") };
        versions.push(v);
    }
    // The document's first version is the empty one its creation made.
    assert_eq!(b.store.history(object)[1..], versions, "each :w is a new version, even without changes");
    let contents: Vec<String> = versions.iter().map(|v| b.blob(*v)).collect();
    assert_eq!(contents, ["a", "ba", "cba", "cba"]);
    assert_eq!(b.store.version(versions[2]).unwrap().parent, Some(versions[1]));
    b.assert_clean();
    assert_eq!(b.rules.count(SAVE_CREATES_VERSION), 6, "one record check and one store check per save");
}

#[test]
fn the_link_is_updated_only_with_permission() {
    for (can_update_link, moves) in [(true, true), (false, false)] {
        let mut b = Bench::with_document("old", Some("readme.txt"), can_update_link);
        let before = b.links.get("readme.txt").unwrap().1;
        b.type_keys("inew <Esc>");
        let mut env = EditorEnv { now: Instant(9), store: &mut b.store, links: &mut b.links, budget: None };
        let result = b.editor.save(&mut env).unwrap();
        b.check();
        assert_eq!(result.link_updated, moves);
        let linked = b.links.get("readme.txt").unwrap().1;
        assert_eq!(linked, if moves { result.new_version_id } else { before }, "can_update_link = {can_update_link}");
        assert_eq!(b.blob(result.new_version_id), "new old", "the new version exists either way");
        let expected = if moves { "Saved ver#" } else { "; link not updated (no directory write permission)" };
        assert!(result.message.contains(expected), "{}", result.message);
        b.assert_clean();
    }
}

#[test]
fn loading_over_unsaved_changes_is_refused_and_bad_documents_are_errors() {
    let mut b = Bench::with_document("keep", None, false);
    let other = b.document("other", Some("o.txt"), false);
    b.type_keys("x");
    assert_eq!(b.editor.load_document("x", other.clone()), Err(EditorError::UnsavedChanges));
    assert_eq!(b.editor.new_document(), Err(EditorError::UnsavedChanges));
    assert_eq!(b.editor.get_content(), "eep");
    b.last(":w<Enter>").unwrap();
    b.editor.open(other.clone(), &b.store).unwrap();
    assert_eq!((b.editor.get_content().as_str(), b.editor.state().document_label()), ("other", Some("o.txt")));
    b.check();
    // Not UTF-8, a version of another object, a map object.
    let mut tx = b.store.begin_transaction().unwrap();
    let o = b.store.create(&mut tx, ObjectKind::Blob, ObjectSchemaId("bin".into()), ObjectSchemaVersion(1)).unwrap();
    let bad = b.store.write(&mut tx, o, &[0xff, 0xfe]).unwrap();
    let map = b.store.create(&mut tx, ObjectKind::Map, ObjectSchemaId("kv".into()), ObjectSchemaVersion(1)).unwrap();
    b.store.commit(&mut tx).unwrap();
    let map_version = b.store.head(map).unwrap();
    for handle in [DocumentHandle::new(o, bad, None, false), DocumentHandle::new(other.object_id, bad, None, false), DocumentHandle::new(map, map_version, None, false)] {
        assert!(matches!(Editor::new().open(handle.clone(), &b.store), Err(EditorError::Io(_))), "{handle:?}");
    }
    // Saving into a map fails, leaves the buffer dirty and is recorded.
    let mut e = Editor::new();
    e.load_document("x", DocumentHandle::new(map, map_version, None, false)).unwrap();
    let mut env = EditorEnv { now: Instant(1), store: &mut b.store, links: &mut b.links, budget: None };
    e.process_input(&InputEvent::key(press(KeyCode::X)), &mut env).unwrap();
    assert!(matches!(e.save(&mut env), Err(EditorError::Storage(_))));
    assert!(e.state().is_dirty());
    assert!(matches!(e.events().last(), Some(EditorEvent::SaveFailed { .. })));
    b.assert_clean();
}

#[test]
fn the_rendered_view_shows_viewport_cursor_and_status() {
    let mut b = Bench::with_document("hello world\nsecond line", Some("readme.txt"), true);
    let mut frames = vec![b.editor.render()];
    b.type_keys("jllli");
    frames.push(b.editor.render());
    b.type_keys("X<Esc>");
    frames.push(b.editor.render());
    b.type_keys(":w");
    frames.push(b.editor.render());
    b.type_keys("<Enter>");
    frames.push(b.editor.render());
    b.type_keys("x:q<Enter>");
    frames.push(b.editor.render());
    insta::assert_snapshot!("editor_render", frames.join("\n-----\n"));
}

#[test]
fn the_viewport_scrolls_to_keep_the_cursor_visible() {
    let text: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
    let mut b = Bench::with_document(&text.join("\n"), None, false);
    let mut frames = Vec::new();
    for moves in ["jjjjjjj", "kkkkkk", "jjjjjjjjjjjj"] {
        b.type_keys(moves);
        frames.push(b.editor.render());
    }
    insta::assert_snapshot!("editor_scrolling", frames.join("\n-----\n"));
    let empty = Editor::with_viewport(0).render();
    assert_eq!(empty, "[ ]\nNORMAL [No Name]", "a viewport has at least one line");
}

// ----- through the workspace's input service --------------------------------------------------

#[test]
fn an_editing_session_typed_through_the_input_service_is_saved() {
    // Seed "Integration Example": subscribe, focus, receive key events, process, save, quit.
    let mut desk = Desk::new(&[]);
    let editor = desk.launch(LaunchConfig::new(ComponentType::Editor, "notes")).unwrap();
    let handle = desk.document("draft", Some("notes.txt"), true);
    desk.open(editor, handle.clone()).unwrap();
    let typed = KeyScript::new(1_000_000, "ihello <Esc>:wq<Enter>").expand().unwrap();
    let mut answers = Vec::new();
    for key in typed {
        let (fate, answer) = desk.press(key.event);
        assert!(matches!(fate, KeyDispatch::Delivered { component, .. } if component == editor), "{fate:?}");
        answers.push(answer.unwrap());
    }
    assert_eq!(answers.last(), Some(&Ok(EditorAction::Quit)));
    let saved = desk.editor(editor).last_save().unwrap().new_version_id;
    assert_ne!(saved, handle.version_id);
    assert_eq!(desk.linked("notes.txt"), Some(saved), "the editor may update this link");
    assert_eq!(desk.store.version(saved).unwrap().content, ObjectContent::Blob(b"hello draft".to_vec()));
    assert_eq!(desk.workspace.status(editor).unwrap().state, ComponentState::Exited, "the editor's quit ends the component");
    assert_eq!(desk.workspace.focused_component(), None);
    assert_eq!(desk.type_keys("x")[0].0, KeyDispatch::Unrouted);
    desk.assert_clean();
}

#[test]
fn quit_on_a_dirty_buffer_through_the_workspace_keeps_the_component() {
    let mut desk = Desk::new(&[]);
    let editor = desk.launch(LaunchConfig::new(ComponentType::Editor, "notes")).unwrap();
    let (_, answer) = desk.type_keys("iunsaved<Esc>:q<Enter>").pop().unwrap();
    assert_eq!(answer, Some(Ok(EditorAction::Continue)));
    assert_eq!(desk.workspace.status(editor).unwrap().state, ComponentState::Running);
    desk.type_keys(":q!<Enter>");
    assert_eq!(desk.workspace.status(editor).unwrap().state, ComponentState::Exited);
    desk.assert_clean();
}

#[test]
fn two_editors_only_the_focused_one_is_edited() {
    let mut desk = Desk::new(&[]);
    let a = desk.launch(LaunchConfig::new(ComponentType::Editor, "a")).unwrap();
    let b = desk.launch(LaunchConfig::new(ComponentType::Editor, "b")).unwrap();
    desk.type_keys("ifor a<Esc>");
    desk.op(|w, env| w.next(env)).unwrap();
    desk.type_keys("ifor b<Esc>");
    desk.op(|w, env| w.close(b, env)).unwrap();
    desk.type_keys("A");
    assert_eq!((desk.editor(a).get_content(), desk.editor(b).get_content()), ("for a".to_string(), "for b".to_string()));
    desk.op(|w, env| w.component_exited(a, ExitReason::Normal, env)).unwrap();
    desk.assert_clean();
}

#[test]
fn lost_and_duplicated_keys_change_the_text_but_never_lose_it_silently() {
    // Input faults: the fifth key is lost, the first is duplicated: the editor sees what arrives,
    // and `:q` still refuses to drop the unsaved result.
    let mut desk = Desk::new(&[]);
    let editor = desk.launch(LaunchConfig::new(ComponentType::Editor, "e")).unwrap();
    let typed = KeyScript::new(0, "iabcd<Esc>").expand().unwrap();
    let faults = [InputFault::Lose { when: model::fault::FaultTrigger::Window { from_ns: 4_000_000, until_ns: 4_000_001 } }, InputFault::Duplicate { when: model::fault::FaultTrigger::Next { count: 1 }, after_ns: 0 }];
    let arriving = apply_input_faults(typed, &faults, &mut model::choices::Choices::replaying(vec![])).unwrap();
    for key in arriving {
        desk.press(key.event);
    }
    desk.type_keys(":q<Enter>");
    assert_eq!(desk.editor(editor).get_content(), "iabc", "i typed twice: the second is text; d lost");
    assert_eq!(desk.workspace.status(editor).unwrap().state, ComponentState::Running);
    desk.assert_clean();
}

// ----- the checkers on bad record streams ----------------------------------------------------

#[test]
fn the_editor_checkers_flag_bad_streams() {
    let t = Instant(0);
    let d = content_digest;
    let o = model::storage::ObjectId(0);
    let opened = |content: &str, replaced: &str| EditorEvent::DocumentOpened { object: Some(o), version: Some(VersionId(1)), content_digest: d(content), replaced_digest: d(replaced) };
    let saved = |parent: u64, version: u64, content: &str| EditorEvent::Saved { object: o, parent: Some(VersionId(parent)), version: VersionId(version), content_digest: d(content), link_updated: false, at: t };
    let quit = |forced, content: &str| EditorEvent::Quit { forced, content_digest: d(content), at: t };
    let cases: Vec<(&str, Vec<EditorEvent>, &[&str])> = vec![
        ("open, save, quit", vec![opened("a", ""), saved(1, 2, "ab"), quit(false, "ab")], &[]),
        ("forced quit discards", vec![opened("a", ""), quit(true, "changed")], &[]),
        ("quit discards unsaved content", vec![opened("a", ""), quit(false, "ab")], &[NO_SILENT_LOSS]),
        ("a load over unsaved content", vec![opened("a", ""), opened("b", "a changed")], &[NO_SILENT_LOSS]),
        ("a save naming the loaded version", vec![opened("a", ""), saved(1, 1, "ab")], &[SAVE_CREATES_VERSION]),
        ("a save naming an older version", vec![opened("a", ""), saved(1, 2, "ab"), saved(2, 2, "abc")], &[SAVE_CREATES_VERSION]),
        ("a save older than its parent", vec![opened("a", ""), saved(5, 3, "ab")], &[SAVE_CREATES_VERSION]),
    ];
    for (name, events, expected) in cases {
        let mut monitor = EditorMonitor::default();
        let mut log = RuleLog::default();
        events.iter().for_each(|e| monitor.observe(e, &mut log));
        assert_eq!(log.breached(), expected, "{name}: {:?}", log.breaches);
    }
}

#[test]
fn the_editor_checker_compares_saves_with_the_store() {
    let store = VersionedStore::new();
    let mut monitor = EditorMonitor::default();
    let mut log = RuleLog::default();
    let o = model::storage::ObjectId(0);
    monitor.observe(&EditorEvent::Saved { object: o, parent: None, version: VersionId(0), content_digest: content_digest("x"), link_updated: false, at: Instant(0) }, &mut log);
    assert!(log.is_clean());
    monitor.end_event(&store, &mut log);
    assert_eq!(log.breached(), [SAVE_CREATES_VERSION], "the store has no such version");
}

#[test]
fn every_editor_record_has_a_distinct_fixed_binary_form() {
    use model::trace_hash::{Fold, TraceHasher};
    let t = Instant(0);
    let o = model::storage::ObjectId(0);
    let records = [
        EditorEvent::DocumentOpened { object: None, version: None, content_digest: 1, replaced_digest: 1 },
        EditorEvent::DocumentOpened { object: Some(o), version: None, content_digest: 1, replaced_digest: 1 },
        EditorEvent::Saved { object: o, parent: None, version: VersionId(1), content_digest: 1, link_updated: false, at: t },
        EditorEvent::Saved { object: o, parent: None, version: VersionId(1), content_digest: 1, link_updated: true, at: t },
        EditorEvent::SaveFailed { reason: "x".into(), at: t },
        EditorEvent::QuitRefused { at: t },
        EditorEvent::Quit { forced: false, content_digest: 1, at: t },
        EditorEvent::Quit { forced: true, content_digest: 1, at: t },
    ];
    let mut digests: Vec<u64> = records
        .iter()
        .map(|r| {
            let mut h = TraceHasher::default();
            r.fold(&mut h);
            h.value()
        })
        .collect();
    digests.sort_unstable();
    digests.dedup();
    assert_eq!(digests.len(), records.len());
}

#[test]
fn saves_are_charged_storage_ops_and_a_refused_save_has_no_effect() {
    use model::budget::enforcement::ResourceLedger;
    use model::budget::{ResourceBudget, ResourceKind, StorageOps};
    use model::ids::ExecutionId;
    let me = ExecutionId(7);
    let mut ledger = ResourceLedger::new();
    ledger.attach(me, None, Some(ResourceBudget::unlimited().with_storage_ops(StorageOps(4)))).unwrap();
    let mut b = Bench::new(Editor::new());
    let save = |b: &mut Bench, ledger: &mut ResourceLedger| {
        b.now = Instant(b.now.0 + 1);
        let budget = Some(SaveBudget { ledger, identity: me });
        let r = b.editor.save(&mut EditorEnv { now: b.now, store: &mut b.store, links: &mut b.links, budget });
        b.check();
        r
    };
    // A new document's first save creates its object, reads its head and writes: 3 units.
    b.type_keys("ihi<Esc>");
    let first = save(&mut b, &mut ledger).unwrap();
    assert_eq!(ledger.usage(me).storage_ops, StorageOps(3));
    // The next save reads (the 4th unit) and would write a 5th: refused before the write.
    b.type_keys("x");
    let refused = save(&mut b, &mut ledger);
    let Err(EditorError::BudgetExhausted(e)) = refused else { panic!("{refused:?}") };
    assert_eq!((e.resource_type, e.limit, e.usage), (ResourceKind::StorageOps, Some(4), 4));
    assert_eq!(ledger.usage(me).storage_ops, StorageOps(4));
    assert!(ledger.is_identity_cancelled(me));
    let object = b.editor.document().unwrap().object_id;
    assert_eq!(b.store.head(object), Some(first.new_version_id), "no new version");
    assert!(b.editor.state().is_dirty());
    assert!(b.editor.status_line().contains("E: save failed: Resource budget exhausted: StorageOps"), "{}", b.editor.status_line());
    assert!(matches!(b.editor.events().last(), Some(EditorEvent::SaveFailed { .. })));
    b.assert_clean();
}
