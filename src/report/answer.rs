//! The answer a plan opens with (`-q` prints only this): the model and its memory need, then
//! the recommended build with its price and the dates of its prices, headroom, decode speed,
//! wall power and circuits, and one line on why it won, naming the runner-up and the fastest
//! fit. Lines wrap to the terminal width, values under values.
use super::plan::{gib, opt, option_price, price_text, short_circuit};
use super::table::{fmt_int, fmt_num, wrap, GLUE};
use crate::plan::{rank, Build, GpuOption, Plan, Workload};

/// Indent of the answer's continuation lines (under the values of `  price    …`).
const INDENT: usize = 11;

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
        "{} GiB weights, {}\u{a0}GiB\u{a0}KV\u{a0}cache",
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

/// `8 × H100 SXM5 80GB in NVIDIA DGX H100 (TP8)`; a machine sold with its one GPU (a DGX
/// Spark, a Mac Studio) is named once, as `2 × NVIDIA DGX Spark (…)` for two of them.
fn build_name(o: &GpuOption, b: &Build) -> String {
    let platform = platform_name(b);
    let one_machine = b.node.gpus_per_node == 1
        && b.node
            .lines
            .iter()
            .any(|l| l.kind == "gpu" && l.quantity == 1 && l.included_in_system());
    if let (true, Some(p)) = (one_machine, platform) {
        return match b.nodes {
            1 => p.to_owned(),
            n => format!("{n} × {p}"),
        };
    }
    let on = platform.map(|p| format!(" in {p}")).unwrap_or_default();
    let layout = match o.layout {
        Some(l) if o.gpus > 1 => format!(" ({})", l.describe()),
        _ => String::new(),
    };
    format!("{} × {}{on}{layout}", o.gpus, o.gpu_name)
}

pub(super) fn dates_text(b: &Build, names: bool) -> String {
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
pub(super) fn circuits_text(b: &Build) -> String {
    let alts: Vec<String> = b
        .node
        .circuits
        .iter()
        .map(|c| {
            format!("{} × {}", c.count, short_circuit(&c.name)).replace(' ', &GLUE.to_string())
        })
        .collect();
    match alts.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// ` for a system of 72 GPUs` when the build is a system sold whole that ships more GPUs than the
/// layout uses, so its price is not read as the price of the GPUs used.
fn unused_gpus(o: &GpuOption) -> String {
    let Some(b) = o.build.as_ref() else {
        return String::new();
    };
    let per_node = o.gpus / b.nodes.max(1);
    match b.node.lines.iter().find(|l| l.kind == "gpu") {
        Some(l) if l.quantity > per_node && l.included_in_system() => {
            format!(" for a system of {} GPUs", l.quantity)
        }
        _ => String::new(),
    }
}

/// Lines of the answer block for a recommended build, before any target or sweep lines: what
/// `-q` prints stays a screenful at 80 columns.
const ANSWER_LINES: usize = 12;

/// One line saying why the recommendation won, naming the runner-up and the fastest fit.
fn why_text(plan: &Plan, rec: usize, system_sizes: bool) -> String {
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
    let name = |i: usize| plan.options[i].rig();
    let price = |i: usize| {
        let o = &plan.options[i];
        match system_sizes {
            true => format!("{}{}", option_price(o), unused_gpus(o)),
            false => option_price(o),
        }
    };
    if let Some(r) = plan.runner_up {
        s.push_str(&format!("; runner-up {} {}", name(r), price(r)));
    }
    match plan.fastest {
        Some(f) if f == rec => s.push_str("; also the fastest fit"),
        Some(f) => s.push_str(&format!(
            "; fastest {} {}, {}",
            name(f),
            speed_text(plan, &plan.options[f]),
            price(f)
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
        out.extend(super::target::answer_lines(plan, width));
        out.extend(super::sweep::answer_lines(plan, width));
        return out;
    };
    let o = &plan.options[rec];
    let Some(b) = o.build.as_ref() else {
        return out;
    };
    out.extend(wrap(
        &format!("Recommended: {}", build_name(o, b)),
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
    // Rent or buy, when the catalog rents this GPU.
    if let Some(line) = super::rent::answer_line(o) {
        field(&mut out, "rent", &line, width);
    }
    // The system-size notes go first when the block would pass its line budget.
    let mut why = Vec::new();
    field(&mut why, "why", &why_text(plan, rec, true), width);
    if out.len() + why.len() > ANSWER_LINES {
        why.clear();
        field(&mut why, "why", &why_text(plan, rec, false), width);
    }
    out.extend(why);
    out.extend(super::target::answer_lines(plan, width));
    out.extend(super::sweep::answer_lines(plan, width));
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
                &format!("{}: {}", o.rig(), o.reason.as_deref().unwrap_or("-")),
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
                &format!("{} {price}; unpriced: {list}", o.rig()),
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

/// The answer block alone (`-q`).
pub fn answer_text(plan: &Plan, width: Option<usize>) -> String {
    answer(plan, width).join("\n") + "\n"
}
