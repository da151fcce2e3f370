//! Charts as inline SVG, drawn with `plotters` (SVG backend; text is left to the browser, so no
//! font files are needed): horizontal bars, paired bars (before/after), and line charts on a
//! linear, logarithmic or "nines" (percentile) x axis.

use crate::numbers::axis;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, SegmentValue, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

const WIDTH: u32 = 900;
const FONT: &str = "sans-serif";
const CAPTION: u32 = 20;
const LABEL: u32 = 15;
const VALUE: u32 = 14;
/// The faint grid between labelled ticks.
const GRID: RGBColor = RGBColor(242, 242, 242);
/// Colours of the series, in order (a colour-blind-safe set).
const COLOURS: [RGBColor; 6] = [RGBColor(0, 114, 178), RGBColor(230, 159, 0), RGBColor(0, 158, 115), RGBColor(204, 121, 167), RGBColor(86, 180, 233), RGBColor(213, 94, 0)];

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

fn failed(e: impl std::fmt::Display) -> String {
    format!("cannot draw a chart: {e}")
}

/// The largest value, or 1 when there is none worth an axis (plotters cannot lay out the ticks of a
/// vanishing range).
fn axis_max(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.filter(|v| v.is_finite()).fold(0.0, f64::max);
    if max > 1e-6 {
        max
    } else {
        1.0
    }
}

/// Pixels for a column of labels (the naive layout estimate of plotters, plus room).
fn label_width(labels: impl IntoIterator<Item = usize>) -> u32 {
    labels.into_iter().max().unwrap_or(0) as u32 * 8 + 18
}

/// Horizontal bars, one per `(label, value)`, top to bottom, each with its value written after it.
pub fn bars(title: &str, unit: &str, bars: &[(String, f64)]) -> Result<String, String> {
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    let values: Vec<f64> = bars.iter().map(|b| b.1).collect();
    grouped(title, unit, &labels, &[("", &values)], false)
}

/// Horizontal bars in groups: for each label one bar per series (e.g. before and after), with a
/// legend when the series are named; `log` draws the value axis logarithmically.
pub fn grouped(title: &str, unit: &str, labels: &[String], series: &[(&str, &[f64])], log: bool) -> Result<String, String> {
    if labels.is_empty() {
        return grouped(title, unit, &["no data".to_string()], &[("", &[0.0])], log);
    }
    let rows = labels.len().max(1);
    let per_row = series.len().max(1) as u32;
    let height = 100 + rows as u32 * (10 + 18 * per_row);
    let max = axis_max(series.iter().flat_map(|(_, v)| v.iter().copied()));
    let spec = BarSpec { title, unit, labels, series, left: label_width(labels.iter().map(|l| l.chars().count())) };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        if log {
            draw_bars(&root, &spec, (0.8f64..max * 3.0).log_scale(), 0.8)?;
        } else {
            draw_bars(&root, &spec, 0f64..max * 1.18, 0.0)?;
        }
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

struct BarSpec<'a> {
    title: &'a str,
    unit: &'a str,
    labels: &'a [String],
    series: &'a [(&'a str, &'a [f64])],
    /// Pixels for the labels.
    left: u32,
}

/// Draws the bars from `base` (0, or the bottom of a log axis) on the value axis `x`.
fn draw_bars<X>(root: &DrawingArea<SVGBackend<'_>, Shift>, spec: &BarSpec<'_>, x: X, base: f64) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let BarSpec { title, unit, labels, series, left } = *spec;
    let rows = labels.len();
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, CAPTION))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(left)
        .build_cartesian_2d(x, (0..rows).into_segmented())
        .map_err(failed)?;
    // Row 0 is drawn at the top: segment `rows - 1 - i` holds label `i`.
    let label_of = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(s) | SegmentValue::Exact(s) => labels.get(rows.wrapping_sub(1).wrapping_sub(*s)).cloned().unwrap_or_default(),
        SegmentValue::Last => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&label_of)
        .x_desc(unit)
        .x_label_formatter(&|v| axis(*v))
        .label_style((FONT, LABEL))
        .light_line_style(GRID)
        .draw()
        .map_err(failed)?;
    let n = series.len().max(1) as u32;
    for (k, (name, values)) in series.iter().enumerate() {
        let c = colour(k);
        // Within its row, series `k` takes a 16-pixel band, from the top down.
        let (top, bottom) = (5 + 18 * k as u32, 7 + 18 * (n - 1 - k as u32));
        let boxes = values.iter().enumerate().map(|(i, v)| {
            let segment = rows - 1 - i;
            let mut r = Rectangle::new([(base, SegmentValue::Exact(segment)), (v.max(base), SegmentValue::Exact(segment + 1))], c.filled());
            r.set_margin(top, bottom, 0, 0);
            r
        });
        let drawn = chart.draw_series(boxes).map_err(failed)?;
        if !name.is_empty() {
            drawn.label(*name).legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        }
        let texts = values.iter().enumerate().map(|(i, v)| {
            let at = (v.max(base), SegmentValue::Exact(rows - i));
            EmptyElement::at(at) + Text::new(axis(*v), (5, top as i32), (FONT, VALUE).into_font())
        });
        chart.draw_series(texts).map_err(failed)?;
    }
    if series.iter().any(|(n, _)| !n.is_empty()) {
        chart.configure_series_labels().position(SeriesLabelPosition::LowerRight).background_style(WHITE.mix(0.9)).border_style(BLACK).label_font((FONT, LABEL)).draw().map_err(failed)?;
    }
    Ok(())
}

/// A named line of `(x, y)` points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// How a line chart's x axis is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XAxis {
    Linear,
    Log,
    /// Percentiles: `x = -log10(1 - q)`, labelled `50%`, `90%`, `99%`, `99.9%`.
    Nines,
}

/// A line chart: every series with its points marked, y from zero, a legend for two or more.
pub fn lines(title: &str, x_desc: &str, y_desc: &str, series: &[Series], x_axis: XAxis) -> Result<String, String> {
    // Only finite points (and positive x on a log axis) can be drawn.
    let drawable = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite() && (x_axis != XAxis::Log || p.0 > 0.0);
    let series: Vec<Series> = series.iter().map(|s| Series { name: s.name.clone(), points: s.points.iter().copied().filter(drawable).collect() }).collect();
    let series = series.as_slice();
    let xs = || series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (lo, hi) = (xs().fold(f64::INFINITY, f64::min), xs().fold(f64::NEG_INFINITY, f64::max));
    let (lo, hi) = match (lo.is_finite(), hi > lo) {
        (true, true) => (lo, hi),
        (true, false) => (lo, lo + lo.abs().max(1.0)),
        (false, _) => (1.0, 2.0),
    };
    // Headroom above the lines for the legend, one row per series.
    let legend = if series.len() > 1 { 0.1 * series.len() as f64 } else { 0.0 };
    let y_max = axis_max(series.iter().flat_map(|s| s.points.iter().map(|p| p.1))) * (1.12 + legend);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let spec = LineSpec { title, x_desc, y_desc, series, y_max };
        match x_axis {
            XAxis::Linear => draw_lines(&root, &spec, lo.min(0.0)..hi, None, &|v| axis(*v))?,
            XAxis::Log => draw_lines(&root, &spec, (lo / 1.3..hi * 1.3).log_scale(), None, &|v| axis(*v))?,
            XAxis::Nines => {
                let nines = hi.max(1.0).ceil();
                draw_lines(&root, &spec, 0f64..nines, Some(nines as usize + 1), &nines_label)?
            }
        }
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// `x = -log10(1 - q)` back to a percentile: 0 → `0%`, 1 → `90%`, 2 → `99%`, 3 → `99.9%`.
fn nines_label(x: &f64) -> String {
    let q = 100.0 * (1.0 - 10f64.powf(-x));
    let text = format!("{q:.4}");
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

/// The percentile axis position of quantile `q`.
pub fn nines(q: f64) -> f64 {
    -(1.0 - q).max(1e-9).log10()
}

struct LineSpec<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    series: &'a [Series],
    y_max: f64,
}

fn draw_lines<X>(root: &DrawingArea<SVGBackend<'_>, Shift>, spec: &LineSpec<'_>, x: X, x_ticks: Option<usize>, x_label: &dyn Fn(&f64) -> String) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(root)
        .caption(spec.title, (FONT, CAPTION))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, 0f64..spec.y_max)
        .map_err(failed)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(spec.x_desc).y_desc(spec.y_desc).x_label_formatter(x_label).y_label_formatter(&|v| axis(*v)).label_style((FONT, LABEL)).light_line_style(GRID);
    if let Some(n) = x_ticks {
        mesh.x_labels(n);
    }
    mesh.draw().map_err(failed)?;
    for (i, s) in spec.series.iter().enumerate() {
        let c = colour(i);
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
            .map_err(failed)?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        if s.points.len() <= 80 {
            chart.draw_series(s.points.iter().map(|p| Circle::new(*p, 3, c.filled()))).map_err(failed)?;
        }
    }
    if spec.series.len() > 1 {
        chart.configure_series_labels().position(SeriesLabelPosition::UpperLeft).background_style(WHITE.mix(0.9)).border_style(BLACK).label_font((FONT, LABEL)).draw().map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_axis_labels_read_as_percentiles() {
        let labels: Vec<String> = [0.0, 1.0, 2.0, 3.0].iter().map(nines_label).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%"]);
        assert!((nines(0.99) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn charts_are_svg_with_their_labels() {
        let svg = bars("Throughput", "messages/s", &[("model".into(), 1.2e6), ("minimal loop".into(), 9e6)]).expect("draws");
        assert!(svg.starts_with("<svg") && svg.contains("minimal loop") && svg.contains("Throughput"), "{svg}");
        let line = lines("Scaling", "tasks", "ns/event", &[Series { name: "tasks".into(), points: vec![(8.0, 300.0), (1024.0, 390.0)] }], XAxis::Log).expect("draws");
        assert!(line.contains("<polyline") || line.contains("<path"), "{line}");
        let empty = lines("Nothing yet", "s", "runs", &[], XAxis::Linear).expect("an empty chart still draws");
        assert!(empty.contains("Nothing yet"));
        let odd = Series { name: "odd".into(), points: vec![(0.0, f64::NAN), (5.0, f64::INFINITY), (7.0, 0.0)] };
        for axis in [XAxis::Linear, XAxis::Log, XAxis::Nines] {
            lines("Degenerate", "x", "y", std::slice::from_ref(&odd), axis).expect("degenerate data still draws");
        }
        bars("Zeros", "x", &[("none".into(), 0.0), ("inf".into(), f64::INFINITY)]).expect("zero bars draw");
        assert!(bars("Empty", "x", &[]).expect("no bars still draw").contains("no data"));
        grouped("Log", "x", &["a".into()], &[("before", &[0.0]), ("after", &[1e6])], true).expect("log bars draw");
    }
}
