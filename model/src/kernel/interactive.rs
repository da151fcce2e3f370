//! The kernel's interactive state (interface reference, "Input System Interface", "Focus Manager
//! Interface"; architecture Phases 14-16): the scenario's workspace — its [`WorkspaceManager`]
//! with the input service and focus manager it owns — the editors of its editor components, the
//! directory links they update, and the key events of the run (the key scripts expanded, the
//! input faults applied, once, before the first event).
//!
//! The workspace lives beside the authority state it uses: launches and focus requests consult
//! the run's policy engine (recorded in the policy audit log), components' budgets are accounts
//! of the run's resource ledger under the workspace's own identity, every key delivery charges
//! one `MessageCount` of the receiving component there, and editors save into the run's store,
//! each save's storage operations charged to the saving component's `StorageOps` there (a save
//! the budget refuses terminates the component, as a refused key delivery does).
//!
//! Choices where the seeds are silent:
//! - the workspace and its components take their execution ids from the kernel's counter (never
//!   reused, never shared with a task); a component is not a kernel task: its task and channel
//!   ids (which only the input service uses) come from a counter of their own above 2^32;
//! - an editor component's document is created in the store at launch without a charge (it is
//!   the scenario's setup, not the component's work);
//! - a key expansion that would exceed `input::MAX_INPUT_KEYS` after faults keeps the scripts'
//!   keys without the faults (validation refuses scripts that are too long by themselves);
//! - every policy decision of the workspace (a launch's `OnSpawn`, a focus request's
//!   `OnInputFocusRequest`) becomes an [`Observation::Policy`] as the operation that made it ends,
//!   before its other records, like the kernel's own enforcement points' decisions, and is counted
//!   in the run's policy statistics;
//! - every audit record the workspace, its focus manager, its input service and the editors make
//!   becomes an [`Observation::Interactive`] as the operation that made it ends: focus records,
//!   then input, then workspace, then each editor's (in component order).

use super::SimulatedKernel;
use crate::bugs::BugSet;
use crate::choices::Choices;
use crate::editor::{DirectoryLinks, DocumentHandle, Editor, EditorAction, EditorEnv, EditorError, SaveBudget};
use crate::identity::{ExitReason, IdentityKind, IdentityMetadata, TrustDomain};
use crate::ids::{ChannelId, ExecutionId, TaskId};
use crate::input::{apply_input_faults_counted, expand_scripts, FaultFirings, InputEvent, TimedKey};
use crate::observation::{InteractiveRecord, Observation};
use crate::report::RuleCount;
use crate::scenario::{ComponentDecl, Scenario, WorkspaceDecl};
use crate::storage::{ObjectKind, ObjectSchemaId, ObjectSchemaVersion, TransactionalStorage};
use crate::time::Instant;
use crate::workspace::{ComponentId, ComponentType, KeyDispatch, SpawnIds, Spawned, WorkspaceEnv, WorkspaceError, WorkspaceManager};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// Component task and channel ids start here (far from the kernel's).
const COMPONENT_IDS: u64 = 1 << 32;

/// The workspace of a run and what its components hold.
#[derive(Debug)]
pub struct Interactive {
    pub workspace: WorkspaceManager,
    /// The editor of each editor component.
    pub editors: BTreeMap<ComponentId, Editor>,
    pub links: DirectoryLinks,
    /// The run's key events, in time order.
    pub keys: Vec<TimedKey>,
    /// How often each input fault of the plan fired, in plan order (all zero when the faults
    /// were not applied).
    pub input_fault_rules: Vec<RuleCount>,
    /// The newest component of each name.
    names: BTreeMap<String, ComponentId>,
    /// Every component's name, by id.
    pub component_names: Vec<String>,
    next_local: u64,
    viewport: usize,
    bugs: BugSet,
    focus_seen: usize,
    input_seen: usize,
    workspace_seen: usize,
    editor_seen: BTreeMap<ComponentId, usize>,
}

/// The ids of one launch: a fresh execution id from the kernel, local task and channel ids.
struct OneLaunch(Spawned);

impl SpawnIds for OneLaunch {
    fn reserve(&mut self) -> Spawned {
        self.0
    }
}

impl Interactive {
    /// The workspace of `decl`, acting as `identity` (its keys come with [`Interactive::expand_keys`]).
    pub fn new(scenario: &Scenario, decl: &WorkspaceDecl, identity: IdentityMetadata) -> Self {
        let bugs = BugSet::from_list(&scenario.bugs);
        Interactive {
            workspace: WorkspaceManager::with_bugs(identity, bugs),
            editors: BTreeMap::new(),
            links: DirectoryLinks::new(),
            keys: Vec::new(),
            input_fault_rules: Vec::new(),
            names: BTreeMap::new(),
            component_names: Vec::new(),
            next_local: COMPONENT_IDS,
            viewport: decl.viewport.max(1) as usize,
            bugs,
            focus_seen: 0,
            input_seen: 0,
            workspace_seen: 0,
            editor_seen: BTreeMap::new(),
        }
    }

    /// Expands the key scripts and applies the plan's input faults (drawing the `Chance`
    /// triggers' choices); the keys in time order.
    pub fn expand_keys(&mut self, scenario: &Scenario, choices: &mut Choices) -> &[TimedKey] {
        let scripts = scenario.workspace.as_ref().map_or(&[][..], |w| w.keys.as_slice());
        let scripted = expand_scripts(scripts).unwrap_or_default();
        let faults = &scenario.faults.input_faults;
        let (keys, firings) = apply_input_faults_counted(scripted.clone(), faults, choices).unwrap_or_else(|_| (scripted, alloc::vec![FaultFirings::default(); faults.len()]));
        self.keys = keys;
        self.input_fault_rules = faults.iter().zip(firings).map(|(f, n)| RuleCount { rule: alloc::format!("{f:?}"), evaluated: n.evaluated, fired: n.fired }).collect();
        &self.keys
    }

    /// The newest component named `name`.
    pub fn component(&self, name: &str) -> Option<ComponentId> {
        self.names.get(name).copied()
    }

    /// The name of a component.
    pub fn name_of(&self, id: ComponentId) -> &str {
        self.component_names.get(id.0 as usize).map_or("?", String::as_str)
    }

    /// The records made since the last call, as observations (focus, input, workspace, editors).
    fn take_records(&mut self, out: &mut Vec<Observation>) {
        let ws = &self.workspace;
        let push = |out: &mut Vec<Observation>, r: InteractiveRecord| out.push(Observation::Interactive(Box::new(r)));
        for e in &ws.focus_manager().audit_trail()[self.focus_seen..] {
            push(out, InteractiveRecord::Focus(e.clone()));
        }
        self.focus_seen = ws.focus_manager().audit_trail().len();
        for e in &ws.input().audit_trail()[self.input_seen..] {
            push(out, InteractiveRecord::Input(e.clone()));
        }
        self.input_seen = ws.input().audit_trail().len();
        for e in &ws.audit_trail()[self.workspace_seen..] {
            push(out, InteractiveRecord::Workspace(e.clone()));
        }
        self.workspace_seen = ws.audit_trail().len();
        for (id, editor) in &self.editors {
            let seen = self.editor_seen.entry(*id).or_insert(0);
            for e in &editor.events()[*seen..] {
                push(out, InteractiveRecord::Editor { component: *id, event: e.clone() });
            }
            *seen = editor.events().len();
        }
    }
}

/// A workspace operation a step asks for.
#[derive(Clone, Copy, Debug)]
pub enum WorkspaceOp {
    RequestFocus,
    ReleaseFocus,
    Close,
    Status,
    Revoke,
    Unsubscribe,
    Subscribe,
}

impl SimulatedKernel {
    /// Creates the scenario's workspace (after the authority state, which it needs).
    pub(super) fn install_interactive(&mut self, scenario: &Scenario) {
        let Some(decl) = &scenario.workspace else { return };
        let exec = ExecutionId(self.exec_ids.mint());
        let identity = IdentityMetadata {
            execution_id: exec,
            kind: IdentityKind::Service,
            task_id: None,
            parent_id: None,
            creator_id: None,
            created_at_nanos: 0,
            trust_domain: TrustDomain::new(decl.trust_domain.clone()),
            name: String::from("workspace"),
        };
        let interactive = Interactive::new(scenario, decl, identity);
        let Some(a) = self.authority.as_deref_mut() else { return };
        if let Some(ledger) = a.ledger.as_mut() {
            let _ = ledger.attach(exec, None, decl.budget);
        }
        a.interactive = Some(Box::new(interactive));
        self.flush_authority();
    }

    /// The interactive state, if the scenario declares a workspace.
    pub fn interactive(&self) -> Option<&Interactive> {
        self.authority.as_deref()?.interactive.as_deref()
    }

    /// Turns the authority and interactive records of the operation that just ended into
    /// observations.
    fn flush_interactive(&mut self) {
        self.flush_authority();
        let Some(i) = self.authority.as_deref_mut().and_then(|a| a.interactive.as_deref_mut()) else { return };
        i.take_records(&mut self.observations);
    }

    /// Runs `op` on the workspace with the run's policy, ledger and cancellations.
    fn with_workspace<T>(&mut self, spawned: Option<Spawned>, op: impl FnOnce(&mut WorkspaceManager, &mut WorkspaceEnv<'_>) -> T) -> Option<T> {
        let now = self.now;
        let a = self.authority.as_deref_mut()?;
        let i = a.interactive.as_deref_mut()?;
        let ledger = a.ledger.as_mut()?;
        let mut ids = OneLaunch(spawned.unwrap_or(Spawned { execution_id: ExecutionId(u64::MAX), task_id: TaskId(u64::MAX), channel: ChannelId(u64::MAX) }));
        let mut env = WorkspaceEnv { now, policy: a.policy.as_deref(), policy_audit: &mut a.policy_audit, resources: ledger, cancellations: &mut a.cancellations, ids: &mut ids };
        let out = op(&mut i.workspace, &mut env);
        let actor = i.workspace.identity().execution_id;
        a.policy_actors.resize(a.policy_audit.len(), actor);
        for check in i.workspace.take_policy_checks() {
            self.stats.policy_evaluations += 1;
            self.stats.policy_refusals += u64::from(check.refused);
            self.observations.push(Observation::Policy(Box::new(check)));
        }
        Some(out)
    }

    /// Launches a component; an editor component gets an editor (with its document, created in
    /// the store and labelled, if it declares one).
    pub fn launch_component(&mut self, decl: &ComponentDecl) -> Result<(), WorkspaceError> {
        let Some(local) = self.authority.as_deref_mut().and_then(|a| a.interactive.as_deref_mut()).map(|i| {
            i.next_local += 1;
            i.next_local
        }) else {
            return Err(WorkspaceError::NothingToFocus);
        };
        let spawned = Spawned { execution_id: ExecutionId(self.exec_ids.mint()), task_id: TaskId(local), channel: ChannelId(local) };
        let config = decl.launch_config();
        let result = self.with_workspace(Some(spawned), |w, env| w.launch(&config, env)).unwrap_or(Err(WorkspaceError::NothingToFocus));
        if let Ok(id) = result {
            self.start_component(id, decl);
        }
        self.flush_interactive();
        result.map(|_| ())
    }

    /// Names the new component and gives an editor component its editor and document.
    fn start_component(&mut self, id: ComponentId, decl: &ComponentDecl) {
        let Some(a) = self.authority.as_deref_mut() else { return };
        let Some(i) = a.interactive.as_deref_mut() else { return };
        i.names.insert(decl.name.clone(), id);
        i.component_names.resize(id.0 as usize + 1, String::new());
        i.component_names[id.0 as usize] = decl.name.clone();
        if decl.component_type != ComponentType::Editor {
            return;
        }
        let mut editor = Editor::with_viewport(i.viewport).with_bugs(i.bugs);
        if let Some(doc) = &decl.document {
            let created = (|| {
                let mut tx = a.store.begin_transaction().ok()?;
                let o = a.store.create(&mut tx, ObjectKind::Blob, ObjectSchemaId(String::from(crate::editor::TEXT_SCHEMA)), ObjectSchemaVersion(1)).ok()?;
                let v = a.store.write(&mut tx, o, doc.content.as_bytes()).ok()?;
                a.store.commit(&mut tx).ok()?;
                Some((o, v))
            })();
            if let Some((o, v)) = created {
                a.bind_object(&doc.label, o);
                let i = a.interactive.as_deref_mut().expect("checked above");
                i.links.link(&doc.label, o, v);
                let _ = editor.open(DocumentHandle::new(o, v, Some(&doc.label), doc.can_update_link), &a.store);
            }
        }
        if let Some(i) = a.interactive.as_deref_mut() {
            i.editors.insert(id, editor);
        }
    }

    /// A workspace step on the component named `name`.
    pub fn workspace_op(&mut self, name: &str, op: WorkspaceOp) -> Result<(), WorkspaceError> {
        let id = self.interactive().and_then(|i| i.component(name)).ok_or(WorkspaceError::UnknownComponent(ComponentId(u64::MAX)))?;
        let now = self.now;
        let result = self
            .with_workspace(None, |w, env| match op {
                WorkspaceOp::RequestFocus => w.focus(id, env),
                WorkspaceOp::ReleaseFocus => w.release_focus(id, now),
                WorkspaceOp::Close => w.close(id, env),
                WorkspaceOp::Status => w.status(id).and_then(|c| if c.state == crate::workspace::ComponentState::Running { Ok(()) } else { Err(WorkspaceError::NotRunning { component: id, state: c.state }) }),
                WorkspaceOp::Revoke => w.revoke_input(id, now),
                WorkspaceOp::Unsubscribe => w.unsubscribe_input(id, now),
                WorkspaceOp::Subscribe => w.subscribe_input(id, now),
            })
            .unwrap_or(Err(WorkspaceError::UnknownComponent(id)));
        self.flush_interactive();
        result
    }

    /// `NextComponent` / `PrevComponent`.
    pub fn cycle_focus(&mut self, backwards: bool) -> Result<(), WorkspaceError> {
        let result = self.with_workspace(None, |w, env| if backwards { w.previous(env) } else { w.next(env) }).unwrap_or(Err(WorkspaceError::NothingToFocus));
        self.flush_interactive();
        result.map(|_| ())
    }

    /// Key number `index` arrives: the workspace routes it to the focused component (charging its
    /// `MessageCount`); an editor component processes it, its saves charged to its `StorageOps`;
    /// its quit ends the component, and a save its budget refused terminates it (exhaustion).
    pub fn key_event(&mut self, index: usize) {
        let Some(key) = self.interactive().and_then(|i| i.keys.get(index)).map(|k| k.event.clone()) else { return };
        let event = InputEvent::key(key);
        let dispatched = self.with_workspace(None, |w, env| w.dispatch_key(&event, env));
        self.flush_interactive();
        let Some(KeyDispatch::Delivered { component, delivery }) = dispatched else { return };
        let now = self.now;
        let Some(a) = self.authority.as_deref_mut() else { return };
        let Some(i) = a.interactive.as_deref_mut() else { return };
        let Some(editor) = i.editors.get_mut(&component) else { return };
        let identity = delivery.execution;
        let budget = a.ledger.as_mut().map(|ledger| SaveBudget { ledger, identity });
        let used = |b: &Option<SaveBudget<'_>>| b.as_ref().map_or(0, |b| b.ledger.usage(identity).storage_ops.get());
        let before = used(&budget);
        let mut env = EditorEnv { now, store: &mut a.store, links: &mut i.links, budget };
        let answer = editor.process_input(&event, &mut env);
        let charged = used(&env.budget).saturating_sub(before);
        self.stats.storage_ops += charged;
        match answer {
            Ok(EditorAction::Quit) => {
                self.with_workspace(None, |w, env| w.component_exited(component, ExitReason::Normal, env));
            }
            Err(EditorError::BudgetExhausted(e)) => {
                self.with_workspace(None, |w, env| w.handle_budget_exhaustion(component, e.resource_type, env));
            }
            _ => {}
        }
        self.flush_interactive();
    }

    /// The workspace starts: its declared components launch in order, its keys are expanded
    /// (with the input faults). Returns when each key arrives.
    pub fn start_workspace(&mut self, scenario: &Scenario) -> Vec<Instant> {
        let Some(decl) = &scenario.workspace else { return Vec::new() };
        for c in &decl.components {
            let _ = self.launch_component(c);
        }
        let choices = &mut self.choices;
        let Some(i) = self.authority.as_deref_mut().and_then(|a| a.interactive.as_deref_mut()) else { return Vec::new() };
        i.expand_keys(scenario, choices).iter().map(|k| k.at).collect()
    }
}
