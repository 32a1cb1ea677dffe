//! Checks that parsing cannot: id shape, unique aliases, sane ranges, dated and sourced prices,
//! per-field sources that name real fields, and cross-references between kinds.
use super::{Catalog, CatalogError, Entry, FormFactor, Gpu, Model, PlatformKind, Table};
use std::collections::BTreeMap;

mod model;
mod parts;
pub use model::check_model_ranges;
use parts::rig_parts;

struct Checker<'a, T: Entry> {
    table: &'a Table<T>,
    entry: &'a T,
}

impl<T: Entry> Checker<'_, T> {
    fn fail(&self, field: &str, message: impl Into<String>) -> CatalogError {
        CatalogError::Invalid {
            file: self.table.origin(self.entry.id()).unwrap_or("?").to_owned(),
            kind: T::KIND,
            id: self.entry.id().to_owned(),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn ensure(&self, ok: bool, field: &str, message: &str) -> Result<(), CatalogError> {
        if ok {
            Ok(())
        } else {
            Err(self.fail(field, message))
        }
    }

    fn range(&self, field: &str, value: f64, lo: f64, hi: f64) -> Result<(), CatalogError> {
        self.ensure(
            value.is_finite() && value >= lo && value <= hi,
            field,
            &format!("{value} is outside the sane range {lo}..={hi}"),
        )
    }

    /// [`Checker::range`] for a field that may be absent.
    fn opt_range(
        &self,
        field: &str,
        value: Option<f64>,
        lo: f64,
        hi: f64,
    ) -> Result<(), CatalogError> {
        value.map_or(Ok(()), |v| self.range(field, v, lo, hi))
    }
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with plausible numbers.
pub(crate) fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize, lo: u32, hi: u32| {
        p.len() == len
            && p.chars().all(|c| c.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|v| (lo..=hi).contains(&v))
    };
    match parts.as_slice() {
        [y] => num(y, 4, 1990, 2100),
        [y, m] => num(y, 4, 1990, 2100) && num(m, 2, 1, 12),
        [y, m, d] => num(y, 4, 1990, 2100) && num(m, 2, 1, 12) && num(d, 2, 1, 31),
        _ => false,
    }
}

fn is_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && s.len() > 10 && !s.contains(' ')
}

/// Checks shared by every kind.
fn common<T: Entry>(
    table: &Table<T>,
    aliases: &mut BTreeMap<String, String>,
) -> Result<(), CatalogError> {
    for entry in table.iter() {
        let c = Checker { table, entry };
        c.ensure(
            is_kebab(entry.id()),
            "id",
            "ids are lowercase kebab-case (a-z, 0-9, '-', '.')",
        )?;
        c.ensure(!entry.name().trim().is_empty(), "name", "must not be empty")?;
        c.ensure(is_url(entry.source()), "source", "must be an http(s) URL")?;
        // Serializing is the one generic way to list an entry's fields; only needed with `sources`.
        let fields = (!entry.sources().is_empty())
            .then(|| serde_json::to_value(entry).ok())
            .flatten();
        for (field, url) in entry.sources() {
            let known = fields
                .as_ref()
                .and_then(|v| v.get(field.split('.').next().unwrap_or("")))
                .is_some();
            c.ensure(
                known,
                &format!("sources.{field}"),
                "names no field of this entry",
            )?;
            c.ensure(
                is_url(url),
                &format!("sources.{field}"),
                "must be an http(s) URL",
            )?;
        }
        for (i, p) in entry.prices().iter().enumerate() {
            let f = |name: &str| format!("prices[{i}].{name}");
            c.range(&f("usd"), p.usd, 1.0, 10_000_000.0)?;
            c.ensure(
                is_date(&p.date),
                &f("date"),
                "must be YYYY-MM-DD or YYYY-MM",
            )?;
            c.ensure(
                p.date.len() >= 7,
                &f("date"),
                "a price needs at least a month",
            )?;
            c.ensure(is_url(&p.source), &f("source"), "must be an http(s) URL")?;
        }
        for name in std::iter::once(entry.id()).chain(entry.aliases().iter().map(String::as_str)) {
            let key = format!("{}:{}", T::KIND, name.to_ascii_lowercase());
            if let Some(other) = aliases.insert(key, entry.id().to_owned()) {
                if other != entry.id() {
                    // Of an embedded entry and an overlay one, the overlay's is the one to fix.
                    let embedded =
                        |id: &str| table.origin(id).is_some_and(|o| o.starts_with("embedded:"));
                    if let (true, false, Some(theirs)) =
                        (embedded(entry.id()), embedded(&other), table.get(&other))
                    {
                        let c = Checker {
                            table,
                            entry: theirs,
                        };
                        let message = format!("'{name}' already names '{}'", entry.id());
                        return Err(c.fail("aliases", message));
                    }
                    return Err(c.fail("aliases", format!("'{name}' already names '{other}'")));
                }
            }
        }
    }
    Ok(())
}

pub(super) fn validate(cat: &Catalog) -> Result<(), CatalogError> {
    let mut names = BTreeMap::new();
    common(&cat.gpus, &mut names)?;
    common(&cat.models, &mut names)?;
    common(&cat.platforms, &mut names)?;
    common(&cat.cpus, &mut names)?;
    common(&cat.ram, &mut names)?;
    common(&cat.storage, &mut names)?;
    common(&cat.psus, &mut names)?;
    common(&cat.cases, &mut names)?;
    common(&cat.coolers, &mut names)?;
    common(&cat.network, &mut names)?;
    common(&cat.circuits, &mut names)?;
    common(&cat.electricity, &mut names)?;
    common(&cat.cloud, &mut names)?;
    common(&cat.risers, &mut names)?;
    common(&cat.bridges, &mut names)?;
    common(&cat.frames, &mut names)?;
    common(&cat.server_psus, &mut names)?;

    for g in cat.gpus.iter() {
        let c = Checker {
            table: &cat.gpus,
            entry: g,
        };
        c.range("memory_gib", g.memory_gib, 1.0, 1024.0)?;
        c.range(
            "memory_bandwidth_gb_per_s",
            g.memory_bandwidth_gb_per_s,
            50.0,
            20_000.0,
        )?;
        c.range("tdp_w", g.tdp_w, 10.0, 2_000.0)?;
        if g.form_factor == FormFactor::Integrated {
            // The GPU shares the package with the CPU: it has no host link of its own.
            c.ensure(
                g.pcie_gen == 0 && g.pcie_lanes == 0,
                "pcie_gen",
                "an integrated GPU has no PCIe link: write pcie_gen = 0 and pcie_lanes = 0",
            )?;
        } else {
            c.range("pcie_gen", g.pcie_gen.into(), 1.0, 6.0)?;
            c.ensure(
                [1, 2, 4, 8, 16].contains(&g.pcie_lanes),
                "pcie_lanes",
                "must be 1, 2, 4, 8 or 16",
            )?;
        }
        if g.form_factor == FormFactor::Pcie {
            c.ensure(
                g.slot_width.is_some_and(|w| (1..=5).contains(&w)),
                "slot_width",
                "PCIe cards need a slot width of 1..=5",
            )?;
        }
        for dtype in super::ComputeDtype::ALL {
            if let Some(v) = g.dense_tflops.get(dtype) {
                c.range(&format!("dense_tflops.{}", dtype.name()), v, 0.1, 50_000.0)?;
            }
        }
        c.ensure(
            g.dense_tflops.fp16.is_some() || g.dense_tflops.bf16.is_some(),
            "dense_tflops",
            "needs at least an fp16 or bf16 peak",
        )?;
        unified(&c, g)?;
        c.opt_range("slot_width", g.slot_width.map(f64::from), 1.0, 5.0)?;
        c.opt_range("length_mm", g.length_mm, 50.0, 600.0)?;
        c.opt_range("fabric_gb_per_s", g.fabric_gb_per_s, 1.0, 20_000.0)?;
        // An NVLink domain joins at most 576 GPUs (NVL576); a node is sized from this.
        c.opt_range(
            "fabric_max_gpus",
            g.fabric_max_gpus.map(f64::from),
            2.0,
            576.0,
        )?;
    }
    for m in cat.models.iter() {
        let c = Checker {
            table: &cat.models,
            entry: m,
        };
        check_model_ranges(m).map_err(|(field, message)| c.fail(field, message))?;
        c.range("params_published", m.params_published as f64, 1e6, 1e13)?;
        m.check_layout()
            .map_err(|(field, message)| c.fail(field, message))?;
    }
    for p in cat.platforms.iter() {
        let c = Checker {
            table: &cat.platforms,
            entry: p,
        };
        // 72: a GB200 NVL72 rack is one NVLink domain.
        c.range("max_gpus", p.max_gpus.into(), 1.0, 72.0)?;
        c.range("x16_slots", p.x16_slots.into(), 0.0, 32.0)?;
        c.opt_range(
            "gpu_slot_spacing",
            p.gpu_slot_spacing.map(f64::from),
            1.0,
            5.0,
        )?;
        c.range("cpu_pcie_lanes", p.cpu_pcie_lanes.into(), 0.0, 1024.0)?;
        // A complete machine with an integrated GPU may have no PCIe slots at all.
        let lowest_gen = if p.kind == PlatformKind::System {
            0.0
        } else {
            1.0
        };
        c.range("pcie_gen", p.pcie_gen.into(), lowest_gen, 6.0)?;
        c.range("ram_channels", p.ram_channels.into(), 0.0, 48.0)?;
        // A complete system ships its memory (0 = not stated); a rack holds up to 36 Grace CPUs.
        let lowest_ram = if p.complete_system { 0.0 } else { 1.0 };
        c.range("ram_max_gib", p.ram_max_gib.into(), lowest_ram, 1048576.0)?;
        c.range("cpu_sockets", p.cpu_sockets.into(), 1.0, 64.0)?;
        c.opt_range("psu_w", p.psu_w, 100.0, 200_000.0)?;
        c.opt_range("max_power_w", p.max_power_w, 50.0, 200_000.0)?;
        for gpu in &p.gpus {
            let Some(g) = cat.gpus.get(gpu) else {
                return Err(c.fail("gpus", format!("no gpu '{gpu}' in the catalog")));
            };
            // An integrated GPU comes only inside its machine, and such a machine holds nothing else.
            c.ensure(
                (g.form_factor == FormFactor::Integrated) == (p.kind == PlatformKind::System),
                "gpus",
                &format!("'{gpu}': integrated GPUs go on 'system' platforms, and only they do"),
            )?;
        }
        if p.kind == PlatformKind::System {
            c.ensure(
                !p.gpus.is_empty() && p.complete_system && p.price_includes_gpus,
                "kind",
                "a 'system' lists its GPU and is a complete system whose price includes it",
            )?;
        }
    }
    rig_parts(cat)?;
    for x in cat.cpus.iter() {
        let c = Checker {
            table: &cat.cpus,
            entry: x,
        };
        c.range("cores", x.cores.into(), 1.0, 1024.0)?;
        c.range(
            "threads",
            x.threads.into(),
            x.cores.into(),
            8.0 * f64::from(x.cores),
        )?;
        c.range("tdp_w", x.tdp_w, 1.0, 1_000.0)?;
        c.range("pcie_lanes", x.pcie_lanes.into(), 0.0, 1024.0)?;
        c.range("pcie_gen", x.pcie_gen.into(), 1.0, 6.0)?;
        c.range("ram_channels", x.ram_channels.into(), 1.0, 48.0)?;
    }
    for k in cat.ram.iter() {
        let c = Checker {
            table: &cat.ram,
            entry: k,
        };
        c.range("capacity_gib", k.capacity_gib.into(), 1.0, 8192.0)?;
        c.range("modules", k.modules.into(), 1.0, 64.0)?;
        c.range("speed_mt_per_s", k.speed_mt_per_s.into(), 100.0, 20_000.0)?;
    }
    for d in cat.storage.iter() {
        let c = Checker {
            table: &cat.storage,
            entry: d,
        };
        c.range("capacity_gb", d.capacity_gb, 1.0, 1_000_000.0)?;
        c.range("read_gb_per_s", d.read_gb_per_s, 0.01, 100.0)?;
        c.range("write_gb_per_s", d.write_gb_per_s, 0.01, 100.0)?;
    }
    for x in cat.cases.iter() {
        let c = Checker {
            table: &cat.cases,
            entry: x,
        };
        c.range("expansion_slots", x.expansion_slots.into(), 1.0, 32.0)?;
        c.opt_range("max_gpu_length_mm", x.max_gpu_length_mm, 50.0, 1_000.0)?;
    }
    for x in cat.coolers.iter() {
        let c = Checker {
            table: &cat.coolers,
            entry: x,
        };
        c.opt_range("rated_w", x.rated_w, 10.0, 2_000.0)?;
    }
    for x in cat.network.iter() {
        let c = Checker {
            table: &cat.network,
            entry: x,
        };
        c.range("gbit_per_s", x.gbit_per_s, 1.0, 3_200.0)?;
        c.range("ports", x.ports.into(), 1.0, 16.0)?;
    }
    for p in cat.psus.iter() {
        let c = Checker {
            table: &cat.psus,
            entry: p,
        };
        c.range("watts", p.watts, 100.0, 5_000.0)?;
        c.range(
            "efficiency_at_half_load",
            p.efficiency_at_half_load,
            0.7,
            1.0,
        )?;
        c.opt_range("pcie_8pin", p.pcie_8pin.map(f64::from), 0.0, 32.0)?;
        c.opt_range(
            "connectors_12v_2x6",
            p.connectors_12v_2x6.map(f64::from),
            0.0,
            16.0,
        )?;
    }
    for e in cat.electricity.iter() {
        let c = Checker {
            table: &cat.electricity,
            entry: e,
        };
        c.range("usd_per_kwh", e.usd_per_kwh, 0.01, 2.0)?;
        if let Some(g) = e.gco2_per_kwh {
            c.range("gco2_per_kwh", g, 0.0, 2_000.0)?;
            c.ensure(
                e.sources.contains_key("gco2_per_kwh"),
                "gco2_per_kwh",
                "needs its own source in sources.gco2_per_kwh",
            )?;
        }
        c.ensure(
            is_date(&e.date),
            "date",
            "must be YYYY, YYYY-MM or YYYY-MM-DD",
        )?;
    }
    for r in cat.cloud.iter() {
        let c = Checker {
            table: &cat.cloud,
            entry: r,
        };
        c.ensure(
            cat.gpus.get(&r.gpu).is_some(),
            "gpu",
            &format!("no gpu '{}' in the catalog", r.gpu),
        )?;
        c.range("usd_per_gpu_hour", r.usd_per_gpu_hour, 0.01, 200.0)?;
        c.ensure(
            is_date(&r.date) && r.date.len() >= 7,
            "date",
            "must be YYYY-MM-DD or YYYY-MM",
        )?;
    }
    for r in cat.circuits.iter() {
        let c = Checker {
            table: &cat.circuits,
            entry: r,
        };
        c.range("volts", r.volts, 90.0, 480.0)?;
        c.range("amps", r.amps, 1.0, 400.0)?;
        c.range("continuous_w", r.continuous_w, 100.0, 200_000.0)?;
        c.ensure(
            r.continuous_w <= r.volts * r.amps,
            "continuous_w",
            "exceeds volts × amps",
        )?;
    }
    let defaults = cat.electricity.iter().filter(|e| e.default).count();
    if defaults > 1 {
        let e = cat
            .electricity
            .iter()
            .find(|e| e.default)
            .expect("counted above");
        return Err(Checker {
            table: &cat.electricity,
            entry: e,
        }
        .fail("default", "only one tariff may be the default"));
    }
    Ok(())
}

/// Unified-memory fields: the fraction needs a unified machine and its own source; an integrated
/// GPU always shares the machine's RAM.
fn unified(c: &Checker<Gpu>, g: &Gpu) -> Result<(), CatalogError> {
    if g.form_factor == FormFactor::Integrated {
        c.ensure(
            g.unified_memory,
            "unified_memory",
            "an integrated GPU shares the machine's RAM: set unified_memory = true",
        )?;
    }
    if let Some(f) = g.gpu_memory_fraction {
        c.range("gpu_memory_fraction", f, 0.05, 1.0)?;
        c.ensure(
            g.unified_memory,
            "gpu_memory_fraction",
            "only a unified-memory GPU has a share of RAM",
        )?;
        c.ensure(
            g.sources.contains_key("gpu_memory_fraction"),
            "gpu_memory_fraction",
            "needs its own source in sources.gpu_memory_fraction",
        )?;
    }
    Ok(())
}
