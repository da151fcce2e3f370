//! The report as a document: a title, sections of paragraphs, tables and charts; rendered to
//! markdown (tables and text; charts need the HTML page) and to a self-contained HTML page (inline
//! SVG, inline CSS), both through `minijinja` templates in `templates/`.

use crate::table::Table;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value};
use minijinja::Environment;
use serde::Serialize;

/// A whole report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Document {
    pub title: String,
    pub intro: Vec<String>,
    pub sections: Vec<Section>,
}

/// One section: a heading, then paragraphs, tables, charts and notes in that order. Text may
/// hold `code` in backticks (markdown keeps it, HTML shows it as code).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Section {
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub tables: Vec<Table>,
    pub charts: Vec<Chart>,
    pub notes: Vec<String>,
}

/// An inline SVG chart and its caption.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chart {
    pub caption: String,
    pub svg: String,
}

impl Section {
    pub fn new(heading: impl Into<String>) -> Self {
        Section { heading: heading.into(), ..Section::default() }
    }

    /// The section's anchor in the HTML page: its heading in lower case, words joined by `-`.
    pub fn anchor(&self) -> String {
        let words: Vec<String> = self.heading.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
        words.join("-")
    }
}

/// A table as the templates see it: its markdown rendered here, its cells for HTML.
#[derive(Serialize)]
struct TableView<'a> {
    title: &'a str,
    /// Whether any column has a name (an overview of name/value rows has none).
    header: bool,
    columns: &'a [String],
    rows: Vec<Vec<(bool, &'a str)>>,
    markdown: String,
}

#[derive(Serialize)]
struct SectionView<'a> {
    heading: &'a str,
    anchor: String,
    paragraphs: &'a [String],
    tables: Vec<TableView<'a>>,
    charts: &'a [Chart],
    notes: &'a [String],
}

#[derive(Serialize)]
struct PageView<'a> {
    title: &'a str,
    intro: &'a [String],
    sections: Vec<SectionView<'a>>,
}

fn view(section: &Section) -> SectionView<'_> {
    let tables = section
        .tables
        .iter()
        .map(|t| TableView {
            title: &t.title,
            header: t.columns.iter().any(|c| !c.is_empty()),
            columns: &t.columns,
            rows: t.rows.iter().map(|r| r.iter().enumerate().map(|(i, c)| (t.code_columns.contains(&i), c.as_str())).collect()).collect(),
            markdown: t.markdown(),
        })
        .collect();
    SectionView { heading: &section.heading, anchor: section.anchor(), paragraphs: &section.paragraphs, tables, charts: &section.charts, notes: &section.notes }
}

/// The `code` filter of the HTML template: the text escaped, with `backticked` spans as `<code>`
/// (text with an unmatched backtick stays plain text).
fn inline_code(text: &str) -> Value {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    if escaped.matches('`').count() % 2 == 1 {
        return Value::from_safe_string(escaped);
    }
    // Odd parts are inside backticks.
    let html: String = escaped.split('`').enumerate().map(|(i, part)| if i % 2 == 1 { format!("<code>{part}</code>") } else { part.to_string() }).collect();
    Value::from_safe_string(html)
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.add_filter("code", |text: &str| inline_code(text));
    let syntax = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build().unwrap_or_else(|e| unreachable!("a valid syntax: {e}"));
    env.set_syntax(syntax);
    // `.html` names are auto-escaped; `.md` names are not.
    let templates = [("report.html", include_str!("../templates/report.html")), ("report.md", include_str!("../templates/report.md"))];
    for (name, source) in templates {
        env.add_template(name, source).unwrap_or_else(|e| unreachable!("the built-in template {name} parses: {e}"));
    }
    env
}

impl Document {
    fn render(&self, template: &str) -> Result<String, String> {
        let env = environment();
        let page = PageView { title: &self.title, intro: &self.intro, sections: self.sections.iter().map(view).collect() };
        let tpl = env.get_template(template).map_err(|e| e.to_string())?;
        tpl.render(Value::from(Serde(&page))).map_err(|e| format!("cannot render {template}: {e}"))
    }

    /// Markdown: title, paragraphs and tables (charts are only in the HTML page).
    pub fn markdown(&self) -> Result<String, String> {
        self.render("report.md")
    }

    /// A self-contained HTML page with inline CSS and SVG.
    pub fn html(&self) -> Result<String, String> {
        self.render("report.html")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Document {
        let mut table = Table::new("Sizes <b>", &["name", "cmd"]).code(&[1]);
        table.row(vec!["a & b".into(), "cargo run".into()]);
        let mut section = Section::new("Sizes & shapes");
        section.paragraphs.push("Some <text>.".into());
        section.tables.push(table);
        section.charts.push(Chart { caption: "A chart".into(), svg: "<svg id=\"c\"></svg>".into() });
        section.notes.push("Run `cargo bench` first.".into());
        Document { title: "Report".into(), intro: vec!["Intro.".into()], sections: vec![section] }
    }

    #[test]
    fn html_escapes_text_but_not_charts() {
        let html = document().html().expect("renders");
        assert!(html.contains("<svg id=\"c\"></svg>"), "{html}");
        assert!(html.contains("a &amp; b") && html.contains("Some &lt;text&gt;.") && html.contains("id=\"sizes-shapes\""), "{html}");
        assert!(html.contains("<code>cargo run</code>"), "{html}");
        assert!(html.contains("Run <code>cargo bench</code> first."), "{html}");
    }

    #[test]
    fn inline_code_is_escaped_and_unmatched_backticks_stay_text() {
        assert_eq!(inline_code("a `<b>` c").to_string(), "a <code>&lt;b&gt;</code> c");
        assert_eq!(inline_code("one ` tick").to_string(), "one ` tick");
    }

    #[test]
    fn markdown_has_the_tables_and_no_svg() {
        let md = document().markdown().expect("renders");
        assert_eq!(md, "# Report\n\nIntro.\n\n## Sizes & shapes\n\nSome <text>.\n\n**Sizes <b>**\n\n| name | cmd |\n|---|---|\n| a & b | `cargo run` |\n\n- Run `cargo bench` first.\n\n");
    }
}
