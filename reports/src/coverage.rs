//! Run coverage summed over a campaign (issue 15): which kernel operations were called and how
//! they ended, which kinds of fault rule were evaluated and fired, and which situations each
//! invariant's checks saw — so a user sees what an overnight run never reached.
//!
//! Generated runs each have their own fault rules, so rules are summed by shape: the fault kind,
//! the kind of scope and the kind of trigger (`Delay on Service when Chance`).

use crate::table::Table;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What a set of runs exercised.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Operation → result (`Ok` or an error kind) → calls.
    pub operations: BTreeMap<String, BTreeMap<String, u64>>,
    /// Rule shape → (evaluations, firings with effect).
    pub fault_rules: BTreeMap<String, (u64, u64)>,
    /// Invariant → the situations its checks saw.
    pub situations: BTreeMap<String, BTreeSet<String>>,
}

impl Coverage {
    /// Counts `n` calls of `op` that ended with `result`; `n == 0` still lists the operation.
    pub fn add_operation(&mut self, op: &str, result: &str, n: u64) {
        let row = self.operations.entry(op.to_string()).or_default();
        if n > 0 || result == "Ok" {
            *row.entry(result.to_string()).or_default() += n;
        }
    }

    /// Adds one rule's counts, by its shape (see [`rule_shape`]).
    pub fn add_rule(&mut self, rule: &str, evaluated: u64, fired: u64) {
        let e = self.fault_rules.entry(rule_shape(rule)).or_default();
        e.0 += evaluated;
        e.1 += fired;
    }

    pub fn add_situations<'a>(&mut self, invariant: &str, situations: impl IntoIterator<Item = &'a String>) {
        self.situations.entry(invariant.to_string()).or_default().extend(situations.into_iter().cloned());
    }

    /// Adds everything `other` counted.
    pub fn merge(&mut self, other: &Coverage) {
        for (op, results) in &other.operations {
            for (result, n) in results {
                self.add_operation(op, result, *n);
            }
            self.operations.entry(op.clone()).or_default();
        }
        for (shape, (evaluated, fired)) in &other.fault_rules {
            let e = self.fault_rules.entry(shape.clone()).or_default();
            e.0 += evaluated;
            e.1 += fired;
        }
        for (id, s) in &other.situations {
            self.situations.entry(id.clone()).or_default().extend(s.iter().cloned());
        }
    }

    /// Operations never called, and rule shapes evaluated but never fired.
    pub fn never_reached(&self) -> Vec<String> {
        let ops = self.operations.iter().filter(|(_, r)| r.values().all(|n| *n == 0)).map(|(op, _)| format!("operation {op} never called"));
        let rules = self.fault_rules.iter().filter(|(_, (_, fired))| *fired == 0).map(|(shape, (evaluated, _))| format!("fault rule {shape} never fired ({evaluated} evaluations)"));
        ops.chain(rules).collect()
    }

    pub fn operations_table(&self) -> Table {
        let mut t = Table::new("Operations by result", &["operation", "calls", "Ok", "errors"]).code(&[0]);
        for (op, results) in &self.operations {
            let calls: u64 = results.values().sum();
            let errors: Vec<String> = results.iter().filter(|(r, _)| *r != "Ok").map(|(r, n)| format!("{r} {n}")).collect();
            let ok = results.get("Ok").copied().unwrap_or(0);
            t.row(vec![op.clone(), calls.to_string(), ok.to_string(), if errors.is_empty() { "none".into() } else { errors.join(", ") }]);
        }
        t
    }

    pub fn rules_table(&self) -> Table {
        let mut t = Table::new("Fault rules by shape", &["rule (fault on scope when trigger)", "evaluated", "fired"]).code(&[0]);
        for (shape, (evaluated, fired)) in &self.fault_rules {
            t.row(vec![shape.clone(), evaluated.to_string(), fired.to_string()]);
        }
        t
    }

    pub fn situations_table(&self) -> Table {
        let mut t = Table::new("Invariant situations", &["invariant", "situations", "seen in"]).code(&[0]);
        for (id, s) in &self.situations {
            t.row(vec![id.clone(), s.len().to_string(), s.iter().cloned().collect::<Vec<_>>().join(", ")]);
        }
        t
    }
}

/// `Delay { nanos: 5 } on Service("echo") when Chance { per_mille: 40 }` → `Delay on Service
/// when Chance`: the first word of each of the three parts.
pub fn rule_shape(rule: &str) -> String {
    let word = |s: &str| s.trim().split(|c: char| !c.is_alphanumeric()).next().unwrap_or("").to_string();
    let (fault, rest) = rule.split_once(" on ").unwrap_or((rule, ""));
    let (scope, trigger) = rest.split_once(" when ").unwrap_or((rest, ""));
    format!("{} on {} when {}", word(fault), word(scope), word(trigger))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_sum_by_shape_and_merges_add_up() {
        assert_eq!(rule_shape("Delay { nanos: 800000 } on Service(\"echo\") when Chance { per_mille: 60 }"), "Delay on Service when Chance");
        assert_eq!(rule_shape("Drop on Any when EveryNth { n: 7 }"), "Drop on Any when EveryNth");
        let mut a = Coverage::default();
        a.add_operation("Send", "Ok", 3);
        a.add_operation("Send", "SendFailed", 1);
        a.add_operation("Clone", "Ok", 0);
        a.add_operation("Clone", "InvalidCapability", 0);
        a.add_rule("Drop on Any when Chance { per_mille: 4 }", 10, 0);
        a.add_situations("msg.at_most_once", &["MessageReceived".to_string()]);
        let mut b = Coverage::default();
        b.add_operation("Send", "Ok", 2);
        b.add_rule("Drop on Task(\"c\") when Chance { per_mille: 9 }", 5, 1);
        b.add_rule("Drop on Any when Chance { per_mille: 7 }", 4, 0);
        b.add_situations("msg.at_most_once", &["ReceiveFailed".to_string()]);
        a.merge(&b);
        assert_eq!(a.operations["Send"]["Ok"], 5);
        assert_eq!(a.operations["Send"]["SendFailed"], 1);
        assert_eq!(a.fault_rules["Drop on Any when Chance"], (14, 0));
        assert_eq!(a.fault_rules["Drop on Task when Chance"], (5, 1));
        assert_eq!(a.situations["msg.at_most_once"].len(), 2);
        assert_eq!(a.never_reached(), ["operation Clone never called", "fault rule Drop on Any when Chance never fired (14 evaluations)"]);
        assert_eq!(a.operations_table().rows.len(), 2);
    }
}
