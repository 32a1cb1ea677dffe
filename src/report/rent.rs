//! Rent or buy: owning each option over the request's horizon (purchase + electricity −
//! resale) against renting the same GPUs on-demand, spot or reserved for the hours used, as
//! text tables and as a chart of a saved plan.
use super::chart::{Bars, Series};
use super::input::{OptionDoc, PlanDoc};
use super::plan::{label, opt, usd, View, TOP_OPTIONS};
use super::table::{fmt_num, ColumnFit, Section};
use crate::plan::{GpuOption, Plan, RentOrBuy, RentTier, TIERS};

/// `36 months at 24 h/day`.
fn horizon(r: &RentOrBuy) -> String {
    format!(
        "{} months at {} h/day",
        fmt_num(r.horizon_months),
        fmt_num(r.hours_per_day)
    )
}

fn tier<'a>(r: &'a RentOrBuy, offer: &str) -> Option<&'a RentTier> {
    r.rent.iter().find(|t| t.offer == offer)
}

/// `40 % after 36 months: straight-line over 5 years (GPU_USEFUL_LIFE_YEARS)`.
fn resale_basis(r: &RentOrBuy) -> String {
    let constant = if r.resale_basis.starts_with("straight-line") {
        " (GPU_USEFUL_LIFE_YEARS)"
    } else {
        ""
    };
    format!(
        "{} % after {} months: {}{constant}",
        fmt_num(r.resale_percent),
        fmt_num(r.horizon_months),
        r.resale_basis
    )
}

/// One row per fitting option shown: buying, each tier's rent, and the break-even against
/// on-demand. None when no option fits.
pub fn options_section(plan: &Plan, view: &View) -> Option<Section> {
    let shown: Vec<usize> = (0..plan.options.len())
        .filter(|&i| plan.options[i].fits)
        .take(if view.all { usize::MAX } else { TOP_OPTIONS })
        .collect();
    let first = plan.options.get(*shown.first()?)?.cost.as_ref()?;
    let r = &first.rent_or_buy;
    let title = format!(
        "Rent or buy, total USD over {} (resale {} %)",
        horizon(r),
        fmt_num(r.resale_percent),
    );
    let mut rows: Vec<Vec<String>> = shown
        .iter()
        .filter_map(|&i| {
            let rb = &plan.options[i].cost.as_ref()?.rent_or_buy;
            let od = tier(rb, "on-demand");
            let mut row = vec![label(plan, i), opt(rb.buy.total_usd, usd)];
            row.extend(
                TIERS
                    .iter()
                    .map(|t| opt(tier(rb, t).and_then(|t| t.total_usd), usd)),
            );
            row.push(opt(od.and_then(|t| t.break_even_hours_per_day), fmt_num));
            row.push(opt(od.and_then(|t| t.break_even_months), fmt_num));
            Some(row)
        })
        .collect();
    let mut header = vec![
        "option",
        "buy",
        "on-demand",
        "spot",
        "reserved",
        "buy wins from h/day",
        "payback months",
    ];
    // Narrow terminals lose the payback first and the break-even hours last.
    let mut fit = vec![
        ColumnFit::KEEP,
        ColumnFit::keep("buy"),
        ColumnFit::keep("on-dem."),
        ColumnFit::drop("spot", 2),
        ColumnFit::drop("resv.", 1),
        ColumnFit::drop("b/e h/d", 3),
        ColumnFit::drop("payback", 0),
    ];
    // A column with no figure for any option shown says nothing: leave it out, and say so.
    let mut empty = Vec::new();
    for c in (2..header.len()).rev() {
        if rows.iter().all(|r| r[c] == "-") {
            empty.push(header.remove(c));
            fit.remove(c);
            rows.iter_mut().for_each(|r| {
                r.remove(c);
            });
        }
    }
    empty.reverse();
    let mut section = Section::new(&title, &header, rows)
        .with_fit(fit)
        .with_note(format!(
            "buy = purchase + electricity (load for the hours used, idle the rest) − resale \
             ({}); rent = the cheapest dated offer of each tier for the same GPUs and hours; - = \
             no price (a buy total needs every part priced). Break-even against on-demand: the \
             hours a day from which buying costs less over {} months, and the months until the \
             rent saved pays for the purchase (resale not counted). --hours-per-day, --months, \
             --resale-percent.",
            resale_basis(r),
            fmt_num(r.horizon_months)
        ));
    if !empty.is_empty() {
        section.notes.push(format!(
            "No figure for any option shown: {}.",
            empty.join(", ")
        ));
    }
    Some(section)
}

/// The answer's one line: buying against the cheapest priced tier over the horizon (the
/// tables give every tier and the break-evens). None when no tier is priced.
pub fn answer_line(o: &GpuOption) -> Option<String> {
    let r = &o.cost.as_ref()?.rent_or_buy;
    let (rent, offer) = r
        .rent
        .iter()
        .filter_map(|t| Some((t.total_usd?, t.offer)))
        .min_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(format!(
        "buy {} vs rent from {} ({offer}) over {}",
        opt(r.buy.total_usd, usd),
        usd(rent),
        horizon(r)
    ))
}

/// The option in detail: what buying adds up to, and each tier's offer with its date.
pub fn detail_section(o: &GpuOption) -> Option<Section> {
    let r = &o.cost.as_ref()?.rent_or_buy;
    let months = fmt_num(r.horizon_months);
    let mut rows = vec![
        vec!["buy: purchase".into(), opt(r.buy.purchase_usd, usd)],
        vec![
            format!("buy: electricity, {months} months"),
            usd(r.buy.electricity_usd),
        ],
        vec![
            format!(
                "buy: less resale ({} % after {months} months)",
                fmt_num(r.resale_percent)
            ),
            opt(r.buy.resale_usd, usd),
        ],
        vec!["buy: total".into(), opt(r.buy.total_usd, usd)],
    ];
    for t in &r.rent {
        let value = match (&t.provider, t.usd_per_gpu_hour, t.total_usd) {
            (Some(p), Some(h), Some(total)) => {
                let mut v = format!(
                    "{} ({p} ${}/GPU-h, {})",
                    usd(total),
                    fmt_num(h),
                    t.date.as_deref().unwrap_or("undated")
                );
                if let Some(buy) = r.buy.total_usd {
                    v.push_str(&if buy < total {
                        format!("; buying saves {}", usd(total - buy))
                    } else {
                        format!("; renting saves {}", usd(buy - total))
                    });
                    v.push_str(&match t.break_even_hours_per_day {
                        Some(h) => format!("; buying wins from {} h/day", fmt_num(h)),
                        None => "; renting wins at any hours a day".into(),
                    });
                }
                if let Some(m) = t.break_even_months {
                    v.push_str(&format!("; payback {} months", fmt_num(m)));
                }
                v
            }
            _ => "- (no catalog price)".into(),
        };
        rows.push(vec![format!("rent {}", t.offer), value]);
    }
    Some(
        Section::new(
            &format!("Rent or buy: {}, {}", o.rig(), horizon(r)),
            &["item", "value"],
            rows,
        )
        .with_note(format!("Resale {}.", resale_basis(r))),
    )
}

/// A saved figure that can be drawn as money (a hand-edited file may hold anything).
fn money(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && *v >= 0.0)
}

/// Total cost over the horizon per option: buying beside each priced tier (a bar only where
/// the total is complete). None when the plan predates rent-or-buy.
pub fn panel(doc: &PlanDoc, label: impl Fn(usize, &OptionDoc) -> String) -> Option<Bars> {
    let rows: Vec<(String, &super::input::RentOrBuyDoc)> = doc
        .options
        .iter()
        .enumerate()
        .filter(|(_, o)| o.fits)
        .filter_map(|(i, o)| {
            let r = o.cost.as_ref()?.rent_or_buy.as_ref()?;
            let mut name = label(i, o);
            if r.buy.total_usd.is_none() {
                name.push_str(" (buy: not fully priced)");
            }
            Some((name, r))
        })
        .collect();
    let first = rows.first()?.1;
    let mut series = vec![Series {
        name: format!("buy (net of {} % resale)", fmt_num(first.resale_percent)),
        values: rows.iter().map(|(_, r)| money(r.buy.total_usd)).collect(),
    }];
    series.extend(TIERS.iter().map(|t| {
        Series {
            name: format!("rent {t}"),
            values: rows
                .iter()
                .map(|(_, r)| money(r.rent.iter().find(|x| x.offer == *t)?.total_usd))
                .collect(),
        }
    }));
    series.retain(|s| s.values.iter().any(Option::is_some));
    Some(Bars {
        title: None,
        axis: format!(
            "total over {} months at {} h/day (USD)",
            fmt_num(first.horizon_months),
            fmt_num(first.hours_per_day)
        ),
        categories: rows.into_iter().map(|(c, _)| c).collect(),
        series,
        stacked: false,
        reference: None,
        money: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A saved plan with one fully priced option and one whose buy total is unknown.
    fn doc() -> PlanDoc {
        let tier =
            |offer: &str, usd: Option<f64>| serde_json::json!({"offer": offer, "total_usd": usd});
        let rent = |buy: Option<f64>| {
            serde_json::json!({"power_load_w": 1000.0, "rent_or_buy": {
                "hours_per_day": 12.0, "horizon_months": 36.0, "resale_percent": 40.0,
                "buy": {"total_usd": buy},
                "rent": [tier("on-demand", Some(26_280.0)), tier("spot", None), tier("reserved", None)]}})
        };
        serde_json::from_value(serde_json::json!({
            "kind": "plan", "schema_version": 2, "model": {"id": "m", "name": "M"},
            "options": [
                {"gpu_id": "a", "gpus": 2, "fits": true, "cost": rent(Some(9_153.6))},
                {"gpu_id": "b", "gpus": 1, "fits": true, "cost": rent(None)},
                {"gpu_id": "c", "gpus": 1, "fits": false},
            ]
        }))
        .expect("a plan document")
    }

    #[test]
    fn the_chart_draws_complete_totals_only_and_names_the_horizon() {
        let p = panel(&doc(), |_, o| o.gpu_id.clone()).expect("a panel");
        assert_eq!(p.axis, "total over 36 months at 12 h/day (USD)");
        assert_eq!(p.categories, ["a", "b (buy: not fully priced)"]);
        let names: Vec<&str> = p.series.iter().map(|s| s.name.as_str()).collect();
        // Spot and reserved have no price anywhere: no empty series.
        assert_eq!(names, ["buy (net of 40 % resale)", "rent on-demand"]);
        assert_eq!(p.series[0].values, [Some(9_153.6), None]);
        assert_eq!(p.series[1].values, [Some(26_280.0), Some(26_280.0)]);
    }

    #[test]
    fn plans_before_rent_or_buy_draw_no_chart() {
        let mut d = doc();
        for o in &mut d.options {
            if let Some(c) = o.cost.as_mut() {
                c.rent_or_buy = None;
            }
        }
        assert!(panel(&d, |_, o| o.gpu_id.clone()).is_none());
    }
}
