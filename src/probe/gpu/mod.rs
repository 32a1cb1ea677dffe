//! The GPU backend: the one module that touches cudarc (and holds the crate's CUDA `unsafe`).
//! Everything outside sees plain data: [`DeviceInfo`] and phase [`Outcome`]s.
//!
//! Before any cudarc call the matching `is_culib_present()` is checked, since cudarc panics on a
//! missing library; symbols that cudarc's CUDA 13 bindings need but older drivers lack are
//! looked up first (`device::has_symbol`). This code compiles everywhere but has only run where
//! a GPU was available; see the closing notes of the probe work.
mod attention;
mod device;
pub mod dtype;
mod gemm;
pub mod kernels;
mod memory;
mod pcie;
mod timing;

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
    dev: device::Dev,
}

/// Runs `f`, turning a panic inside cudarc (a missing symbol on an unexpected driver) into an
/// error instead of aborting the run; the library checks presence first, so this is a backstop.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(format!("{what}: the CUDA bindings panicked: {msg}"))
        }
    }
}

fn guarded_phase(what: &str, f: impl FnOnce() -> Outcome) -> Outcome {
    guarded(what, || Ok(f())).unwrap_or_else(Outcome::failed)
}

/// Opens every CUDA device; `Err` says why none can be used. Checks that libcuda loads before
/// the first cudarc call, because cudarc panics when it cannot.
pub fn open_all(libs: Libraries, t0: Instant) -> Result<Vec<Device>, String> {
    // SAFETY: only tries to open the library by the names cudarc would use.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err("the CUDA driver library (libcuda.so) could not be loaded".to_owned());
    }
    guarded("opening CUDA devices", || {
        let count =
            cudarc::driver::CudaContext::device_count().map_err(|e| format!("CUDA driver: {e}"))?;
        let mut devices = Vec::new();
        let mut errors = Vec::new();
        for ordinal in 0..count.max(0) as usize {
            match device::open(ordinal, libs, t0) {
                Ok(dev) => devices.push(Device { dev }),
                Err(e) => errors.push(e),
            }
        }
        if devices.is_empty() && !errors.is_empty() {
            return Err(errors.join("; "));
        }
        Ok(devices)
    })
}

impl Device {
    pub fn info(&self) -> &DeviceInfo {
        &self.dev.info
    }

    /// cuBLASLt GEMM per dtype; `peak` gives the catalog dense peak for a dtype name.
    pub fn gemm(&self, ctx: &PhaseCtx, peak: &dyn Fn(&str) -> Option<f64>) -> Outcome {
        guarded_phase("gemm", || gemm::phase(&self.dev, ctx, peak))
    }

    pub fn attention(&self, ctx: &PhaseCtx) -> Outcome {
        guarded_phase("attention", || attention::phase(&self.dev, ctx))
    }

    pub fn memory(&self, ctx: &PhaseCtx, peak_gb_per_s: Option<f64>) -> Outcome {
        guarded_phase("memory", || memory::phase(&self.dev, ctx, peak_gb_per_s))
    }

    pub fn pcie(&self, ctx: &PhaseCtx, link_gb_per_s: Option<f64>) -> Outcome {
        guarded_phase("pcie", || pcie::phase(&self.dev, ctx, link_gb_per_s))
    }

    pub fn decode(
        &self,
        ctx: &PhaseCtx,
        target: Option<&DecodeTarget>,
        peak_gb_per_s: Option<f64>,
    ) -> Outcome {
        guarded_phase("decode", || {
            memory::decode(&self.dev, ctx, target, peak_gb_per_s)
        })
    }

    pub fn burn_in(
        &self,
        ctx: &PhaseCtx,
        duration: Duration,
        hot: &dyn Fn() -> Option<String>,
        peak: Option<f64>,
    ) -> Outcome {
        guarded_phase("burn-in", || {
            gemm::burn_in(&self.dev, ctx, duration, hot, peak)
        })
    }
}
