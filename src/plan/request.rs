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
    /// Store every activation (attention scores too with `--attention eager`).
    None,
    /// Recompute the attention core; store the rest (the same as `none` with FlashAttention,
    /// which never stores the scores).
    Selective,
    /// Store only each layer's input and recompute the layer in the backward pass.
    Full,
}

/// How attention is computed during training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Attention {
    /// FlashAttention or PyTorch SDPA (the default in current stacks): the s × s scores are
    /// never stored; the backward pass keeps only a log-sum-exp per head and token.
    #[default]
    Flash,
    /// Eager attention (`attn_implementation="eager"`): softmax scores, their dropout mask and
    /// output are stored per layer, s² per head.
    Eager,
}

/// Which model states DeepSpeed keeps in host RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OffloadTarget {
    /// Optimizer states, fp32 master weights and fp32 gradients (ZeRO-Offload,
    /// `offload_optimizer`).
    Optimizer,
    /// The 16-bit parameters as well (ZeRO-Infinity `offload_param`; ZeRO-3 only).
    Params,
}

/// Parts of the base model that LoRA trains in full besides the adapters (PEFT
/// `modules_to_save`: a trainable copy next to the frozen original).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoraTrainable {
    /// The token embedding.
    pub embed: bool,
    /// The output head (the embedding itself when the two are tied).
    pub head: bool,
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
    /// Attention kernel when training (flash stores no s² scores).
    #[serde(default)]
    pub attention: Attention,
    /// ZeRO stage 0-3 for training workloads.
    pub zero_stage: u8,
    /// Keep optimizer states, fp32 master weights and fp32 gradients in host RAM
    /// (ZeRO-Offload).
    pub offload_optimizer: bool,
    /// Also keep the 16-bit parameters in host RAM (ZeRO-3 parameter offload).
    #[serde(default)]
    pub offload_params: bool,
    /// LoRA rank for lora/qlora.
    pub lora_rank: u64,
    /// Embedding and head that LoRA trains in full.
    #[serde(default)]
    pub lora_trainable: LoraTrainable,
    /// Bytes per gradient: 4 (fp32, 18 bytes/param Adam) or 2 (bf16, 16 bytes/param).
    pub grad_bytes: f64,
    /// Exact weight bytes read from the model's files, replacing the format estimate.
    pub exact_weight_bytes: Option<f64>,
    /// Tokens to train on, for FLOPs and GPU-hours.
    pub train_tokens: Option<f64>,
    pub efficiencies: Efficiencies,
    /// Electricity price; the catalog default when absent.
    pub usd_per_kwh: Option<f64>,
    /// Grid carbon intensity, grams CO2e per kWh; the tariff's figure when absent.
    #[serde(default)]
    pub grid_gco2_per_kwh: Option<f64>,
    /// Electricity tariff id or region (e.g. `us-ca`); the catalog default when absent.
    #[serde(default)]
    pub electricity: Option<String>,
    /// Fraction of time the rig runs at load (the rest idle), for running cost; `--hours-per-day`
    /// sets it as hours ÷ 24, and rent-or-buy bills the cloud for the same hours.
    pub utilization: f64,
    /// Rent-or-buy horizon: months the rig is owned or rented.
    #[serde(default = "default_horizon_months")]
    pub horizon_months: f64,
    /// Resale value after the horizon, percent of the purchase price; straight-line over
    /// `GPU_USEFUL_LIFE_YEARS` when absent.
    #[serde(default)]
    pub resale_percent: Option<f64>,
    /// Most nodes a layout may span.
    pub max_nodes: u32,
    /// GPUs in each node (several desktops of 4, say); the catalog's largest platform for the
    /// GPU when absent.
    #[serde(default)]
    pub gpus_per_node: Option<u32>,
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
    /// Date (`YYYY-MM-DD`) that price ages are counted to; no ages when absent.
    #[serde(default)]
    pub prices_as_of: Option<String>,
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
            attention: Attention::Flash,
            zero_stage,
            offload_optimizer: false,
            offload_params: false,
            lora_rank: 16,
            lora_trainable: LoraTrainable::default(),
            grad_bytes: 4.0,
            exact_weight_bytes: None,
            train_tokens: None,
            efficiencies: Efficiencies::default(),
            usd_per_kwh: None,
            grid_gco2_per_kwh: None,
            electricity: None,
            utilization: 1.0,
            horizon_months: DEFAULT_HORIZON_MONTHS,
            resale_percent: None,
            max_nodes: 64,
            gpus_per_node: None,
            engine: None,
            input_tokens: None,
            output_tokens: None,
            tp: None,
            pp: None,
            dp: None,
            gpu_layers: None,
            cpu_moe: false,
            host_bandwidth_gb_per_s: None,
            prices_as_of: None,
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
    #[error("'{field}' must be between {min} and 1 (got {value:?})")]
    NotAFraction {
        field: &'static str,
        min: f64,
        value: f64,
    },
    #[error("'{field}' must be a positive number (got {value})")]
    NotPositive { field: &'static str, value: f64 },
    #[error("ZeRO stage must be 0, 1, 2 or 3 (got {0})")]
    ZeroStage(u8),
    #[error("--train-tokens only applies to training workloads (train, lora, qlora)")]
    TrainTokensForInference,
    #[error("--lora-trainable only applies to lora and qlora")]
    LoraTrainableWithoutLora,
    #[error("--offload params needs ZeRO-3 (DeepSpeed offloads parameters only at stage 3; got --zero {0})")]
    ParamOffloadNeedsZero3(u8),
    #[error("--grid-gco2-per-kwh must be between 0 and 2000 (got {0})")]
    GridIntensity(f64),
    #[error("'{field}' must be {expected} (got {value})")]
    OutOfRange {
        field: &'static str,
        value: String,
        expected: String,
    },
    #[error("{flags}: only used for {applies_to}; this workload would ignore it")]
    IgnoredFlags {
        flags: String,
        applies_to: &'static str,
    },
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
        ("gpus-per-node", req.gpus_per_node.unwrap_or(1) as u64),
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
        // An idle rig (utilization 0) is a valid question; an efficiency near zero is not.
        let min = if field == "utilization" {
            0.0
        } else {
            MIN_EFFICIENCY
        };
        if !(min..=1.0).contains(&value) {
            return Err(PlanError::NotAFraction { field, min, value });
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
    let lora_parts = req.lora_trainable.embed || req.lora_trainable.head;
    if lora_parts && !matches!(req.workload, Workload::Lora | Workload::Qlora) {
        return Err(PlanError::LoraTrainableWithoutLora);
    }
    if req.offload_params && req.zero_stage < 3 {
        return Err(PlanError::ParamOffloadNeedsZero3(req.zero_stage));
    }
    if let Some(g) = req.grid_gco2_per_kwh {
        if !(0.0..=2000.0).contains(&g) {
            return Err(PlanError::GridIntensity(g));
        }
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
    check_limits(model, req)
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

/// Most nodes a layout may span (far beyond the largest clusters built).
pub const MAX_NODES: u32 = 16_384;
/// Longest context accepted, whatever the model's own maximum (the largest model limit the
/// catalog accepts).
pub const MAX_CONTEXT: u64 = 1 << 32;
/// Most sequences planned at once.
pub const MAX_BATCH: u64 = 1 << 20;
/// Least efficiency or MFU accepted (checked in [`check`]): below 0.1 % the estimate
/// says nothing.
pub const MIN_EFFICIENCY: f64 = 0.001;
/// Electricity prices accepted, USD per kWh (the dearest retail tariffs are under $1).
pub const USD_PER_KWH_RANGE: (f64, f64) = (0.001, 10.0);
/// Rent-or-buy horizon when `--months` is not given: three years, a common hardware refresh
/// and the term of the longest reserved cloud contracts.
pub const DEFAULT_HORIZON_MONTHS: f64 = 36.0;
/// Longest horizon: 20 years, far past any GPU's useful life.
pub const MAX_HORIZON_MONTHS: f64 = 240.0;

fn default_horizon_months() -> f64 {
    DEFAULT_HORIZON_MONTHS
}
/// Most training tokens accepted (today's largest runs use a few times 10^13).
pub const MAX_TRAIN_TOKENS: f64 = 1e16;

/// `value` is printed with `{:?}`, so a float like 1e-320 stays short.
fn out_of_range(field: &'static str, value: impl std::fmt::Debug, expected: String) -> PlanError {
    PlanError::OutOfRange {
        field,
        value: format!("{value:?}"),
        expected,
    }
}

/// Bounds the planner needs beyond the basic checks in [`check`]: counts that would
/// overflow or take unbounded time, prices and efficiencies that would give negative, infinite
/// or meaningless money and speed, and flags the workload ignores.
pub(super) fn check_limits(model: &Model, req: &PlanRequest) -> Result<(), PlanError> {
    if req.max_nodes > MAX_NODES {
        return Err(out_of_range(
            "max-nodes",
            req.max_nodes,
            format!("at most {MAX_NODES}"),
        ));
    }
    if req.context_tokens > MAX_CONTEXT {
        return Err(out_of_range(
            "context",
            req.context_tokens,
            format!("at most {MAX_CONTEXT} tokens"),
        ));
    }
    if req.batch > MAX_BATCH {
        return Err(out_of_range(
            "batch",
            req.batch,
            format!("at most {MAX_BATCH}"),
        ));
    }
    if let Some(v) = req.usd_per_kwh {
        let (lo, hi) = USD_PER_KWH_RANGE;
        if !(lo..=hi).contains(&v) {
            return Err(out_of_range(
                "usd-per-kwh",
                v,
                format!("a price between {lo} and {hi} USD per kWh"),
            ));
        }
    }
    if !(1.0..=MAX_HORIZON_MONTHS).contains(&req.horizon_months) {
        return Err(out_of_range(
            "months",
            req.horizon_months,
            format!("between 1 and {MAX_HORIZON_MONTHS} months"),
        ));
    }
    if let Some(p) = req.resale_percent.filter(|p| !(0.0..=100.0).contains(p)) {
        return Err(out_of_range(
            "resale-percent",
            p,
            "a percent of the purchase price, 0 to 100".into(),
        ));
    }
    if let Some(t) = req.train_tokens {
        if !(1.0..=MAX_TRAIN_TOKENS).contains(&t) {
            return Err(out_of_range(
                "train-tokens",
                t,
                format!("between 1 and {MAX_TRAIN_TOKENS:e} tokens"),
            ));
        }
    }
    if matches!(req.workload, Workload::Lora | Workload::Qlora)
        && !(1..=model.hidden_size).contains(&req.lora_rank)
    {
        return Err(out_of_range(
            "lora-rank",
            req.lora_rank,
            format!("between 1 and the hidden size, {}", model.hidden_size),
        ));
    }
    // A flag the workload does not use is a mistake to say, not to ignore. Compared with the
    // workload's defaults, so a flag set to its default value passes.
    let d = PlanRequest::new(req.workload, req.context_tokens);
    let training = [
        ("--zero", req.zero_stage != d.zero_stage),
        (
            "--offload",
            req.offload_optimizer != d.offload_optimizer || req.offload_params != d.offload_params,
        ),
        ("--attention", req.attention != d.attention),
        ("--recompute", req.recompute != d.recompute),
        ("--grad-precision", req.grad_bytes != d.grad_bytes),
        (
            "--mfu",
            req.efficiencies.train_mfu != d.efficiencies.train_mfu,
        ),
        (
            "--goodput",
            req.efficiencies.train_goodput != d.efficiencies.train_goodput,
        ),
    ];
    let lora = [("--lora-rank", req.lora_rank != d.lora_rank)];
    let inference = [
        (
            "--decode-efficiency",
            req.efficiencies.decode_bandwidth != d.efficiencies.decode_bandwidth,
        ),
        (
            "--prefill-mfu",
            req.efficiencies.prefill_mfu != d.efficiencies.prefill_mfu,
        ),
        ("--gpu-layers", req.gpu_layers != d.gpu_layers),
        ("--cpu-moe", req.cpu_moe != d.cpu_moe),
        ("--input-tokens", req.input_tokens != d.input_tokens),
        ("--output-tokens", req.output_tokens != d.output_tokens),
        (
            "--host-bandwidth-gb-per-s",
            req.host_bandwidth_gb_per_s != d.host_bandwidth_gb_per_s,
        ),
    ];
    let (ignored, applies_to): (Vec<&str>, _) = match req.workload {
        Workload::Infer => (
            training
                .iter()
                .chain(&lora)
                .filter(|f| f.1)
                .map(|f| f.0)
                .collect(),
            "training (--workload train, lora or qlora)",
        ),
        Workload::Train => (
            lora.iter().filter(|f| f.1).map(|f| f.0).collect(),
            "LoRA fine-tuning (--workload lora or qlora)",
        ),
        Workload::Lora | Workload::Qlora => (Vec::new(), ""),
    };
    if !ignored.is_empty() {
        return Err(PlanError::IgnoredFlags {
            flags: ignored.join(", "),
            applies_to,
        });
    }
    let unused: Vec<&str> = inference.iter().filter(|f| f.1).map(|f| f.0).collect();
    if req.is_training() && !unused.is_empty() {
        return Err(PlanError::IgnoredFlags {
            flags: unused.join(", "),
            applies_to: "inference (--workload infer)",
        });
    }
    Ok(())
}
