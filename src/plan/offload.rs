//! Partial GPU offload (llama.cpp `-ngl`, MoE experts in host RAM with `--cpu-moe`): which layers
//! or experts stay on the host, what the GPUs then hold, the host RAM it takes and the host
//! memory bandwidth that bounds the host's share of every token.
use super::constants::constants;
use super::layout::Layout;
use super::memory::{self, MemoryBreakdown};
use super::parts::NodeBuild;
use super::request::{GpuLayers, PlanRequest};
use super::weights;
use crate::catalog::{Catalog, Gpu, Model};
use serde::Serialize;

constants! {
    /// Host decode speed as a fraction of a measured STREAM bandwidth (--host-bandwidth-gb-per-s):
    /// llama.cpp's CPU decode lands at 84-91 % of STREAM's read bandwidth (llama.cpp issue #26484).
    HOST_DECODE_FRACTION_OF_STREAM: 0.85, "fraction";
    /// Host decode speed as a fraction of the RAM's theoretical bandwidth (channels × MT/s ×
    /// 8 bytes): llama.cpp on the M1 CPU reached 53.3 of 68.2 GB/s, 78 % (llama.cpp PR #1642);
    /// DIMM platforms reach less, so measure with `llmrig probe` and pass the STREAM triad.
    HOST_DECODE_FRACTION_OF_PEAK: 0.7, "fraction";
}

/// Where llama.cpp puts the layers of one replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Decoder blocks in the model.
    pub layers: u32,
    /// `-ngl`: the output head and the last `gpu_layers − 1` blocks are on the GPUs.
    pub gpu_layers: u32,
    /// Routed experts of every layer in host RAM (`--cpu-moe`).
    pub experts_on_host: bool,
}

impl Placement {
    /// Everything on the GPUs.
    pub fn all_on_gpu(model: &Model) -> Placement {
        let layers = model.num_hidden_layers.min(u32::MAX as u64 - 1) as u32;
        Placement {
            layers,
            gpu_layers: layers + 1,
            experts_on_host: false,
        }
    }

    pub fn blocks_on_gpu(&self) -> u32 {
        self.gpu_layers.saturating_sub(1).min(self.layers)
    }

    pub fn head_on_gpu(&self) -> bool {
        self.gpu_layers >= 1
    }

    /// Share of the decoder blocks on the GPUs.
    pub fn gpu_block_share(&self) -> f64 {
        self.blocks_on_gpu() as f64 / self.layers.max(1) as f64
    }

    pub fn offloads(&self) -> bool {
        self.experts_on_host || self.blocks_on_gpu() < self.layers || !self.head_on_gpu()
    }

    /// The llama.cpp flags that give this placement.
    pub fn flags(&self) -> String {
        let mut f = format!("-ngl {}", self.gpu_layers);
        if self.experts_on_host {
            f.push_str(" --cpu-moe");
        }
        f
    }
}

/// Weight bytes on the GPUs (before the split over a replica's GPUs) and in host RAM for a
/// placement. The host part leaves out the token embedding, which llama.cpp keeps there anyway.
pub fn weight_split(model: &Model, w: &weights::Bytes, p: &Placement) -> (f64, f64) {
    let head = w.head_read(model.tie_word_embeddings);
    let share = p.gpu_block_share();
    let experts_gpu = if p.experts_on_host {
        0.0
    } else {
        w.experts * share
    };
    let gpu = if p.head_on_gpu() { head } else { 0.0 } + w.blocks * share + experts_gpu;
    let resident = head + w.blocks + w.experts;
    (gpu, resident - gpu)
}

/// The placement the request asks for on `layout`: everything on the GPUs unless the engine
/// offloads and -ngl or --cpu-moe were given; `auto` keeps as many layers on the GPUs as fit.
pub fn placement(
    model: &Model,
    req: &PlanRequest,
    layout: &Layout,
    gpu_memory_bytes: f64,
) -> Placement {
    let all = Placement::all_on_gpu(model);
    if req.is_training() || !req.engine().offloads_to_host() || !req.offloads() {
        return all;
    }
    let with = |n: u32| Placement {
        gpu_layers: n,
        experts_on_host: req.cpu_moe,
        ..all
    };
    match req.gpu_layers {
        Some(GpuLayers::Count(n)) => with(n.min(all.gpu_layers)),
        None => with(all.gpu_layers),
        Some(GpuLayers::Auto) => {
            let fits = |n: u64| apply(model, req, layout, gpu_memory_bytes, &with(n as u32)).fits();
            with(super::largest(0, all.gpu_layers as u64, fits).unwrap_or(0) as u32)
        }
    }
}

/// Memory one GPU needs with `p`: the full-model breakdown with the host's layers, experts and
/// their KV cache taken out.
fn apply(
    model: &Model,
    req: &PlanRequest,
    layout: &Layout,
    gpu_memory_bytes: f64,
    p: &Placement,
) -> MemoryBreakdown {
    let mut m = memory::per_gpu(model, req, layout, gpu_memory_bytes);
    if !p.offloads() {
        return m;
    }
    let w = weights::bytes(model, req, &memory::model_memory(model, req));
    let (gpu, host) = weight_split(model, &w, p);
    if gpu + host > 0.0 {
        m.weights_bytes *= gpu / (gpu + host);
    }
    // The KV cache of host blocks lives in host RAM.
    m.kv_cache_bytes *= p.gpu_block_share();
    m.settle();
    m
}

/// Memory one GPU needs for `req` under `layout`, offload included.
pub fn per_gpu(
    model: &Model,
    req: &PlanRequest,
    layout: &Layout,
    gpu_memory_bytes: f64,
) -> MemoryBreakdown {
    let p = placement(model, req, layout, gpu_memory_bytes);
    apply(model, req, layout, gpu_memory_bytes, &p)
}

/// Host memory bandwidth for offloaded weights, with the share of it decode reaches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostMemory {
    pub gb_per_s: f64,
    /// Fraction of `gb_per_s` the host's share of decode reaches.
    pub efficiency: f64,
    /// Where the figure comes from.
    pub source: String,
}

/// What an offloading plan keeps in host RAM and how fast the host reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offload {
    /// llama.cpp flags for this placement, e.g. `-ngl 33 --cpu-moe`.
    pub flags: String,
    /// `-ngl`: the output head and the last gpu_layers − 1 decoder blocks are on the GPUs.
    pub gpu_layers: u32,
    /// Decoder blocks computed on the host.
    pub host_blocks: u32,
    /// Whether every routed expert stays in host RAM.
    pub experts_on_host: bool,
    /// Offloaded weights in host RAM (the token embedding, always there, excluded).
    pub host_weight_bytes: f64,
    /// KV cache of the host blocks.
    pub host_kv_cache_bytes: f64,
    /// Host RAM the offload needs: all weights (llama.cpp maps the file) plus the host KV cache.
    pub host_ram_bytes: f64,
    /// Bandwidth that bounds the host's share of each token; `None` when unknown.
    pub host_memory: Option<HostMemory>,
}

/// The offload report for an option, or `None` when everything is on the GPUs.
pub fn report(
    model: &Model,
    req: &PlanRequest,
    p: &Placement,
    weights_bytes: f64,
    kv_cache_bytes: f64,
) -> Option<Offload> {
    if !p.offloads() {
        return None;
    }
    let mm = memory::model_memory(model, req);
    let w = weights::bytes(model, req, &mm);
    let (_, host) = weight_split(model, &w, p);
    let host_kv = kv_cache_bytes * (1.0 - p.gpu_block_share());
    Some(Offload {
        flags: p.flags(),
        gpu_layers: p.gpu_layers,
        host_blocks: p.layers - p.blocks_on_gpu(),
        experts_on_host: p.experts_on_host,
        host_weight_bytes: host,
        host_kv_cache_bytes: host_kv,
        host_ram_bytes: weights_bytes + host_kv,
        host_memory: None,
    })
}

/// The host memory bandwidth: the user's measurement, the unified memory itself, or the
/// theoretical bandwidth of the build's RAM (populated channels × MT/s × 8 bytes).
pub fn host_memory(
    cat: &Catalog,
    req: &PlanRequest,
    gpu: &Gpu,
    node: Option<&NodeBuild>,
) -> Option<HostMemory> {
    if let Some(v) = req.host_bandwidth_gb_per_s {
        return Some(HostMemory {
            gb_per_s: v,
            efficiency: HOST_DECODE_FRACTION_OF_STREAM,
            source: "--host-bandwidth-gb-per-s (measured STREAM)".into(),
        });
    }
    if gpu.unified_memory {
        return Some(HostMemory {
            gb_per_s: gpu.memory_bandwidth_gb_per_s,
            efficiency: HOST_DECODE_FRACTION_OF_PEAK,
            source: format!(
                "{}'s unified memory (an upper bound: CPU cores may not reach the GPU's bandwidth)",
                gpu.name
            ),
        });
    }
    let node = node?;
    let line = |kind: &str| node.lines.iter().find(|l| l.kind == kind);
    let ram_line = line("ram")?;
    let kit = cat.ram.get(ram_line.id.as_deref()?)?;
    let cpu_channels = line("cpu")
        .and_then(|l| cat.cpus.get(l.id.as_deref()?))
        .map(|c| c.ram_channels);
    let board_channels = line("platform")
        .and_then(|l| cat.platforms.get(l.id.as_deref()?))
        .map(|p| p.ram_channels);
    let modules = kit.modules * ram_line.quantity;
    let channels = [Some(modules), cpu_channels, board_channels]
        .into_iter()
        .flatten()
        .min()?;
    let gb_per_s = channels as f64 * kit.speed_mt_per_s as f64 * 8.0 / 1000.0;
    Some(HostMemory {
        gb_per_s,
        efficiency: HOST_DECODE_FRACTION_OF_PEAK,
        source: format!(
            "{channels} channel(s) of {} at {} MT/s (theoretical; pass a measured STREAM triad with --host-bandwidth-gb-per-s)",
            kit.name, kit.speed_mt_per_s
        ),
    })
}
