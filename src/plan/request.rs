//! What the user asks the planner.
use super::constants as c;
use super::engine::{Engine, Split};
use super::format::{KvFormat, WeightFormat};
use crate::catalog::Model;
use serde::{Deserialize, Serialize};

mod validate;
pub use validate::*;

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

/// Rent-or-buy horizon when `--months` is not given: three years, a common hardware refresh
/// and the term of the longest reserved cloud contracts.
pub const DEFAULT_HORIZON_MONTHS: f64 = 36.0;
fn default_horizon_months() -> f64 {
    DEFAULT_HORIZON_MONTHS
}
