//! Sweeps of a fixed rig as text: the changes that make the request fit go in the answer, the
//! format, context or batch table after the options.
use super::plan::{gib, opt};
use super::table::{fmt_int, fmt_num, wrap, ColumnFit, Section, TextFit};
use crate::plan::sweep::{cli_name, Sweep, SweepKind, SweepRow};
use crate::plan::Plan;

/// Lines for the answer block: for each swept rig that cannot hold the request, the single
/// changes that make it fit (or that none does).
pub fn answer_lines(plan: &Plan, width: Option<usize>) -> Vec<String> {
    let mut out = Vec::new();
    for s in &plan.sweeps {
        let asked_fits = plan
            .options
            .iter()
            .any(|o| o.fits && o.rig() == s.rig && o.gpu_id == s.gpu_id);
        if asked_fits {
            continue;
        }
        if s.fixes.is_empty() {
            out.extend(wrap(
                &format!(
                    "{} fits with no single change of format, context, batch or GPU count.",
                    s.rig
                ),
                width,
                2,
            ));
            continue;
        }
        out.extend(wrap(&format!("{} fits with one change:", s.rig), width, 2));
        for f in &s.fixes {
            let text = format!("{}: {}", f.change, f.why);
            let lines = wrap(&text, width.map(|w| w.saturating_sub(2).max(20)), 4);
            out.extend(lines.into_iter().map(|l| format!("  {l}")));
        }
    }
    out
}

fn tokens(v: u64) -> String {
    fmt_int(v as f64)
}

/// The table of one sweep, best first for formats, ascending for contexts and batches.
fn section(plan: &Plan, s: &Sweep) -> Section {
    let r = &plan.request;
    let (title, first): (String, (&str, ColumnFit)) = match s.kind {
        SweepKind::Formats => (
            format!(
                "Weight formats on {} at {} tokens × batch {}, best first (fits, then most bits per weight)",
                s.rig,
                tokens(r.context_tokens),
                r.batch
            ),
            ("format", ColumnFit::KEEP),
        ),
        SweepKind::Context => (
            format!(
                "Contexts on {} in {} × batch {}",
                s.rig,
                r.weights.name(),
                r.batch
            ),
            ("context", ColumnFit::KEEP),
        ),
        SweepKind::Batch => (
            format!(
                "Batch sizes on {} in {} at {} tokens",
                s.rig,
                r.weights.name(),
                tokens(r.context_tokens)
            ),
            ("batch", ColumnFit::KEEP),
        ),
    };
    let all: Vec<(&str, ColumnFit)> = vec![
        first,
        ("fits", ColumnFit::keep("fit")),
        ("bits/weight", ColumnFit::drop("bits", 2)),
        ("GiB/GPU used", ColumnFit::drop("GiB", 4)),
        ("headroom GiB", ColumnFit::drop("free", 3)),
        ("longest context", ColumnFit::keep("max ctx")),
        ("largest batch", ColumnFit::keep("max b")),
        ("decode tok/s", ColumnFit::keep("tok/s")),
        ("batch tok/s", ColumnFit::drop("b tok/s", 0)),
        ("engine", ColumnFit::drop("eng", 1).with(TextFit::Cut)),
    ];
    // Columns that would repeat one value down the table are left out.
    let keep = |i: usize| {
        !matches!(
            (s.kind, i),
            (SweepKind::Formats, 8)
                | (SweepKind::Context | SweepKind::Batch, 2 | 9)
                | (SweepKind::Context, 5)
                | (SweepKind::Batch, 6)
        )
    };
    let cols: Vec<(&str, ColumnFit)> = (0..all.len())
        .filter(|&i| keep(i))
        .map(|i| all[i])
        .collect();
    let rows = s
        .rows
        .iter()
        .map(|row| {
            let key = match s.kind {
                SweepKind::Formats => cli_name(row.weights),
                SweepKind::Context => tokens(row.context_tokens),
                SweepKind::Batch => row.batch.to_string(),
            };
            let c = cells(key, row);
            (0..c.len())
                .filter(|&i| keep(i))
                .map(|i| c[i].clone())
                .collect()
        })
        .collect();
    let header: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let mut sec = Section::new(&title, &header, rows).with_fit(cols.iter().map(|c| c.1).collect());
    if s.kind == SweepKind::Formats {
        sec = sec.with_note(
            "Engine and KV cache follow each format (llama.cpp and f16 KV for GGUF types, vLLM otherwise) unless --engine or --kv-precision fix them. Longest context at this batch; largest batch at this context.",
        );
    }
    sec
}

fn cells(key: String, row: &SweepRow) -> Vec<String> {
    vec![
        key,
        if row.fits { "yes".into() } else { "no".into() },
        format!("{:.2}", row.bits_per_weight),
        opt(row.used_bytes_per_gpu, gib),
        match (
            row.fits,
            row.headroom_bytes_per_gpu,
            row.shortfall_bytes_per_gpu,
        ) {
            (true, Some(h), _) => gib(h),
            (false, _, Some(s)) if s > 0.0 => format!("-{}", gib(s)),
            _ => "-".into(),
        },
        opt(row.max_context_tokens, tokens),
        opt(row.max_batch, |b| fmt_int(b as f64)),
        opt(row.decode_tokens_per_s, fmt_num),
        opt(row.decode_batch_tokens_per_s, fmt_num),
        row.engine.name().to_owned(),
    ]
}

/// One table per sweep.
pub fn sections(plan: &Plan) -> Vec<Section> {
    plan.sweeps.iter().map(|s| section(plan, s)).collect()
}
