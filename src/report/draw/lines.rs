//! Line panels: series over a shared x axis, horizontal reference levels, marked spans.
use super::*;

/// Top of the y axis: the highest value or level plus headroom.
fn y_upper(l: &Lines) -> f64 {
    let ymax = l
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(l.levels.iter().map(|v| v.y))
        .filter(|y| y.is_finite())
        .fold(0.0, f64::max);
    if ymax > 0.0 {
        (ymax * 1.12).min(f64::MAX)
    } else {
        1.0
    }
}

pub(super) fn y_label_width(l: &Lines) -> u32 {
    nice_ticks(0.0, y_upper(l), 6)
        .iter()
        .map(|t| text_width(&fmt_num(*t), LABEL_PT))
        .max()
        .unwrap_or(0)
        + 34
}

pub(super) fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    l: &Lines,
    y_label_w: u32,
) -> DrawResult<DB> {
    let body = draw_header(area, &l.title, &line_legend(l))?;
    let fx = |x: f64| if l.x_log2 { x.log2() } else { x };
    let usable = |x: f64| x.is_finite() && (!l.x_log2 || x > 0.0);
    let xs: Vec<f64> = l
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(
            l.spans
                .iter()
                .flat_map(|s| s.ranges.iter().flat_map(|r| [r.0, r.1])),
        )
        .filter(|x| usable(*x))
        .map(fx)
        .collect();
    let (mut xlo, mut xhi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(*x), b.max(*x))
        });
    if !xlo.is_finite() {
        (xlo, xhi) = (0.0, 1.0);
    }
    if l.x_log2 {
        (xlo, xhi) = (xlo - 0.3, xhi + 0.3);
    } else if xhi - xlo < 1e-9 {
        (xlo, xhi) = (xlo - 1.0, xhi + 1.0);
    }
    let x_ticks: Vec<f64> = if l.x_log2 {
        let all: Vec<f64> = (xlo.ceil() as i64..=xhi.floor() as i64)
            .map(|e| e as f64)
            .collect();
        let stride = all.len().div_ceil(10).max(1);
        all.into_iter().step_by(stride).collect()
    } else {
        nice_ticks(xlo, xhi, 8)
    };
    let yhi = y_upper(l);
    let y_ticks = nice_ticks(0.0, yhi, 6);
    let mut cc = ChartBuilder::on(&body)
        .margin_left(10)
        .margin_right(30)
        .margin_bottom(8)
        .x_label_area_size(AXIS_H - 8)
        .y_label_area_size(y_label_w)
        .build_cartesian_2d(Axis::new(xlo, xhi, x_ticks), Axis::new(0.0, yhi, y_ticks))?;
    let log2 = l.x_log2;
    let x_fmt = move |v: &f64| {
        if log2 {
            fmt_int(2f64.powf(*v))
        } else {
            fmt_num(*v)
        }
    };
    let y_fmt = |v: &f64| fmt_num(*v);
    cc.configure_mesh()
        .x_desc(l.x_axis.as_str())
        .y_desc(l.y_axis.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FAMILY, LABEL_PT))
        .axis_desc_style((FAMILY, 15))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    for s in &l.spans {
        let bands = s
            .ranges
            .iter()
            .filter(|r| usable(r.0) && usable(r.1))
            .map(|r| {
                // A single throttled sample still gets a visible band.
                let (a, b) = (fx(r.0), fx(r.1).max(fx(r.0) + (xhi - xlo) * 0.002));
                Rectangle::new([(a, 0.0), (b, yhi)], SPAN_COLOR.mix(0.18).filled())
            });
        cc.draw_series(bands)?;
    }
    for (i, v) in l.levels.iter().enumerate() {
        let c = level_color(l, i);
        cc.draw_series(DashedLineSeries::new(
            vec![(xlo, v.y), (xhi, v.y)],
            10,
            6,
            c.stroke_width(2),
        ))?;
        let style = TextStyle::from((FAMILY, 12).into_font())
            .color(&c)
            .pos(Pos::new(HPos::Right, VPos::Bottom));
        cc.draw_series(std::iter::once(
            EmptyElement::at((xhi, v.y)) + Text::new(fmt_num(v.y), (-4, -3), style),
        ))?;
    }
    for (i, s) in l.series.iter().enumerate() {
        let c = color(i);
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| usable(p.0) && p.1.is_finite())
            .map(|p| (fx(p.0), p.1))
            .collect();
        cc.draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))?;
        if points.len() <= 40 {
            cc.draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        }
    }
    Ok(())
}
