//! Plans and comparisons as text: the answer first, then the options, then the recommended
//! build's parts, power, speed and memory; assumptions and rules behind `--explain`.
//!
//! The same sections render to the terminal (fitted to its width) and to Markdown, so both
//! show the same numbers in the same units.
use super::compare;
use super::table::{fmt_int, fmt_num, wrap, ColumnFit, Section, TextFit};
use crate::plan::{rank, Build, GpuOption, Plan, Workload};

const GIB: f64 = (1u64 << 30) as f64;
/// Options listed without `--all`.
pub const TOP_OPTIONS: usize = 10;
/// Indent of the answer's continuation lines (under the values of `  price    …`).
const INDENT: usize = 11;

/// What to print and how wide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct View {
    /// Terminal width; `None` prints tables whole.
    pub width: Option<usize>,
    /// Every option instead of the top [`TOP_OPTIONS`].
    pub all: bool,
    /// Add the request details, ranking rule, layout rules and assumptions.
    pub explain: bool,
}

pub(super) fn gib(v: f64) -> String {
    format!("{:.1}", v / GIB)
}

pub(super) fn usd(v: f64) -> String {
    format!("${}", fmt_int(v))
}

pub(super) fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

/// `$31,234`, `≥ $23,150` (some parts unpriced) or `unpriced`.
pub fn price_text(b: &Build) -> String {
    match b.price() {
        Some((v, true)) => usd(v),
        Some((v, false)) => format!("≥ {}", usd(v)),
        None => "unpriced".into(),
    }
}

fn option_price(o: &GpuOption) -> String {
    opt(o.build.as_ref(), price_text)
}

/// `2×a100-pcie-80gb`, with ` *` for the recommendation.
pub fn label(plan: &Plan, i: usize) -> String {
    let o = &plan.options[i];
    let star = if plan.recommended == Some(i) {
        " *"
    } else {
        ""
    };
    format!("{}×{}{star}", o.gpus, o.gpu_id)
}

/// `TP8×PP2, 2 nodes`.
pub fn layout_text(o: &GpuOption) -> String {
    opt(o.layout, |l| {
        let mut s = format!("TP{}", l.tp);
        if l.pp > 1 {
            s.push_str(&format!("×PP{}", l.pp));
        }
        if l.dp > 1 {
            s.push_str(&format!("×DP{}", l.dp));
        }
        if l.nodes > 1 {
            s.push_str(&format!(", {} nodes", l.nodes));
        }
        s
    })
}

/// `US 15 A / 120 V branch circuit` -> `US 15 A/120 V`.
pub fn short_circuit(name: &str) -> String {
    let end = [" branch", " final", " circuit", " ("]
        .iter()
        .filter_map(|p| name.find(p))
        .min()
        .unwrap_or(name.len());
    name[..end].replace(" / ", "/")
}

/// Decode tokens/s (batch when > 1) or training days, as the answer states speed.
fn speed_text(plan: &Plan, o: &GpuOption) -> String {
    if let Some(s) = o.speed {
        return if plan.request.batch > 1 {
            format!(
                "{} tok/s at batch {}",
                fmt_num(s.decode_batch_tokens_per_s),
                plan.request.batch
            )
        } else {
            format!("{} tok/s", fmt_num(s.decode_tokens_per_s))
        };
    }
    opt(o.training, |t| {
        format!("{} days", fmt_num(t.wall_clock_days))
    })
}

/// `  name     value`, the value wrapped under itself.
fn field(out: &mut Vec<String>, name: &str, value: &str, width: Option<usize>) {
    let lines = wrap(value, width.map(|w| w.saturating_sub(INDENT).max(20)), 0);
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            out.push(format!("  {name:<8} {l}"));
        } else {
            out.push(format!("{}{l}", " ".repeat(INDENT)));
        }
    }
}

fn memory_need(plan: &Plan) -> String {
    let mm = &plan.model_memory;
    let mut s = format!(
        "{} GiB weights, {} GiB KV cache",
        gib(mm.weights_bytes),
        gib(mm.kv_cache_bytes)
    );
    if plan.request.workload != Workload::Infer {
        s.push_str(&format!(
            ", {} GB training state before sharding",
            fmt_int(mm.training_state_bytes / 1e9)
        ));
    }
    s
}

/// The platform line's name: `Supermicro SYS-221GE-NR`.
fn platform_name(b: &Build) -> Option<&str> {
    b.node
        .lines
        .iter()
        .find(|l| l.kind == "platform" && l.id.is_some())
        .map(|l| l.name.as_str())
}

fn dates_text(b: &Build, names: bool) -> String {
    let mut s = match (&b.oldest_price_date, &b.newest_price_date) {
        (Some(a), Some(z)) if a != z => format!("prices dated {a} to {z}"),
        (Some(a), _) => format!("prices dated {a}"),
        _ => String::new(),
    };
    let months = crate::plan::constants::STALE_PRICE_MONTHS;
    match b.stale_prices.len() {
        0 => {}
        _ if names => s.push_str(&format!(
            "; older than {months} months: {}",
            b.stale_prices.join(", ")
        )),
        n => s.push_str(&format!("; {n} older than {months} months")),
    }
    s
}

/// `2 × US 15 A/120 V, 1 × US 20 A/120 V or 1 × EU 16 A/230 V`.
fn circuits_text(b: &Build) -> String {
    let alts: Vec<String> = b
        .node
        .circuits
        .iter()
        .map(|c| format!("{} × {}", c.count, short_circuit(&c.name)))
        .collect();
    match alts.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// One line saying why the recommendation won, naming the runner-up and the fastest fit.
fn why_text(plan: &Plan, rec: usize) -> String {
    let complete = plan
        .options
        .iter()
        .filter(|o| rank::recommendable(o))
        .count();
    let fits = plan.options.iter().filter(|o| o.fits).count();
    let mut s = if complete == 1 {
        format!("the only fully priced fit of {fits}")
    } else {
        format!("cheapest of {complete} fully priced fits ({fits} fit)")
    };
    let name = |i: usize| format!("{}×{}", plan.options[i].gpus, plan.options[i].gpu_id);
    if let Some(r) = plan.runner_up {
        s.push_str(&format!(
            "; runner-up {} {}",
            name(r),
            option_price(&plan.options[r])
        ));
    }
    match plan.fastest {
        Some(f) if f == rec => s.push_str("; also the fastest fit"),
        Some(f) => s.push_str(&format!(
            "; fastest {} {}, {}",
            name(f),
            speed_text(plan, &plan.options[f]),
            option_price(&plan.options[f])
        )),
        None => {}
    }
    s
}

/// The answer block: the model and its memory need, then the recommended build.
pub fn answer(plan: &Plan, width: Option<usize>) -> Vec<String> {
    let r = &plan.request;
    let mut out = wrap(
        &format!(
            "{} in {}{}, {} tokens × batch {}: {}",
            plan.model.name,
            r.weights.name(),
            match r.workload {
                Workload::Infer => String::new(),
                w => format!(" ({})", format!("{w:?}").to_lowercase()),
            },
            fmt_int(r.context_tokens as f64),
            r.batch,
            memory_need(plan)
        ),
        width,
        2,
    );
    let Some(rec) = plan.recommended else {
        no_recommendation(plan, width, &mut out);
        return out;
    };
    let o = &plan.options[rec];
    let Some(b) = o.build.as_ref() else {
        return out;
    };
    let layout = o.layout.map(|l| l.describe()).unwrap_or_default();
    let on = platform_name(b)
        .map(|p| format!(" in {p}"))
        .unwrap_or_default();
    out.extend(wrap(
        &format!("Recommended: {} × {}{on} ({layout})", o.gpus, o.gpu_name),
        width,
        2,
    ));
    let mut price = price_text(b);
    if b.nodes > 1 {
        price.push_str(&format!(" for {} nodes", b.nodes));
    }
    let dates = dates_text(b, false);
    if !dates.is_empty() {
        price.push_str(&format!(" ({dates})"));
    }
    field(&mut out, "price", &price, width);
    if let Some(m) = o.memory_per_gpu {
        field(
            &mut out,
            "memory",
            &format!(
                "{} of {} GiB usable per GPU, {} GiB headroom",
                gib(m.total_bytes),
                gib(m.usable_bytes),
                gib(m.headroom_bytes.max(0.0))
            ),
            width,
        );
    }
    let speed = match (o.speed, o.training) {
        (Some(s), _) if plan.request.batch > 1 => format!(
            "decode {} tok/s per sequence, {} at batch {}; first token in {} s",
            fmt_num(s.decode_tokens_per_s),
            fmt_num(s.decode_batch_tokens_per_s),
            plan.request.batch,
            fmt_num(s.time_to_first_token_s)
        ),
        (Some(s), _) => format!(
            "decode {}, first token in {} s",
            speed_text(plan, o),
            fmt_num(s.time_to_first_token_s)
        ),
        (None, Some(t)) => format!(
            "{} GPU-hours, {} days at MFU {}",
            fmt_int(t.gpu_hours),
            fmt_num(t.wall_clock_days),
            t.mfu
        ),
        (None, None) => "give --train-tokens for GPU-hours and days".into(),
    };
    field(&mut out, "speed", &speed, width);
    if let Some(c) = &o.cost {
        let per_node = if b.nodes > 1 { " per node" } else { "" };
        field(
            &mut out,
            "power",
            &format!(
                "{} W at the wall; circuits{per_node}: {}",
                fmt_int(c.power_load_w),
                circuits_text(b)
            ),
            width,
        );
    }
    field(&mut out, "why", &why_text(plan, rec), width);
    out
}

fn no_recommendation(plan: &Plan, width: Option<usize>, out: &mut Vec<String>) {
    let fits = plan.options.iter().filter(|o| o.fits).count();
    if fits == 0 {
        out.extend(wrap(
            "Nothing fits: no option considered holds the model (the options say why).",
            width,
            2,
        ));
        if let Some(o) = plan.options.first() {
            field(
                out,
                "closest",
                &format!(
                    "{}×{}: {}",
                    o.gpus,
                    o.gpu_id,
                    o.reason.as_deref().unwrap_or("-")
                ),
                width,
            );
        }
        return;
    }
    let head = if fits == 1 {
        "No recommendation: the only fit has unpriced parts.".to_owned()
    } else {
        format!("No recommendation: none of the {fits} fits has every part priced.")
    };
    out.extend(wrap(&head, width, 2));
    if let Some(o) = plan.options.iter().find(|o| o.fits) {
        if let Some(b) = &o.build {
            let names = &b.node.unpriced;
            let mut list = names.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
            if names.len() > 3 {
                list.push_str(&format!(" and {} more", names.len() - 3));
            }
            let price = match b.price() {
                Some(_) => format!("costs {}", price_text(b)),
                None => "has no priced part".into(),
            };
            field(
                out,
                "cheapest",
                &format!("{}×{} {price}; unpriced: {list}", o.gpus, o.gpu_id),
                width,
            );
        }
    }
    field(
        out,
        "to fix",
        "add prices for those parts with --catalog-dir (see the options below)",
        width,
    );
}

/// One row per option: fit, layout, memory, price, power, speed, $ per token/s, break-even.
fn options_section(plan: &Plan, view: &View) -> Section {
    let training = plan.request.workload != Workload::Infer;
    let batch = plan.request.batch > 1;
    let shown: Vec<usize> = (0..plan.options.len())
        .take(if view.all { usize::MAX } else { TOP_OPTIONS })
        .collect();
    let why_not = shown.iter().any(|&i| plan.options[i].reason.is_some());
    let mut cols: Vec<(&str, ColumnFit)> = vec![
        ("option", ColumnFit::KEEP),
        ("fits", ColumnFit::keep("fit")),
        ("layout", ColumnFit::drop("layout", 7).with(TextFit::Cut)),
        ("GiB/GPU used", ColumnFit::drop("GiB", 6)),
        ("GiB/GPU usable", ColumnFit::drop("usable", 4)),
        ("price (USD)", ColumnFit::keep("price")),
        ("load W", ColumnFit::drop("W", 5)),
    ];
    if training {
        cols.push(("GPU-hours", ColumnFit::drop("GPU-h", 3)));
        cols.push(("days", ColumnFit::keep("days")));
    } else {
        cols.push(("decode tok/s", ColumnFit::keep("tok/s")));
        if batch {
            cols.push(("batch tok/s", ColumnFit::drop("batch", 3)));
        }
        cols.push(("$ per tok/s", ColumnFit::drop("$/tok/s", 2)));
    }
    cols.push(("break-even months", ColumnFit::drop("b/e mo", 0)));
    if why_not {
        cols.push(("why not", ColumnFit::drop("why not", 1).with(TextFit::Cut)));
    }
    let rows = shown
        .iter()
        .map(|&i| {
            let o = &plan.options[i];
            let mut row = vec![
                label(plan, i),
                if o.fits { "yes".into() } else { "no".into() },
                layout_text(o),
                opt(o.memory_per_gpu, |m| gib(m.total_bytes)),
                opt(o.memory_per_gpu, |m| gib(m.usable_bytes)),
                option_price(o),
                opt(o.cost.as_ref(), |c| fmt_int(c.power_load_w)),
            ];
            if training {
                row.push(opt(o.training, |t| fmt_int(t.gpu_hours)));
                row.push(opt(o.training, |t| fmt_num(t.wall_clock_days)));
            } else {
                row.push(opt(o.speed, |s| fmt_num(s.decode_tokens_per_s)));
                if batch {
                    row.push(opt(o.speed, |s| fmt_num(s.decode_batch_tokens_per_s)));
                }
                row.push(opt(
                    o.cost.as_ref().and_then(|c| c.usd_per_token_per_s),
                    usd,
                ));
            }
            row.push(opt(
                o.cost.as_ref().and_then(|c| c.break_even_months),
                fmt_num,
            ));
            if why_not {
                row.push(o.reason.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    let count = if shown.len() < plan.options.len() {
        format!(
            "top {} of {} (--all for every one)",
            shown.len(),
            plan.options.len()
        )
    } else {
        format!("all {}", plan.options.len())
    };
    let header: Vec<&str> = cols.iter().map(|c| c.0).collect();
    Section::new(
        &format!(
            "Options, {count}, by {}: {}",
            sort_name(plan),
            plan.objective
        ),
        &header,
        rows,
    )
    .with_fit(cols.iter().map(|c| c.1).collect())
    .with_note("* recommended: the cheapest fit with every part priced. ≥: a lower bound, some parts unpriced. --sort price|speed|power|usd-per-token|gpus.")
}

fn sort_name(plan: &Plan) -> &'static str {
    match plan.sort {
        crate::plan::SortKey::Price => "price",
        crate::plan::SortKey::Speed => "speed",
        crate::plan::SortKey::Power => "power",
        crate::plan::SortKey::UsdPerToken => "usd-per-token",
        crate::plan::SortKey::Gpus => "gpus",
        crate::plan::SortKey::Given => "order given",
    }
}

fn memory_section(o: &GpuOption) -> Option<Section> {
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

fn parts_section(o: &GpuOption) -> Option<Section> {
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

fn speed_section(plan: &Plan, o: &GpuOption) -> Option<Section> {
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

fn request_section(plan: &Plan) -> Section {
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
            "workload".into(),
            format!("{:?}", r.workload).to_lowercase(),
        ],
        vec![
            "weights".into(),
            format!("{}: {}", r.weights.name(), plan.weight_format.why),
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
    if r.workload != Workload::Infer {
        rows.push(vec![
            "training state".into(),
            format!(
                "{:.1} GB before sharding ({} trainable params; Adam {} bytes/param: 2 weights + {} grads + 12 fp32 master/m/v), ZeRO-{}, recompute {:?}",
                mm.training_state_bytes / 1e9,
                fmt_int(mm.trainable_params),
                2.0 + r.grad_bytes + 12.0,
                r.grad_bytes,
                r.zero_stage,
                r.recompute
            )
            .to_lowercase(),
        ]);
    }
    rows.push(vec![
        "ranking".into(),
        format!(
            "options by {}: {}; the recommendation is the cheapest fit with every part priced, which builds as listed",
            sort_name(plan),
            plan.objective
        ),
    ]);
    if let Some(d) = &r.prices_as_of {
        rows.push(vec![
            "price ages".into(),
            format!(
                "counted to {d}; older than {} months are flagged",
                crate::plan::constants::STALE_PRICE_MONTHS
            ),
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
    .with_fit(vec![
        ColumnFit::KEEP,
        ColumnFit::default().with(TextFit::Wrap),
        ColumnFit::default().with(TextFit::Wrap),
    ])
}

fn warnings_section(plan: &Plan) -> Option<Section> {
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
    (!warned.is_empty()).then(|| {
        Section::new("Warnings", &["option", "warning"], warned).with_fit(vec![
            ColumnFit::KEEP,
            ColumnFit::default().with(TextFit::Wrap),
        ])
    })
}

/// All sections after the answer, in reading order.
pub fn sections(plan: &Plan, view: &View) -> Vec<Section> {
    let mut out = if plan.kind == "comparison" {
        compare::sections(plan, view.width)
    } else {
        vec![options_section(plan, view)]
    };
    if let Some(o) = plan.recommendation() {
        out.extend(parts_section(o));
        out.extend(power_section(plan, o));
        out.extend(speed_section(plan, o));
        if plan.kind != "comparison" {
            out.extend(memory_section(o));
        }
    }
    out.extend(warnings_section(plan));
    if view.explain {
        out.push(request_section(plan));
        out.push(Section::new(
            "Rules",
            &["rule"],
            plan.rules.iter().map(|r| vec![r.to_string()]).collect(),
        ));
        out.push(assumptions_section(plan));
    } else {
        out.push(
            Section::new("", &[], Vec::new()).with_note(
                "--explain adds the request details, the ranking rule, the layout rules and every assumption.",
            ),
        );
    }
    out
}

/// The answer block alone (`-q`).
pub fn answer_text(plan: &Plan, width: Option<usize>) -> String {
    answer(plan, width).join("\n") + "\n"
}

/// The plan as terminal text: the answer, then the tables.
pub fn to_text(plan: &Plan, view: &View) -> String {
    let mut out = answer_text(plan, view.width);
    for s in sections(plan, view) {
        out.push('\n');
        if s.header.is_empty() {
            for n in &s.notes {
                out.push_str(&wrap(n, view.width, 2).join("\n"));
                out.push('\n');
            }
        } else {
            out.push_str(&s.to_terminal(view.width));
        }
    }
    out
}

/// The plan as Markdown.
pub fn to_markdown(plan: &Plan, view: &View) -> String {
    let title = format!(
        "# {} plan: {}\n\n",
        if plan.kind == "comparison" {
            "Comparison"
        } else {
            "Rig"
        },
        plan.model.name
    );
    // Field lines (`  price    $…`) become a list with bold labels.
    let answer: Vec<String> = answer(plan, None)
        .iter()
        .map(
            |l| match l.strip_prefix("  ").and_then(|f| f.split_once(' ')) {
                Some((label, value)) => format!("- **{label}** {}\n", value.trim()),
                None => format!("\n{l}\n"),
            },
        )
        .collect();
    let view = View {
        width: None,
        ..*view
    };
    title
        + answer.concat().trim_start()
        + "\n"
        + &sections(plan, &view)
            .iter()
            .filter(|s| !s.header.is_empty())
            .map(Section::to_markdown)
            .collect::<Vec<_>>()
            .join("\n")
}
