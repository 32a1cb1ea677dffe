//! How the GPUs of a rig are linked and how healthy they are: NVLink state, error counters,
//! XID events and the PCIe/NVLink path between each pair.
use serde::{Deserialize, Serialize};

/// One NVLink link of a GPU.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NvLinkState {
    pub link: u32,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Link speed as NVML reports it (`NVML_FI_DEV_NVLINK_SPEED_MBPS_*`, megabytes per second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbyte_per_s: Option<f64>,
    /// PCI bus id of the device at the other end (a GPU or an NVSwitch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_pci_bus_id: Option<String>,
}

/// Error counters of one GPU at one moment; a counter NVML cannot read is absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuHealth {
    /// PCIe link-level replays since the driver loaded (retransmitted packets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcie_replay_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecc_corrected_volatile_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecc_uncorrected_volatile_count: Option<u64>,
    /// Over the GPU's lifetime (persisted in the InfoROM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecc_uncorrected_aggregate_count: Option<u64>,
    /// Pages retired for single-bit and double-bit errors (pre-Ampere page retirement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_pages_sbe_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_pages_dbe_count: Option<u64>,
    /// A retirement waits for the next driver reload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_pages_pending: Option<bool>,
    /// Rows remapped for correctable and uncorrectable errors (Ampere and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remapped_rows_correctable_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remapped_rows_uncorrectable_count: Option<u64>,
    /// A remap waits for the next GPU reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remapped_rows_pending: Option<bool>,
    /// A remap failed: the GPU has run out of spare rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remapped_rows_failure: Option<bool>,
}

/// A critical XID error reported by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct XidEvent {
    /// The XID number (e.g. 79: fallen off the bus, 48: double-bit ECC error).
    pub xid: u64,
    /// Seconds since the run started.
    pub t_s: f64,
}

/// How two measured GPUs are connected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuPair {
    /// NVML indices of the two GPUs (`a < b`).
    pub a: u32,
    pub b: u32,
    /// Closest common PCIe ancestor as `nvidia-smi topo -m` names it: `PIX` (one switch),
    /// `PXB` (several switches), `PHB` (a host bridge), `NODE` (one NUMA node), `SYS` (across
    /// sockets), or `BOARD` (the same board).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcie_path: Option<String>,
    /// Whether the CUDA driver allows peer access in both directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p2p_access: Option<bool>,
    /// Active NVLink links between the two GPUs directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvlink_count: Option<u32>,
}
