//! The scenario as a generic value tree (`serde_json::Value`), so reduction passes can delete
//! array elements, lower numbers and simplify enum variants anywhere in a scenario without
//! knowing its schema. A candidate edit that no longer deserializes into a `Scenario` (or no
//! longer validates) is simply rejected before it costs an execution.
//!
//! Object keys iterate in sorted order (serde_json's default map is a `BTreeMap`), so every
//! pass visits paths in the same order on every run: shrinking is deterministic.

use model::Scenario;
use serde_json::Value;

/// A step into a value: an object key or an array index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

pub type Path = Vec<Seg>;

pub fn to_tree(scenario: &Scenario) -> Value {
    serde_json::to_value(scenario).unwrap_or(Value::Null)
}

pub fn from_tree(tree: &Value) -> Option<Scenario> {
    serde_json::from_value(tree.clone()).ok()
}

pub fn get<'a>(tree: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(tree, |v, seg| match seg {
        Seg::Key(k) => v.get(k),
        Seg::Index(i) => v.get(*i),
    })
}

pub fn get_mut<'a>(tree: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(tree, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k),
        Seg::Index(i) => v.get_mut(*i),
    })
}

/// Every path below `tree` (pre-order), with the value there.
pub fn walk(tree: &Value) -> Vec<(Path, &Value)> {
    fn go<'a>(v: &'a Value, path: &mut Path, out: &mut Vec<(Path, &'a Value)>) {
        out.push((path.clone(), v));
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    path.push(Seg::Key(k.clone()));
                    go(child, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    go(child, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    go(tree, &mut Vec::new(), &mut out);
    out
}

/// Paths of non-empty arrays, deepest first (so deleting inside one does not move the others).
pub fn array_paths(tree: &Value) -> Vec<Path> {
    let mut paths: Vec<Path> = walk(tree).into_iter().filter(|(_, v)| v.as_array().is_some_and(|a| !a.is_empty())).map(|(p, _)| p).collect();
    paths.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    paths
}

/// Paths of positive integers.
pub fn number_paths(tree: &Value) -> Vec<Path> {
    walk(tree).into_iter().filter(|(_, v)| v.as_u64().is_some_and(|n| n > 0)).map(|(p, _)| p).collect()
}

/// Whether any string in `v` equals one of `names`.
pub fn mentions(v: &Value, names: &[String]) -> bool {
    walk(v).iter().any(|(_, x)| x.as_str().is_some_and(|s| names.iter().any(|n| n == s)))
}

/// The `name` fields of the task objects in `items` (tasks and supervisor children).
pub fn task_names(items: &[Value]) -> Vec<String> {
    items.iter().filter_map(|t| t.get("name").and_then(Value::as_str).map(String::from)).collect()
}

/// The names of the children spawned by the `Spawn` steps in `items` (and their supervisor
/// children): deleting such a step deletes everything that names them.
pub fn spawned_names(items: &[Value]) -> Vec<String> {
    let mut names = Vec::new();
    for item in items {
        if let Some(child) = item.pointer("/op/Spawn/child") {
            for (_, v) in walk(child) {
                if v.get("behaviour").is_some() {
                    names.extend(v.get("name").and_then(Value::as_str).map(String::from));
                }
            }
        }
    }
    names
}

/// Whether an array path holds tasks (top-level `tasks` or a supervisor's `children`).
pub fn holds_tasks(path: &[Seg]) -> bool {
    matches!(path.last(), Some(Seg::Key(k)) if k == "tasks" || k == "children")
}

/// A size measure of the scenario: array elements, plus workload operations.
pub fn structural_size(tree: &Value) -> u64 {
    let elements: u64 = walk(tree).iter().map(|(_, v)| v.as_array().map_or(0, |a| a.len() as u64)).sum();
    let ops = get(tree, &[Seg::Key("workload".into()), Seg::Key("ops".into())]).and_then(Value::as_u64).unwrap_or(0);
    elements + ops
}

/// The sum of every number in the scenario (saturating).
pub fn numeric_sum(tree: &Value) -> u128 {
    walk(tree).iter().filter_map(|(_, v)| v.as_u64()).map(u128::from).sum()
}

/// Replaces every string equal to `from` by `to`, anywhere in the tree.
pub fn rename(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s == from => *s = to.to_string(),
        Value::Array(items) => items.iter_mut().for_each(|i| rename(i, from, to)),
        Value::Object(map) => map.values_mut().for_each(|x| rename(x, from, to)),
        _ => {}
    }
}

/// How many values are written: every non-null value below the root.
pub fn values_set(tree: &Value) -> u64 {
    walk(tree).iter().filter(|(p, v)| !p.is_empty() && !v.is_null()).count() as u64
}

/// Paths of object fields holding a value other than null (pre-order): the candidates for
/// leaving an optional field out.
pub fn field_paths(tree: &Value) -> Vec<Path> {
    walk(tree).into_iter().filter(|(p, v)| matches!(p.last(), Some(Seg::Key(_))) && !v.is_null()).map(|(p, _)| p).collect()
}

/// Whether an array path holds the stages of a pipeline (`pipelines[i].spec.stages`).
pub fn holds_stages(path: &[Seg]) -> bool {
    matches!(path, [Seg::Key(p), Seg::Index(_), Seg::Key(s), Seg::Key(st)] if p == "pipelines" && s == "spec" && st == "stages")
}
