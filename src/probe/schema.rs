//! The probe's result document: one JSON file per run, written after every phase.
//!
//! This is a contract read by the report module and by the planner's "plan vs probe" view, so the
//! names are stable and every numeric field carries its unit in its name (`_s`, `_w`, `_c`,
//! `_mhz`, `_bytes`, `_gb_per_s`, `tflops`, `_pct`, `_j`). Unknown or unmeasured values are left
//! out (`None`), never zero. Bump [`SCHEMA_VERSION`] on any change that renames, removes or
//! re-means a field; adding an optional field does not need a bump.
//!
//! Conventions:
//! - TFLOP/s and GB/s are decimal (10^12 FLOP/s, 10^9 bytes/s).
//! - Times are seconds; `t_s` and `started_at_s` count from the run's `started_at`.
//! - Rates from repeated timings use the median time (`tflops`, `gb_per_s`); `best_*` use the
//!   fastest repetition.
use serde::{Deserialize, Serialize};

mod cluster;
mod links;
mod telemetry;
pub use cluster::{ClusterInfo, NcclTestsRow, NcclTestsRun};
pub use links::{GpuHealth, GpuPair, NvLinkState, XidEvent};
pub use telemetry::{EnergySource, Sample, TelemetrySeries, TelemetrySummary};

/// Value of [`ProbeRun::kind`].
pub const SCHEMA_KIND: &str = "probe-run";
/// Version of this schema; see the module docs for when it changes. Version 2 added the
/// multi-GPU phase kinds (`p2p`, `nccl`), so a version-1 reader would not know them.
pub const SCHEMA_VERSION: u32 = 2;

/// One probe run: inventory, settings, measured phases, telemetry and findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeRun {
    /// Always `"probe-run"`.
    pub kind: String,
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The program that wrote the file.
    pub tool: Tool,
    /// Start of the run, RFC 3339 UTC (`2026-08-27T09:30:12Z`).
    pub started_at: String,
    /// End of the run; absent while the run is in progress (the file is rewritten after each phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The command line as given.
    #[serde(default)]
    pub command_line: Vec<String>,
    pub host: Host,
    /// Every NVIDIA GPU NVML reported (empty without NVML or GPUs).
    #[serde(default)]
    pub gpus: Vec<GpuInfo>,
    /// Why no GPU was measured, when none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_unavailable_reason: Option<String>,
    /// Each GPU library looked for: found where, or why not.
    #[serde(default)]
    pub libraries: Vec<LibraryStatus>,
    pub settings: Settings,
    /// Completed phases, in the order they ran.
    #[serde(default)]
    pub phases: Vec<Phase>,
    /// Full telemetry time series, one per GPU.
    #[serde(default)]
    pub telemetry: Vec<TelemetrySeries>,
    /// Problems and observations drawn from the measurements.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// The user stopped the run (Ctrl-C) or a limit ended it early; the phases kept are complete.
    #[serde(default)]
    pub interrupted: bool,
    /// How each pair of measured GPUs is connected (PCIe common ancestor, peer access, NVLink).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology: Vec<GpuPair>,
    /// Where this run sits in a cluster job, when a launcher (Slurm, MPI, torchrun) started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    /// Cross-node collective bandwidth measured by NVIDIA's nccl-tests (cluster runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nccl_tests: Option<NcclTestsRun>,
}

/// Name and version of the program that wrote the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
    /// Built without optimizations: CPU figures are then not representative.
    #[serde(default)]
    pub debug_build: bool,
}

/// The host machine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Operating system name and version, e.g. `Debian GNU/Linux 12`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// Physical cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<u32>,
    /// Hardware threads the OS schedules on.
    pub cpu_threads: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_bytes: Option<u64>,
    /// Sum of all distinct last-level caches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llc_bytes: Option<u64>,
    /// Where `llc_bytes` came from (`sysfs` or `fallback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llc_source: Option<String>,
}

/// One GPU as NVML (and, once opened, the CUDA driver) describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// NVML index (PCI bus order); `gpu<index>` in phase `device` fields.
    pub index: u32,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_bus_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Kernel driver version, e.g. `580.82.07`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_version: Option<String>,
    /// Highest CUDA version the driver supports, e.g. `13.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_driver_version: Option<String>,
    /// `major.minor`, e.g. `9.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_capability: Option<String>,
    /// Link state read at inventory time (idle links may train down to save power).
    #[serde(default)]
    pub pcie: PcieLink,
    /// Link state read while a host-to-device copy was in flight, when the PCIe phase ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcie_under_load: Option<PcieLink>,
    /// Enforced board power limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_limit_w: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_clock_max_mhz: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_clock_max_mhz: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_clock_mhz: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_clock_mhz: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_c: Option<u32>,
    /// Temperature at which the GPU starts to slow down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_slowdown_c: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecc_enabled: Option<bool>,
    /// Volatile (since driver load) uncorrected ECC errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecc_uncorrected_errors: Option<u64>,
    /// Catalog entry matched by name, source of the peak figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<String>,
    /// CUDA device ordinal in PCI bus order (`CUDA_DEVICE_ORDER=PCI_BUS_ID` numbering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_ordinal: Option<u32>,
    /// NUMA node of the GPU's PCIe root, as the kernel reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numa_node: Option<u32>,
    /// CPUs closest to the GPU (NVML's affinity mask), as a list such as `0-23,48-71`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_affinity: Option<String>,
    /// NVLink links NVML reports for this GPU (empty when it has none or NVML cannot say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nvlinks: Vec<NvLinkState>,
    /// Error counters read before the first GPU phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_start: Option<GpuHealth>,
    /// The same counters read after the last phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_end: Option<GpuHealth>,
    /// Critical XID errors the driver reported during the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xid_events: Vec<XidEvent>,
}

/// PCIe link generation and width, current and maximum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcieLink {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gen_current: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gen_max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width_current: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width_max: Option<u32>,
}

/// Whether a GPU library was found, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryStatus {
    /// `cuda` (driver), `nvml`, `cublas`, `cublaslt` or `nvrtc`.
    pub name: String,
    pub found: bool,
    /// The file loaded, or the name the system loader resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Directories searched besides the system loader's own path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub searched: Vec<String>,
    /// Why it is missing or unusable, and what that disables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How the run was asked to behave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// `quick` or `full`.
    pub mode: String,
    /// CPU problem sizes: `auto` (calibrated) or `small` (tests).
    pub cpu_size: String,
    /// Burn-in length; absent when no burn-in was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burn_in_s: Option<f64>,
    /// The burn-in stops when a GPU reaches this temperature.
    pub temp_limit_c: f64,
    /// Findings turn into a non-zero exit.
    pub check: bool,
    /// A GEMM or bandwidth result below this share of the catalog peak is a finding.
    pub min_pct_of_peak: f64,
    /// Model used for the decode proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Target interval of the telemetry sampler.
    pub sample_interval_s: f64,
    /// Phase kinds the user skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// What a phase measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseKind {
    /// Multi-threaded f32 matrix multiply on the CPU.
    CpuGemm,
    /// STREAM-style copy and triad on the CPU.
    CpuStream,
    /// cuBLAS / cuBLASLt matrix multiply.
    Gemm,
    /// The fused attention kernel from `kernels/`.
    Attention,
    /// Device memory copy and triad kernels.
    Memory,
    /// Host-device transfers over PCIe.
    Pcie,
    /// Batch-1 GEMV over a weight-sized buffer.
    Decode,
    /// Peer-to-peer copies between every pair of GPUs (bandwidth and latency).
    P2p,
    /// NCCL all-reduce and all-gather across the local GPUs.
    Nccl,
    /// Sustained GEMM under a temperature limit.
    BurnIn,
}

impl PhaseKind {
    /// Every kind, in the order a run performs them: the attention kernel (the newest code,
    /// the likeliest to fault and poison a CUDA context) runs last on each GPU.
    pub const ALL: [PhaseKind; 10] = [
        PhaseKind::CpuGemm,
        PhaseKind::CpuStream,
        PhaseKind::Gemm,
        PhaseKind::Memory,
        PhaseKind::Pcie,
        PhaseKind::Decode,
        PhaseKind::P2p,
        PhaseKind::Nccl,
        PhaseKind::BurnIn,
        PhaseKind::Attention,
    ];

    /// Kebab-case name, as serialized and as accepted by `--skip`.
    pub fn name(self) -> &'static str {
        match self {
            PhaseKind::CpuGemm => "cpu-gemm",
            PhaseKind::CpuStream => "cpu-stream",
            PhaseKind::Gemm => "gemm",
            PhaseKind::Attention => "attention",
            PhaseKind::Memory => "memory",
            PhaseKind::Pcie => "pcie",
            PhaseKind::Decode => "decode",
            PhaseKind::P2p => "p2p",
            PhaseKind::Nccl => "nccl",
            PhaseKind::BurnIn => "burn-in",
        }
    }
}

/// How a phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseStatus {
    /// Every measurement ran.
    Ok,
    /// Some measurements ran; `note` says why the rest did not.
    Partial,
    /// Nothing could be measured; `note` says why.
    Failed,
    /// Not run (missing library or capability); `note` says why.
    Skipped,
}

/// One phase on one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Human-readable name, e.g. `gemm gpu0` or `cpu stream`.
    pub name: String,
    pub kind: PhaseKind,
    /// `cpu`, `gpu<index>`, or `gpu<a>+gpu<b>+…` for a phase across GPUs.
    pub device: String,
    pub status: PhaseStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Start, counted from the run's start.
    pub started_at_s: f64,
    pub duration_s: f64,
    #[serde(default)]
    pub results: Vec<Measurement>,
    /// Telemetry over the phase (GPU phases with NVML only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<TelemetrySummary>,
}

/// How repetitions were timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockSource {
    /// CUDA events recorded on the stream around each repetition.
    CudaEvent,
    /// Host monotonic clock after synchronizing the stream.
    HostSync,
    /// Host monotonic clock around CPU work.
    Host,
}

/// Problem dimensions; only those that apply are present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq_len: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causal: Option<bool>,
    /// Elements per array (copy, triad, GEMV) or bytes per transfer (PCIe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_bytes: Option<u64>,
}

/// One timed operation with its statistics and derived rates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// What was timed, e.g. `8192x8192x8192`, `copy`, `h2d pinned 256 MiB`.
    pub label: String,
    /// Element type, e.g. `bf16`, `f32`, `f64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
    #[serde(default)]
    pub shape: Shape,
    /// Untimed runs before the timed ones.
    pub warmup: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockSource>,
    /// Every timed repetition, in order.
    #[serde(default)]
    pub times_s: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p10_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_s: Option<f64>,
    /// Coefficient of variation of the times (standard deviation / mean, unitless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv: Option<f64>,
    /// Repetitions whose modified z-score exceeds the outlier threshold (see `stats`).
    #[serde(default)]
    pub outliers: u32,
    /// Floating-point (or integer) operations per repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flop: Option<f64>,
    /// Bytes moved per repetition, under `bytes_convention`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<f64>,
    /// `read+write` (every byte read and every byte written) or `transfer` (bytes copied once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_convention: Option<String>,
    /// From the median time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tflops: Option<f64>,
    /// From the fastest repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_tflops: Option<f64>,
    /// From the median time, under `bytes_convention`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gb_per_s: Option<f64>,
    /// From the fastest repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_gb_per_s: Option<f64>,
    /// The same median rate counted as bytes copied once (copy kernels only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_size_gb_per_s: Option<f64>,
    /// Collectives: bytes per rank over the median time (nccl-tests' `algbw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algbw_gb_per_s: Option<f64>,
    /// Collectives: `algbw` times the collective's bus factor (nccl-tests' `busbw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busbw_gb_per_s: Option<f64>,
    /// Peer copies: the source and destination devices (`gpu<index>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_device: Option<String>,
    /// Input sets rotated between repetitions (a cold-L2 proxy); absent means one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_sets: Option<u32>,
    /// Output elements compared with the CPU reference (sampled for timed shapes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_elements: Option<u64>,
    /// Catalog dense peak for this dtype.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_tflops: Option<f64>,
    /// Catalog memory bandwidth, or the PCIe link's theoretical rate per direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_gb_per_s: Option<f64>,
    /// Median rate as a share of the peak above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct_of_peak: Option<f64>,
    /// Largest |got - want| / scale over the checked outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rel_error: Option<f64>,
    /// The bound `max_rel_error` was held to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel_error_bound: Option<f64>,
    /// Whether the correctness check passed; absent when not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_passed: Option<bool>,
    /// Decode proxy: tokens per second that this bandwidth allows for `--model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    /// Energy over the measurement window (GPU with NVML only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_j: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_tflop: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_gb: Option<f64>,
    /// Start of the timed repetitions, counted from the run's start (GPU measurements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start_s: Option<f64>,
    /// End of the timed repetitions, counted from the run's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How serious a finding is; `--check` fails on `warning` and `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// An observation drawn from the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable kebab-case code, e.g. `throttling`, `pcie-degraded`, `below-peak`, `check-failed`.
    pub code: String,
    /// `cpu`, `gpu<index>`, or absent for the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    pub message: String,
}

impl ProbeRun {
    /// An empty run document for `host` and `settings`, started at `started_at`.
    pub fn new(started_at: String, host: Host, settings: Settings) -> ProbeRun {
        ProbeRun {
            kind: SCHEMA_KIND.to_owned(),
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "llmrig".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                debug_build: cfg!(debug_assertions),
            },
            started_at,
            finished_at: None,
            command_line: Vec::new(),
            host,
            gpus: Vec::new(),
            gpu_unavailable_reason: None,
            libraries: Vec::new(),
            settings,
            phases: Vec::new(),
            telemetry: Vec::new(),
            findings: Vec::new(),
            interrupted: false,
            topology: Vec::new(),
            cluster: None,
            nccl_tests: None,
        }
    }
}

/// Small documents for tests elsewhere in the crate.
#[cfg(test)]
pub mod tests_support {
    use super::*;

    pub fn settings() -> Settings {
        Settings {
            mode: "quick".into(),
            cpu_size: "small".into(),
            burn_in_s: None,
            temp_limit_c: 90.0,
            check: false,
            min_pct_of_peak: 60.0,
            model: None,
            sample_interval_s: 0.1,
            skipped: vec![],
        }
    }

    /// A run with no GPU, phase or finding.
    pub fn empty_run() -> ProbeRun {
        ProbeRun::new("2026-01-01T00:00:00Z".into(), Host::default(), settings())
    }

    /// An empty, successful phase.
    pub fn phase(kind: PhaseKind, device: &str) -> Phase {
        Phase {
            name: format!("{} {device}", kind.name()),
            kind,
            device: device.into(),
            status: PhaseStatus::Ok,
            note: None,
            started_at_s: 0.0,
            duration_s: 1.0,
            results: vec![],
            telemetry: None,
        }
    }
}

#[cfg(test)]
mod tests;
