//! What the user asks the planner.
use super::constants as c;
use super::format::{KvFormat, WeightFormat};
use super::PlanError;
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
    /// Fraction of time the rig runs at load (the rest idle), for running cost.
    pub utilization: f64,
    /// Most nodes a layout may span.
    pub max_nodes: u32,
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
            max_nodes: 64,
        }
    }

    /// Whether the workload trains (needs gradients and activations for backward).
    pub fn is_training(&self) -> bool {
        self.workload != Workload::Infer
    }
}

/// Most nodes a layout may span (far beyond the largest clusters built).
pub const MAX_NODES: u32 = 16_384;
/// Longest context accepted, whatever the model's own maximum (the largest model limit the
/// catalog accepts).
pub const MAX_CONTEXT: u64 = 1 << 32;
/// Most sequences planned at once.
pub const MAX_BATCH: u64 = 1 << 20;
/// Least efficiency or MFU accepted (checked in [`super::check`]): below 0.1 % the estimate
/// says nothing.
pub const MIN_EFFICIENCY: f64 = 0.001;
/// Electricity prices accepted, USD per kWh (the dearest retail tariffs are under $1).
pub const USD_PER_KWH_RANGE: (f64, f64) = (0.001, 10.0);
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

/// Bounds the planner needs beyond the basic checks in [`super::check`]: counts that would
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
