//! Findings about a GPU's health and its links (pure): error counters that moved during the run,
//! XID events, NVLink links down, GPUs without peer access, peer copies far slower than the rest.
use super::finding;
use crate::probe::schema::{Finding, GpuHealth, GpuInfo, PhaseKind, ProbeRun, Severity};

/// PCIe replays during a run above which the link is a problem: DCGM's PCIe plugin allows 80
/// per device while it runs (`max_pcie_replays`, NVIDIA/DCGM `PcieMain.cpp` defaults).
pub const MAX_PCIE_REPLAYS: u64 = 80;

/// A peer copy more than this share below the median of the pairs is flagged: one slow pair in
/// an otherwise uniform box is a bad riser, switch port or NVLink (issue 10; a stated choice).
pub const P2P_SLOW_PCT: f64 = 25.0;

fn delta(start: Option<u64>, end: Option<u64>) -> Option<u64> {
    Some(end?.saturating_sub(start?))
}

fn health_findings(device: &str, start: &GpuHealth, end: &GpuHealth) -> Vec<Finding> {
    let mut out = Vec::new();
    let dev = Some(device);
    if let Some(n) = delta(start.pcie_replay_count, end.pcie_replay_count).filter(|n| *n > 0) {
        let (severity, why) = if n > MAX_PCIE_REPLAYS {
            (
                Severity::Warning,
                format!("more than the {MAX_PCIE_REPLAYS} DCGM allows"),
            )
        } else {
            (
                Severity::Info,
                format!("within the {MAX_PCIE_REPLAYS} DCGM allows"),
            )
        };
        out.push(finding(
            severity,
            "pcie-replays",
            dev,
            format!("{n} PCIe replays (retransmitted packets) during the run, {why}: check the riser, slot or cable"),
        ));
    }
    if let Some(n) = delta(
        start.ecc_corrected_volatile_count,
        end.ecc_corrected_volatile_count,
    )
    .filter(|n| *n > 0)
    {
        out.push(finding(
            Severity::Info,
            "ecc-corrected",
            dev,
            format!("{n} corrected ECC errors during the run"),
        ));
    }
    let h = end;
    if h.remapped_rows_failure == Some(true) {
        out.push(finding(
            Severity::Error,
            "row-remap-failed",
            dev,
            "a memory row could not be remapped (no spare rows left): the GPU needs service".into(),
        ));
    }
    if h.remapped_rows_pending == Some(true) || h.retired_pages_pending == Some(true) {
        out.push(finding(
            Severity::Warning,
            "memory-repair-pending",
            dev,
            "a memory row remap or page retirement waits for a GPU reset or driver reload".into(),
        ));
    }
    let retired = [
        h.remapped_rows_uncorrectable_count,
        h.retired_pages_dbe_count,
    ];
    if let Some(n) = retired.into_iter().flatten().max().filter(|n| *n > 0) {
        out.push(finding(
            Severity::Warning,
            "memory-rows-retired",
            dev,
            format!(
                "{n} memory rows or pages retired for uncorrectable errors over the GPU's life"
            ),
        ));
    }
    out
}

fn nvlink_findings(gpu: &GpuInfo, device: &str) -> Option<Finding> {
    let active = gpu.nvlinks.iter().filter(|l| l.active).count();
    let down: Vec<String> = gpu
        .nvlinks
        .iter()
        .filter(|l| !l.active)
        .map(|l| l.link.to_string())
        .collect();
    // A GPU whose every link is inactive has no NVLink bridge fitted (common on PCIe cards);
    // some links down among active ones is a fault.
    (active > 0 && !down.is_empty()).then(|| {
        finding(
            Severity::Warning,
            "nvlink-down",
            Some(device),
            format!(
                "NVLink links {} inactive while {active} are active",
                down.join(", ")
            ),
        )
    })
}

/// Every health and link finding of `run`.
pub fn derive(run: &ProbeRun) -> Vec<Finding> {
    let mut out = Vec::new();
    for gpu in &run.gpus {
        let device = format!("gpu{}", gpu.index);
        if let (Some(a), Some(b)) = (&gpu.health_start, &gpu.health_end) {
            out.extend(health_findings(&device, a, b));
        }
        for x in &gpu.xid_events {
            out.push(finding(
                Severity::Error,
                "xid",
                Some(&device),
                format!("XID {} reported by the driver at {:.1} s", x.xid, x.t_s),
            ));
        }
        out.extend(nvlink_findings(gpu, &device));
    }
    for pair in run.topology.iter().filter(|p| p.p2p_access == Some(false)) {
        let path = pair
            .pcie_path
            .as_deref()
            .map(|p| format!(" (PCIe path {p})"))
            .unwrap_or_default();
        out.push(finding(
            Severity::Warning,
            "p2p-unavailable",
            None,
            format!(
                "gpu{} and gpu{} cannot access each other's memory{path}: a tensor-parallel group spanning them copies through host memory",
                pair.a, pair.b
            ),
        ));
    }
    for pair in run
        .topology
        .iter()
        .filter(|p| p.pcie_path.as_deref() == Some("SYS") && p.p2p_access != Some(false))
    {
        out.push(finding(
            Severity::Info,
            "cross-socket",
            None,
            format!(
                "gpu{} and gpu{} hang off different CPU sockets (PCIe path SYS): traffic between them crosses the socket interconnect",
                pair.a, pair.b
            ),
        ));
    }
    out.extend(slow_pairs(run));
    out
}

/// Peer copies well below the median pair.
fn slow_pairs(run: &ProbeRun) -> Vec<Finding> {
    let copies: Vec<(&str, f64)> = run
        .phases
        .iter()
        .filter(|p| p.kind == PhaseKind::P2p)
        .flat_map(|p| &p.results)
        .filter(|m| m.shape.transfer_bytes.unwrap_or(0) > 4096)
        .filter_map(|m| Some((m.label.as_str(), m.gb_per_s?)))
        .collect();
    if copies.len() < 3 {
        return Vec::new();
    }
    let mut rates: Vec<f64> = copies.iter().map(|c| c.1).collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    copies
        .into_iter()
        .filter(|(_, r)| *r < median * (1.0 - P2P_SLOW_PCT / 100.0))
        .map(|(label, r)| {
            finding(
                Severity::Warning,
                "p2p-slow",
                None,
                format!(
                    "{label}: {r:.1} GB/s, more than {P2P_SLOW_PCT:.0} % below the median pair ({median:.1} GB/s)"
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::schema::tests_support::{empty_run, phase};
    use crate::probe::schema::{GpuPair, Measurement, NvLinkState, Shape, XidEvent};

    fn codes(run: &ProbeRun) -> Vec<(Severity, String)> {
        derive(run)
            .into_iter()
            .map(|f| (f.severity, f.code))
            .collect()
    }

    #[test]
    fn counters_that_moved_during_the_run_are_findings() {
        let mut run = empty_run();
        let start = GpuHealth {
            pcie_replay_count: Some(10),
            ecc_corrected_volatile_count: Some(0),
            ..GpuHealth::default()
        };
        let end = GpuHealth {
            pcie_replay_count: Some(10 + MAX_PCIE_REPLAYS + 1),
            ecc_corrected_volatile_count: Some(2),
            remapped_rows_pending: Some(true),
            remapped_rows_failure: Some(false),
            remapped_rows_uncorrectable_count: Some(0),
            ..GpuHealth::default()
        };
        run.gpus.push(GpuInfo {
            health_start: Some(start),
            health_end: Some(end),
            xid_events: vec![XidEvent { xid: 79, t_s: 12.0 }],
            ..GpuInfo::default()
        });
        assert_eq!(
            codes(&run),
            vec![
                (Severity::Warning, "pcie-replays".into()),
                (Severity::Info, "ecc-corrected".into()),
                (Severity::Warning, "memory-repair-pending".into()),
                (Severity::Error, "xid".into()),
            ]
        );
        // A few replays are noted, not flagged.
        run.gpus[0].health_end = Some(GpuHealth {
            pcie_replay_count: Some(12),
            ..GpuHealth::default()
        });
        run.gpus[0].xid_events.clear();
        assert_eq!(codes(&run), vec![(Severity::Info, "pcie-replays".into())]);
    }

    #[test]
    fn links_down_and_missing_peer_access_are_findings() {
        let mut run = empty_run();
        let link = |link, active| NvLinkState {
            link,
            active,
            ..NvLinkState::default()
        };
        run.gpus.push(GpuInfo {
            nvlinks: vec![link(0, true), link(1, false), link(2, true)],
            ..GpuInfo::default()
        });
        // A card with no bridge fitted: every link inactive is not a fault.
        run.gpus.push(GpuInfo {
            index: 1,
            nvlinks: vec![link(0, false), link(1, false)],
            ..GpuInfo::default()
        });
        run.topology.push(GpuPair {
            a: 0,
            b: 1,
            pcie_path: Some("SYS".into()),
            p2p_access: Some(false),
            nvlink_count: Some(0),
        });
        let f = derive(&run);
        assert_eq!(f.len(), 2, "{f:?}");
        // With peer access, a path across sockets is only noted.
        let mut allowed = run.clone();
        allowed.topology[0].p2p_access = Some(true);
        assert_eq!(codes(&allowed)[1], (Severity::Info, "cross-socket".into()));
        assert_eq!(f[0].code, "nvlink-down");
        assert!(f[0].message.contains("links 1 inactive"));
        assert_eq!(f[1].code, "p2p-unavailable");
        assert!(f[1].message.contains("SYS") && f[1].message.contains("tensor-parallel"));
    }

    #[test]
    fn a_slow_peer_pair_stands_out() {
        let mut run = empty_run();
        let copy = |label: &str, gb: f64| Measurement {
            label: label.into(),
            gb_per_s: Some(gb),
            shape: Shape {
                transfer_bytes: Some(256 << 20),
                ..Shape::default()
            },
            ..Measurement::default()
        };
        let mut p = phase(PhaseKind::P2p, "gpu0+gpu1+gpu2");
        p.results = vec![
            copy("gpu0 -> gpu1", 50.0),
            copy("gpu1 -> gpu0", 51.0),
            copy("gpu0 -> gpu2", 49.0),
            copy("gpu2 -> gpu0", 20.0),
        ];
        run.phases.push(p);
        let f = derive(&run);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message.starts_with("gpu2 -> gpu0: 20.0 GB/s"),
            "{}",
            f[0].message
        );
    }
}
