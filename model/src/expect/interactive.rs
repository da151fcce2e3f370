//! Evaluation of the interactive expectations (`expect.interactive`: the focus and workspace
//! audit trails, editors' views, contents and states, the input faults' firings) from the run's
//! [`crate::report::InteractiveReport`]. A trail is compared line by line; the first differing
//! line is shown.

use super::{result, Eval};
use crate::report::{ExpectationResult, InteractiveReport};
use crate::scenario::ViewExpectation;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

impl Eval<'_> {
    /// Every interactive expectation, in scenario order.
    pub(super) fn interactive(&self, out: &mut Vec<ExpectationResult>) {
        let e = &self.scenario.expect.interactive;
        if e.is_empty() {
            return;
        }
        let empty = InteractiveReport::default();
        let i = self.report.interactive.as_ref().unwrap_or(&empty);
        if let Some(trail) = &e.focus_trail {
            out.push(trail_result("expect.interactive.focus_trail", trail, &i.focus_trail));
        }
        if let Some(trail) = &e.workspace_trail {
            out.push(trail_result("expect.interactive.workspace_trail", trail, &i.workspace_trail));
        }
        for (j, v) in e.views.iter().enumerate() {
            out.push(view_result(format!("expect.interactive.views[{j}]"), v, i));
        }
        for (j, r) in e.input_rules.iter().enumerate() {
            out.push(super::rule_result(&i.input_fault_rules, r, format!("expect.interactive.input_rules[{j}]")));
        }
    }
}

/// A whole trail: equal, or the first line where it departs.
fn trail_result(path: &str, expected: &[String], actual: &[String]) -> ExpectationResult {
    let first = (0..expected.len().max(actual.len())).find(|&n| expected.get(n) != actual.get(n));
    match first {
        None => result(String::from(path), format!("{} lines", expected.len()), format!("{} lines, all equal", actual.len()), true),
        Some(n) => {
            let line = |v: &[String]| v.get(n).map_or(String::from("(no line)"), |l| format!("{l:?}"));
            result(String::from(path), format!("line {n}: {}", line(expected)), format!("line {n}: {} ({} lines)", line(actual), actual.len()), false)
        }
    }
}

fn view_result(path: String, v: &ViewExpectation, i: &InteractiveReport) -> ExpectationResult {
    let Some(c) = i.component(&v.component) else {
        return result(path, format!("component `{}`", v.component), String::from("never launched"), false);
    };
    let mut expected = Vec::new();
    let mut actual = Vec::new();
    let mut met = true;
    if let Some(render) = &v.render {
        expected.push(format!("render {render:?}"));
        actual.push(format!("render {:?}", c.view.as_deref().unwrap_or("(not an editor)")));
        met &= c.view.as_deref() == Some(render.as_str());
    }
    if let Some(content) = &v.content {
        expected.push(format!("content {content:?}"));
        actual.push(format!("content {:?}", c.content.as_deref().unwrap_or("(not an editor)")));
        met &= c.content.as_deref() == Some(content.as_str());
    }
    if let Some(state) = v.state {
        expected.push(format!("state {state:?}"));
        actual.push(format!("state {:?}", c.state));
        met &= c.state == state;
    }
    result(path, expected.join(", "), actual.join(", "), met)
}
