//! The scenario language's interactive parts (interface reference, "Input System Interface",
//! "Focus Manager Interface"; architecture Phases 14-16): the workspace a scenario runs
//! ([`WorkspaceDecl`]: its identity's trust domain and budget, the components launched at the
//! start, the key scripts typed at virtual times), the components ([`ComponentDecl`], an editor
//! optionally bound to a storage object), and the expectations about the focus and workspace audit
//! trails and the editors' rendered views. Key scripts are the domain layer's
//! [`crate::input::KeyScript`] and the input faults its [`crate::input::InputFault`]
//! (`FaultPlan::input_faults`). Field-by-field documentation is in `scenarios/README.md`,
//! "Input, focus, workspace and editor".
//!
//! Names, never run-time ids: a component is named by its `name` (the newest component of that
//! name), a storage object by its label (a document's label is bound when the run creates it).

use crate::budget::ResourceBudget;
use crate::identity::IdentityKind;
use super::{err, ScenarioError};
use crate::input::{InputFault, KeyScript};
use alloc::format;
use crate::workspace::{ComponentType, LaunchConfig};
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// The workspace of a scenario: one per run, acting as its own identity (exec ids come from the
/// kernel's counter), with the input service and focus manager it owns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceDecl {
    /// The workspace's trust domain (components inherit it unless they name one).
    #[serde(default = "user_domain")]
    pub trust_domain: String,
    /// The workspace's own budget: every component's budget must fit in it.
    #[serde(default)]
    pub budget: Option<ResourceBudget>,
    /// Components launched at time 0, in order (before any step).
    #[serde(default)]
    pub components: Vec<ComponentDecl>,
    /// Typed input: each key goes to whoever has focus when it arrives.
    #[serde(default)]
    pub keys: Vec<KeyScript>,
    /// Lines of the editors' rendered views (default 4).
    #[serde(default = "four")]
    pub viewport: u32,
}

fn user_domain() -> String {
    String::from("user")
}

fn four() -> u32 {
    4
}

fn yes() -> bool {
    true
}

impl Default for WorkspaceDecl {
    fn default() -> Self {
        WorkspaceDecl { trust_domain: user_domain(), budget: None, components: Vec::new(), keys: Vec::new(), viewport: four() }
    }
}

/// A component to launch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDecl {
    pub name: String,
    /// `Editor` (default), `Cli`, `Pipeline` or `Custom("<name>")`.
    #[serde(default = "editor")]
    pub component_type: ComponentType,
    #[serde(default = "yes")]
    pub focusable: bool,
    /// Default: the workspace's.
    #[serde(default)]
    pub trust_domain: Option<String>,
    /// Its `MessageCount` pays for the keys it is delivered.
    #[serde(default)]
    pub budget: Option<ResourceBudget>,
    /// An editor's document: a storage object created (with `content`, labelled `label`) when the
    /// component launches; none: a new, unnamed document.
    #[serde(default)]
    pub document: Option<DocumentDecl>,
}

fn editor() -> ComponentType {
    ComponentType::Editor
}

/// An editor's document, a text blob in the run's store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentDecl {
    /// The storage object label (and the directory link the editor updates on save).
    pub label: String,
    #[serde(default)]
    pub content: String,
    /// Whether the editor may update the link on save (directory write permission).
    #[serde(default = "yes")]
    pub can_update_link: bool,
}

impl ComponentDecl {
    /// A focusable editor named `name` with a new document.
    pub fn editor(name: &str) -> Self {
        ComponentDecl { name: name.into(), component_type: ComponentType::Editor, focusable: true, trust_domain: None, budget: None, document: None }
    }

    /// The workspace's launch configuration.
    pub fn launch_config(&self) -> LaunchConfig {
        LaunchConfig {
            component_type: self.component_type.clone(),
            name: self.name.clone(),
            focusable: self.focusable,
            trust_domain: self.trust_domain.clone(),
            kind: IdentityKind::Component,
            budget: self.budget,
            metadata: self.document.iter().map(|d| (String::from("document"), d.label.clone())).collect(),
        }
    }
}

/// The interactive expectations: whole audit trails as lines (`FocusEvent` / `WorkspaceEvent`
/// display), and editors' rendered views and contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractiveExpectations {
    /// The focus audit trail, one line per record.
    #[serde(default)]
    pub focus_trail: Option<Vec<String>>,
    /// The workspace audit trail, one line per record.
    #[serde(default)]
    pub workspace_trail: Option<Vec<String>>,
    /// Editors' final views.
    #[serde(default)]
    pub views: Vec<ViewExpectation>,
    /// How often input faults fired (and, optionally, were evaluated): `rule` is the fault's index
    /// in `faults.input_faults` (as `expect.rules` counts the message-fault rules).
    #[serde(default)]
    pub input_rules: Vec<super::RuleExpectation>,
}

impl InteractiveExpectations {
    pub fn is_empty(&self) -> bool {
        self.focus_trail.is_none() && self.workspace_trail.is_none() && self.views.is_empty() && self.input_rules.is_empty()
    }
}

/// An editor component's state at the end of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewExpectation {
    pub component: String,
    /// `Editor::render()`, lines joined by `\n`.
    #[serde(default)]
    pub render: Option<String>,
    /// The buffer's content.
    #[serde(default)]
    pub content: Option<String>,
    /// `Running`, `Exited`, `Cancelled` or `Failed`.
    #[serde(default)]
    pub state: Option<crate::workspace::ComponentState>,
}

/// The workspace: its components are valid, its names unique, its key scripts parse, its input
/// faults' keys parse.
pub(super) fn validate(s: &super::Scenario) -> Result<(), ScenarioError> {
    let Some(w) = &s.workspace else {
        if !s.faults.input_faults.is_empty() {
            return Err(err("faults.input_faults", "input faults act on the workspace's keys: expected a `workspace`", None));
        }
        return Ok(());
    };
    if w.viewport == 0 || w.viewport > 1_000 {
        return Err(err("workspace.viewport", "expected between 1 and 1000 lines", None));
    }
    let mut names = alloc::collections::BTreeSet::new();
    for (i, c) in w.components.iter().enumerate() {
        let path = format!("workspace.components[{i}]");
        validate_component(&path, c)?;
        if !names.insert(c.name.as_str()) {
            return Err(err(format!("{path}.name"), format!("a second component named `{}` (the workspace declares each once; a `Launch` step can start another)", c.name), Some(&c.name)));
        }
    }
    for (i, k) in w.keys.iter().enumerate() {
        keys(&format!("workspace.keys[{i}].keys"), &k.keys)?;
    }
    for (i, f) in s.faults.input_faults.iter().enumerate() {
        let path = format!("faults.input_faults[{i}]");
        match f {
            InputFault::Storm { keys: text, count, .. } => {
                keys(&format!("{path}.keys"), text)?;
                if *count == 0 || *count > 10_000 {
                    return Err(err(format!("{path}.count"), "expected between 1 and 10000 repetitions", None));
                }
            }
            InputFault::Repeat { count, .. } if *count > 1_000 => return Err(err(format!("{path}.count"), "expected at most 1000 repeats per key", None)),
            _ => {}
        }
    }
    Ok(())
}

/// A component declaration: a name, and a document only for an editor.
pub(super) fn validate_component(path: &str, c: &ComponentDecl) -> Result<(), ScenarioError> {
    if c.name.is_empty() {
        return Err(err(format!("{path}.name"), "expected a non-empty component name", None));
    }
    if c.document.is_some() && c.component_type != ComponentType::Editor {
        return Err(err(format!("{path}.document"), "only an `Editor` component opens a document", None));
    }
    if let Some(d) = &c.document {
        if d.label.is_empty() {
            return Err(err(format!("{path}.document.label"), "expected a non-empty storage label", None));
        }
    }
    Ok(())
}

/// Key-script notation that parses (the error names the column in the text).
fn keys(path: &str, text: &str) -> Result<(), ScenarioError> {
    crate::input::parse_keys(text).map(|_| ()).map_err(|e| err(path, format!("bad key script: {e}"), None))
}
