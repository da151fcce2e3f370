//! Where the named invariant predicates of the authority and resource modules report (domain
//! layer, not yet wired into the kernel).
//!
//! `policy`, `derivation`, `budget`, `cancellation`, `pipeline` and `storage` each keep their rules
//! and, next to them, small checkers over their own events (`budget.usage_within_limit`,
//! `pipeline.fail_fast`, ...). A checker reports every check to a [`RuleSink`]: the invariant's
//! stable id, whether it held, and (only if it did not) a description. The engine's
//! `invariants::Checker` will implement the trait when the modules are wired in, so checks are
//! counted and violations reported like every other invariant; until then [`RuleLog`] collects
//! them (tests, standalone use).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// Receives the checks of named invariants.
pub trait RuleSink {
    /// Counts one check of `invariant`; if `holds` is false records a breach described by
    /// `describe` (called only then).
    fn check(&mut self, invariant: &'static str, holds: bool, describe: &dyn Fn() -> String);
}

/// One broken rule: the invariant's stable id and what was observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    pub invariant: &'static str,
    pub message: String,
}

/// A [`RuleSink`] that counts checks per invariant and keeps every breach in order.
#[derive(Clone, Debug, Default)]
pub struct RuleLog {
    pub checks: BTreeMap<&'static str, u64>,
    pub breaches: Vec<Breach>,
}

impl RuleSink for RuleLog {
    fn check(&mut self, invariant: &'static str, holds: bool, describe: &dyn Fn() -> String) {
        *self.checks.entry(invariant).or_default() += 1;
        if !holds {
            self.breaches.push(Breach { invariant, message: describe() });
        }
    }
}

impl RuleLog {
    /// The distinct invariants that were breached, in first-breach order.
    pub fn breached(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = Vec::new();
        for b in &self.breaches {
            if !ids.contains(&b.invariant) {
                ids.push(b.invariant);
            }
        }
        ids
    }

    /// How many times `invariant` was checked.
    pub fn count(&self, invariant: &str) -> u64 {
        self.checks.get(invariant).copied().unwrap_or(0)
    }

    /// Whether nothing was breached.
    pub fn is_clean(&self) -> bool {
        self.breaches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn a_log_counts_checks_and_keeps_breaches_in_order() {
        let mut log = RuleLog::default();
        log.check("a.rule", true, &|| "never".to_string());
        log.check("b.rule", false, &|| "first".to_string());
        log.check("a.rule", false, &|| "second".to_string());
        log.check("b.rule", false, &|| "third".to_string());
        assert_eq!(log.count("a.rule"), 2);
        assert_eq!(log.count("b.rule"), 2);
        assert_eq!(log.count("c.rule"), 0);
        assert_eq!(log.breached(), ["b.rule", "a.rule"]);
        assert_eq!(log.breaches[0].message, "first");
        assert!(!log.is_clean());
    }
}
