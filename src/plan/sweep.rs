//! Sweeps over one fixed rig: every weight format (`--sweep formats`), a range of contexts or
//! of batch sizes, each with whether it fits, its headroom, longest context, largest batch and
//! decode speed; and, when the request does not fit, each single change that makes it fit.
use super::format::WeightFormat;
use super::layout::{self, Layout};
use super::shape::{compare_shapes, Shape};
use super::{node_size, Engine, GpuOption, PlanRequest, Workload};
use crate::catalog::{Catalog, Gpu, Model};
use crate::numfmt::fmt_int;
use serde::Serialize;

/// What a sweep varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SweepKind {
    /// Every weight format (inference).
    Formats,
    /// Contexts from 512 tokens to the model's maximum.
    Context,
    /// Batch sizes (concurrent sequences) from 1 up.
    Batch,
}

/// What the user fixed on the command line, which a sweep keeps as given; the rest follows
/// each format (llama.cpp and an f16 KV cache for GGUF weights, vLLM otherwise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fixed {
    pub engine: bool,
    pub kv: bool,
}

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    pub weights: WeightFormat,
    /// The format's canonical name (`gguf-q4_k_m`).
    pub format: &'static str,
    pub context_tokens: u64,
    pub batch: u64,
    pub engine: Engine,
    pub fits: bool,
    pub layout: Option<Layout>,
    /// The whole model's weights in this format.
    pub weights_bytes: f64,
    pub used_bytes_per_gpu: Option<f64>,
    pub usable_bytes_per_gpu: Option<f64>,
    /// Usable less used, at least 0 (see `shortfall_bytes_per_gpu`).
    pub headroom_bytes_per_gpu: Option<f64>,
    pub shortfall_bytes_per_gpu: Option<f64>,
    pub max_context_tokens: Option<u64>,
    pub max_batch: Option<u64>,
    pub decode_tokens_per_s: Option<f64>,
    pub decode_batch_tokens_per_s: Option<f64>,
    /// Bits per weight over the model's tensors.
    pub bits_per_weight: f64,
    /// Why it does not fit.
    pub reason: Option<String>,
}

/// A single change to the request that makes it fit this rig.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    /// The flag to give, e.g. `--precision q5_k_m`, `--context 2438`, `-o 3xrtx-3090`.
    pub change: String,
    /// What it is, e.g. `the most bits per weight that fit at 4,096 tokens`.
    pub why: String,
}

/// A sweep of one rig, best first, with the changes that make the request fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    pub kind: SweepKind,
    /// `2×rtx-3090`, `3×4×v100-pcie-32gb`.
    pub rig: String,
    pub gpu_id: String,
    pub rows: Vec<SweepRow>,
    /// Empty when the request fits as asked.
    pub fixes: Vec<Fix>,
}

/// The formats a sweep tries: every one, `int4` once (it is `gptq`).
pub fn formats() -> Vec<WeightFormat> {
    WeightFormat::all()
        .filter(|w| *w != WeightFormat::Int4)
        .collect()
}

/// The name `--precision` takes for `w` (`q4_k_m`, `gptq`, `fp8-block`).
pub fn cli_name(w: WeightFormat) -> String {
    clap::ValueEnum::to_possible_value(&w)
        .map(|v| v.get_name().to_owned())
        .unwrap_or_else(|| w.name().to_owned())
}

/// `req` in format `w`: the engine and KV type follow the format unless the user fixed them,
/// and exact file bytes describe only the file's own format.
pub fn with_format(req: &PlanRequest, w: WeightFormat, fixed: Fixed) -> PlanRequest {
    let mut r = req.clone();
    if w != req.weights {
        r.exact_weight_bytes = None;
    }
    r.weights = w;
    if !fixed.engine {
        r.engine = None;
    }
    if !fixed.kv {
        r.kv = r.engine().default_kv(w);
    }
    r
}

/// `req` evaluated on the rig: one option.
fn option(cat: &Catalog, model: &Model, req: &PlanRequest, shape: Shape, gpu: &Gpu) -> GpuOption {
    let mut p = compare_shapes(cat, model, req, &[(shape, gpu)]);
    p.options.remove(0)
}

/// `req` on the rig as one sweep row.
pub fn row_on(
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    shape: Shape,
    gpu: &Gpu,
) -> SweepRow {
    row(model, req, &option(cat, model, req, shape, gpu))
}

fn row(model: &Model, req: &PlanRequest, o: &GpuOption) -> SweepRow {
    let m = o.memory_per_gpu;
    let bytes = req.weights.weight_bytes(model);
    let params = model.param_counts().total.max(1) as f64;
    SweepRow {
        weights: req.weights,
        format: req.weights.name(),
        context_tokens: req.context_tokens,
        batch: req.batch,
        engine: req.engine(),
        fits: o.fits,
        layout: o.layout,
        weights_bytes: req.exact_weight_bytes.unwrap_or(bytes),
        used_bytes_per_gpu: m.map(|m| m.total_bytes),
        usable_bytes_per_gpu: m.map(|m| m.usable_bytes),
        headroom_bytes_per_gpu: m.map(|m| m.headroom_bytes.max(0.0)),
        shortfall_bytes_per_gpu: m.map(|m| m.shortfall_bytes),
        max_context_tokens: o.max_context_tokens,
        max_batch: o.max_batch,
        decode_tokens_per_s: o.speed.map(|s| s.decode_tokens_per_s),
        decode_batch_tokens_per_s: o.speed.map(|s| s.decode_batch_tokens_per_s),
        bits_per_weight: bytes * 8.0 / params,
        reason: o.reason.clone(),
    }
}

/// Every format on the rig at the request's context and batch, best first: fits before misses;
/// fits by bits per weight (quality), most first, then decode speed; misses by how much they
/// miss.
pub fn format_rows(
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    fixed: Fixed,
    shape: Shape,
    gpu: &Gpu,
) -> Vec<SweepRow> {
    let mut rows: Vec<SweepRow> = formats()
        .into_iter()
        .map(|w| {
            let r = with_format(req, w, fixed);
            row_on(cat, model, &r, shape, gpu)
        })
        .collect();
    rows.sort_by(|a, b| {
        b.fits.cmp(&a.fits).then_with(|| {
            if a.fits {
                b.bits_per_weight.total_cmp(&a.bits_per_weight).then(
                    b.decode_tokens_per_s
                        .unwrap_or(0.0)
                        .total_cmp(&a.decode_tokens_per_s.unwrap_or(0.0)),
                )
            } else {
                let miss = |r: &SweepRow| r.shortfall_bytes_per_gpu.unwrap_or(f64::INFINITY);
                miss(a).total_cmp(&miss(b))
            }
        })
    });
    rows
}

/// Powers of two from 512 up to `max`, with `extra` points, ascending and distinct.
fn ladder(first: u64, max: u64, extra: &[u64]) -> Vec<u64> {
    let mut v: Vec<u64> = std::iter::successors(Some(first), |&x| x.checked_mul(2))
        .take_while(|&x| x <= max)
        .chain(extra.iter().copied().filter(|&x| (1..=max).contains(&x)))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Runs a sweep of `kind` on `shape × gpu`, with the fixes when the request does not fit.
pub fn sweep(
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    fixed: Fixed,
    shape: Shape,
    gpu: &Gpu,
    kind: SweepKind,
) -> Sweep {
    let asked = option(cat, model, req, shape, gpu);
    let rows = match kind {
        SweepKind::Formats => format_rows(cat, model, req, fixed, shape, gpu),
        SweepKind::Context => {
            let max = model.max_position_embeddings.max(req.context_tokens);
            let extra = [req.context_tokens, asked.max_context_tokens.unwrap_or(0)];
            ladder(512, max, &extra)
                .into_iter()
                .map(|ctx| {
                    let r = PlanRequest {
                        context_tokens: ctx,
                        input_tokens: None,
                        output_tokens: None,
                        ..req.clone()
                    };
                    row_on(cat, model, &r, shape, gpu)
                })
                .collect()
        }
        SweepKind::Batch => {
            let top = asked
                .max_batch
                .unwrap_or(1)
                .max(req.batch)
                .saturating_mul(2)
                .min(4096);
            ladder(1, top, &[req.batch, asked.max_batch.unwrap_or(0)])
                .into_iter()
                .map(|b| {
                    let r = PlanRequest {
                        batch: b,
                        ..req.clone()
                    };
                    row_on(cat, model, &r, shape, gpu)
                })
                .collect()
        }
    };
    let fixes = if asked.fits {
        Vec::new()
    } else {
        let formats = match kind {
            SweepKind::Formats => rows.clone(),
            _ if req.workload == Workload::Infer => format_rows(cat, model, req, fixed, shape, gpu),
            _ => Vec::new(),
        };
        fixes(cat, model, req, shape, gpu, &asked, &formats)
    };
    Sweep {
        kind,
        rig: asked.rig(),
        gpu_id: gpu.id.clone(),
        rows,
        fixes,
    }
}

/// Each single change that makes `asked` fit: a format (the most bits that fit), a shorter
/// context, a smaller batch, or more GPUs of the same kind.
fn fixes(
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    shape: Shape,
    gpu: &Gpu,
    asked: &GpuOption,
    formats: &[SweepRow],
) -> Vec<Fix> {
    let mut out = Vec::new();
    let ctx = req.context_tokens;
    if let Some(best) = formats.iter().find(|r| r.fits) {
        let fitting: Vec<&SweepRow> = formats.iter().filter(|r| r.fits).collect();
        let speed = |r: &SweepRow| r.decode_tokens_per_s.unwrap_or(0.0);
        let fastest = fitting.iter().max_by(|a, b| speed(a).total_cmp(&speed(b)));
        let mut why = format!(
            "the most bits per weight that fit at {} tokens ({:.2} bits, {:.1} tok/s); {} of {} formats fit",
            fmt_int(ctx as f64),
            best.bits_per_weight,
            speed(best),
            fitting.len(),
            formats.len()
        );
        if let Some(f) = fastest.filter(|f| f.weights != best.weights) {
            why.push_str(&format!(
                ", fastest {} at {:.1} tok/s",
                cli_name(f.weights),
                speed(f)
            ));
        }
        out.push(Fix {
            change: format!("--precision {}", cli_name(best.weights)),
            why,
        });
    }
    if let Some(c) = asked.max_context_tokens.filter(|&c| c < req.context_tokens) {
        out.push(Fix {
            change: format!("--context {c}"),
            why: format!(
                "the longest context that fits (a round {} tokens fits too)",
                fmt_int((1u64 << c.ilog2()) as f64)
            ),
        });
    }
    if let Some(b) = asked.max_batch.filter(|&b| b < req.batch) {
        out.push(Fix {
            change: format!("--batch {b}"),
            why: format!(
                "the largest batch that fits at {} tokens",
                fmt_int(ctx as f64)
            ),
        });
    }
    let node = shape
        .nodes
        .map(|k| (shape.gpus / k.max(1)).max(1))
        .or(req.gpus_per_node)
        .unwrap_or_else(|| node_size(cat, gpu));
    if let Ok((l, _)) = layout::smallest_fit(model, req, node, gpu.memory_bytes()) {
        if l.gpus() > shape.gpus {
            let rig = super::rig_name(l.gpus(), l.nodes, &gpu.id).replace('×', "x");
            out.push(Fix {
                change: format!("-o {rig}"),
                why: format!("the fewest {} that fit ({})", gpu.name, l.describe()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladders_are_powers_of_two_with_the_asked_points() {
        assert_eq!(ladder(512, 4096, &[3000]), [512, 1024, 2048, 3000, 4096]);
        assert_eq!(ladder(1, 8, &[0, 8, 9]), [1, 2, 4, 8]);
    }
}
