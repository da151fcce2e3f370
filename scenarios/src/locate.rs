//! Locating a validation error in the source text.
//!
//! `Scenario::validate` reports a path (`steps[3].op.task`) and, when there is one, the offending
//! name (`bob`). This module walks the RON text along the path as far as it exists in the file
//! and then looks for the quoted name inside the value it reached, so the error points at the
//! exact spot. Fallbacks, in order: the quoted name anywhere in the file; the deepest part of the
//! path that was found (for example the `limits:` key of `limits.max_events` when `max_events`
//! is not written); line 1, column 1.

use crate::scan::Scan;

/// One step of a path: a field name followed by zero or more list indices (`children[1]`).
struct Segment<'p> {
    field: &'p str,
    indices: Vec<usize>,
}

/// Splits `tasks[0].behaviour.children[1].name` into segments. Unparsable indices are dropped.
fn parse_path(path: &str) -> Vec<Segment<'_>> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut parts = s.split('[');
            let field = parts.next().unwrap_or_default();
            let indices = parts.filter_map(|p| p.trim_end_matches(']').parse().ok()).collect();
            Segment { field, indices }
        })
        .collect()
}

/// A node of the file reached by the walk: where to point at, and the extent of its value.
#[derive(Clone, Copy)]
struct Node {
    anchor: usize,
    start: usize,
    end: usize,
}

/// The 1-based line and column for a validation error at `path` about `name`.
pub(crate) fn locate(src: &str, path: &str, name: Option<&str>) -> (usize, usize) {
    let scan = Scan::new(src);
    let node = walk(&scan, path);
    let quoted = name.map(|n| format!("\"{n}\""));
    let in_node = |q: &String| node.and_then(|n| scan.find(q.as_bytes(), n.start, n.end));
    let anywhere = |q: &String| scan.find(q.as_bytes(), 0, scan.len());
    let offset = quoted
        .as_ref()
        .and_then(|q| in_node(q).or_else(|| anywhere(q)))
        .or(node.map(|n| n.anchor))
        .unwrap_or(0);
    scan.line_col(offset)
}

/// Walks the path from the top-level value; returns the deepest node found, if any.
fn walk(scan: &Scan<'_>, path: &str) -> Option<Node> {
    let root_start = scan.skip_attributes(0);
    let mut node = Node { anchor: root_start, start: root_start, end: scan.skip_value(root_start) };
    let mut found = None;
    for segment in parse_path(path) {
        let Some(field) = field(scan, node, segment.field) else { break };
        node = field;
        found = Some(node);
        for &index in &segment.indices {
            let Some(element) = element(scan, node, index) else { return found };
            node = element;
            found = Some(node);
        }
    }
    found
}

/// The node of the value of field `key` of the struct-like value at `node`.
fn field(scan: &Scan<'_>, node: Node, key: &str) -> Option<Node> {
    let mut i = body_start(scan, node.start)?;
    loop {
        i = scan.skip_ws(i);
        let name = scan.ident(i)?;
        let colon = scan.skip_ws(scan.ident_end(i));
        if scan.at(colon) != Some(b':') {
            return None;
        }
        let value = scan.skip_ws(colon + 1);
        let end = scan.skip_value(value);
        if name == key {
            return Some(Node { anchor: i, start: value, end });
        }
        i = scan.skip_separator(end);
    }
}

/// Just inside the parentheses of a struct-like value: `(..)`, `Name(..)`, `Some(Name(..))`.
fn body_start(scan: &Scan<'_>, i: usize) -> Option<usize> {
    if scan.at(i) == Some(b'(') {
        return Some(i + 1);
    }
    let name = scan.ident(i)?;
    let open = scan.skip_ws(scan.ident_end(i));
    if scan.at(open) != Some(b'(') {
        return None;
    }
    if name == "Some" {
        let inner = scan.skip_ws(open + 1);
        if scan.at(inner) == Some(b'(') || scan.ident(inner).is_some() {
            return body_start(scan, inner);
        }
    }
    Some(open + 1)
}

/// Element number `index` of the list value at `node`.
fn element(scan: &Scan<'_>, node: Node, index: usize) -> Option<Node> {
    let mut i = list_start(scan, node.start)?;
    for _ in 0..index {
        i = scan.skip_ws(i);
        if matches!(scan.at(i), None | Some(b']')) {
            return None;
        }
        i = scan.skip_separator(scan.skip_value(i));
    }
    i = scan.skip_ws(i);
    if matches!(scan.at(i), None | Some(b']')) {
        return None;
    }
    Some(Node { anchor: i, start: i, end: scan.skip_value(i) })
}

/// Just inside the brackets of a list value: `[..]` or `Some([..])`.
fn list_start(scan: &Scan<'_>, i: usize) -> Option<usize> {
    match scan.at(i) {
        Some(b'[') => Some(i + 1),
        _ if scan.ident(i) == Some("Some") => {
            let open = scan.skip_ws(scan.ident_end(i));
            (scan.at(open) == Some(b'(')).then(|| list_start(scan, scan.skip_ws(open + 1)))?
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::locate;

    const SRC: &str = "#![enable(implicit_some)]\n\
        Scenario(\n\
        \x20 name: \"t\", // a \"bob\" in a comment outside the path\n\
        \x20 limits: (max_events: 0),\n\
        \x20 tasks: [\n\
        \x20   (name: \"a\", behaviour: Supervisor(children: [(name: \"b\", behaviour: Idle), (name: \"a\", behaviour: Idle)])),\n\
        \x20 ],\n\
        \x20 steps: [\n\
        \x20   (at_ns: 5, op: Use(cap: \"c\", task: \"a\")),\n\
        \x20   /* skipped */ (op: Grant(task: \"bob\", cap: \"c\", kind: \"k\")),\n\
        \x20 ],\n\
        )\n";

    #[test]
    fn finds_name_inside_path() {
        assert_eq!(locate(SRC, "steps[1].op.task", Some("bob")), (10, 36));
    }

    #[test]
    fn finds_nested_list_element() {
        assert_eq!(locate(SRC, "tasks[0].behaviour.children[1].name", Some("a")), (6, 87));
    }

    #[test]
    fn points_at_field_key_without_name() {
        assert_eq!(locate(SRC, "limits.max_events", None), (4, 12));
    }

    #[test]
    fn falls_back_to_deepest_found_key() {
        assert_eq!(locate(SRC, "workload.mix", None), (1, 1));
        assert_eq!(locate(SRC, "limits.max_time_ns", None), (4, 3));
    }
}
