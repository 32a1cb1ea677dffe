//! Charts of a saved plan or comparison: memory per GPU against usable VRAM, price, decode
//! throughput, price per token/s (or training time) and power, one bar per option.
use super::chart::{Bars, Chart, Panel, Reference, Series};
use super::input::{MemoryDoc, OptionDoc, PlanDoc};

const GIB: f64 = (1u64 << 30) as f64;

/// Category label for an option: `8×a100-sxm4-80gb`, `*` for the recommended one.
fn label(doc: &PlanDoc, i: usize, o: &OptionDoc) -> String {
    let mut s = o.label();
    if doc.recommended == Some(i) {
        s.push_str(" *");
    }
    if !o.fits {
        s.push_str(" (does not fit)");
    }
    s
}

/// Options with a value for `f`, as (category labels, values).
fn per_option<T>(doc: &PlanDoc, f: impl Fn(&OptionDoc) -> Option<T>) -> (Vec<String>, Vec<T>) {
    doc.options
        .iter()
        .enumerate()
        .filter_map(|(i, o)| f(o).map(|v| (label(doc, i, o), v)))
        .unzip()
}

fn bars(
    title: Option<&str>,
    axis: &str,
    categories: Vec<String>,
    series: Vec<Series>,
    money: bool,
) -> Bars {
    Bars {
        title: title.map(str::to_owned),
        axis: axis.into(),
        categories,
        series,
        stacked: false,
        reference: None,
        money,
    }
}

fn series(name: &str, values: impl IntoIterator<Item = Option<f64>>) -> Series {
    Series {
        name: name.into(),
        values: values.into_iter().collect(),
    }
}

/// Memory per GPU by term, stacked, with the usable VRAM as a tick.
pub fn memory_panel(doc: &PlanDoc, title: Option<&str>) -> Bars {
    let (categories, mems) = per_option(doc, |o| o.memory_per_gpu);
    let mut all: Vec<Series> = MemoryDoc::TERMS
        .iter()
        .enumerate()
        .map(|(i, name)| series(name, mems.iter().map(|m| Some(m.terms()[i] / GIB))))
        .collect();
    // A term this reader does not know (a newer plan) still shows, as the rest of the total.
    all.push(series(
        "other",
        mems.iter()
            .map(|m| Some((m.total_bytes - m.terms().iter().sum::<f64>()) / GIB)),
    ));
    let all = all
        .into_iter()
        .filter(|s| s.values.iter().flatten().any(|v| *v > 1e-3))
        .collect();
    Bars {
        title: title.map(str::to_owned),
        axis: "memory per GPU (GiB)".into(),
        categories,
        series: all,
        stacked: true,
        reference: Some(Reference {
            name: "usable VRAM per GPU".into(),
            values: mems
                .iter()
                .map(|m| vec![Some(m.usable_bytes / GIB)])
                .collect(),
        }),
        money: false,
    }
}

/// Purchase price of each priced build: complete prices in one colour, lower bounds (some
/// parts unpriced) in another and labelled so; a log axis when prices span more than 100×.
pub fn price_panel(doc: &PlanDoc, title: Option<&str>) -> Bars {
    let (mut categories, prices) = per_option(doc, |o| o.build.as_ref()?.price());
    for (c, (_, complete)) in categories.iter_mut().zip(&prices) {
        if !complete {
            c.push_str(" (lower bound)");
        }
    }
    let of = |want: bool| {
        prices
            .iter()
            .map(move |&(v, complete)| (complete == want).then_some(v))
    };
    let all = vec![
        series("fully priced", of(true)),
        series("lower bound: some parts unpriced", of(false)),
    ];
    Bars {
        stacked: true,
        ..bars(
            title,
            "purchase price, all nodes (USD)",
            categories,
            all.into_iter()
                .filter(|s| s.values.iter().any(Option::is_some))
                .collect(),
            true,
        )
    }
}

/// The chart `plan --chart` draws: will it fit, and what does it cost.
pub fn overview(doc: &PlanDoc, id: &str) -> Chart {
    Chart {
        id: id.into(),
        title: format!("{}: memory per GPU and price", doc.model.name),
        panels: vec![
            Panel::Bars(memory_panel(
                doc,
                Some("Memory per GPU against usable VRAM"),
            )),
            Panel::Bars(price_panel(doc, Some("Purchase price"))),
        ],
    }
}

fn chart(id: String, title: String, panel: Bars) -> Chart {
    Chart {
        id,
        title,
        panels: vec![Panel::Bars(panel)],
    }
}

/// Every plan chart that has data, with ids prefixed by `prefix`.
pub fn charts(doc: &PlanDoc, prefix: &str) -> Vec<Chart> {
    let model = &doc.model.name;
    let mut out = vec![
        chart(
            format!("{prefix}-memory"),
            format!("{model}: memory per GPU against usable VRAM"),
            memory_panel(doc, None),
        ),
        chart(
            format!("{prefix}-price"),
            format!("{model}: purchase price per option"),
            price_panel(doc, None),
        ),
    ];
    if doc.is_training() {
        let (cats, t) = per_option(doc, |o| o.training);
        out.push(chart(
            format!("{prefix}-training"),
            format!("{model}: training time"),
            bars(
                None,
                "wall clock (days)",
                cats,
                vec![series(
                    "wall clock",
                    t.iter().map(|t| Some(t.wall_clock_days)),
                )],
                false,
            ),
        ));
    } else {
        let batch = doc.request().map_or(1, |r| r.batch);
        let (cats, speeds) = per_option(doc, |o| o.speed.clone());
        let mut s = vec![series(
            "decode, 1 sequence",
            speeds.iter().map(|s| Some(s.decode_tokens_per_s)),
        )];
        if batch > 1 {
            s.push(series(
                &format!("decode, batch of {batch} (all sequences)"),
                speeds.iter().map(|s| Some(s.decode_batch_tokens_per_s)),
            ));
        }
        out.push(chart(
            format!("{prefix}-tokens"),
            format!("{model}: decode throughput per option"),
            bars(None, "decode throughput (tokens/s)", cats, s, false),
        ));
        // Only complete prices make a ratio; a lower bound would look like a bargain.
        let (cats, usd) = per_option(doc, |o| {
            o.build.as_ref()?.complete_usd()?;
            o.cost.as_ref()?.usd_per_token_per_s
        });
        let name = if batch > 1 {
            format!("price ÷ decode tokens/s at batch {batch}")
        } else {
            "price ÷ decode tokens/s".into()
        };
        out.push(chart(
            format!("{prefix}-usd-per-token"),
            format!("{model}: purchase price per decode token/s"),
            bars(
                None,
                "USD per token/s",
                cats,
                vec![series(&name, usd.into_iter().map(Some))],
                true,
            ),
        ));
    }
    if let Some(p) = super::rent::panel(doc, |i, o| label(doc, i, o)) {
        out.push(chart(
            format!("{prefix}-rent-or-buy"),
            format!("{model}: rent or buy, total cost per option"),
            p,
        ));
    }
    let (cats, cost) = per_option(doc, |o| o.cost.clone());
    let power = vec![
        series("at load", cost.iter().map(|c| Some(c.power_load_w))),
        series("idle", cost.iter().map(|c| c.power_idle_w)),
    ];
    out.push(chart(
        format!("{prefix}-power"),
        format!("{model}: wall power per option"),
        bars(None, "wall power, all nodes (W)", cats, power, false),
    ));
    out.retain(Chart::has_data);
    out
}
