//! `llmrig models`, `gpus`, `parts` and `catalog validate`.
use super::{Context, ExitStatus};
use crate::catalog::{preferred_price, Catalog, Entry, Table};
use crate::cli::{CatalogCommand, ListArgs, ShowCommand};
use crate::report::card;
use crate::report::table::{fmt_int, fmt_num, ColumnFit, Section, TextFit};
use anyhow::Context as _;

pub fn models(ctx: &Context, args: ListArgs) -> anyhow::Result<ExitStatus> {
    let cat = ctx.catalog()?;
    if let Some(ShowCommand::Show { id, toml }) = args.show {
        let m = cat.models.resolve(&id)?;
        if !ctx.json && !toml {
            ctx.printer.out(&card::model(
                m,
                cat.models.origin(&m.id),
                ctx.printer.width(),
            ));
            return Ok(ExitStatus::Success);
        }
        let counts = m.param_counts();
        let value = serde_json::json!({ "model": m, "computed_params": counts, "origin": cat.models.origin(&m.id) });
        return show(ctx, &value);
    }
    if ctx.json {
        ctx.printer.json(&cat.models.iter().collect::<Vec<_>>())?;
        return Ok(ExitStatus::Success);
    }
    let mut rows = Vec::new();
    for m in cat.models.iter() {
        let c = m.param_counts();
        rows.push(vec![
            m.id.clone(),
            m.name.clone(),
            format!("{:.2} B", c.total as f64 / 1e9),
            if m.is_moe() {
                format!("{:.2} B", c.active as f64 / 1e9)
            } else {
                "-".into()
            },
            m.num_hidden_layers.to_string(),
            m.hidden_size.to_string(),
            format!("{}/{}", m.num_attention_heads, m.num_key_value_heads),
            fmt_int(m.max_position_embeddings as f64),
            m.license.clone(),
        ]);
    }
    let cut = ColumnFit::default().with(TextFit::Cut);
    let t = Section::new(
        "",
        &[
            "id", "name", "params", "active", "layers", "hidden", "heads/kv", "context", "license",
        ],
        rows,
    )
    .with_fit(vec![
        ColumnFit::KEEP,
        ColumnFit {
            drop: Some(3),
            ..cut
        },
        ColumnFit::KEEP,
        ColumnFit::drop("active", 4),
        ColumnFit::drop("layers", 2),
        ColumnFit::drop("hidden", 1),
        ColumnFit::KEEP,
        ColumnFit::KEEP,
        ColumnFit {
            drop: Some(0),
            ..cut
        },
    ]);
    ctx.printer.out(&t.to_terminal(ctx.printer.width()));
    Ok(ExitStatus::Success)
}

pub fn gpus(ctx: &Context, args: ListArgs) -> anyhow::Result<ExitStatus> {
    let cat = ctx.catalog()?;
    if let Some(ShowCommand::Show { id, toml }) = args.show {
        let g = cat.gpus.resolve(&id)?;
        if !ctx.json && !toml {
            let today = super::plan::today();
            let text = card::gpu(g, cat.gpus.origin(&g.id), Some(&today), ctx.printer.width());
            ctx.printer.out(&text);
            return Ok(ExitStatus::Success);
        }
        let value = serde_json::json!({ "gpu": g, "memory_bytes": g.memory_bytes(), "origin": cat.gpus.origin(&g.id) });
        return show(ctx, &value);
    }
    if ctx.json {
        ctx.printer.json(&cat.gpus.iter().collect::<Vec<_>>())?;
        return Ok(ExitStatus::Success);
    }
    let mut rows = Vec::new();
    for g in cat.gpus.iter() {
        let opt = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "-".into());
        let price = preferred_price(&g.prices);
        rows.push(vec![
            g.id.clone(),
            if g.unified_memory {
                let gpu_gib = g.memory_bytes() / (1u64 << 30) as f64;
                // The GPU's share of the shared RAM, e.g. `384 of 512 GiB`.
                format!("{} of {} GiB", fmt_num(gpu_gib), fmt_num(g.memory_gib))
            } else {
                format!("{} GiB {}", fmt_num(g.memory_gib), g.memory_type)
            },
            fmt_int(g.memory_bandwidth_gb_per_s),
            opt(g.dense_tflops.bf16),
            opt(g.dense_tflops.fp16),
            opt(g.dense_tflops.fp8),
            fmt_int(g.tdp_w),
            format!("{:?}", g.form_factor).to_lowercase(),
            price
                .map(|p| format!("${}", fmt_int(p.usd)))
                .unwrap_or_else(|| "unknown".into()),
            price.map(|p| p.date.clone()).unwrap_or_default(),
        ]);
    }
    let t = Section::new(
        "",
        &[
            "id",
            "memory",
            "GB/s",
            "bf16 TF",
            "fp16 TF",
            "fp8 TF",
            "TDP W",
            "form",
            "price",
            "price date",
        ],
        rows,
    )
    .with_fit(vec![
        ColumnFit::KEEP,
        ColumnFit::KEEP,
        ColumnFit::KEEP,
        ColumnFit::keep("bf16"),
        ColumnFit::drop("fp16", 0),
        ColumnFit::drop("fp8", 2),
        ColumnFit::drop("W", 3),
        ColumnFit::drop("form", 1),
        ColumnFit::KEEP,
        ColumnFit::drop("date", 4),
    ]);
    ctx.printer.out(&t.to_terminal(ctx.printer.width()));
    Ok(ExitStatus::Success)
}

/// The one figure that characterises a part of each kind, from its serialized fields.
fn key_figure(entry: &serde_json::Value) -> String {
    const KEYS: &[(&str, &str)] = &[
        ("max_gpus", "GPUs max"),
        ("gpu_positions", "GPUs max"),
        ("slot_spacing", "slot spacing"),
        ("lanes", "PCIe lanes"),
        ("cores", "cores"),
        ("capacity_gib", "GiB"),
        ("capacity_gb", "GB"),
        ("watts", "W"),
        ("expansion_slots", "slots"),
        ("gbit_per_s", "Gbit/s"),
        ("continuous_w", "W continuous"),
        ("usd_per_kwh", "USD/kWh"),
        ("usd_per_gpu_hour", "USD/GPU-h"),
    ];
    KEYS.iter()
        .find_map(|(k, unit)| {
            entry
                .get(k)
                .and_then(|v| v.as_f64())
                .map(|v| format!("{} {unit}", fmt_num(v)))
        })
        .unwrap_or_default()
}

/// A generic listing of one part kind: id, name, key figure, preferred price and its date.
fn part_rows<T: Entry>(table: &Table<T>, kind: &str, rows: &mut Vec<Vec<String>>) {
    for e in table.iter() {
        let price = preferred_price(e.prices());
        let json = serde_json::to_value(e).unwrap_or_default();
        rows.push(vec![
            kind.to_owned(),
            e.id().to_owned(),
            e.name().to_owned(),
            key_figure(&json),
            price
                .map(|p| format!("${}", fmt_int(p.usd)))
                .unwrap_or_else(|| "-".into()),
            // Tariffs and rental prices carry their own date.
            price
                .map(|p| p.date.clone())
                .or_else(|| json["date"].as_str().map(str::to_owned))
                .unwrap_or_default(),
        ]);
    }
}

/// Every part kind as (kind, JSON list, table rows), so listing and lookup share one walk.
fn part_kinds(cat: &Catalog) -> Vec<(&'static str, serde_json::Value, Vec<Vec<String>>)> {
    fn one<T: Entry>(table: &Table<T>) -> (&'static str, serde_json::Value, Vec<Vec<String>>) {
        let mut rows = Vec::new();
        part_rows(table, T::KIND, &mut rows);
        let json = serde_json::to_value(table.iter().collect::<Vec<_>>()).unwrap_or_default();
        (T::KIND, json, rows)
    }
    vec![
        one(&cat.platforms),
        one(&cat.cpus),
        one(&cat.ram),
        one(&cat.storage),
        one(&cat.psus),
        one(&cat.cases),
        one(&cat.coolers),
        one(&cat.network),
        one(&cat.circuits),
        one(&cat.electricity),
        one(&cat.cloud),
        one(&cat.risers),
        one(&cat.bridges),
        one(&cat.frames),
        one(&cat.server_psus),
    ]
}

pub fn parts(
    ctx: &Context,
    kind: Option<String>,
    show_cmd: Option<ShowCommand>,
) -> anyhow::Result<ExitStatus> {
    let cat = ctx.catalog()?;
    let kinds = part_kinds(&cat);
    if let Some(ShowCommand::Show { id, .. }) = show_cmd {
        for (k, list, _) in &kinds {
            if let Some(entry) = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["id"] == id.as_str())
            {
                return show(ctx, &serde_json::json!({ "kind": k, "part": entry }));
            }
        }
        anyhow::bail!("no part '{id}' (list them with 'llmrig parts')");
    }
    let selected: Vec<_> = match &kind {
        None => kinds.iter().collect(),
        Some(k) => {
            let found: Vec<_> = kinds.iter().filter(|(name, _, _)| name == k).collect();
            if found.is_empty() {
                let names: Vec<&str> = kinds.iter().map(|(n, _, _)| *n).collect();
                anyhow::bail!(
                    "unknown part kind '{k}' (expected one of: {})",
                    names.join(", ")
                );
            }
            found
        }
    };
    if ctx.json {
        let map: serde_json::Map<String, serde_json::Value> = selected
            .iter()
            .map(|(k, list, _)| (k.to_string(), list.clone()))
            .collect();
        ctx.printer.json(&map)?;
        return Ok(ExitStatus::Success);
    }
    let rows = selected
        .iter()
        .flat_map(|(_, _, rows)| rows.iter().cloned())
        .collect();
    let cut = ColumnFit::default().with(TextFit::Cut);
    let t = Section::new(
        "",
        &["kind", "id", "name", "figure", "price", "price date"],
        rows,
    )
    .with_fit(vec![
        ColumnFit::KEEP,
        ColumnFit::KEEP,
        ColumnFit {
            drop: Some(2),
            ..cut
        },
        ColumnFit::drop("figure", 0),
        ColumnFit::KEEP,
        ColumnFit::drop("date", 1),
    ]);
    ctx.printer.out(&t.to_terminal(ctx.printer.width()));
    Ok(ExitStatus::Success)
}

pub fn catalog(ctx: &Context, cmd: CatalogCommand) -> anyhow::Result<ExitStatus> {
    let CatalogCommand::Validate { dir } = cmd;
    let dir = dir.or_else(|| ctx.catalog_dir.clone());
    let cat = Catalog::load(dir.as_deref()).with_context(|| {
        format!(
            "catalog {}",
            dir.as_ref()
                .map(|d| format!("'{}'", d.display()))
                .unwrap_or_else(|| "embedded".into())
        )
    })?;
    let summary = serde_json::json!({
        "valid": true,
        "gpus": cat.gpus.len(), "models": cat.models.len(), "platforms": cat.platforms.len(),
        "cpus": cat.cpus.len(), "ram": cat.ram.len(), "storage": cat.storage.len(), "psus": cat.psus.len(),
        "cases": cat.cases.len(), "coolers": cat.coolers.len(), "network": cat.network.len(),
        "circuits": cat.circuits.len(), "electricity": cat.electricity.len(), "cloud": cat.cloud.len(),
        "risers": cat.risers.len(), "bridges": cat.bridges.len(), "frames": cat.frames.len(),
        "server_psus": cat.server_psus.len(),
    });
    if ctx.json {
        ctx.printer.json(&summary)?;
    } else {
        ctx.printer.out(&format!(
            "catalog is valid: {} gpus, {} models, {} parts",
            cat.gpus.len(),
            cat.models.len(),
            kinds_total(&cat)
        ));
    }
    Ok(ExitStatus::Success)
}

fn kinds_total(cat: &Catalog) -> usize {
    part_kinds(cat).iter().map(|(_, _, rows)| rows.len()).sum()
}

/// Shows one entry: JSON with `--json`, else TOML.
fn show(ctx: &Context, value: &serde_json::Value) -> anyhow::Result<ExitStatus> {
    if ctx.json {
        ctx.printer.json(value)?;
    } else {
        ctx.printer
            .out(&toml::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
    }
    Ok(ExitStatus::Success)
}

/// Shell completions that also complete catalog ids: model ids after `--model` and
/// `models show`, GPU ids after `--gpu` and `gpus show` (the embedded catalog with any overlay).
pub fn completions(ctx: &Context, shell: clap_complete::Shell) -> anyhow::Result<ExitStatus> {
    use clap::builder::{PossibleValue, PossibleValuesParser};
    let cat = ctx.catalog()?;
    // clap keeps possible values as `&'static str`; this runs once and exits.
    let values = |ids: Vec<String>| {
        PossibleValuesParser::new(
            ids.into_iter()
                .map(|id| PossibleValue::new(&*Box::leak(id.into_boxed_str()))),
        )
    };
    let models = || values(cat.models.iter().map(|m| m.id.clone()).collect());
    let gpus = || values(cat.gpus.iter().map(|g| g.id.clone()).collect());
    let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command()
        .mut_subcommand("plan", |c| {
            c.mut_arg("model", |a| a.value_parser(models()))
                .mut_arg("gpu", |a| a.value_parser(gpus()))
        })
        .mut_subcommand("compare", |c| {
            c.mut_arg("model", |a| a.value_parser(models()))
        })
        .mut_subcommand("models", |c| {
            c.mut_subcommand("show", |s| s.mut_arg("id", |a| a.value_parser(models())))
        })
        .mut_subcommand("gpus", |c| {
            c.mut_subcommand("show", |s| s.mut_arg("id", |a| a.value_parser(gpus())))
        });
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "llmrig", &mut buf);
    ctx.printer.out(&String::from_utf8_lossy(&buf));
    Ok(ExitStatus::Success)
}
