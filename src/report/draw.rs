//! Draws a [`Chart`] with plotters, to SVG text or PNG bytes.
//!
//! Text uses a DejaVu Sans subset compiled into the binary (`assets/fonts/`) and registered
//! with plotters' `ab_glyph` renderer, so PNG text renders on a machine with no fonts and SVG
//! text is laid out with the same metrics. Axis ticks are chosen here (round steps, powers of
//! two) and every number is printed with the table formatters, so a chart shows exactly what
//! its table shows.
use super::chart::{fmt_value, Bars, Chart, ChartError, Lines, Panel};
use super::raster::Raster;
use super::table::{fmt_int, fmt_num};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::OnceLock;

mod bars;
mod lines;
use bars::{category_width, draw_bars};
use lines::{draw_lines, y_label_width};

pub const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");
/// The family name SVG text carries; browsers fall back to their own sans-serif.
const FAMILY: &str = "sans-serif";
const WIDTH: u32 = 960;
const TITLE_H: u32 = 40;
const SUBTITLE_H: u32 = 26;
const LEGEND_ROW_H: u32 = 22;
const AXIS_H: u32 = 52;
const BAR_H: u32 = 18;
const CATEGORY_GAP: u32 = 12;
const LINES_PLOT_H: u32 = 300;
const LABEL_PT: u32 = 14;
/// Tallest chart drawn (about 900 bars); a taller one is an error, never a huge allocation.
/// The report keeps its charts far below this.
pub const MAX_HEIGHT: u32 = 20_000;

/// Tableau 10: distinct hues that stay apart for colour-blind readers.
const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(89, 161, 79),
    RGBColor(176, 122, 161),
    RGBColor(118, 183, 178),
    RGBColor(237, 201, 72),
    RGBColor(156, 117, 95),
    RGBColor(255, 157, 167),
    RGBColor(186, 176, 172),
    RGBColor(225, 87, 89),
];
const SPAN_COLOR: RGBColor = RGBColor(214, 39, 40);

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn register_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

/// Width of `text` in pixels at `size`.
fn text_width(text: &str, size: u32) -> u32 {
    (FAMILY, size)
        .into_font()
        .box_size(text)
        .map(|(w, _)| w)
        .unwrap_or_else(|_| {
            size.saturating_mul(u32::try_from(text.chars().count()).unwrap_or(u32::MAX))
        })
}

/// SVG text of `chart`.
pub fn svg(chart: &Chart) -> Result<String, ChartError> {
    register_font()?;
    let size = (WIDTH, height(chart)?);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(&root, chart)
            .and_then(|_| root.present())
            .map_err(|e| draw_error(chart, e))?;
    }
    Ok(out)
}

/// PNG bytes of `chart`.
pub fn png(chart: &Chart) -> Result<Vec<u8>, ChartError> {
    register_font()?;
    let (w, h) = (WIDTH, height(chart)?);
    // Bounded by MAX_HEIGHT: at most 960 × 20,000 × 3 bytes.
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let font = ab_glyph::FontRef::try_from_slice(FONT).map_err(|_| ChartError::Font)?;
        let root =
            Raster::new(BitMapBackend::with_buffer(&mut rgb, (w, h)), font).into_drawing_area();
        draw(&root, chart)
            .and_then(|_| root.present())
            .map_err(|e| draw_error(chart, e))?;
    }
    let png_error = |e: png::EncodingError| ChartError::Png {
        chart: chart.id.clone(),
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&rgb).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

fn draw_error<E: std::error::Error + Send + Sync>(
    chart: &Chart,
    e: DrawingAreaErrorKind<E>,
) -> ChartError {
    ChartError::Draw {
        chart: chart.id.clone(),
        message: e.to_string(),
    }
}

/// What a legend entry shows beside its name.
enum Key {
    Swatch(RGBColor),
    Line(RGBColor),
    Dashed(RGBColor),
    Tick,
    Span,
}

struct LegendItem {
    name: String,
    key: Key,
}

fn item_width(item: &LegendItem) -> u32 {
    text_width(&item.name, LABEL_PT).saturating_add(28 + 18)
}

/// Legend rows: items laid out left to right, wrapping at the chart width.
fn legend_rows(items: &[LegendItem]) -> Vec<Vec<&LegendItem>> {
    let mut rows: Vec<Vec<&LegendItem>> = Vec::new();
    let mut x: u32 = 0;
    for item in items {
        let w = item_width(item);
        if rows.is_empty() || x.saturating_add(w) > WIDTH - 40 {
            rows.push(Vec::new());
            x = 0;
        }
        x = x.saturating_add(w);
        if let Some(r) = rows.last_mut() {
            r.push(item);
        }
    }
    rows
}

fn bar_legend(b: &Bars) -> Vec<LegendItem> {
    let mut items: Vec<LegendItem> = b
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendItem {
            name: s.name.clone(),
            key: Key::Swatch(color(i)),
        })
        .collect();
    if let Some(r) = &b.reference {
        items.push(LegendItem {
            name: r.name.clone(),
            key: Key::Tick,
        });
    }
    items
}

/// A level drawn in its series' colour, or in the next free palette colour.
fn level_color(l: &Lines, i: usize) -> RGBColor {
    let own = l.levels[i]
        .series
        .as_ref()
        .and_then(|name| l.series.iter().position(|s| &s.name == name));
    color(own.unwrap_or(l.series.len() + i))
}

fn line_legend(l: &Lines) -> Vec<LegendItem> {
    let mut items: Vec<LegendItem> = l
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendItem {
            name: s.name.clone(),
            key: Key::Line(color(i)),
        })
        .collect();
    items.extend(l.levels.iter().enumerate().map(|(i, v)| LegendItem {
        name: v.name.clone(),
        key: Key::Dashed(level_color(l, i)),
    }));
    items.extend(l.spans.iter().map(|s| LegendItem {
        name: s.name.clone(),
        key: Key::Span,
    }));
    items
}

fn header_height(title: &Option<String>, items: &[LegendItem]) -> u32 {
    let rows = u32::try_from(legend_rows(items).len()).unwrap_or(u32::MAX);
    (title.as_ref().map_or(0, |_| SUBTITLE_H) + 6).saturating_add(rows.saturating_mul(LEGEND_ROW_H))
}

fn bars_per_category(b: &Bars) -> u32 {
    if b.stacked {
        1
    } else {
        u32::try_from(b.series.len().max(1)).unwrap_or(u32::MAX)
    }
}

/// A panel's height in pixels; saturates rather than wrapping, for [`height`] to refuse.
fn panel_height(p: &Panel) -> u32 {
    match p {
        Panel::Bars(b) => {
            let rows = u32::try_from(b.categories.len()).unwrap_or(u32::MAX);
            let row = bars_per_category(b)
                .saturating_mul(BAR_H)
                .saturating_add(CATEGORY_GAP);
            header_height(&b.title, &bar_legend(b))
                .saturating_add(rows.saturating_mul(row))
                .saturating_add(AXIS_H + 12)
        }
        Panel::Lines(l) => {
            header_height(&l.title, &line_legend(l)).saturating_add(LINES_PLOT_H + AXIS_H)
        }
    }
}

/// The chart's height, or an error when it exceeds [`MAX_HEIGHT`].
fn height(chart: &Chart) -> Result<u32, ChartError> {
    let h = chart
        .panels
        .iter()
        .map(panel_height)
        .fold(TITLE_H + 8, u32::saturating_add);
    if h > MAX_HEIGHT {
        return Err(ChartError::Draw {
            chart: chart.id.clone(),
            message: format!(
                "{h} pixels is taller than the {MAX_HEIGHT}-pixel limit (too many bars)"
            ),
        });
    }
    Ok(h)
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (title, mut rest) = root.split_vertically(TITLE_H);
    let style = TextStyle::from((FAMILY, 24).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Center));
    title.draw(&Text::new(
        chart.title.clone(),
        (WIDTH as i32 / 2, TITLE_H as i32 / 2),
        style,
    ))?;
    // Panels of a chart share one label width so their axes line up (telemetry shares time).
    let y_label_w = chart
        .panels
        .iter()
        .filter_map(|p| {
            if let Panel::Lines(l) = p {
                Some(y_label_width(l))
            } else {
                None
            }
        })
        .max()
        .unwrap_or(0);
    let category_w = chart
        .panels
        .iter()
        .filter_map(|p| {
            if let Panel::Bars(b) = p {
                Some(category_width(b))
            } else {
                None
            }
        })
        .max()
        .unwrap_or(0);
    for panel in &chart.panels {
        let (area, below) = rest.split_vertically(panel_height(panel));
        match panel {
            Panel::Bars(b) => draw_bars(&area, b, category_w)?,
            Panel::Lines(l) => draw_lines(&area, l, y_label_w)?,
        }
        rest = below;
    }
    Ok(())
}

/// Draws the subtitle and legend at the top of `area` and returns the area below them.
fn draw_header<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &Option<String>,
    items: &[LegendItem],
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let (head, body) = area.split_vertically(header_height(title, items));
    let mut y = 4;
    if let Some(t) = title {
        head.draw(&Text::new(
            t.clone(),
            (16, y),
            (FAMILY, 17).into_font().color(&BLACK),
        ))?;
        y += SUBTITLE_H as i32;
    }
    let label = TextStyle::from((FAMILY, LABEL_PT).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for row in legend_rows(items) {
        let mut x = 20;
        let mid = y + LEGEND_ROW_H as i32 / 2;
        for item in row {
            match item.key {
                Key::Swatch(c) => head.draw(&Rectangle::new(
                    [(x, mid - 6), (x + 16, mid + 6)],
                    c.filled(),
                ))?,
                Key::Line(c) => head.draw(&PathElement::new(
                    vec![(x, mid), (x + 18, mid)],
                    c.stroke_width(3),
                ))?,
                Key::Dashed(c) => {
                    head.draw(&PathElement::new(
                        vec![(x, mid), (x + 7, mid)],
                        c.stroke_width(3),
                    ))?;
                    head.draw(&PathElement::new(
                        vec![(x + 11, mid), (x + 18, mid)],
                        c.stroke_width(3),
                    ))?;
                }
                Key::Tick => head.draw(&PathElement::new(
                    vec![(x + 8, mid - 8), (x + 8, mid + 8)],
                    BLACK.stroke_width(3),
                ))?,
                Key::Span => head.draw(&Rectangle::new(
                    [(x, mid - 6), (x + 16, mid + 6)],
                    SPAN_COLOR.mix(0.25).filled(),
                ))?,
            }
            head.draw(&Text::new(item.name.clone(), (x + 24, mid), label.clone()))?;
            x = x.saturating_add(i32::try_from(item_width(item)).unwrap_or(i32::MAX));
        }
        y += LEGEND_ROW_H as i32;
    }
    Ok(body)
}

/// A linear axis whose ticks are chosen here rather than by plotters.
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Axis {
    fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> Axis {
        Axis { lo, hi, ticks }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    /// Pixels for `value`; a value far outside the axis lands just outside the plot (where it
    /// is clipped) instead of overflowing.
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let frac = (value - self.lo) / (self.hi - self.lo);
        let px = f64::from(limit.0) + frac * f64::from(limit.1 - limit.0);
        px.round().clamp(-100_000.0, 100_000.0) as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Round tick positions from `lo` to `hi`, about `target` of them (steps of 1, 2 or 5 × 10^k).
/// A range the steps cannot express (a span of subnormal size, where the step underflows to
/// zero, or one too wide for finite ticks) gets its two ends.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return vec![lo];
    }
    let target = target.clamp(1, 100);
    let raw = span / target as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let (first, last) = ((lo / step).ceil(), (hi / step).floor());
    let sane = step.is_normal() && first.is_finite() && last.is_finite();
    if !sane || last - first > 2.0 * target as f64 + 2.0 {
        return vec![lo, hi];
    }
    (first as i64..=last as i64)
        .map(|i| i as f64 * step)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(
            nice_ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(
            nice_ticks(0.0, 3350.0, 6),
            vec![0.0, 1000.0, 2000.0, 3000.0]
        );
        let small: Vec<String> = nice_ticks(0.0, 0.9, 5)
            .iter()
            .map(|t| fmt_num(*t))
            .collect();
        assert_eq!(small, ["0", "0.2", "0.4", "0.6", "0.8"]);
        assert_eq!(nice_ticks(5.0, 5.0, 4), vec![5.0]);
    }

    /// Issue 11 item 1: a step that underflows to zero once meant `0..=i64::MAX` ticks.
    #[test]
    fn ticks_of_extreme_ranges_are_few_and_finite() {
        for (lo, hi) in [
            (0.0, 5e-324),
            (0.0, 5e-324 * 1.2 * 0.97),
            (0.0, 1e-310),
            (0.0, f64::MAX),
            (-f64::MAX, f64::MAX),
            (1e300, 1e300 + 1e285),
        ] {
            let t = nice_ticks(lo, hi, 6);
            assert!(!t.is_empty() && t.len() <= 20, "{lo} {hi}: {t:?}");
            assert!(t.iter().all(|v| v.is_finite()), "{t:?}");
        }
    }

    #[test]
    fn the_embedded_font_registers_and_measures_text() {
        register_font().unwrap();
        let narrow = text_width("ii", 13);
        let wide = text_width("WW", 13);
        assert!(narrow > 0 && wide > 2 * narrow, "{narrow} {wide}");
    }
}
