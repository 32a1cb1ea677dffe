//! The physical and electrical rules of a build, in one place: whether a platform holds the
//! cards (slots, slot spacing, cooling), whether its lanes give each card x16, whether a case
//! takes the board and the cards, whether the PSUs cover the load with headroom for transients
//! and have the connectors, and how many circuits the wall power needs. The planner's own picks
//! (`parts.rs`) and `llmrig build check` on a user's parts list (`list.rs`) both call these.
use super::constants as c;
use super::parts::CircuitNeed;
use crate::catalog::{Case, Catalog, Cooling, FormFactor, Frame, Gpu, Platform, PlatformKind, Psu};
use crate::numfmt::fmt_int;
use serde::Serialize;

mod list;
mod runs;
mod verdict;
pub use list::{CheckError, Item, ItemSpec, PartsList};
pub use runs::{runnable, Runnable, Runs};
pub use verdict::{check_list, BuildCheck};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The build does not work as listed (does not fit, overheats, trips its PSU).
    Blocks,
    /// It works, below what the parts could do (cards at x8).
    Limits,
    /// The catalog lacks the figure to tell: check it by hand.
    Unknown,
}

/// One rule a build breaks, or cannot be checked against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `slot-spacing`, `slots`, `lanes`, `cooling`, `case-form-factor`, `case-slots`,
    /// `gpu-length`, `psu-capacity`, `psu-transients`, `connectors`, `circuit`, `socket`,
    /// `ram`, `cooler`, `form-factor`, `network`, `missing`, `not-in-catalog`.
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
}

impl Finding {
    pub(crate) fn new(rule: &'static str, severity: Severity, message: String) -> Finding {
        Finding {
            rule,
            severity,
            message,
        }
    }
}

/// Slots one card takes (dual-slot when the catalog does not say).
pub fn card_width(gpu: &Gpu) -> u32 {
    gpu.slot_width.unwrap_or(2) as u32
}

/// Slots from the first GPU slot to the end of the last card: where `n` cards of `width`
/// slots sit every `spacing` slots.
pub fn slots_spanned(n: u32, spacing: u32, width: u32) -> u32 {
    (n.saturating_sub(1)) * spacing + width
}

/// Whether `n` cards sit side by side on the platform's x16 slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spacing {
    Fits,
    /// The catalog lacks the platform's slot spacing.
    Unknown,
    /// The slots are closer than the cards are wide: risers, or narrower cards.
    TooNarrow,
}

pub fn spacing(p: &Platform, gpu: &Gpu, n: u32) -> Spacing {
    match p.gpu_slot_spacing {
        _ if n <= 1 => Spacing::Fits,
        Some(s) if s >= card_width(gpu) => Spacing::Fits,
        Some(_) => Spacing::TooNarrow,
        None => Spacing::Unknown,
    }
}

/// The slot-spacing finding for `n` cards on `p`, if any. A GPU server is built for dual-slot
/// cards, so only wider ones need checking there.
pub fn spacing_finding(p: &Platform, gpu: &Gpu, n: u32) -> Option<Finding> {
    let width = card_width(gpu);
    match spacing(p, gpu, n) {
        Spacing::Fits => None,
        Spacing::Unknown if p.kind == PlatformKind::PcieServer && width <= 2 => None,
        Spacing::Unknown => Some(Finding::new(
            "slot-spacing",
            Severity::Unknown,
            format!(
                "the catalog does not give the slot spacing of '{}': check that {n} × {width}-slot cards fit side by side (else use PCIe risers)",
                p.name
            ),
        )),
        Spacing::TooNarrow => Some(Finding::new(
            "slot-spacing",
            Severity::Blocks,
            format!(
                "{n} × {width}-slot cards on '{}' ({}-slot spacing) do not fit side by side: use PCIe risers and an open frame, blower-style or water-cooled cards",
                p.name,
                p.gpu_slot_spacing.unwrap_or_default()
            ),
        )),
    }
}

/// Whether a passively cooled card may go on this platform: only where a chassis pushes air
/// through its fins (a GPU server).
pub fn cooling_ok(p: &Platform, gpu: &Gpu) -> bool {
    gpu.cooling != Cooling::Passive || p.kind != PlatformKind::WorkstationBoard
}

pub fn cooling_finding(p: &Platform, gpu: &Gpu) -> Option<Finding> {
    (!cooling_ok(p, gpu)).then(|| Finding::new(
        "cooling",
        Severity::Blocks,
        format!(
            "{} is passively cooled (no fan): on a desktop board '{}' it overheats without ducted forced airflow through its fins; use a GPU server chassis, or add a blower shroud per card",
            gpu.name, p.name
        ),
    ))
}

/// Whether the platform takes `n` cards of this kind in its own slots (count, cooling, kind).
pub fn holds(p: &Platform, gpu: &Gpu, n: u32) -> bool {
    p.max_gpus >= n
        && p.x16_slots >= n
        && cooling_ok(p, gpu)
        && matches!(
            p.kind,
            PlatformKind::PcieServer | PlatformKind::WorkstationBoard
        )
}

/// Slot count and module findings for `n` cards on `p`.
pub fn slot_findings(p: &Platform, gpu: &Gpu, n: u32) -> Vec<Finding> {
    let mut out = Vec::new();
    match (gpu.form_factor, p.kind) {
        (FormFactor::Pcie, PlatformKind::WorkstationBoard | PlatformKind::PcieServer) => {
            if p.x16_slots < n || p.max_gpus < n {
                out.push(Finding::new(
                    "slots",
                    Severity::Blocks,
                    format!(
                        "'{}' has {} x16 slots and holds at most {} GPUs; the list has {n}",
                        p.name, p.x16_slots, p.max_gpus
                    ),
                ));
            }
        }
        (_, PlatformKind::BaseboardServer | PlatformKind::System) if p.gpus.contains(&gpu.id) => {
            if p.max_gpus < n {
                out.push(Finding::new(
                    "slots",
                    Severity::Blocks,
                    format!(
                        "'{}' carries at most {} GPUs; the list has {n}",
                        p.name, p.max_gpus
                    ),
                ));
            }
        }
        _ => out.push(Finding::new(
            "form-factor",
            Severity::Blocks,
            format!(
                "{} is a {:?} GPU; '{}' ({}) does not take it",
                gpu.name,
                gpu.form_factor,
                p.name,
                p.kind.describe()
            ),
        )),
    }
    out
}

/// The lanes finding when `lanes` CPU lanes (the fewer of the board's and the CPUs') feed `n`
/// cards that want x16 each.
pub fn lanes_finding(p: &Platform, lanes: u32, n: u32) -> Option<Finding> {
    let need = 16 * n;
    (lanes < need).then(|| Finding::new(
        "lanes",
        Severity::Limits,
        format!(
            "'{}' has {lanes} CPU PCIe lanes for {n} GPUs ({need} for x16 each): some GPUs run at x8",
            p.name
        ),
    ))
}

/// Expansion slots a case needs for `n` cards on `p` (one more than the cards span, for the
/// slot bracket below the last card).
pub fn case_slots_needed(p: &Platform, gpu: &Gpu, n: u32) -> u32 {
    let width = card_width(gpu);
    slots_spanned(n, p.gpu_slot_spacing.unwrap_or(width), width) + 1
}

/// Whether a case takes the board and `n` cards (an unknown card or case length passes).
pub fn case_fits(case: &Case, p: &Platform, gpu: &Gpu, n: u32) -> bool {
    case_findings(case, p, gpu, n)
        .iter()
        .all(|f| f.severity != Severity::Blocks)
}

pub fn case_findings(case: &Case, p: &Platform, gpu: &Gpu, n: u32) -> Vec<Finding> {
    let mut out = Vec::new();
    if !case.board_form_factors.iter().any(|f| f == &p.form_factor) {
        out.push(Finding::new(
            "case-form-factor",
            Severity::Blocks,
            format!(
                "'{}' takes {} boards; '{}' is {}",
                case.name,
                case.board_form_factors.join(", "),
                p.name,
                p.form_factor
            ),
        ));
    }
    let slots = case_slots_needed(p, gpu, n);
    if case.expansion_slots < slots {
        out.push(Finding::new(
            "case-slots",
            Severity::Blocks,
            format!(
                "{n} cards on '{}' need {slots} expansion slots; '{}' has {}",
                p.name, case.name, case.expansion_slots
            ),
        ));
    }
    match (gpu.length_mm, case.max_gpu_length_mm) {
        (Some(len), Some(max)) if len > max => out.push(Finding::new(
            "gpu-length",
            Severity::Blocks,
            format!(
                "{} is {len:.0} mm long; '{}' takes {max:.0} mm",
                gpu.name, case.name
            ),
        )),
        (Some(_), Some(_)) => {}
        (len, max) => out.push(Finding::new(
            "gpu-length",
            Severity::Unknown,
            format!(
                "the catalog lacks the {}: check that the card fits '{}'",
                match (len, max) {
                    (None, None) => "card's and the case's lengths",
                    (None, _) => "card's length",
                    _ => "case's longest card",
                },
                case.name
            ),
        )),
    }
    out
}

/// Whether an open frame takes the board and `n` cards on risers.
pub fn frame_findings(frame: &Frame, p: &Platform, gpu: &Gpu, n: u32) -> Vec<Finding> {
    let mut out = Vec::new();
    if !frame.board_form_factors.iter().any(|f| f == &p.form_factor) {
        out.push(Finding::new(
            "case-form-factor",
            Severity::Blocks,
            format!(
                "'{}' takes {} boards; '{}' is {}",
                frame.name,
                frame.board_form_factors.join(", "),
                p.name,
                p.form_factor
            ),
        ));
    }
    if frame.gpu_positions < n {
        out.push(Finding::new(
            "case-slots",
            Severity::Blocks,
            format!(
                "'{}' holds {} GPUs; the list has {n}",
                frame.name, frame.gpu_positions
            ),
        ));
    }
    if let (Some(len), Some(max)) = (gpu.length_mm, frame.max_gpu_length_mm) {
        if len > max {
            out.push(Finding::new(
                "gpu-length",
                Severity::Blocks,
                format!(
                    "{} is {len:.0} mm long; '{}' takes {max:.0} mm",
                    gpu.name, frame.name
                ),
            ));
        }
    }
    out
}

/// PSU capacity a DC load needs, with headroom for GPU power transients.
pub fn psu_need_w(dc_load_w: f64) -> f64 {
    dc_load_w * c::PSU_HEADROOM
}

/// Connectors each GPU needs, as (PCIe 8-pin, 12V-2x6/12VHPWR).
pub fn connectors(gpu: &Gpu) -> (u32, u32) {
    let count = |kinds: &[&str]| {
        gpu.power_connectors
            .iter()
            .filter(|c| kinds.contains(&c.as_str()))
            .count() as u32
    };
    (count(&["8-pin-pcie"]), count(&["12vhpwr", "12v-2x6"]))
}

/// Capacity and connector findings for `q` units of `psu` feeding `n` cards and a DC load.
pub fn psu_findings(psu: &Psu, q: u32, gpu: &Gpu, n: u32, dc_load_w: f64) -> Vec<Finding> {
    let mut out = Vec::new();
    let have = psu.watts * q as f64;
    let need = psu_need_w(dc_load_w);
    let (have_w, load_w, need_w) = (fmt_int(have), fmt_int(dc_load_w), fmt_int(need));
    if have < dc_load_w {
        out.push(Finding::new(
            "psu-capacity",
            Severity::Blocks,
            format!("{q} × '{}' = {have_w} W for a {load_w} W DC load", psu.name),
        ));
    } else if have < need {
        out.push(Finding::new(
            "psu-transients",
            Severity::Blocks,
            format!(
                "{q} × '{}' = {have_w} W: the {load_w} W DC load × {} headroom for GPU power spikes needs {need_w} W (transients trip its over-current protection)",
                psu.name,
                c::PSU_HEADROOM
            ),
        ));
    }
    out.extend(connector_findings(psu, q, gpu, n));
    out
}

pub fn connector_findings(psu: &Psu, q: u32, gpu: &Gpu, n: u32) -> Vec<Finding> {
    let (eight, twelve) = connectors(gpu);
    let mut out = Vec::new();
    for (need, have, what) in [
        (eight * n, psu.pcie_8pin, "PCIe 8-pin"),
        (twelve * n, psu.connectors_12v_2x6, "12V-2x6"),
    ] {
        match have.map(|h| h * q) {
            Some(h) if need > h => out.push(Finding::new(
                "connectors",
                Severity::Blocks,
                format!("{n} GPUs need {need} {what} connectors; the PSU set has {h}"),
            )),
            None if need > 0 => out.push(Finding::new(
                "connectors",
                Severity::Unknown,
                format!(
                    "{n} GPUs need {need} {what} connectors; the catalog does not list how many '{}' has",
                    psu.name
                ),
            )),
            _ => {}
        }
    }
    out
}

/// Whole units of `per_unit` that cover `need`, at least one. Catalog validation keeps both
/// positive and finite; the guard keeps a zero, NaN or overflow from ever becoming a silently
/// wrapped or saturated count.
pub fn units(need: f64, per_unit: f64) -> u32 {
    let n = (need / per_unit).ceil();
    if n.is_finite() && n >= 1.0 {
        n.min(f64::from(u32::MAX)) as u32
    } else {
        1
    }
}

/// Circuits of each catalog kind a node drawing `wall_w` at the wall needs (continuous load).
pub fn circuits(cat: &Catalog, wall_w: f64) -> Vec<CircuitNeed> {
    cat.circuits
        .iter()
        .map(|ci| CircuitNeed {
            circuit: ci.id.clone(),
            name: ci.name.clone(),
            continuous_w: ci.continuous_w,
            count: units(wall_w, ci.continuous_w),
        })
        .collect()
}

/// The RAM-capacity finding for `total_gib` on a platform of `max_gib`.
pub fn ram_max_finding(p: &Platform, total_gib: u32) -> Option<Finding> {
    (total_gib > p.ram_max_gib).then(|| {
        Finding::new(
            "ram",
            Severity::Blocks,
            format!(
                "{total_gib} GiB of RAM exceeds the platform's {} GiB maximum",
                p.ram_max_gib
            ),
        )
    })
}

#[cfg(test)]
mod tests;
