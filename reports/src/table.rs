//! Tables: the one shape every figure is shown in, printed aligned on a terminal by the
//! benchmarks, written as markdown and HTML by the reports.

use serde::Serialize;
use std::fmt::Write as _;

/// A table of text cells; the first `columns` name the cells of every row.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns whose cells are code (commands, signatures): backticks in markdown, monospace in HTML.
    pub code_columns: Vec<usize>,
}

impl Table {
    pub fn new(title: impl Into<String>, columns: &[&str]) -> Self {
        Table { title: title.into(), columns: columns.iter().map(|c| c.to_string()).collect(), rows: Vec::new(), code_columns: Vec::new() }
    }

    /// Marks columns as code.
    pub fn code(mut self, columns: &[usize]) -> Self {
        self.code_columns = columns.to_vec();
        self
    }

    /// Adds a row (missing cells are empty, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.columns.len(), String::new());
        self.rows.push(cells);
    }

    /// Aligned plain text for a terminal, the title on its own line.
    pub fn text(&self) -> String {
        let width = |i: usize| self.rows.iter().map(|r| r[i].chars().count()).chain([self.columns[i].chars().count()]).max().unwrap_or(0);
        let widths: Vec<usize> = (0..self.columns.len()).map(width).collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            padded.join("  ").trim_end().to_string() + "\n"
        };
        let mut out = if self.title.is_empty() { String::new() } else { format!("{}\n", self.title) };
        out += &line(&self.columns);
        out += &line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
        for row in &self.rows {
            out += &line(row);
        }
        out
    }

    /// A markdown (GitHub) table without the title.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| {} |", self.columns.iter().map(|c| markdown_cell(c, false)).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(self.columns.len()));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().enumerate().map(|(i, c)| markdown_cell(c, self.code_columns.contains(&i))).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }
}

/// One markdown cell: pipes escaped, line breaks flattened, code in backticks.
fn markdown_cell(text: &str, code: bool) -> String {
    let flat = text.replace('\n', " ").replace('|', "\\|");
    if code && !flat.is_empty() {
        format!("`{flat}`")
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new("Sizes", &["name", "value"]).code(&[0]);
        t.row(vec!["a|b".into(), "1".into()]);
        t.row(vec!["long name".into()]);
        t
    }

    #[test]
    fn text_is_aligned_and_markdown_is_escaped() {
        assert_eq!(table().text(), "Sizes\nname       value\n---------  -----\na|b        1\nlong name\n");
        assert_eq!(table().markdown(), "| name | value |\n|---|---|\n| `a\\|b` | 1 |\n| `long name` |  |\n");
    }
}
