//! Ranges of the rig parts the build checker uses: network, risers, bridges, frames, server PSUs.
use super::*;

/// Ranges of the rig parts the build checker uses: risers, bridges, frames, server PSUs.
pub(super) fn rig_parts(cat: &Catalog) -> Result<(), CatalogError> {
    for n in cat.network.iter() {
        let c = Checker {
            table: &cat.network,
            entry: n,
        };
        c.range("gbit_per_s", n.gbit_per_s, 0.1, 10_000.0)?;
        for m in &n.machines {
            c.ensure(
                cat.platforms
                    .get(m)
                    .is_some_and(|p| p.kind == PlatformKind::System),
                "machines",
                &format!("no 'system' platform '{m}' in the catalog"),
            )?;
        }
    }
    for r in cat.risers.iter() {
        let c = Checker {
            table: &cat.risers,
            entry: r,
        };
        c.range("pcie_gen", r.pcie_gen.into(), 1.0, 6.0)?;
        c.ensure(
            [1, 2, 4, 8, 16].contains(&r.lanes),
            "lanes",
            "must be 1, 2, 4, 8 or 16",
        )?;
        if let Some(l) = r.length_mm {
            c.range("length_mm", l, 10.0, 2_000.0)?;
        }
    }
    for b in cat.bridges.iter() {
        let c = Checker {
            table: &cat.bridges,
            entry: b,
        };
        c.ensure(!b.gpus.is_empty(), "gpus", "must name the GPUs it fits")?;
        for gpu in &b.gpus {
            c.ensure(
                cat.gpus.get(gpu).is_some(),
                "gpus",
                &format!("no gpu '{gpu}' in the catalog"),
            )?;
        }
        c.range("slot_spacing", b.slot_spacing.into(), 1.0, 6.0)?;
        if let Some(bw) = b.gb_per_s {
            c.range("gb_per_s", bw, 1.0, 2_000.0)?;
        }
    }
    for f in cat.frames.iter() {
        let c = Checker {
            table: &cat.frames,
            entry: f,
        };
        c.ensure(
            !f.board_form_factors.is_empty(),
            "board_form_factors",
            "must name at least one board form factor",
        )?;
        c.range("gpu_positions", f.gpu_positions.into(), 1.0, 16.0)?;
        if let Some(l) = f.max_gpu_length_mm {
            c.range("max_gpu_length_mm", l, 100.0, 600.0)?;
        }
    }
    for p in cat.server_psus.iter() {
        let c = Checker {
            table: &cat.server_psus,
            entry: p,
        };
        c.range("watts", p.watts, 100.0, 10_000.0)?;
        if let Some(low) = p.watts_low_line {
            c.range("watts_low_line", low, 100.0, p.watts)?;
        }
    }
    Ok(())
}
