//! The parts list for one node of a layout: platform, CPU, RAM, storage, PSU, case, cooling,
//! network, with dated prices, power draw and the circuits it needs.
use super::check::{self, units, Spacing};
use super::constants as c;
use crate::catalog::{
    preferred_price, Catalog, Cooling, FormFactor, Gpu, Platform, PlatformKind, Price,
};
use crate::numfmt::fmt_int;
use serde::Serialize;

mod host;
mod priced;
use host::{add_host_parts, add_psus};
pub use priced::{priced_build, NodeFigures};

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

/// How the note of a line priced as part of a system (its GPUs, or the host of a DGX) begins.
pub const INCLUDED: &str = "included in the system";

impl PartLine {
    /// Whether the line is paid for by the system's price, not unpriced.
    pub fn included_in_system(&self) -> bool {
        self.note
            .as_deref()
            .is_some_and(|n| n.starts_with(INCLUDED))
    }
}

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
        true => format!("{INCLUDED} price; the system ships {installed}, the layout uses {n}"),
        false => format!("{INCLUDED} price"),
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
                    INCLUDED,
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
