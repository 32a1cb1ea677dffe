//! The parts list for one node of a layout: platform, CPU, RAM, storage, PSU, case, cooling,
//! network, with dated prices, power draw and the circuits it needs.
use super::check::{self, units, Spacing};
use super::constants as c;
use crate::catalog::{
    preferred_price, Catalog, Cooling, FormFactor, Gpu, Platform, PlatformKind, Price,
};
use crate::numfmt::fmt_int;
use serde::Serialize;

/// One line of the parts list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartLine {
    /// `gpu`, `platform`, `cpu`, `ram`, `storage`, `psu`, `case`, `cooler`, `network`.
    pub kind: &'static str,
    /// Catalog id, absent for an item the catalog lacks.
    pub id: Option<String>,
    pub name: String,
    pub quantity: u32,
    /// Unit price with its date and source; absent when unknown or included in another line.
    pub unit_price: Option<Price>,
    /// quantity × unit price.
    pub total_usd: Option<f64>,
    /// Whole months from the price's date to the plan's `prices_as_of` date.
    pub price_age_months: Option<u32>,
    /// Why this part, or what to watch for.
    pub note: Option<String>,
}

/// Circuits of one kind that a node needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CircuitNeed {
    pub circuit: String,
    pub name: String,
    pub continuous_w: f64,
    pub count: u32,
}

/// Everything one node needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeBuild {
    pub gpus_per_node: u32,
    pub lines: Vec<PartLine>,
    /// Whether the GPUs' cost is known (priced, or included in a priced system).
    pub gpu_cost_known: bool,
    /// Whether the parts hold the GPUs as listed, without risers, an open frame or other cards.
    pub builds_as_listed: bool,
    /// Sum of the priced lines for one node; absent when no line has a price.
    pub priced_total_usd: Option<f64>,
    /// Lines without a known price.
    pub unpriced: Vec<String>,
    /// Steady DC load of the node at full GPU load.
    pub dc_load_w: f64,
    /// Wall power at full load (DC load ÷ PSU efficiency, or the system's rated maximum).
    pub wall_load_w: f64,
    /// Wall power idle (assumed; see GPU_IDLE_FRACTION).
    pub wall_idle_w: f64,
    /// PSU capacity installed (or built into the system).
    pub psu_capacity_w: f64,
    pub circuits: Vec<CircuitNeed>,
    /// Seconds to read this node's share of the weights from its NVMe storage.
    pub load_time_s: Option<f64>,
    /// Physical, electrical and supply warnings.
    pub warnings: Vec<String>,
}

fn priced<'a, T>(
    items: impl Iterator<Item = (&'a T, &'a [Price])>,
) -> Vec<(&'a T, Option<&'a Price>)>
where
    T: 'a,
{
    items.map(|(e, p)| (e, preferred_price(p))).collect()
}

/// Cheapest by total for `qty(entry)` units; unpriced entries come after priced ones.
fn cheapest<'a, T>(
    candidates: Vec<(&'a T, Option<&'a Price>)>,
    qty: impl Fn(&T) -> u32,
) -> Option<(&'a T, Option<&'a Price>, u32)> {
    candidates
        .into_iter()
        .map(|(e, p)| {
            let q = qty(e);
            (e, p, q)
        })
        .min_by(|a, b| {
            let cost = |x: &(&T, Option<&Price>, u32)| {
                x.1.map(|p| p.usd * x.2 as f64).unwrap_or(f64::INFINITY)
            };
            cost(a).total_cmp(&cost(b))
        })
}

fn line(
    kind: &'static str,
    id: &str,
    name: &str,
    quantity: u32,
    price: Option<&Price>,
    note: Option<String>,
) -> PartLine {
    PartLine {
        kind,
        id: Some(id.to_owned()),
        name: name.to_owned(),
        quantity,
        unit_price: price.cloned(),
        total_usd: price.map(|p| p.usd * quantity as f64),
        price_age_months: None,
        note,
    }
}

fn missing(kind: &'static str, name: String, quantity: u32, note: &str) -> PartLine {
    PartLine {
        kind,
        id: None,
        name,
        quantity,
        unit_price: None,
        total_usd: None,
        price_age_months: None,
        note: Some(note.to_owned()),
    }
}

/// The GPU line's note when the platform is a system sold with exactly the GPUs the layout uses.
pub const IN_SYSTEM_PRICE: &str = "included in the system price";

/// Picks the platform for `n` GPUs of this kind, with any fit warnings; the flag says whether
/// the cards fit it as built (false: risers or other cards needed).
fn choose_platform<'a>(
    cat: &'a Catalog,
    gpu: &Gpu,
    n: u32,
    warnings: &mut Vec<String>,
) -> Option<(&'a Platform, Option<&'a Price>, bool)> {
    let all = priced(cat.platforms.iter().map(|p| (p, p.prices.as_slice())));
    if gpu.form_factor != FormFactor::Pcie {
        let boards: Vec<_> = all
            .into_iter()
            .filter(|(p, _)| {
                matches!(p.kind, PlatformKind::BaseboardServer | PlatformKind::System)
                    && p.gpus.contains(&gpu.id)
                    && p.max_gpus >= n
            })
            .collect();
        if boards.is_empty() {
            warnings.push(format!("{} is a {:?} module: it needs a baseboard system, and the catalog has none listed for it", gpu.name, gpu.form_factor));
        }
        return cheapest(boards, |_| 1).map(|(p, price, _)| (p, price, true));
    }
    // Passive cards rely on a server chassis pushing air through their fins.
    let passive = gpu.cooling == Cooling::Passive;
    // Spacing decides whether the cards sit side by side: known and wide enough, unknown (a
    // warning, not a rejection: the catalog lacks the figure), or known too narrow (risers).
    // A platform that holds the cards beats one that needs risers; then a priced one beats an
    // unpriced one (so builds become fully priced); then a known spacing; then the price.
    let pick = all
        .iter()
        .copied()
        .filter(|(p, _)| check::holds(p, gpu, n))
        .min_by(|a, b| {
            let key = |(p, price): &(&Platform, Option<&Price>)| {
                let s = check::spacing(p, gpu, n);
                (
                    s == Spacing::TooNarrow,
                    price.is_none(),
                    s == Spacing::Unknown,
                    price.map_or(f64::INFINITY, |x| x.usd),
                )
            };
            let (ka, kb) = (key(a), key(b));
            (ka.0, ka.1, ka.2)
                .cmp(&(kb.0, kb.1, kb.2))
                .then(ka.3.total_cmp(&kb.3))
        });
    let Some((p, price)) = pick else {
        let need = if passive {
            "a GPU server chassis (passively cooled cards)"
        } else {
            "a board or server"
        };
        warnings.push(format!(
            "{n} × {} need {need}; none in the catalog holds {n}",
            gpu.name
        ));
        return None;
    };
    let finding = check::spacing_finding(p, gpu, n);
    let side_by_side = check::spacing(p, gpu, n) != Spacing::TooNarrow;
    warnings.extend(finding.map(|f| f.message));
    Some((p, price, side_by_side))
}

/// What to build for one node of `n` GPUs.
pub struct NodeInputs<'a> {
    pub gpu: &'a Gpu,
    pub gpus_per_node: u32,
    pub nodes: u32,
    /// Weight bytes one node keeps (loading needs them in host RAM first).
    pub node_weight_bytes: f64,
    /// The whole model's weight bytes (stored on every node).
    pub model_weight_bytes: f64,
    /// Host RAM for offloaded training states on this node.
    pub offload_host_bytes: f64,
    /// Training workloads put one NIC per GPU across nodes; inference one per node.
    pub nic_per_gpu: bool,
    /// The nodes pass one token's activations over TCP (a llama.cpp RPC layer split), so an
    /// Ethernet link serves; otherwise pipeline and training traffic gets InfiniBand.
    pub ethernet: bool,
}

/// Builds one node's parts list.
pub fn node(cat: &Catalog, input: &NodeInputs) -> NodeBuild {
    let gpu = input.gpu;
    let n = input.gpus_per_node;
    let mut warnings = Vec::new();
    let mut lines = Vec::new();
    let chosen = choose_platform(cat, gpu, n, &mut warnings);
    let platform_fits = chosen.is_some_and(|(_, _, fits)| fits);
    let platform = chosen.map(|(p, price, _)| (p, price));
    let gpus_included = platform.is_some_and(|(p, _)| p.price_includes_gpus);
    // A system sold with its GPUs ships all of them, whatever the layout uses.
    let installed = platform
        .filter(|_| gpus_included)
        .map(|(p, _)| p.max_gpus.max(n))
        .unwrap_or(n);
    let gpu_price = if gpus_included {
        None
    } else {
        preferred_price(&gpu.prices)
    };
    let note = gpus_included.then(|| match installed > n {
        true => format!(
            "included in the system price; the system ships {installed}, the layout uses {n}"
        ),
        false => IN_SYSTEM_PRICE.to_owned(),
    });
    lines.push(PartLine {
        note,
        ..line("gpu", &gpu.id, &gpu.name, installed, gpu_price, None)
    });

    let complete = platform.is_some_and(|(p, _)| p.complete_system);
    let mut cpu_tdp = 0.0;
    let mut psu_capacity = 0.0;
    let mut efficiency = c::DEFAULT_PSU_EFFICIENCY;
    let mut system_max_w = None;
    match platform {
        None => lines.push(missing(
            "platform",
            format!("platform for {n} × {}", gpu.name),
            1,
            "no suitable platform in the catalog",
        )),
        Some((p, price)) => {
            if !complete && gpu.form_factor == FormFactor::Pcie {
                warnings.extend(check::lanes_finding(p, p.cpu_pcie_lanes, n).map(|f| f.message));
            }
            lines.push(line(
                "platform",
                &p.id,
                &p.name,
                1,
                price,
                Some(p.kind.describe().to_owned()),
            ));
            psu_capacity = p.psu_w.unwrap_or(0.0);
            system_max_w = p.max_power_w;
            if complete {
                lines.push(missing(
                    "cpu",
                    "CPUs, RAM, storage, PSUs, chassis and fans".into(),
                    1,
                    "included in the system",
                ));
                let offload_gib = input.offload_host_bytes / (1u64 << 30) as f64;
                if offload_gib > p.ram_max_gib as f64 {
                    warnings.push(format!(
                        "offloaded training states need {offload_gib:.0} GiB of host RAM per node; '{}' holds at most {} GiB",
                        p.name, p.ram_max_gib
                    ));
                }
            } else {
                if p.kind == PlatformKind::BaseboardServer {
                    // A GPU baseboard sold on its own (an OAM UBB kit) still needs its server.
                    lines.push(missing(
                        "platform",
                        "server chassis, PSUs and fans for the baseboard".into(),
                        1,
                        "not in the catalog: see the baseboard's notes for servers that take it",
                    ));
                }
                cpu_tdp = add_host_parts(cat, p, input, platform_fits, &mut lines, &mut warnings);
            }
            if !platform_fits {
                // The cards need parts the catalog does not price: the total is a lower bound.
                lines.push(missing(
                    "riser",
                    format!("PCIe risers for {n} GPUs and an open frame"),
                    1,
                    "the cards do not fit side by side on this platform",
                ));
            }
        }
    }

    // GPUs the layout leaves unused still idle in the system.
    let gpu_w = gpu.tdp_w * (n as f64 + (installed - n) as f64 * c::GPU_IDLE_FRACTION);
    // An integrated GPU's power is the whole machine's: there is no separate board to add.
    let base_w = if gpu.form_factor == FormFactor::Integrated {
        0.0
    } else {
        c::SYSTEM_BASE_W
    };
    let dc_load_w = gpu_w + cpu_tdp + base_w;
    if !complete && platform.is_some_and(|(p, _)| p.kind == PlatformKind::WorkstationBoard) {
        let (cap, eff) = add_psus(cat, gpu, n, dc_load_w, &mut lines, &mut warnings);
        psu_capacity = cap;
        efficiency = eff;
    }
    let wall_load_w = system_max_w.unwrap_or(dc_load_w / efficiency);
    let wall_idle_w = ((gpu_w + cpu_tdp) * c::GPU_IDLE_FRACTION + base_w) / efficiency;

    let whole_machines = platform.filter(|(p, _)| p.kind == PlatformKind::System);
    if let (true, Some((p, _))) = (input.nodes > 1, whole_machines) {
        // A cable the catalog says joins these machines port to port: one per machine is a
        // chain (one spare) or a ring through each machine's own ports.
        match cat.network.iter().find(|x| x.machines.contains(&p.id)) {
            Some(link) => lines.push(line(
                "network",
                &link.id,
                &link.name,
                1,
                preferred_price(&link.prices),
                Some("one per machine: a chain or ring (a full mesh needs more)".into()),
            )),
            None => lines.push(missing(
                "network",
                "link between the machines (Thunderbolt or Ethernet ports)".into(),
                1,
                "not priced: the planner's multi-node speed assumes a data-centre network",
            )),
        }
    } else if input.nodes > 1 {
        let nics = if input.nic_per_gpu { n } else { 1 };
        let (kind, fabric) = if input.ethernet {
            ("ethernet", "Ethernet")
        } else {
            ("infiniband", "InfiniBand")
        };
        match adapter(cat, kind) {
            Some(nic) => lines.push(line(
                "network",
                &nic.id,
                &nic.name,
                nics,
                preferred_price(&nic.prices),
                input
                    .ethernet
                    .then(|| "llama.cpp RPC sends one token's activations per hop: any Ethernet port serves".into()),
            )),
            None => lines.push(missing(
                "network",
                format!("{fabric} adapter"),
                nics,
                &format!("no {fabric} adapter in the catalog"),
            )),
        }
        lines.push(missing(
            "network",
            format!("{fabric} switch ports and cables"),
            1,
            "not in the catalog: price them for your cluster",
        ));
    }

    let circuits = check::circuits(cat, wall_load_w);

    let storage = lines
        .iter()
        .find(|l| l.kind == "storage")
        .and_then(|l| l.id.as_deref())
        .and_then(|id| cat.storage.get(id));
    let load_time_s = storage.map(|s| input.node_weight_bytes / (s.read_gb_per_s * 1e9));
    let gpu_cost_known = gpu_price.is_some()
        || (gpus_included && platform.is_some_and(|(_, price)| price.is_some()));
    // Several whole machines need software (and without a catalog cable, a link) the parts
    // list does not hold.
    let builds_as_listed = platform_fits
        && !(whole_machines.is_some() && input.nodes > 1)
        && lines.iter().all(|l| l.id.is_some() || l.kind != "case");
    NodeBuild {
        load_time_s,
        ..NodeBuild::from_lines(NodeFigures {
            gpus_per_node: n,
            lines,
            gpu_cost_known,
            builds_as_listed,
            dc_load_w,
            wall_load_w,
            wall_idle_w,
            psu_capacity_w: psu_capacity,
            circuits,
            warnings,
        })
    }
}

/// What a node's parts and power come to, before the priced sums.
pub struct NodeFigures {
    pub gpus_per_node: u32,
    pub lines: Vec<PartLine>,
    pub gpu_cost_known: bool,
    pub builds_as_listed: bool,
    pub dc_load_w: f64,
    pub wall_load_w: f64,
    pub wall_idle_w: f64,
    pub psu_capacity_w: f64,
    pub circuits: Vec<CircuitNeed>,
    pub warnings: Vec<String>,
}

impl NodeBuild {
    /// The node with its priced total and unpriced lines summed from its lines.
    pub fn from_lines(f: NodeFigures) -> NodeBuild {
        // Folded from +0.0: an empty f64 sum is -0.0.
        let priced: Vec<f64> = f.lines.iter().filter_map(|l| l.total_usd).collect();
        // Rounded to cents: sums of prices like $299.99 should not read $3,857.8599999.
        let priced_total_usd = (!priced.is_empty())
            .then(|| (priced.iter().fold(0.0, |a, b| a + b) * 100.0).round() / 100.0);
        let unpriced = f
            .lines
            .iter()
            .filter(|l| {
                l.total_usd.is_none()
                    && l.note.as_deref().is_none_or(|n| !n.starts_with("included"))
            })
            .map(|l| l.name.clone())
            .collect();
        NodeBuild {
            gpus_per_node: f.gpus_per_node,
            gpu_cost_known: f.gpu_cost_known,
            builds_as_listed: f.builds_as_listed,
            lines: f.lines,
            priced_total_usd,
            unpriced,
            dc_load_w: f.dc_load_w,
            wall_load_w: f.wall_load_w,
            wall_idle_w: f.wall_idle_w,
            psu_capacity_w: f.psu_capacity_w,
            circuits: f.circuits,
            load_time_s: None,
            warnings: f.warnings,
        }
    }
}

/// All nodes of a build priced: the total only when every line has a price, else the priced
/// lines' sum as a lower bound; price dates and ages counted to `as_of`.
pub fn priced_build(mut node: NodeBuild, nodes: u32, as_of: Option<&str>) -> super::Build {
    if let Some(as_of) = as_of {
        for l in &mut node.lines {
            l.price_age_months = l
                .unit_price
                .as_ref()
                .and_then(|p| super::rank::price_age_months(&p.date, as_of));
        }
    }
    let dates: Vec<&str> = node
        .lines
        .iter()
        .filter_map(|l| l.unit_price.as_ref().map(|p| p.date.as_str()))
        .collect();
    let fully_priced = node.unpriced.is_empty() && node.priced_total_usd.is_some();
    let all_nodes = node.priced_total_usd.map(|v| v * f64::from(nodes));
    super::Build {
        nodes,
        total_usd: all_nodes.filter(|_| fully_priced),
        lower_bound_usd: all_nodes.filter(|_| !fully_priced),
        fully_priced,
        oldest_price_date: dates.iter().min().map(|d| d.to_string()),
        newest_price_date: dates.iter().max().map(|d| d.to_string()),
        stale_prices: node
            .lines
            .iter()
            .filter(|l| l.price_age_months.is_some_and(super::rank::is_stale))
            .map(|l| l.name.clone())
            .collect(),
        node,
    }
}

/// The network adapter multi-node builds get: a priced one keeps the build priced; among
/// those, the fastest.
pub fn adapter<'a>(cat: &'a Catalog, kind: &str) -> Option<&'a crate::catalog::Network> {
    cat.network
        .iter()
        .filter(|x| x.kind == kind)
        .min_by(|a, b| {
            let key = |x: &crate::catalog::Network| preferred_price(&x.prices).is_none();
            key(a)
                .cmp(&key(b))
                .then(b.gbit_per_s.total_cmp(&a.gbit_per_s))
        })
}

/// CPU, RAM, storage, case and cooler for a platform that does not include them. Returns the
/// CPU power (all sockets).
fn add_host_parts(
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
fn add_psus(
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
