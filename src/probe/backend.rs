//! The interface between the runner and a GPU backend.
//!
//! The real backend (`gpu::NvidiaBackend`, cudarc and NVML) and the simulated device the tests
//! use (`sim`, test builds only) both implement it, so the runner's order of phases, its
//! handling of failures, interruptions and sticky CUDA errors, the telemetry it attaches and the
//! findings it draws are tested without a GPU. Nothing here touches CUDA.
use super::control::{Cancel, Observer};
use super::schema::{GpuHealth, GpuInfo, LibraryStatus, PcieLink, TelemetrySeries, XidEvent};
use super::{Mode, Outcome};
use std::time::{Duration, Instant};

/// What a phase needs from the runner.
pub struct PhaseCtx<'a> {
    pub mode: Mode,
    pub cancel: &'a Cancel,
    pub obs: &'a dyn Observer,
}

/// The model the decode proxy converts bandwidth into tokens for.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeTarget {
    pub model_id: String,
    /// Bytes of weights one token streams (bf16).
    pub weight_bytes: f64,
    pub params: u64,
}

/// Facts about an opened device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    pub ordinal: usize,
    pub name: String,
    /// `GPU-xxxxxxxx-…`, as NVML spells it.
    pub uuid: Option<String>,
    pub pci_bus_id: Option<String>,
    pub compute_capability: (i32, i32),
    pub total_mem_bytes: u64,
}

/// What the backend finds before opening any device.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// Every GPU the management library (NVML) lists, or why it cannot.
    pub gpus: Result<Vec<GpuInfo>, String>,
    /// Each GPU library looked for.
    pub libraries: Vec<LibraryStatus>,
}

/// Whether two devices can reach each other's memory directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAccess {
    /// Positions in [`Rig::devices`].
    pub a: usize,
    pub b: usize,
    /// Peer access is allowed in both directions.
    pub both_ways: bool,
}

/// A GPU phase's result plus the PCIe link state read while a copy was in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct PcieOutcome {
    pub outcome: Outcome,
    pub under_load: Option<PcieLink>,
}

/// Telemetry gathered in the background while phases run.
pub trait Monitor {
    /// Everything sampled so far, one series per monitored GPU.
    fn snapshot(&self) -> Vec<TelemetrySeries>;
    /// The latest temperature of the GPU at position `slot` of the monitored list.
    fn latest_temp_c(&self, slot: usize) -> Option<f64>;
    /// Stops sampling: every series, and the XID errors seen (by NVML index).
    fn finish(self: Box<Self>) -> (Vec<TelemetrySeries>, Vec<(u32, XidEvent)>);
}

/// The opened devices of one machine. `dev` arguments are positions in [`Rig::devices`].
pub trait Rig {
    fn devices(&self) -> Vec<DeviceInfo>;
    /// GEMM per dtype; `peak` gives the catalog dense peak for a dtype name.
    fn gemm(&self, dev: usize, ctx: &PhaseCtx, peak: &dyn Fn(&str) -> Option<f64>) -> Outcome;
    fn memory(&self, dev: usize, ctx: &PhaseCtx, peak_gb_per_s: Option<f64>) -> Outcome;
    /// Host-device copies; `nvml_index` lets the backend read the link while a copy runs.
    fn pcie(
        &self,
        dev: usize,
        ctx: &PhaseCtx,
        link_gb_per_s: Option<f64>,
        nvml_index: Option<u32>,
    ) -> PcieOutcome;
    fn decode(
        &self,
        dev: usize,
        ctx: &PhaseCtx,
        target: Option<&DecodeTarget>,
        peak_gb_per_s: Option<f64>,
    ) -> Outcome;
    /// Peer copies between every pair of `devs` (named `names` in the results), and which
    /// pairs allow peer access.
    fn p2p(&self, devs: &[usize], names: &[String], ctx: &PhaseCtx) -> (Outcome, Vec<PeerAccess>);
    /// NCCL collectives across `devs`.
    fn nccl(&self, devs: &[usize], ctx: &PhaseCtx) -> Outcome;
    fn burn_in(
        &self,
        dev: usize,
        ctx: &PhaseCtx,
        duration: Duration,
        hot: &dyn Fn() -> Option<String>,
        peak_tflops: Option<f64>,
    ) -> Outcome;
    fn attention(&self, dev: usize, ctx: &PhaseCtx) -> Outcome;
    /// `Err` when the device's CUDA context is unusable: after a sticky error (an illegal
    /// address, a kernel fault) every later call on it fails, so later phases are not run.
    fn check_usable(&self, dev: usize) -> Result<(), String>;
}

/// A source of GPUs: inventory, devices, telemetry and health counters.
pub trait Backend {
    fn inventory(&self) -> Inventory;
    /// Opens every usable device; `Err` says why none can be used.
    fn open(&self, t0: Instant) -> Result<Box<dyn Rig>, String>;
    /// Starts sampling the GPUs with these NVML indices; `None` when there is no NVML.
    fn monitor(
        &self,
        nvml_indices: &[u32],
        interval: Duration,
        t0: Instant,
    ) -> Option<Box<dyn Monitor>>;
    /// Error counters of one GPU now.
    fn health(&self, nvml_index: u32) -> Option<GpuHealth>;
    /// The PCIe path between two GPUs as `nvidia-smi topo -m` names it (`PIX`, `SYS`, …).
    fn pcie_path(&self, a: u32, b: u32) -> Option<String>;
}
