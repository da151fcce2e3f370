//! The editor's text buffer and cursor (architecture Phase 15, "Core Design": `TextBuffer` is a
//! `Vec<String>`, the cursor is a position with boundary checking).
//!
//! A buffer always has at least one line; its content is its lines joined with `\n`, so loading
//! any text and reading it back gives the same text (a trailing newline is an empty last line).
//! Columns count characters, not bytes.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// A place in the buffer: 0-based row and column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    pub row: usize,
    pub col: usize,
}

/// The cursor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    position: Position,
}

impl Cursor {
    pub fn position(&self) -> Position {
        self.position
    }

    pub(super) fn set(&mut self, row: usize, col: usize) {
        self.position = Position { row, col };
    }
}

/// Lines of text (never none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextBuffer {
    lines: Vec<String>,
}

impl Default for TextBuffer {
    fn default() -> Self {
        TextBuffer { lines: vec![String::new()] }
    }
}

/// The byte index of character `col` of `line` (its length if `col` is past the end).
fn byte_index(line: &str, col: usize) -> usize {
    line.char_indices().nth(col).map_or(line.len(), |(i, _)| i)
}

impl TextBuffer {
    /// The buffer holding `content` (split at every `\n`).
    pub fn from_content(content: &str) -> Self {
        TextBuffer { lines: content.split('\n').map(String::from).collect() }
    }

    /// The lines joined with `\n`.
    pub fn content(&self) -> String {
        self.lines.join("\n")
    }

    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// Line `row` (empty past the end).
    pub fn line(&self, row: usize) -> &str {
        self.lines.get(row).map_or("", String::as_str)
    }

    /// Characters on line `row`.
    pub fn line_len(&self, row: usize) -> usize {
        self.line(row).chars().count()
    }

    /// Inserts `c` before character `col` of line `row`.
    pub fn insert_char(&mut self, row: usize, col: usize, c: char) {
        let line = &mut self.lines[row];
        let at = byte_index(line, col);
        line.insert(at, c);
    }

    /// Removes character `col` of line `row`; whether there was one.
    pub fn delete_char(&mut self, row: usize, col: usize) -> bool {
        let line = &mut self.lines[row];
        let at = byte_index(line, col);
        if at >= line.len() {
            return false;
        }
        line.remove(at);
        true
    }

    /// Splits line `row` before character `col`; the rest becomes line `row + 1`.
    pub fn split_line(&mut self, row: usize, col: usize) {
        let line = &mut self.lines[row];
        let rest = line.split_off(byte_index(line, col));
        self.lines.insert(row + 1, rest);
    }

    /// Appends line `row + 1` to line `row`; whether there was a next line.
    pub fn join_with_next(&mut self, row: usize) -> bool {
        if row + 1 >= self.lines.len() {
            return false;
        }
        let next = self.lines.remove(row + 1);
        self.lines[row].push_str(&next);
        true
    }
}
