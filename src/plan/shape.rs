//! Node shapes: how many GPUs each machine of a rig holds. `compare -o 12xv100-pcie-32gb` takes
//! the fewest nodes the GPUs split into evenly and legally (3 × 4 for Falcon-180B), and
//! `3x4xv100-pcie-32gb` or `--gpus-per-node 4` fix the shape: several desktops joined by a
//! network, priced and powered per node.
use super::{engine, evaluate, finish, has_pins, layout, node_size, GpuOption, Plan, PlanRequest};
use crate::catalog::{Catalog, Gpu, Model};
use serde::Serialize;

/// GPUs of one rig and, when fixed, the machines they sit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shape {
    pub gpus: u32,
    /// Machines the GPUs split evenly over; chosen when absent.
    pub nodes: Option<u32>,
}

impl Shape {
    /// `gpus` GPUs in as few machines as the catalog's platforms allow.
    pub fn gpus(gpus: u32) -> Shape {
        Shape { gpus, nodes: None }
    }

    /// `nodes` machines of `per_node` GPUs each.
    pub fn nodes(nodes: u32, per_node: u32) -> Shape {
        Shape {
            gpus: nodes.saturating_mul(per_node),
            nodes: Some(nodes),
        }
    }
}

/// GPUs per node worth trying for `shape`, best first: the fixed shape; `--gpus-per-node`;
/// the catalog's node size when the GPUs fill whole nodes (or fit one); else every even split
/// over more nodes, fewest nodes first.
fn per_node_candidates(req: &PlanRequest, shape: Shape, node: u32) -> Vec<u32> {
    let n = shape.gpus.max(1);
    match (shape.nodes, req.gpus_per_node) {
        (Some(k), _) => vec![(n / k.max(1)).max(1)],
        (None, Some(per)) => vec![per.max(1)],
        (None, None) if n <= node || n.is_multiple_of(node) => vec![node],
        (None, None) => (n.div_ceil(node)..=n)
            .filter(|k| n.is_multiple_of(*k))
            .map(|k| n / k)
            .collect(),
    }
}

/// Evaluates explicit `N × GPU` options side by side.
pub fn compare(cat: &Catalog, model: &Model, req: &PlanRequest, options: &[(u32, &Gpu)]) -> Plan {
    let shapes: Vec<(Shape, &Gpu)> = options.iter().map(|&(n, g)| (Shape::gpus(n), g)).collect();
    compare_shapes(cat, model, req, &shapes)
}

/// Evaluates explicit rigs side by side: for each, the first node shape with a fitting
/// layout, else the first legal one, else why none is legal.
pub fn compare_shapes(
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    options: &[(Shape, &Gpu)],
) -> Plan {
    let tariff = super::electricity(cat, req);
    let evaluated = options
        .iter()
        .map(|&(shape, gpu)| {
            let node = node_size(cat, gpu);
            let n = shape.gpus;
            let candidates = per_node_candidates(req, shape, node);
            let mut legal = candidates
                .iter()
                .filter_map(|&per| layout::best_with(model, req, n, per, gpu.memory_bytes()));
            let first = legal.next();
            let best = match first {
                Some(f) if f.1.fits() => Some(f),
                _ => legal.find(|(_, m)| m.fits()).or(first),
            };
            match best {
                Some((l, mem)) => evaluate(cat, model, req, gpu, l, mem, &tariff),
                None => {
                    let per = candidates.first().copied().unwrap_or(node);
                    let why = illegal_reason(model, req, shape, per, node);
                    GpuOption::unfit(gpu, req, n, None, why)
                }
            }
        })
        .collect();
    finish("comparison", cat, model, req, evaluated)
}

fn illegal_reason(model: &Model, req: &PlanRequest, shape: Shape, per: u32, node: u32) -> String {
    let n = shape.gpus;
    if let Some(k) = shape
        .nodes
        .or(req.gpus_per_node.map(|p| n.div_ceil(p.max(1))))
    {
        if k == 0 || !n.is_multiple_of(k) || n / k != per {
            return format!("{n} GPUs do not split evenly into nodes of {per}");
        }
    }
    let nodes = n.div_ceil(per.max(1));
    if nodes > req.max_nodes {
        return format!(
            "{n} GPUs in nodes of {per} needs more than --max-nodes {}",
            req.max_nodes
        );
    }
    let engine = req.engine();
    if has_pins(req) {
        return format!(
            "{n} GPUs admit no {} layout with the fixed --tp/--pp/--dp",
            engine.name()
        );
    }
    if !req.is_training() && engine.split() == engine::Split::Layer {
        let reach = if engine.spans_nodes() {
            format!("over whole nodes of {per} (llama.cpp RPC)")
        } else {
            format!("inside one node of up to {node}")
        };
        return format!(
            "{n} GPUs is not a legal {} layout: a layer split runs {reach} and has at most one GPU per layer ({} layers)",
            engine.name(),
            model.num_hidden_layers
        );
    }
    let legal = layout::legal_tp(model, per);
    format!(
        "{n} GPUs is not a legal layout for {}: tensor-parallel degrees must divide {} attention heads ({} KV heads); legal inside a node of {per}: {}",
        model.id,
        model.num_attention_heads,
        model.num_key_value_heads,
        legal.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_fill_nodes_then_split_evenly() {
        let r = PlanRequest::new(super::super::Workload::Infer, 2048);
        assert_eq!(per_node_candidates(&r, Shape::gpus(4), 8), [8]);
        assert_eq!(per_node_candidates(&r, Shape::gpus(16), 8), [8]);
        // 12 GPUs in nodes of at most 8: 2 × 6, 3 × 4, 4 × 3, 6 × 2, 12 × 1.
        assert_eq!(per_node_candidates(&r, Shape::gpus(12), 8), [6, 4, 3, 2, 1]);
        assert_eq!(per_node_candidates(&r, Shape::nodes(4, 3), 8), [3]);
        let fixed = PlanRequest {
            gpus_per_node: Some(4),
            ..r
        };
        assert_eq!(per_node_candidates(&fixed, Shape::gpus(12), 8), [4]);
    }
}
