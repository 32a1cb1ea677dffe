//! What the user asks the planner.
use super::constants as c;
use super::engine::{Engine, Split};
use super::format::{KvFormat, WeightFormat};
use crate::catalog::Model;
use serde::{Deserialize, Serialize};

/// What the machine will do with the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Serve or run the model.
    Infer,
    /// Full training or fine-tuning with mixed-precision Adam.
    Train,
    /// LoRA fine-tuning: frozen base weights, trainable low-rank adapters.
    Lora,
    /// QLoRA: LoRA on a 4-bit (NF4) base.
    Qlora,
}

/// Activation recomputation during training (Korthikanti et al. 2022).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Recompute {
    /// Store every activation, attention scores included (no FlashAttention).
    None,
    /// Recompute the attention core (what FlashAttention does); store the rest.
    Selective,
    /// Store only each layer's input and recompute the layer in the backward pass.
    Full,
}

/// Efficiency factors the user fixed; `None` means the engine's (or, for training, the model
/// and cluster size's) default, which each option reports with its speed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Efficiencies {
    /// Fraction of memory-bandwidth roofline that decode reaches.
    #[serde(default)]
    pub decode_bandwidth: Option<f64>,
    /// Fraction of dense tensor peak that prefill reaches.
    #[serde(default)]
    pub prefill_mfu: Option<f64>,
    /// Fraction of dense tensor peak that training reaches while it runs.
    #[serde(default)]
    pub train_mfu: Option<f64>,
    /// Fraction of a training run's wall clock spent on useful steps (the rest: restarts,
    /// evaluation, checkpoints).
    #[serde(default)]
    pub train_goodput: Option<f64>,
}

/// How many layers llama.cpp keeps on the GPUs (`-ngl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuLayers {
    /// As many as fit, the rest on the host (llama.cpp's --fit).
    Auto,
    /// Exactly this -ngl: the output head and the last n − 1 blocks on the GPUs.
    #[serde(untagged)]
    Count(u32),
}

/// A complete planning request. Build one with [`PlanRequest::new`] and adjust fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRequest {
    pub workload: Workload,
    /// Weight storage format.
    pub weights: WeightFormat,
    /// KV-cache element type.
    pub kv: KvFormat,
    /// Tokens of context per sequence (prompt + generated; training sequence length).
    pub context_tokens: u64,
    /// Sequences processed together (training: micro-batch per GPU).
    pub batch: u64,
    pub recompute: Recompute,
    /// ZeRO stage 0-3 for training workloads.
    pub zero_stage: u8,
    /// Keep optimizer states (and fp32 master weights) in host RAM (ZeRO-Offload).
    pub offload_optimizer: bool,
    /// LoRA rank for lora/qlora.
    pub lora_rank: u64,
    /// Bytes per gradient: 4 (fp32, 18 bytes/param Adam) or 2 (bf16, 16 bytes/param).
    pub grad_bytes: f64,
    /// Exact weight bytes read from the model's files, replacing the format estimate.
    pub exact_weight_bytes: Option<f64>,
    /// Tokens to train on, for FLOPs and GPU-hours.
    pub train_tokens: Option<f64>,
    pub efficiencies: Efficiencies,
    /// Electricity price; the catalog default when absent.
    pub usd_per_kwh: Option<f64>,
    /// Fraction of time the rig runs at load (the rest idle), for running cost.
    pub utilization: f64,
    /// Most nodes a layout may span.
    pub max_nodes: u32,
    /// The engine; the default for the weight format when absent (see [`Engine::default_for`]).
    #[serde(default)]
    pub engine: Option<Engine>,
    /// Prompt tokens per request (default: the context less the output tokens).
    #[serde(default)]
    pub input_tokens: Option<u64>,
    /// Generated tokens per request (default DEFAULT_OUTPUT_TOKENS, at most half the context).
    #[serde(default)]
    pub output_tokens: Option<u64>,
    /// Fixed tensor-parallel degree; searched when absent.
    #[serde(default)]
    pub tp: Option<u32>,
    /// Fixed pipeline stages (layer-split GPUs for llama.cpp and transformers).
    #[serde(default)]
    pub pp: Option<u32>,
    /// Fixed data-parallel replicas (inference: independent copies serving in parallel).
    #[serde(default)]
    pub dp: Option<u32>,
    /// llama.cpp layers on the GPUs; all of them when absent.
    #[serde(default)]
    pub gpu_layers: Option<GpuLayers>,
    /// Keep every MoE expert tensor in host RAM (llama.cpp --cpu-moe).
    #[serde(default)]
    pub cpu_moe: bool,
    /// Host memory bandwidth for offloaded weights, GB/s (e.g. `llmrig probe`'s CPU STREAM
    /// triad); from the build's CPU and RAM when absent.
    #[serde(default)]
    pub host_bandwidth_gb_per_s: Option<f64>,
}

impl PlanRequest {
    /// Defaults for a workload: 16-bit weights (NF4 with double quant for QLoRA), ZeRO-3 for
    /// train and LoRA, full recompute for LoRA/QLoRA and selective for full training.
    pub fn new(workload: Workload, context_tokens: u64) -> PlanRequest {
        let (weights, recompute, zero_stage) = match workload {
            Workload::Infer => (WeightFormat::Bf16, Recompute::Selective, 0),
            Workload::Train => (WeightFormat::Bf16, Recompute::Selective, 3),
            Workload::Lora => (WeightFormat::Bf16, Recompute::Full, 3),
            Workload::Qlora => (WeightFormat::Nf4Dq, Recompute::Full, 0),
        };
        PlanRequest {
            workload,
            weights,
            kv: KvFormat::Bf16,
            context_tokens,
            batch: 1,
            recompute,
            zero_stage,
            offload_optimizer: false,
            lora_rank: 16,
            grad_bytes: 4.0,
            exact_weight_bytes: None,
            train_tokens: None,
            efficiencies: Efficiencies::default(),
            usd_per_kwh: None,
            utilization: 1.0,
            max_nodes: 64,
            engine: None,
            input_tokens: None,
            output_tokens: None,
            tp: None,
            pp: None,
            dp: None,
            gpu_layers: None,
            cpu_moe: false,
            host_bandwidth_gb_per_s: None,
        }
    }

    /// The engine the plan assumes: the user's, else the default for the format and workload.
    pub fn engine(&self) -> Engine {
        self.engine
            .unwrap_or_else(|| Engine::default_for(self.weights, self.workload))
    }

    /// Generated tokens per request.
    pub fn output_tokens(&self) -> u64 {
        self.output_tokens
            .unwrap_or((c::DEFAULT_OUTPUT_TOKENS as u64).min(self.context_tokens / 2))
            .max(1)
    }

    /// Prompt tokens per request.
    pub fn input_tokens(&self) -> u64 {
        self.input_tokens
            .unwrap_or_else(|| self.context_tokens.saturating_sub(self.output_tokens()))
            .max(1)
    }

    /// Whether some weights stay in host RAM (llama.cpp partial offload or --cpu-moe).
    pub fn offloads(&self) -> bool {
        self.cpu_moe || self.gpu_layers.is_some()
    }

    /// Whether the workload trains (needs gradients and activations for backward).
    pub fn is_training(&self) -> bool {
        self.workload != Workload::Infer
    }
}

/// Planning failures that are the user's to fix.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("'{field}' must be at least {min}")]
    TooSmall { field: &'static str, min: String },
    #[error("'{field}' must be between 0 and 1 (got {value})")]
    NotAFraction { field: &'static str, value: f64 },
    #[error("'{field}' must be a positive number (got {value})")]
    NotPositive { field: &'static str, value: f64 },
    #[error("ZeRO stage must be 0, 1, 2 or 3 (got {0})")]
    ZeroStage(u8),
    #[error("--train-tokens only applies to training workloads (train, lora, qlora)")]
    TrainTokensForInference,
    #[error("{0} serves models but does not train them: training plans assume the PyTorch stack (--engine transformers)")]
    EngineCannotTrain(&'static str),
    #[error(
        "{engine} splits layers across GPUs; --tp {tp} needs --engine vllm, sglang or tensorrt-llm"
    )]
    EngineSplitsLayers { engine: &'static str, tp: u32 },
    #[error("--gpu-layers and --cpu-moe keep weights on the CPU with llama.cpp, not {0} (add --engine llama.cpp)")]
    OffloadNeedsLlamaCpp(&'static str),
    #[error("--cpu-moe keeps MoE experts on the CPU, but {0} has no experts (use --gpu-layers)")]
    CpuMoeOnDense(String),
    #[error("--input-tokens {input} + --output-tokens {output} exceed the context of {context} tokens (raise --context)")]
    TokensExceedContext {
        input: u64,
        output: u64,
        context: u64,
    },
}

/// Checks a request against the model before planning.
pub fn check(model: &Model, req: &PlanRequest) -> Result<(), PlanError> {
    for (field, value) in [
        ("context", req.context_tokens),
        ("batch", req.batch),
        ("max-nodes", req.max_nodes as u64),
    ]
    .into_iter()
    .chain(
        [("tp", req.tp), ("pp", req.pp), ("dp", req.dp)]
            .into_iter()
            .filter_map(|(f, v)| v.map(|v| (f, v as u64))),
    )
    .chain(
        [
            ("input-tokens", req.input_tokens),
            ("output-tokens", req.output_tokens),
        ]
        .into_iter()
        .filter_map(|(f, v)| v.map(|v| (f, v))),
    ) {
        if value == 0 {
            return Err(PlanError::TooSmall {
                field,
                min: "1".into(),
            });
        }
    }
    if req.zero_stage > 3 {
        return Err(PlanError::ZeroStage(req.zero_stage));
    }
    let e = &req.efficiencies;
    for (field, value) in [
        ("decode-efficiency", e.decode_bandwidth),
        ("prefill-mfu", e.prefill_mfu),
        ("mfu", e.train_mfu),
        ("goodput", e.train_goodput),
        ("utilization", Some(req.utilization)),
    ] {
        let Some(value) = value else { continue };
        // An idle rig (utilization 0) is a valid question; zero efficiency is not.
        let lowest_ok = if field == "utilization" {
            0.0
        } else {
            f64::MIN_POSITIVE
        };
        if !(lowest_ok..=1.0).contains(&value) {
            return Err(PlanError::NotAFraction { field, value });
        }
    }
    if let Some(v) = req.host_bandwidth_gb_per_s {
        if !(v.is_finite() && v > 0.0) {
            return Err(PlanError::NotPositive {
                field: "host-bandwidth-gb-per-s",
                value: v,
            });
        }
    }
    if req.train_tokens.is_some() && !req.is_training() {
        return Err(PlanError::TrainTokensForInference);
    }
    let engine = req.engine();
    if req.is_training() && engine != Engine::Transformers {
        return Err(PlanError::EngineCannotTrain(engine.name()));
    }
    if let Some(tp) = req.tp.filter(|&t| t > 1 && !req.is_training()) {
        if engine.split() == Split::Layer {
            return Err(PlanError::EngineSplitsLayers {
                engine: engine.name(),
                tp,
            });
        }
    }
    if req.offloads() && !req.is_training() {
        if !engine.offloads_to_host() {
            return Err(PlanError::OffloadNeedsLlamaCpp(engine.name()));
        }
        if req.cpu_moe && !model.is_moe() {
            return Err(PlanError::CpuMoeOnDense(model.id.clone()));
        }
    }
    let (input, output) = (req.input_tokens(), req.output_tokens());
    if input.saturating_add(output) > req.context_tokens {
        return Err(PlanError::TokensExceedContext {
            input,
            output,
            context: req.context_tokens,
        });
    }
    Ok(())
}

/// Warnings about the request as a whole.
pub fn warnings(model: &Model, req: &PlanRequest) -> Vec<String> {
    let mut out = Vec::new();
    if req.context_tokens > model.max_position_embeddings {
        out.push(format!(
            "context of {} tokens exceeds {}'s maximum of {}: the plan sizes the KV cache for it, but the model needs RoPE scaling (e.g. YaRN) to use it, and quality beyond the trained length is not guaranteed",
            req.context_tokens, model.id, model.max_position_embeddings
        ));
    }
    out
}
