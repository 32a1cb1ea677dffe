//! `llmrig fit` as text: the answer (how many models fit, the largest), then one row per model
//! (its best format, the formats that fit, longest context, speed) or one per model × format.
use super::plan::{gib, opt};
use super::table::{fmt_int, fmt_num, wrap, ColumnFit, Section, TextFit};
use crate::plan::fit::{Fit, FitModel};
use crate::plan::sweep::cli_name;
use crate::plan::Workload;

/// With this many models or fewer, every format gets its own row.
pub const EXPAND_MODELS: usize = 3;

fn billions(p: u64) -> String {
    fmt_num(p as f64 / 1e9)
}

/// `32,768`, or `2,438–32,768` across formats.
fn span(values: impl Iterator<Item = f64>, f: fn(f64) -> String) -> String {
    let v: Vec<f64> = values.collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match v.len() {
        0 => "-".into(),
        _ if f(lo) == f(hi) => f(hi),
        _ => format!("{}–{}", f(lo), f(hi)),
    }
}

fn answer(fit: &Fit, width: Option<usize>) -> Vec<String> {
    let workload = match fit.workload {
        Workload::Infer => String::new(),
        w => format!(" for {}", format!("{w:?}").to_lowercase()),
    };
    let ctx = fit.min_context_tokens.map_or(
        "each at its maximum context up to 4,096 tokens".into(),
        |c| format!("{} tokens", fmt_int(c as f64)),
    );
    let mut out = wrap(
        &format!(
            "{} of {} catalog models fit {}{workload}, {ctx}, batch {}.",
            fit.models.len(),
            fit.models_considered,
            fit.rig,
            fit.batch
        ),
        width,
        2,
    );
    if let Some(m) = fit.models.first() {
        let best = &m.formats[0];
        out.extend(wrap(
            &format!(
                "Best: {} ({} B params) in {}, longest context {}, {} tok/s.",
                m.name,
                billions(m.params),
                cli_name(best.weights),
                opt(best.max_context_tokens, |c| fmt_int(c as f64)),
                opt(best.decode_tokens_per_s, fmt_num)
            ),
            width,
            2,
        ));
    }
    for n in &fit.notes {
        out.extend(wrap(&format!("Note: {n}."), width, 2));
    }
    out
}

fn per_model(fit: &Fit) -> Section {
    let rows = fit
        .models
        .iter()
        .map(|m| {
            let best = &m.formats[0];
            let names: Vec<String> = m.formats.iter().map(|r| cli_name(r.weights)).collect();
            let formats = match names.as_slice() {
                [one] => one.clone(),
                [first, .., last] => format!("{}: {first} … {last}", names.len()),
                [] => "-".into(),
            };
            vec![
                m.id.clone(),
                billions(m.params),
                formats,
                opt(best.used_bytes_per_gpu, gib),
                span(
                    m.formats
                        .iter()
                        .filter_map(|r| r.max_context_tokens)
                        .map(|c| c as f64),
                    fmt_int,
                ),
                span(
                    m.formats.iter().filter_map(|r| r.decode_tokens_per_s),
                    fmt_num,
                ),
            ]
        })
        .collect();
    Section::new(
        &format!("Models that fit {}, largest first (those needing under 4 bits per weight last)", fit.rig),
        &[
            "model",
            "B params",
            "formats that fit (most bits first)",
            "GiB/GPU best",
            "longest context",
            "decode tok/s",
        ],
        rows,
    )
    .with_fit(vec![
        ColumnFit::default().with(TextFit::Cut),
        ColumnFit::drop("B", 2),
        ColumnFit::keep("formats").with(TextFit::Wrap),
        ColumnFit::drop("GiB", 1),
        ColumnFit::keep("max ctx"),
        ColumnFit::keep("tok/s"),
    ])
    .with_note("Longest context and speed run over the formats that fit. --all (or --family) lists every format; --json has them all.")
}

fn per_format(fit: &Fit, models: &[&FitModel]) -> Section {
    let rows = models
        .iter()
        .flat_map(|m| {
            m.formats.iter().map(move |r| {
                vec![
                    m.id.clone(),
                    cli_name(r.weights),
                    format!("{:.2}", r.bits_per_weight),
                    opt(r.used_bytes_per_gpu, gib),
                    opt(r.max_context_tokens, |c| fmt_int(c as f64)),
                    opt(r.decode_tokens_per_s, fmt_num),
                    r.engine.name().to_owned(),
                ]
            })
        })
        .collect();
    Section::new(
        &format!(
            "Models and formats that fit {}, largest model first (under 4 bits last)",
            fit.rig
        ),
        &[
            "model",
            "format",
            "bits/weight",
            "GiB/GPU used",
            "longest context",
            "decode tok/s",
            "engine",
        ],
        rows,
    )
    .with_fit(vec![
        ColumnFit::default().with(TextFit::Cut),
        ColumnFit::KEEP,
        ColumnFit::drop("bits", 2),
        ColumnFit::drop("GiB", 3),
        ColumnFit::keep("max ctx"),
        ColumnFit::keep("tok/s"),
        ColumnFit::drop("eng", 1).with(TextFit::Cut),
    ])
}

/// The fit as terminal text: the answer, then the table.
pub fn to_text(fit: &Fit, width: Option<usize>, all: bool) -> String {
    let mut out = answer(fit, width).join("\n") + "\n";
    if fit.models.is_empty() {
        return out;
    }
    let expand = all || fit.family.is_some() || fit.models.len() <= EXPAND_MODELS;
    let section = if expand {
        per_format(fit, &fit.models.iter().collect::<Vec<_>>())
    } else {
        per_model(fit)
    };
    out.push('\n');
    out.push_str(&section.to_terminal(width));
    out
}
