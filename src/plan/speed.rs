//! Throughput estimates. A decode step is, per pipeline stage, the larger of its bytes over the
//! GPU's bandwidth and its FLOPs over the dense peak, plus the engine's fixed per-layer time and
//! the tensor-parallel all-reduces; a layer split passes one token through its stages in turn,
//! a pipelining engine keeps its stages busy with micro-batches. Offloaded weights add the time
//! the host takes to read them. Prefill reads the weights once per chunk and computes all the
//! prompt's FLOPs. Serving throughput cycles each batch through its prompts and its outputs.
use super::comm::{self, Link, ACTIVATION_BYTES};
use super::constants::constants;
use super::engine::Engine;
use super::layout::Layout;
use super::memory::{kv_heads_per_gpu, ModelMemory};
use super::offload::{HostMemory, Placement};
use super::request::{PlanRequest, Recompute, Workload};
use super::weights;
use crate::catalog::{ComputeDtype, Gpu, Model};
use serde::Serialize;

constants! {
    /// Training MFU of a model of 1B parameters or more on up to TRAIN_MFU_REFERENCE_GPUS GPUs:
    /// MosaicML measured 50-64 % for 1B-70B MPT models on 8-128 A100s (llm-foundry
    /// scripts/train/benchmarking), Falcon-180B's published GPU-hours imply 48 % on 4,096.
    TRAIN_MFU_BASE: 0.55, "fraction";
    /// MFU of a 125M-parameter model relative to TRAIN_MFU_BASE (MPT-125M: 43-45 % on 8
    /// A100s against 55-60 % for 1B-13B); log-linear between 125M and 1B parameters.
    TRAIN_MFU_SMALL_MODEL_FACTOR: 0.8, "× TRAIN_MFU_BASE at 125M params";
    /// Cluster size up to which MFU holds (MosaicML's tables stay flat from 8 to 128 GPUs).
    TRAIN_MFU_REFERENCE_GPUS: 128.0, "GPUs";
    /// Relative MFU lost per doubling of GPUs beyond TRAIN_MFU_REFERENCE_GPUS: Llama 3 405B ran
    /// at 43 % on 8,192 and 41 % on 16,384 H100s (Llama 3 paper, Table 4).
    TRAIN_MFU_LOSS_PER_DOUBLING: 0.02, "fraction per doubling";
    /// Share of a training run's wall clock spent on useful steps: Llama 3 405B pre-training had
    /// "higher than 90 % effective training time" despite 466 interruptions in 54 days
    /// (Llama 3 paper, §3.3.4). Published GPU-hours include the rest.
    TRAIN_GOODPUT: 0.9, "fraction";
}

/// What limits a decode step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    /// Reading weights and KV cache from GPU memory.
    Memory,
    /// The dense peak (large batches).
    Compute,
    /// Reading offloaded weights from host RAM.
    Host,
}

/// Steady-state serving of `concurrency` requests per replica.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Serving {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Requests in flight per replica (`--batch` / `--concurrency`).
    pub concurrency: u64,
    /// Independent replicas (data parallelism).
    pub replicas: u32,
    /// Generated tokens per second over all replicas, prefill time included.
    pub output_tokens_per_s: f64,
    /// Prompt and generated tokens per second over all replicas.
    pub total_tokens_per_s: f64,
    pub requests_per_s: f64,
    /// Seconds from a request's start to its last token with every slot busy.
    pub request_latency_s: f64,
}

/// Speed figures for one option.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Speed {
    pub engine: Engine,
    /// Dtype whose dense peak the estimates use.
    pub compute_dtype: ComputeDtype,
    /// Dense peak of that dtype per GPU, TFLOP/s.
    pub peak_tflops_per_gpu: f64,
    /// Fraction of the bandwidth roofline decode reaches (the engine's or --decode-efficiency).
    pub decode_bandwidth_efficiency: f64,
    /// Fraction of the dense peak prefill reaches (the engine's or --prefill-mfu).
    pub prefill_mfu: f64,
    /// Single-sequence decode, tokens/s.
    pub decode_tokens_per_s: f64,
    /// All sequences of the batch together, tokens/s (decode only).
    pub decode_batch_tokens_per_s: f64,
    /// Time between a sequence's tokens at the request's concurrency, seconds.
    pub inter_token_latency_s: f64,
    /// What limits decode at the request's concurrency.
    pub decode_bound: Bound,
    /// Tensor-parallel all-reduce time in one single-sequence decode step, seconds.
    pub tp_comm_s_per_token: f64,
    /// Time the host takes for its share of one single-sequence token, seconds.
    pub host_s_per_token: f64,
    /// The link of the tensor-parallel group, or of the pipeline across nodes.
    pub interconnect: Option<Link>,
    /// Prompt processing of one `input_tokens` prompt, tokens/s.
    pub prefill_tokens_per_s: f64,
    /// Time to first token for one `input_tokens` prompt, seconds.
    pub time_to_first_token_s: f64,
    pub serving: Serving,
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
    /// GPU-hours of wall clock, lost time (1 − goodput) included.
    pub gpu_hours: f64,
    pub wall_clock_days: f64,
    pub mfu: f64,
    pub goodput: f64,
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

/// What the speed model needs beyond the GPU and the layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Env {
    /// The network between nodes (pipeline stages across nodes).
    pub network: Option<Link>,
    pub placement: Placement,
    /// Host RAM bandwidth when weights are offloaded.
    pub host: Option<HostMemory>,
}

impl Env {
    /// Everything on the GPUs, no network figure.
    pub fn on_gpus(model: &Model) -> Env {
        Env {
            network: None,
            placement: Placement::all_on_gpu(model),
            host: None,
        }
    }
}

/// The pieces of one replica the step functions share.
struct Replica<'a> {
    model: &'a Model,
    engine: Engine,
    w: weights::Bytes,
    p: Placement,
    tp: f64,
    pp: f64,
    layers: f64,
    /// Effective per-GPU bandwidth and compute, bytes/s and FLOP/s.
    bandwidth: f64,
    compute: f64,
    tp_link: Option<Link>,
    hop: Box<dyn Fn(f64) -> f64 + 'a>,
    host: Option<f64>,
    pcie: Link,
    active: f64,
    /// KV bytes per token of context and sequence, all layers, as one TP rank reads them.
    kv_per_token: f64,
    /// The same for the whole model (what host layers keep in RAM).
    kv_per_token_all: f64,
    /// Attention FLOPs per token of context, all layers.
    attn_flops_per_ctx: f64,
}

impl Replica<'_> {
    /// Weights read for a batch of `tokens` tokens: (on the GPUs, on the host).
    fn weight_reads(&self, tokens: f64) -> (f64, f64) {
        let head = self.w.head_read(self.model.tie_word_embeddings);
        let g = self.p.gpu_block_share();
        let experts = self.w.experts * self.w.expert_share(tokens);
        let experts_gpu = if self.p.experts_on_host {
            0.0
        } else {
            experts * g
        };
        let head_gpu = if self.p.head_on_gpu() { head } else { 0.0 };
        let gpu = head_gpu + self.w.blocks * g + experts_gpu;
        (
            gpu,
            head - head_gpu + self.w.blocks * (1.0 - g) + experts - experts_gpu,
        )
    }

    /// One stage's time for a decode step of `b` sequences at average context `ctx`:
    /// (stage seconds, memory-bound?, all-reduce seconds).
    fn decode_stage(&self, b: f64, ctx: f64) -> (f64, bool, f64) {
        let g = self.p.gpu_block_share();
        let (weights_gpu, _) = self.weight_reads(b);
        let bytes = weights_gpu / (self.tp * self.pp) + b * ctx * self.kv_per_token * g / self.pp;
        let flops =
            b * (2.0 * self.active + self.attn_flops_per_ctx * ctx) * g / (self.tp * self.pp);
        let (mem_s, comp_s) = (bytes / self.bandwidth, flops / self.compute);
        let gpu_layers = self.layers * g / self.pp;
        let comm = self.tp_link.map_or(0.0, |l| {
            let msg = b * self.model.hidden_size as f64 * ACTIVATION_BYTES;
            2.0 * gpu_layers * l.allreduce_s(msg, self.tp as u32)
        });
        let stage = mem_s.max(comp_s) + gpu_layers * self.engine.layer_overhead_s() + comm;
        (stage, mem_s >= comp_s, comm)
    }

    /// Host seconds for its share of a step over `tokens` tokens at context `ctx` per sequence.
    fn host_s(&self, b: f64, ctx: f64) -> Option<f64> {
        let (_, weights_host) = self.weight_reads(b);
        let kv_host = b * ctx * self.kv_per_token_all * (1.0 - self.p.gpu_block_share());
        let bytes = weights_host + kv_host;
        if bytes <= 0.0 {
            return Some(0.0);
        }
        self.host.map(|bw| bytes / bw)
    }

    /// Seconds between a sequence's tokens with `b` in flight: (interval, bound, comm per token).
    fn decode(&self, b: f64, ctx: f64) -> Option<(f64, Bound, f64)> {
        let pp = self.pp;
        let (interval, memory_bound, comm) = if self.engine.overlaps_stages() && pp > 1.0 {
            let (stage, mb, comm) = self.decode_stage((b / pp).ceil(), ctx);
            (pp * (stage + (self.hop)(b / pp)), mb, comm * pp)
        } else {
            let (stage, mb, comm) = self.decode_stage(b, ctx);
            (pp * stage + (pp - 1.0) * (self.hop)(b), mb, comm * pp)
        };
        let host = self.host_s(b, ctx)?;
        let bound = if host > interval {
            Bound::Host
        } else if memory_bound {
            Bound::Memory
        } else {
            Bound::Compute
        };
        Some((interval + host, bound, comm))
    }

    /// Seconds to prefill `tokens` prompt tokens of `requests` requests of `len` tokens each.
    fn prefill(&self, tokens: f64, requests: f64, len: f64, chunk: Option<f64>) -> f64 {
        let chunk = chunk.unwrap_or(tokens).min(tokens).max(1.0);
        let chunks = (tokens / chunk).ceil();
        let c = tokens / chunks;
        let g = self.p.gpu_block_share();
        let flops =
            (2.0 * self.active * tokens + requests * self.attn_flops_per_ctx * len * len / 2.0) * g
                / chunks
                / (self.tp * self.pp);
        let (weights_gpu, weights_host) = self.weight_reads(c);
        let gpu_layers = self.layers * g / self.pp;
        let comm = self.tp_link.map_or(0.0, |l| {
            let msg = c * self.model.hidden_size as f64 * ACTIVATION_BYTES;
            2.0 * gpu_layers * l.allreduce_s(msg, self.tp as u32)
        });
        let stage = (flops / self.compute).max(weights_gpu / (self.tp * self.pp) / self.bandwidth)
            + gpu_layers * self.engine.layer_overhead_s()
            + comm
            + (self.hop)(c);
        // Host layers' weights cross PCIe to the GPU once per chunk (llama.cpp offloads large
        // batches to the GPU).
        // (An integrated GPU has no PCIe link and nothing to send over one.)
        let host = if weights_host > 0.0 {
            weights_host / (self.pcie.gb_per_s * 1e9 * comm::ALLREDUCE_BUS_EFFICIENCY)
        } else {
            0.0
        };
        (chunks + self.pp - 1.0) * stage + chunks * host
    }
}

/// The stage boundaries one token crosses in a replica: inside a node, and between nodes.
#[derive(Debug, Clone, Copy)]
struct Boundaries {
    inside: f64,
    across: f64,
}

impl Boundaries {
    /// Seconds per boundary, averaged over the replica's boundaries.
    /// (A kind of boundary the replica lacks adds nothing, even where its link is unknown.)
    fn average(self, inside_s: f64, across_s: f64) -> f64 {
        let n = self.inside + self.across;
        let part = |count: f64, s: f64| if count > 0.0 { count * s } else { 0.0 };
        if n == 0.0 {
            0.0
        } else {
            (part(self.inside, inside_s) + part(self.across, across_s)) / n
        }
    }
}

/// Boundaries of a layout's pipeline: a replica of tp × pp GPUs spans whole nodes (or shares
/// one), so pp − 1 boundaries of which one fewer than its nodes are between nodes.
fn stage_boundaries(layout: &Layout) -> Boundaries {
    let stages = layout.pp.saturating_sub(1) as f64;
    let nodes = layout
        .replica_gpus()
        .div_ceil(layout.gpus_per_node.max(1))
        .max(1);
    let across = (nodes - 1) as f64;
    Boundaries {
        inside: (stages - across).max(0.0),
        across: across.min(stages),
    }
}

/// Decode, prefill and serving speed for an inference layout; `None` when offloaded weights
/// need a host bandwidth nobody knows.
pub fn inference(
    model: &Model,
    req: &PlanRequest,
    gpu: &Gpu,
    layout: &Layout,
    mm: &ModelMemory,
    env: &Env,
) -> Option<Speed> {
    let engine = req.engine();
    let (dtype, tflops) = if engine.prefill_in_fp16_accumulate() {
        let fp16 = peak(gpu, ComputeDtype::Fp16);
        gpu.dense_tflops
            .fp16_acc16
            .map_or(fp16, |t| (ComputeDtype::Fp16, t))
    } else {
        peak(gpu, req.weights.compute_dtype())
    };
    let eff = req
        .efficiencies
        .decode_bandwidth
        .unwrap_or_else(|| engine.decode_efficiency(gpu));
    let mfu = req.efficiencies.prefill_mfu.unwrap_or(engine.prefill_mfu());
    let tp_link = comm::tp_link(gpu, layout.tp);
    // Stages on one node hand over between two of its GPUs; across nodes over the network.
    let network = env.network.filter(|_| layout.nodes > 1);
    let local_link = comm::tp_link(gpu, 2).unwrap_or_else(|| comm::pcie(gpu));
    let hidden = model.hidden_size as f64;
    let boundaries = stage_boundaries(layout);
    let kv_share = if model.is_mla() {
        1.0
    } else {
        kv_heads_per_gpu(model, layout.tp) as f64 / model.num_key_value_heads.max(1) as f64
    };
    let r = Replica {
        model,
        engine,
        w: weights::bytes(model, req, mm),
        p: env.placement,
        tp: layout.tp as f64,
        pp: layout.pp as f64,
        layers: model.num_hidden_layers as f64,
        bandwidth: gpu.bandwidth_bytes_per_s() * eff,
        compute: (tflops * 1e12 * mfu).max(1.0),
        tp_link,
        hop: Box::new(move |b: f64| {
            let bytes = b * hidden * ACTIVATION_BYTES;
            let inside = engine
                .stage_hop_s()
                .unwrap_or_else(|| local_link.send_s(bytes));
            let across = network.map_or(inside, |net| match engine.machine_hop_s() {
                Some(fixed) => fixed + bytes / (net.gb_per_s * 1e9),
                None => net.send_s(bytes),
            });
            boundaries.average(inside, across)
        }),
        host: env.host.as_ref().map(|h| h.gb_per_s * 1e9 * h.efficiency),
        pcie: comm::pcie(gpu),
        active: model.param_counts().active as f64,
        kv_per_token: mm.kv_bytes_per_token * kv_share,
        kv_per_token_all: mm.kv_bytes_per_token,
        attn_flops_per_ctx: 4.0
            * model.num_hidden_layers as f64
            * (model.num_attention_heads * model.head_dim()) as f64,
    };
    let (input, output) = (req.input_tokens() as f64, req.output_tokens() as f64);
    let ctx = input + output / 2.0;
    let batch = req.batch.max(1) as f64;
    let (single, _, comm_s) = r.decode(1.0, ctx)?;
    let (interval, bound, _) = r.decode(batch, ctx)?;
    let chunk = engine.prefill_chunk_tokens(gpu.memory_bytes());
    let ttft = r.prefill(input, 1.0, input, chunk);
    // One cycle: every slot prefills its prompt, then all decode together to the last token.
    let cycle = r.prefill(input * batch, batch, input, chunk) + output * interval;
    let replicas = layout.dp.max(1);
    let per_s = replicas as f64 * batch / cycle;
    Some(Speed {
        engine,
        compute_dtype: dtype,
        peak_tflops_per_gpu: tflops,
        decode_bandwidth_efficiency: eff,
        prefill_mfu: mfu,
        decode_tokens_per_s: 1.0 / single,
        decode_batch_tokens_per_s: replicas as f64 * batch / interval,
        inter_token_latency_s: interval,
        decode_bound: bound,
        tp_comm_s_per_token: comm_s,
        host_s_per_token: r.host_s(1.0, ctx)?,
        interconnect: tp_link.or(network),
        prefill_tokens_per_s: input / ttft,
        time_to_first_token_s: ttft,
        serving: Serving {
            input_tokens: req.input_tokens(),
            output_tokens: req.output_tokens(),
            concurrency: req.batch,
            replicas,
            output_tokens_per_s: per_s * output,
            total_tokens_per_s: per_s * (input + output),
            requests_per_s: per_s,
            request_latency_s: cycle,
        },
    })
}

/// Training MFU when none is given: TRAIN_MFU_BASE, less for models under 1B parameters and
/// for clusters beyond TRAIN_MFU_REFERENCE_GPUS.
pub fn default_train_mfu(active_params: f64, gpus: u32) -> f64 {
    let (small, big) = (1.25e8f64.log10(), 9.0);
    let t = ((active_params.max(1.0).log10() - small) / (big - small)).clamp(0.0, 1.0);
    let size = TRAIN_MFU_SMALL_MODEL_FACTOR + (1.0 - TRAIN_MFU_SMALL_MODEL_FACTOR) * t;
    let doublings = (gpus.max(1) as f64 / TRAIN_MFU_REFERENCE_GPUS)
        .log2()
        .max(0.0);
    let cluster = (1.0 - TRAIN_MFU_LOSS_PER_DOUBLING * doublings).max(0.5);
    TRAIN_MFU_BASE * size * cluster
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
    let active = model.param_counts().active as f64;
    let flops = per * active * tokens;
    let mfu = req
        .efficiencies
        .train_mfu
        .unwrap_or_else(|| default_train_mfu(active, gpus));
    let goodput = req.efficiencies.train_goodput.unwrap_or(TRAIN_GOODPUT);
    let gpu_hours = flops / (tflops * 1e12 * mfu * goodput) / 3600.0;
    Some(TrainingTime {
        tokens,
        flops,
        flops_per_param_token: per,
        gpu_hours,
        wall_clock_days: gpu_hours / gpus.max(1) as f64 / 24.0,
        mfu,
        goodput,
    })
}
