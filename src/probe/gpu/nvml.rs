//! NVML: GPU inventory and the monitor (a telemetry sampler thread plus the XID watch).
//!
//! NVML is opened once and its result kept as a value (ClementTsang/bottom's pattern), so a host
//! without the driver gets an error to report, not a panic. Every metric is read on its own and
//! a metric the GPU does not support is left out (`None`), as all-smi does.
use super::health::{self, XidWatch};
use crate::probe::backend::Monitor;
use crate::probe::schema::{GpuInfo, LibraryStatus, PcieLink, Sample, TelemetrySeries, XidEvent};
use nvml_wrapper::enum_wrappers::device::{
    Clock, EccCounter, MemoryError, TemperatureSensor, TemperatureThreshold,
};
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{Device, Nvml};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static NVML: OnceLock<Result<Nvml, NvmlError>> = OnceLock::new();

/// The process-wide NVML handle, opened on first use.
pub fn handle() -> Result<&'static Nvml, &'static NvmlError> {
    NVML.get_or_init(Nvml::init).as_ref()
}

/// Why NVML (and so the driver) is not usable, for the run's `gpu_unavailable_reason`.
pub fn unavailable(e: &NvmlError) -> String {
    match e {
        NvmlError::LibloadingError(_) => {
            "no NVIDIA driver: libnvidia-ml.so.1 (NVML, installed with the driver) could not be loaded".to_owned()
        }
        NvmlError::DriverNotLoaded => "the NVIDIA kernel driver is not loaded".to_owned(),
        other => format!("NVML did not start: {other}"),
    }
}

/// The PCIe path between the GPUs with NVML indices `a` and `b`.
pub fn pcie_path(a: u32, b: u32) -> Option<String> {
    let nvml = handle().ok()?;
    let (da, db) = (nvml.device_by_index(a).ok()?, nvml.device_by_index(b).ok()?);
    da.topology_common_ancestor(db)
        .ok()
        .map(|l| health::topo_name(&l).to_owned())
}

/// Error counters of the GPU with NVML index `index`.
pub fn health_of(index: u32) -> Option<crate::probe::schema::GpuHealth> {
    let nvml = handle().ok()?;
    nvml.device_by_index(index).ok().map(|d| health::health(&d))
}

/// Whether NVML opened, and from where.
pub fn status() -> LibraryStatus {
    match handle() {
        Ok(_) => LibraryStatus {
            name: "nvml".into(),
            found: true,
            path: mapped_nvml_path().or_else(|| Some("libnvidia-ml.so.1 (system loader)".into())),
            searched: vec![],
            note: None,
        },
        Err(e) => LibraryStatus {
            name: "nvml".into(),
            found: false,
            path: None,
            searched: vec![],
            note: Some(format!(
                "NVML did not open ({e}); looked for libnvidia-ml.so.1 on the system loader's path, which the NVIDIA driver installs"
            )),
        },
    }
}

fn mapped_nvml_path() -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains("libnvidia-ml"))
        .map(str::to_owned)
}

/// NVML throttle-reason names in snake case (`sw_power_cap`, `hw_slowdown`, …).
fn reason_names(device: &Device) -> Vec<String> {
    device
        .current_throttle_reasons()
        .map(|r| {
            r.iter_names()
                .map(|(name, _)| name.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// PCIe link state of `device` now.
pub fn pcie_link(device: &Device) -> PcieLink {
    PcieLink {
        gen_current: device.current_pcie_link_gen().ok(),
        gen_max: device.max_pcie_link_gen().ok(),
        width_current: device.current_pcie_link_width().ok(),
        width_max: device.max_pcie_link_width().ok(),
    }
}

/// PCIe link state of the GPU with NVML index `index` now, when NVML can say.
pub fn pcie_link_of(index: u32) -> Option<PcieLink> {
    let nvml = handle().ok()?;
    nvml.device_by_index(index).ok().map(|d| pcie_link(&d))
}

/// Every GPU NVML sees; catalog matching is left to the caller.
pub fn inventory(nvml: &Nvml) -> Result<Vec<GpuInfo>, NvmlError> {
    let count = nvml.device_count()?;
    let driver = nvml.sys_driver_version().ok();
    let cuda = nvml.sys_cuda_driver_version().ok().map(|v| {
        format!(
            "{}.{}",
            nvml_wrapper::cuda_driver_version_major(v),
            nvml_wrapper::cuda_driver_version_minor(v)
        )
    });
    let mut gpus = Vec::new();
    for index in 0..count {
        let d = nvml.device_by_index(index)?;
        let bus_id = d.pci_info().ok().map(|p| p.bus_id);
        gpus.push(GpuInfo {
            index,
            name: d.name().unwrap_or_else(|_| format!("GPU {index}")),
            uuid: d.uuid().ok(),
            pci_bus_id: bus_id.clone(),
            memory_bytes: d.memory_info().ok().map(|m| m.total),
            driver_version: driver.clone(),
            cuda_driver_version: cuda.clone(),
            compute_capability: d
                .cuda_compute_capability()
                .ok()
                .map(|c| format!("{}.{}", c.major, c.minor)),
            pcie: pcie_link(&d),
            pcie_under_load: None,
            power_limit_w: d
                .enforced_power_limit()
                .ok()
                .map(|mw| f64::from(mw) / 1000.0),
            sm_clock_max_mhz: d.max_clock_info(Clock::SM).ok(),
            mem_clock_max_mhz: d.max_clock_info(Clock::Memory).ok(),
            sm_clock_mhz: d.clock_info(Clock::SM).ok(),
            mem_clock_mhz: d.clock_info(Clock::Memory).ok(),
            temp_c: d.temperature(TemperatureSensor::Gpu).ok(),
            temp_slowdown_c: d.temperature_threshold(TemperatureThreshold::Slowdown).ok(),
            ecc_enabled: d.is_ecc_enabled().ok().map(|e| e.currently_enabled),
            ecc_uncorrected_errors: d
                .total_ecc_errors(MemoryError::Uncorrected, EccCounter::Volatile)
                .ok(),
            catalog_id: None,
            cuda_ordinal: None,
            numa_node: health::numa_node(&d, bus_id.as_deref()),
            cpu_affinity: health::cpu_affinity(&d),
            nvlinks: health::nvlinks(&d),
            health_start: None,
            health_end: None,
            xid_events: Vec::new(),
        });
    }
    Ok(gpus)
}

/// One reading of every metric; unsupported ones are `None`.
fn read(device: &Device, t_s: f64) -> Sample {
    let util = device.utilization_rates().ok();
    Sample {
        t_s,
        power_w: device.power_usage().ok().map(|mw| f64::from(mw) / 1000.0),
        temp_c: device
            .temperature(TemperatureSensor::Gpu)
            .ok()
            .map(f64::from),
        sm_clock_mhz: device.clock_info(Clock::SM).ok().map(f64::from),
        mem_clock_mhz: device.clock_info(Clock::Memory).ok().map(f64::from),
        util_pct: util.as_ref().map(|u| f64::from(u.gpu)),
        mem_util_pct: util.as_ref().map(|u| f64::from(u.memory)),
        energy_counter_j: device
            .total_energy_consumption()
            .ok()
            .map(|mj| mj as f64 / 1000.0),
        throttle_reasons: reason_names(device),
    }
}

/// A background thread sampling every listed GPU at a fixed interval until stopped, and the
/// XID watch beside it.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    series: Arc<Mutex<Vec<TelemetrySeries>>>,
    thread: Option<JoinHandle<()>>,
    xid: Option<XidWatch>,
}

impl Sampler {
    /// Starts sampling the GPUs with these NVML indices; `t0` is the run's start.
    pub fn start(nvml: &'static Nvml, indices: &[u32], interval: Duration, t0: Instant) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let series = Arc::new(Mutex::new(
            indices
                .iter()
                .map(|i| TelemetrySeries {
                    device: format!("gpu{i}"),
                    interval_s: interval.as_secs_f64(),
                    samples: vec![],
                })
                .collect::<Vec<_>>(),
        ));
        let devices: Vec<Option<Device<'static>>> = indices
            .iter()
            .map(|&i| nvml.device_by_index(i).ok())
            .collect();
        let (stop2, series2) = (stop.clone(), series.clone());
        let thread = std::thread::Builder::new()
            .name("nvml-sampler".into())
            .spawn(move || {
                let mut next = Instant::now();
                while !stop2.load(Ordering::Relaxed) {
                    let t_s = t0.elapsed().as_secs_f64();
                    let readings: Vec<Option<Sample>> = devices
                        .iter()
                        .map(|d| d.as_ref().map(|d| read(d, t_s)))
                        .collect();
                    if let Ok(mut all) = series2.lock() {
                        for (s, r) in all.iter_mut().zip(readings) {
                            s.samples.extend(r);
                        }
                    }
                    next += interval;
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    } else {
                        next = now;
                    }
                }
            })
            .ok();
        Sampler {
            stop,
            series,
            thread,
            xid: XidWatch::start(nvml, indices, t0),
        }
    }
}

impl Monitor for Sampler {
    fn snapshot(&self) -> Vec<TelemetrySeries> {
        self.series.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn latest_temp_c(&self, slot: usize) -> Option<f64> {
        let all = self.series.lock().ok()?;
        all.get(slot)?.samples.iter().rev().find_map(|s| s.temp_c)
    }

    fn finish(mut self: Box<Self>) -> (Vec<TelemetrySeries>, Vec<(u32, XidEvent)>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let xid = self.xid.take().map(XidWatch::finish).unwrap_or_default();
        (self.snapshot(), xid)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
