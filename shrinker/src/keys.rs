//! Keys of key scripts as the shrinker sees them: a script split into its keys as written
//! ([`tokens`]: `a`, `<Esc>`, `<C-c>`), how simple a key is ([`rank`]) and the simpler keys to try
//! in its place ([`simpler`]).
//!
//! Simplicity, from simplest: `a`; another lower-case letter or a digit; any other character
//! (upper case is Shift+letter, punctuation); a named key without modifiers (`<Esc>`, `<lt>`); a
//! key with modifiers, one step more per modifier. A key is replaced by `a` first, then by itself
//! without its modifiers (`<C-S-x>` → `x`, `<C-Up>` → `<Up>`). Timing is not here: a script's
//! `at_ns` and `interval_ns` and a `Repeat` fault's counts and delays are numbers, which the
//! number-lowering pass moves toward 0 (earlier or equal times).

/// The keys of a key script, each as written (`a`, `<Esc>`, `<C-c>`).
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut token = String::from(c);
        if c == '<' {
            while let Some(&n) = chars.peek() {
                token.push(n);
                chars.next();
                if n == '>' {
                    break;
                }
            }
        }
        out.push(token);
    }
    out
}

/// A bracketed key split into its modifier count and the key itself (`<C-S-Up>` → `(2, "Up")`);
/// `None` for a plain character.
fn bracketed(token: &str) -> Option<(u64, &str)> {
    let body = token.strip_prefix('<')?.strip_suffix('>')?;
    let mut rest = body;
    let mut modifiers = 0;
    // As the key-script parser reads them: a modifier letter and `-` before at least one more
    // character.
    while rest.len() >= 3 && rest.as_bytes()[1] == b'-' && matches!(rest.as_bytes()[0], b'C' | b'A' | b'S' | b'M') {
        modifiers += 1;
        rest = &rest[2..];
    }
    Some((modifiers, rest))
}

/// How far a key is from the simplest one (`a` is 0).
pub fn rank(token: &str) -> u64 {
    match bracketed(token) {
        Some((0, _)) => 3,
        Some((modifiers, _)) => 3 + modifiers,
        None if token == "a" => 0,
        None if token.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) => 1,
        None => 2,
    }
}

/// The sum of the ranks of every key of every script.
pub fn complexity<'a>(scripts: impl IntoIterator<Item = &'a str>) -> u64 {
    scripts.into_iter().flat_map(tokens).map(|t| rank(&t)).sum()
}

/// The keys to try instead of `token`, simplest first, each simpler than it.
pub fn simpler(token: &str) -> Vec<String> {
    let mut out = vec![String::from("a")];
    if let Some((_, key)) = bracketed(token).filter(|(modifiers, _)| *modifiers > 0) {
        let mut chars = key.chars();
        out.push(match (chars.next(), chars.next()) {
            (Some('<'), None) => String::from("<lt>"),
            (Some(c), None) => String::from(c),
            _ => format!("<{key}>"),
        });
    }
    let own = rank(token);
    out.retain(|k| rank(k) < own);
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_as_written() {
        assert_eq!(tokens("ab<Esc><C-S-Up>:"), ["a", "b", "<Esc>", "<C-S-Up>", ":"]);
    }

    #[test]
    fn ranks_order_keys_from_a_to_modified_keys() {
        let ranked: Vec<u64> = ["a", "x", "7", "X", ":", "<Esc>", "<lt>", "<C-x>", "<C-S-Up>"].iter().map(|t| rank(t)).collect();
        assert_eq!(ranked, [0, 1, 1, 2, 2, 3, 3, 4, 5]);
        assert_eq!(complexity(["ab", "<C-c>"]), 5);
    }

    #[test]
    fn simpler_keys_are_a_then_the_key_without_modifiers() {
        let cases: &[(&str, &[&str])] = &[
            ("a", &[]),
            ("q", &["a"]),
            (":", &["a"]),
            ("<Esc>", &["a"]),
            ("<C-c>", &["a", "c"]),
            ("<C-S-Up>", &["a", "<Up>"]),
            ("<A-lt>", &["a", "<lt>"]),
            ("<S-:>", &["a", ":"]),
        ];
        for (token, expected) in cases {
            assert_eq!(simpler(token), *expected, "{token}");
        }
    }
}
