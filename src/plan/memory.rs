//! Memory per GPU for one layout: weights, KV cache, activations, gradients, optimizer states
//! and runtime overhead. Pure arithmetic; every constant comes from `constants`.
use super::constants as c;
use super::layout::Layout;
use super::request::{PlanRequest, Recompute, Workload};
use crate::catalog::{Model, ParamCounts};
use serde::Serialize;

const GIB: f64 = (1u64 << 30) as f64;
/// Activations are 16-bit in every workload the planner models.
const ACT_BYTES: f64 = 2.0;

/// Memory one GPU needs, by term, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MemoryBreakdown {
    pub weights_bytes: f64,
    pub kv_cache_bytes: f64,
    pub activations_bytes: f64,
    pub gradients_bytes: f64,
    pub optimizer_bytes: f64,
    /// CUDA context, communication buffers and ZeRO-3 gathered parameters.
    pub overhead_bytes: f64,
    pub total_bytes: f64,
    /// What the plan may use of the GPU (memory × USABLE_VRAM_FRACTION).
    pub usable_bytes: f64,
    /// usable − total; negative when it does not fit (JSON writes 0 then: see `shortfall_bytes`).
    #[serde(serialize_with = "non_negative")]
    pub headroom_bytes: f64,
    /// total − usable when it does not fit, else 0.
    pub shortfall_bytes: f64,
}

/// Serialized byte counts are never negative.
fn non_negative<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(if *v > 0.0 { *v } else { 0.0 })
}

impl MemoryBreakdown {
    pub fn fits(&self) -> bool {
        self.headroom_bytes >= 0.0
    }
}

/// Whole-model figures that do not depend on the layout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelMemory {
    /// Weight bytes in the requested format (or read from the model's files).
    pub weights_bytes: f64,
    /// KV cache bytes for one token across all layers (before any TP split).
    pub kv_bytes_per_token: f64,
    /// KV cache for the whole request (context × batch), all layers.
    pub kv_cache_bytes: f64,
    /// Parameters that train (all for full training, adapters for LoRA).
    pub trainable_params: f64,
    /// Weights + gradients + optimizer states before sharding (training workloads).
    pub training_state_bytes: f64,
    /// Host RAM for offloaded optimizer states, if offloading.
    pub offload_host_bytes: f64,
}

/// Trainable LoRA parameters: rank × (in + out) for every attention projection and, for dense
/// models, every MLP projection (expert weights are left frozen).
pub fn lora_params(model: &Model, rank: u64) -> u64 {
    let h = model.hidden_size;
    let q_out = model.num_attention_heads * model.head_dim();
    let kv_out = model.num_key_value_heads * model.head_dim();
    let attn = (h + q_out) + 2 * (h + kv_out) + (q_out + h);
    let mlp = if model.is_moe() {
        0
    } else {
        let i = model.intermediate_size;
        (if model.gated_mlp { 2 } else { 1 }) * (h + i) + (i + h)
    };
    rank * model.num_hidden_layers * (attn + mlp)
}

/// Largest single weight tensor (ZeRO-3 gathers whole tensors).
fn largest_tensor(model: &Model, p: &ParamCounts) -> f64 {
    let h = model.hidden_size;
    let mlp_width = model
        .moe_intermediate_size
        .filter(|_| model.is_moe())
        .unwrap_or(model.intermediate_size);
    let candidates = [
        model.vocab_size * h,
        mlp_width * h,
        model.num_attention_heads * model.head_dim() * h,
    ];
    let largest = candidates.into_iter().max().unwrap_or(0) as f64;
    largest.min(p.total as f64)
}

/// Bytes of KV cache for one token through all layers, unsplit.
fn kv_bytes_per_token(model: &Model, req: &PlanRequest) -> f64 {
    model.kv_elements_per_token_per_layer() as f64 * model.num_hidden_layers as f64 * req.kv.bytes()
}

/// Cached tokens, summed over layers, for one sequence (sliding-window layers cap at the window).
fn cached_token_layers(model: &Model, context: u64) -> f64 {
    let sliding = model.sliding_layers();
    let window = model.sliding_window.unwrap_or(context).min(context);
    (sliding * window + (model.num_hidden_layers - sliding) * context) as f64
}

/// Whole-model memory figures for a request.
pub fn model_memory(model: &Model, req: &PlanRequest) -> ModelMemory {
    let p = model.param_counts();
    let weights_bytes = req
        .exact_weight_bytes
        .unwrap_or_else(|| req.weights.weight_bytes(&p));
    let per_layer = model.kv_elements_per_token_per_layer() as f64 * req.kv.bytes();
    let trainable_params = match req.workload {
        Workload::Infer => 0.0,
        Workload::Train => p.total as f64,
        Workload::Lora | Workload::Qlora => lora_params(model, req.lora_rank) as f64,
    };
    let state_per_param = c::TRAIN_WEIGHT_BYTES + req.grad_bytes + c::ADAM_STATE_BYTES;
    let frozen = if matches!(req.workload, Workload::Train | Workload::Infer) {
        0.0
    } else {
        weights_bytes
    };
    let training_state_bytes = if req.is_training() {
        frozen + trainable_params * state_per_param
    } else {
        0.0
    };
    ModelMemory {
        weights_bytes,
        kv_bytes_per_token: kv_bytes_per_token(model, req),
        kv_cache_bytes: per_layer
            * cached_token_layers(model, req.context_tokens)
            * req.batch as f64,
        trainable_params,
        training_state_bytes,
        offload_host_bytes: if req.offload_optimizer {
            trainable_params * c::ADAM_STATE_BYTES
        } else {
            0.0
        },
    }
}

/// KV heads one GPU holds under tensor parallelism: heads split evenly, or replicated when
/// the TP degree exceeds them (vLLM: `max(1, kv // tp)`).
pub fn kv_heads_per_gpu(model: &Model, tp: u32) -> u64 {
    (model.num_key_value_heads / tp as u64).max(1)
}

/// MLP width that one token's activations pass through (active experts for MoE).
fn active_mlp_width(model: &Model) -> u64 {
    match (model.is_moe(), model.moe_intermediate_size) {
        (true, width) => {
            let width = width.unwrap_or(model.intermediate_size);
            width * (model.num_experts_per_tok.unwrap_or(1) + model.n_shared_experts.unwrap_or(0))
        }
        (false, _) => model.intermediate_size,
    }
}

/// Training activation bytes of one layer for one micro-batch, per GPU, with sequence
/// parallelism when TP > 1 (Korthikanti et al. 2022, Table 2, generalised to any MLP width:
/// sbh·(18 + c·I/h) with c = 4 for a two-matrix MLP and 6 for a gated one; Megatron-LM uses
/// the same sbh(18 + 4I/h)).
fn train_activation_per_layer(
    model: &Model,
    req: &PlanRequest,
    tp: f64,
    recompute: Recompute,
) -> f64 {
    let s = req.context_tokens as f64;
    let b = req.batch as f64;
    let h = model.hidden_size as f64;
    let a = model.num_attention_heads as f64;
    let mlp_coeff = if model.gated_mlp { 6.0 } else { 4.0 };
    let stored = s * b * (18.0 * h + mlp_coeff * active_mlp_width(model) as f64) / tp;
    match recompute {
        Recompute::None => stored + 5.0 * a * s * s * b / tp,
        Recompute::Selective => stored,
        Recompute::Full => ACT_BYTES * s * b * h / tp,
    }
}

/// Model states of `params` trainable parameters on one GPU of `dp` data-parallel replicas:
/// ZeRO-1 shards the optimizer states, ZeRO-2 also the gradients, ZeRO-3 also the weights
/// (Rajbhandari et al. 2019); offloaded optimizer states leave the GPU.
pub fn training_states(params: f64, req: &PlanRequest, dp: u32) -> MemoryBreakdown {
    let shard = |zero_from: u8| {
        if req.zero_stage >= zero_from {
            dp.max(1) as f64
        } else {
            1.0
        }
    };
    MemoryBreakdown {
        weights_bytes: params * c::TRAIN_WEIGHT_BYTES / shard(3),
        gradients_bytes: params * req.grad_bytes / shard(2),
        optimizer_bytes: if req.offload_optimizer {
            0.0
        } else {
            params * c::ADAM_STATE_BYTES / shard(1)
        },
        ..MemoryBreakdown::default()
    }
}

/// Memory one GPU needs for `req` under `layout`.
pub fn per_gpu(
    model: &Model,
    req: &PlanRequest,
    layout: &Layout,
    gpu_memory_bytes: f64,
) -> MemoryBreakdown {
    let p = model.param_counts();
    let mm = model_memory(model, req);
    let tp = layout.tp as f64;
    let pp = layout.pp as f64;
    let dp = layout.dp as f64;
    let layers = model.num_hidden_layers as f64;
    // The most loaded pipeline stage holds ceil(L / pp) layers.
    let stage_fraction = (layers / pp).ceil() / layers;
    let shard = |zero_from: u8| {
        if req.zero_stage >= zero_from && req.is_training() {
            dp
        } else {
            1.0
        }
    };

    let mut m = MemoryBreakdown::default();
    let sharded_weights = mm.weights_bytes * stage_fraction / tp;
    match req.workload {
        Workload::Infer => {
            m.weights_bytes = sharded_weights;
            let kv_local = if model.is_mla() {
                // MLA's latent is shared by all heads, so every TP rank keeps all of it.
                model.kv_elements_per_token_per_layer() as f64
            } else {
                2.0 * kv_heads_per_gpu(model, layout.tp) as f64 * model.head_dim() as f64
            };
            m.kv_cache_bytes = kv_local
                * req.kv.bytes()
                * cached_token_layers(model, req.context_tokens)
                * stage_fraction
                * req.batch as f64;
            let chunk = ((req.batch * req.context_tokens) as f64).min(c::PREFILL_CHUNK_TOKENS);
            let mlp_mats = if model.gated_mlp { 3.0 } else { 2.0 };
            let per_token = model.hidden_size as f64 * c::INFER_HIDDEN_COPIES
                + mlp_mats * active_mlp_width(model) as f64 / tp;
            m.activations_bytes = chunk * per_token * ACT_BYTES
                + req.batch as f64 * model.vocab_size as f64 / tp * c::LOGIT_BYTES;
        }
        Workload::Train | Workload::Lora | Workload::Qlora => {
            let trainable = mm.trainable_params * stage_fraction / tp;
            let states = training_states(trainable, req, layout.dp);
            m.weights_bytes = states.weights_bytes;
            if req.workload != Workload::Train {
                m.weights_bytes += sharded_weights / shard(3);
            }
            m.gradients_bytes = states.gradients_bytes;
            m.optimizer_bytes = states.optimizer_bytes;
            // With 1F1B pipelining the first stage keeps pp micro-batches of L/pp layers in
            // flight: L layers' worth, whatever pp is.
            let kept = layers * train_activation_per_layer(model, req, tp, req.recompute);
            let working = if req.recompute == Recompute::Full {
                train_activation_per_layer(model, req, tp, Recompute::Selective)
            } else {
                0.0
            };
            let logits = (req.context_tokens * req.batch) as f64 * model.vocab_size as f64 / tp
                * c::LOGIT_BYTES;
            m.activations_bytes = kept + working + logits;
            if req.zero_stage >= 3 && layout.dp > 1 {
                m.overhead_bytes += c::ZERO3_LIVE_BYTES_PER_PARAM * largest_tensor(model, &p) / tp;
            }
        }
    }
    m.overhead_bytes += c::CUDA_CONTEXT_GIB * GIB;
    if layout.gpus() > 1 {
        m.overhead_bytes += c::COMM_BUFFER_GIB * GIB;
    }
    m.total_bytes = m.weights_bytes
        + m.kv_cache_bytes
        + m.activations_bytes
        + m.gradients_bytes
        + m.optimizer_bytes
        + m.overhead_bytes;
    m.usable_bytes = gpu_memory_bytes * c::USABLE_VRAM_FRACTION;
    m.headroom_bytes = m.usable_bytes - m.total_bytes;
    m.shortfall_bytes = if m.headroom_bytes < 0.0 {
        -m.headroom_bytes
    } else {
        0.0
    };
    m
}
