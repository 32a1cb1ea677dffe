//! Horizontal bar panels: one bar per series and category, a lower-bound hatch, value labels.
use super::*;

/// Room for the longest category label, at most half the chart (longer labels are clipped).
pub(super) fn category_width(b: &Bars) -> u32 {
    b.categories
        .iter()
        .map(|c| text_width(c, LABEL_PT))
        .max()
        .unwrap_or(0)
        .saturating_add(16)
        .min(WIDTH / 2)
}

pub(super) fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    b: &Bars,
    label_w: u32,
) -> DrawResult<DB> {
    let body = draw_header(area, &b.title, &bar_legend(b))?;
    let n = b.categories.len();
    let per = bars_per_category(b) as f64;
    let mut max: f64 = 0.0;
    for i in 0..n {
        let bar_max = if b.stacked {
            b.total(i)
        } else {
            b.series
                .iter()
                .filter_map(|s| s.values.get(i).copied().flatten())
                .reduce(f64::max)
        };
        max = max.max(bar_max.filter(|v| v.is_finite()).unwrap_or(0.0));
        if let Some(r) = &b.reference {
            max = r
                .values
                .get(i)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|v| v.is_finite())
                .fold(max, |m, v| m.max(*v));
        }
    }
    let max = if max > 0.0 { max } else { 1.0 };
    // A log axis maps each value to its log10; bars then start at the axis' left end.
    let log = b.log_scale();
    let min_positive = b
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .filter(|v| *v > 0.0)
        .fold(max, f64::min);
    let fx = move |v: f64| {
        if log {
            v.max(f64::MIN_POSITIVE).log10()
        } else {
            v
        }
    };
    let (lower, upper, ticks) = if log {
        let lo = min_positive.log10().floor();
        // Room to the right of the longest bar for its value label.
        let hi = max.log10() + 0.35 * (max.log10() - lo).max(1.0);
        (
            lo,
            hi,
            (lo as i64..=hi.floor() as i64).map(|e| e as f64).collect(),
        )
    } else {
        // Finite even near f64::MAX.
        let upper = (max * 1.2).min(f64::MAX);
        (0.0, upper, nice_ticks(0.0, upper * 0.97, 6))
    };
    let centers: Vec<f64> = (0..n).map(|i| n as f64 - i as f64 - 0.5).collect();
    let mut cc = ChartBuilder::on(&body)
        .margin_left(10)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(AXIS_H - 8)
        .y_label_area_size(label_w)
        .build_cartesian_2d(
            Axis::new(lower, upper, ticks),
            Axis::new(0.0, n as f64, centers),
        )?;
    let category = |y: &f64| {
        b.categories
            .get((n as f64 - y - 0.5).round().max(0.0) as usize)
            .cloned()
            .unwrap_or_default()
    };
    let money = b.money;
    let value_fmt = move |v: &f64| fmt_value(if log { 10f64.powf(*v) } else { *v }, money);
    let axis = if log {
        format!("{} (log scale)", b.axis)
    } else {
        b.axis.clone()
    };
    cc.configure_mesh()
        .disable_y_mesh()
        .x_desc(axis.as_str())
        .x_label_formatter(&value_fmt)
        .y_label_formatter(&category)
        .label_style((FAMILY, LABEL_PT))
        .axis_desc_style((FAMILY, 15))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    let label_style = TextStyle::from((FAMILY, 13).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let band = 0.8 / per;
    let per_px = (upper - lower) / f64::from(cc.plotting_area().dim_in_pixel().0.max(1));
    for i in 0..n {
        let top = n as f64 - i as f64 - 0.1;
        let mut acc = 0.0;
        // (value, bar index for its reference, y range) of each labelled bar.
        let mut labelled = Vec::new();
        for (j, s) in b.series.iter().enumerate() {
            let Some(v) = s.values.get(i).copied().flatten() else {
                continue;
            };
            let slot = if b.stacked { 0.0 } else { j as f64 };
            let (y1, y0) = (top - slot * band, top - (slot + 1.0) * band + 0.03);
            let (x0, x1) = if b.stacked { (acc, acc + v) } else { (0.0, v) };
            acc = x1;
            let x0 = if log { lower } else { x0 };
            cc.draw_series(std::iter::once(Rectangle::new(
                [(x0, y0), (fx(x1), y1)],
                color(j).filled(),
            )))?;
            if !b.stacked {
                labelled.push((v, j, (y0, y1)));
            }
        }
        if b.stacked && acc > 0.0 {
            labelled.push((acc, 0, (top - band + 0.03, top)));
        }
        for (v, bar, (y0, y1)) in labelled {
            let reference = b.reference_at(i, bar);
            if let Some(r) = reference {
                let pad = (y1 - y0) * 0.15;
                cc.draw_series(std::iter::once(PathElement::new(
                    vec![(fx(r), y0 - pad), (fx(r), y1 + pad)],
                    BLACK.stroke_width(3),
                )))?;
            }
            // The label follows the bar, or the tick when the tick would cross the label.
            let text = fmt_value(v, b.money);
            let label_span = f64::from(text_width(&text, 13) + 10) * per_px;
            let x = match reference.map(fx) {
                Some(r) if r > fx(v) && r < fx(v) + label_span => r,
                _ => fx(v),
            };
            cc.draw_series(std::iter::once(
                EmptyElement::at((x, (y0 + y1) / 2.0))
                    + Text::new(text, (5, 0), label_style.clone()),
            ))?;
        }
    }
    Ok(())
}
