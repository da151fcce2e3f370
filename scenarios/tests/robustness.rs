//! Nothing a user writes may panic the loader: arbitrary text, and the valid example with random
//! edits (which exercises RON errors as well as validation errors and their location search).

use proptest::prelude::*;
use scenarios::parse_scenario;

const EXAMPLE: &str = include_str!("data/example.ron");

/// Applies `(position, replacement)` edits to the example, on character boundaries.
fn mutate(edits: &[(usize, String, usize)]) -> String {
    let mut chars: Vec<char> = EXAMPLE.chars().collect();
    for (pos, insert, delete) in edits {
        let at = pos % (chars.len() + 1);
        let end = (at + delete).min(chars.len());
        chars.splice(at..end, insert.chars());
    }
    chars.into_iter().collect()
}

fn check(text: &str) {
    if let Err(e) = parse_scenario(text, "fuzz.ron") {
        let lines = text.lines().count().max(1);
        if let Some(line) = e.line {
            assert!(line >= 1 && line <= lines + 1, "line {line} outside 1..={}: {e}", lines + 1);
        }
        assert!(!e.message.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        check(&text);
    }

    #[test]
    fn edited_example_never_panics(edits in prop::collection::vec((any::<usize>(), "[\\[\\](){}\",:a-z0-9_ #/*'-]{0,4}", 0usize..6), 1..4)) {
        check(&mutate(&edits));
    }

    #[test]
    fn renamed_names_are_located(name in "[a-z]{1,8}") {
        // Replacing a referenced task name makes validation fail; the error must still locate.
        let text = EXAMPLE.replace("task: \"auditor\", cap: \"audit\", kind", &format!("task: \"{name}x\", cap: \"audit\", kind"));
        let err = parse_scenario(&text, "t.ron").expect_err("unknown task");
        prop_assert_eq!(err.line, Some(33), "{}", err);
    }
}
