//! Interned names (DESIGN.md, "The hot path is data-oriented"): service names, task names,
//! message actions, capability kinds and trust domains become small integer [`Symbol`]s when a run
//! starts, so the kernel, the fault injector and the invariant monitors compare and index integers,
//! never strings. Strings live only at the edges: the scenario loader, reports and traces meant for
//! people resolve symbols back through [`Names`].
//!
//! Symbols are handed out in first-use order by one table per run, so they are a deterministic
//! function of the scenario (the scenario's names are interned in file order before the first
//! event). A few names the model itself uses are interned first, at fixed positions
//! ([`well_known`]).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// An interned name: an index into the run's [`Names`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Symbol(pub u32);

impl Symbol {
    /// The symbol as an index into tables keyed by name.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "name#{}", self.0)
    }
}

/// Names the model uses itself, interned at fixed positions in every run.
pub mod well_known {
    use super::Symbol;
    /// Action of a client's request.
    pub const REQUEST: Symbol = Symbol(0);
    /// Action of a server's reply.
    pub const REPLY: Symbol = Symbol(1);
    /// Action of workload data messages.
    pub const DATA: Symbol = Symbol(2);
    /// Destination of messages sent by scenario steps and the workload.
    pub const STEP: Symbol = Symbol(3);
    /// Kind of the capability `create_channel` grants.
    pub const CHANNEL: Symbol = Symbol(4);
    /// Destination of workload messages.
    pub const WORKLOAD: Symbol = Symbol(5);
    /// The names above, in symbol order.
    pub const ALL: [&str; 6] = ["request", "reply", "data", "step", "channel", "workload"];
}

/// The run's symbol table. It serializes as the list of names in symbol order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Names {
    names: Vec<String>,
    by_name: BTreeMap<String, Symbol>,
}

impl From<Vec<String>> for Names {
    fn from(list: Vec<String>) -> Self {
        let mut names = Names { names: Vec::new(), by_name: BTreeMap::new() };
        for name in &list {
            names.intern(name);
        }
        names
    }
}

impl From<Names> for Vec<String> {
    fn from(names: Names) -> Self {
        names.names
    }
}

impl Default for Names {
    fn default() -> Self {
        let mut names = Names { names: Vec::new(), by_name: BTreeMap::new() };
        for name in well_known::ALL {
            names.intern(name);
        }
        names
    }
}

impl Names {
    /// A table holding the well-known names only.
    pub fn new() -> Self {
        Self::default()
    }

    /// The symbol of `name`, interning it if it is new.
    pub fn intern(&mut self, name: &str) -> Symbol {
        if let Some(symbol) = self.by_name.get(name) {
            return *symbol;
        }
        let symbol = Symbol(self.names.len() as u32);
        self.names.push(String::from(name));
        self.by_name.insert(String::from(name), symbol);
        debug_assert_eq!(self.resolve(symbol), name, "a symbol resolves to the name it was interned for");
        symbol
    }

    /// The symbol of `name`, if it was interned.
    pub fn get(&self, name: &str) -> Option<Symbol> {
        self.by_name.get(name).copied()
    }

    /// The name of `symbol` (`"?"` for a symbol of another table).
    pub fn resolve(&self, symbol: Symbol) -> &str {
        self.names.get(symbol.index()).map_or("?", String::as_str)
    }

    /// How many names are interned.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Never true: the well-known names are always there.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_idempotent_and_dense() {
        let mut names = Names::new();
        let base = names.len() as u32;
        let a = names.intern("alpha");
        let b = names.intern("beta");
        assert_eq!((a, b), (Symbol(base), Symbol(base + 1)));
        assert_eq!(names.intern("alpha"), a);
        assert_eq!(names.resolve(b), "beta");
        assert_eq!(names.get("gamma"), None);
        assert_eq!(names.resolve(Symbol(9_999)), "?");
    }

    #[test]
    fn well_known_names_have_fixed_symbols() {
        let names = Names::new();
        assert_eq!(names.get("request"), Some(well_known::REQUEST));
        assert_eq!(names.get("channel"), Some(well_known::CHANNEL));
        assert_eq!(names.resolve(well_known::WORKLOAD), "workload");
    }
}
