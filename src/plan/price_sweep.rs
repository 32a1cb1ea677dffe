//! Every build the planner can recommend over the embedded catalog is priced, and the one it
//! recommends is the cheapest fully priced fit: each part line of
//! each fitting option, for every model × weight format (inference) and the training workloads,
//! carries a positive, finite, dated and sourced price. The parts no dated price was found for
//! are named below with the reason; everything else is strict. Every fitting option's speed is
//! a positive, finite figure.
use super::*;
use crate::catalog::{Catalog, Entry, FormFactor, PlatformKind, Price, Table};
use clap::ValueEnum;
use std::collections::BTreeMap;

/// Catalog parts a build may contain that have no dated, sourced price (see hardware_db READMEs).
const UNPRICED: &[(&str, &str, &str)] = &[
    (
        "gpu",
        "h200-nvl-141gb",
        "no dated new or used price was found for the H200 NVL card",
    ),
    (
        "platform",
        "supermicro-sys-221ge-nr",
        "no dated barebone price was found for the 2U PCIe GPU server",
    ),
    (
        "platform",
        "supermicro-sys-421ge-tnrt",
        "no dated barebone price was found for the 4U 8-GPU PCIe server",
    ),
    (
        "platform",
        "nvidia-dgx-h200",
        "no dated price for a system that ships 8x H200 was found",
    ),
    (
        "platform",
        "msi-creator-trx40",
        "no dated price was found (PCPartPicker's scrape lists the board without one)",
    ),
    (
        "platform",
        "asus-pro-ws-wrx90e-sage-se",
        "no dated price was found for the WRX90 board",
    ),
    (
        "psu",
        "seasonic-prime-px-2200",
        "unpriced; the planner takes several of the largest unit when no single PSU suffices",
    ),
    (
        "network",
        "nvidia-connectx-7-400g-ib",
        "no dated ConnectX price was found",
    ),
    (
        "network",
        "nvidia-connectx-6-200gbe",
        "no dated ConnectX price was found",
    ),
    (
        "gpu",
        "mi325x",
        "no dated MI325X card or platform price was found",
    ),
    (
        "gpu",
        "rtx-pro-6000-blackwell-server",
        "no dated price was found for the Server Edition card",
    ),
    (
        "platform",
        "asrock-rack-4u8g-turin2",
        "no dated barebone price was found for the 4U 8-GPU EPYC server",
    ),
    (
        "platform",
        "asus-esc8000a-e13p",
        "no dated price was found for the 8-GPU PCIe-switch EPYC server",
    ),
    (
        "platform",
        "asus-esc-a8a-e12u",
        "no dated price was found for the 8x MI325X server",
    ),
    (
        "platform",
        "supermicro-as-8125gs-tnmr2",
        "no dated price was found for the 8-GPU OAM server",
    ),
    (
        "platform",
        "dell-poweredge-xe9680",
        "no dated price was found for an OAM configuration of the server",
    ),
    (
        "platform",
        "asus-xa-nb3i-e12",
        "no dated price was found for the HGX B300 server",
    ),
    (
        "cpu",
        "amd-epyc-9575f",
        "no dated list or street price was found for the EPYC 9005 part",
    ),
    (
        "cpu",
        "intel-xeon-6776p",
        "no dated list or street price was found for the Xeon 6 part",
    ),
    (
        "platform",
        "asus-pro-ws-wrx80e-sage-se-wifi",
        "no dated price was found for the WRX80 board (and no DDR4 RDIMM kit is priced)",
    ),
];

fn cat() -> &'static Catalog {
    static CAT: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CAT.get_or_init(|| Catalog::embedded().expect("embedded catalog validates"))
}

fn check_price(what: &str, p: &Price) -> Result<(), String> {
    let date_ok = matches!(p.date.len(), 7 | 10)
        && p.date.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !(p.usd.is_finite() && p.usd > 0.0) {
        return Err(format!(
            "{what}: price {} is not positive and finite",
            p.usd
        ));
    }
    if !date_ok {
        return Err(format!(
            "{what}: price date '{}' is not YYYY-MM[-DD]",
            p.date
        ));
    }
    if !p.source.starts_with("http") {
        return Err(format!("{what}: price source '{}' is not a URL", p.source));
    }
    Ok(())
}

fn check_table<T: Entry>(table: &Table<T>, errors: &mut Vec<String>) {
    for e in table.iter() {
        for p in e.prices() {
            if let Err(err) = check_price(&format!("{}:{}", T::KIND, e.id()), p) {
                errors.push(err);
            }
        }
    }
}

#[test]
fn every_catalog_price_is_positive_finite_dated_and_sourced() {
    let c = cat();
    let mut errors = Vec::new();
    check_table(&c.gpus, &mut errors);
    check_table(&c.platforms, &mut errors);
    check_table(&c.cpus, &mut errors);
    check_table(&c.ram, &mut errors);
    check_table(&c.storage, &mut errors);
    check_table(&c.psus, &mut errors);
    check_table(&c.cases, &mut errors);
    check_table(&c.coolers, &mut errors);
    check_table(&c.network, &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Why a line without a price is allowed, or `None` if it must be priced.
fn exception(gpu: &Gpu, line: &PartLine) -> Option<&'static str> {
    if let Some(id) = line.id.as_deref() {
        return UNPRICED
            .iter()
            .find(|(kind, part, _)| *kind == line.kind && *part == id)
            .map(|(_, _, why)| *why);
    }
    let c = cat();
    match line.kind {
        // OAM modules need a baseboard server; none in this catalog lists them.
        "platform"
            if gpu.form_factor != FormFactor::Pcie
                && !c.platforms.iter().any(|p| {
                    p.kind == PlatformKind::BaseboardServer && p.gpus.contains(&gpu.id)
                }) =>
        {
            Some("no baseboard server in the catalog lists this module")
        }
        // An OAM baseboard sold as a board, not as a complete server.
        "platform" if line.name.starts_with("server chassis") => {
            Some("no dated price for a host chassis for this baseboard")
        }
        // Several whole machines joined by their own ports, where no catalog cable names them
        // (the Mac Studios have one: apple-thunderbolt-5-pro-cable-1m).
        "network" if line.name.starts_with("link between the machines") => {
            Some("no catalog cable or switch names these machines")
        }
        // Several nodes need a switch and cables; the catalog has adapters only.
        "network" if line.name.starts_with("InfiniBand switch") => {
            Some("no InfiniBand switch with a dated price in the catalog")
        }
        // A llama.cpp RPC split over several machines: an Ethernet switch and cables.
        "network" if line.name.starts_with("Ethernet switch") => {
            Some("no Ethernet switch with a dated price in the catalog")
        }
        // Cards that do not fit side by side on the board.
        "riser" => Some("no PCIe risers or open frame with a dated price in the catalog"),
        // More cards than any catalog case holds (a seven-GPU workstation): an open frame.
        "case" if line.name.starts_with("open frame") => {
            Some("no open-frame rig with a dated price in the catalog")
        }
        _ => None,
    }
}

#[test]
fn every_recommendable_build_is_priced_with_date_and_source() {
    let c = cat();
    let gpus: Vec<&Gpu> = c.gpus.iter().collect();
    let mut requests = Vec::new();
    for m in c.models.iter() {
        let ctx = 2048.min(m.max_position_embeddings);
        for &w in WeightFormat::value_variants() {
            requests.push((
                m,
                PlanRequest {
                    weights: w,
                    ..PlanRequest::new(Workload::Infer, ctx)
                },
            ));
        }
        for wl in [Workload::Train, Workload::Lora, Workload::Qlora] {
            requests.push((m, PlanRequest::new(wl, ctx)));
        }
    }
    let mut errors = Vec::new();
    let mut excused: BTreeMap<String, usize> = BTreeMap::new();
    let mut lines_checked = 0usize;
    let mut recommended = 0usize;
    for (m, r) in &requests {
        let p = plan(c, m, r, &gpus);
        // The recommendation is the cheapest fully priced fit, and there is one whenever such
        // a fit exists.
        let cheapest = p
            .options
            .iter()
            .filter(|o| rank::recommendable(o))
            .filter_map(|o| o.build.as_ref()?.total_usd)
            .min_by(f64::total_cmp);
        match (p.recommendation(), cheapest) {
            (Some(o), Some(low)) => {
                recommended += 1;
                let b = o.build.as_ref().expect("a recommendation has a build");
                if !b.fully_priced || b.total_usd != Some(low) {
                    errors.push(format!(
                        "{} {:?}: recommends {}x{} at {:?}, the cheapest fully priced fit is {low}",
                        m.id, r.weights, o.gpus, o.gpu_id, b.total_usd
                    ));
                }
            }
            (None, None) => {}
            (rec, low) => errors.push(format!(
                "{} {:?}: recommendation {:?} but cheapest fully priced fit {low:?}",
                m.id,
                r.weights,
                rec.map(|o| &o.gpu_id)
            )),
        }
        for o in p.options.iter().filter(|o| o.fits) {
            // Every speed a fitting option states is a real number (JSON would write null).
            if let Some(sp) = &o.speed {
                let figures = [
                    sp.decode_tokens_per_s,
                    sp.prefill_tokens_per_s,
                    sp.time_to_first_token_s,
                    sp.serving.output_tokens_per_s,
                ];
                if !figures.iter().all(|v| v.is_finite() && *v > 0.0) {
                    errors.push(format!(
                        "{} {:?} {}x{}: speed {figures:?}",
                        m.id, r.weights, o.gpus, o.gpu_id
                    ));
                }
            }
            let Some(build) = &o.build else {
                errors.push(format!(
                    "{} {:?} {}: fits but has no build",
                    m.id, r.weights, o.gpu_id
                ));
                continue;
            };
            let gpu = c.gpus.get(&o.gpu_id).expect("option names a catalog GPU");
            let what = |l: &PartLine| {
                format!(
                    "{} {:?} {}x{}: {} '{}'",
                    m.id, r.weights, o.gpus, o.gpu_id, l.kind, l.name
                )
            };
            let total = build.total_usd.or(build.lower_bound_usd);
            if !total.is_none_or(|t| t.is_finite() && t >= 0.0) {
                errors.push(format!(
                    "{} {:?} {}: total {total:?}",
                    m.id, r.weights, o.gpu_id
                ));
            }
            for l in &build.node.lines {
                lines_checked += 1;
                if l.included_in_system() {
                    // Part of a priced system (GPUs or host of a DGX/HGX line).
                    if l.unit_price.is_some() {
                        errors.push(format!("{}: included in the system, yet priced", what(l)));
                    }
                    continue;
                }
                match (&l.unit_price, l.total_usd) {
                    (Some(price), Some(total)) => {
                        if let Err(e) = check_price(&what(l), price) {
                            errors.push(e);
                        }
                        if !(total.is_finite() && total > 0.0) {
                            errors.push(format!("{}: line total {total}", what(l)));
                        }
                    }
                    _ => match exception(gpu, l) {
                        Some(why) => {
                            let part = l.id.clone().unwrap_or_else(|| format!("for {}", gpu.id));
                            let key = format!("{} {part}: {why}", l.kind);
                            *excused.entry(key).or_default() += 1;
                        }
                        None => errors.push(format!("{}: no price", what(l))),
                    },
                }
            }
        }
    }
    // Shown with --nocapture: what the data still lacks, and how often builds hit it.
    for (part, n) in &excused {
        eprintln!("unpriced by exception ({n} lines): {part}");
    }
    assert!(
        lines_checked > 10_000,
        "the sweep checked only {lines_checked} lines"
    );
    assert!(
        recommended > 100,
        "the sweep recommended only {recommended} builds"
    );
    errors.sort();
    errors.dedup();
    assert!(
        errors.is_empty(),
        "{} unpriced or bad lines, e.g.:\n{}",
        errors.len(),
        errors
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
