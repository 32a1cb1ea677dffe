//! Chart descriptions: what a chart shows, independent of how it is drawn.
//!
//! A [`Chart`] holds the numbers once. The `draw` module turns it into SVG or PNG and
//! [`Chart::sections`] into tables, so a chart and its table always show the same values in
//! the same units.
use super::draw;
use super::input::PlanDoc;
use super::table::{fmt_int, fmt_num, Section};
use crate::plan::Plan;
use std::path::Path;

/// One chart: a title over one or more panels stacked top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File stem for `charts/<id>.svg` and `.png`.
    pub id: String,
    pub title: String,
    pub panels: Vec<Panel>,
}

/// A panel with its own axes and legend.
#[derive(Debug, Clone, PartialEq)]
pub enum Panel {
    Bars(Bars),
    Lines(Lines),
}

/// Horizontal bars: one row of bars per category, grouped or stacked.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// Subtitle when a chart has several panels.
    pub title: Option<String>,
    /// Value axis label with its unit, e.g. `memory per GPU (GiB)`.
    pub axis: String,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// Series stack into one bar per category instead of one bar each.
    pub stacked: bool,
    /// A value each bar is measured against (usable VRAM, theoretical bandwidth), drawn as a tick.
    pub reference: Option<Reference>,
    /// Values are US dollars (`$1,234`).
    pub money: bool,
}

/// One value per category; `None` where the series has no value for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// Reference values, indexed `[category][bar]` (bar = series for grouped bars, 0 for a stack).
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub name: String,
    pub values: Vec<Vec<Option<f64>>>,
}

/// Lines over a numeric x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Lines {
    pub title: Option<String>,
    /// x axis label with unit.
    pub x_axis: String,
    /// y axis label with unit.
    pub y_axis: String,
    /// Powers of two on the x axis (matrix sizes, sequence lengths).
    pub x_log2: bool,
    pub series: Vec<Line>,
    /// Horizontal reference lines (catalog peaks), dashed.
    pub levels: Vec<Level>,
    /// Marked x intervals (throttling).
    pub spans: Vec<Spans>,
    /// The table summarises each series (min, mean, max) instead of listing every point.
    pub summarize: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub name: String,
    pub y: f64,
    /// The series this level belongs to (drawn in its colour).
    pub series: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spans {
    pub name: String,
    pub ranges: Vec<(f64, f64)>,
}

/// Why a chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("drawing '{chart}': {message}")]
    Draw { chart: String, message: String },
    #[error("reading the plan: {0}")]
    Plan(String),
    #[error("the embedded chart font could not be loaded")]
    Font,
    #[error("encoding '{chart}' as PNG: {message}")]
    Png { chart: String, message: String },
    #[error("'{path}': a chart file must end in .svg or .png")]
    Extension { path: String },
    #[error("nothing to chart: no option or measurement has data")]
    Empty,
    #[error("writing '{path}': {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// A value as charts and tables print it.
pub fn fmt_value(v: f64, money: bool) -> String {
    if money {
        format!("${}", fmt_int(v))
    } else {
        fmt_num(v)
    }
}

impl Chart {
    /// SVG text of the chart.
    pub fn to_svg(&self) -> Result<String, ChartError> {
        draw::svg(self)
    }

    /// PNG bytes of the chart, drawn with the embedded font.
    pub fn to_png(&self) -> Result<Vec<u8>, ChartError> {
        draw::png(self)
    }

    /// One table per panel, from the same numbers the chart draws.
    pub fn sections(&self) -> Vec<Section> {
        self.panels
            .iter()
            .map(|p| {
                let sub = match p {
                    Panel::Bars(b) => b.title.as_deref(),
                    Panel::Lines(l) => l.title.as_deref(),
                };
                let title = match sub {
                    Some(s) => format!("{}: {s}", self.title),
                    None => self.title.clone(),
                };
                match p {
                    Panel::Bars(b) => b.section(&title),
                    Panel::Lines(l) => l.section(&title),
                }
            })
            .collect()
    }

    /// Whether any panel has something to draw.
    pub fn has_data(&self) -> bool {
        self.panels.iter().any(|p| match p {
            Panel::Bars(b) => b
                .series
                .iter()
                .any(|s| s.values.iter().any(Option::is_some)),
            Panel::Lines(l) => l.series.iter().any(|s| !s.points.is_empty()),
        })
    }
}

fn cell(v: Option<f64>, money: bool) -> String {
    v.map(|v| fmt_value(v, money)).unwrap_or_else(|| "-".into())
}

/// Money axes spanning more than this ratio (largest ÷ smallest value) switch to a log scale,
/// so a $150 lower bound and a $300,000 system both stay readable.
pub const LOG_SPAN: f64 = 100.0;

impl Bars {
    /// Whether the value axis is logarithmic: money values, all positive, spanning more than
    /// [`LOG_SPAN`], with at most one value per stacked bar (a log axis cannot stack).
    pub fn log_scale(&self) -> bool {
        if !self.money {
            return false;
        }
        let per_bar = |i: usize| {
            self.series
                .iter()
                .filter(|s| s.values.get(i).copied().flatten().is_some())
                .count()
        };
        if self.stacked && (0..self.categories.len()).any(|i| per_bar(i) > 1) {
            return false;
        }
        let values: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied())
            .collect();
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(l, h), v| (l.min(*v), h.max(*v)));
        values.iter().all(|v| *v > 0.0 && v.is_finite()) && lo.is_finite() && hi / lo > LOG_SPAN
    }

    /// The reference value of one bar (`bar` = series index, or 0 for a stack).
    pub fn reference_at(&self, category: usize, bar: usize) -> Option<f64> {
        self.reference
            .as_ref()
            .and_then(|r| r.values.get(category)?.get(bar).copied().flatten())
    }

    /// Sum of a category's stacked values.
    pub fn total(&self, category: usize) -> Option<f64> {
        let vals: Vec<f64> = self
            .series
            .iter()
            .filter_map(|s| s.values.get(category).copied().flatten())
            .collect();
        (!vals.is_empty()).then(|| vals.iter().sum())
    }

    fn section(&self, title: &str) -> Section {
        let unit = &self.axis;
        if self.stacked || self.reference.is_none() {
            let mut header: Vec<String> = vec!["".into()];
            header.extend(self.series.iter().map(|s| s.name.clone()));
            if self.stacked {
                header.push("total".into());
            }
            if let Some(r) = &self.reference {
                header.push(r.name.clone());
            }
            let rows = self
                .categories
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut row = vec![c.clone()];
                    row.extend(
                        self.series
                            .iter()
                            .map(|s| cell(s.values.get(i).copied().flatten(), self.money)),
                    );
                    if self.stacked {
                        row.push(cell(self.total(i), self.money));
                    }
                    if self.reference.is_some() {
                        row.push(cell(self.reference_at(i, 0), self.money));
                    }
                    row
                })
                .collect();
            header[0] = format!("values in {}", unit_of(unit));
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            return Section::new(title, &header, rows);
        }
        let r = self
            .reference
            .as_ref()
            .map(|r| r.name.as_str())
            .unwrap_or_default();
        let mut rows = Vec::new();
        for (i, c) in self.categories.iter().enumerate() {
            for (j, s) in self.series.iter().enumerate() {
                let Some(v) = s.values.get(i).copied().flatten() else {
                    continue;
                };
                let reference = self.reference_at(i, j);
                let pct = reference
                    .filter(|&r| r > 0.0)
                    .map(|r| format!("{} %", fmt_num(v / r * 100.0)));
                rows.push(vec![
                    c.clone(),
                    s.name.clone(),
                    fmt_value(v, self.money),
                    cell(reference, self.money),
                    pct.unwrap_or_else(|| "-".into()),
                ]);
            }
        }
        let value = unit.clone();
        let pct = format!("% of {r}");
        Section::new(title, &["", "series", &value, r, &pct], rows)
    }
}

/// The unit in an axis label: `memory per GPU (GiB)` -> `GiB`.
fn unit_of(axis: &str) -> &str {
    match (axis.rfind('('), axis.ends_with(')')) {
        (Some(i), true) => &axis[i + 1..axis.len() - 1],
        _ => axis,
    }
}

impl Lines {
    fn section(&self, title: &str) -> Section {
        let y = &self.y_axis;
        if self.summarize {
            let mut rows: Vec<Vec<String>> = self
                .series
                .iter()
                .map(|s| {
                    let ys: Vec<f64> = s.points.iter().map(|p| p.1).collect();
                    let min = ys.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let mean = (!ys.is_empty()).then(|| ys.iter().sum::<f64>() / ys.len() as f64);
                    let range = (s.points.first(), s.points.last());
                    let span = match range {
                        (Some(a), Some(b)) => format!("{} to {}", fmt_num(a.0), fmt_num(b.0)),
                        _ => "-".into(),
                    };
                    vec![
                        s.name.clone(),
                        ys.len().to_string(),
                        span,
                        cell(min.is_finite().then_some(min), false),
                        cell(mean, false),
                        cell(max.is_finite().then_some(max), false),
                    ]
                })
                .collect();
            for sp in &self.spans {
                let total: f64 = sp.ranges.iter().map(|(a, b)| b - a).sum();
                rows.push(vec![
                    sp.name.clone(),
                    format!("{} intervals", sp.ranges.len()),
                    format!("{} in total", fmt_num(total)),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]);
            }
            let x = format!("{} span", self.x_axis);
            let (mn, me, mx) = (format!("min {y}"), format!("mean {y}"), format!("max {y}"));
            return Section::new(title, &["series", "samples", &x, &mn, &me, &mx], rows);
        }
        let mut rows: Vec<Vec<String>> = self
            .series
            .iter()
            .flat_map(|s| {
                s.points
                    .iter()
                    .map(move |&(x, y)| vec![s.name.clone(), fmt_num(x), fmt_num(y)])
            })
            .collect();
        rows.extend(
            self.levels
                .iter()
                .map(|l| vec![l.name.clone(), "all".into(), fmt_num(l.y)]),
        );
        Section::new(title, &["series", &self.x_axis, y], rows)
    }
}

/// Draws a plan's overview chart (memory per GPU against usable VRAM, and price) to an SVG or
/// PNG file, chosen by the extension. Used by `plan --chart` and `compare --chart`.
pub fn plan_chart_file(plan: &Plan, path: &Path) -> Result<(), ChartError> {
    let doc = PlanDoc::from_plan(plan).map_err(|e| ChartError::Plan(e.to_string()))?;
    write_file(&super::plan_charts::overview(&doc, "plan"), path)
}

/// Whether `path` names a chart file llmrig can write: `Some(true)` for PNG, `Some(false)` for
/// SVG, an error for any other extension (checked before any output is written).
pub fn chart_format_is_png(path: &Path) -> Result<bool, ChartError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => Ok(false),
        Some("png") => Ok(true),
        _ => Err(ChartError::Extension {
            path: path.display().to_string(),
        }),
    }
}

/// Writes one chart to `path` as SVG or PNG, chosen by the extension.
pub fn write_file(chart: &Chart, path: &Path) -> Result<(), ChartError> {
    let png = chart_format_is_png(path)?;
    let bytes = match png {
        _ if !chart.has_data() => return Err(ChartError::Empty),
        false => chart.to_svg()?.into_bytes(),
        true => chart.to_png()?,
    };
    crate::fsutil::write_atomic(path, &bytes).map_err(|source| ChartError::Write {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(reference: bool, stacked: bool) -> Bars {
        Bars {
            title: None,
            axis: "bandwidth (GB/s)".into(),
            categories: vec!["copy".into(), "triad".into()],
            series: vec![
                Series {
                    name: "run-a gpu0".into(),
                    values: vec![Some(2900.0), Some(3010.5)],
                },
                Series {
                    name: "run-b gpu0".into(),
                    values: vec![Some(1500.0), None],
                },
            ],
            stacked,
            reference: reference.then(|| Reference {
                name: "theory".into(),
                values: vec![vec![Some(3350.0), Some(2000.0)], vec![Some(3350.0), None]],
            }),
            money: false,
        }
    }

    #[test]
    fn grouped_bars_with_a_reference_list_each_bar_against_it() {
        let s = bars(true, false).section("t");
        assert_eq!(
            s.header,
            vec!["", "series", "bandwidth (GB/s)", "theory", "% of theory"]
        );
        assert_eq!(
            s.rows[0],
            vec!["copy", "run-a gpu0", "2,900", "3,350", "86.6 %"]
        );
        assert_eq!(
            s.rows[1],
            vec!["copy", "run-b gpu0", "1,500", "2,000", "75 %"]
        );
        // run-b has no triad value: no row rather than a zero.
        assert_eq!(s.rows.len(), 3);
    }

    #[test]
    fn stacked_bars_add_a_total() {
        let s = bars(false, true).section("t");
        assert_eq!(
            s.header,
            vec!["values in GB/s", "run-a gpu0", "run-b gpu0", "total"]
        );
        assert_eq!(s.rows[0], vec!["copy", "2,900", "1,500", "4,400"]);
        assert_eq!(s.rows[1], vec!["triad", "3,010", "-", "3,010"]);
    }

    #[test]
    fn line_tables_list_points_or_summaries() {
        let mut l = Lines {
            title: None,
            x_axis: "time (s)".into(),
            y_axis: "power (W)".into(),
            x_log2: false,
            series: vec![Line {
                name: "gpu0".into(),
                points: vec![(0.0, 100.0), (1.0, 300.0)],
            }],
            levels: vec![Level {
                name: "limit".into(),
                y: 700.0,
                series: Some("gpu0".into()),
            }],
            spans: vec![Spans {
                name: "throttled".into(),
                ranges: vec![(0.5, 1.0)],
            }],
            summarize: false,
        };
        let s = l.section("t");
        assert_eq!(
            s.rows,
            vec![
                vec!["gpu0", "0", "100"],
                vec!["gpu0", "1", "300"],
                vec!["limit", "all", "700"]
            ]
        );
        l.summarize = true;
        let s = l.section("t");
        assert_eq!(s.rows[0], vec!["gpu0", "2", "0 to 1", "100", "200", "300"]);
        assert_eq!(
            s.rows[1][0..3],
            ["throttled", "1 intervals", "0.5 in total"]
        );
    }

    #[test]
    fn chart_files_need_a_known_extension() {
        assert_eq!(unit_of("memory per GPU (GiB)"), "GiB");
        let chart = Chart {
            id: "c".into(),
            title: "t".into(),
            panels: vec![Panel::Bars(bars(false, false))],
        };
        let dir = tempfile::tempdir().unwrap();
        let err = write_file(&chart, &dir.path().join("c.jpg")).unwrap_err();
        assert!(matches!(err, ChartError::Extension { .. }), "{err}");
        write_file(&chart, &dir.path().join("c.SVG")).unwrap();
        assert!(std::fs::read_to_string(dir.path().join("c.SVG"))
            .unwrap()
            .starts_with("<svg"));
    }
}
