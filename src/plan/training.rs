//! Training memory on one GPU: model states under ZeRO and offload, activations with the
//! chosen recomputation and attention kernel, the loss's vocabulary-sized tensors, LoRA's
//! trainable parameters and a training process's fixed overhead. Pure arithmetic; every
//! constant comes from `constants`.
use super::constants as c;
use super::layout::Layout;
use super::memory::{active_mlp_width, MemoryBreakdown, ModelMemory};
use super::request::{Attention, LoraTrainable, PlanRequest, Recompute, Workload};
use crate::catalog::{Model, ParamCounts};

const GIB: f64 = (1u64 << 30) as f64;
/// Activations are 16-bit in every workload the planner models.
const ACT_BYTES: f64 = 2.0;

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

/// Base-model parameters LoRA trains in full: the embedding and/or the head; a head tied to
/// the embedding is the embedding, counted once.
pub fn lora_full_params(p: &ParamCounts, t: LoraTrainable) -> u64 {
    let tied_head = t.head && p.lm_head == 0;
    let embed = if t.embed || tied_head { p.embedding } else { 0 };
    let head = if t.head { p.lm_head } else { 0 };
    embed + head
}

/// Parameters that train: all of them for full training, adapters (plus a trainable
/// embedding or head) for LoRA and QLoRA, none for inference.
pub fn trainable_params(model: &Model, req: &PlanRequest) -> f64 {
    let p = model.param_counts();
    match req.workload {
        Workload::Infer => 0.0,
        Workload::Train => p.total as f64,
        Workload::Lora | Workload::Qlora => {
            (lora_params(model, req.lora_rank) + lora_full_params(&p, req.lora_trainable)) as f64
        }
    }
}

/// One GPU, no parallelism: the layout single-GPU measurements describe.
pub fn single_gpu() -> Layout {
    Layout {
        tp: 1,
        pp: 1,
        dp: 1,
        nodes: 1,
        gpus_per_node: 1,
        layer_split: false,
    }
}

/// Whether any model state lives in host RAM.
pub fn offloads(req: &PlanRequest) -> bool {
    req.offload_optimizer || req.offload_params
}

/// Data-parallel shards a state is split into from ZeRO stage `zero_from` on.
fn shard(req: &PlanRequest, dp: u32, zero_from: u8) -> f64 {
    if req.zero_stage >= zero_from {
        dp.max(1) as f64
    } else {
        1.0
    }
}

/// Model states of `params` trainable parameters on one GPU of `dp` data-parallel replicas:
/// ZeRO-1 shards the optimizer states, ZeRO-2 also the gradients, ZeRO-3 also the weights
/// (Rajbhandari et al. 2019). Offloading the optimizer moves its states, the fp32 master
/// weights and the fp32 gradients to the host (ZeRO-Offload); offloading parameters moves the
/// 16-bit weights too (ZeRO-Infinity). This is DeepSpeed's estimate_zero{2,3} arithmetic.
pub fn training_states(params: f64, req: &PlanRequest, dp: u32) -> MemoryBreakdown {
    let offload = offloads(req);
    MemoryBreakdown {
        weights_bytes: if req.offload_params {
            0.0
        } else {
            params * c::TRAIN_WEIGHT_BYTES / shard(req, dp, 3)
        },
        gradients_bytes: if offload {
            0.0
        } else {
            params * req.grad_bytes / shard(req, dp, 2)
        },
        optimizer_bytes: if offload {
            0.0
        } else {
            params * c::ADAM_STATE_BYTES / shard(req, dp, 1)
        },
        ..MemoryBreakdown::default()
    }
}

/// Host bytes one GPU's offloaded states take, before the buffer factor.
pub fn offloaded_bytes(params: f64, req: &PlanRequest, dp: u32) -> f64 {
    let mut per_param = 0.0;
    if offloads(req) {
        per_param += c::ADAM_STATE_BYTES + req.grad_bytes;
    }
    if req.offload_params {
        per_param += c::TRAIN_WEIGHT_BYTES;
    }
    params * per_param / shard(req, dp, 1)
}

/// Bytes of a LoRA/QLoRA frozen base that parameter offload moves to the host.
pub fn frozen_offloaded_bytes(frozen_bytes: f64, req: &PlanRequest) -> f64 {
    if req.offload_params && req.workload != Workload::Train {
        frozen_bytes
    } else {
        0.0
    }
}

/// Host RAM one node needs for offloaded states: its GPUs' shares, or for full training
/// without ZeRO-3's zero.Init the fp32 copy each process builds first, whichever is larger,
/// times DeepSpeed's buffer factor.
pub fn offload_host_per_node(
    total_params: f64,
    per_gpu_offloaded: f64,
    req: &PlanRequest,
    gpus_per_node: u32,
) -> f64 {
    if !offloads(req) {
        return 0.0;
    }
    let gpus = gpus_per_node.max(1) as f64;
    let load = if req.workload == Workload::Train && req.zero_stage < 3 {
        c::HOST_LOAD_BYTES_PER_PARAM * total_params * gpus
    } else {
        0.0
    };
    (per_gpu_offloaded * gpus).max(load) * c::OFFLOAD_HOST_BUFFER_FACTOR
}

/// Parameters of the largest single weight tensor (ZeRO-3 gathers whole tensors).
pub fn largest_tensor(model: &Model) -> f64 {
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
    largest.min(model.param_counts().total as f64)
}

/// Parameters ZeRO-3 keeps gathered on each GPU (DeepSpeed: 4 bytes × the largest layer).
pub fn zero3_live_bytes(largest_tensor_params: f64, req: &PlanRequest, dp: u32) -> f64 {
    if req.zero_stage >= 3 && dp > 1 {
        c::ZERO3_LIVE_BYTES_PER_PARAM * largest_tensor_params
    } else {
        0.0
    }
}

/// Activation bytes of one layer for one micro-batch on one GPU, with sequence parallelism
/// when TP > 1 (Korthikanti et al. 2022, Table 2, generalised to any MLP width: sbh·(18 +
/// c·I/h) with c = 4 for a two-matrix MLP and 6 for a gated one; Megatron-LM uses the same
/// sbh(18 + 4I/h)). The attention core adds 5as²b with eager attention and only a
/// log-sum-exp per head and token with FlashAttention/SDPA.
pub fn activation_per_layer(
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
    let core = match req.attention {
        Attention::Eager => 5.0 * a * s * s * b / tp,
        Attention::Flash => c::FLASH_LSE_BYTES * a * s * b / tp,
    };
    match (recompute, req.attention) {
        (Recompute::None, _) | (Recompute::Selective, Attention::Flash) => stored + core,
        (Recompute::Selective, Attention::Eager) => stored,
        (Recompute::Full, _) => ACT_BYTES * s * b * h / tp,
    }
}

/// The loss's vocabulary-sized tensors for one micro-batch (vocabulary split by TP, as in
/// Megatron's vocab-parallel cross-entropy).
pub fn loss_bytes(model: &Model, req: &PlanRequest, tp: f64) -> f64 {
    (req.context_tokens * req.batch) as f64 * model.vocab_size as f64 / tp * c::LOSS_BYTES_PER_LOGIT
}

/// Activations on the most loaded pipeline stage. With 1F1B the first stage keeps pp
/// micro-batches of L/pp layers in flight (L layers' worth whatever pp is); the last stage
/// keeps one micro-batch of L/pp layers and the loss. Under full recomputation the layer being
/// recomputed holds what an unrecomputed layer holds.
pub fn activations(model: &Model, req: &PlanRequest, layout: &Layout) -> f64 {
    let tp = layout.tp as f64;
    let layers = model.num_hidden_layers as f64;
    let per_layer = activation_per_layer(model, req, tp, req.recompute);
    let working = if req.recompute == Recompute::Full {
        activation_per_layer(model, req, tp, Recompute::None)
    } else {
        0.0
    };
    let loss = loss_bytes(model, req, tp);
    let first = layers * per_layer + working;
    if layout.pp <= 1 {
        return first + loss;
    }
    let last = (layers / layout.pp as f64).ceil() * per_layer + working + loss;
    first.max(last)
}

/// Training memory on one GPU of `layout`, without the CUDA context and communication
/// buffers every workload pays. `sharded_weights` is the frozen base's share of this GPU
/// before ZeRO sharding (LoRA and QLoRA keep it).
pub fn per_gpu(
    model: &Model,
    req: &PlanRequest,
    layout: &Layout,
    mm: &ModelMemory,
    sharded_weights: f64,
) -> MemoryBreakdown {
    let tp = layout.tp as f64;
    let layers = model.num_hidden_layers as f64;
    let stage_fraction = (layers / layout.pp as f64).ceil() / layers;
    let trainable = mm.trainable_params * stage_fraction / tp;
    let mut m = training_states(trainable, req, layout.dp);
    if req.workload != Workload::Train && !req.offload_params {
        m.weights_bytes += sharded_weights / shard(req, layout.dp, 3);
    }
    m.activations_bytes = activations(model, req, layout);
    m.overhead_bytes =
        zero3_live_bytes(largest_tensor(model), req, layout.dp) / tp + c::TRAIN_RUNTIME_GIB * GIB;
    let frozen = frozen_offloaded_bytes(sharded_weights / shard(req, layout.dp, 3), req);
    m.offload_host_bytes_per_node = offload_host_per_node(
        model.param_counts().total as f64,
        offloaded_bytes(trainable, req, layout.dp) + frozen,
        req,
        layout.gpus_per_node,
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn model(id: &str) -> Model {
        Catalog::embedded().unwrap().models.get(id).unwrap().clone()
    }

    #[test]
    fn flash_attention_stores_no_scores_eager_does() {
        let m = model("llama-3.1-8b");
        let r = |attention, ctx| PlanRequest {
            attention,
            recompute: Recompute::None,
            ..PlanRequest::new(Workload::Train, ctx)
        };
        let flash = |ctx| activation_per_layer(&m, &r(Attention::Flash, ctx), 1.0, Recompute::None);
        let eager = |ctx| activation_per_layer(&m, &r(Attention::Eager, ctx), 1.0, Recompute::None);
        // Flash grows linearly with context, eager quadratically.
        assert!((flash(8192) / flash(4096) - 2.0).abs() < 1e-9);
        assert!(eager(8192) / eager(4096) > 3.0);
        let s = 4096.0;
        let scores = 5.0 * 32.0 * s * s;
        assert!((eager(4096) - flash(4096) - (scores - 4.0 * 32.0 * s)).abs() < 1.0);
    }

    #[test]
    fn loss_tensors_grow_with_sequence_and_vocabulary() {
        let m = model("llama-3.1-8b");
        let r = PlanRequest::new(Workload::Qlora, 2048);
        // 2048 tokens × 128,256 vocab × 14 bytes.
        assert_eq!(loss_bytes(&m, &r, 1.0), 2048.0 * 128_256.0 * 14.0);
        let short = activations(&m, &r, &single_gpu());
        let long = activations(&m, &PlanRequest::new(Workload::Qlora, 4096), &single_gpu());
        assert!((long / short - 2.0).abs() < 1e-9, "linear in s with flash");
    }

    #[test]
    fn lora_trains_embedding_and_head_on_request() {
        let m = model("llama-3.1-8b");
        let p = m.param_counts();
        let base = PlanRequest::new(Workload::Lora, 1024);
        let with = |embed, head| PlanRequest {
            lora_trainable: LoraTrainable { embed, head },
            ..base.clone()
        };
        let adapters = trainable_params(&m, &base);
        assert_eq!(
            trainable_params(&m, &with(true, true)) - adapters,
            (p.embedding + p.lm_head) as f64
        );
        assert_eq!(
            trainable_params(&m, &with(false, true)) - adapters,
            p.lm_head as f64
        );
        // A tied head is the embedding: training both counts it once.
        let tied = model("llama-3.2-1b");
        let tp = tied.param_counts();
        assert_eq!(tp.lm_head, 0);
        let base_tied = trainable_params(&tied, &base);
        let both = PlanRequest {
            lora_trainable: LoraTrainable {
                embed: true,
                head: true,
            },
            ..base.clone()
        };
        assert_eq!(
            trainable_params(&tied, &both) - base_tied,
            tp.embedding as f64
        );
    }

    #[test]
    fn offload_moves_states_to_the_host() {
        let p = 1e9;
        let base = PlanRequest {
            zero_stage: 3,
            ..PlanRequest::new(Workload::Train, 1024)
        };
        let opt = PlanRequest {
            offload_optimizer: true,
            ..base.clone()
        };
        let params = PlanRequest {
            offload_params: true,
            ..opt.clone()
        };
        let gpu = |r: &PlanRequest| {
            let s = training_states(p, r, 8);
            s.weights_bytes + s.gradients_bytes + s.optimizer_bytes
        };
        assert_eq!(gpu(&base), 18.0 * p / 8.0);
        assert_eq!(gpu(&opt), 2.0 * p / 8.0);
        assert_eq!(gpu(&params), 0.0);
        assert_eq!(offloaded_bytes(p, &opt, 8), 16.0 * p / 8.0);
        assert_eq!(offloaded_bytes(p, &params, 8), 18.0 * p / 8.0);
        assert_eq!(
            offload_host_per_node(p, offloaded_bytes(p, &base, 8), &base, 8),
            0.0
        );
        // ZeRO-3 (zero.Init): the node holds its 8 GPUs' shares × 1.5.
        assert_eq!(
            offload_host_per_node(p, offloaded_bytes(p, &opt, 8), &opt, 8),
            16.0 * p * 1.5
        );
    }
}
