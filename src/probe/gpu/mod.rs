//! The real GPU backend: the one module that touches cudarc, NVML and NCCL (and holds the
//! crate's CUDA `unsafe`). It implements [`Backend`]; everything outside sees plain data.
//!
//! Before any cudarc call the matching `is_culib_present()` is checked, since cudarc panics on a
//! missing library; symbols that cudarc's CUDA 13 bindings need but older drivers lack are
//! looked up first (`device::has_symbol`). This code compiles everywhere and is tested without
//! a GPU through the simulated backend and NVRTC, but it has not yet run on a GPU.
mod attention;
mod device;
pub mod dtype;
mod gemm;
pub mod health;
pub mod kernels;
pub mod libs;
mod memory;
mod nccl;
pub mod nvml;
mod p2p;
mod pcie;
mod timing;

use super::backend::{Backend, Inventory, Monitor, PcieOutcome, PeerAccess, Rig};
pub use super::backend::{DecodeTarget, DeviceInfo, PhaseCtx};
use super::schema::GpuHealth;
use super::Outcome;
use libs::CudaLib;
use std::time::{Duration, Instant};

/// Which CUDA libraries were found (see `libs`); a missing one skips only what needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Libraries {
    pub cublas: bool,
    pub cublaslt: bool,
    pub nvrtc: bool,
    pub nccl: bool,
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

/// NVIDIA GPUs through the driver, cuBLASLt, NVRTC, NCCL and NVML, all loaded at run time.
pub struct NvidiaBackend;

impl Backend for NvidiaBackend {
    fn inventory(&self) -> Inventory {
        let mut libraries = vec![nvml::status()];
        libraries.extend(libs::statuses());
        let gpus = match nvml::handle() {
            Ok(n) => nvml::inventory(n).map_err(|e| format!("NVML could not list GPUs: {e}")),
            Err(e) => Err(nvml::unavailable(e)),
        };
        Inventory { gpus, libraries }
    }

    fn open(&self, t0: Instant) -> Result<Box<dyn Rig>, String> {
        if !libs::found(CudaLib::Driver) {
            return Err("the CUDA driver library (libcuda.so) was not found".to_owned());
        }
        let available = Libraries {
            cublas: libs::found(CudaLib::Cublas),
            cublaslt: libs::found(CudaLib::CublasLt),
            nvrtc: libs::found(CudaLib::Nvrtc),
            nccl: libs::found(CudaLib::Nccl),
        };
        open_all(available, t0).map(|devices| Box::new(NvidiaRig { devices }) as Box<dyn Rig>)
    }

    fn monitor(
        &self,
        nvml_indices: &[u32],
        interval: Duration,
        t0: Instant,
    ) -> Option<Box<dyn Monitor>> {
        let n = nvml::handle().ok()?;
        Some(Box::new(nvml::Sampler::start(
            n,
            nvml_indices,
            interval,
            t0,
        )))
    }

    fn health(&self, nvml_index: u32) -> Option<GpuHealth> {
        nvml::health_of(nvml_index)
    }

    fn pcie_path(&self, a: u32, b: u32) -> Option<String> {
        nvml::pcie_path(a, b)
    }
}

/// Opens every CUDA device; `Err` says why none can be used. Checks that libcuda loads before
/// the first cudarc call, because cudarc panics when it cannot.
fn open_all(libs: Libraries, t0: Instant) -> Result<Vec<device::Dev>, String> {
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
                Ok(dev) => devices.push(dev),
                Err(e) => errors.push(e),
            }
        }
        if devices.is_empty() && !errors.is_empty() {
            return Err(errors.join("; "));
        }
        Ok(devices)
    })
}

/// The opened CUDA devices of this machine.
struct NvidiaRig {
    devices: Vec<device::Dev>,
}

impl NvidiaRig {
    fn pick(&self, devs: &[usize]) -> Vec<&device::Dev> {
        devs.iter().filter_map(|&d| self.devices.get(d)).collect()
    }
}

impl Rig for NvidiaRig {
    fn devices(&self) -> Vec<DeviceInfo> {
        self.devices.iter().map(|d| d.info.clone()).collect()
    }

    fn gemm(&self, dev: usize, ctx: &PhaseCtx, peak: &dyn Fn(&str) -> Option<f64>) -> Outcome {
        guarded_phase("gemm", || gemm::phase(&self.devices[dev], ctx, peak))
    }

    fn memory(&self, dev: usize, ctx: &PhaseCtx, peak_gb_per_s: Option<f64>) -> Outcome {
        guarded_phase("memory", || {
            memory::phase(&self.devices[dev], ctx, peak_gb_per_s)
        })
    }

    fn pcie(
        &self,
        dev: usize,
        ctx: &PhaseCtx,
        link_gb_per_s: Option<f64>,
        nvml_index: Option<u32>,
    ) -> PcieOutcome {
        let mut under_load = None;
        let outcome = guarded_phase("pcie", || {
            let (o, link) = pcie::phase(&self.devices[dev], ctx, link_gb_per_s, &|| {
                nvml_index.and_then(nvml::pcie_link_of)
            });
            under_load = link;
            o
        });
        PcieOutcome {
            outcome,
            under_load,
        }
    }

    fn decode(
        &self,
        dev: usize,
        ctx: &PhaseCtx,
        target: Option<&DecodeTarget>,
        peak_gb_per_s: Option<f64>,
    ) -> Outcome {
        guarded_phase("decode", || {
            memory::decode(&self.devices[dev], ctx, target, peak_gb_per_s)
        })
    }

    fn p2p(&self, devs: &[usize], names: &[String], ctx: &PhaseCtx) -> (Outcome, Vec<PeerAccess>) {
        let picked = self.pick(devs);
        let mut access = Vec::new();
        let outcome = guarded_phase("p2p", || {
            let (o, a) = p2p::phase(&picked, names, ctx);
            access = a;
            o
        });
        // p2p numbers pairs by position in `devs`; the runner wants rig positions.
        let access = access
            .into_iter()
            .map(|p| PeerAccess {
                a: devs[p.a],
                b: devs[p.b],
                both_ways: p.both_ways,
            })
            .collect();
        (outcome, access)
    }

    fn nccl(&self, devs: &[usize], ctx: &PhaseCtx) -> Outcome {
        let picked = self.pick(devs);
        guarded_phase("nccl", || nccl::phase(&picked, ctx))
    }

    fn burn_in(
        &self,
        dev: usize,
        ctx: &PhaseCtx,
        duration: Duration,
        hot: &dyn Fn() -> Option<String>,
        peak_tflops: Option<f64>,
    ) -> Outcome {
        guarded_phase("burn-in", || {
            gemm::burn_in(&self.devices[dev], ctx, duration, hot, peak_tflops)
        })
    }

    fn attention(&self, dev: usize, ctx: &PhaseCtx) -> Outcome {
        guarded_phase("attention", || attention::phase(&self.devices[dev], ctx))
    }

    fn check_usable(&self, dev: usize) -> Result<(), String> {
        let d = &self.devices[dev];
        guarded("checking the CUDA context", || {
            d.ctx
                .synchronize()
                .map_err(|e| format!("CUDA reports {e} for every call on this device"))
        })
    }
}
