//! `llmrig fit RIG`: every catalog model in every weight format that fits one fixed rig, with
//! its longest context and decode speed; largest models first among those that fit at 4 bits
//! per weight or more, then the rest.
//!
//! Each model is a format sweep of the rig ([`sweep::format_rows`]), so a row here says the
//! same as `compare -m MODEL -o RIG --sweep formats`.
use super::format::default_weights;
use super::sweep::{self, Fixed, SweepRow};
use super::{PlanRequest, Shape, Workload};
use crate::catalog::{Catalog, Gpu, Model};
use serde::Serialize;

/// What the user asks of every model.
#[derive(Debug, Clone, PartialEq)]
pub struct FitQuery {
    pub workload: Workload,
    /// Models whose maximum is shorter are left out; each model is asked at this context
    /// (default: its maximum, at most `DEFAULT_CONTEXT_TOKENS`, as `plan` does).
    pub min_context_tokens: Option<u64>,
    /// Only models whose family or id starts with this (case-insensitive): `qwen` takes
    /// qwen2 and qwen3, `mixtral` the Mixtral ids of the mistral family.
    pub family: Option<String>,
    pub batch: u64,
    /// Price dates are counted to this day (the builds behind each row are priced).
    pub prices_as_of: Option<String>,
}

/// The context a model is asked at without `--min-context`, the same as `plan`'s default.
pub const DEFAULT_CONTEXT_TOKENS: u64 = 4096;

/// Bits per weight below which a model ranks after every model that fits at this many or
/// more. A ranking choice, not a measured threshold: the 4-bit types (Q4_K_M, GPTQ/AWQ int4)
/// are the usual quality floor, and a 180B model at 1.7 bits is not a better answer than a
/// 70B one at 4.9.
pub const QUALITY_BITS: f64 = 4.0;

/// One model that fits, with every format that fits, most bits per weight first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitModel {
    pub id: String,
    pub name: String,
    pub family: String,
    pub params: u64,
    pub active_params: u64,
    pub max_context_tokens: u64,
    /// The context the formats were tried at.
    pub context_tokens: u64,
    pub formats: Vec<SweepRow>,
}

/// Every model that fits the rig, largest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// `fit`.
    pub kind: &'static str,
    pub schema_version: u32,
    pub tool_version: &'static str,
    /// `2×rtx-3090`.
    pub rig: String,
    pub gpu_id: String,
    pub gpus: u32,
    pub workload: Workload,
    pub batch: u64,
    pub min_context_tokens: Option<u64>,
    pub family: Option<String>,
    /// Models tried after the family and context filters, and how many of them fit.
    pub models_considered: usize,
    pub models: Vec<FitModel>,
    /// How the rig was read (a mixed GPU list, a probe run), for the user.
    pub notes: Vec<String>,
}

/// The request one model is asked with, or `None` when the filters leave it out.
fn request(model: &Model, q: &FitQuery) -> Option<PlanRequest> {
    if let Some(f) = &q.family {
        let f = f.to_ascii_lowercase();
        if !(model.family.to_ascii_lowercase().starts_with(&f) || model.id.starts_with(&f)) {
            return None;
        }
    }
    let max = model.max_position_embeddings;
    let ctx = match q.min_context_tokens {
        Some(c) if c > max => return None,
        Some(c) => c,
        None => max.min(DEFAULT_CONTEXT_TOKENS),
    };
    let mut req = PlanRequest::new(q.workload, ctx.max(1));
    req.batch = q.batch.max(1);
    req.weights = default_weights(model, q.workload);
    req.kv = req.engine().default_kv(req.weights);
    req.prices_as_of = q.prices_as_of.clone();
    Some(req)
}

/// The formats of `model` that fit the rig: every format for inference, the workload's
/// default weights for training (its precision is part of the method).
fn fitting(
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    shape: Shape,
    gpu: &Gpu,
) -> Vec<SweepRow> {
    let fixed = Fixed::default();
    let rows = if req.is_training() {
        let r = sweep::with_format(req, req.weights, fixed);
        vec![sweep::row_on(cat, model, &r, shape, gpu)]
    } else {
        sweep::format_rows(cat, model, req, fixed, shape, gpu)
    };
    rows.into_iter().filter(|r| r.fits).collect()
}

/// Every catalog model that fits `shape × gpu` under `q`: those that fit at [`QUALITY_BITS`]
/// or more first, each group largest (total parameters) first.
pub fn fit(cat: &Catalog, shape: Shape, gpu: &Gpu, q: &FitQuery, notes: Vec<String>) -> Fit {
    let mut considered = 0;
    let mut models: Vec<FitModel> = cat
        .models
        .iter()
        .filter_map(|m| {
            let req = request(m, q)?;
            considered += 1;
            let formats = fitting(cat, m, &req, shape, gpu);
            if formats.is_empty() {
                return None;
            }
            let p = m.param_counts();
            Some(FitModel {
                id: m.id.clone(),
                name: m.name.clone(),
                family: m.family.clone(),
                params: p.total,
                active_params: p.active,
                max_context_tokens: m.max_position_embeddings,
                context_tokens: req.context_tokens,
                formats,
            })
        })
        .collect();
    // Models that fit at QUALITY_BITS or more come first, then those that need fewer.
    let good = |m: &FitModel| m.formats[0].bits_per_weight >= QUALITY_BITS;
    models.sort_by(|a, b| {
        good(b)
            .cmp(&good(a))
            .then(b.params.cmp(&a.params))
            .then_with(|| a.id.cmp(&b.id))
    });
    Fit {
        kind: "fit",
        schema_version: super::SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        rig: super::rig_name(shape.gpus, shape.nodes.unwrap_or(1), &gpu.id),
        gpu_id: gpu.id.clone(),
        gpus: shape.gpus,
        workload: q.workload,
        batch: q.batch,
        min_context_tokens: q.min_context_tokens,
        family: q.family.clone(),
        models_considered: considered,
        models,
        notes,
    }
}
