//! `llmrig build check`: a user's parts list (a TOML file or the same fields on the command
//! line) checked against the rules of [`super`], priced with each line's date, with its power
//! draw and circuits. Parsing the file is the caller's; this module resolves ids against the
//! catalog and judges the build.
use super::{Finding, Severity};
use crate::catalog::{
    preferred_price, Catalog, CatalogError, Entry, FormFactor, Gpu, Platform, PlatformKind, Price,
    PriceKind, Table,
};
use crate::plan::constants as c;
use crate::plan::parts::{self, NodeBuild, PartLine};
use crate::plan::Build;
use serde::{Deserialize, Serialize};

/// A parts list: every field is optional, and missing parts are findings, not errors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartsList {
    /// What the build is called in the report.
    #[serde(default)]
    pub name: Option<String>,
    /// Identical machines joined by a network (default 1).
    #[serde(default)]
    pub nodes: Option<u32>,
    /// The motherboard or GPU server (a catalog platform).
    #[serde(default, alias = "platform")]
    pub board: Option<Item>,
    #[serde(default)]
    pub cpu: Option<Item>,
    #[serde(default)]
    pub ram: Option<Item>,
    /// The GPUs of one node: `"4xv100-pcie-32gb"` or `{ id = …, quantity = 4 }`.
    #[serde(default)]
    pub gpu: Option<Item>,
    #[serde(default)]
    pub storage: Option<Item>,
    #[serde(default)]
    pub psu: Option<Item>,
    #[serde(default)]
    pub case: Option<Item>,
    #[serde(default)]
    pub cooler: Option<Item>,
    /// A network adapter per node (or a cable joining whole machines).
    #[serde(default)]
    pub network: Option<Item>,
    /// An open frame that holds the cards on risers instead of a case.
    #[serde(default)]
    pub frame: Option<Item>,
    /// PCIe risers (one per card moved off the board).
    #[serde(default)]
    pub riser: Option<Item>,
    /// The branch circuit each node plugs into (a catalog circuit id, e.g. `us-15a-120v`).
    #[serde(default)]
    pub circuit: Option<String>,
}

impl PartsList {
    /// This list with every field `other` sets replacing its own (the command line over the file).
    pub fn overlaid(self, other: PartsList) -> PartsList {
        PartsList {
            name: other.name.or(self.name),
            nodes: other.nodes.or(self.nodes),
            board: other.board.or(self.board),
            cpu: other.cpu.or(self.cpu),
            ram: other.ram.or(self.ram),
            gpu: other.gpu.or(self.gpu),
            storage: other.storage.or(self.storage),
            psu: other.psu.or(self.psu),
            case: other.case.or(self.case),
            cooler: other.cooler.or(self.cooler),
            network: other.network.or(self.network),
            frame: other.frame.or(self.frame),
            riser: other.riser.or(self.riser),
            circuit: other.circuit.or(self.circuit),
        }
    }
}

/// One line of the list: a catalog id (`"corsair-ax1600i"`, `"2xsamsung-…"`), or a table with
/// a quantity and, where the catalog has no price or you paid another, your own dated price.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Item {
    Id(String),
    Spec(ItemSpec),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    /// Catalog id or alias; absent for a part the catalog lacks (then `name`).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub quantity: Option<u32>,
    /// Your price for one unit, USD; needs `date`.
    #[serde(default)]
    pub usd: Option<f64>,
    /// When you saw or paid it, `YYYY-MM` or `YYYY-MM-DD`.
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    /// `street-new`, `used`, `launch-msrp` or `estimate` (default).
    #[serde(default)]
    pub kind: Option<PriceKind>,
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Item, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Item;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a catalog id such as \"corsair-ax1600i\" or \"4xv100-pcie-32gb\", or a table { id, quantity, usd, date, source }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Item, E> {
                Ok(Item::Id(v.to_owned()))
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, m: M) -> Result<Item, M::Error> {
                ItemSpec::deserialize(serde::de::value::MapAccessDeserializer::new(m)).map(Item::Spec)
            }
        }
        d.deserialize_any(V)
    }
}

impl Item {
    /// The item as a spec: `"4xid"` becomes id with quantity 4.
    pub fn spec(&self) -> ItemSpec {
        match self {
            Item::Spec(s) => s.clone(),
            Item::Id(s) => {
                let counted = s.split_once(['x', '×']).and_then(|(n, id)| {
                    let n: u32 = n.trim().parse().ok()?;
                    Some((n, id.trim().to_owned()))
                });
                match counted {
                    Some((n, id)) => ItemSpec {
                        id: Some(id),
                        quantity: Some(n),
                        ..ItemSpec::default()
                    },
                    None => ItemSpec {
                        id: Some(s.trim().to_owned()),
                        ..ItemSpec::default()
                    },
                }
            }
        }
    }
}

/// A parts list that cannot be checked.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{field}: {source}")]
    Unknown {
        field: &'static str,
        source: Box<CatalogError>,
    },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// The verdict on a parts list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildCheck {
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
}

/// A resolved line: the catalog entry (if any), its quantity and the user's price.
struct Line<'a, T> {
    entry: Option<&'a T>,
    spec: ItemSpec,
    quantity: u32,
}

fn resolve<'a, T: Entry>(
    table: &'a Table<T>,
    field: &'static str,
    item: Option<&Item>,
    default_quantity: u32,
) -> Result<Option<Line<'a, T>>, CheckError> {
    let Some(item) = item else { return Ok(None) };
    let spec = item.spec();
    let entry = match &spec.id {
        Some(id) => Some(table.resolve(id).map_err(|source| CheckError::Unknown { field, source: Box::new(source) })?),
        None if spec.name.is_none() => {
            return Err(CheckError::Invalid {
                field,
                message: "give a catalog 'id' or, for a part the catalog lacks, a 'name'".into(),
            })
        }
        None => None,
    };
    let quantity = spec.quantity.unwrap_or(default_quantity);
    if quantity == 0 || quantity > 1024 {
        return Err(CheckError::Invalid {
            field,
            message: format!("quantity must be between 1 and 1024 (got {quantity})"),
        });
    }
    match (spec.usd, &spec.date) {
        (Some(usd), Some(date)) => {
            if !(usd.is_finite() && usd > 0.0 && usd < 1e9) {
                return Err(CheckError::Invalid { field, message: format!("usd must be a positive price (got {usd})") });
            }
            if crate::plan::rank::price_age_months(date, date).is_none() {
                return Err(CheckError::Invalid { field, message: format!("date '{date}' is not YYYY-MM or YYYY-MM-DD") });
            }
        }
        (Some(_), None) => {
            return Err(CheckError::Invalid {
                field,
                message: "a price needs its date: add date = \"YYYY-MM\"".into(),
            })
        }
        (None, Some(_)) => {
            return Err(CheckError::Invalid { field, message: "date without usd".into() })
        }
        (None, None) => {}
    }
    Ok(Some(Line { entry, spec, quantity }))
}

impl<T: Entry> Line<'_, T> {
    /// The user's price, else the catalog's preferred one.
    fn price(&self, file: &str) -> Option<Price> {
        match (self.spec.usd, &self.spec.date) {
            (Some(usd), Some(date)) => Some(Price {
                usd,
                kind: self.spec.kind.unwrap_or(PriceKind::Estimate),
                date: date.clone(),
                source: self.spec.source.clone().unwrap_or_else(|| file.to_owned()),
                note: Some("your price, from the parts list".into()),
            }),
            _ => self.entry.and_then(|e| preferred_price(e.prices()).cloned()),
        }
    }

    fn name(&self) -> String {
        self.entry
            .map(|e| e.name().to_owned())
            .or_else(|| self.spec.name.clone())
            .unwrap_or_default()
    }

    fn part_line(&self, kind: &'static str, file: &str) -> PartLine {
        let price = self.price(file);
        PartLine {
            kind,
            id: self.entry.map(|e| e.id().to_owned()),
            name: self.name(),
            quantity: self.quantity,
            total_usd: price.as_ref().map(|p| p.usd * self.quantity as f64),
            unit_price: price,
            price_age_months: None,
            note: match (self.entry, self.spec.usd) {
                (None, _) => Some("not in the catalog: not checked".into()),
                (Some(_), None) if self.entry.is_some_and(|e| e.prices().is_empty()) => {
                    Some("the catalog has no dated price: add usd and date to price it".into())
                }
                _ => None,
            },
        }
    }
}

fn missing(findings: &mut Vec<Finding>, severity: Severity, what: &str) {
    findings.push(Finding::new("missing", severity, what.to_owned()));
}

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
    let sockets = board.as_ref().and_then(|b| b.entry).map_or(1, |p| p.cpu_sockets.max(1));
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
        Some(id) => Some(cat.circuits.resolve(id).map_err(|source| CheckError::Unknown { field: "circuit", source: Box::new(source) })?),
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
    if gpu.is_none() {
        missing(&mut f, Severity::Unknown, "no GPU listed: nothing to run models on");
    }
    if let (Some(p), Some(g)) = (p, g) {
        gpu_rules(&mut f, p, g, n, &riser, &frame);
    }
    let cpu_e = cpu.as_ref().and_then(|l| l.entry);
    if let Some(p) = p.filter(|_| !complete) {
        host_rules(&mut f, p, &cpu, &ram, &cooler, desktop);
        let lanes = match cpu_e {
            Some(x) => p.cpu_pcie_lanes.min(x.pcie_lanes * cpu.as_ref().map_or(1, |l| l.quantity)),
            None => p.cpu_pcie_lanes,
        };
        if g.is_some_and(|g| g.form_factor == FormFactor::Pcie) {
            f.extend(super::lanes_finding(p, lanes, n));
        }
    }
    // A case for a desktop board; a server or a whole machine is its own chassis.
    if let (Some(p), Some(g)) = (p, g) {
        let on_risers = riser.as_ref().is_some_and(|r| r.quantity >= n) && frame.is_some();
        match (desktop, &case, &frame) {
            (true, _, Some(fr)) if on_risers => match fr.entry {
                Some(fr) => f.extend(super::frame_findings(fr, p, g, n)),
                None => f.push(Finding::new("not-in-catalog", Severity::Unknown, format!("the frame '{}' is not in the catalog: not checked", fr.name()))),
            },
            (true, Some(cl), _) => match cl.entry {
                Some(x) => f.extend(super::case_findings(x, p, g, n)),
                None => f.push(Finding::new("not-in-catalog", Severity::Unknown, format!("the case '{}' is not in the catalog: not checked", cl.name()))),
            },
            (true, None, _) => missing(&mut f, Severity::Unknown, "no case or open frame listed"),
            (false, Some(cl), _) => f.push(Finding::new("case-form-factor", Severity::Blocks, format!("'{}' is {}: it has its own chassis, so the case '{}' has no board to hold", p.name, p.kind.describe(), cl.name()))),
            (false, None, _) => {}
        }
    }
    if storage.is_none() && !complete {
        missing(&mut f, Severity::Unknown, "no storage listed: the weights need a drive (two copies fit on one of twice their size)");
    }

    // Power: GPUs, CPUs and the rest of the system, per node.
    let gpu_w = g.map_or(0.0, |g| g.tdp_w * n as f64);
    let cpu_w = cpu_e.map_or(0.0, |x| x.tdp_w * cpu.as_ref().map_or(1, |l| l.quantity) as f64);
    if cpu.is_some() && cpu_e.is_none() {
        f.push(Finding::new("not-in-catalog", Severity::Unknown, "the CPU is not in the catalog: its power is left out of the load".into()));
    }
    let base_w = if g.is_some_and(|g| g.form_factor == FormFactor::Integrated) { 0.0 } else { c::SYSTEM_BASE_W };
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
                    None if capacity < super::psu_need_w(dc_load_w) => f.push(Finding::new("psu-capacity", Severity::Blocks, format!("{capacity:.0} W for a {dc_load_w:.0} W DC load × {} headroom", c::PSU_HEADROOM))),
                    None => {}
                }
                if l.quantity > 1 {
                    f.push(Finding::new("psu-capacity", Severity::Unknown, format!("{} power supplies in one desktop: join them with an add2psu board, and give each card's connectors from one supply", l.quantity)));
                }
            }
            None => f.push(Finding::new("not-in-catalog", Severity::Unknown, "the PSU is not in the catalog: capacity and connectors are not checked".into())),
        },
        (true, None) => missing(&mut f, Severity::Blocks, &format!("no PSU listed for a {dc_load_w:.0} W DC load ({:.0} W with headroom)", super::psu_need_w(dc_load_w))),
        (false, Some(l)) => f.push(Finding::new("psu-capacity", Severity::Unknown, format!("'{}' has its own power supplies; '{}' is not used", p.map_or("the server", |p| p.name.as_str()), l.name()))),
        (false, None) => {
            if let Some(p) = p.filter(|p| p.psu_w.is_none() && p.max_power_w.is_none()) {
                f.push(Finding::new("psu-capacity", Severity::Unknown, format!("the catalog lacks the power supplies of '{}': check they cover {:.0} W", p.name, super::psu_need_w(dc_load_w))));
            } else if let Some(cap) = p.and_then(|p| p.psu_w).filter(|cap| *cap < super::psu_need_w(dc_load_w)) {
                f.push(Finding::new("psu-capacity", Severity::Blocks, format!("the server's {cap:.0} W of power supplies are short of {:.0} W", super::psu_need_w(dc_load_w))));
            }
        }
    }
    let wall_load_w = p.and_then(|p| p.max_power_w).unwrap_or(dc_load_w / efficiency);
    let wall_idle_w = ((gpu_w + cpu_w) * c::GPU_IDLE_FRACTION + base_w) / efficiency;
    let circuits = super::circuits(cat, wall_load_w);
    if let Some(ci) = circuit {
        let count = super::units(wall_load_w, ci.continuous_w);
        if count > 1 {
            f.push(Finding::new("circuit", Severity::Blocks, format!("a node draws {wall_load_w:.0} W at the wall; one '{}' carries {:.0} W continuous: it needs {count}", ci.name, ci.continuous_w)));
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
        ("platform", board.as_ref().map(|l| l.part_line("platform", file))),
        ("cpu", cpu.as_ref().map(|l| l.part_line("cpu", file))),
        ("ram", ram.as_ref().map(|l| l.part_line("ram", file))),
        ("storage", storage.as_ref().map(|l| l.part_line("storage", file))),
        ("psu", psu.as_ref().map(|l| l.part_line("psu", file))),
        ("case", case.as_ref().map(|l| l.part_line("case", file))),
        ("cooler", cooler.as_ref().map(|l| l.part_line("cooler", file))),
        ("network", network.as_ref().map(|l| l.part_line("network", file))),
        ("frame", frame.as_ref().map(|l| l.part_line("frame", file))),
        ("riser", riser.as_ref().map(|l| l.part_line("riser", file))),
    ];
    lines.extend(kinds.into_iter().filter_map(|(_, l)| l));
    if p.is_some_and(|p| p.price_includes_gpus) {
        if let Some(l) = lines.iter_mut().find(|l| l.kind == "gpu") {
            l.unit_price = None;
            l.total_usd = None;
            l.note = Some("included in the system price".into());
        }
    }
    f.sort_by_key(|x| x.severity);
    let passes = f.iter().all(|x| x.severity != Severity::Blocks);
    let priced = |kind: &str| lines.iter().any(|l| l.kind == kind && l.total_usd.is_some());
    let gpu_cost_known = priced("gpu")
        || (p.is_some_and(|p| p.price_includes_gpus) && priced("platform"));
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
        name: list.name.clone(),
        gpu_id: g.map(|g| g.id.clone()),
        findings: f,
        passes,
        power_load_w: wall_load_w * nodes as f64,
        build,
    })
}

/// Whether the board takes the cards: module type, slots, spacing (unless every card is on a
/// riser in a frame) and cooling.
fn gpu_rules<R, F>(
    f: &mut Vec<Finding>,
    p: &Platform,
    g: &Gpu,
    n: u32,
    riser: &Option<Line<'_, R>>,
    frame: &Option<Line<'_, F>>,
) {
    f.extend(super::slot_findings(p, g, n));
    if g.form_factor != FormFactor::Pcie {
        return;
    }
    let on_risers = riser.as_ref().is_some_and(|r| r.quantity >= n) && frame.is_some();
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
        None => missing(f, Severity::Blocks, &format!("no CPU listed for the {} socket: its power is left out of the load", p.socket)),
        Some(l) => {
            if let Some(x) = l.entry {
                if x.socket != p.socket {
                    f.push(Finding::new("socket", Severity::Blocks, format!("'{}' is an {} CPU; '{}' has {} sockets", x.name, x.socket, p.name, p.socket)));
                }
            }
            if l.quantity != p.cpu_sockets.max(1) {
                f.push(Finding::new("socket", Severity::Blocks, format!("'{}' has {} CPU sockets; the list has {} CPUs", p.name, p.cpu_sockets.max(1), l.quantity)));
            }
        }
    }
    match ram {
        None => missing(f, Severity::Blocks, "no RAM listed"),
        Some(l) => {
            if let Some(k) = l.entry {
                if p.ram_kind.as_deref().is_some_and(|want| want != k.kind) {
                    f.push(Finding::new("ram", Severity::Blocks, format!("'{}' is {}; '{}' takes {}", k.name, k.kind, p.name, p.ram_kind.as_deref().unwrap_or("-"))));
                }
                f.extend(super::ram_max_finding(p, l.quantity.saturating_mul(k.capacity_gib)));
            }
        }
    }
    match cooler {
        None if desktop => missing(f, Severity::Blocks, &format!("no CPU cooler listed for the {} socket", p.socket)),
        Some(l) => {
            if let Some(x) = l.entry {
                if !x.sockets.contains(&p.socket) {
                    f.push(Finding::new("cooler", Severity::Blocks, format!("'{}' mounts on {}; the board's socket is {}", x.name, x.sockets.join(", "), p.socket)));
                }
            }
        }
        None => {}
    }
}
