//! Memory per GPU for one layout: weights, KV cache, activations, gradients, optimizer states
//! and runtime overhead. Pure arithmetic; every constant comes from `constants`.
use super::constants as c;
use super::engine::{self, Engine};
use super::layout::Layout;
use super::request::{PlanRequest, Workload};
use super::training;
use crate::catalog::Model;
use serde::Serialize;

pub use super::training::{lora_params, training_states};

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
    /// What the engine lets the plan use of the GPU (vLLM's gpu_memory_utilization, llama.cpp's
    /// --fit margin, PyTorch's USABLE_VRAM_FRACTION, …).
    pub usable_bytes: f64,
    /// usable − total; negative when it does not fit (JSON writes 0 then: see `shortfall_bytes`).
    #[serde(serialize_with = "non_negative")]
    pub headroom_bytes: f64,
    /// Host RAM for offloaded training states on this GPU's node (per node, not per GPU;
    /// not part of `total_bytes`).
    pub offload_host_bytes_per_node: f64,
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

    /// Sets `total_bytes` to the sum of the terms and `headroom_bytes` against `usable_bytes`.
    pub fn settle(&mut self) {
        self.total_bytes = self.weights_bytes
            + self.kv_cache_bytes
            + self.activations_bytes
            + self.gradients_bytes
            + self.optimizer_bytes
            + self.overhead_bytes;
        self.headroom_bytes = self.usable_bytes - self.total_bytes;
        self.shortfall_bytes = (-self.headroom_bytes).max(0.0);
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
    /// Host RAM for offloaded states across all nodes (with DeepSpeed's buffer factor).
    pub offload_host_bytes: f64,
}

/// Bytes of KV cache one more token adds through all attention layers, unsplit.
fn kv_bytes_per_token(model: &Model, req: &PlanRequest) -> f64 {
    model.kv_elements_per_token(1) * req.kv.bytes()
}

/// KV cache plus fixed recurrent state of one sequence on one of `tp` tensor-parallel ranks,
/// bytes: sliding layers cap at the window, linear-attention layers keep a state whatever the
/// context (stored in the KV-cache dtype).
fn sequence_cache_bytes(model: &Model, req: &PlanRequest, tp: u64) -> f64 {
    (model.kv_cache_elements(req.context_tokens, tp) + model.recurrent_state_elements(tp))
        * req.kv.bytes()
}

/// Whole-model memory figures for a request.
pub fn model_memory(model: &Model, req: &PlanRequest) -> ModelMemory {
    let weights_bytes = req
        .exact_weight_bytes
        .unwrap_or_else(|| req.weights.weight_bytes(model));
    let trainable_params = training::trainable_params(model, req);
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
        kv_cache_bytes: sequence_cache_bytes(model, req, 1) * req.batch as f64,
        trainable_params,
        training_state_bytes,
        offload_host_bytes: (training::offloaded_bytes(trainable_params, req, 1)
            + training::frozen_offloaded_bytes(frozen, req))
            * c::OFFLOAD_HOST_BUFFER_FACTOR,
    }
}

/// KV heads one GPU holds under tensor parallelism: heads split evenly, or replicated when
/// the TP degree exceeds them (vLLM: `max(1, kv // tp)`).
pub fn kv_heads_per_gpu(model: &Model, tp: u32) -> u64 {
    (model.num_key_value_heads / tp as u64).max(1)
}

/// MLP width that one token's activations pass through (active experts for MoE).
pub(super) fn active_mlp_width(model: &Model) -> u64 {
    match (model.is_moe(), model.moe_intermediate_size) {
        (true, width) => {
            let width = width.unwrap_or(model.intermediate_size);
            width * (model.num_experts_per_tok.unwrap_or(1) + model.n_shared_experts.unwrap_or(0))
        }
        (false, _) => model.intermediate_size,
    }
}

/// Memory one GPU needs for `req` under `layout`.
pub fn per_gpu(
    model: &Model,
    req: &PlanRequest,
    layout: &Layout,
    gpu_memory_bytes: f64,
) -> MemoryBreakdown {
    let mm = model_memory(model, req);
    let tp = layout.tp as f64;
    let pp = layout.pp as f64;
    let layers = model.num_hidden_layers as f64;
    // The most loaded pipeline stage holds ceil(L / pp) layers.
    let stage_fraction = (layers / pp).ceil() / layers;

    let mut m = MemoryBreakdown::default();
    let sharded_weights = mm.weights_bytes * stage_fraction / tp;
    match req.workload {
        Workload::Infer => {
            let resident = engine::resident_weight_bytes(req.engine(), model, req, &mm);
            m.weights_bytes = resident * stage_fraction / tp;
            m.kv_cache_bytes = sequence_cache_bytes(model, req, layout.tp as u64)
                * stage_fraction
                * req.batch as f64;
            m.activations_bytes = inference_activations(model, req, tp, gpu_memory_bytes);
        }
        Workload::Train | Workload::Lora | Workload::Qlora => {
            m = training::per_gpu(model, req, layout, &mm, sharded_weights);
        }
    }
    // Fixed per-process terms follow the engine (PyTorch's for training).
    let ranks = if req.is_training() {
        layout.gpus()
    } else {
        layout.replica_gpus()
    };
    let runtime = req.engine().runtime(req, ranks, gpu_memory_bytes);
    m.overhead_bytes += runtime.overhead_bytes;
    m.settle();
    m.usable_bytes = runtime
        .budget
        .usable(gpu_memory_bytes, m.total_bytes - m.kv_cache_bytes);
    m.settle();
    m
}

/// Inference activation peak on one GPU of a `tp`-way group: one prefill chunk through one
/// layer plus the logits. llama.cpp computes in fp32 and sizes its compute buffer for a full
/// n_ubatch of logits; SGLang's reserve already holds its activations.
fn inference_activations(model: &Model, req: &PlanRequest, tp: f64, gpu_memory_bytes: f64) -> f64 {
    let engine = req.engine();
    if engine.activations_in_reserve() {
        return 0.0;
    }
    let tokens = (req.batch * req.context_tokens) as f64;
    let chunk = engine
        .prefill_chunk_tokens(gpu_memory_bytes)
        .map_or(tokens, |c| tokens.min(c));
    let mlp_mats = if model.gated_mlp { 3.0 } else { 2.0 };
    let per_token = model.hidden_size as f64 * c::INFER_HIDDEN_COPIES
        + mlp_mats * active_mlp_width(model) as f64 / tp;
    if engine == Engine::LlamaCpp {
        return chunk * (per_token + model.vocab_size as f64) * c::LOGIT_BYTES;
    }
    chunk * per_token * ACT_BYTES + req.batch as f64 * model.vocab_size as f64 / tp * c::LOGIT_BYTES
}
