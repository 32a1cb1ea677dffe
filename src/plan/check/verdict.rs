//! The verdict on a resolved parts list: every rule of [`super`] the build breaks or cannot
//! be checked against, its lines priced with their dates, its power draw and circuits.
use super::list::{resolve, Line, PartsList};
use super::{CheckError, Finding, Severity};
use crate::catalog::{Catalog, FormFactor, Gpu, Platform, PlatformKind};
use crate::numfmt::fmt_int;
use crate::plan::constants as c;
use crate::plan::parts::{self, NodeBuild, PartLine};
use crate::plan::Build;
use serde::Serialize;

/// The verdict on a parts list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildCheck {
    /// `build-check`.
    pub kind: &'static str,
    pub schema_version: u32,
    pub tool_version: &'static str,
    pub name: Option<String>,
    /// The GPU the build carries, when one is listed.
    pub gpu_id: Option<String>,
    /// Every rule the build breaks or cannot be checked against, worst first.
    pub findings: Vec<Finding>,
    /// Whether no finding blocks the build (it works as listed).
    pub passes: bool,
    /// The parts of one node, priced and dated, with power and circuits; all nodes' totals.
    pub build: Build,
    /// Wall power of all nodes at load.
    pub power_load_w: f64,
    /// The largest catalog models the GPUs hold (absent without a catalog GPU).
    pub runs: Option<super::Runs>,
}

fn missing(findings: &mut Vec<Finding>, severity: Severity, what: &str) {
    findings.push(Finding::new("missing", severity, what.to_owned()));
}

/// How many of the largest runnable models a check lists.
const RUNS_SHOWN: usize = 5;

/// Checks a parts list. `file` names where it came from (the source of your own prices);
/// `as_of` dates price ages.
pub fn check_list(
    cat: &Catalog,
    list: &PartsList,
    file: &str,
    as_of: Option<&str>,
) -> Result<BuildCheck, CheckError> {
    let nodes = list.nodes.unwrap_or(1);
    if !(1..=crate::plan::request::MAX_NODES).contains(&nodes) {
        return Err(CheckError::Invalid {
            field: "nodes",
            message: format!("must be between 1 and {}", crate::plan::request::MAX_NODES),
        });
    }
    let board = resolve(&cat.platforms, "board", list.board.as_ref(), 1)?;
    let gpu = resolve(&cat.gpus, "gpu", list.gpu.as_ref(), 1)?;
    let sockets = board
        .as_ref()
        .and_then(|b| b.entry)
        .map_or(1, |p| p.cpu_sockets.max(1));
    let cpu = resolve(&cat.cpus, "cpu", list.cpu.as_ref(), sockets)?;
    let ram = resolve(&cat.ram, "ram", list.ram.as_ref(), 1)?;
    let storage = resolve(&cat.storage, "storage", list.storage.as_ref(), 1)?;
    let psu = resolve(&cat.psus, "psu", list.psu.as_ref(), 1)?;
    let case = resolve(&cat.cases, "case", list.case.as_ref(), 1)?;
    let cooler = resolve(&cat.coolers, "cooler", list.cooler.as_ref(), 1)?;
    let network = resolve(&cat.network, "network", list.network.as_ref(), 1)?;
    let frame = resolve(&cat.frames, "frame", list.frame.as_ref(), 1)?;
    let riser = resolve(&cat.risers, "riser", list.riser.as_ref(), 1)?;
    let circuit = match &list.circuit {
        Some(id) => Some(
            cat.circuits
                .resolve(id)
                .map_err(|source| CheckError::Unknown {
                    field: "circuit",
                    source: Box::new(source),
                })?,
        ),
        None => None,
    };

    let mut f = Vec::new();
    let p = board.as_ref().and_then(|b| b.entry);
    let g = gpu.as_ref().and_then(|l| l.entry);
    let n = gpu.as_ref().map_or(0, |l| l.quantity);
    let complete = p.is_some_and(|p| p.complete_system);
    let desktop = p.is_some_and(|p| p.kind == PlatformKind::WorkstationBoard);
    match (&board, p) {
        (None, _) => missing(&mut f, Severity::Blocks, "no board or server listed"),
        (Some(_), None) => f.push(Finding::new("not-in-catalog", Severity::Unknown, "the board is not in the catalog: slots, lanes, sockets and form factor are not checked".into())),
        _ => {}
    }
    match (&gpu, g) {
        (None, _) => missing(
            &mut f,
            Severity::Unknown,
            "no GPU listed: nothing to run models on",
        ),
        (Some(_), None) => f.push(Finding::new(
            "not-in-catalog",
            Severity::Unknown,
            "the GPU is not in the catalog: its slots, cooling, power and what it runs are not checked".into(),
        )),
        _ => {}
    }
    // Cards on risers in an open frame leave the board's slot spacing out of it.
    let on_risers = riser.as_ref().is_some_and(|r| r.quantity >= n) && frame.is_some();
    if let (Some(p), Some(g)) = (p, g) {
        gpu_rules(&mut f, p, g, n, on_risers);
    }
    let cpu_e = cpu.as_ref().and_then(|l| l.entry);
    if let Some(p) = p.filter(|_| !complete) {
        host_rules(&mut f, p, &cpu, &ram, &cooler, desktop);
        let lanes = match cpu_e {
            Some(x) => p
                .cpu_pcie_lanes
                .min(x.pcie_lanes * cpu.as_ref().map_or(1, |l| l.quantity)),
            None => p.cpu_pcie_lanes,
        };
        if g.is_some_and(|g| g.form_factor == FormFactor::Pcie) {
            f.extend(super::lanes_finding(p, lanes, n));
        }
    }
    // A case for a desktop board; a server or a whole machine is its own chassis.
    if let (Some(p), Some(g)) = (p, g) {
        match (desktop, &case, &frame) {
            (true, _, Some(fr)) if on_risers => match fr.entry {
                Some(fr) => f.extend(super::frame_findings(fr, p, g, n)),
                None => f.push(Finding::new("not-in-catalog", Severity::Unknown, format!("the frame '{}' is not in the catalog: not checked", fr.name()))),
            },
            (true, Some(cl), _) => match cl.entry {
                Some(x) => f.extend(super::case_findings(x, p, g, n)),
                None => f.push(Finding::new("not-in-catalog", Severity::Unknown, format!("the case '{}' is not in the catalog: not checked", cl.name()))),
            },
            (true, None, Some(_)) => missing(&mut f, Severity::Blocks, &format!("an open frame needs a PCIe riser per card: list riser = {{ id = …, quantity = {n} }}, or a case")),
            (true, None, None) => missing(&mut f, Severity::Unknown, "no case or open frame listed"),
            (false, Some(cl), _) => f.push(Finding::new("case-form-factor", Severity::Blocks, format!("'{}' is {}: it has its own chassis, so the case '{}' has no board to hold", p.name, p.kind.describe(), cl.name()))),
            (false, None, _) => {}
        }
    }
    if storage.is_none() && !complete {
        missing(&mut f, Severity::Unknown, "no storage listed: the weights need a drive (two copies fit on one of twice their size)");
    }

    // Power: GPUs, CPUs and the rest of the system, per node.
    let gpu_w = g.map_or(0.0, |g| g.tdp_w * n as f64);
    let cpu_w = cpu_e.map_or(0.0, |x| {
        x.tdp_w * cpu.as_ref().map_or(1, |l| l.quantity) as f64
    });
    if cpu.is_some() && cpu_e.is_none() {
        f.push(Finding::new(
            "not-in-catalog",
            Severity::Unknown,
            "the CPU is not in the catalog: its power is left out of the load".into(),
        ));
    }
    let base_w = if g.is_some_and(|g| g.form_factor == FormFactor::Integrated) {
        0.0
    } else {
        c::SYSTEM_BASE_W
    };
    let dc_load_w = gpu_w + cpu_w + base_w;
    let mut efficiency = c::DEFAULT_PSU_EFFICIENCY;
    let mut capacity = p.and_then(|p| p.psu_w).unwrap_or(0.0);
    match (desktop, &psu) {
        (true, Some(l)) => match l.entry {
            Some(x) => {
                efficiency = x.efficiency_at_half_load;
                capacity = x.watts * l.quantity as f64;
                match g {
                    Some(g) => f.extend(super::psu_findings(x, l.quantity, g, n, dc_load_w)),
                    None if capacity < super::psu_need_w(dc_load_w) => f.push(Finding::new(
                        "psu-capacity",
                        Severity::Blocks,
                        format!(
                            "{} W for a {} W DC load × {} headroom",
                            fmt_int(capacity),
                            fmt_int(dc_load_w),
                            c::PSU_HEADROOM
                        ),
                    )),
                    None => {}
                }
                if l.quantity > 1 {
                    f.push(Finding::new("psu-capacity", Severity::Unknown, format!("{} power supplies in one desktop: join them with an add2psu board, and give each card's connectors from one supply", l.quantity)));
                }
            }
            None => f.push(Finding::new(
                "not-in-catalog",
                Severity::Unknown,
                "the PSU is not in the catalog: capacity and connectors are not checked".into(),
            )),
        },
        (true, None) => missing(
            &mut f,
            Severity::Blocks,
            &format!(
                "no PSU listed for a {} W DC load ({} W with headroom)",
                fmt_int(dc_load_w),
                fmt_int(super::psu_need_w(dc_load_w))
            ),
        ),
        (false, Some(l)) => f.push(Finding::new(
            "psu-capacity",
            Severity::Unknown,
            format!(
                "'{}' has its own power supplies; '{}' is not used",
                p.map_or("the server", |p| p.name.as_str()),
                l.name()
            ),
        )),
        (false, None) => {
            if let Some(p) = p.filter(|p| p.psu_w.is_none() && p.max_power_w.is_none()) {
                f.push(Finding::new(
                    "psu-capacity",
                    Severity::Unknown,
                    format!(
                        "the catalog lacks the power supplies of '{}': check they cover {} W",
                        p.name,
                        fmt_int(super::psu_need_w(dc_load_w))
                    ),
                ));
            } else if let Some(cap) = p
                .and_then(|p| p.psu_w)
                .filter(|cap| *cap < super::psu_need_w(dc_load_w))
            {
                f.push(Finding::new(
                    "psu-capacity",
                    Severity::Blocks,
                    format!(
                        "the server's {} W of power supplies are short of {} W",
                        fmt_int(cap),
                        fmt_int(super::psu_need_w(dc_load_w))
                    ),
                ));
            }
        }
    }
    let wall_load_w = p
        .and_then(|p| p.max_power_w)
        .unwrap_or(dc_load_w / efficiency);
    let wall_idle_w = ((gpu_w + cpu_w) * c::GPU_IDLE_FRACTION + base_w) / efficiency;
    let circuits = super::circuits(cat, wall_load_w);
    if let Some(ci) = circuit {
        let count = super::units(wall_load_w, ci.continuous_w);
        if count > 1 {
            f.push(Finding::new("circuit", Severity::Blocks, format!("a node draws {} W at the wall; one '{}' carries {} W continuous: it needs {count}", fmt_int(wall_load_w), ci.name, fmt_int(ci.continuous_w))));
        }
    }
    if nodes > 1 {
        match &network {
            None => missing(&mut f, Severity::Unknown, &format!("{nodes} nodes and no network part: onboard Ethernet serves a llama.cpp RPC split, not a vLLM pipeline or training")),
            Some(_) if nodes > 2 => f.push(Finding::new("network", Severity::Unknown, format!("{nodes} nodes need a switch and cables (not in the list), or a port per peer"))),
            Some(_) => {}
        }
    }

    let mut lines = Vec::new();
    let kinds: [(&'static str, Option<PartLine>); 11] = [
        ("gpu", gpu.as_ref().map(|l| l.part_line("gpu", file))),
        (
            "platform",
            board.as_ref().map(|l| l.part_line("platform", file)),
        ),
        ("cpu", cpu.as_ref().map(|l| l.part_line("cpu", file))),
        ("ram", ram.as_ref().map(|l| l.part_line("ram", file))),
        (
            "storage",
            storage.as_ref().map(|l| l.part_line("storage", file)),
        ),
        ("psu", psu.as_ref().map(|l| l.part_line("psu", file))),
        ("case", case.as_ref().map(|l| l.part_line("case", file))),
        (
            "cooler",
            cooler.as_ref().map(|l| l.part_line("cooler", file)),
        ),
        (
            "network",
            network.as_ref().map(|l| l.part_line("network", file)),
        ),
        ("frame", frame.as_ref().map(|l| l.part_line("frame", file))),
        ("riser", riser.as_ref().map(|l| l.part_line("riser", file))),
    ];
    lines.extend(kinds.into_iter().filter_map(|(_, l)| l));
    if p.is_some_and(|p| p.price_includes_gpus) {
        if let Some(l) = lines.iter_mut().find(|l| l.kind == "gpu") {
            l.unit_price = None;
            l.total_usd = None;
            l.note = Some(format!("{} price", crate::plan::parts::INCLUDED));
        }
    }
    f.sort_by_key(|x| x.severity);
    let passes = f.iter().all(|x| x.severity != Severity::Blocks);
    let priced = |kind: &str| {
        lines
            .iter()
            .any(|l| l.kind == kind && l.total_usd.is_some())
    };
    let gpu_cost_known =
        priced("gpu") || (p.is_some_and(|p| p.price_includes_gpus) && priced("platform"));
    let node = NodeBuild::from_lines(parts::NodeFigures {
        gpus_per_node: n,
        lines,
        builds_as_listed: passes,
        gpu_cost_known,
        dc_load_w,
        wall_load_w,
        wall_idle_w,
        psu_capacity_w: capacity,
        circuits,
        warnings: f.iter().map(|x| x.message.clone()).collect(),
    });
    let build = parts::priced_build(node, nodes, as_of);
    Ok(BuildCheck {
        kind: "build-check",
        schema_version: crate::plan::SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        name: list.name.clone(),
        gpu_id: g.map(|g| g.id.clone()),
        findings: f,
        passes,
        power_load_w: wall_load_w * nodes as f64,
        runs: g.map(|g| super::runnable(cat, g, n, nodes, super::runs::CONTEXT_TOKENS, RUNS_SHOWN)),
        build,
    })
}

/// Whether the board takes the cards: module type, slots, spacing (unless every card is on a
/// riser in a frame) and cooling.
fn gpu_rules(f: &mut Vec<Finding>, p: &Platform, g: &Gpu, n: u32, on_risers: bool) {
    f.extend(super::slot_findings(p, g, n));
    if g.form_factor != FormFactor::Pcie {
        return;
    }
    if !on_risers {
        f.extend(super::spacing_finding(p, g, n));
    }
    f.extend(super::cooling_finding(p, g));
}

/// CPU socket and count, RAM kind and capacity, cooler socket.
fn host_rules(
    f: &mut Vec<Finding>,
    p: &Platform,
    cpu: &Option<Line<'_, crate::catalog::Cpu>>,
    ram: &Option<Line<'_, crate::catalog::Ram>>,
    cooler: &Option<Line<'_, crate::catalog::Cooler>>,
    desktop: bool,
) {
    match cpu {
        None => missing(
            f,
            Severity::Blocks,
            &format!(
                "no CPU listed for the {} socket: its power is left out of the load",
                p.socket
            ),
        ),
        Some(l) => {
            if let Some(x) = l.entry {
                if x.socket != p.socket {
                    f.push(Finding::new(
                        "socket",
                        Severity::Blocks,
                        format!(
                            "'{}' is an {} CPU; '{}' has {} sockets",
                            x.name, x.socket, p.name, p.socket
                        ),
                    ));
                }
            }
            if l.quantity != p.cpu_sockets.max(1) {
                f.push(Finding::new(
                    "socket",
                    Severity::Blocks,
                    format!(
                        "'{}' has {} CPU sockets; the list has {} CPUs",
                        p.name,
                        p.cpu_sockets.max(1),
                        l.quantity
                    ),
                ));
            }
        }
    }
    match ram {
        None => missing(f, Severity::Blocks, "no RAM listed"),
        Some(l) => {
            if let Some(k) = l.entry {
                if p.ram_kind.as_deref().is_some_and(|want| want != k.kind) {
                    f.push(Finding::new(
                        "ram",
                        Severity::Blocks,
                        format!(
                            "'{}' is {}; '{}' takes {}",
                            k.name,
                            k.kind,
                            p.name,
                            p.ram_kind.as_deref().unwrap_or("-")
                        ),
                    ));
                }
                f.extend(super::ram_max_finding(
                    p,
                    l.quantity.saturating_mul(k.capacity_gib),
                ));
            }
        }
    }
    match cooler {
        None if desktop => missing(
            f,
            Severity::Blocks,
            &format!("no CPU cooler listed for the {} socket", p.socket),
        ),
        Some(l) => {
            if let Some(x) = l.entry {
                if !x.sockets.contains(&p.socket) {
                    f.push(Finding::new(
                        "cooler",
                        Severity::Blocks,
                        format!(
                            "'{}' mounts on {}; the board's socket is {}",
                            x.name,
                            x.sockets.join(", "),
                            p.socket
                        ),
                    ));
                }
            }
        }
        None => {}
    }
}
