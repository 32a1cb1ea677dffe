//! How the measured GPUs are connected, from facts the backend read (pure).
use super::schema::{GpuInfo, GpuPair};

/// NVML writes `00000000:17:00.0`, the CUDA driver `0000:17:00.0`: compare bus, device and
/// function, ignoring the domain's width and case.
pub fn bus_ids_match(a: Option<&str>, b: Option<&str>) -> bool {
    let tail = |s: &str| {
        s.rsplit_once(':').map(|(rest, f)| {
            (
                rest.rsplit_once(':')
                    .map(|(_, bus)| bus.to_ascii_lowercase()),
                f.to_ascii_lowercase(),
            )
        })
    };
    match (a, b) {
        (Some(a), Some(b)) => tail(a).is_some() && tail(a) == tail(b),
        _ => false,
    }
}

/// Active NVLink links from `a` straight to `b`; `None` when NVML reported no links for `a`.
/// Links to an NVSwitch do not count here (their far end is the switch).
pub fn direct_nvlinks(a: &GpuInfo, b: &GpuInfo) -> Option<u32> {
    if a.nvlinks.is_empty() {
        return None;
    }
    let n = a
        .nvlinks
        .iter()
        .filter(|l| {
            l.active && bus_ids_match(l.remote_pci_bus_id.as_deref(), b.pci_bus_id.as_deref())
        })
        .count();
    Some(n as u32)
}

/// One entry per pair of `gpus` (by NVML index, `a < b`).
pub fn pairs(
    gpus: &[&GpuInfo],
    pcie_path: &dyn Fn(u32, u32) -> Option<String>,
    p2p_access: &dyn Fn(u32, u32) -> Option<bool>,
) -> Vec<GpuPair> {
    let mut sorted: Vec<&GpuInfo> = gpus.to_vec();
    sorted.sort_by_key(|g| g.index);
    let mut out = Vec::new();
    for (i, a) in sorted.iter().enumerate() {
        for b in &sorted[i + 1..] {
            out.push(GpuPair {
                a: a.index,
                b: b.index,
                pcie_path: pcie_path(a.index, b.index),
                p2p_access: p2p_access(a.index, b.index),
                nvlink_count: direct_nvlinks(a, b),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::schema::NvLinkState;

    #[test]
    fn bus_ids_compare_across_nvml_and_cuda_spellings() {
        assert!(bus_ids_match(
            Some("00000000:17:00.0"),
            Some("0000:17:00.0")
        ));
        assert!(!bus_ids_match(
            Some("00000000:17:00.0"),
            Some("0000:18:00.0")
        ));
        assert!(!bus_ids_match(None, Some("0000:18:00.0")));
    }

    #[test]
    fn pairs_carry_path_access_and_direct_links() {
        let gpu = |index: u32, bus: &str, links: Vec<NvLinkState>| GpuInfo {
            index,
            pci_bus_id: Some(bus.into()),
            nvlinks: links,
            ..GpuInfo::default()
        };
        let link = |to: &str, active: bool| NvLinkState {
            link: 0,
            active,
            remote_pci_bus_id: Some(to.into()),
            ..NvLinkState::default()
        };
        let g0 = gpu(
            0,
            "00000000:17:00.0",
            vec![
                link("00000000:65:00.0", true),
                link("00000000:65:00.0", false),
            ],
        );
        let g1 = gpu(1, "00000000:65:00.0", vec![link("00000000:17:00.0", true)]);
        let g2 = gpu(2, "00000000:b1:00.0", vec![]);
        let out = pairs(
            &[&g2, &g0, &g1],
            &|a, b| Some(if b == 2 { "SYS" } else { "PIX" }.to_string()).filter(|_| a < b),
            &|a, _| Some(a != 0),
        );
        assert_eq!(out.len(), 3);
        assert_eq!((out[0].a, out[0].b), (0, 1));
        assert_eq!(out[0].nvlink_count, Some(1));
        assert_eq!(out[0].pcie_path.as_deref(), Some("PIX"));
        assert_eq!(out[0].p2p_access, Some(false));
        assert_eq!((out[1].a, out[1].b, out[1].nvlink_count), (0, 2, Some(0)));
        assert_eq!(out[1].pcie_path.as_deref(), Some("SYS"));
        assert_eq!((out[2].a, out[2].b, out[2].p2p_access), (1, 2, Some(true)));
    }
}
