//! Legal parallel layouts and the search for the smallest one that fits.
//!
//! Rules (stated in every plan):
//! - Tensor parallelism (TP) stays inside one node, and its degree must divide the attention
//!   heads; KV heads are split when TP divides them and replicated when TP is a multiple of them.
//! - Inference uses TP inside a node and pipeline stages (PP) only across nodes: a layer-split
//!   pipeline inside a node leaves all but one GPU idle at each decode step.
//! - Training may also pipeline inside a node and adds data parallelism (DP); ZeRO-2/3 shard
//!   over DP and (as in DeepSpeed) cannot be combined with PP.
use super::memory::{self, MemoryBreakdown};
use super::request::PlanRequest;
use crate::catalog::Model;
use serde::Serialize;

/// A parallel layout: `tp × pp × dp` GPUs on `nodes` nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// Tensor-parallel degree (inside a node).
    pub tp: u32,
    /// Pipeline stages.
    pub pp: u32,
    /// Data-parallel replicas (training).
    pub dp: u32,
    pub nodes: u32,
    pub gpus_per_node: u32,
}

impl Layout {
    pub fn gpus(&self) -> u32 {
        self.tp * self.pp * self.dp
    }

    /// Short form, e.g. `TP8` or `TP8 × PP2 × DP4 (8 nodes)`.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("TP{}", self.tp)];
        if self.pp > 1 {
            parts.push(format!("PP{}", self.pp));
        }
        if self.dp > 1 {
            parts.push(format!("DP{}", self.dp));
        }
        let mut s = parts.join(" × ");
        if self.nodes > 1 {
            s.push_str(&format!(
                " ({} nodes of {})",
                self.nodes, self.gpus_per_node
            ));
        }
        s
    }
}

/// TP degrees up to `max` that split the model's heads legally.
pub fn legal_tp(model: &Model, max: u32) -> Vec<u32> {
    let heads = model.num_attention_heads;
    let kv = model.num_key_value_heads;
    (1..=max)
        .filter(|&t| {
            let t = t as u64;
            heads.is_multiple_of(t)
                && (model.is_mla() || kv.is_multiple_of(t) || t.is_multiple_of(kv))
        })
        .collect()
}

/// Every candidate layout with exactly `gpus` GPUs, for nodes of `node_size` GPUs.
pub fn layouts_with(model: &Model, req: &PlanRequest, gpus: u32, node_size: u32) -> Vec<Layout> {
    let node_size = node_size.max(1);
    if gpus == 0 || (gpus > node_size && !gpus.is_multiple_of(node_size)) {
        return Vec::new();
    }
    let nodes = gpus.div_ceil(node_size);
    if nodes > req.max_nodes {
        return Vec::new();
    }
    let per_node = gpus / nodes;
    let layers = model.num_hidden_layers as u32;
    let mut out = Vec::new();
    for tp in legal_tp(model, per_node) {
        if !gpus.is_multiple_of(tp) {
            continue;
        }
        let rest = gpus / tp;
        if !req.is_training() {
            // One TP group per node, one pipeline stage per node.
            if tp == per_node && rest == nodes && nodes <= layers {
                out.push(Layout {
                    tp,
                    pp: nodes,
                    dp: 1,
                    nodes,
                    gpus_per_node: per_node,
                });
            }
            continue;
        }
        for pp in (1..=rest.min(layers)).filter(|pp| rest.is_multiple_of(*pp)) {
            if pp > 1 && req.zero_stage >= 2 {
                continue;
            }
            out.push(Layout {
                tp,
                pp,
                dp: rest / pp,
                nodes,
                gpus_per_node: per_node,
            });
        }
    }
    out
}

/// The best layout for exactly `gpus` GPUs: the one with the most headroom, or, if none
/// fits, the one closest to fitting.
pub fn best_with(
    model: &Model,
    req: &PlanRequest,
    gpus: u32,
    node_size: u32,
    gpu_memory_bytes: f64,
) -> Option<(Layout, MemoryBreakdown)> {
    layouts_with(model, req, gpus, node_size)
        .into_iter()
        .map(|l| (l, memory::per_gpu(model, req, &l, gpu_memory_bytes)))
        .max_by(|a, b| a.1.headroom_bytes.total_cmp(&b.1.headroom_bytes))
}

/// GPU counts worth trying, ascending. Inference: the legal TP degrees inside one node, then
/// whole nodes. Training: powers of two inside a node and the full node, then whole nodes, so
/// every larger count can hold each smaller layout with more data parallelism.
pub fn gpu_counts(model: &Model, req: &PlanRequest, node_size: u32) -> Vec<u32> {
    let node_size = node_size.max(1);
    let mut counts: Vec<u32> = if req.is_training() {
        (0..32)
            .map(|i| 1u32 << i)
            .take_while(|&n| n < node_size)
            .chain([node_size])
            .collect()
    } else {
        legal_tp(model, node_size)
    };
    counts.extend((2..=req.max_nodes).map(|n| n * node_size));
    counts.dedup();
    counts
}

/// The smallest layout that fits, or the largest tried when nothing fits.
pub fn smallest_fit(
    model: &Model,
    req: &PlanRequest,
    node_size: u32,
    gpu_memory_bytes: f64,
) -> Result<(Layout, MemoryBreakdown), Option<(Layout, MemoryBreakdown)>> {
    let mut last = None;
    for gpus in gpu_counts(model, req, node_size) {
        if let Some((layout, mem)) = best_with(model, req, gpus, node_size, gpu_memory_bytes) {
            if mem.fits() {
                return Ok((layout, mem));
            }
            last = Some((layout, mem));
        }
    }
    Err(last)
}
