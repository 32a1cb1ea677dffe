//! Plans and comparisons as text: the answer first ([`super::answer`]), then the options (or
//! `compare`'s side-by-side tables), then the recommended build's parts, power, speed and memory
//! ([`super::rig`]); the request, rules and assumptions behind `--explain`.
//!
//! The same sections render to the terminal (fitted to its width) and to Markdown, so both
//! show the same numbers in the same units.
pub use super::answer::{answer, answer_text};
use super::compare;
use super::rig::{memory_section, parts_section, power_section, speed_section};
use super::table::{fmt_int, fmt_num, wrap, ColumnFit, Section, TextFit};
use crate::plan::{Build, GpuOption, Plan, Workload};

const GIB: f64 = (1u64 << 30) as f64;
/// Options listed without `--all`.
pub const TOP_OPTIONS: usize = 10;

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

pub(super) fn option_price(o: &GpuOption) -> String {
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
    format!("{}{star}", o.rig())
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
            "workload / engine".into(),
            format!(
                "{} / {}",
                format!("{:?}", r.workload).to_lowercase(),
                plan.engine.name()
            ),
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
    rows.push(vec![
        "rent or buy".into(),
        format!(
            "{} h/day for {} months (--hours-per-day, --months), resale {}",
            fmt_num(r.utilization * 24.0),
            fmt_num(r.horizon_months),
            r.resale_percent.map_or_else(
                || "straight-line over GPU_USEFUL_LIFE_YEARS".into(),
                |p| format!("{} % (--resale-percent)", fmt_num(p))
            )
        ),
    ]);
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
        .flat_map(|(_, o)| o.warnings.iter().map(move |w| vec![o.rig(), w.clone()]))
        .chain(
            plan.warnings
                .iter()
                .map(|w| vec!["request".into(), w.clone()]),
        )
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
    out.extend(super::sweep::sections(plan));
    out.extend(super::rent::options_section(plan, view));
    // The recommended build in detail; without one, the cheapest fit (its parts list says what
    // is unpriced).
    let detail = plan
        .recommendation()
        .or_else(|| plan.options.iter().find(|o| o.fits));
    if let Some(o) = detail {
        out.extend(parts_section(o));
        out.extend(power_section(plan, o));
        out.extend(super::rent::detail_section(o));
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
