//! Plans and comparisons as tables: the same rows render to the terminal and to Markdown, so
//! both show the same numbers in the same units.
use super::table::{fmt_int, fmt_num, Section};
use crate::plan::{GpuOption, Plan};

const GIB: f64 = (1u64 << 30) as f64;

fn gib(v: f64) -> String {
    format!("{:.1}", v / GIB)
}

fn usd(v: f64) -> String {
    format!("${}", fmt_int(v))
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

/// One row per option: fit, layout, memory, price, power, speed, $ per token/s, break-even.
fn options_section(plan: &Plan) -> Section {
    let training = plan.request.workload != crate::plan::Workload::Infer;
    let mut header = vec![
        "option",
        "fits",
        "layout",
        "GiB/GPU used",
        "GiB/GPU usable",
        "price (USD)",
        "load W",
    ];
    if training {
        header.extend(["GPU-hours", "days"]);
    } else {
        header.extend(["decode tok/s", "batch tok/s", "$ per tok/s"]);
    }
    header.extend(["break-even months", "why not"]);
    let rows = plan
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let star = if plan.recommended == Some(i) {
                " *"
            } else {
                ""
            };
            let mut row = vec![
                format!("{}×{}{star}", o.gpus, o.gpu_id),
                if o.fits { "yes".into() } else { "no".into() },
                opt(o.layout, |l| l.describe()),
                opt(o.memory_per_gpu, |m| gib(m.total_bytes)),
                opt(o.memory_per_gpu, |m| gib(m.usable_bytes)),
                opt(o.build.as_ref(), |b| {
                    match (b.total_usd > 0.0, b.fully_priced) {
                        (false, _) => "unpriced".into(),
                        (true, true) => usd(b.total_usd),
                        (true, false) => format!("{}+", usd(b.total_usd)),
                    }
                }),
                opt(o.cost.as_ref(), |c| fmt_int(c.power_load_w)),
            ];
            if training {
                row.push(opt(o.training, |t| fmt_int(t.gpu_hours)));
                row.push(opt(o.training, |t| fmt_num(t.wall_clock_days)));
            } else {
                row.push(opt(o.speed, |s| fmt_num(s.decode_tokens_per_s)));
                row.push(opt(o.speed, |s| fmt_num(s.decode_batch_tokens_per_s)));
                row.push(opt(
                    o.cost.as_ref().and_then(|c| c.usd_per_token_per_s),
                    usd,
                ));
            }
            row.push(opt(
                o.cost.as_ref().and_then(|c| c.break_even_months),
                fmt_num,
            ));
            row.push(o.reason.clone().unwrap_or_default());
            row
        })
        .collect();
    Section::new(
        "Options (* = recommended: cheapest fit with known GPU cost that builds as listed; + = lower bound, some parts unpriced)",
        &header,
        rows,
    )
}

fn memory_section(o: &GpuOption) -> Option<Section> {
    let m = o.memory_per_gpu?;
    let rows = [
        ("weights", m.weights_bytes),
        ("KV cache", m.kv_cache_bytes),
        ("activations", m.activations_bytes),
        ("gradients", m.gradients_bytes),
        ("optimizer states", m.optimizer_bytes),
        ("runtime overhead", m.overhead_bytes),
        ("total", m.total_bytes),
        ("usable", m.usable_bytes),
        ("headroom", m.headroom_bytes),
    ]
    .into_iter()
    .map(|(k, v)| vec![k.to_owned(), format!("{} GiB", gib(v))])
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

fn parts_section(o: &GpuOption) -> Option<Section> {
    let b = o.build.as_ref()?;
    let mut rows: Vec<Vec<String>> = b
        .node
        .lines
        .iter()
        .map(|l| {
            vec![
                l.kind.to_owned(),
                l.name.clone(),
                l.quantity.to_string(),
                opt(l.unit_price.as_ref(), |p| usd(p.usd)),
                opt(l.total_usd, usd),
                opt(l.unit_price.as_ref(), |p| {
                    format!("{} {}", p.date, kind_name(p))
                }),
                l.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    rows.push(vec![
        "total".into(),
        format!(
            "per node{}",
            if b.nodes > 1 {
                format!(" (× {} nodes = {})", b.nodes, usd(b.total_usd))
            } else {
                String::new()
            }
        ),
        String::new(),
        String::new(),
        usd(b.node.priced_total_usd),
        match (&b.oldest_price_date, &b.newest_price_date) {
            (Some(a), Some(z)) if a != z => format!("prices {a} to {z}"),
            (Some(a), _) => format!("prices {a}"),
            _ => String::new(),
        },
        if b.fully_priced {
            String::new()
        } else {
            format!("unpriced: {}", b.node.unpriced.join(", "))
        },
    ]);
    Some(Section::new(
        &format!(
            "Parts per node ({} node{})",
            b.nodes,
            if b.nodes > 1 { "s" } else { "" }
        ),
        &["part", "name", "qty", "unit", "total", "price date", "note"],
        rows,
    ))
}

fn kind_name(p: &crate::catalog::Price) -> &'static str {
    match p.kind {
        crate::catalog::PriceKind::LaunchMsrp => "(launch MSRP)",
        crate::catalog::PriceKind::StreetNew => "(street, new)",
        crate::catalog::PriceKind::Used => "(used)",
        crate::catalog::PriceKind::Estimate => "(estimate)",
    }
}

fn power_section(plan: &Plan, o: &GpuOption) -> Option<Section> {
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
            format!("${:.4}/kWh — {}", c.usd_per_kwh, plan.electricity_source),
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
                    "{} g/kWh — {}",
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
            format!("circuits per node: {}", ci.name),
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
    if let Some(m) = c.break_even_months {
        rows.push(vec![
            "break-even vs cloud".into(),
            format!("{} months", fmt_num(m)),
        ]);
    }
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

fn speed_section(plan: &Plan, o: &GpuOption) -> Option<Section> {
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
    let rows = vec![
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
    let mut rows = rows;
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

fn summary_section(plan: &Plan) -> Section {
    let r = &plan.request;
    let mm = &plan.model_memory;
    let mut rows = vec![
        vec![
            "model".into(),
            format!(
                "{} ({:.2} B params{})",
                plan.model.name,
                plan.model.params as f64 / 1e9,
                if plan.model.active_params != plan.model.params {
                    format!(", {:.2} B active", plan.model.active_params as f64 / 1e9)
                } else {
                    String::new()
                }
            ),
        ],
        vec![
            "workload / engine".into(),
            format!(
                "{} / {}",
                format!("{:?}", r.workload).to_lowercase(),
                plan.engine.name()
            ),
        ],
        vec![
            "weights".into(),
            format!("{} — {}", r.weights.name(), plan.weight_format.why),
        ],
        vec![
            "weight memory".into(),
            format!(
                "{} GiB ({:.1} GB)",
                gib(mm.weights_bytes),
                mm.weights_bytes / 1e9
            ),
        ],
        vec![
            "KV cache".into(),
            format!(
                "{} bytes/token ({}), {} GiB for {} tokens × batch {}",
                fmt_int(mm.kv_bytes_per_token),
                r.kv.name(),
                gib(mm.kv_cache_bytes),
                fmt_int(r.context_tokens as f64),
                r.batch
            ),
        ],
    ];
    if r.workload != crate::plan::Workload::Infer {
        rows.push(vec![
            "training state".into(),
            format!(
                "{:.1} GB before sharding ({} trainable params; Adam {} bytes/param: 2 weights + {} grads + 12 fp32 master/m/v), ZeRO-{}, recompute {:?}, attention {:?}{}",
                mm.training_state_bytes / 1e9,
                fmt_int(mm.trainable_params),
                2.0 + r.grad_bytes + 12.0,
                r.grad_bytes,
                r.zero_stage,
                r.recompute,
                r.attention,
                match (r.offload_optimizer, r.offload_params) {
                    (_, true) => ", offload params + optimizer",
                    (true, false) => ", offload optimizer",
                    _ => "",
                }
            )
            .to_lowercase(),
        ]);
    }
    Section::new("Request", &["item", "value"], rows)
}

fn assumptions_section(plan: &Plan) -> Section {
    let rows = plan
        .assumptions
        .iter()
        .map(|a| {
            vec![
                a.name.to_owned(),
                format!("{} {}", fmt_num(a.value), a.unit),
                a.reason().to_owned(),
            ]
        })
        .collect();
    Section::new(
        "Assumptions (named constants)",
        &["name", "value", "why"],
        rows,
    )
}

/// All sections of a plan, in reading order.
pub fn sections(plan: &Plan) -> Vec<Section> {
    let mut out = vec![summary_section(plan), options_section(plan)];
    if let Some(o) = plan.recommended.and_then(|i| plan.options.get(i)) {
        out.extend(memory_section(o));
        out.extend(parts_section(o));
        out.extend(power_section(plan, o));
        out.extend(speed_section(plan, o));
    }
    // A comparison warns about every option; a plan about the one it recommends.
    let warned: Vec<Vec<String>> = plan
        .options
        .iter()
        .enumerate()
        .filter(|(i, _)| plan.kind == "comparison" || plan.recommended == Some(*i))
        .flat_map(|(_, o)| {
            o.warnings
                .iter()
                .map(move |w| vec![format!("{}×{}", o.gpus, o.gpu_id), w.clone()])
        })
        .collect();
    let mut warned = warned;
    warned.extend(
        plan.warnings
            .iter()
            .map(|w| vec!["request".into(), w.clone()]),
    );
    if !warned.is_empty() {
        out.push(Section::new("Warnings", &["option", "warning"], warned));
    }
    out.push(Section::new(
        "Rules",
        &["rule"],
        plan.rules.iter().map(|r| vec![r.to_string()]).collect(),
    ));
    out.push(assumptions_section(plan));
    out
}

/// The plan as terminal tables.
pub fn to_text(plan: &Plan) -> String {
    sections(plan)
        .iter()
        .map(Section::to_terminal)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The plan as Markdown.
pub fn to_markdown(plan: &Plan) -> String {
    let title = format!(
        "# {} plan: {}\n\n",
        if plan.kind == "comparison" {
            "Comparison"
        } else {
            "Rig"
        },
        plan.model.name
    );
    title
        + &sections(plan)
            .iter()
            .map(Section::to_markdown)
            .collect::<Vec<_>>()
            .join("\n")
}
