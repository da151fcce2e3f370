//! A small lexical scanner over RON source text: just enough to skip whitespace, comments and
//! whole values, read field names, and find list elements, so that a path such as
//! `steps[3].op.task` can be mapped back to a byte offset in the file (see `locate`).
//!
//! It never fails: on malformed input it stops at the end of the text. It only runs on text that
//! RON already parsed successfully, so in practice the input is well formed.

/// A view of RON source text; positions are byte offsets into it.
#[derive(Clone, Copy)]
pub(crate) struct Scan<'a> {
    src: &'a [u8],
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Characters that end an atom (a number, `true`, ...).
fn ends_atom(c: u8) -> bool {
    c.is_ascii_whitespace() || b",:()[]{}\"'/".contains(&c)
}

impl<'a> Scan<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Scan { src: src.as_bytes() }
    }

    pub(crate) fn len(&self) -> usize {
        self.src.len()
    }

    /// The byte at `i`, if any.
    pub(crate) fn at(&self, i: usize) -> Option<u8> {
        self.src.get(i).copied()
    }

    /// Skips whitespace, `//` line comments and (nested) `/* */` block comments.
    pub(crate) fn skip_ws(&self, mut i: usize) -> usize {
        loop {
            match (self.at(i), self.at(i + 1)) {
                (Some(c), _) if c.is_ascii_whitespace() => i += 1,
                (Some(b'/'), Some(b'/')) => i = self.line_end(i),
                (Some(b'/'), Some(b'*')) => i = self.block_comment_end(i),
                _ => return i,
            }
        }
    }

    fn line_end(&self, i: usize) -> usize {
        self.src[i..].iter().position(|&c| c == b'\n').map_or(self.len(), |n| i + n)
    }

    fn block_comment_end(&self, mut i: usize) -> usize {
        let mut depth = 0usize;
        while i < self.len() {
            match (self.at(i), self.at(i + 1)) {
                (Some(b'/'), Some(b'*')) => (depth, i) = (depth + 1, i + 2),
                (Some(b'*'), Some(b'/')) if depth == 1 => return i + 2,
                (Some(b'*'), Some(b'/')) => (depth, i) = (depth - 1, i + 2),
                _ => i += 1,
            }
        }
        self.len()
    }

    /// The end of the identifier starting at `i` (`i` itself when there is none).
    pub(crate) fn ident_end(&self, i: usize) -> usize {
        if !self.at(i).is_some_and(is_ident_start) {
            return i;
        }
        self.src[i..].iter().position(|&c| !is_ident_char(c)).map_or(self.len(), |n| i + n)
    }

    /// The identifier starting at `i`, if any.
    pub(crate) fn ident(&self, i: usize) -> Option<&'a str> {
        let end = self.ident_end(i);
        if end == i {
            return None;
        }
        std::str::from_utf8(&self.src[i..end]).ok()
    }

    /// The end of the value starting at `i`.
    pub(crate) fn skip_value(&self, i: usize) -> usize {
        match self.at(i) {
            None => i,
            Some(b'"') => self.string_end(i),
            Some(b'\'') => self.char_end(i),
            Some(b'(' | b'[' | b'{') => self.group_end(i),
            Some(b'r') if matches!(self.at(i + 1), Some(b'#' | b'"')) => self.raw_string_end(i + 1),
            Some(b'b') if self.at(i + 1) == Some(b'"') => self.string_end(i + 1),
            Some(c) if is_ident_start(c) => self.named_value_end(i),
            Some(_) => self.atom_end(i),
        }
    }

    /// An identifier, optionally followed by a parenthesised body (`Some(..)`, `Grant(..)`).
    fn named_value_end(&self, i: usize) -> usize {
        let end = self.ident_end(i);
        let next = self.skip_ws(end);
        if self.at(next) == Some(b'(') {
            self.group_end(next)
        } else {
            end
        }
    }

    fn atom_end(&self, i: usize) -> usize {
        let end = self.src[i..].iter().position(|&c| ends_atom(c)).map_or(self.len(), |n| i + n);
        end.max(i + 1)
    }

    fn string_end(&self, mut i: usize) -> usize {
        i += 1;
        while let Some(c) = self.at(i) {
            match c {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        self.len()
    }

    /// A raw string `r#"..."#`; `i` is just after the `r`.
    fn raw_string_end(&self, i: usize) -> usize {
        let hashes = self.src[i..].iter().take_while(|&&c| c == b'#').count();
        let mut closing = vec![b'"'];
        closing.extend(std::iter::repeat_n(b'#', hashes));
        let body = i + hashes + 1;
        let rest = self.src.get(body..).unwrap_or(&[]);
        rest.windows(closing.len()).position(|w| w == closing.as_slice()).map_or(self.len(), |n| body + n + closing.len())
    }

    fn char_end(&self, mut i: usize) -> usize {
        i += 1;
        if self.at(i) == Some(b'\\') {
            i += 2;
        }
        self.src.get(i..).and_then(|r| r.iter().position(|&c| c == b'\'')).map_or(self.len(), |n| i + n + 1)
    }

    /// The end of a bracketed group starting at `i` (`(`, `[` or `{`).
    fn group_end(&self, i: usize) -> usize {
        let mut j = i + 1;
        loop {
            j = self.skip_ws(j);
            match self.at(j) {
                None => return self.len(),
                Some(b')' | b']' | b'}') => return j + 1,
                Some(b',' | b':') => j += 1,
                Some(_) => j = self.skip_value(j),
            }
        }
    }

    /// Skips `#![enable(...)]` attributes and whitespace at the start of the file.
    pub(crate) fn skip_attributes(&self, mut i: usize) -> usize {
        loop {
            i = self.skip_ws(i);
            if self.at(i) != Some(b'#') {
                return i;
            }
            i += 1;
            if self.at(i) == Some(b'!') {
                i += 1;
            }
            i = self.skip_ws(i);
            if self.at(i) == Some(b'[') {
                i = self.group_end(i);
            }
        }
    }

    /// Skips a separating comma (and the whitespace around it) after a value.
    pub(crate) fn skip_separator(&self, i: usize) -> usize {
        let i = self.skip_ws(i);
        if self.at(i) == Some(b',') {
            self.skip_ws(i + 1)
        } else {
            i
        }
    }

    /// 1-based line and column (in characters) of byte offset `offset`.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.src[..offset.min(self.len())];
        let line = 1 + before.iter().filter(|&&c| c == b'\n').count();
        let line_start = before.iter().rposition(|&c| c == b'\n').map_or(0, |n| n + 1);
        let column = 1 + String::from_utf8_lossy(&before[line_start..]).chars().count();
        (line, column)
    }

    /// The first occurrence of `needle` in `start..end`.
    pub(crate) fn find(&self, needle: &[u8], start: usize, end: usize) -> Option<usize> {
        let hay = self.src.get(start..end.min(self.len()))?;
        if needle.is_empty() || hay.len() < needle.len() {
            return None;
        }
        hay.windows(needle.len()).position(|w| w == needle).map(|n| start + n)
    }
}
