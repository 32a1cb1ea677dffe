//! What a request may ask: typed errors for what the user must fix, the range of every number,
//! and warnings about a request that plans but may surprise.
use super::*;

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
/// Longest horizon: 20 years, far past any GPU's useful life.
pub const MAX_HORIZON_MONTHS: f64 = 240.0;

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
