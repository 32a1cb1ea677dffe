//! `compare` side by side: one column per option, one row per figure.
//!
//! To add a row, add one line to [`rows`]: a label with its unit and the cell of each option.
//! Rows whose every cell is empty (`-`, or a memory term of 0.0 GiB) are left out, so training
//! terms appear only for training. When the options do not fit the terminal side by side they
//! are split into several tables of as many options as fit, each with the row labels.
use super::plan::{gib, label, layout_text, opt, price_text, short_circuit, usd};
use super::table::{fmt_int, fmt_num, width_of, ColumnFit, Section, TextFit};
use crate::plan::{GpuOption, MemoryBreakdown, Plan};

/// Memory terms in reading order (totals excluded).
pub fn memory_terms(m: &MemoryBreakdown) -> Vec<(&'static str, f64)> {
    vec![
        ("weights", m.weights_bytes),
        ("KV cache", m.kv_cache_bytes),
        ("activations", m.activations_bytes),
        ("gradients", m.gradients_bytes),
        ("optimizer states", m.optimizer_bytes),
        ("runtime overhead", m.overhead_bytes),
    ]
}

type Row = (String, Vec<String>);

/// Every row of the side-by-side table, for every option.
pub fn rows(plan: &Plan) -> Vec<Row> {
    let all = |f: &dyn Fn(&GpuOption) -> String| plan.options.iter().map(f).collect::<Vec<_>>();
    let mem = |f: &dyn Fn(&MemoryBreakdown) -> f64| {
        all(&|o: &GpuOption| opt(o.memory_per_gpu, |m| gib(f(&m))))
    };
    let mut rows: Vec<Row> = vec![
        (
            "fits".into(),
            all(&|o| if o.fits { "yes" } else { "no" }.into()),
        ),
        ("layout".into(), all(&layout_text)),
    ];
    let m0 = MemoryBreakdown::default();
    for (k, (name, _)) in memory_terms(&m0).into_iter().enumerate() {
        let name = name.strip_prefix("runtime ").unwrap_or(name);
        rows.push((format!("{name} GiB/GPU"), mem(&|m| memory_terms(m)[k].1)));
    }
    rows.extend([
        ("total GiB/GPU".into(), mem(&|m| m.total_bytes)),
        ("usable GiB/GPU".into(), mem(&|m| m.usable_bytes)),
        (
            "headroom GiB/GPU".into(),
            mem(&|m| m.headroom_bytes.max(0.0)),
        ),
        (
            "price USD".into(),
            all(&|o| opt(o.build.as_ref(), price_text)),
        ),
        (
            "unpriced parts".into(),
            all(&|o| opt(o.build.as_ref(), |b| b.node.unpriced.len().to_string())),
        ),
        (
            "newest price".into(),
            all(&|o| {
                opt(
                    o.build.as_ref().and_then(|b| b.newest_price_date.clone()),
                    |d| d,
                )
            }),
        ),
        (
            "wall W at load".into(),
            all(&|o| opt(o.cost.as_ref(), |c| fmt_int(c.power_load_w))),
        ),
        (
            "wall W idle".into(),
            all(&|o| opt(o.cost.as_ref(), |c| fmt_int(c.power_idle_w))),
        ),
    ]);
    // One row per circuit kind in the catalog, counted per node.
    let kinds: Vec<(String, String)> = plan
        .options
        .iter()
        .filter_map(|o| o.build.as_ref())
        .flat_map(|b| {
            b.node
                .circuits
                .iter()
                .map(|c| (c.circuit.clone(), c.name.clone()))
        })
        .fold(Vec::new(), |mut v, k| {
            if !v.contains(&k) {
                v.push(k);
            }
            v
        });
    for (id, name) in kinds {
        rows.push((
            format!("circuits {}", short_circuit(&name)),
            all(&|o| {
                opt(
                    o.build
                        .as_ref()
                        .and_then(|b| b.node.circuits.iter().find(|c| c.circuit == id)),
                    |c| c.count.to_string(),
                )
            }),
        ));
    }
    rows.extend([
        (
            "decode tok/s".into(),
            all(&|o| opt(o.speed, |s| fmt_num(s.decode_tokens_per_s))),
        ),
        (
            format!("decode tok/s, batch {}", plan.request.batch),
            all(&|o| opt(o.speed, |s| fmt_num(s.decode_batch_tokens_per_s))),
        ),
        (
            "prefill tok/s".into(),
            all(&|o| opt(o.speed, |s| fmt_int(s.prefill_tokens_per_s))),
        ),
        (
            "first token s".into(),
            all(&|o| opt(o.speed, |s| fmt_num(s.time_to_first_token_s))),
        ),
        (
            "GPU-hours".into(),
            all(&|o| opt(o.training, |t| fmt_int(t.gpu_hours))),
        ),
        (
            "training days".into(),
            all(&|o| opt(o.training, |t| fmt_num(t.wall_clock_days))),
        ),
        (
            "USD per tok/s".into(),
            all(&|o| opt(o.cost.as_ref().and_then(|c| c.usd_per_token_per_s), usd)),
        ),
        (
            "break-even months".into(),
            all(&|o| opt(o.cost.as_ref().and_then(|c| c.break_even_months), fmt_num)),
        ),
        ("warnings".into(), all(&|o| o.warnings.len().to_string())),
    ]);
    if plan.request.batch <= 1 {
        rows.retain(|(l, _)| !l.starts_with("decode tok/s, batch"));
    }
    rows.retain(|(_, cells)| cells.iter().any(|c| c != "-" && c != "0.0"));
    rows
}

/// The options `idx` side by side.
fn table(plan: &Plan, rows: &[Row], idx: &[usize], title: &str) -> Section {
    let mut header = vec!["".to_owned()];
    header.extend(idx.iter().map(|&i| label(plan, i)));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let body = rows
        .iter()
        .map(|(l, cells)| {
            let mut r = vec![l.clone()];
            r.extend(idx.iter().map(|&i| cells[i].clone()));
            r
        })
        .collect();
    let mut fit = vec![ColumnFit::default().with(TextFit::Cut)];
    fit.extend(idx.iter().map(|_| ColumnFit::default()));
    Section::new(title, &header, body).with_fit(fit)
}

/// The side-by-side tables, split so that each fits `width`, and notes on what does not fit
/// and what is unpriced.
pub fn sections(plan: &Plan, width: Option<usize>) -> Vec<Section> {
    let rows = rows(plan);
    let n = plan.options.len();
    let all: Vec<usize> = (0..n).collect();
    let mut per = n.max(1);
    if let Some(w) = width {
        while per > 1
            && all
                .chunks(per)
                .any(|c| width_of(&table(plan, &rows, c, "").to_terminal(None)) > w)
        {
            per -= 1;
        }
    }
    let chunks: Vec<&[usize]> = all.chunks(per).collect();
    let mut out: Vec<Section> = chunks
        .iter()
        .map(|c| {
            let title = if chunks.len() > 1 {
                let (a, z) = (c[0] + 1, c[c.len() - 1] + 1);
                let which = if a == z {
                    format!("option {a}")
                } else {
                    format!("options {a}-{z}")
                };
                format!("Side by side, {which} of {n} (* recommended; ≥ a lower bound)")
            } else {
                "Side by side (* recommended; ≥ a lower bound, some parts unpriced)".to_owned()
            };
            table(plan, &rows, c, &title)
        })
        .collect();
    if let Some(last) = out.last_mut() {
        for o in &plan.options {
            let name = o.rig();
            if let Some(r) = &o.reason {
                last.notes.push(format!("{name} does not fit: {r}."));
            }
            if let Some(b) = o.build.as_ref().filter(|b| !b.fully_priced) {
                last.notes
                    .push(format!("{name} unpriced: {}.", b.node.unpriced.join(", ")));
            }
        }
    }
    out
}
