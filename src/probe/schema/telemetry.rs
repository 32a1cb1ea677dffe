//! Telemetry in a probe run: summaries over a window, the sampled series, and where energy
//! figures come from.
use serde::{Deserialize, Serialize};

/// How an energy figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnergySource {
    /// Difference of NVML's total-energy counter (millijoules, Volta and later).
    NvmlEnergyCounter,
    /// Trapezoid integral of sampled board power (coarser: NVML power is averaged).
    PowerTrapezoid,
}

/// Telemetry over one window (a phase or a measurement).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySummary {
    pub samples: u32,
    pub window_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_j: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_source: Option<EnergySource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_power_w: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_power_w: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_temp_c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_sm_clock_mhz: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sm_clock_mhz: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_util_pct: Option<f64>,
    /// Every throttle reason seen in the window except `gpu_idle`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle_reasons: Vec<String>,
    /// Share of samples with a slowdown reason (thermal, hardware or power brake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowdown_pct: Option<f64>,
}

/// The sampled time series of one GPU.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySeries {
    /// `gpu<index>`.
    pub device: String,
    /// Target sampling interval.
    pub interval_s: f64,
    pub samples: Vec<Sample>,
}

/// One telemetry reading; a metric the GPU does not report is absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the run started.
    pub t_s: f64,
    /// Board power as NVML reports it (averaged over about 1 s on Ampere and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_clock_mhz: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_clock_mhz: Option<f64>,
    /// GPU utilization over NVML's last sample period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub util_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_util_pct: Option<f64>,
    /// NVML total-energy counter since driver load, in joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_counter_j: Option<f64>,
    /// Active clock throttle reasons (snake_case NVML names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle_reasons: Vec<String>,
}
