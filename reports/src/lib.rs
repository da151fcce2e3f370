//! One renderer for benchmark and campaign results: markdown, a self-contained HTML page with SVG
//! charts, and JUnit XML.
//!
//! - [`results`]: the benchmark result files (`target/bench-results/<bench>.json`), their tables
//!   and the performance targets they check.
//! - [`campaign`]: a campaign's `summary.json` and the four report files a campaign writes.
//! - [`table`], [`numbers`]: tables (terminal, markdown) and how figures are written.
//! - [`charts`]: bar and line charts as SVG (`plotters`).
//! - [`document`]: the report as sections, rendered through `minijinja` templates.
//! - [`benchmarks`], [`compose`]: benchmark sections and the whole report of many inputs.
//! - [`inputs`]: reading result files and campaign directories for the `report` binary.

pub mod benchmarks;
pub mod campaign;
pub mod charts;
pub mod compose;
pub mod coverage;
pub mod document;
pub mod inputs;
pub mod numbers;
pub mod results;
pub mod table;

pub use document::{Chart, Document, Section};
pub use results::{BenchResult, Check, Figures, Target};
pub use table::Table;

use std::path::{Path, PathBuf};

/// Renders the inputs into `out`: `report.md`, `report.html`, `junit.xml` (each atomically);
/// returns the paths written.
pub fn render(inputs: &[inputs::Input], out: &Path) -> Result<Vec<PathBuf>, String> {
    let doc = compose::document(inputs)?;
    let files = [("report.md", doc.markdown()?), ("report.html", doc.html()?), ("junit.xml", compose::junit(inputs)?)];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        replay::files::write_atomically(&path, text.as_bytes()).map_err(|e| e.to_string())?;
        written.push(path);
    }
    Ok(written)
}
