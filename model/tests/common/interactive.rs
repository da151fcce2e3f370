//! Rigs for the tests of the input, focus, workspace and editor modules: the thin wiring a later
//! step will do in the kernel, with every invariant checker fed after every operation.
#![allow(dead_code)]

use super::identity;
use model::budget::enforcement::ResourceLedger;
use model::bugs::{BugSet, PlantedBug};
use model::editor::checks::EditorMonitor;
use model::editor::{DirectoryLinks, DocumentHandle, Editor, EditorAction, EditorEnv, EditorError};
use model::focus::checks::FocusMonitor;
use model::focus::{FocusEnv, FocusError, FocusManager};
use model::identity::{ExitReason, IdentityKind, IdentityMetadata};
use model::ids::{ChannelId, ExecutionId, TaskId};
use model::input::checks::InputMonitor;
use model::input::{dispatch, parse_keys, Dispatch, InputEvent, InputService, InputSubscriptionCap, KeyEvent};
use model::policy::audit::PolicyAuditLog;
use model::policy::{PolicyEngine, PolicySpec};
use model::rule_check::RuleLog;
use model::storage::{ObjectKind, ObjectSchemaId, ObjectSchemaVersion, TransactionalStorage, VersionId, VersionedStore};
use model::time::Instant;
use model::workspace::checks::WorkspaceMonitor;
use model::workspace::{ComponentId, KeyDispatch, LaunchConfig, WorkspaceError, WorkspaceManager, WorkspaceWorld};
use std::collections::BTreeMap;

/// One millisecond of virtual time per operation.
const TICK: u64 = 1_000_000;

/// Builds a policy engine from its RON description.
pub fn policy(text: &str, bugs: &[PlantedBug]) -> Box<dyn PolicyEngine> {
    let spec: PolicySpec = ron::from_str(text).expect("policy spec");
    spec.build_with_bugs(BugSet::from_list(bugs))
}

/// Key presses in key-script notation.
pub fn keys(text: &str) -> Vec<KeyEvent> {
    parse_keys(text).expect("key script")
}

/// An input service and a focus manager used directly, as the seed's examples do.
pub struct Rig {
    pub input: InputService,
    pub focus: FocusManager,
    pub ledger: ResourceLedger,
    pub policy: Option<Box<dyn PolicyEngine>>,
    pub policy_audit: PolicyAuditLog,
    pub now: Instant,
    pub input_monitor: InputMonitor,
    pub focus_monitor: FocusMonitor,
    pub rules: RuleLog,
}

impl Rig {
    pub fn new(bugs: &[PlantedBug]) -> Self {
        let bugs = BugSet::from_list(bugs);
        Rig {
            input: InputService::with_bugs(bugs),
            focus: FocusManager::with_bugs(bugs),
            ledger: ResourceLedger::new(),
            policy: None,
            policy_audit: PolicyAuditLog::default(),
            now: Instant(0),
            input_monitor: InputMonitor::default(),
            focus_monitor: FocusMonitor::default(),
            rules: RuleLog::default(),
        }
    }

    fn tick(&mut self) -> Instant {
        self.now = Instant(self.now.0 + TICK);
        self.now
    }

    /// Subscribes task `n` (identity exec#n, channel chan#n).
    pub fn subscribe(&mut self, n: u64) -> InputSubscriptionCap {
        let now = self.tick();
        let cap = self.input.subscribe_keyboard(TaskId(n), ExecutionId(n), ChannelId(n), now).expect("subscribe");
        self.check();
        cap
    }

    pub fn request(&mut self, cap: InputSubscriptionCap, who: &IdentityMetadata) -> Result<(), FocusError> {
        let now = self.tick();
        let mut env = FocusEnv { now, policy: self.policy.as_deref(), policy_audit: &mut self.policy_audit };
        let r = self.focus.request_focus(cap, who, &mut env);
        self.check();
        r
    }

    pub fn release(&mut self, cap: InputSubscriptionCap) -> Result<(), FocusError> {
        let now = self.tick();
        let r = self.focus.release(cap.id, now);
        self.check();
        r
    }

    pub fn revoke(&mut self, cap: InputSubscriptionCap) {
        let now = self.tick();
        self.input.revoke_subscription(&cap, now).expect("revoke");
        self.check();
    }

    /// Types `text`, one dispatch per key.
    pub fn type_keys(&mut self, text: &str) -> Vec<Dispatch> {
        keys(text)
            .into_iter()
            .map(|k| {
                let now = self.tick();
                let d = dispatch(&InputEvent::key(k), &self.focus, &mut self.input, &mut self.ledger, now);
                self.check();
                d
            })
            .collect()
    }

    /// Feeds the monitors what happened since the last check.
    pub fn check(&mut self) {
        self.input_monitor.catch_up(&self.focus, &self.input, &mut self.rules);
        self.focus_monitor.catch_up(&self.focus, &mut self.rules);
    }
}

/// A user-domain component identity exec#n.
pub fn user(n: u64) -> IdentityMetadata {
    identity(n, "user", IdentityKind::Component)
}

/// A workspace whose editor components are real editors over one store, with every checker.
pub struct Desk {
    pub workspace: WorkspaceManager,
    pub world: WorkspaceWorld,
    pub store: VersionedStore,
    pub links: DirectoryLinks,
    pub editors: BTreeMap<ComponentId, Editor>,
    pub now: Instant,
    pub bugs: BugSet,
    pub input_monitor: InputMonitor,
    pub focus_monitor: FocusMonitor,
    pub workspace_monitor: WorkspaceMonitor,
    pub editor_monitors: BTreeMap<ComponentId, EditorMonitor>,
    pub rules: RuleLog,
}

/// The workspace's identity: exec#1 in the user domain.
pub fn workspace_identity() -> IdentityMetadata {
    identity(1, "user", IdentityKind::Service)
}

impl Desk {
    pub fn new(bugs: &[PlantedBug]) -> Self {
        let bugs = BugSet::from_list(bugs);
        Desk {
            workspace: WorkspaceManager::with_bugs(workspace_identity(), bugs),
            world: WorkspaceWorld::new(),
            store: VersionedStore::with_bugs(bugs),
            links: DirectoryLinks::new(),
            editors: BTreeMap::new(),
            now: Instant(0),
            bugs,
            input_monitor: InputMonitor::default(),
            focus_monitor: FocusMonitor::default(),
            workspace_monitor: WorkspaceMonitor::default(),
            editor_monitors: BTreeMap::new(),
            rules: RuleLog::default(),
        }
    }

    pub fn with_policy(mut self, text: &str) -> Self {
        self.world.policy = Some(policy(text, &[]));
        self
    }

    fn tick(&mut self) -> Instant {
        self.now = Instant(self.now.0 + TICK);
        self.now
    }

    /// Launches a component; an editor component gets an editor (with a 4-line viewport).
    pub fn launch(&mut self, config: LaunchConfig) -> Result<ComponentId, WorkspaceError> {
        let now = self.tick();
        let r = self.workspace.launch(&config, &mut self.world.env(now));
        if let (Ok(id), model::workspace::ComponentType::Editor) = (&r, &config.component_type) {
            self.editors.insert(*id, Editor::with_viewport(4).with_bugs(self.bugs));
            self.editor_monitors.insert(*id, EditorMonitor::default());
        }
        self.check();
        r
    }

    /// Creates a committed text document holding `content`; its handle.
    pub fn document(&mut self, content: &str, label: Option<&str>, can_update_link: bool) -> DocumentHandle {
        let mut tx = self.store.begin_transaction().unwrap();
        let o = self.store.create(&mut tx, ObjectKind::Blob, ObjectSchemaId("text/plain".into()), ObjectSchemaVersion(1)).unwrap();
        let v = self.store.write(&mut tx, o, content.as_bytes()).unwrap();
        self.store.commit(&mut tx).unwrap();
        if let Some(l) = label {
            self.links.link(l, o, v);
        }
        DocumentHandle::new(o, v, label, can_update_link)
    }

    /// Opens `handle` in the editor of `component`.
    pub fn open(&mut self, component: ComponentId, handle: DocumentHandle) -> Result<(), EditorError> {
        let r = self.editors.get_mut(&component).expect("an editor").open(handle, &self.store);
        self.check();
        r
    }

    /// Runs a workspace operation at the next instant.
    pub fn op<T>(&mut self, f: impl FnOnce(&mut WorkspaceManager, &mut model::workspace::WorkspaceEnv<'_>) -> T) -> T {
        let now = self.tick();
        let r = f(&mut self.workspace, &mut self.world.env(now));
        self.check();
        r
    }

    /// Types `text` into the workspace: each key is routed to the focused component; an editor
    /// processes what it is delivered, and its quit ends the component. Returns each key's fate
    /// and the editor's answer.
    pub fn type_keys(&mut self, text: &str) -> Vec<(KeyDispatch, Option<Result<EditorAction, EditorError>>)> {
        keys(text).into_iter().map(|k| self.press(k)).collect()
    }

    pub fn press(&mut self, key: KeyEvent) -> (KeyDispatch, Option<Result<EditorAction, EditorError>>) {
        let now = self.tick();
        let event = InputEvent::key(key);
        let d = self.workspace.dispatch_key(&event, &mut self.world.env(now));
        // The delivery is one operation, what the editor does with it the next.
        self.check();
        let mut answer = None;
        if let KeyDispatch::Delivered { component, .. } = d {
            if let Some(editor) = self.editors.get_mut(&component) {
                let r = editor.process_input(&event, &mut EditorEnv { now, store: &mut self.store, links: &mut self.links, budget: None });
                if r == Ok(EditorAction::Quit) {
                    let _ = self.workspace.component_exited(component, ExitReason::Normal, &mut self.world.env(now));
                }
                answer = Some(r);
            }
        }
        self.check();
        (d, answer)
    }

    pub fn editor(&self, component: ComponentId) -> &Editor {
        &self.editors[&component]
    }

    /// Feeds every monitor what happened since the last check.
    pub fn check(&mut self) {
        let ws = &self.workspace;
        self.input_monitor.catch_up(ws.focus_manager(), ws.input(), &mut self.rules);
        self.focus_monitor.catch_up(ws.focus_manager(), &mut self.rules);
        self.workspace_monitor.catch_up(ws, &mut self.rules);
        for (id, editor) in &self.editors {
            self.editor_monitors.get_mut(id).unwrap().catch_up(editor, &self.store, &mut self.rules);
        }
    }

    /// The version the directory links `label` to.
    pub fn linked(&self, label: &str) -> Option<VersionId> {
        self.links.get(label).map(|(_, v)| v)
    }

    pub fn assert_clean(&self) {
        assert!(self.rules.is_clean(), "invariants broke: {:#?}", self.rules.breaches);
    }
}
