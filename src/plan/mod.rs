//! The planner: memory, legal layouts, a priced parts list, power, running cost and speed.
//!
//! Pure functions over catalog data and a [`PlanRequest`]; no I/O. The CLI renders the
//! [`Plan`] it returns as a table, Markdown or JSON (the JSON is the stable contract that
//! `llmrig report` and other tools read; see `SCHEMA_VERSION`).

pub mod constants;
mod cost;
pub mod format;
pub mod layout;
pub mod memory;
pub mod parts;
pub mod rank;
mod request;
pub mod speed;

pub use cost::{CloudCost, Cost};
pub use format::{FormatInfo, KvFormat, WeightFormat};
pub use layout::Layout;
pub use memory::{MemoryBreakdown, ModelMemory};
pub use parts::{NodeBuild, PartLine};
pub use rank::SortKey;
pub use request::{Efficiencies, PlanRequest, Recompute, Workload};
pub use speed::{Speed, TrainingTime};

use crate::catalog::{Catalog, ComputeDtype, Gpu, Model};
use constants::Assumption;
use serde::Serialize;

/// Version of the plan JSON; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

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
    /// Price of the whole build, all nodes; present only when every line is priced.
    pub total_usd: Option<f64>,
    /// When some line has no price: the priced lines' sum, all nodes (the build costs more).
    pub lower_bound_usd: Option<f64>,
    /// Whether every line has a price (then `total_usd` is set).
    pub fully_priced: bool,
    /// Oldest and newest price date in the list.
    pub oldest_price_date: Option<String>,
    pub newest_price_date: Option<String>,
    /// Lines whose price is older than `STALE_PRICE_MONTHS` at the request's `prices_as_of`.
    pub stale_prices: Vec<String>,
}

impl Build {
    /// The complete price, or else the lower bound, with whether it is complete.
    pub fn price(&self) -> Option<(f64, bool)> {
        self.total_usd
            .map(|v| (v, true))
            .or(self.lower_bound_usd.map(|v| (v, false)))
    }
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
    /// Options in the order of `sort`.
    pub options: Vec<GpuOption>,
    /// What the options are sorted by, and that objective in words.
    pub sort: SortKey,
    pub objective: &'static str,
    /// Index into `options` of the recommendation: the cheapest fit whose every part is priced
    /// (see [`rank::recommendable`]); absent when no fit is fully priced.
    pub recommended: Option<usize>,
    /// The next cheapest fully priced fit.
    pub runner_up: Option<usize>,
    /// The fit with the highest decode tokens/s (training: fewest days), priced or not.
    pub fastest: Option<usize>,
    /// Electricity price used, USD per kWh, and where it comes from.
    pub usd_per_kwh: f64,
    pub electricity_source: String,
    pub assumptions: Vec<Assumption>,
    pub rules: Vec<&'static str>,
}

/// Layout and sizing rules every plan states.
pub const RULES: &[&str] = &[
    "tensor parallelism stays inside one node; its degree divides the attention heads, and KV heads are split or replicated",
    "inference pipelines only across nodes (one stage per node); training may pipeline inside a node and adds data parallelism",
    "ZeRO-2/3 shard over data parallelism and are not combined with pipeline parallelism (as in DeepSpeed)",
    "training activations follow Korthikanti et al. 2022 with sequence parallelism when TP > 1, in 16-bit",
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
    #[error("'{field}' must be between 0 and 1 (got {value})")]
    NotAFraction { field: &'static str, value: f64 },
    #[error("ZeRO stage must be 0, 1, 2 or 3 (got {0})")]
    ZeroStage(u8),
    #[error("--train-tokens only applies to training workloads (train, lora, qlora)")]
    TrainTokensForInference,
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
    if req.train_tokens.is_some() && !req.is_training() {
        return Err(PlanError::TrainTokensForInference);
    }
    Ok(())
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
    usd_per_kwh: f64,
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
            offload_host_bytes: mm.offload_host_bytes / layout.nodes as f64,
            nic_per_gpu: req.is_training(),
        },
    );
    let mut node = node;
    if let Some(as_of) = &req.prices_as_of {
        for l in &mut node.lines {
            l.price_age_months = l
                .unit_price
                .as_ref()
                .and_then(|p| rank::price_age_months(&p.date, as_of));
        }
    }
    let dates: Vec<&str> = node
        .lines
        .iter()
        .filter_map(|l| l.unit_price.as_ref().map(|p| p.date.as_str()))
        .collect();
    let nodes = f64::from(layout.nodes);
    let fully_priced = node.unpriced.is_empty() && node.priced_total_usd.is_some();
    let all_nodes = node.priced_total_usd.map(|v| v * nodes);
    let build = Build {
        nodes: layout.nodes,
        total_usd: all_nodes.filter(|_| fully_priced),
        lower_bound_usd: all_nodes.filter(|_| !fully_priced),
        fully_priced,
        oldest_price_date: dates.iter().min().map(|d| d.to_string()),
        newest_price_date: dates.iter().max().map(|d| d.to_string()),
        stale_prices: node
            .lines
            .iter()
            .filter(|l| l.price_age_months.is_some_and(rank::is_stale))
            .map(|l| l.name.clone())
            .collect(),
        node,
    };
    option.warnings.extend(build.node.warnings.iter().cloned());
    let speed = (!req.is_training()).then(|| speed::inference(model, req, gpu, &layout, &mm));
    option.training = speed::training(model, req, gpu, layout.gpus());
    option.cost = Some(cost::cost(
        cat,
        gpu,
        req,
        &build,
        layout.gpus(),
        speed.as_ref(),
        usd_per_kwh,
    ));
    option.speed = speed;
    option.build = Some(build);
    option
}

const GIB: f64 = (1u64 << 30) as f64;

fn electricity(cat: &Catalog, req: &PlanRequest) -> (f64, String) {
    match (req.usd_per_kwh, cat.default_electricity()) {
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
    }
}

fn finish(
    kind: &'static str,
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    options: Vec<GpuOption>,
) -> Plan {
    let mut options = options;
    let sort = if kind == "comparison" {
        SortKey::Given
    } else {
        SortKey::Price
    };
    rank::sort(&mut options, sort);
    let (usd_per_kwh, electricity_source) = electricity(cat, req);
    Plan {
        kind,
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        model: model_summary(model),
        request: req.clone(),
        weight_format: req.weights.info(),
        model_memory: memory::model_memory(model, req),
        recommended: None,
        runner_up: None,
        fastest: None,
        options,
        sort,
        objective: sort.objective(),
        usd_per_kwh,
        electricity_source,
        assumptions: constants::ALL.to_vec(),
        rules: RULES.to_vec(),
    }
    .ranked()
}

impl Plan {
    /// The plan with its options sorted by `key` (`compare` keeps the given order by default).
    pub fn sorted(mut self, key: SortKey) -> Plan {
        rank::sort(&mut self.options, key);
        self.sort = key;
        self.objective = key.objective();
        self.ranked()
    }

    /// Sets the recommendation, runner-up and fastest fit for the current order.
    fn ranked(mut self) -> Plan {
        (self.recommended, self.runner_up) = rank::recommend(&self.options);
        self.fastest = rank::fastest(&self.options);
        self
    }

    /// The recommended option.
    pub fn recommendation(&self) -> Option<&GpuOption> {
        self.recommended.and_then(|i| self.options.get(i))
    }
}

/// Plans `req` on each GPU type: the smallest legal layout that fits, with its parts, cost
/// and speed, or why it does not fit.
pub fn plan(cat: &Catalog, model: &Model, req: &PlanRequest, gpus: &[&Gpu]) -> Plan {
    let (usd_per_kwh, _) = electricity(cat, req);
    let options = gpus
        .iter()
        .map(|gpu| {
            let node = node_size(cat, gpu);
            match layout::smallest_fit(model, req, node, gpu.memory_bytes()) {
                Ok((l, mem)) => evaluate(cat, model, req, gpu, l, mem, usd_per_kwh),
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
    let (usd_per_kwh, _) = electricity(cat, req);
    let evaluated = options
        .iter()
        .map(|&(n, gpu)| {
            let node = node_size(cat, gpu);
            match layout::best_with(model, req, n, node, gpu.memory_bytes()) {
                Some((l, mem)) => evaluate(cat, model, req, gpu, l, mem, usd_per_kwh),
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
mod tests;
