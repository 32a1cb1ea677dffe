//! Throughput estimates: decode from the memory-bandwidth roofline, prefill and training from
//! dense tensor peaks, each scaled by a stated efficiency.
use super::layout::Layout;
use super::memory::ModelMemory;
use super::request::{PlanRequest, Recompute, Workload};
use crate::catalog::{ComputeDtype, Gpu, Model};
use serde::Serialize;

/// Speed figures for one option.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Speed {
    /// Dtype whose dense peak the estimates use.
    pub compute_dtype: ComputeDtype,
    /// Dense peak of that dtype per GPU, TFLOP/s.
    pub peak_tflops_per_gpu: f64,
    /// Single-sequence decode, tokens/s.
    pub decode_tokens_per_s: f64,
    /// All sequences of the batch together, tokens/s.
    pub decode_batch_tokens_per_s: f64,
    /// Prompt processing, tokens/s.
    pub prefill_tokens_per_s: f64,
    /// Time to first token for a full-context prompt, seconds.
    pub time_to_first_token_s: f64,
}

/// Training compute for a token budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrainingTime {
    pub tokens: f64,
    /// FLOPs per parameter per token × N × D, N = active parameters: 6 for full training (2
    /// forward + 4 backward), 8 with full recomputation; LoRA skips weight gradients of the
    /// frozen base: 4, or 6 with full recomputation.
    pub flops: f64,
    pub flops_per_param_token: f64,
    pub gpu_hours: f64,
    pub wall_clock_days: f64,
    pub mfu: f64,
}

/// The dense peak a workload runs at on `gpu`: the format's dtype, else the widest fallback
/// the GPU has (V100 runs bf16 checkpoints in fp16; tf32 falls back to fp32).
pub fn peak(gpu: &Gpu, wanted: ComputeDtype) -> (ComputeDtype, f64) {
    let fallbacks: &[ComputeDtype] = match wanted {
        ComputeDtype::Bf16 => &[ComputeDtype::Bf16, ComputeDtype::Fp16, ComputeDtype::Fp32],
        ComputeDtype::Fp8 | ComputeDtype::Int8 | ComputeDtype::Int4 => {
            &[wanted, ComputeDtype::Bf16, ComputeDtype::Fp16]
        }
        ComputeDtype::Tf32 => &[ComputeDtype::Tf32, ComputeDtype::Fp32],
        _ => &[wanted, ComputeDtype::Fp32],
    };
    fallbacks
        .iter()
        .find_map(|&d| gpu.dense_tflops.get(d).map(|t| (d, t)))
        .unwrap_or((wanted, 0.0))
}

/// Decode and prefill speed for an inference layout.
pub fn inference(
    model: &Model,
    req: &PlanRequest,
    gpu: &Gpu,
    layout: &Layout,
    mm: &ModelMemory,
) -> Speed {
    let (dtype, tflops) = peak(gpu, req.weights.compute_dtype());
    let active = model.param_counts().active as f64;
    // Bytes one decode step reads: the active share of the weights plus every sequence's KV.
    let active_weight_bytes = mm.weights_bytes * active / model.param_counts().total.max(1) as f64;
    let step_bytes = active_weight_bytes + mm.kv_cache_bytes;
    // TP ranks read their shards in parallel; pipeline stages run one after another.
    let bandwidth =
        gpu.bandwidth_bytes_per_s() * layout.tp as f64 * req.efficiencies.decode_bandwidth;
    let compute = tflops * 1e12 * layout.tp as f64 * req.efficiencies.prefill_mfu;
    let step_flops = 2.0 * active * req.batch as f64;
    let step_s = (step_bytes / bandwidth).max(step_flops / compute.max(1.0));
    let prefill_flops_per_token = 2.0 * active
        + 2.0
            * model.num_hidden_layers as f64
            * (model.num_attention_heads * model.head_dim()) as f64
            * req.context_tokens as f64;
    let prefill = compute * layout.pp as f64 / prefill_flops_per_token;
    Speed {
        compute_dtype: dtype,
        peak_tflops_per_gpu: tflops,
        decode_tokens_per_s: 1.0 / step_s,
        decode_batch_tokens_per_s: req.batch as f64 / step_s,
        prefill_tokens_per_s: prefill,
        // A single prompt passes the pipeline stages one after another.
        time_to_first_token_s: req.context_tokens as f64 / (prefill / layout.pp as f64),
    }
}

/// Training FLOPs and time for `req.train_tokens` on `gpus` GPUs.
pub fn training(model: &Model, req: &PlanRequest, gpu: &Gpu, gpus: u32) -> Option<TrainingTime> {
    let tokens = req.train_tokens?;
    let (_, tflops) = peak(gpu, ComputeDtype::Bf16);
    let base = if req.workload == Workload::Train {
        6.0
    } else {
        4.0
    };
    let per = base
        + if req.recompute == Recompute::Full {
            2.0
        } else {
            0.0
        };
    let flops = per * model.param_counts().active as f64 * tokens;
    let rate = tflops * 1e12 * req.efficiencies.train_mfu;
    let gpu_hours = flops / rate / 3600.0;
    Some(TrainingTime {
        tokens,
        flops,
        flops_per_param_token: per,
        gpu_hours,
        wall_clock_days: gpu_hours / gpus.max(1) as f64 / 24.0,
        mfu: req.efficiencies.train_mfu,
    })
}
