//! The recommended build in detail: parts per node with dated prices, power and running cost,
//! speed, and memory per GPU by term.
use super::answer::dates_text;
use super::compare;
use super::plan::{gib, opt, price_text, short_circuit, usd};
use super::table::{fmt_int, fmt_num, ColumnFit, Section, TextFit};
use crate::plan::{rank, GpuOption, Plan};

pub(super) fn memory_section(o: &GpuOption) -> Option<Section> {
    let m = o.memory_per_gpu?;
    let rows = compare::memory_terms(&m)
        .into_iter()
        .filter(|(_, v)| *v != 0.0)
        .map(|(k, v)| vec![k.to_owned(), format!("{} GiB", gib(v))])
        .chain([
            vec!["total".into(), format!("{} GiB", gib(m.total_bytes))],
            vec!["usable".into(), format!("{} GiB", gib(m.usable_bytes))],
            vec![
                "headroom".into(),
                format!("{} GiB", gib(m.headroom_bytes.max(0.0))),
            ],
        ])
        .chain(o.max_context_tokens.map(|t| {
            vec![
                "longest context that fits".into(),
                format!("{} tokens", fmt_int(t as f64)),
            ]
        }))
        .chain(
            o.max_batch
                .map(|b| vec!["largest batch that fits".into(), format!("{b} sequences")]),
        )
        .collect();
    Some(Section::new(
        &format!(
            "Memory per GPU ({}×{}, {})",
            o.gpus,
            o.gpu_id,
            opt(o.layout, |l| l.describe())
        ),
        &["term", "value"],
        rows,
    ))
}

fn kind_name(p: &crate::catalog::Price) -> &'static str {
    match p.kind {
        crate::catalog::PriceKind::LaunchMsrp => "launch MSRP",
        crate::catalog::PriceKind::StreetNew => "street, new",
        crate::catalog::PriceKind::Used => "used",
        crate::catalog::PriceKind::Estimate => "estimate",
    }
}

pub(super) fn parts_section(o: &GpuOption) -> Option<Section> {
    let b = o.build.as_ref()?;
    let mut rows: Vec<Vec<String>> = b
        .node
        .lines
        .iter()
        .map(|l| {
            let stale = l.price_age_months.is_some_and(rank::is_stale);
            vec![
                l.kind.to_owned(),
                l.name.clone(),
                l.quantity.to_string(),
                opt(l.unit_price.as_ref(), |p| usd(p.usd)),
                opt(l.total_usd, usd),
                opt(l.unit_price.as_ref(), |p| {
                    if stale {
                        format!("{} (old)", p.date)
                    } else {
                        p.date.clone()
                    }
                }),
                opt(l.unit_price.as_ref(), |p| kind_name(p).to_owned()),
                l.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let node_total = match (b.node.priced_total_usd, b.fully_priced) {
        (Some(v), true) => usd(v),
        (Some(v), false) => format!("≥ {}", usd(v)),
        (None, _) => "unpriced".into(),
    };
    rows.push(vec![
        "total".into(),
        if b.nodes > 1 {
            format!("per node; {} nodes: {}", b.nodes, price_text(b))
        } else {
            "per node".into()
        },
        String::new(),
        String::new(),
        node_total,
        String::new(),
        String::new(),
        String::new(),
    ]);
    let mut s = Section::new(
        &format!(
            "Parts per node ({} × {}, {} node{})",
            o.gpus,
            o.gpu_id,
            b.nodes,
            if b.nodes > 1 { "s" } else { "" }
        ),
        &[
            "part",
            "name",
            "qty",
            "unit",
            "total",
            "price date",
            "price kind",
            "note",
        ],
        rows,
    )
    .with_fit(vec![
        ColumnFit::KEEP,
        ColumnFit::default().with(TextFit::Cut),
        ColumnFit::KEEP,
        ColumnFit::drop("unit", 2),
        ColumnFit::KEEP,
        ColumnFit::keep("date"),
        ColumnFit::drop("kind", 1).with(TextFit::Cut),
        ColumnFit::drop("note", 0).with(TextFit::Cut),
    ]);
    let dates = dates_text(b, true);
    if !dates.is_empty() {
        s = s.with_note(format!("{}.", upper_first(&dates)));
    }
    if !b.fully_priced {
        s = s.with_note(format!(
            "Unpriced (the total is a lower bound): {}.",
            b.node.unpriced.join(", ")
        ));
    }
    Some(s)
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

pub(super) fn power_section(plan: &Plan, o: &GpuOption) -> Option<Section> {
    let b = o.build.as_ref()?;
    let c = o.cost.as_ref()?;
    let mut rows = vec![
        vec![
            "DC load per node".into(),
            format!("{} W", fmt_int(b.node.dc_load_w)),
        ],
        vec![
            "PSU capacity per node".into(),
            if b.node.psu_capacity_w > 0.0 {
                format!("{} W", fmt_int(b.node.psu_capacity_w))
            } else {
                "-".into()
            },
        ],
        vec![
            "wall power at load (all nodes)".into(),
            format!("{} W", fmt_int(c.power_load_w)),
        ],
        vec![
            "wall power idle (all nodes)".into(),
            format!("{} W", fmt_int(c.power_idle_w)),
        ],
        vec![
            "electricity".into(),
            format!("${:.4}/kWh: {}", c.usd_per_kwh, plan.electricity_source),
        ],
        vec![
            format!(
                "electricity per month at {:.0} % load",
                plan.request.utilization * 100.0
            ),
            usd(c.electricity_usd_per_month),
        ],
    ];
    for ci in &b.node.circuits {
        rows.push(vec![
            format!("circuits per node: {}", short_circuit(&ci.name)),
            format!("{} × {} W continuous", ci.count, fmt_int(ci.continuous_w)),
        ]);
    }
    if let Some(cl) = &c.cloud {
        rows.push(vec![
            "cloud equivalent".into(),
            format!(
                "{} {} ${}/GPU-h ({}) = {} per month",
                cl.provider,
                cl.offer,
                fmt_num(cl.usd_per_gpu_hour),
                cl.date,
                usd(cl.usd_per_month)
            ),
        ]);
    }
    rows.push(vec![
        "break-even vs cloud".into(),
        match c.break_even_months {
            Some(m) => format!("{} months", fmt_num(m)),
            None if !b.fully_priced => "- (the build is not fully priced)".into(),
            None => "-".into(),
        },
    ]);
    if let Some(t) = b.node.load_time_s {
        rows.push(vec![
            "weight load time from NVMe".into(),
            format!("{} s", fmt_num(t)),
        ]);
    }
    Some(Section::new(
        "Power and running cost",
        &["item", "value"],
        rows,
    ))
}

pub(super) fn speed_section(plan: &Plan, o: &GpuOption) -> Option<Section> {
    let e = &plan.request.efficiencies;
    if let Some(s) = o.speed {
        let rows = vec![
            vec![
                "compute dtype / dense peak per GPU".into(),
                format!(
                    "{} / {} TFLOP/s",
                    s.compute_dtype.name(),
                    fmt_num(s.peak_tflops_per_gpu)
                ),
            ],
            vec![
                format!("decode, 1 sequence (bandwidth × {})", e.decode_bandwidth),
                format!("{} tokens/s", fmt_num(s.decode_tokens_per_s)),
            ],
            vec![
                format!("decode, batch of {}", plan.request.batch),
                format!("{} tokens/s", fmt_num(s.decode_batch_tokens_per_s)),
            ],
            vec![
                format!("prefill (peak × {})", e.prefill_mfu),
                format!("{} tokens/s", fmt_int(s.prefill_tokens_per_s)),
            ],
            vec![
                format!(
                    "time to first token ({} tokens)",
                    plan.request.context_tokens
                ),
                format!("{} s", fmt_num(s.time_to_first_token_s)),
            ],
        ];
        return Some(Section::new(
            "Speed (estimates)",
            &["metric", "value"],
            rows,
        ));
    }
    let t = o.training?;
    let rows = vec![
        vec!["tokens".into(), format!("{:.3e}", t.tokens)],
        vec![
            format!("FLOPs ({}·N·D)", t.flops_per_param_token),
            format!("{:.3e}", t.flops),
        ],
        vec![format!("GPU-hours at MFU {}", t.mfu), fmt_int(t.gpu_hours)],
        vec![
            format!("wall clock on {} GPUs", o.gpus),
            format!("{} days", fmt_num(t.wall_clock_days)),
        ],
    ];
    Some(Section::new(
        "Training time (estimates)",
        &["metric", "value"],
        rows,
    ))
}
