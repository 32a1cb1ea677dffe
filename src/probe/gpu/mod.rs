//! The GPU backend: the one module that touches cudarc. Everything outside sees plain data.
use super::control::{Cancel, Observer};
use super::{Mode, Outcome};
use std::time::{Duration, Instant};

/// Which CUDA libraries were found (see `libs`); a missing one skips only what needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Libraries {
    pub cublas: bool,
    pub cublaslt: bool,
    pub nvrtc: bool,
}

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

/// One opened CUDA device.
pub struct Device {
    info: DeviceInfo,
}

/// Opens every CUDA device; `Err` says why none can be used.
pub fn open_all(_libs: Libraries, _t0: Instant) -> Result<Vec<Device>, String> {
    Err("the GPU backend is not built yet".into())
}

impl Device {
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    pub fn gemm(&self, _ctx: &PhaseCtx, _peak: &dyn Fn(&str) -> Option<f64>) -> Outcome {
        Outcome::skipped("not built")
    }

    pub fn attention(&self, _ctx: &PhaseCtx) -> Outcome {
        Outcome::skipped("not built")
    }

    pub fn memory(&self, _ctx: &PhaseCtx, _peak_gb_per_s: Option<f64>) -> Outcome {
        Outcome::skipped("not built")
    }

    pub fn pcie(&self, _ctx: &PhaseCtx, _link_gb_per_s: Option<f64>) -> Outcome {
        Outcome::skipped("not built")
    }

    pub fn decode(&self, _ctx: &PhaseCtx, _target: Option<&DecodeTarget>) -> Outcome {
        Outcome::skipped("not built")
    }

    pub fn burn_in(
        &self,
        _ctx: &PhaseCtx,
        _duration: Duration,
        _hot: &dyn Fn() -> Option<String>,
    ) -> Outcome {
        Outcome::skipped("not built")
    }
}
