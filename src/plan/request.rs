//! What the user asks the planner.
use super::constants as c;
use super::format::{KvFormat, WeightFormat};
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

/// Efficiency factors the user may override.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Efficiencies {
    /// Fraction of memory-bandwidth roofline that decode reaches.
    pub decode_bandwidth: f64,
    /// Fraction of dense tensor peak that prefill reaches.
    pub prefill_mfu: f64,
    /// Fraction of dense tensor peak that training reaches.
    pub train_mfu: f64,
}

impl Default for Efficiencies {
    fn default() -> Self {
        Efficiencies {
            decode_bandwidth: c::DECODE_BANDWIDTH_EFFICIENCY,
            prefill_mfu: c::PREFILL_MFU,
            train_mfu: c::TRAIN_MFU,
        }
    }
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
            prices_as_of: None,
        }
    }

    /// Whether the workload trains (needs gradients and activations for backward).
    pub fn is_training(&self) -> bool {
        self.workload != Workload::Infer
    }
}
