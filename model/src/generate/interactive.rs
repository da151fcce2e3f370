//! The interactive parts of a generated run, drawn after the authority parts (so everything else
//! stays what it was for the same leading choices): a workspace with one to four components
//! (editors, some with a document, and terminals; some in the `guest` domain, some with a small
//! `MessageCount` budget), a focus rule that requires approval from guests, workspace steps that
//! move focus, release it, revoke, unsubscribe and subscribe again, close, launch and ask for
//! status, key scripts made of editing actions (insert text, move, delete, `:w`, `:q`, `:q!`,
//! `:wq`), and input faults (storms, key repeat, lost and duplicated keys). In swarm mode the
//! workspace and the input faults are each on or off per run; zero choices switch them off.
//!
//! Steps name components the way a user at the desk would: a release, revoke or close mostly
//! aims at the component the generator believes is on top of the focus stack (the last one asked
//! to take focus; steps are drawn in time order), so the interesting interleavings are common
//! rather than rare.

use super::Gen;
use crate::budget::{MessageCount, ResourceBudget};
use crate::fault::FaultTrigger;
use crate::input::{InputFault, KeyScript};
use crate::policy::rules::{PolicyRule, RuleCondition, RuleDecision, RuleListPolicy};
use crate::policy::{PolicyEvent, PolicySpec};
use crate::scenario::{ComponentDecl, DocumentDecl, Scenario, Step, StepOp, WorkspaceDecl};
use crate::workspace::ComponentType;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Adds the workspace and the input faults to `s`.
pub(super) fn generate(g: &mut Gen<'_>, swarm: bool, s: &mut Scenario) {
    let on = |g: &mut Gen<'_>| if swarm { g.flip() } else { g.c.below(4) != 0 };
    if !on(g) {
        return;
    }
    let mut desk = Desk::default();
    let components = (0..1 + g.c.below(4)).map(|_| desk.component(g)).collect();
    if g.flip() {
        s.policy = Some(with_focus_rule(s.policy.take()));
    }
    let steps = (0..g.upto(10)).flat_map(|_| desk.steps(g)).collect::<Vec<_>>();
    s.steps.extend(steps);
    let keys = (0..1 + g.c.below(3)).map(|_| script(g)).collect();
    s.workspace = Some(WorkspaceDecl { components, keys, ..WorkspaceDecl::default() });
    if on(g) {
        s.faults.input_faults = (0..1 + g.c.below(2)).map(|_| input_fault(g)).collect();
    }
}

/// What the generator believes of the workspace while it writes steps.
#[derive(Default)]
struct Desk {
    /// Every component name, in launch order.
    names: Vec<String>,
    /// The focus stack as the steps ask for it (top last).
    stack: Vec<String>,
    /// The time of the last step (steps are drawn in time order).
    at_ns: u64,
}

impl Desk {
    fn component(&mut self, g: &mut Gen<'_>) -> ComponentDecl {
        let name = format!("comp{}", self.names.len());
        self.names.push(name.clone());
        if self.stack.is_empty() {
            self.stack.push(name.clone());
        }
        // The first component is an editor three times in four, the others one in two.
        let editor = if self.names.len() == 1 { g.c.below(4) != 0 } else { g.flip() };
        let mut c = ComponentDecl::editor(&name);
        if !editor {
            c.component_type = ComponentType::Cli;
        }
        if g.c.below(4) == 0 {
            c.trust_domain = Some(String::from("guest"));
        }
        // Budgets are small, so that keys exhaust them; an editor's rarely (it needs its keys).
        if g.c.below(if editor { 6 } else { 3 }) == 0 {
            c.budget = Some(ResourceBudget::unlimited().with_message_count(MessageCount(1 + g.upto(6))));
        }
        if editor && g.flip() {
            c.document = Some(DocumentDecl { label: format!("doc{}", self.names.len() - 1), content: String::from("text\n"), can_update_link: g.c.below(4) != 0 });
        }
        c
    }

    /// A component: the top of the stack three times in four, else any.
    fn target(&mut self, g: &mut Gen<'_>) -> String {
        match self.stack.last() {
            Some(top) if g.c.below(4) != 0 => top.clone(),
            _ => self.names[g.c.index(self.names.len())].clone(),
        }
    }

    /// One step, or (one time in eight, with three components or more) a focus tour: two
    /// components take focus in turn, and the second gives it back.
    fn steps(&mut self, g: &mut Gen<'_>) -> Vec<Step> {
        if self.names.len() < 3 || g.c.below(8) != 0 {
            return alloc::vec![self.step(g)];
        }
        let first = self.names[1 + g.c.index(self.names.len() - 1)].clone();
        let second = self.names.iter().rev().find(|n| **n != first).cloned().unwrap_or_default();
        let mut out = Vec::new();
        for (i, c) in [first, second.clone()].into_iter().enumerate() {
            self.at_ns += 1_000_000;
            self.stack.retain(|n| *n != c);
            self.stack.push(c.clone());
            out.push(Step::new(self.at_ns + i as u64, StepOp::RequestFocus { component: c }));
        }
        self.at_ns += 1_000_000;
        self.stack.retain(|n| *n != second);
        out.push(Step::new(self.at_ns, StepOp::ReleaseFocus { component: second }));
        out
    }

    fn step(&mut self, g: &mut Gen<'_>) -> Step {
        self.at_ns += (1 + g.upto(3)) * 1_000_000;
        let at_ns = self.at_ns;
        let op = match g.c.below(12) {
            0..=3 => {
                let c = self.names[g.c.index(self.names.len())].clone();
                self.stack.retain(|n| *n != c);
                self.stack.push(c.clone());
                StepOp::RequestFocus { component: c }
            }
            4 | 5 => {
                let c = self.target(g);
                self.stack.retain(|n| *n != c);
                StepOp::ReleaseFocus { component: c }
            }
            6 => StepOp::Revoke { component: self.target(g) },
            7 => {
                let c = self.target(g);
                self.stack.retain(|n| *n != c);
                StepOp::Close { component: c }
            }
            8 => {
                if g.flip() {
                    let c = self.target(g);
                    self.stack.retain(|n| *n != c);
                    StepOp::Unsubscribe { component: c }
                } else {
                    StepOp::Subscribe { component: self.target(g) }
                }
            }
            9 => {
                if g.flip() {
                    StepOp::NextComponent
                } else {
                    StepOp::PrevComponent
                }
            }
            10 => StepOp::Launch { component: self.component(g) },
            _ => StepOp::Status { component: self.target(g) },
        };
        Step::new(at_ns, op)
    }
}

/// The policy with a rule requiring approval before a guest takes focus (composed after it).
fn with_focus_rule(policy: Option<PolicySpec>) -> PolicySpec {
    let rule = PolicyRule { on: alloc::vec![PolicyEvent::OnInputFocusRequest], when: alloc::vec![RuleCondition::ActorDomain(String::from("guest"))], then: RuleDecision::Require(String::from("approval")) };
    let focus = PolicySpec::Rules(RuleListPolicy { name: String::from("GuestFocus"), rules: alloc::vec![rule] });
    match policy {
        None => focus,
        Some(PolicySpec::Composed(mut parts)) => {
            parts.push(focus);
            PolicySpec::Composed(parts)
        }
        Some(other) => PolicySpec::Composed(alloc::vec![other, focus]),
    }
}

/// Editing actions in key-script notation (an edit, then a save or a quit, is the common case).
const ACTIONS: [&str; 16] = [
    "ihi<Esc>:w<Enter>",
    "ihi<Esc>:q<Enter>",
    "ia<Esc>:w<Enter>ib<Esc>:w<Enter>",
    "ihi<Esc>",
    "iab<Enter>c<Esc>",
    "x",
    "hjkl",
    "<Right>x",
    ":w<Enter>",
    ":q<Enter>",
    ":q!<Enter>",
    ":wq<Enter>",
    "i<BS><Esc>",
    "ok",
    "<C-c>",
    "<Esc>",
];

/// A script of one to six actions from 0 to 40 ms, 100 µs to 1 ms apart.
fn script(g: &mut Gen<'_>) -> KeyScript {
    let keys: String = (0..1 + g.c.below(6)).map(|_| ACTIONS[g.c.index(ACTIONS.len())]).collect();
    KeyScript::new(g.upto(40) * 1_000_000, &keys).with_interval(100_000 * (1 + g.upto(9)))
}

fn trigger(g: &mut Gen<'_>) -> FaultTrigger {
    match g.c.below(5) {
        0 => FaultTrigger::Always,
        1 => FaultTrigger::Next { count: 1 + g.upto(3) as u32 },
        2 => FaultTrigger::EveryNth { n: 2 + g.upto(4) as u32 },
        3 => FaultTrigger::Chance { per_mille: 100 + 100 * g.upto(5) as u16 },
        _ => FaultTrigger::Window { from_ns: g.upto(20) * 1_000_000, until_ns: 20_000_000 + g.upto(20) * 1_000_000 },
    }
}

fn input_fault(g: &mut Gen<'_>) -> InputFault {
    match g.c.below(4) {
        0 => InputFault::Storm { at_ns: g.upto(40) * 1_000_000, keys: String::from(ACTIONS[g.c.index(ACTIONS.len())]), count: 1 + g.upto(4) as u32, interval_ns: 50_000 },
        1 => InputFault::Repeat { when: trigger(g), count: 1 + g.upto(3) as u32, delay_ns: 200_000, interval_ns: 30_000 },
        2 => InputFault::Lose { when: trigger(g) },
        _ => InputFault::Duplicate { when: trigger(g), after_ns: g.upto(2) * 10_000 },
    }
}
