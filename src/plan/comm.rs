//! GPU-to-GPU communication: which link a tensor-parallel group or a pipeline hop uses, and how
//! long an all-reduce takes on it (NCCL's own latency model plus bytes over bus bandwidth).
use super::constants::constants;
use super::layout::Layout;
use super::request::PlanRequest;
use crate::catalog::{Catalog, Gpu};
use serde::Serialize;

constants! {
    /// NCCL's base latency of a ring all-reduce with the low-latency (LL) protocol used for
    /// small messages (NVIDIA/nccl src/graph/tuning.cc, baseLat).
    NCCL_BASE_LATENCY_US: 3.6, "µs";
    /// NCCL's latency per ring step over NVLink (tuning.cc hwLat, LL); an all-reduce over n
    /// GPUs takes 2(n − 1) steps.
    NCCL_NVLINK_STEP_US: 0.47, "µs per step";
    /// NCCL's latency per ring step over PCIe (tuning.cc hwLat, LL).
    NCCL_PCIE_STEP_US: 1.0, "µs per step";
    /// NCCL's latency per ring step over the network (tuning.cc hwLat, LL).
    NCCL_NET_STEP_US: 2.7, "µs per step";
    /// All-reduce bus bandwidth as a fraction of the link's one-way rate: NCCL reaches about
    /// 230 of 300 GB/s on A100 NVLink and 370 of 450 on H100 (nccl-tests #149, #212).
    ALLREDUCE_BUS_EFFICIENCY: 0.8, "fraction";
    /// PCIe 3.0 rate per lane and direction (8 GT/s, 128b/130b); each generation doubles it.
    PCIE_GEN3_GB_PER_S_PER_LANE: 0.985, "GB/s per lane";
    /// Bytes per activation element sent between GPUs (16-bit).
    ACTIVATION_BYTES: 2.0, "bytes";
}

/// What a link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkKind {
    /// NVLink or NVSwitch.
    Nvlink,
    /// Another vendor fabric (Infinity Fabric, Gaudi's RoCE ports).
    Fabric,
    /// PCIe through the host (no GPU fabric, or more GPUs than the fabric joins).
    Pcie,
    /// The network between nodes.
    Network,
}

/// A link with its one-way bandwidth and NCCL's per-step latency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Link {
    pub kind: LinkKind,
    /// One-way bandwidth per GPU, GB/s.
    pub gb_per_s: f64,
    /// Latency per ring step, µs.
    pub step_latency_us: f64,
}

impl Link {
    /// Seconds to all-reduce `bytes` over `n` GPUs (ring: 2(n − 1) steps, 2(n − 1)/n of the data).
    pub fn allreduce_s(&self, bytes: f64, n: u32) -> f64 {
        if n <= 1 {
            return 0.0;
        }
        let steps = 2.0 * (n as f64 - 1.0);
        (NCCL_BASE_LATENCY_US + steps * self.step_latency_us) * 1e-6
            + steps / n as f64 * bytes / (self.gb_per_s * 1e9 * ALLREDUCE_BUS_EFFICIENCY)
    }

    /// Seconds to send `bytes` to the next GPU once.
    pub fn send_s(&self, bytes: f64) -> f64 {
        (NCCL_BASE_LATENCY_US + self.step_latency_us) * 1e-6
            + bytes / (self.gb_per_s * 1e9 * ALLREDUCE_BUS_EFFICIENCY)
    }
}

/// The GPU's own PCIe link.
pub fn pcie(gpu: &Gpu) -> Link {
    let per_lane = PCIE_GEN3_GB_PER_S_PER_LANE * 2f64.powi(gpu.pcie_gen as i32 - 3);
    Link {
        kind: LinkKind::Pcie,
        gb_per_s: per_lane * gpu.pcie_lanes as f64,
        step_latency_us: NCCL_PCIE_STEP_US,
    }
}

/// Fabric name of a card-to-card NVLink bridge: a separate part that no planned build
/// includes, so cards that could take one still talk over PCIe.
const BRIDGE: &str = "nvlink-bridge";

/// The link a `tp`-GPU tensor-parallel group of `gpu` talks over: its fabric when the catalog
/// gives the fabric's bandwidth and the fabric joins that many GPUs, else PCIe (so A100 PCIe
/// cards, whose optional bridge is not in the parts list, use PCIe, and SXM boards NVLink).
pub fn tp_link(gpu: &Gpu, tp: u32) -> Option<Link> {
    if tp <= 1 {
        return None;
    }
    let fabric = gpu
        .fabric
        .as_deref()
        .filter(|&f| f != BRIDGE)
        .zip(gpu.fabric_gb_per_s)
        .filter(|_| tp <= gpu.fabric_max_gpus.unwrap_or(8));
    Some(match fabric {
        Some((name, aggregate)) => Link {
            kind: if name.starts_with("nvlink") {
                LinkKind::Nvlink
            } else {
                LinkKind::Fabric
            },
            // The catalog gives both directions together.
            gb_per_s: aggregate / 2.0,
            step_latency_us: NCCL_NVLINK_STEP_US,
        },
        None => pcie(gpu),
    })
}

/// The network between nodes at `gbit_per_s` per node.
pub fn network(gbit_per_s: f64) -> Link {
    Link {
        kind: LinkKind::Network,
        gb_per_s: gbit_per_s / 8.0,
        step_latency_us: NCCL_NET_STEP_US,
    }
}

/// The fastest network adapter in the catalog, Gbit/s (what multi-node builds get).
pub fn fastest_network(cat: &Catalog) -> Option<f64> {
    cat.network
        .iter()
        .filter(|n| n.kind == "infiniband")
        .map(|n| n.gbit_per_s)
        .max_by(f64::total_cmp)
}

/// Warnings about how the layout's GPUs talk.
pub fn link_warnings(req: &PlanRequest, gpu: &Gpu, layout: &Layout) -> Vec<String> {
    let mut out = Vec::new();
    if req.is_training() || layout.tp <= 1 {
        return out;
    }
    if tp_link(gpu, layout.tp).map(|l| l.kind) == Some(LinkKind::Pcie) {
        let why = match (gpu.fabric.as_deref(), gpu.fabric_max_gpus.unwrap_or(2)) {
            (None, _) => "no GPU fabric".to_owned(),
            (Some(BRIDGE), n) if layout.tp <= n => format!(
                "the parts list has no NVLink bridge; one per pair gives {} GB/s",
                gpu.fabric_gb_per_s.unwrap_or(0.0)
            ),
            (Some(f), n) => format!("the {f} joins only {n} GPUs"),
        };
        out.push(format!(
            "TP{} all-reduces run over PCIe ({why}): every layer waits for them; a layer split or an NVLink/SXM system avoids it",
            layout.tp
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn pcie_and_sxm_a100_use_different_links_at_tp4() {
        let cat = Catalog::embedded().unwrap();
        let sxm = tp_link(cat.gpus.get("a100-sxm4-40gb").unwrap(), 4).unwrap();
        let pcie = tp_link(cat.gpus.get("a100-pcie-40gb").unwrap(), 4).unwrap();
        assert_eq!(sxm.kind, LinkKind::Nvlink);
        assert_eq!(sxm.gb_per_s, 300.0);
        assert_eq!(pcie.kind, LinkKind::Pcie);
        assert!((pcie.gb_per_s - 31.52).abs() < 0.01, "{}", pcie.gb_per_s);
        // A decode all-reduce of one 16 KiB activation: latency-bound, PCIe slower.
        let bytes = 8192.0 * ACTIVATION_BYTES;
        assert!(pcie.allreduce_s(bytes, 4) > sxm.allreduce_s(bytes, 4) * 1.4);
        // NCCL's model for 8 GPUs on NVLink: 3.6 + 14 × 0.47 µs.
        assert!((sxm.allreduce_s(0.0, 8) * 1e6 - 10.18).abs() < 1e-9);
        assert!(tp_link(cat.gpus.get("h100-sxm5-80gb").unwrap(), 1).is_none());
    }
}
