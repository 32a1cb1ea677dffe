//! The planner: memory, legal layouts, a priced parts list, power, running cost and speed.
//!
//! Pure functions over catalog data and a [`PlanRequest`]; no I/O. The CLI renders the
//! [`Plan`] it returns as a table, Markdown or JSON (the JSON is the stable contract that
//! `llmrig report` and other tools read; see `SCHEMA_VERSION`).

pub mod calibrate;
pub mod constants;
mod cost;
pub mod format;
pub mod layout;
pub mod memory;
pub mod parts;
mod request;
pub mod speed;
mod training;

pub use cost::{CloudCost, Cost, Emissions};
pub use format::{FormatInfo, KvFormat, WeightFormat};
pub use layout::Layout;
pub use memory::{MemoryBreakdown, ModelMemory};
pub use parts::{NodeBuild, PartLine};
pub use request::{
    Attention, Efficiencies, LoraTrainable, OffloadTarget, PlanRequest, Recompute, Workload,
};
pub use speed::{Speed, TrainingTime};

use crate::catalog::{Catalog, ComputeDtype, Electricity, Gpu, Model};
use constants::Assumption;
use serde::Serialize;

/// Version of the plan JSON; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The model a plan is for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSummary {
    pub id: String,
    pub name: String,
    pub params: u64,
    pub active_params: u64,
    pub max_context_tokens: u64,
}

/// The parts for every node of a layout, priced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Build {
    pub nodes: u32,
    /// One node's parts (every node is the same).
    pub node: NodeBuild,
    /// Priced total for all nodes.
    pub total_usd: f64,
    /// Whether every line has a price; otherwise `total_usd` is a lower bound.
    pub fully_priced: bool,
    /// Oldest and newest price date in the list.
    pub oldest_price_date: Option<String>,
    pub newest_price_date: Option<String>,
}

/// One GPU type (or one explicit `N × GPU` option) evaluated for the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuOption {
    pub gpu_id: String,
    pub gpu_name: String,
    /// GPUs in the layout (requested count for `compare`).
    pub gpus: u32,
    pub fits: bool,
    /// Why it does not fit.
    pub reason: Option<String>,
    pub layout: Option<Layout>,
    pub memory_per_gpu: Option<MemoryBreakdown>,
    /// Longest context that still fits this layout at the requested batch.
    pub max_context_tokens: Option<u64>,
    /// Largest batch that still fits at the requested context.
    pub max_batch: Option<u64>,
    pub build: Option<Build>,
    pub cost: Option<Cost>,
    /// Grid CO2 of running it and of its training run; absent when the intensity is unknown.
    pub emissions: Option<Emissions>,
    pub speed: Option<Speed>,
    pub training: Option<TrainingTime>,
    pub warnings: Vec<String>,
}

impl GpuOption {
    /// An option that does not fit, with the layout that came closest, if any.
    fn unfit(
        gpu: &Gpu,
        req: &PlanRequest,
        gpus: u32,
        closest: Option<(Layout, MemoryBreakdown)>,
        reason: String,
    ) -> GpuOption {
        GpuOption {
            gpu_id: gpu.id.clone(),
            gpu_name: gpu.name.clone(),
            gpus,
            fits: false,
            reason: Some(reason),
            layout: closest.map(|(l, _)| l),
            memory_per_gpu: closest.map(|(_, m)| m),
            max_context_tokens: None,
            max_batch: None,
            build: None,
            cost: None,
            emissions: None,
            speed: None,
            training: None,
            warnings: precision_warnings(gpu, req),
        }
    }
}

/// A plan (`plan`) or a side-by-side comparison (`compare`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// `plan` or `comparison`.
    pub kind: &'static str,
    pub schema_version: u32,
    pub tool_version: &'static str,
    pub model: ModelSummary,
    pub request: PlanRequest,
    pub weight_format: FormatInfo,
    pub model_memory: ModelMemory,
    pub options: Vec<GpuOption>,
    /// Index into `options` of the cheapest fitting one whose GPU cost is known and whose parts
    /// hold the GPUs as listed (options with unpriced GPUs or needing workarounds come later).
    pub recommended: Option<usize>,
    /// Electricity price used, USD per kWh, and where it comes from.
    pub usd_per_kwh: f64,
    pub electricity_source: String,
    /// Grid carbon intensity used, grams CO2 per kWh, and where it comes from.
    pub grid_gco2_per_kwh: Option<f64>,
    pub grid_source: String,
    pub assumptions: Vec<Assumption>,
    pub rules: Vec<&'static str>,
}

/// Layout and sizing rules every plan states.
pub const RULES: &[&str] = &[
    "tensor parallelism stays inside one node; its degree divides the attention heads, and KV heads are split or replicated",
    "inference pipelines only across nodes (one stage per node); training may pipeline inside a node and adds data parallelism",
    "ZeRO-2/3 shard over data parallelism and are not combined with pipeline parallelism (as in DeepSpeed)",
    "training activations follow Korthikanti et al. 2022 with sequence parallelism when TP > 1, in 16-bit",
    "training assumes FlashAttention/SDPA (no s² attention scores stored) unless --attention eager, and a Hugging Face cross-entropy loss holding LOSS_BYTES_PER_LOGIT per token × vocabulary entry",
    "offloading follows DeepSpeed: optimizer offload moves Adam states, fp32 master weights and gradients to host RAM; parameter offload (ZeRO-3) moves the 16-bit weights too",
    "RAM holds at least the node's weights for loading; NVMe holds two copies of the weights",
    "PSU capacity covers the DC load with headroom for transients; circuits are sized for continuous load",
];

/// Planning failures that are the user's to fix.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("context of {requested} tokens exceeds {model}'s maximum of {max}")]
    ContextTooLong {
        model: String,
        requested: u64,
        max: u64,
    },
    #[error("'{field}' must be at least {min}")]
    TooSmall { field: &'static str, min: String },
    #[error("'{field}' must be between {min} and 1 (got {value:?})")]
    NotAFraction {
        field: &'static str,
        min: f64,
        value: f64,
    },
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
}

/// Checks a request against the model before planning.
pub fn check(model: &Model, req: &PlanRequest) -> Result<(), PlanError> {
    if req.context_tokens > model.max_position_embeddings {
        return Err(PlanError::ContextTooLong {
            model: model.id.clone(),
            requested: req.context_tokens,
            max: model.max_position_embeddings,
        });
    }
    if req.context_tokens == 0 {
        return Err(PlanError::TooSmall {
            field: "context",
            min: "1".into(),
        });
    }
    if req.batch == 0 {
        return Err(PlanError::TooSmall {
            field: "batch",
            min: "1".into(),
        });
    }
    if req.max_nodes == 0 {
        return Err(PlanError::TooSmall {
            field: "max-nodes",
            min: "1".into(),
        });
    }
    if req.zero_stage > 3 {
        return Err(PlanError::ZeroStage(req.zero_stage));
    }
    for (field, value) in [
        ("decode-efficiency", req.efficiencies.decode_bandwidth),
        ("prefill-mfu", req.efficiencies.prefill_mfu),
        ("mfu", req.efficiencies.train_mfu),
        ("utilization", req.utilization),
    ] {
        // An idle rig (utilization 0) is a valid question; an efficiency near zero is not.
        let min = if field == "utilization" {
            0.0
        } else {
            request::MIN_EFFICIENCY
        };
        if !(min..=1.0).contains(&value) {
            return Err(PlanError::NotAFraction { field, min, value });
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
    request::check_limits(model, req)
}

/// GPUs one node of this GPU type holds: the largest platform in the catalog for it, else its
/// fabric's size, else 8 (an HGX board or a 4U PCIe server).
pub fn node_size(cat: &Catalog, gpu: &Gpu) -> u32 {
    let from_platforms = cat
        .platforms
        .iter()
        .filter(|p| match gpu.form_factor {
            crate::catalog::FormFactor::Pcie => {
                p.kind != crate::catalog::PlatformKind::BaseboardServer
            }
            _ => p.gpus.contains(&gpu.id),
        })
        .map(|p| p.max_gpus)
        .max();
    from_platforms
        .or(gpu.fabric_max_gpus.filter(|&n| n > 2))
        .unwrap_or(8)
}

/// Warnings about running this request's precision on this GPU.
fn precision_warnings(gpu: &Gpu, req: &PlanRequest) -> Vec<String> {
    let wanted = req.weights.compute_dtype();
    let (got, _) = speed::peak(gpu, wanted);
    let mut out = Vec::new();
    if got != wanted {
        let why = match wanted {
            ComputeDtype::Bf16 => format!("{} has no bf16 tensor cores: runs in {} (bf16-trained weights may overflow in fp16)", gpu.name, got.name()),
            ComputeDtype::Fp8 | ComputeDtype::Int8 => format!("{} has no native {}: weights are dequantized to {} for every product", gpu.name, wanted.name(), got.name()),
            _ => format!("{} has no {}: estimates use {}", gpu.name, wanted.name(), got.name()),
        };
        out.push(why);
    }
    if gpu.vendor != crate::catalog::Vendor::Nvidia && req.weights.is_weight_only_quant() {
        out.push(format!(
            "{} is not an NVIDIA GPU: check that your runtime supports {} there",
            gpu.name,
            req.weights.name()
        ));
    }
    out
}

fn model_summary(model: &Model) -> ModelSummary {
    let p = model.param_counts();
    ModelSummary {
        id: model.id.clone(),
        name: model.name.clone(),
        params: p.total,
        active_params: p.active,
        max_context_tokens: model.max_position_embeddings,
    }
}

/// Largest value in `lo..=hi` for which `ok` holds (monotone), if any.
fn largest(lo: u64, hi: u64, ok: impl Fn(u64) -> bool) -> Option<u64> {
    if !ok(lo) {
        return None;
    }
    let (mut good, mut bad) = (lo, hi + 1);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if ok(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Some(good)
}

/// Everything about one GPU type at one layout.
fn evaluate(
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    gpu: &Gpu,
    layout: Layout,
    mem: MemoryBreakdown,
    tariff: &Tariff,
) -> GpuOption {
    let mm = memory::model_memory(model, req);
    let fits = mem.fits();
    let memory_bytes = gpu.memory_bytes();
    let fits_with = |r: &PlanRequest| memory::per_gpu(model, r, &layout, memory_bytes).fits();
    let max_context_tokens = largest(1, model.max_position_embeddings, |ctx| {
        fits_with(&PlanRequest {
            context_tokens: ctx,
            ..req.clone()
        })
    });
    let max_batch = largest(1, 1 << 16, |b| {
        fits_with(&PlanRequest {
            batch: b,
            ..req.clone()
        })
    });
    if !fits {
        let reason = format!(
            "needs {:.1} GiB per GPU on {} but {:.1} GiB is usable ({:.0} % of {} GiB)",
            mem.total_bytes / GIB,
            layout.describe(),
            mem.usable_bytes / GIB,
            constants::USABLE_VRAM_FRACTION * 100.0,
            gpu.memory_gib
        );
        // The longest context that would fit this layout tells the user what to trim.
        return GpuOption {
            max_context_tokens,
            max_batch,
            ..GpuOption::unfit(gpu, req, layout.gpus(), Some((layout, mem)), reason)
        };
    }
    let mut option = GpuOption {
        fits: true,
        reason: None,
        max_context_tokens,
        max_batch,
        ..GpuOption::unfit(gpu, req, layout.gpus(), Some((layout, mem)), String::new())
    };
    let node = parts::node(
        cat,
        &parts::NodeInputs {
            gpu,
            gpus_per_node: layout.gpus_per_node,
            nodes: layout.nodes,
            // A node loads the shards its GPUs serve, before any ZeRO sharding.
            node_weight_bytes: (mm.weights_bytes / (layout.tp * layout.pp) as f64
                * layout.gpus_per_node as f64)
                .min(mm.weights_bytes),
            model_weight_bytes: mm.weights_bytes,
            offload_host_bytes: mem.offload_host_bytes_per_node,
            nic_per_gpu: req.is_training(),
        },
    );
    let dates: Vec<&str> = node
        .lines
        .iter()
        .filter_map(|l| l.unit_price.as_ref().map(|p| p.date.as_str()))
        .collect();
    let build = Build {
        nodes: layout.nodes,
        total_usd: node.priced_total_usd * layout.nodes as f64,
        fully_priced: node.unpriced.is_empty(),
        oldest_price_date: dates.iter().min().map(|d| d.to_string()),
        newest_price_date: dates.iter().max().map(|d| d.to_string()),
        node,
    };
    option.warnings.extend(build.node.warnings.iter().cloned());
    let speed = (!req.is_training()).then(|| speed::inference(model, req, gpu, &layout, &mm));
    option.training = speed::training(model, req, gpu, layout.gpus());
    let cost = cost::cost(
        cat,
        gpu,
        req,
        &build,
        layout.gpus(),
        speed.as_ref(),
        tariff.usd_per_kwh,
    );
    option.emissions = tariff
        .grid_gco2_per_kwh
        .map(|g| cost::emissions(&cost, req, option.training.as_ref(), g));
    option.cost = Some(cost);
    option.speed = speed;
    option.build = Some(build);
    option
}

const GIB: f64 = (1u64 << 30) as f64;

/// The electricity tariff `name` picks: an id, or a region (e.g. `us-ca`) whose default or
/// newest tariff is used; without a name, the catalog default.
pub fn tariff<'a>(cat: &'a Catalog, name: Option<&str>) -> Option<&'a Electricity> {
    let Some(name) = name else {
        return cat.default_electricity();
    };
    cat.electricity.get(name).or_else(|| {
        cat.electricity
            .iter()
            .filter(|e| e.region.eq_ignore_ascii_case(name))
            .max_by(|a, b| a.default.cmp(&b.default).then(a.date.cmp(&b.date)))
    })
}

/// Electricity price and grid carbon intensity for a request, with their sources.
struct Tariff {
    usd_per_kwh: f64,
    source: String,
    grid_gco2_per_kwh: Option<f64>,
    grid_source: String,
}

fn electricity(cat: &Catalog, req: &PlanRequest) -> Tariff {
    let chosen = tariff(cat, req.electricity.as_deref());
    let (usd_per_kwh, source) = match (req.usd_per_kwh, chosen) {
        (Some(v), _) => (v, "--usd-per-kwh".into()),
        (None, Some(e)) => (
            e.usd_per_kwh,
            format!("{} ({}, {})", e.name, e.date, e.source),
        ),
        // A stated fallback keeps plans usable with an overlay that lacks tariffs.
        (None, None) => (
            0.1688,
            "US residential average, April 2024 (EIA; no tariff in the catalog)".into(),
        ),
    };
    let from_tariff = chosen.and_then(|e| e.gco2_per_kwh.map(|g| (g, e)));
    let (grid_gco2_per_kwh, grid_source) = match (req.grid_gco2_per_kwh, from_tariff) {
        (Some(g), _) => (Some(g), "--grid-gco2-per-kwh".into()),
        (None, Some((g, e))) => (
            Some(g),
            format!(
                "{} ({})",
                e.region,
                e.sources.get("gco2_per_kwh").unwrap_or(&e.source)
            ),
        ),
        (None, None) => (
            None,
            format!(
                "unknown for {}: pass --grid-gco2-per-kwh",
                chosen.map_or("the catalog's tariffs", |e| e.name.as_str())
            ),
        ),
    };
    Tariff {
        usd_per_kwh,
        source,
        grid_gco2_per_kwh,
        grid_source,
    }
}

fn finish(
    kind: &'static str,
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    options: Vec<GpuOption>,
) -> Plan {
    let recommended = options
        .iter()
        .enumerate()
        .filter(|(_, o)| o.fits)
        .min_by(|(_, a), (_, b)| {
            // Builds whose GPU cost is unknown cannot be called cheap: they rank last.
            // So do builds that need risers, an open frame or other cards than listed.
            let key = |o: &GpuOption| match &o.build {
                Some(b) if b.node.gpu_cost_known && b.node.builds_as_listed => (0, b.total_usd),
                Some(b) if b.node.gpu_cost_known => (1, b.total_usd),
                Some(b) => (2, b.total_usd),
                None => (3, f64::INFINITY),
            };
            let (ka, kb) = (key(a), key(b));
            ka.0.cmp(&kb.0)
                .then(ka.1.total_cmp(&kb.1))
                .then(a.gpus.cmp(&b.gpus))
        })
        .map(|(i, _)| i);
    let tariff = electricity(cat, req);
    Plan {
        kind,
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        model: model_summary(model),
        request: req.clone(),
        weight_format: req.weights.info(),
        model_memory: memory::model_memory(model, req),
        options,
        recommended,
        usd_per_kwh: tariff.usd_per_kwh,
        electricity_source: tariff.source,
        grid_gco2_per_kwh: tariff.grid_gco2_per_kwh,
        grid_source: tariff.grid_source,
        assumptions: constants::ALL.to_vec(),
        rules: RULES.to_vec(),
    }
}

/// Plans `req` on each GPU type: the smallest legal layout that fits, with its parts, cost
/// and speed, or why it does not fit.
pub fn plan(cat: &Catalog, model: &Model, req: &PlanRequest, gpus: &[&Gpu]) -> Plan {
    let tariff = electricity(cat, req);
    let options = gpus
        .iter()
        .map(|gpu| {
            let node = node_size(cat, gpu);
            match layout::smallest_fit(model, req, node, gpu.memory_bytes()) {
                Ok((l, mem)) => evaluate(cat, model, req, gpu, l, mem, &tariff),
                Err(closest) => {
                    let reason = match closest {
                        Some((l, m)) => format!(
                            "does not fit in up to {} nodes of {node}: the largest layout, {}, needs {:.1} GiB per GPU of {:.1} usable",
                            req.max_nodes,
                            l.describe(),
                            m.total_bytes / GIB,
                            m.usable_bytes / GIB
                        ),
                        None => format!("no legal layout: {} attention heads admit no tensor-parallel degree up to {node}", model.num_attention_heads),
                    };
                    let n = closest.map(|(l, _)| l.gpus()).unwrap_or(0);
                    GpuOption::unfit(gpu, req, n, closest, reason)
                }
            }
        })
        .collect();
    finish("plan", cat, model, req, options)
}

/// Evaluates explicit `N × GPU` options side by side.
pub fn compare(cat: &Catalog, model: &Model, req: &PlanRequest, options: &[(u32, &Gpu)]) -> Plan {
    let tariff = electricity(cat, req);
    let evaluated = options
        .iter()
        .map(|&(n, gpu)| {
            let node = node_size(cat, gpu);
            match layout::best_with(model, req, n, node, gpu.memory_bytes()) {
                Some((l, mem)) => evaluate(cat, model, req, gpu, l, mem, &tariff),
                None => GpuOption::unfit(gpu, req, n, None, illegal_reason(model, req, n, node)),
            }
        })
        .collect();
    finish("comparison", cat, model, req, evaluated)
}

fn illegal_reason(model: &Model, req: &PlanRequest, n: u32, node: u32) -> String {
    if n > node && !n.is_multiple_of(node) {
        return format!("{n} GPUs is not a whole number of {node}-GPU nodes");
    }
    if n.div_ceil(node) > req.max_nodes {
        return format!("{n} GPUs needs more than --max-nodes {}", req.max_nodes);
    }
    let legal = layout::legal_tp(model, node);
    format!(
        "{n} GPUs is not a legal layout for {}: tensor-parallel degrees must divide {} attention heads ({} KV heads); legal inside a node: {}",
        model.id,
        model.num_attention_heads,
        model.num_key_value_heads,
        legal.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
    )
}

#[cfg(test)]
mod price_sweep;
#[cfg(test)]
mod tests;
