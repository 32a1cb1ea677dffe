//! `llmrig fit RIG`: what the catalog's models can run on a rig the user has.
use super::{Context, ExitStatus};
use crate::catalog::{Catalog, Gpu};
use crate::cli::FitArgs;
use crate::plan::fit::{self, FitQuery};
use crate::plan::Shape;
use crate::probe::schema::ProbeRun;
use anyhow::Context as _;
use std::path::Path;

/// Largest probe run file read.
const MAX_RUN_BYTES: u64 = 64 << 20;

/// The rig `spec` names, with notes on how it was read: a probe run file, `NxGPU`, a GPU id,
/// or a comma-separated list of those.
fn rig<'c>(cat: &'c Catalog, spec: &str) -> anyhow::Result<(Shape, &'c Gpu, Vec<String>)> {
    let path = Path::new(spec);
    if spec.ends_with(".json") || path.is_file() {
        return probe_rig(cat, path);
    }
    let mut gpus: Vec<(u32, &Gpu)> = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (n, id) = match crate::cli::parse_option(item) {
            Ok((shape, id)) if shape.nodes.is_none() => (shape.gpus, id),
            Ok(_) => anyhow::bail!("'{item}': fit takes one machine; give COUNTxGPU"),
            // A GPU id with an x in it (`rtx-4090`) is an id, not a count.
            Err(_) => (1, item.to_owned()),
        };
        gpus.push((n, cat.gpus.resolve(&id)?));
    }
    mixed(gpus, spec)
}

/// One GPU type for a list: a mixed list is planned as that many of its smallest card.
fn mixed<'c>(
    gpus: Vec<(u32, &'c Gpu)>,
    spec: &str,
) -> anyhow::Result<(Shape, &'c Gpu, Vec<String>)> {
    let total: u32 = gpus.iter().map(|g| g.0).sum();
    let Some(&(_, smallest)) = gpus
        .iter()
        .min_by(|a, b| a.1.memory_bytes().total_cmp(&b.1.memory_bytes()))
    else {
        anyhow::bail!("'{spec}' names no GPU: give e.g. 2xrtx-3090 or rtx-3090,rtx-4090");
    };
    let mut notes = Vec::new();
    if gpus.iter().any(|g| g.1.id != smallest.id) {
        notes.push(format!(
            "mixed GPUs: planned as {total} × {} (the smallest card), since tensor parallelism and llmrig's layer split give each GPU an equal share; faster cards are counted at its speed",
            smallest.id
        ));
    }
    Ok((Shape::gpus(total), smallest, notes))
}

/// The GPUs of a saved probe run, matched to catalog entries by name and memory.
fn probe_rig<'c>(cat: &'c Catalog, path: &Path) -> anyhow::Result<(Shape, &'c Gpu, Vec<String>)> {
    let shown = path.display();
    let bytes = crate::fsutil::read_limited(
        path,
        MAX_RUN_BYTES,
        "probe runs",
        crate::fsutil::Pipes::Accept,
    )
    .with_context(|| format!("reading '{shown}'"))?;
    let run: ProbeRun = serde_json::from_slice(&bytes)
        .with_context(|| format!("'{shown}' is not an llmrig probe run"))?;
    let mut gpus = Vec::new();
    for g in &run.gpus {
        let found = crate::probe::catalog_match::match_gpu(cat, &g.name, g.memory_bytes)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "'{shown}': GPU {} '{}' matches no single catalog GPU: give the rig as COUNTxGPU (llmrig gpus lists ids)",
                    g.index,
                    g.name
                )
            })?;
        gpus.push((1, found));
    }
    if gpus.is_empty() {
        anyhow::bail!("'{shown}' has no GPU (a CPU-only probe run): give the rig as COUNTxGPU");
    }
    let (shape, gpu, mut notes) = mixed(gpus, &shown.to_string())?;
    notes.insert(
        0,
        format!("{shown}: {} GPU(s) read as {}", shape.gpus, gpu.id),
    );
    Ok((shape, gpu, notes))
}

pub fn run(ctx: &Context, args: FitArgs) -> anyhow::Result<ExitStatus> {
    let cat = ctx.catalog()?;
    let (shape, gpu, notes) = rig(&cat, &args.rig)?;
    let query = FitQuery {
        workload: args.workload,
        min_context_tokens: args.min_context,
        family: args.family.clone(),
        batch: args.batch,
        prices_as_of: Some(super::plan::today()),
    };
    let result = fit::fit(&cat, shape, gpu, &query, notes);
    if ctx.json {
        ctx.printer.json(&result)?;
    } else {
        ctx.printer.out(&crate::report::fit::to_text(
            &result,
            ctx.printer.width(),
            args.all,
        ));
    }
    Ok(if result.models.is_empty() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
