//! GPU (accelerator) entries: memory, bandwidth, dense peaks, power, physical fit, prices.
use super::price::Price;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Vendor of an accelerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Vendor {
    Nvidia,
    Amd,
    Intel,
    Apple,
}

/// How the accelerator attaches to its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FormFactor {
    /// An add-in card for a PCIe slot.
    Pcie,
    /// An NVIDIA SXM module on an HGX/DGX baseboard.
    Sxm,
    /// An OCP accelerator module on a vendor baseboard.
    Oam,
    /// A GPU on the same package as the CPU, sharing the machine's RAM (Apple M-series, NVIDIA
    /// GB10, AMD Ryzen AI Max): it is bought only as part of the machine that holds it.
    Integrated,
}

/// How the card is cooled; decides which chassis can hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cooling {
    /// No fan: needs server chassis airflow.
    Passive,
    /// A rear-exhaust blower fan: stacks at two-slot spacing.
    Blower,
    /// Open-air fans: needs free space beside the card.
    OpenAir,
    /// A module cooled by its baseboard system.
    Module,
}

/// Number formats a GPU computes in (weights, activations, KV cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputeDtype {
    Fp32,
    Tf32,
    Bf16,
    Fp16,
    Fp8,
    Int8,
    Int4,
}

impl ComputeDtype {
    /// Every compute dtype, widest first.
    pub const ALL: [ComputeDtype; 7] = [
        ComputeDtype::Fp32,
        ComputeDtype::Tf32,
        ComputeDtype::Bf16,
        ComputeDtype::Fp16,
        ComputeDtype::Fp8,
        ComputeDtype::Int8,
        ComputeDtype::Int4,
    ];

    /// Lowercase name as used in the catalog and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ComputeDtype::Fp32 => "fp32",
            ComputeDtype::Tf32 => "tf32",
            ComputeDtype::Bf16 => "bf16",
            ComputeDtype::Fp16 => "fp16",
            ComputeDtype::Fp8 => "fp8",
            ComputeDtype::Int8 => "int8",
            ComputeDtype::Int4 => "int4",
        }
    }
}

/// Dense (no 2:4 sparsity) peak throughput in TFLOP/s (TOP/s for integer types).
/// An absent value means the GPU has no native support for that type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseTflops {
    /// Non-tensor FP32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp32: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tf32: Option<f64>,
    /// BF16 tensor math; on GeForce cards the FP32-accumulate rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bf16: Option<f64>,
    /// FP16 tensor math; on GeForce cards the FP32-accumulate rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp16: Option<f64>,
    /// GeForce only: FP16 tensor math with FP16 accumulate (twice the FP32-accumulate rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp16_acc16: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int4: Option<f64>,
}

impl DenseTflops {
    /// Dense peak for `dtype`, `None` when the GPU lacks it.
    pub fn get(&self, dtype: ComputeDtype) -> Option<f64> {
        match dtype {
            ComputeDtype::Fp32 => self.fp32,
            ComputeDtype::Tf32 => self.tf32,
            ComputeDtype::Bf16 => self.bf16,
            ComputeDtype::Fp16 => self.fp16,
            ComputeDtype::Fp8 => self.fp8,
            ComputeDtype::Int8 => self.int8,
            ComputeDtype::Int4 => self.int4,
        }
    }
}

/// One GPU model as sold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpu {
    /// Lowercase kebab id, e.g. `h100-sxm5-80gb`.
    pub id: String,
    /// Marketing name.
    pub name: String,
    pub vendor: Vendor,
    /// Other names that resolve to this entry, e.g. `h100`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Architecture family, e.g. `hopper`.
    pub architecture: String,
    /// CUDA compute capability (`major.minor`), NVIDIA only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_capability: Option<String>,
    /// Memory as the vendor labels it (GB on the box), taken as GiB; see `memory_bytes`.
    pub memory_gib: f64,
    /// Memory technology, e.g. `HBM3`.
    pub memory_type: String,
    /// The memory is the machine's RAM, shared by CPU and GPU (default false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unified_memory: bool,
    /// Unified memory only: the documented share of `memory_gib` the GPU may use, e.g. the
    /// operating system's default GPU working-set limit (default: all of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_memory_fraction: Option<f64>,
    /// Peak memory bandwidth in GB/s (10^9 bytes per second).
    pub memory_bandwidth_gb_per_s: f64,
    /// Board power (TDP/TGP) in watts.
    pub tdp_w: f64,
    pub form_factor: FormFactor,
    /// Slots the card occupies (PCIe cards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_width: Option<u8>,
    /// Card length in millimetres (PCIe cards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_mm: Option<f64>,
    pub cooling: Cooling,
    /// PCIe generation of the host link.
    pub pcie_gen: u8,
    /// PCIe lanes of the host link.
    pub pcie_lanes: u8,
    /// GPU-to-GPU fabric, e.g. `nvlink-4` or `nvlink-bridge`; absent means PCIe only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fabric: Option<String>,
    /// Aggregate fabric bandwidth per GPU in GB/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fabric_gb_per_s: Option<f64>,
    /// How many GPUs the fabric joins (2 for a bridge, 8 for an HGX board).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fabric_max_gpus: Option<u32>,
    /// Auxiliary power connectors, e.g. `["8-pin-pcie", "8-pin-pcie"]`, `["12v-2x6"]`, `["baseboard"]`.
    #[serde(default)]
    pub power_connectors: Vec<String>,
    /// Dense peak throughput per dtype.
    pub dense_tflops: DenseTflops,
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

impl Gpu {
    /// Memory the GPU may use, in bytes: `memory_gib` × 2^30, times `gpu_memory_fraction` on a
    /// unified-memory machine.
    pub fn memory_bytes(&self) -> f64 {
        self.total_memory_bytes() * self.gpu_memory_fraction.unwrap_or(1.0)
    }

    /// All of the memory in bytes (`memory_gib` × 2^30): the whole RAM of a unified-memory machine.
    pub fn total_memory_bytes(&self) -> f64 {
        self.memory_gib * (1u64 << 30) as f64
    }

    /// Peak memory bandwidth in bytes per second.
    pub fn bandwidth_bytes_per_s(&self) -> f64 {
        self.memory_bandwidth_gb_per_s * 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::ComputeDtype::{Bf16, Fp16, Fp32, Fp8, Int4, Int8, Tf32};
    use super::*;
    use crate::catalog::{validate, Catalog, CatalogError};

    fn embedded() -> Catalog {
        Catalog::embedded().expect("embedded catalog validates")
    }

    /// Dense peaks entered for issue 12, as read from each entry's source (sparse figures halved,
    /// GeForce FP32-accumulate rates); a typo in a TOML file fails here.
    #[test]
    fn issue_12_gpus_carry_their_datasheet_dense_peaks() {
        let cat = embedded();
        let expect: &[(&str, ComputeDtype, f64)] = &[
            ("rtx-pro-6000-blackwell", Fp32, 125.0),
            ("rtx-pro-6000-blackwell", Bf16, 503.8),
            ("rtx-pro-6000-blackwell", Fp8, 1007.6),
            ("rtx-pro-6000-blackwell-server", Bf16, 503.8),
            ("b300-sxm", Bf16, 2250.0),
            ("b300-sxm", Fp8, 4500.0),
            ("b300-sxm", Int8, 150.0),
            ("gb200", Bf16, 2500.0),
            ("gb200", Tf32, 1250.0),
            ("gb200", Fp8, 5000.0),
            ("h20-96gb", Bf16, 148.0),
            ("h20-96gb", Fp8, 296.0),
            ("l20", Bf16, 119.5),
            ("l40", Bf16, 181.0),
            ("l40", Fp8, 362.0),
            ("l40", Int4, 724.0),
            ("rtx-6000-ada", Bf16, 364.0),
            ("rtx-6000-ada", Fp8, 728.0),
            ("a30", Tf32, 82.6),
            ("a30", Bf16, 165.0),
            ("rtx-5080", Bf16, 113.0),
            ("rtx-5080", Fp8, 225.0),
            ("rtx-5070-ti", Bf16, 88.0),
            ("rtx-4080-super", Bf16, 104.5),
            ("rtx-4080-super", Int8, 418.0),
            ("rtx-4070-ti-super", Bf16, 88.0),
            ("rx-7900-xtx", Fp16, 122.8),
            ("radeon-pro-w7900", Fp16, 122.6),
            ("mi210", Fp16, 181.0),
            ("mi325x", Bf16, 1307.4),
            ("mi325x", Fp8, 2614.9),
            ("mi355x", Fp8, 5000.0),
            ("gaudi-2", Bf16, 432.0),
            ("gaudi-2", Fp8, 865.0),
            ("m3-ultra-512gb", Fp16, 28.4),
            ("m4-max-128gb", Fp16, 18.4),
            ("dgx-spark", Fp32, 31.0),
            ("ryzen-ai-max-395", Fp16, 29.7),
        ];
        for &(id, dtype, tflops) in expect {
            let g = cat
                .gpus
                .get(id)
                .unwrap_or_else(|| panic!("{id} in catalog"));
            assert_eq!(
                g.dense_tflops.get(dtype),
                Some(tflops),
                "{id} {}",
                dtype.name()
            );
        }
        // GeForce cards keep the FP16-accumulate rate apart; professional cards have none.
        assert_eq!(
            cat.gpus.get("rtx-5080").unwrap().dense_tflops.fp16_acc16,
            Some(225.0)
        );
        assert_eq!(
            cat.gpus
                .get("rtx-pro-6000-blackwell")
                .unwrap()
                .dense_tflops
                .fp16_acc16,
            None
        );
        // The L40, unlike the L40S, halves FP16 tensor math with FP32 accumulate.
        assert_eq!(
            cat.gpus.get("l40").unwrap().dense_tflops.fp16_acc16,
            Some(362.0)
        );
    }

    #[test]
    fn unified_memory_gives_the_gpu_its_documented_share() {
        let cat = embedded();
        let gib = (1u64 << 30) as f64;
        let mac = cat.gpus.get("m3-ultra-512gb").unwrap();
        assert!(mac.unified_memory);
        assert_eq!(mac.total_memory_bytes(), 512.0 * gib);
        assert_eq!(mac.memory_bytes(), 384.0 * gib);
        // No documented share: the GPU may use all of it.
        let spark = cat.gpus.get("dgx-spark").unwrap();
        assert_eq!(spark.memory_bytes(), spark.total_memory_bytes());
        // Discrete cards are unchanged.
        let h100 = cat.gpus.get("h100-sxm5-80gb").unwrap();
        assert!(!h100.unified_memory);
        assert_eq!(h100.memory_bytes(), 80.0 * gib);
    }

    const GPU: &str = "[[gpu]]\nid = \"test-apu\"\nname = \"Test APU\"\nvendor = \"amd\"\narchitecture = \"x\"\nmemory_gib = 64\nmemory_type = \"LPDDR5X\"\nmemory_bandwidth_gb_per_s = 200\ntdp_w = 100\nform_factor = \"integrated\"\ncooling = \"module\"\npcie_gen = 0\npcie_lanes = 0\ndense_tflops = { fp16 = 10 }\nsource = \"https://example.org/apu\"\n";

    fn overlay(toml: &str) -> Result<Catalog, CatalogError> {
        let mut cat = embedded();
        cat.add_file("test.toml", toml, true)?;
        validate::validate(&cat)?;
        Ok(cat)
    }

    fn error(toml: &str) -> String {
        overlay(toml).expect_err("should be rejected").to_string()
    }

    #[test]
    fn unified_memory_fields_are_checked() {
        let ok = format!("{GPU}unified_memory = true\ngpu_memory_fraction = 0.5\nsources = {{ gpu_memory_fraction = \"https://example.org/share\" }}\n");
        let cat = overlay(&ok).unwrap();
        assert_eq!(
            cat.gpus.get("test-apu").unwrap().memory_bytes(),
            32.0 * (1u64 << 30) as f64
        );
        let err = error(GPU);
        assert!(
            err.contains("test-apu") && err.contains("unified_memory"),
            "{err}"
        );
        let err = error(&format!(
            "{GPU}unified_memory = true\ngpu_memory_fraction = 0.5\n"
        ));
        assert!(
            err.contains("gpu_memory_fraction") && err.contains("source"),
            "{err}"
        );
        let err = error(&format!("{GPU}unified_memory = true\ngpu_memory_fraction = 1.5\nsources = {{ gpu_memory_fraction = \"https://example.org/share\" }}\n"));
        assert!(
            err.contains("gpu_memory_fraction") && err.contains("1.5"),
            "{err}"
        );
        let err = error(&GPU.replace("pcie_gen = 0", "pcie_gen = 4"));
        assert!(err.contains("pcie_gen"), "{err}");
    }

    #[test]
    fn integrated_gpus_live_only_on_system_platforms() {
        let gpu = format!("{GPU}unified_memory = true\n");
        let platform = "[[platform]]\nid = \"test-box\"\nname = \"Box\"\nkind = \"system\"\nsocket = \"soc\"\nform_factor = \"desktop\"\nmax_gpus = 1\ngpus = [\"test-apu\"]\ncpu_pcie_lanes = 0\npcie_gen = 0\nram_channels = 0\nram_max_gib = 64\nprice_includes_gpus = true\ncomplete_system = true\nsource = \"https://example.org/box\"\n";
        assert!(overlay(&format!("{gpu}{platform}")).is_ok());
        let err = error(&format!(
            "{gpu}{}",
            platform.replace("complete_system = true", "")
        ));
        assert!(err.contains("test-box") && err.contains("kind"), "{err}");
        let err = error(&format!(
            "{gpu}{}",
            platform
                .replace("\"system\"", "\"baseboard-server\"")
                .replace("pcie_gen = 0", "pcie_gen = 4")
        ));
        assert!(
            err.contains("test-box") && err.contains("integrated"),
            "{err}"
        );
    }
}
