//! Rig parts: platforms (boards, servers), CPUs, RAM, storage, PSUs, cases, coolers, network,
//! plus the electrical and rental facts the planner prices against.
use super::price::Price;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Adds the provenance fields every part carries (serde's `flatten` cannot be combined with
/// `deny_unknown_fields`, so each struct spells them out through this macro).
macro_rules! entry {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Lowercase kebab id.
            pub id: String,
            /// Product name.
            pub name: String,
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Sourced, dated prices.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub prices: Vec<Price>,
            /// Main source (URL) for the entry's figures.
            pub source: String,
            /// Per-field sources where they differ from `source` (field name -> URL).
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            pub sources: BTreeMap<String, String>,
            /// Caveats and uncertainties a user should see.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub notes: Option<String>,
        }
    };
}

fn one() -> u32 {
    1
}

/// What kind of platform hosts the GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlatformKind {
    /// A desktop/workstation motherboard; case, PSU and cooling are bought separately.
    WorkstationBoard,
    /// A rack server for PCIe GPUs with its own chassis, PSUs and fans.
    PcieServer,
    /// An HGX/DGX-class system with an SXM (or OAM) baseboard.
    BaseboardServer,
    /// A machine sold as one unit around an integrated GPU with unified memory (Mac Studio, DGX
    /// Spark, a Ryzen AI Max desktop): nothing is added to it.
    System,
}

impl PlatformKind {
    /// Words for the parts list.
    pub fn describe(self) -> &'static str {
        match self {
            PlatformKind::WorkstationBoard => "workstation board",
            PlatformKind::PcieServer => "PCIe GPU server",
            PlatformKind::BaseboardServer => "baseboard (HGX/DGX-class) system",
            PlatformKind::System => "complete machine (integrated GPU, unified memory)",
        }
    }
}

entry! {
    /// A motherboard or complete server that GPUs plug into.
    pub struct Platform {
        pub kind: PlatformKind,
        /// CPU socket, e.g. `sTRX4`; servers name theirs too.
        pub socket: String,
        /// Board or chassis form factor, e.g. `e-atx`, `4u`.
        pub form_factor: String,
        /// Physical x16 slots (PCIe platforms).
        #[serde(default)]
        pub x16_slots: u32,
        /// Slots of space from one x16 slot to the next where GPUs sit: 2 holds dual-slot cards
        /// side by side, 3 holds triple-slot cards.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub gpu_slot_spacing: Option<u32>,
        /// Most GPUs the vendor or reviewers say the platform holds.
        pub max_gpus: u32,
        /// PCIe lanes from the CPU(s).
        pub cpu_pcie_lanes: u32,
        /// PCIe generation of the GPU slots.
        pub pcie_gen: u8,
        pub ram_channels: u32,
        pub ram_max_gib: u32,
        /// RAM kits the platform takes (matches `Ram::kind`, e.g. `ddr5-rdimm`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ram_kind: Option<String>,
        /// CPU sockets to fill (2 for dual-socket servers).
        #[serde(default = "one")]
        pub cpu_sockets: u32,
        /// For baseboard servers: the GPU ids its baseboard carries.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub gpus: Vec<String>,
        /// Whether the price includes the GPUs (DGX systems).
        #[serde(default)]
        pub price_includes_gpus: bool,
        /// Whether the system ships with CPUs, RAM, storage, PSUs, chassis and fans.
        #[serde(default)]
        pub complete_system: bool,
        /// Power supplies built in (servers), total watts of the redundant-free set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub psu_w: Option<f64>,
        /// Maximum system power draw in watts (servers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_power_w: Option<f64>,
    }
}

entry! {
    /// A CPU.
    pub struct Cpu {
        pub socket: String,
        pub cores: u32,
        pub threads: u32,
        pub tdp_w: f64,
        pub pcie_lanes: u32,
        pub pcie_gen: u8,
        pub ram_channels: u32,
    }
}

entry! {
    /// A RAM kit.
    pub struct Ram {
        /// `ddr4`, `ddr5`, `ddr4-rdimm`, `ddr5-rdimm`.
        pub kind: String,
        /// Total capacity of the kit.
        pub capacity_gib: u32,
        pub modules: u32,
        pub speed_mt_per_s: u32,
    }
}

entry! {
    /// An NVMe SSD.
    pub struct Storage {
        /// Capacity in GB (10^9 bytes), as labelled.
        pub capacity_gb: f64,
        /// Sequential read in GB/s.
        pub read_gb_per_s: f64,
        pub write_gb_per_s: f64,
        /// e.g. `pcie4-x4`.
        pub interface: String,
    }
}

entry! {
    /// A power supply.
    pub struct Psu {
        /// Rated continuous DC output.
        pub watts: f64,
        /// 80 PLUS level: `gold`, `platinum`, `titanium`.
        pub efficiency_level: String,
        /// Efficiency at 50 % load (115 V internal), 0..1.
        pub efficiency_at_half_load: f64,
        /// PCIe 8-pin (6+2) connectors; absent when the spec sheet was not found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pcie_8pin: Option<u32>,
        /// 12VHPWR / 12V-2x6 connectors; absent when the spec sheet was not found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub connectors_12v_2x6: Option<u32>,
        /// ATX 3.x certified at its full rating.
        #[serde(default)]
        pub atx3: bool,
    }
}

entry! {
    /// A PC case.
    pub struct Case {
        /// Board form factors it takes, e.g. `["atx", "e-atx"]`.
        pub board_form_factors: Vec<String>,
        pub expansion_slots: u32,
        /// Longest GPU it takes; absent when the spec sheet was not found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_gpu_length_mm: Option<f64>,
    }
}

entry! {
    /// A CPU cooler.
    pub struct Cooler {
        /// `air`, `aio`, `custom-loop`.
        pub kind: String,
        /// Sockets it mounts on.
        pub sockets: Vec<String>,
        /// Heat it is rated to remove, where the vendor says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub rated_w: Option<f64>,
    }
}

entry! {
    /// A network adapter for multi-node training, or a cable that joins whole machines.
    pub struct Network {
        /// `infiniband`, `ethernet` or `thunderbolt`.
        pub kind: String,
        /// Line rate per port in Gbit/s.
        pub gbit_per_s: f64,
        pub ports: u32,
        /// Whole machines (`system` platform ids) this cable or adapter joins port to port; the
        /// planner lists it, one per machine, in multi-machine builds of them. Default: none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub machines: Vec<String>,
    }
}

entry! {
    /// An electrical branch circuit.
    pub struct Circuit {
        pub region: String,
        pub volts: f64,
        pub amps: f64,
        /// Continuous load it may carry (80 % rule where it applies), watts.
        pub continuous_w: f64,
    }
}

entry! {
    /// An electricity tariff.
    pub struct Electricity {
        pub region: String,
        pub usd_per_kwh: f64,
        /// Period the tariff describes, `YYYY-MM` or `YYYY`.
        pub date: String,
        /// The planner's default tariff.
        #[serde(default)]
        pub default: bool,
        /// Carbon intensity of the region's grid, grams CO2 (or CO2e, as the source gives it)
        /// per kWh; optional, cited in `sources.gco2_per_kwh`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub gco2_per_kwh: Option<f64>,
    }
}

entry! {
    /// A cloud rental price for one GPU-hour.
    pub struct Cloud {
        /// GPU id this price rents.
        pub gpu: String,
        pub provider: String,
        /// `on-demand`, `spot` or `reserved`.
        pub offer: String,
        pub usd_per_gpu_hour: f64,
        /// When the price was seen, `YYYY-MM-DD` or `YYYY-MM`.
        pub date: String,
    }
}

entry! {
    /// A PCIe riser or extension cable that moves a GPU away from its slot (open frames, vertical
    /// mounts, cards wider than the slot spacing).
    pub struct Riser {
        /// PCIe generation the riser is rated for.
        pub pcie_gen: u8,
        /// Lanes it carries (16 for an x16 riser).
        pub lanes: u8,
        /// Cable length in millimetres, where the vendor states it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub length_mm: Option<f64>,
    }
}

entry! {
    /// An NVLink bridge joining two PCIe cards.
    pub struct Bridge {
        /// Fabric it carries, as in `Gpu::fabric` (e.g. `nvlink-3`).
        pub fabric: String,
        /// GPU ids the bridge fits (must be catalog GPUs).
        pub gpus: Vec<String>,
        /// Slots from the first card's slot to the second's that the bridge spans (2, 3 or 4).
        pub slot_spacing: u32,
        /// Bidirectional bandwidth between the two cards, GB/s, where the vendor states it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub gb_per_s: Option<f64>,
    }
}

entry! {
    /// An open frame (test bench or multi-GPU rig frame) that holds a board and GPUs on risers.
    pub struct Frame {
        /// Board form factors it takes, e.g. `["atx", "e-atx"]`.
        pub board_form_factors: Vec<String>,
        /// GPUs it can hold (on risers where they do not sit in the board's slots).
        pub gpu_positions: u32,
        /// Longest GPU it takes; absent when the spec sheet was not found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_gpu_length_mm: Option<f64>,
    }
}

entry! {
    /// A server (CRPS or similar hot-swap) power supply, typically 200-240 V, used in GPU servers
    /// and, with a breakout board, in open-frame rigs.
    pub struct ServerPsu {
        /// Rated DC output at high line (200-240 V).
        pub watts: f64,
        /// Rated DC output at low line (100-127 V), where the vendor states it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub watts_low_line: Option<f64>,
        /// 80 PLUS level: `gold`, `platinum`, `titanium`.
        pub efficiency_level: String,
        /// Module form, e.g. `crps`, `1u-hot-swap`.
        pub form: String,
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::{validate, Catalog, CatalogError};

    fn overlay(toml: &str) -> Result<Catalog, CatalogError> {
        let mut cat = Catalog::embedded().expect("embedded catalog validates");
        cat.add_file("test.toml", toml, true)?;
        validate::validate(&cat)?;
        Ok(cat)
    }

    const RISER: &str = "[[riser]]\nid = \"test-riser\"\nname = \"Riser\"\npcie_gen = 4\nlanes = 16\nlength_mm = 300\nsource = \"https://example.org/riser\"\n";
    const BRIDGE: &str = "[[bridge]]\nid = \"test-bridge\"\nname = \"Bridge\"\nfabric = \"nvlink-bridge\"\ngpus = [\"rtx-a6000\"]\nslot_spacing = 3\nsource = \"https://example.org/bridge\"\n";
    const FRAME: &str = "[[frame]]\nid = \"test-frame\"\nname = \"Frame\"\nboard_form_factors = [\"e-atx\"]\ngpu_positions = 8\nsource = \"https://example.org/frame\"\n";
    const SERVER_PSU: &str = "[[server-psu]]\nid = \"test-crps\"\nname = \"CRPS\"\nwatts = 2000\nwatts_low_line = 1000\nefficiency_level = \"titanium\"\nform = \"crps\"\nsource = \"https://example.org/psu\"\n";

    const CABLE: &str = "[[network]]\nid = \"test-cable\"\nname = \"Cable\"\nkind = \"thunderbolt\"\ngbit_per_s = 80\nports = 1\nmachines = [\"mac-studio-m3-ultra-96gb\"]\nsource = \"https://example.org/cable\"\n";

    #[test]
    fn a_cable_names_the_whole_machines_it_joins() {
        let cat = overlay(CABLE).unwrap();
        assert_eq!(
            cat.network.get("test-cable").unwrap().machines,
            ["mac-studio-m3-ultra-96gb"]
        );
        // Adapters name no machines.
        assert!(cat
            .network
            .get("nvidia-connectx-7-400g-ib")
            .unwrap()
            .machines
            .is_empty());
    }

    #[test]
    fn new_part_kinds_parse_and_list() {
        let cat = overlay(&format!("{RISER}{BRIDGE}{FRAME}{SERVER_PSU}")).unwrap();
        assert_eq!(cat.risers.get("test-riser").unwrap().lanes, 16);
        assert_eq!(cat.bridges.get("test-bridge").unwrap().slot_spacing, 3);
        assert_eq!(cat.frames.get("test-frame").unwrap().gpu_positions, 8);
        assert_eq!(cat.server_psus.get("test-crps").unwrap().watts, 2000.0);
        // The embedded bridges name real GPUs.
        assert!(cat
            .bridges
            .iter()
            .any(|b| b.gpus.iter().any(|g| g == "rtx-3090")));
    }

    #[test]
    fn new_part_kinds_reject_bad_values_with_entry_and_field() {
        for (toml, id, field) in [
            (
                RISER.replace("lanes = 16", "lanes = 12"),
                "test-riser",
                "lanes",
            ),
            (
                RISER.replace("pcie_gen = 4", "pcie_gen = 9"),
                "test-riser",
                "pcie_gen",
            ),
            (
                BRIDGE.replace("rtx-a6000", "no-such-gpu"),
                "test-bridge",
                "gpus",
            ),
            (
                BRIDGE.replace("slot_spacing = 3", "slot_spacing = 0"),
                "test-bridge",
                "slot_spacing",
            ),
            (
                FRAME.replace("gpu_positions = 8", "gpu_positions = 0"),
                "test-frame",
                "gpu_positions",
            ),
            (
                FRAME.replace("[\"e-atx\"]", "[]"),
                "test-frame",
                "board_form_factors",
            ),
            (
                SERVER_PSU.replace("watts_low_line = 1000", "watts_low_line = 2500"),
                "test-crps",
                "watts_low_line",
            ),
            (
                CABLE.replace("mac-studio-m3-ultra-96gb", "rtx-4090-workstation"),
                "test-cable",
                "machines",
            ),
            (
                CABLE.replace("mac-studio-m3-ultra-96gb", "supermicro-sys-421ge-tnrt"),
                "test-cable",
                "machines",
            ),
        ] {
            let err = overlay(&toml).expect_err("rejected").to_string();
            assert!(err.contains(id) && err.contains(field), "{field}: {err}");
        }
        let err = overlay(&RISER.replace("lanes = 16\n", "lanes = 16\ncolour = \"red\"\n"))
            .expect_err("unknown field rejected")
            .to_string();
        assert!(
            err.contains("test-riser") && err.contains("colour"),
            "{err}"
        );
    }
}
