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
        .chain((m.offload_host_bytes_per_node > 0.0).then(|| {
            vec![
                "host RAM for offloaded states (per node)".into(),
                format!("{} GiB", gib(m.offload_host_bytes_per_node)),
            ]
        }))
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
    Some(build_parts_section(
        b,
        &format!(
            "Parts per node ({} × {}, {} node{})",
            o.gpus,
            o.gpu_id,
            b.nodes,
            if b.nodes > 1 { "s" } else { "" }
        ),
    ))
}

/// A build's parts per node with prices, dates and the total (a lower bound when a line is
/// unpriced), under `title`.
pub(super) fn build_parts_section(b: &crate::plan::Build, title: &str) -> Section {
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
        title,
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
    s
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
    match &o.emissions {
        Some(e) => rows.extend([
            vec![
                "grid CO2 intensity".into(),
                format!(
                    "{} g/kWh: {}",
                    fmt_int(e.grid_gco2_per_kwh),
                    plan.grid_source
                ),
            ],
            vec![
                format!(
                    "grid CO2 per month at {:.0} % load",
                    plan.request.utilization * 100.0
                ),
                format!(
                    "{} t ({} kWh)",
                    fmt_num(e.co2_tonnes_per_month),
                    fmt_int(e.energy_kwh_per_month)
                ),
            ],
        ]),
        None => rows.push(vec!["grid CO2".into(), plan.grid_source.clone()]),
    }
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
    if let Some(s) = o.speed {
        let v = &s.serving;
        let mut rows = vec![
            vec![
                "engine / compute dtype / dense peak per GPU".into(),
                format!(
                    "{} / {} / {} TFLOP/s",
                    s.engine.name(),
                    s.compute_dtype.name(),
                    fmt_num(s.peak_tflops_per_gpu)
                ),
            ],
            vec![
                format!(
                    "decode, 1 sequence (bandwidth × {})",
                    fmt_num(s.decode_bandwidth_efficiency)
                ),
                format!("{} tokens/s", fmt_num(s.decode_tokens_per_s)),
            ],
            vec![
                format!(
                    "decode, batch of {} ({}-bound)",
                    plan.request.batch,
                    match s.decode_bound {
                        crate::plan::speed::Bound::Memory => "memory",
                        crate::plan::speed::Bound::Compute => "compute",
                        crate::plan::speed::Bound::Host => "host-RAM",
                    }
                ),
                format!(
                    "{} tokens/s, {} ms between tokens",
                    fmt_num(s.decode_batch_tokens_per_s),
                    fmt_num(s.inter_token_latency_s * 1e3)
                ),
            ],
            vec![
                format!("prefill (peak × {})", fmt_num(s.prefill_mfu)),
                format!("{} tokens/s", fmt_int(s.prefill_tokens_per_s)),
            ],
            vec![
                format!("time to first token ({} tokens)", v.input_tokens),
                format!("{} s", fmt_num(s.time_to_first_token_s)),
            ],
            vec![
                format!(
                    "serving {} in + {} out × {} concurrent{}",
                    v.input_tokens,
                    v.output_tokens,
                    v.concurrency,
                    if v.replicas > 1 {
                        format!(" × {} replicas", v.replicas)
                    } else {
                        String::new()
                    }
                ),
                format!(
                    "{} output tokens/s, {} requests/s",
                    fmt_num(v.output_tokens_per_s),
                    fmt_num(v.requests_per_s)
                ),
            ],
        ];
        if let Some(l) = s.interconnect {
            rows.push(vec![
                format!("interconnect ({:?})", l.kind).to_lowercase(),
                format!(
                    "{} GB/s one way; all-reduce {} ms per token",
                    fmt_num(l.gb_per_s),
                    fmt_num(s.tp_comm_s_per_token * 1e3)
                ),
            ]);
        }
        if let Some(off) = &o.offload {
            rows.push(vec![
                format!("offload ({})", off.flags),
                format!(
                    "{} blocks{} on the host, {} GiB host RAM, {} ms per token from host memory{}",
                    off.host_blocks,
                    if off.experts_on_host {
                        " and all experts"
                    } else {
                        ""
                    },
                    gib(off.host_ram_bytes),
                    fmt_num(s.host_s_per_token * 1e3),
                    off.host_memory
                        .as_ref()
                        .map(|h| format!(" ({} GB/s: {})", fmt_num(h.gb_per_s), h.source))
                        .unwrap_or_default()
                ),
            ]);
        }
        return Some(Section::new(
            "Speed (estimates)",
            &["metric", "value"],
            rows,
        ));
    }
    let t = o.training?;
    let mut rows = vec![
        vec!["tokens".into(), format!("{:.3e}", t.tokens)],
        vec![
            format!("FLOPs ({}·N·D)", t.flops_per_param_token),
            format!("{:.3e}", t.flops),
        ],
        vec![
            format!(
                "GPU-hours at MFU {} and goodput {}",
                fmt_num(t.mfu),
                fmt_num(t.goodput)
            ),
            fmt_int(t.gpu_hours),
        ],
        vec![
            format!("wall clock on {} GPUs", o.gpus),
            format!("{} days", fmt_num(t.wall_clock_days)),
        ],
    ];
    if let Some(e) = o
        .emissions
        .as_ref()
        .filter(|e| e.training_energy_kwh.is_some())
    {
        rows.push(vec![
            "energy at the wall / grid CO2 of the run".into(),
            format!(
                "{} kWh / {} t",
                fmt_int(e.training_energy_kwh.unwrap_or_default()),
                fmt_num(e.training_co2_tonnes.unwrap_or_default())
            ),
        ]);
    }
    Some(Section::new(
        "Training time (estimates)",
        &["metric", "value"],
        rows,
    ))
}
