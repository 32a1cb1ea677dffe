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
    /// Whether the GPU shares the machine's RAM (Apple M-series, DGX Spark, Ryzen AI Max);
    /// `memory_gib` is then the RAM. Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unified_memory: bool,
    /// Documented share of unified RAM the GPU may use (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_memory_fraction: Option<f64>,
}

impl Gpu {
    /// GPU-usable memory in bytes: `memory_gib` × 2^30, times `gpu_memory_fraction` for
    /// unified memory.
    pub fn memory_bytes(&self) -> f64 {
        let share = if self.unified_memory {
            self.gpu_memory_fraction.unwrap_or(1.0)
        } else {
            1.0
        };
        self.memory_gib * (1u64 << 30) as f64 * share
    }

    /// Peak memory bandwidth in bytes per second.
    pub fn bandwidth_bytes_per_s(&self) -> f64 {
        self.memory_bandwidth_gb_per_s * 1e9
    }
}
