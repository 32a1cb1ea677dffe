//! The anchors as data: planner.md §3 (F1–F7, T1, M1, M3, M4, W1, K1, R7, R11) and measured
//! LoRA/QLoRA memory (TM, U). Each computes the planner's figure from the catalog.
use super::{Anchor, Tolerance};
use crate::catalog::{Catalog, Gpu, Model};
use crate::plan::{
    self, constants as c, memory, speed, training, PlanRequest, WeightFormat, Workload,
};

const GB: f64 = 1e9;
const GIB: f64 = (1u64 << 30) as f64;
const MIB: f64 = (1u64 << 20) as f64;

const FALCON_BLOG: &str =
    "https://huggingface.co/blog/falcon-180b (hardware table, via planner.md §3.1)";
const FALCON_CARD: &str = "https://huggingface.co/tiiuae/falcon-180B (3.5T tokens, ~7M GPU-h on A100 40GB; planner.md §3.1)";
const ZERO_PAPER: &str =
    "Rajbhandari et al. 2019, arXiv 1910.02054, Fig. 1 (P = 7.5B, K = 12, N = 64)";
const DS_DOCS: &str = "DeepSpeed docs/code-docs/source/memory.rst @38327e0 (t5-3b: 2851M params, 32M largest layer, 1 node × 8 GPUs)";
const DS_CODE: &str = "DeepSpeed runtime/zero/stage_1_and_2.py estimate_zero2_model_states_mem_needs @38327e0 (2P + 18P/N)";
const XD_README: &str = "XiongjieDai/GPU-Benchmarks-on-LLM-Inference README @eafac9d (llama.cpp)";
const TORCHTUNE: &str = "pytorch/torchtune README 'Peak Memory per GPU' table (2024): Llama2-7B, batch 4 × 2048 tokens, 1× RTX 4090, peak reserved";
const UNSLOTH: &str = "https://unsloth.ai/blog/llama3-3 and unslothai/unsloth README: HF + FA2, Llama 3.1 8B QLoRA r32 all linear, batch 1, gradient checkpointing, padded";
const UNSLOTH_70B: &str = "https://unsloth.ai/blog/llama3-3: HF + FA2, Llama 3.3 70B QLoRA r32 all linear, batch 1, A100 80GB";

/// bert-base-cased as accelerate's estimator loads it (BertModel; config.json values).
const BERT_BASE_CASED: &str = r#"
id = "bert-base-cased"
name = "BERT base cased"
family = "bert"
architecture = "BertModel"
hidden_size = 768
num_hidden_layers = 12
num_attention_heads = 12
num_key_value_heads = 12
intermediate_size = 3072
gated_mlp = false
vocab_size = 28996
tie_word_embeddings = true
max_position_embeddings = 512
learned_position_embeddings = true
norm = "layernorm"
qkv_bias = true
o_bias = true
mlp_bias = true
params_published = 108310272
license = "apache-2.0"
source = "https://huggingface.co/google-bert/bert-base-cased/blob/main/config.json"
"#;

fn model<'a>(cat: &'a Catalog, id: &str) -> Result<&'a Model, String> {
    cat.models
        .get(id)
        .ok_or_else(|| format!("no model '{id}' in the catalog"))
}

fn gpu<'a>(cat: &'a Catalog, id: &str) -> Result<&'a Gpu, String> {
    cat.gpus
        .get(id)
        .ok_or_else(|| format!("no gpu '{id}' in the catalog"))
}

/// A weight format by its CLI name, so formats other branches add are picked up by name.
fn format(name: &str) -> Result<WeightFormat, String> {
    <WeightFormat as clap::ValueEnum>::from_str(name, true)
        .map_err(|_| format!("no '{name}' weight format in this build"))
}

/// Whole-model training state (weights + gradients + Adam) before sharding, GB.
fn falcon_state_gb(cat: &Catalog, req: PlanRequest) -> Result<f64, String> {
    let m = model(cat, "falcon-180b")?;
    Ok(memory::model_memory(m, &req).training_state_bytes / GB)
}

/// GPUs of the smallest fitting plan for `req` on `gpu_id`.
fn smallest_gpus(
    cat: &Catalog,
    model_id: &str,
    req: PlanRequest,
    gpu_id: &str,
) -> Result<f64, String> {
    let m = model(cat, model_id)?;
    let p = plan::plan(cat, m, &req, &[gpu(cat, gpu_id)?]);
    let o = &p.options[0];
    if o.fits {
        Ok(o.gpus as f64)
    } else {
        Err(o.reason.clone().unwrap_or_else(|| "does not fit".into()))
    }
}

fn weights_gb(cat: &Catalog, model_id: &str, weights: WeightFormat) -> Result<f64, String> {
    let req = PlanRequest {
        weights,
        ..PlanRequest::new(Workload::Infer, 2048)
    };
    Ok(memory::model_memory(model(cat, model_id)?, &req).weights_bytes / GB)
}

fn kv_per_token(cat: &Catalog, model_id: &str) -> Result<f64, String> {
    let req = PlanRequest::new(Workload::Infer, 1024);
    Ok(memory::model_memory(model(cat, model_id)?, &req).kv_bytes_per_token)
}

/// ZeRO paper model states per GPU, GB (fp16 gradients: 2 + 2 + 12 bytes/param).
fn zero_paper_gb(stage: u8) -> Result<f64, String> {
    let req = PlanRequest {
        zero_stage: stage,
        grad_bytes: 2.0,
        ..PlanRequest::new(Workload::Train, 1024)
    };
    let s = memory::training_states(7.5e9, &req, 64);
    Ok((s.weights_bytes + s.gradients_bytes + s.optimizer_bytes) / GB)
}

const T5_3B_PARAMS: f64 = 2851e6;
const T5_3B_LARGEST: f64 = 32e6;

fn ds_request(stage: u8, optimizer: bool, params: bool) -> PlanRequest {
    PlanRequest {
        zero_stage: stage,
        offload_optimizer: optimizer,
        offload_params: params,
        ..PlanRequest::new(Workload::Train, 1024)
    }
}

/// DeepSpeed estimator inputs: model states on one of 8 GPUs, GiB.
fn ds_gpu_gib(stage: u8, optimizer: bool, params: bool) -> Result<f64, String> {
    let req = ds_request(stage, optimizer, params);
    let s = memory::training_states(T5_3B_PARAMS, &req, 8);
    let live = training::zero3_live_bytes(T5_3B_LARGEST, &req, 8);
    Ok((s.weights_bytes + s.gradients_bytes + s.optimizer_bytes + live) / GIB)
}

/// DeepSpeed estimator inputs: host RAM of the node, GiB.
fn ds_cpu_gib(stage: u8, optimizer: bool, params: bool) -> Result<f64, String> {
    let req = ds_request(stage, optimizer, params);
    let offloaded = training::offloaded_bytes(T5_3B_PARAMS, &req, 8);
    Ok(training::offload_host_per_node(T5_3B_PARAMS, offloaded, &req, 8) / GIB)
}

/// llama-bench on one GPU with llama.cpp: `tg512` (512 tokens generated from an empty
/// context) or `pp512` (a 512-token prompt), (model, format, GPU).
fn llama_cpp(
    cat: &Catalog,
    model_id: &str,
    fmt: &str,
    gpu_id: &str,
    prefill: bool,
) -> Result<f64, String> {
    let (input, output) = if prefill { (512, 1) } else { (1, 511) };
    let req = PlanRequest {
        weights: format(fmt)?,
        engine: Some(plan::Engine::LlamaCpp),
        input_tokens: Some(input),
        output_tokens: Some(output),
        ..PlanRequest::new(Workload::Infer, 513)
    };
    let p = plan::compare(cat, model(cat, model_id)?, &req, &[(1, gpu(cat, gpu_id)?)]);
    let s = p.options[0].speed.ok_or_else(|| {
        p.options[0]
            .reason
            .clone()
            .unwrap_or_else(|| "no speed".into())
    })?;
    Ok(if prefill {
        s.prefill_tokens_per_s
    } else {
        s.decode_tokens_per_s
    })
}

/// torchtune's single-GPU LoRA/QLoRA table: Llama2-7B, rank 8, batch 4 × 2048, activation
/// checkpointing; peak *reserved* memory, which leaves out the CUDA context. GB.
fn torchtune_gb(cat: &Catalog, workload: Workload) -> Result<f64, String> {
    let req = PlanRequest {
        lora_rank: 8,
        batch: 4,
        ..PlanRequest::new(workload, 2048)
    };
    let m = memory::per_gpu(
        model(cat, "llama-2-7b")?,
        &req,
        &training::single_gpu(),
        24.0 * GIB,
    );
    Ok((m.total_bytes - c::CUDA_CONTEXT_GIB * GIB) / GB)
}

/// Longest context a QLoRA rank-32 batch-1 run fits on one GPU of `gib` GiB.
fn qlora_max_context(cat: &Catalog, model_id: &str, gib: f64) -> Result<f64, String> {
    let m = model(cat, model_id)?;
    let req = PlanRequest {
        lora_rank: 32,
        ..PlanRequest::new(Workload::Qlora, 1)
    };
    let fits = |ctx: u64| {
        let r = PlanRequest {
            context_tokens: ctx,
            ..req.clone()
        };
        memory::per_gpu(m, &r, &training::single_gpu(), gib * GIB).fits()
    };
    plan::largest(1, 1 << 21, fits)
        .map(|t| t as f64)
        .ok_or_else(|| format!("does not fit {gib} GiB at any context"))
}

macro_rules! anchor {
    ($id:literal, $what:literal, $source:expr, $published:expr, $unit:literal, $tol:expr, $f:expr) => {
        anchor!($id, $what, $source, $published, $unit, $tol, None, $f)
    };
    ($id:literal, $what:literal, $source:expr, $published:expr, $unit:literal, $tol:expr, $known:expr, $f:expr) => {
        Anchor {
            id: $id,
            what: $what,
            source: $source,
            published: $published,
            unit: $unit,
            tolerance: $tol,
            known_failing: $known,
            compute: $f,
        }
    };
}

const fn rel(fraction: f64) -> Tolerance {
    Tolerance::Relative { fraction }
}
const EXACT: Tolerance = Tolerance::Relative { fraction: 0.0 };
const fn abs(amount: f64) -> Tolerance {
    Tolerance::Absolute { amount }
}
const fn range(low: f64, high: f64) -> Tolerance {
    Tolerance::Range { low, high }
}
const fn at_most(high: f64) -> Tolerance {
    Tolerance::AtMost { high }
}

/// Every calibration anchor, in planner.md order.
pub static ANCHORS: &[Anchor] = &[
    anchor!("F1 state", "Falcon-180B full fine-tune, model states", FALCON_BLOG, Some(5120.0), "GB", range(2880.0, 5120.0),
        |cat| falcon_state_gb(cat, PlanRequest::new(Workload::Train, 2048))),
    anchor!("F1 GPUs", "… GPUs on A100 80GB (8 nodes of 8)", FALCON_BLOG, Some(64.0), "GPUs", at_most(64.0),
        |cat| smallest_gpus(cat, "falcon-180b", PlanRequest::new(Workload::Train, 2048), "a100-sxm4-80gb")),
    anchor!("F2 state", "Falcon-180B LoRA + ZeRO-3, model states", FALCON_BLOG, Some(1280.0), "GB", range(360.0, 1280.0),
        |cat| falcon_state_gb(cat, PlanRequest::new(Workload::Lora, 2048))),
    anchor!("F2 GPUs", "… GPUs on A100 80GB", FALCON_BLOG, Some(16.0), "GPUs", at_most(16.0),
        |cat| smallest_gpus(cat, "falcon-180b", PlanRequest::new(Workload::Lora, 2048), "a100-sxm4-80gb")),
    anchor!("F3 state", "Falcon-180B QLoRA, model states", FALCON_BLOG, Some(160.0), "GB", range(90.0, 160.0),
        |cat| falcon_state_gb(cat, PlanRequest::new(Workload::Qlora, 2048))),
    anchor!("F3 GPUs", "… GPUs on A100 80GB (1 rejected)", FALCON_BLOG, Some(2.0), "GPUs", EXACT,
        |cat| smallest_gpus(cat, "falcon-180b", PlanRequest::new(Workload::Qlora, 2048), "a100-sxm4-80gb")),
    anchor!("F4 weights", "Falcon-180B bf16 weights (180B × 2 B)", FALCON_BLOG, Some(360.0), "GB", rel(0.02),
        |cat| weights_gb(cat, "falcon-180b", WeightFormat::Bf16)),
    anchor!("F4 GPUs", "… inference GPUs on A100 80GB (TP8)", FALCON_BLOG, Some(8.0), "GPUs", EXACT,
        |cat| smallest_gpus(cat, "falcon-180b", PlanRequest::new(Workload::Infer, 2048), "a100-sxm4-80gb")),
    anchor!("F5 weights", "Falcon-180B GPTQ/int4 weights", FALCON_BLOG, None, "GB", range(90.0, 100.0),
        |cat| weights_gb(cat, "falcon-180b", WeightFormat::Int4)),
    anchor!("F5 GPUs", "… inference GPUs on A100 40GB", FALCON_BLOG, Some(8.0), "GPUs", at_most(8.0),
        |cat| smallest_gpus(cat, "falcon-180b", PlanRequest { weights: WeightFormat::Int4, ..PlanRequest::new(Workload::Infer, 2048) }, "a100-sxm4-40gb")),
    anchor!("F6 FLOPs", "Falcon-180B training compute, 6ND", FALCON_CARD, Some(3.78e24), "FLOP", rel(0.01),
        |cat| falcon_training(cat).map(|t| t.flops)),
    anchor!("F6 GPU-h", "… GPU-hours at MFU 0.48 (A100 40GB)", FALCON_CARD, Some(7.0e6), "GPU-h", range(6.7e6, 7.5e6),
        |cat| falcon_training(cat).map(|t| t.gpu_hours)),
    anchor!("F7", "Falcon-180B KV cache per token, bf16", "planner.md §3.1: 2 · 80 layers · 8 KV heads · 64 · 2 B", Some(163_840.0), "B", EXACT,
        |cat| kv_per_token(cat, "falcon-180b")),
    anchor!("T1", "GPT-3 175B training compute, 300B tokens", "Brown et al. 2020, arXiv 2005.14165, Table D.1", Some(3.14e23), "FLOP", rel(0.01),
        |cat| {
            let req = PlanRequest { train_tokens: Some(300e9), ..PlanRequest::new(Workload::Train, 2048) };
            speed::training(model(cat, "gpt-3-175b")?, &req, gpu(cat, "a100-sxm4-80gb")?, 1024)
                .map(|t| t.flops)
                .ok_or_else(|| "no training estimate".into())
        }),
    anchor!("M1 none", "ZeRO 7.5B on 64 GPUs: no sharding", ZERO_PAPER, Some(120.0), "GB", abs(0.05), |_| zero_paper_gb(0)),
    anchor!("M1 os", "… optimizer states sharded", ZERO_PAPER, Some(31.4), "GB", abs(0.05), |_| zero_paper_gb(1)),
    anchor!("M1 os+g", "… and gradients", ZERO_PAPER, Some(16.6), "GB", abs(0.05), |_| zero_paper_gb(2)),
    anchor!("M1 os+g+p", "… and parameters", ZERO_PAPER, Some(1.9), "GB", abs(0.05), |_| zero_paper_gb(3)),
    anchor!("M3 z3", "DeepSpeed ZeRO-3 per GPU, no offload", DS_DOCS, Some(6.09), "GiB", abs(0.01), |_| ds_gpu_gib(3, false, false)),
    anchor!("M3 z3 opt", "… optimizer offload, per GPU", DS_DOCS, Some(0.78), "GiB", abs(0.01), |_| ds_gpu_gib(3, true, false)),
    anchor!("M3 z3 opt CPU", "… optimizer offload, host (zero.Init)", DS_DOCS, Some(63.72), "GiB", abs(0.01), |_| ds_cpu_gib(3, true, false)),
    anchor!("M3 z3 all", "… params + optimizer offload, per GPU", DS_DOCS, Some(0.12), "GiB", abs(0.01), |_| ds_gpu_gib(3, true, true)),
    anchor!("M3 z3 all CPU", "… params + optimizer offload, host", DS_DOCS, Some(71.69), "GiB", abs(0.01), |_| ds_cpu_gib(3, true, true)),
    anchor!("M3 z2 opt", "DeepSpeed ZeRO-2 optimizer offload, GPU", DS_DOCS, Some(5.31), "GiB", abs(0.01), |_| ds_gpu_gib(2, true, false)),
    anchor!("M3 z2 opt CPU", "… host (8 fp32 model copies × 1.5)", DS_DOCS, Some(127.45), "GiB", abs(0.01), |_| ds_cpu_gib(2, true, false)),
    anchor!("M4", "DeepSpeed ZeRO-2 no offload, per GPU", DS_CODE, Some(11.28), "GiB", rel(0.10),
        // DeepSpeed keeps 16- and 32-bit gradients (2 + 18/N); the planner's recipe fp32 only
        // (2 + 16/N). The docs' 15.93 GiB is the old 4P + 16P/N.
        |_| ds_gpu_gib(2, false, false)),
    anchor!("W1", "bert-base-cased fp32 weights (accelerate)", "huggingface/accelerate docs/source/usage_guides/model_size_estimator.md (estimate 413.18 MB; MB = MiB)", Some(413.18), "MiB", rel(0.01),
        |_| {
            let bert: Model = toml::from_str(BERT_BASE_CASED).map_err(|e| e.to_string())?;
            let req = PlanRequest { weights: WeightFormat::Fp32, ..PlanRequest::new(Workload::Infer, 512) };
            Ok(memory::model_memory(&bert, &req).weights_bytes / MIB)
        }),
    anchor!("K1 8B", "KV per token fp16: Llama 3 8B", "planner.md §3.4 (2 · L · KV heads · head dim · 2 B)", Some(131_072.0), "B", EXACT, |cat| kv_per_token(cat, "llama-3.1-8b")),
    anchor!("K1 70B", "… Llama 2 70B", "planner.md §3.4 (2 · L · KV heads · head dim · 2 B)", Some(327_680.0), "B", EXACT, |cat| kv_per_token(cat, "llama-2-70b")),
    anchor!("K1 7B", "… Llama 2 7B", "planner.md §3.4 (2 · L · KV heads · head dim · 2 B)", Some(524_288.0), "B", EXACT, |cat| kv_per_token(cat, "llama-2-7b")),
    anchor!("R7 tg", "RTX 4090, Llama 3 8B F16 decode (tg512)", XD_README, Some(54.84), "tok/s", rel(0.30),
        |cat| llama_cpp(cat, "llama-3.1-8b", "fp16", "rtx-4090", false)),
    anchor!("R7 pp", "RTX 4090, Llama 3 8B F16 prefill (pp512)", XD_README, Some(9382.0), "tok/s", rel(0.30),
        |cat| llama_cpp(cat, "llama-3.1-8b", "fp16", "rtx-4090", true)),
    anchor!("R11 7B f16", "A100 80GB, Llama 2 7B f16 decode", XD_README, Some(73.83), "tok/s", rel(0.30),
        |cat| llama_cpp(cat, "llama-2-7b", "fp16", "a100-pcie-80gb", false)),
    anchor!("R11 7B q4_0", "… Llama 2 7B q4_0 decode", XD_README, Some(136.24), "tok/s", rel(0.30),
        |cat| llama_cpp(cat, "llama-2-7b", "q4_0", "a100-pcie-80gb", false)),
    anchor!("R11 70B q4_0", "… Llama 2 70B q4_0 decode", XD_README, Some(25.68), "tok/s", rel(0.30),
        |cat| llama_cpp(cat, "llama-2-70b", "q4_0", "a100-pcie-80gb", false)),
    anchor!("TM qlora", "torchtune Llama2-7B QLoRA, 4 × 2048", TORCHTUNE, Some(12.3), "GB", rel(0.15), |cat| torchtune_gb(cat, Workload::Qlora)),
    anchor!("TM lora", "torchtune Llama2-7B LoRA, 4 × 2048", TORCHTUNE, Some(21.3), "GB", rel(0.15), |cat| torchtune_gb(cat, Workload::Lora)),
    anchor!("U 12GB", "Llama 3.1 8B QLoRA max context, 12 GB", UNSLOTH, Some(932.0), "tok", rel(0.30), |cat| qlora_max_context(cat, "llama-3.1-8b", 12.0)),
    anchor!("U 16GB", "… 16 GB", UNSLOTH, Some(2551.0), "tok", rel(0.30), |cat| qlora_max_context(cat, "llama-3.1-8b", 16.0)),
    anchor!("U 24GB", "… 24 GB", UNSLOTH, Some(5789.0), "tok", rel(0.30), |cat| qlora_max_context(cat, "llama-3.1-8b", 24.0)),
    anchor!("U 40GB", "… 40 GB", UNSLOTH, Some(12264.0), "tok", rel(0.30), |cat| qlora_max_context(cat, "llama-3.1-8b", 40.0)),
    anchor!("U 48GB", "… 48 GB", UNSLOTH, Some(15502.0), "tok", rel(0.30), |cat| qlora_max_context(cat, "llama-3.1-8b", 48.0)),
    anchor!("U 80GB", "… 80 GB", UNSLOTH, Some(28454.0), "tok", rel(0.30), |cat| qlora_max_context(cat, "llama-3.1-8b", 80.0)),
    anchor!("U 70B", "Llama 3.3 70B QLoRA max context, 80 GB", UNSLOTH_70B, Some(6916.0), "tok", rel(0.30), |cat| qlora_max_context(cat, "llama-3.1-70b", 80.0)),
];

fn falcon_training(cat: &Catalog) -> Result<plan::TrainingTime, String> {
    let mut req = PlanRequest {
        train_tokens: Some(3.5e12),
        ..PlanRequest::new(Workload::Train, 2048)
    };
    // The published GPU-hours include restarts and evaluation: MFU 0.48 is implied from
    // them, so no separate goodput applies.
    req.efficiencies.train_mfu = Some(0.48);
    req.efficiencies.train_goodput = Some(1.0);
    speed::training(
        model(cat, "falcon-180b")?,
        &req,
        gpu(cat, "a100-sxm4-40gb")?,
        4096,
    )
    .ok_or_else(|| "no training estimate".into())
}
