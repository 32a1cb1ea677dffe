//! The host parts of a node whose platform does not include them: CPU, RAM, storage, case,
//! cooler, and the PSUs for the DC load.
use super::*;

/// CPU, RAM, storage, case and cooler for a platform that does not include them. Returns the
/// CPU power (all sockets).
pub(super) fn add_host_parts(
    cat: &Catalog,
    p: &Platform,
    input: &NodeInputs,
    side_by_side: bool,
    lines: &mut Vec<PartLine>,
    warnings: &mut Vec<String>,
) -> f64 {
    let n = input.gpus_per_node;
    let sockets = p.cpu_sockets.max(1);
    let mut cpu_tdp = 0.0;
    let cpus = priced(
        cat.cpus
            .iter()
            .filter(|x| x.socket == p.socket)
            .map(|x| (x, x.prices.as_slice())),
    );
    let with_lanes: Vec<_> = cpus
        .iter()
        .copied()
        .filter(|(x, _)| x.pcie_lanes >= 16 * n)
        .collect();
    let pick = if with_lanes.is_empty() {
        cheapest(cpus, |_| sockets)
    } else {
        cheapest(with_lanes, |_| sockets)
    };
    match pick {
        Some((x, price, q)) => {
            cpu_tdp = x.tdp_w * q as f64;
            lines.push(line("cpu", &x.id, &x.name, q, price, None));
        }
        None => lines.push(missing(
            "cpu",
            format!("{} CPU", p.socket),
            sockets,
            "no CPU for this socket in the catalog",
        )),
    }

    let gib = (1u64 << 30) as f64;
    let need_gib = (input.node_weight_bytes * c::RAM_PER_WEIGHT_BYTE + input.offload_host_bytes)
        / gib
        + c::RAM_BASE_GIB;
    let kits = priced(
        cat.ram
            .iter()
            .filter(|k| p.ram_kind.as_deref().is_none_or(|kind| k.kind == kind))
            .map(|k| (k, k.prices.as_slice())),
    );
    match cheapest(kits, |k| units(need_gib, k.capacity_gib.into())) {
        Some((k, price, q)) => {
            let total = q.saturating_mul(k.capacity_gib);
            warnings.extend(check::ram_max_finding(p, total).map(|f| f.message));
            lines.push(line(
                "ram",
                &k.id,
                &k.name,
                q,
                price,
                Some(if input.offload_host_bytes > 0.0 {
                    format!(
                        "≥ {need_gib:.0} GiB: node weights for loading + {:.0} GiB offloaded training states + {:.0} GiB base",
                        input.offload_host_bytes / gib,
                        c::RAM_BASE_GIB
                    )
                } else {
                    format!(
                        "≥ {need_gib:.0} GiB: node weights for loading + {:.0} GiB base",
                        c::RAM_BASE_GIB
                    )
                }),
            ));
        }
        None => lines.push(missing(
            "ram",
            format!("{need_gib:.0} GiB RAM"),
            1,
            "no matching RAM kit in the catalog",
        )),
    }

    let need_gb = input.model_weight_bytes / 1e9 * c::STORAGE_PER_WEIGHT_BYTE + c::STORAGE_BASE_GB;
    let drives = priced(cat.storage.iter().map(|s| (s, s.prices.as_slice())));
    match cheapest(drives, |s| units(need_gb, s.capacity_gb)) {
        Some((s, price, q)) => lines.push(line(
            "storage",
            &s.id,
            &s.name,
            q,
            price,
            Some(format!(
                "≥ {need_gb:.0} GB: two copies of the weights + {:.0} GB",
                c::STORAGE_BASE_GB
            )),
        )),
        None => lines.push(missing(
            "storage",
            format!("{need_gb:.0} GB NVMe"),
            1,
            "no NVMe drive in the catalog",
        )),
    }

    if p.kind != PlatformKind::WorkstationBoard {
        return cpu_tdp;
    }
    // Cards on risers go in an open frame (its own line), not a case.
    if side_by_side {
        let slots = check::case_slots_needed(p, input.gpu, n);
        let length = input.gpu.length_mm.unwrap_or(0.0);
        let cases = priced(
            cat.cases
                .iter()
                .filter(|x| check::case_fits(x, p, input.gpu, n))
                .map(|x| (x, x.prices.as_slice())),
        );
        match cheapest(cases, |_| 1) {
            Some((x, price, _)) => lines.push(line("case", &x.id, &x.name, 1, price, None)),
            None => {
                warnings.push(format!("no catalog case takes a '{}' board with {slots} expansion slots and {length:.0} mm cards: use an open frame", p.form_factor));
                lines.push(missing(
                    "case",
                    "open frame or server chassis".into(),
                    1,
                    "no catalog case fits",
                ));
            }
        }
    }
    let coolers = priced(
        cat.coolers
            .iter()
            .filter(|x| x.sockets.contains(&p.socket))
            .map(|x| (x, x.prices.as_slice())),
    );
    match cheapest(coolers, |_| 1) {
        Some((x, price, _)) => lines.push(line("cooler", &x.id, &x.name, 1, price, None)),
        None => lines.push(missing(
            "cooler",
            format!("{} CPU cooler", p.socket),
            1,
            "no cooler for this socket in the catalog",
        )),
    }
    cpu_tdp
}

/// PSUs for a workstation: one unit if one is large enough, else several of the largest.
/// Returns the installed capacity and the efficiency used for wall power.
pub(super) fn add_psus(
    cat: &Catalog,
    gpu: &Gpu,
    n: u32,
    dc_load_w: f64,
    lines: &mut Vec<PartLine>,
    warnings: &mut Vec<String>,
) -> (f64, f64) {
    let need = check::psu_need_w(dc_load_w);
    let all = priced(cat.psus.iter().map(|x| (x, x.prices.as_slice())));
    let single: Vec<_> = all
        .iter()
        .copied()
        .filter(|(x, _)| x.watts >= need)
        .collect();
    let pick = cheapest(single, |_| 1).or_else(|| {
        // The largest priced unit, so the set stays priced; unpriced ones only if none is.
        let largest = all.iter().copied().max_by(|a, b| {
            (a.1.is_some())
                .cmp(&b.1.is_some())
                .then(a.0.watts.total_cmp(&b.0.watts))
        })?;
        let q = units(need, largest.0.watts);
        warnings.push(format!("{} W of PSU capacity needs {q} power supplies: join them with an add2psu board or use a server chassis", fmt_int(need)));
        Some((largest.0, largest.1, q))
    });
    let Some((psu, price, q)) = pick else {
        lines.push(missing(
            "psu",
            format!("{} W PSU", fmt_int(need)),
            1,
            "no PSU in the catalog",
        ));
        return (0.0, c::DEFAULT_PSU_EFFICIENCY);
    };
    warnings.extend(
        check::connector_findings(psu, q, gpu, n)
            .into_iter()
            .map(|f| f.message),
    );
    let note = format!(
        "{} W DC load × {} headroom = {} W",
        fmt_int(dc_load_w),
        c::PSU_HEADROOM,
        fmt_int(need)
    );
    lines.push(line("psu", &psu.id, &psu.name, q, price, Some(note)));
    (psu.watts * q as f64, psu.efficiency_at_half_load)
}
