//! A simulated GPU backend behind the same interface as the real one (hyperfine's mock-executor
//! idea), compiled only for tests: scripted results, failures, sticky errors, interruptions,
//! telemetry and health counters drive the runner end to end on a machine without a GPU. Its
//! numbers are made up; nothing here is ever presented to a user as a measurement.
use super::backend::{
    Backend, DecodeTarget, DeviceInfo, Inventory, Monitor, PcieOutcome, PeerAccess, PhaseCtx, Rig,
};
use super::control::Cancel;
use super::count::{self, Collective};
use super::measure::{self, Timed};
use super::schema::{
    ClockSource, GpuHealth, GpuInfo, LibraryStatus, Measurement, NvLinkState, PcieLink, PhaseKind,
    PhaseStatus, Sample, Shape, TelemetrySeries, XidEvent,
};
use super::Outcome;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Start and end of every simulated timed window, in run seconds (energy is taken over it).
pub const WINDOW: (f64, f64) = (0.0, 2.0);
/// Board power of every simulated sample.
pub const POWER_W: f64 = 400.0;

/// Options for a quick run into `dir/run.json` that skips the CPU phases (tests stay fast).
pub fn options(dir: &std::path::Path) -> super::runner::Options {
    super::runner::Options {
        mode: super::Mode::Quick,
        cpu_size: super::cpu::CpuSize::Small,
        out: Some(dir.join("run.json")),
        burn_in: None,
        temp_limit_c: 90.0,
        check: false,
        min_pct_of_peak: 60.0,
        model: None,
        skip: vec![PhaseKind::CpuGemm, PhaseKind::CpuStream],
        sample_interval: Duration::from_millis(100),
        require_gpu: false,
        gpus: None,
        command_line: vec!["llmrig".into(), "probe".into()],
        cluster: None,
    }
}

/// Runs the probe on `sim` with the embedded catalog; the run stops when `sim.cancel_at` fires.
pub fn probe(sim: &Sim, opts: &super::runner::Options) -> super::runner::RunResult {
    let catalog = crate::catalog::Catalog::load(None).unwrap();
    let cancel = sim
        .cancel_at
        .as_ref()
        .map(|c| c.1.clone())
        .unwrap_or_default();
    super::runner::run_with(sim, opts, &catalog, &cancel, &super::control::Silent).unwrap()
}

/// An environment lookup over fixed pairs, for launcher and data-directory tests.
pub fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

/// One simulated GPU and what its phases do.
#[derive(Debug, Clone)]
pub struct SimGpu {
    pub name: String,
    pub memory_bytes: u64,
    pub bf16_tflops: f64,
    pub memory_gb_per_s: f64,
    pub pcie_idle: PcieLink,
    pub pcie_under_load: PcieLink,
    pub health_start: GpuHealth,
    pub health_end: GpuHealth,
    pub nvlinks: Vec<NvLinkState>,
    /// Phases that fail outright.
    pub fails: Vec<PhaseKind>,
    /// After this phase the device's context is lost (a sticky error).
    pub sticky_after: Option<PhaseKind>,
    /// Phases whose results differ from the reference.
    pub wrong: Vec<PhaseKind>,
    /// Throttle reasons in every telemetry sample.
    pub throttle: Vec<String>,
    pub temp_c: f64,
}

impl SimGpu {
    /// An H100 SXM on a healthy PCIe 5 x16 link, at plausible rates.
    pub fn h100() -> SimGpu {
        let link = PcieLink {
            gen_current: Some(5),
            gen_max: Some(5),
            width_current: Some(16),
            width_max: Some(16),
        };
        SimGpu {
            name: "NVIDIA H100 80GB HBM3".into(),
            memory_bytes: 85_520_809_984,
            bf16_tflops: 790.0,
            memory_gb_per_s: 3000.0,
            pcie_idle: PcieLink {
                gen_current: Some(1),
                ..link
            },
            pcie_under_load: link,
            health_start: GpuHealth::default(),
            health_end: GpuHealth::default(),
            nvlinks: vec![],
            fails: vec![],
            sticky_after: None,
            wrong: vec![],
            throttle: vec![],
            temp_c: 60.0,
        }
    }
}

/// The simulated machine.
#[derive(Debug, Clone, Default)]
pub struct Sim {
    pub gpus: Vec<SimGpu>,
    /// No driver: inventory and open fail as on a machine without NVIDIA's driver.
    pub no_driver: bool,
    /// Peer access between every pair.
    pub p2p: bool,
    pub xid: Vec<(u32, XidEvent)>,
    /// Cancels the run when this phase starts on the first GPU (as a Ctrl-C would).
    pub cancel_at: Option<(PhaseKind, Cancel)>,
    /// `<phase> <rig position>` of every phase body run, in order.
    pub log: Rc<RefCell<Vec<String>>>,
    /// Health reads per GPU: the first is the run's start, later ones its end.
    pub health_reads: Rc<RefCell<Vec<u32>>>,
}

impl Sim {
    pub fn with(gpus: Vec<SimGpu>) -> Sim {
        Sim {
            gpus,
            p2p: true,
            ..Sim::default()
        }
    }

    /// A machine without NVIDIA's driver.
    pub fn without_driver() -> Sim {
        Sim {
            no_driver: true,
            ..Sim::default()
        }
    }

    pub fn calls(&self) -> Vec<String> {
        self.log.borrow().clone()
    }
}

fn libraries(found: bool) -> Vec<LibraryStatus> {
    ["nvml", "cuda", "cublaslt", "nvrtc", "nccl"]
        .iter()
        .map(|n| LibraryStatus {
            name: (*n).into(),
            found,
            path: found.then(|| format!("/sim/lib{n}.so")),
            searched: vec![],
            note: (!found).then(|| "simulated: not installed".into()),
        })
        .collect()
}

impl Backend for Sim {
    fn inventory(&self) -> Inventory {
        let gpus = if self.no_driver {
            Err("no NVIDIA driver (simulated)".into())
        } else {
            Ok(self
                .gpus
                .iter()
                .enumerate()
                .map(|(i, g)| GpuInfo {
                    index: i as u32,
                    name: g.name.clone(),
                    uuid: Some(format!("GPU-sim-{i}")),
                    pci_bus_id: Some(format!("00000000:{:02x}:00.0", 0x17 + i)),
                    memory_bytes: Some(g.memory_bytes),
                    pcie: g.pcie_idle,
                    nvlinks: g.nvlinks.clone(),
                    ..GpuInfo::default()
                })
                .collect())
        };
        Inventory {
            gpus,
            libraries: libraries(!self.no_driver),
        }
    }

    fn open(&self, _t0: Instant) -> Result<Box<dyn Rig>, String> {
        if self.no_driver {
            return Err("the CUDA driver library (libcuda.so) was not found".into());
        }
        Ok(Box::new(SimRig {
            sim: self.clone(),
            lost: RefCell::new(vec![false; self.gpus.len()]),
        }))
    }

    fn monitor(
        &self,
        indices: &[u32],
        interval: Duration,
        t0: Instant,
    ) -> Option<Box<dyn Monitor>> {
        let gpus = indices
            .iter()
            .map(|&i| self.gpus[i as usize].clone())
            .collect();
        Some(Box::new(SimMonitor {
            gpus,
            indices: indices.to_vec(),
            interval_s: interval.as_secs_f64(),
            t0,
            xid: self.xid.clone(),
        }))
    }

    fn health(&self, nvml_index: u32) -> Option<GpuHealth> {
        let g = self.gpus.get(nvml_index as usize)?;
        let mut reads = self.health_reads.borrow_mut();
        if reads.len() <= nvml_index as usize {
            reads.resize(nvml_index as usize + 1, 0);
        }
        reads[nvml_index as usize] += 1;
        Some(if reads[nvml_index as usize] == 1 {
            g.health_start
        } else {
            g.health_end
        })
    }

    fn pcie_path(&self, _a: u32, _b: u32) -> Option<String> {
        Some("PIX".into())
    }
}

/// Samples every 0.5 ms from the run's start up to now, so every phase window holds some.
struct SimMonitor {
    gpus: Vec<SimGpu>,
    indices: Vec<u32>,
    interval_s: f64,
    t0: Instant,
    xid: Vec<(u32, XidEvent)>,
}

impl Monitor for SimMonitor {
    fn snapshot(&self) -> Vec<TelemetrySeries> {
        let now = self.t0.elapsed().as_secs_f64();
        let steps = (now / 0.0005) as usize + 1;
        self.gpus
            .iter()
            .zip(&self.indices)
            .map(|(g, i)| TelemetrySeries {
                device: format!("gpu{i}"),
                interval_s: self.interval_s,
                samples: (0..steps)
                    .map(|k| {
                        let t_s = k as f64 * 0.0005;
                        Sample {
                            t_s,
                            power_w: Some(POWER_W),
                            temp_c: Some(g.temp_c),
                            energy_counter_j: Some(POWER_W * t_s),
                            throttle_reasons: g.throttle.clone(),
                            ..Sample::default()
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    fn latest_temp_c(&self, slot: usize) -> Option<f64> {
        self.gpus.get(slot).map(|g| g.temp_c)
    }

    fn finish(self: Box<Self>) -> (Vec<TelemetrySeries>, Vec<(u32, XidEvent)>) {
        (self.snapshot(), self.xid.clone())
    }
}

struct SimRig {
    sim: Sim,
    lost: RefCell<Vec<bool>>,
}

/// A timed result of `reps` repetitions of `secs` each over [`WINDOW`].
fn timed(label: &str, dtype: Option<&str>, secs: f64) -> Measurement {
    let mut m = measure::from_times(
        label,
        dtype,
        Timed {
            times_s: vec![secs; 5],
            warmup: 1,
            clock: ClockSource::CudaEvent,
        },
    );
    m.window_start_s = Some(WINDOW.0);
    m.window_end_s = Some(WINDOW.1);
    m
}

impl SimRig {
    /// Logs the call, waits a little (so telemetry has samples in the phase) and applies the
    /// scripted failure, interruption or sticky error; `None` means "produce results".
    fn enter(&self, kind: PhaseKind, dev: usize) -> Option<Outcome> {
        self.sim
            .log
            .borrow_mut()
            .push(format!("{} {dev}", kind.name()));
        std::thread::sleep(Duration::from_millis(3));
        if let Some((at, cancel)) = &self.sim.cancel_at {
            if *at == kind && dev == 0 {
                cancel.cancel();
                return Some(Outcome::cancelled(vec![]));
            }
        }
        let g = &self.sim.gpus[dev];
        if g.sticky_after == Some(kind) {
            self.lost.borrow_mut()[dev] = true;
            return Some(Outcome::failed("CUDA_ERROR_ILLEGAL_ADDRESS (simulated)"));
        }
        g.fails
            .contains(&kind)
            .then(|| Outcome::failed(format!("{} failed (simulated)", kind.name())))
    }

    fn checked(&self, kind: PhaseKind, dev: usize, m: Measurement) -> Measurement {
        let wrong = self.sim.gpus[dev].wrong.contains(&kind);
        let mut m = m.with_check(if wrong { 0.5 } else { 0.0 }, 1e-2);
        m.checked_elements = Some(64);
        m
    }

    fn ok(results: Vec<Measurement>) -> Outcome {
        Outcome {
            status: PhaseStatus::Ok,
            note: Some("simulated".into()),
            results,
        }
    }
}

impl Rig for SimRig {
    fn devices(&self) -> Vec<DeviceInfo> {
        self.sim
            .gpus
            .iter()
            .enumerate()
            .map(|(i, g)| DeviceInfo {
                ordinal: i,
                name: g.name.clone(),
                uuid: Some(format!("GPU-sim-{i}")),
                pci_bus_id: Some(format!("0000:{:02x}:00.0", 0x17 + i)),
                compute_capability: (9, 0),
                total_mem_bytes: g.memory_bytes,
            })
            .collect()
    }

    fn gemm(&self, dev: usize, _ctx: &PhaseCtx, peak: &dyn Fn(&str) -> Option<f64>) -> Outcome {
        if let Some(o) = self.enter(PhaseKind::Gemm, dev) {
            return o;
        }
        let flop = count::gemm_flop(8192, 8192, 8192);
        let secs = flop / (self.sim.gpus[dev].bf16_tflops * 1e12);
        let mut m = timed("8192x8192x8192", Some("bf16"), secs).with_flop(flop, peak("bf16"));
        m.shape = Shape {
            m: Some(8192),
            n: Some(8192),
            k: Some(8192),
            ..Shape::default()
        };
        m.input_sets = Some(1);
        Self::ok(vec![self.checked(PhaseKind::Gemm, dev, m)])
    }

    fn memory(&self, dev: usize, _ctx: &PhaseCtx, peak: Option<f64>) -> Outcome {
        if let Some(o) = self.enter(PhaseKind::Memory, dev) {
            return o;
        }
        let bytes = 2.0 * 512.0 * 1048576.0;
        let secs = bytes / (self.sim.gpus[dev].memory_gb_per_s * 1e9);
        let m = timed("copy", Some("f32"), secs).with_bytes(bytes, "read+write", peak);
        Self::ok(vec![self.checked(PhaseKind::Memory, dev, m)])
    }

    fn pcie(
        &self,
        dev: usize,
        _ctx: &PhaseCtx,
        link: Option<f64>,
        _nvml: Option<u32>,
    ) -> PcieOutcome {
        if let Some(outcome) = self.enter(PhaseKind::Pcie, dev) {
            return PcieOutcome {
                outcome,
                under_load: None,
            };
        }
        let m = timed("h2d pinned 1 GiB", None, 1073741824.0 / 55e9).with_bytes(
            1073741824.0,
            "transfer",
            link,
        );
        PcieOutcome {
            outcome: Self::ok(vec![m]),
            under_load: Some(self.sim.gpus[dev].pcie_under_load),
        }
    }

    fn decode(
        &self,
        dev: usize,
        _ctx: &PhaseCtx,
        target: Option<&DecodeTarget>,
        peak: Option<f64>,
    ) -> Outcome {
        if let Some(o) = self.enter(PhaseKind::Decode, dev) {
            return o;
        }
        let bytes = 4.0 * 1073741824.0;
        let secs = bytes / (0.9 * self.sim.gpus[dev].memory_gb_per_s * 1e9);
        let mut m = timed("gemv bf16", Some("bf16"), secs).with_bytes(bytes, "read+write", peak);
        m.tokens_per_s =
            target.and_then(|t| count::decode_tokens_per_s(t.weight_bytes, m.gb_per_s? * 1e9));
        Self::ok(vec![m])
    }

    fn p2p(&self, devs: &[usize], names: &[String], _ctx: &PhaseCtx) -> (Outcome, Vec<PeerAccess>) {
        self.sim.log.borrow_mut().push("p2p".into());
        let mut results = Vec::new();
        let mut access = Vec::new();
        for (i, &a) in devs.iter().enumerate() {
            for (j, &b) in devs.iter().enumerate() {
                if i < j {
                    access.push(PeerAccess {
                        a,
                        b,
                        both_ways: self.sim.p2p,
                    });
                }
                if i != j {
                    let gb = if self.sim.p2p { 50.0 } else { 10.0 };
                    let mut m = timed(
                        &format!("{} -> {}", names[i], names[j]),
                        None,
                        268435456.0 / (gb * 1e9),
                    )
                    .with_bytes(268435456.0, "transfer", None);
                    m.shape.transfer_bytes = Some(268435456);
                    m.src_device = Some(names[i].clone());
                    m.dst_device = Some(names[j].clone());
                    results.push(m);
                }
            }
        }
        (Self::ok(results), access)
    }

    fn nccl(&self, devs: &[usize], _ctx: &PhaseCtx) -> Outcome {
        self.sim.log.borrow_mut().push("nccl".into());
        let n = devs.len() as u32;
        let size = 1073741824.0;
        let mut m = timed("all-reduce 1024 MiB", Some("f32"), 0.01);
        let (alg, bus) =
            count::nccl_bandwidths(Collective::AllReduce, size, 0.01, n).unwrap_or_default();
        m.algbw_gb_per_s = Some(alg);
        m.busbw_gb_per_s = Some(bus);
        m.gb_per_s = Some(bus);
        Self::ok(vec![m])
    }

    fn burn_in(
        &self,
        dev: usize,
        _ctx: &PhaseCtx,
        _duration: Duration,
        hot: &dyn Fn() -> Option<String>,
        peak: Option<f64>,
    ) -> Outcome {
        if let Some(o) = self.enter(PhaseKind::BurnIn, dev) {
            return o;
        }
        let flop = count::gemm_flop(8192, 8192, 8192);
        let m = timed("sustained 8192x8192x8192", Some("bf16"), flop / 7e14).with_flop(flop, peak);
        match hot() {
            Some(reason) => Outcome {
                status: PhaseStatus::Partial,
                note: Some(reason),
                results: vec![m],
            },
            None => Self::ok(vec![m]),
        }
    }

    fn attention(&self, dev: usize, _ctx: &PhaseCtx) -> Outcome {
        if let Some(o) = self.enter(PhaseKind::Attention, dev) {
            return o;
        }
        let flop = count::attention_flop(4, 32, 4096, 128, true);
        let m = timed("b4 h32 s4096 d128 causal", Some("bf16"), flop / 3e14).with_flop(flop, None);
        Self::ok(vec![self.checked(PhaseKind::Attention, dev, m)])
    }

    fn check_usable(&self, dev: usize) -> Result<(), String> {
        if self.lost.borrow()[dev] {
            Err("CUDA_ERROR_ILLEGAL_ADDRESS (simulated)".into())
        } else {
            Ok(())
        }
    }
}

mod tests;
