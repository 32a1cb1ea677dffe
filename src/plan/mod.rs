//! The planner: memory, legal layouts, a priced parts list, power, running cost and speed.
//!
//! Pure functions over catalog data and a [`PlanRequest`]; no I/O. The CLI renders the
//! [`Plan`] it returns as a table, Markdown or JSON (the JSON is the stable contract that
//! `llmrig report` and other tools read; see `SCHEMA_VERSION`).

pub mod calibrate;
pub mod check;
pub mod comm;
pub mod constants;
mod cost;
pub mod engine;
pub mod fit;
pub mod format;
pub mod layout;
pub mod memory;
pub mod offload;
pub mod parts;
pub mod rank;
mod request;
pub mod shape;
pub mod speed;
pub mod sweep;
pub mod target;
mod tariff;
mod training;
pub mod weights;

pub use cost::{BuyCost, CloudCost, Cost, Emissions, RentOrBuy, RentTier, TIERS};
pub use engine::Engine;
pub use format::{FormatInfo, KvFormat, WeightFormat};
pub use layout::Layout;
pub use memory::{MemoryBreakdown, ModelMemory};
pub use offload::Offload;
pub use parts::{NodeBuild, PartLine};
pub use rank::SortKey;
pub use request::{
    check, Attention, Efficiencies, GpuLayers, LoraTrainable, OffloadTarget, PlanError,
    PlanRequest, Recompute, Workload, DEFAULT_HORIZON_MONTHS,
};
pub use shape::{compare, compare_shapes, Shape};
pub use speed::{Speed, TrainingTime};
pub use tariff::tariff;
use tariff::{electricity, Tariff};

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
    /// Grid CO2 of running it and of its training run; absent when the intensity is unknown.
    pub emissions: Option<Emissions>,
    pub speed: Option<Speed>,
    pub training: Option<TrainingTime>,
    /// What stays in host RAM when llama.cpp offloads layers or experts.
    pub offload: Option<Offload>,
    pub warnings: Vec<String>,
}

/// `8×a100-sxm4-80gb`, or `3×4×v100-pcie-32gb` for 3 nodes of 4.
pub fn rig_name(gpus: u32, nodes: u32, gpu_id: &str) -> String {
    if nodes > 1 {
        format!("{nodes}×{}×{gpu_id}", gpus / nodes)
    } else {
        format!("{gpus}×{gpu_id}")
    }
}

impl GpuOption {
    /// The rig in short: `8×a100-sxm4-80gb`, `3×4×v100-pcie-32gb` (3 nodes of 4).
    pub fn rig(&self) -> String {
        rig_name(self.gpus, self.layout.map_or(1, |l| l.nodes), &self.gpu_id)
    }

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
            offload: None,
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
    /// The engine the plan assumes (the request's, or the default for its format).
    pub engine: Engine,
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
    /// Grid carbon intensity used, grams CO2 per kWh, and where it comes from.
    pub grid_gco2_per_kwh: Option<f64>,
    pub grid_source: String,
    pub assumptions: Vec<Assumption>,
    pub rules: Vec<&'static str>,
    /// Warnings about the request as a whole (e.g. a context beyond the model's maximum).
    pub warnings: Vec<String>,
    /// Format, context or batch sweeps of fixed rigs (`--sweep`, and `compare` of a rig that
    /// cannot hold the request), with the changes that make it fit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sweeps: Vec<sweep::Sweep>,
    /// The smallest and cheapest builds meeting `--target-tokens-per-s` or `--target-days`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<target::TargetOutcome>,
}

/// Layout and sizing rules every plan states.
pub const RULES: &[&str] = &[
    "tensor parallelism stays inside one node; its degree divides the attention heads, and KV heads are split or replicated",
    "vLLM, SGLang and TensorRT-LLM pipeline only across nodes unless --pp asks; llama.cpp and transformers split layers over any number of GPUs of one node, which one token passes in turn",
    "training may pipeline inside a node and adds data parallelism; inference --dp runs independent replicas",
    "ZeRO-2/3 shard over data parallelism and are not combined with pipeline parallelism (as in DeepSpeed)",
    "training activations follow Korthikanti et al. 2022 with sequence parallelism when TP > 1, in 16-bit",
    "training assumes FlashAttention/SDPA (no s² attention scores stored) unless --attention eager, and a Hugging Face cross-entropy loss holding LOSS_BYTES_PER_LOGIT per token × vocabulary entry",
    "offloading follows DeepSpeed: optimizer offload moves Adam states, fp32 master weights and gradients to host RAM; parameter offload (ZeRO-3) moves the 16-bit weights too",
    "RAM holds at least the node's weights for loading; NVMe holds two copies of the weights",
    "PSU capacity covers the DC load with headroom for transients; circuits are sized for continuous load",
];

/// GPUs one node of this GPU type holds: the largest platform in the catalog for it, else its
/// fabric's size, else 8 (an HGX board or a 4U PCIe server). A unified-memory chip is one per
/// machine unless a platform lists more.
pub fn node_size(cat: &Catalog, gpu: &Gpu) -> u32 {
    if gpu.unified_memory {
        return cat
            .platforms
            .iter()
            .filter(|p| p.gpus.contains(&gpu.id))
            .map(|p| p.max_gpus)
            .max()
            .unwrap_or(1)
            .max(1);
    }
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
    let fits_with = |r: &PlanRequest| offload::per_gpu(model, r, &layout, memory_bytes).fits();
    let context_limit = model.max_position_embeddings.max(req.context_tokens);
    let max_context_tokens = largest(1, context_limit, |ctx| {
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
            "needs {:.1} GiB per GPU on {} but {:.1} GiB is usable of {} GiB with {}",
            mem.total_bytes / GIB,
            layout.describe(),
            mem.usable_bytes / GIB,
            gpu.memory_gib,
            req.engine().name()
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
    let placement = offload::placement(model, req, &layout, memory_bytes);
    let mut offloaded =
        offload::report(model, req, &placement, mm.weights_bytes, mm.kv_cache_bytes);
    let node = parts::node(
        cat,
        &parts::NodeInputs {
            gpu,
            gpus_per_node: layout.gpus_per_node,
            nodes: layout.nodes,
            // A node loads the shards its GPUs serve, before any ZeRO sharding.
            node_weight_bytes: (mm.weights_bytes / layout.replica_gpus() as f64
                * layout.gpus_per_node as f64)
                .min(mm.weights_bytes),
            model_weight_bytes: mm.weights_bytes,
            // Offloaded weights are the mapped file the node already loads; their KV cache is extra.
            offload_host_bytes: mem.offload_host_bytes_per_node
                + offloaded.as_ref().map_or(0.0, |o| o.host_kv_cache_bytes) / layout.nodes as f64,
            nic_per_gpu: req.is_training(),
            ethernet: layout.layer_split && !req.is_training(),
        },
    );
    let build = parts::priced_build(node, layout.nodes, req.prices_as_of.as_deref());
    option.warnings.extend(build.node.warnings.iter().cloned());
    let host = offloaded
        .as_ref()
        .and_then(|_| offload::host_memory(cat, req, gpu, Some(&build.node)));
    if let Some(o) = offloaded.as_mut() {
        o.host_memory = host.clone();
        if host.is_none() {
            option.warnings.push(format!(
                "{} keeps weights in host RAM, but the host memory bandwidth is unknown: pass --host-bandwidth-gb-per-s (llmrig probe's CPU STREAM triad) for a decode speed",
                o.flags
            ));
        }
    }
    option
        .warnings
        .extend(comm::link_warnings(req, gpu, &layout));
    // Nodes talk over the link their parts list names (an adapter or a machine-to-machine
    // cable), else the catalog's fastest InfiniBand.
    let listed = build
        .node
        .lines
        .iter()
        .filter(|l| l.kind == "network")
        .find_map(|l| cat.network.get(l.id.as_deref()?))
        .map(|n| n.gbit_per_s);
    let env = speed::Env {
        network: listed
            .or_else(|| comm::fastest_network(cat))
            .map(comm::network),
        placement,
        host,
    };
    let speed = if req.is_training() {
        None
    } else {
        speed::inference(model, req, gpu, &layout, &mm, &env)
    };
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
    option.offload = offloaded;
    option.build = Some(build);
    option
}

const GIB: f64 = (1u64 << 30) as f64;

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
    let tariff = electricity(cat, req);
    Plan {
        kind,
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        model: model_summary(model),
        request: req.clone(),
        engine: req.engine(),
        weight_format: FormatInfo::for_plan(model, req.weights, req.exact_weight_bytes),
        model_memory: memory::model_memory(model, req),
        recommended: None,
        runner_up: None,
        fastest: None,
        sort,
        objective: sort.objective(),
        usd_per_kwh: tariff.usd_per_kwh,
        electricity_source: tariff.source,
        grid_gco2_per_kwh: tariff.grid_gco2_per_kwh,
        grid_source: tariff.grid_source,
        assumptions: assumptions(req, &options),
        options,
        rules: RULES.to_vec(),
        warnings: request::warnings(model, req),
        sweeps: Vec::new(),
        target: None,
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

/// The constants a plan used: the general ones, its engine's, the interconnect model for
/// inference, the offload figures when something is offloaded, training time for training.
fn assumptions(req: &PlanRequest, options: &[GpuOption]) -> Vec<Assumption> {
    let mut out: Vec<Assumption> = constants::ALL.to_vec();
    if req.is_training() {
        out.extend(speed::ALL.iter().cloned());
    } else {
        out.extend(req.engine().assumptions().cloned());
        out.extend(comm::ALL.iter().cloned());
        if options.iter().any(|o| o.offload.is_some()) {
            out.extend(offload::ALL.iter().cloned());
        }
    }
    out
}

/// Plans `req` on each GPU type: the smallest legal layout that fits, with its parts, cost
/// and speed, or why it does not fit.
pub fn plan(cat: &Catalog, model: &Model, req: &PlanRequest, gpus: &[&Gpu]) -> Plan {
    let tariff = electricity(cat, req);
    let options = gpus
        .iter()
        .map(|gpu| {
            let node = req.gpus_per_node.unwrap_or_else(|| node_size(cat, gpu));
            match layout::smallest_fit(model, req, node, gpu.memory_bytes()) {
                Ok((l, mem)) => evaluate(cat, model, req, gpu, l, mem, &tariff),
                Err(closest) => {
                    let engine = req.engine();
                    let reach = if engine.spans_nodes() || req.is_training() {
                        format!("in up to {} nodes of {node}", req.max_nodes)
                    } else {
                        format!("in one node of {node} ({} splits layers inside one machine)", engine.name())
                    };
                    let reason = match closest {
                        Some((l, m)) => format!(
                            "does not fit {reach}: the largest layout, {}, needs {:.1} GiB per GPU of {:.1} usable",
                            l.describe(),
                            m.total_bytes / GIB,
                            m.usable_bytes / GIB
                        ),
                        None if has_pins(req) => "no legal layout with the fixed --tp/--pp/--dp".to_owned(),
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

fn has_pins(req: &PlanRequest) -> bool {
    req.tp.is_some() || req.pp.is_some() || req.dp.is_some()
}

#[cfg(test)]
mod price_sweep;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod offload_tests;
#[cfg(test)]
mod sweep_tests;
