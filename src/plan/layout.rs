//! Legal parallel layouts and the search for the smallest one that fits.
//!
//! Rules (stated in every plan):
//! - Tensor parallelism (TP) stays inside one node, and its degree must divide the attention
//!   heads; KV heads are split when TP divides them and replicated when TP is a multiple of them.
//! - Tensor-parallel engines (vLLM, SGLang, TensorRT-LLM) pipeline (PP) only across nodes unless
//!   `--pp` asks for stages inside one, or the heads admit no TP degree that fills a node;
//!   layer-split engines put consecutive layers on any number of GPUs of one node, and llama.cpp
//!   (its RPC backend) over whole nodes too.
//! - Training may also pipeline inside a node and adds data parallelism (DP); ZeRO-2/3 shard
//!   over DP and (as in DeepSpeed) cannot be combined with PP.
//! - Inference data parallelism (`--dp`) runs independent replicas.
//! - `--tp`, `--pp` and `--dp` fix a degree; the others are searched.
use super::engine::Split;
use super::memory::MemoryBreakdown;
use super::offload;
use super::request::PlanRequest;
use crate::catalog::Model;
use serde::Serialize;

/// A parallel layout: `tp × pp × dp` GPUs on `nodes` nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// Tensor-parallel degree (inside a node).
    pub tp: u32,
    /// Pipeline stages (GPUs of a layer split).
    pub pp: u32,
    /// Data-parallel replicas.
    pub dp: u32,
    pub nodes: u32,
    pub gpus_per_node: u32,
    /// Whether the stages are a layer split that one batch passes in turn (llama.cpp,
    /// transformers) rather than a pipeline working on several micro-batches.
    #[serde(default)]
    pub layer_split: bool,
}

impl Layout {
    pub fn gpus(&self) -> u32 {
        self.tp * self.pp * self.dp
    }

    /// GPUs holding one copy of the model (tp × pp).
    pub fn replica_gpus(&self) -> u32 {
        self.tp * self.pp
    }

    /// Short form, e.g. `TP8`, `TP8 × PP2 × DP4 (8 nodes of 8)` or `layer split × 3`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.layer_split {
            parts.push(if self.pp > 1 {
                format!("layer split × {}", self.pp)
            } else {
                "1 GPU".to_owned()
            });
        } else {
            parts.push(format!("TP{}", self.tp));
            if self.pp > 1 {
                parts.push(format!("PP{}", self.pp));
            }
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

fn layers(model: &Model) -> u32 {
    model.num_hidden_layers.min(u32::MAX as u64) as u32
}

/// Whether `v` matches a degree the user fixed.
fn pinned(fixed: Option<u32>, v: u32) -> bool {
    fixed.is_none_or(|f| f == v)
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
    let layers = layers(model);
    let at = |tp, pp, dp, layer_split| Layout {
        tp,
        pp,
        dp,
        nodes,
        gpus_per_node: per_node,
        layer_split,
    };
    let mut out = Vec::new();
    if req.is_training() {
        for tp in legal_tp(model, per_node) {
            if !gpus.is_multiple_of(tp) || !pinned(req.tp, tp) {
                continue;
            }
            let rest = gpus / tp;
            for pp in (1..=rest.min(layers)).filter(|pp| rest.is_multiple_of(*pp)) {
                if (pp > 1 && req.zero_stage >= 2) || !pinned(req.pp, pp) {
                    continue;
                }
                if pinned(req.dp, rest / pp) {
                    out.push(at(tp, pp, rest / pp, false));
                }
            }
        }
        return out;
    }
    let dp = req.dp.unwrap_or(1).max(1);
    if !gpus.is_multiple_of(dp) {
        return out;
    }
    let group = gpus / dp;
    // Replicas fill nodes evenly; a replica spans whole nodes or shares one.
    if nodes > 1 && !(group.is_multiple_of(per_node) || per_node.is_multiple_of(group)) {
        return out;
    }
    let engine = req.engine();
    match engine.split() {
        Split::Layer => {
            // Across machines only when the engine spans them (llama.cpp's RPC backend), and
            // then over whole nodes.
            let spans =
                group <= per_node || (engine.spans_nodes() && group.is_multiple_of(per_node));
            if spans && group <= layers && pinned(req.tp, 1) && pinned(req.pp, group) {
                out.push(at(1, group, dp, true));
            }
        }
        Split::Tensor if group <= per_node => {
            for tp in legal_tp(model, group) {
                let pp = group / tp;
                // Inside one node only TP, unless stages are asked for.
                let default_pp = req.pp.is_some() || pp == 1;
                if group.is_multiple_of(tp)
                    && default_pp
                    && pinned(req.tp, tp)
                    && pinned(req.pp, pp)
                    && pp <= layers
                {
                    out.push(at(tp, pp, dp, false));
                }
            }
        }
        Split::Tensor => {
            // TP fills a node; where the heads forbid that degree (a node of 3 for 232 heads),
            // the largest legal degree that divides the node, with stages inside it too.
            let legal = legal_tp(model, per_node);
            let node_tp = legal
                .iter()
                .copied()
                .filter(|t| per_node.is_multiple_of(*t))
                .max()
                .unwrap_or(1);
            for tp in legal {
                let pp = group / tp;
                let default_tp = req.tp.is_some() || tp == node_tp;
                if group.is_multiple_of(tp)
                    && default_tp
                    && pinned(req.tp, tp)
                    && pinned(req.pp, pp)
                    && pp <= layers
                {
                    out.push(at(tp, pp, dp, false));
                }
            }
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
        .map(|l| (l, offload::per_gpu(model, req, &l, gpu_memory_bytes)))
        .max_by(|a, b| a.1.headroom_bytes.total_cmp(&b.1.headroom_bytes))
}

/// GPUs a fixed layout implies: the product of the degrees the user pinned.
fn pinned_product(req: &PlanRequest) -> u64 {
    [req.tp, req.pp, req.dp]
        .iter()
        .fold(1u64, |m, d| m.saturating_mul(d.unwrap_or(1).max(1) as u64))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// GPU counts inside one node worth trying, ascending. Training without fixed degrees: powers
/// of two and the full node, so every larger count holds each smaller layout with more data
/// parallelism; otherwise every multiple of the fixed degrees (illegal ones yield no layout).
fn in_node_counts(req: &PlanRequest, node_size: u32) -> Vec<u32> {
    let m = pinned_product(req).min(u32::MAX as u64) as u32;
    if req.is_training() && m == 1 {
        let mut v: Vec<u32> = (0..32)
            .map(|i| 1u32 << i)
            .take_while(|&n| n < node_size)
            .collect();
        v.push(node_size);
        return v;
    }
    (1..=node_size).filter(|n| n.is_multiple_of(m)).collect()
}

/// Whole-node counts are `k × step` GPUs for `k` in the returned range; `step` is a whole
/// number of nodes divisible by the fixed degrees, and the range never exceeds --max-nodes.
fn node_steps(req: &PlanRequest, node_size: u32) -> (u64, std::ops::RangeInclusive<u64>) {
    let node = node_size.max(1) as u64;
    let m = pinned_product(req);
    let step = (node / gcd(node, m)).saturating_mul(m);
    let most = (req.max_nodes as u64 * node).min(u32::MAX as u64);
    (step, (node / step + 1)..=(most / step))
}

/// GPU counts worth trying, ascending and lazily: the in-node counts, then whole nodes up to
/// --max-nodes (never materialised, so `--max-nodes 4294967295` costs nothing up front).
pub fn gpu_counts(req: &PlanRequest, node_size: u32) -> impl Iterator<Item = u32> {
    let node_size = node_size.max(1);
    let (step, ks) = node_steps(req, node_size);
    in_node_counts(req, node_size)
        .into_iter()
        .chain(ks.map(move |k| (k * step) as u32))
}

/// The smallest layout that fits, or the largest tried when nothing fits. Beyond one node the
/// search gallops and bisects over node counts (a fit at n nodes also fits at more), so it
/// evaluates O(log --max-nodes) counts.
pub fn smallest_fit(
    model: &Model,
    req: &PlanRequest,
    node_size: u32,
    gpu_memory_bytes: f64,
) -> Result<(Layout, MemoryBreakdown), Option<(Layout, MemoryBreakdown)>> {
    let node_size = node_size.max(1);
    let eval = |n: u64| best_with(model, req, n as u32, node_size, gpu_memory_bytes);
    let mut last = None;
    for n in in_node_counts(req, node_size) {
        if let Some((layout, mem)) = eval(n as u64) {
            if mem.fits() {
                return Ok((layout, mem));
            }
            last = Some((layout, mem));
        }
    }
    let (step, ks) = node_steps(req, node_size);
    let (lo, hi) = (*ks.start(), *ks.end());
    if lo > hi {
        return Err(last);
    }
    let legal = |k: u64| !layouts_with(model, req, (k * step) as u32, node_size).is_empty();
    // Legality only ends (more nodes than layers to pipeline): find the last legal count.
    let Some(hi) = super::largest(lo, hi, legal) else {
        return Err(last);
    };
    let fits = |k: u64| eval(k * step).filter(|(_, m)| m.fits());
    // Gallop to a fitting count, then bisect down to the first one.
    let (mut bad, mut probe) = (lo - 1, lo);
    loop {
        if let Some(hit) = fits(probe) {
            let mut best = (probe, hit);
            let mut good = probe;
            while good - bad > 1 {
                let mid = bad + (good - bad) / 2;
                match fits(mid) {
                    Some(h) => {
                        good = mid;
                        best = (mid, h);
                    }
                    None => bad = mid,
                }
            }
            return Ok(best.1);
        }
        bad = probe;
        if probe == hi {
            return Err(eval(hi * step).or(last));
        }
        probe = (probe.saturating_mul(2)).min(hi);
    }
}
