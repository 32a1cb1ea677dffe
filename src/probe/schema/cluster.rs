//! Cluster runs: the launcher's view of a process and NVIDIA nccl-tests tables.
use serde::{Deserialize, Serialize};

/// The launcher's view of this process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// `slurm`, `openmpi`, `mpich`, `mvapich` or `torchrun`.
    pub launcher: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Node name from the launcher (e.g. `SLURMD_NODENAME`), else the host name.
    pub node: String,
    pub rank: u32,
    pub local_rank: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_rank: Option<u32>,
    pub world_size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes_count: Option<u32>,
}

/// One nccl-tests run (e.g. `all_reduce_perf`) and its table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NcclTestsRun {
    /// The command as run (or as the user should run it when it could not be run).
    pub command: Vec<String>,
    /// `all_reduce`, `all_gather`, … (from the binary's name or the output).
    pub collective: String,
    /// Ranks listed under "Using devices".
    #[serde(default)]
    pub ranks_count: u32,
    /// Host names of those ranks, in order of first appearance.
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub rows: Vec<NcclTestsRow>,
    /// nccl-tests' own "Avg bus bandwidth" line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_busbw_gb_per_s: Option<f64>,
    /// Why it did not run or produced no table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One size of an nccl-tests table (out-of-place columns, then in-place).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NcclTestsRow {
    pub size_bytes: u64,
    pub time_us: f64,
    pub algbw_gb_per_s: f64,
    pub busbw_gb_per_s: f64,
    /// Wrong values found by the validation (absent when it was off, `N/A`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place_busbw_gb_per_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place_wrong_count: Option<u64>,
}
