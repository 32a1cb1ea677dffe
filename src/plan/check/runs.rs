//! What a checked build can run: the largest catalog models whose weights, KV cache and
//! runtime fit its GPUs for inference, each in the most bits per weight that fit. It reuses the
//! planner's own layout search and memory model (`layout::best_with`), so `build check` and
//! `plan`/`compare` never disagree about a fit.
use crate::catalog::{Catalog, Entry, Gpu, Model};
use crate::plan::format::WeightFormat;
use crate::plan::layout;
use crate::plan::sweep::{self, Fixed};
use crate::plan::{PlanRequest, Workload};
use serde::Serialize;

/// The formats tried, most bits first: 16-bit, 8-bit and 4-bit GGUF (llama.cpp), the three
/// steps a user of one fixed rig usually weighs.
pub const FORMATS: [WeightFormat; 3] = [WeightFormat::Bf16, WeightFormat::Q8_0, WeightFormat::Q4KM];

/// Context a build's models are fitted at: long enough for a chat or a short document, and
/// what most model cards quote.
pub const CONTEXT_TOKENS: u64 = 4096;

/// One model the build runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runnable {
    pub model_id: String,
    pub model_name: String,
    pub params: u64,
    /// The format with the most bits per weight that fits (`bf16`, `q8_0`, `q4_k_m`).
    pub format: String,
    pub used_bytes_per_gpu: f64,
    pub usable_bytes_per_gpu: f64,
}

/// The models a build runs at one context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runs {
    pub context_tokens: u64,
    /// Catalog models that fit in at least one of [`FORMATS`].
    pub fitting_models: usize,
    pub catalog_models: usize,
    /// The largest fitting models, most parameters first.
    pub largest: Vec<Runnable>,
}

/// The best format of `model` that fits `nodes × per_node` GPUs of `gpu` at `context` tokens.
fn best_fit(model: &Model, gpu: &Gpu, per_node: u32, nodes: u32, context: u64) -> Option<Runnable> {
    let base = PlanRequest::new(Workload::Infer, context.min(model.max_position_embeddings));
    let gpus = per_node.saturating_mul(nodes);
    FORMATS.iter().find_map(|&w| {
        let req = sweep::with_format(&base, w, Fixed::default());
        let (_, mem) = layout::best_with(model, &req, gpus, per_node, gpu.memory_bytes())?;
        mem.fits().then(|| Runnable {
            model_id: model.id().to_owned(),
            model_name: model.name().to_owned(),
            params: model.param_counts().total,
            format: sweep::cli_name(w),
            used_bytes_per_gpu: mem.total_bytes,
            usable_bytes_per_gpu: mem.usable_bytes,
        })
    })
}

/// The `top` largest catalog models the build runs at `context` tokens (or each model's
/// maximum, when shorter).
pub fn runnable(
    cat: &Catalog,
    gpu: &Gpu,
    per_node: u32,
    nodes: u32,
    context: u64,
    top: usize,
) -> Runs {
    let mut fits: Vec<Runnable> = cat
        .models
        .iter()
        .filter_map(|m| best_fit(m, gpu, per_node.max(1), nodes.max(1), context))
        .collect();
    fits.sort_by(|a, b| {
        b.params
            .cmp(&a.params)
            .then_with(|| a.model_id.cmp(&b.model_id))
    });
    let fitting_models = fits.len();
    fits.truncate(top);
    Runs {
        context_tokens: context,
        fitting_models,
        catalog_models: cat.models.len(),
        largest: fits,
    }
}
