//! The reverse question: which build meets a target? `plan --target-tokens-per-s X` (decode
//! speed per sequence, at the request's batch), `--target-days D` (a training run's wall
//! clock) or `--users N` (N sequences at the request's context; any fit meets it): for each GPU type the smallest fit is grown by doubling its GPU count until the
//! target is met, then narrowed by bisection over multiples of the smallest fit, and the
//! smallest and the cheapest builds found that meet it are named; when none does, the closest.
use super::shape::{compare_shapes, Shape};
use super::{node_size, GpuOption, Layout, PlanRequest};
use crate::catalog::{Catalog, Gpu, Model};
use serde::Serialize;

/// What the build must reach.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Single-sequence decode tokens/s at the request's batch, at least.
    DecodeTokensPerS(f64),
    /// Training wall-clock days, at most.
    TrainingDays(f64),
    /// Concurrent users (the request's batch) served at the request's context: any fit.
    Users(u64),
}

impl Target {
    /// The option's figure for this target, if it has one.
    fn figure(self, o: &GpuOption) -> Option<f64> {
        match self {
            Target::DecodeTokensPerS(_) => o.speed.map(|s| s.decode_tokens_per_s),
            Target::TrainingDays(_) => o.training.map(|t| t.wall_clock_days),
            Target::Users(_) => o.fits.then_some(1.0),
        }
        .filter(|v| v.is_finite())
    }

    fn met(self, v: f64) -> bool {
        match self {
            Target::DecodeTokensPerS(x) => v >= x,
            Target::TrainingDays(d) => v <= d,
            Target::Users(_) => true,
        }
    }

    /// Orders figures best first.
    fn better(self, a: f64, b: f64) -> std::cmp::Ordering {
        match self {
            Target::DecodeTokensPerS(_) => b.total_cmp(&a),
            Target::TrainingDays(_) | Target::Users(_) => a.total_cmp(&b),
        }
    }
}

/// One build the search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetPick {
    /// `8×h100-sxm5-80gb`.
    pub rig: String,
    pub gpu_id: String,
    pub gpus: u32,
    pub layout: Option<Layout>,
    /// The target's figure: decode tokens/s, or training days.
    pub decode_tokens_per_s: Option<f64>,
    pub training_days: Option<f64>,
    /// Complete price, or the priced lines' sum when `price_complete` is false.
    pub price_usd: Option<f64>,
    pub price_complete: bool,
}

/// The answer to a target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetOutcome {
    pub target: Target,
    /// Whether any build in the search meets it.
    pub met: bool,
    /// Fewest GPUs that meet it (ties: the cheaper).
    pub smallest: Option<TargetPick>,
    /// Lowest price that meets it; a complete price beats a lower bound.
    pub cheapest: Option<TargetPick>,
    /// When nothing meets it: the build that comes nearest.
    pub closest: Option<TargetPick>,
    /// Most GPUs tried per GPU type (`--max-nodes` × its node size).
    pub searched_up_to_nodes: u32,
}

fn pick(o: &GpuOption) -> TargetPick {
    let price = o.build.as_ref().and_then(|b| b.price());
    TargetPick {
        rig: o.rig(),
        gpu_id: o.gpu_id.clone(),
        gpus: o.gpus,
        layout: o.layout,
        decode_tokens_per_s: o.speed.map(|s| s.decode_tokens_per_s),
        training_days: o.training.map(|t| t.wall_clock_days),
        price_usd: price.map(|p| p.0),
        price_complete: price.is_some_and(|p| p.1),
    }
}

/// `n × gpu` evaluated, when it fits.
fn at(cat: &Catalog, model: &Model, req: &PlanRequest, gpu: &Gpu, n: u32) -> Option<GpuOption> {
    let mut p = compare_shapes(cat, model, req, &[(Shape::gpus(n), gpu)]);
    Some(p.options.remove(0)).filter(|o| o.fits)
}

/// Fits of `gpu` from `first` GPUs up, doubling, to the most `req.max_nodes` nodes hold; once
/// a count meets the target, a bisection over multiples of `first` below it finds a smaller
/// one that still does (counts without a legal layout count as misses).
fn grow(
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    gpu: &Gpu,
    first: u32,
    t: Target,
) -> Vec<GpuOption> {
    let node = req.gpus_per_node.unwrap_or_else(|| node_size(cat, gpu));
    let most = node.saturating_mul(req.max_nodes.max(1));
    let first = first.max(1);
    let meets = |o: &GpuOption| t.figure(o).is_some_and(|v| t.met(v));
    let mut out = Vec::new();
    let (mut miss, mut n) = (0u32, first);
    while n <= most {
        match at(cat, model, req, gpu, n) {
            Some(o) if meets(&o) => {
                out.push(o);
                break;
            }
            Some(o) => out.push(o),
            None => {}
        }
        miss = n;
        n = match n.checked_mul(2) {
            Some(m) => m,
            None => return out,
        };
    }
    if n > most {
        return out;
    }
    // n meets and miss (a multiple of first, or 0) does not: bisect the multiples between.
    let (mut lo, mut hi) = (miss / first, n / first);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match at(cat, model, req, gpu, mid * first) {
            Some(o) if meets(&o) => {
                hi = mid;
                out.push(o);
            }
            _ => lo = mid,
        }
    }
    out
}

/// Searches every GPU type of `options` (the plan's smallest fits) for builds meeting `t`.
pub fn search(
    cat: &Catalog,
    model: &Model,
    req: &PlanRequest,
    options: &[GpuOption],
    t: Target,
) -> TargetOutcome {
    let mut found: Vec<GpuOption> = Vec::new();
    for o in options.iter().filter(|o| o.fits) {
        let Some(gpu) = cat.gpus.iter().find(|g| g.id == o.gpu_id) else {
            continue;
        };
        // Users are met by any fit: the plan's smallest fits are the candidates.
        match t {
            Target::Users(_) => found.push(o.clone()),
            _ => found.extend(grow(cat, model, req, gpu, o.gpus, t)),
        }
    }
    let meets = |o: &&GpuOption| t.figure(o).is_some_and(|v| t.met(v));
    let price = |o: &GpuOption| o.build.as_ref().and_then(|b| b.price());
    let smallest = found.iter().filter(meets).min_by(|a, b| {
        a.gpus.cmp(&b.gpus).then_with(|| {
            let p = |o: &GpuOption| price(o).map_or(f64::INFINITY, |p| p.0);
            p(a).total_cmp(&p(b))
        })
    });
    let cheapest = found
        .iter()
        .filter(meets)
        .filter(|o| price(o).is_some())
        .min_by(|a, b| {
            let (pa, pb) = (
                price(a).unwrap_or((0.0, false)),
                price(b).unwrap_or((0.0, false)),
            );
            pb.1.cmp(&pa.1).then(pa.0.total_cmp(&pb.0))
        });
    let closest = if smallest.is_some() {
        None
    } else {
        found
            .iter()
            .filter_map(|o| t.figure(o).map(|v| (v, o)))
            .min_by(|a, b| t.better(a.0, b.0))
            .map(|(_, o)| pick(o))
    };
    TargetOutcome {
        target: t,
        met: smallest.is_some(),
        smallest: smallest.map(pick),
        cheapest: cheapest.map(pick),
        closest,
        searched_up_to_nodes: req.max_nodes,
    }
}
