//! Runs the phases in order, attaches telemetry, derives findings and saves the document after
//! every phase, so an interrupted or crashed run keeps what it measured.
//!
//! Order: the CPU probe; per GPU GEMM, memory, PCIe and decode; across GPUs peer copies and NCCL;
//! per GPU the burn-in; and per GPU the attention kernel last. The attention kernel is the code
//! most likely to fault, and a fault poisons the GPU's CUDA context for the rest of the process,
//! so it runs where it can hide nothing. After every GPU phase the runner asks whether the
//! device is still usable; when it is not (a sticky error), its remaining phases are recorded as
//! not run, with the reason, and the other GPUs carry on.
use super::backend::{Backend, DecodeTarget, Monitor, PhaseCtx, Rig};
use super::catalog_match::{self, decode_weight_bytes};
use super::control::{Cancel, Observer};
use super::cpu::{self, CpuSize};
use super::runfile::{self, RunFile};
use super::schema::{
    ClusterInfo, Finding, GpuInfo, Phase, PhaseKind, PhaseStatus, ProbeRun, Sample, Settings,
    Severity, TelemetrySeries,
};
use super::{count, findings, host, telemetry, timestamp, topology, Mode, Outcome, ProbeError};
use crate::catalog::{Catalog, Gpu, Model};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// Shortest measurement window whose energy is reported: NVML's energy counter updates about
/// every 100 ms, so shorter windows would be mostly quantization.
const MIN_ENERGY_WINDOW_S: f64 = 1.0;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub cpu_size: CpuSize,
    /// `--out`: a file, or a directory to put a timestamped file in; `None` means the per-user
    /// data directory (see `runfile`).
    pub out: Option<PathBuf>,
    pub burn_in: Option<Duration>,
    pub temp_limit_c: f64,
    pub check: bool,
    pub min_pct_of_peak: f64,
    /// Model for the decode proxy, resolved from the catalog.
    pub model: Option<Model>,
    pub skip: Vec<PhaseKind>,
    pub sample_interval: Duration,
    /// A missing GPU is an error (`LLMRIG_REQUIRE_GPU=1`).
    pub require_gpu: bool,
    /// NVML indices to measure; `None` means all.
    pub gpus: Option<Vec<u32>>,
    pub command_line: Vec<String>,
    /// Set when a cluster launcher started this process.
    pub cluster: Option<ClusterInfo>,
}

/// A finished (or interrupted) run and where it was saved.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub run: ProbeRun,
    pub path: PathBuf,
    /// False when nothing was written because the run recorded no phase and an earlier run at
    /// `path` was kept.
    pub saved: bool,
}

/// The run document plus what is needed to keep saving it.
struct Recorder<'a> {
    run: ProbeRun,
    file: RunFile,
    t0: Instant,
    /// Findings the runner makes itself (temperature stops, missing GPUs, lost contexts).
    extra: Vec<Finding>,
    obs: &'a dyn Observer,
}

impl Recorder<'_> {
    fn save(&mut self, telemetry: Option<Vec<TelemetrySeries>>) -> Result<(), ProbeError> {
        if let Some(t) = telemetry {
            self.run.telemetry = t;
        }
        let mut all = self.extra.clone();
        all.extend(findings::derive(&self.run));
        self.run.findings = all;
        self.file.write(&self.run)
    }

    fn now_s(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    /// Runs one phase and records it; `monitor` gives its telemetry when it is a GPU phase.
    fn phase(
        &mut self,
        kind: PhaseKind,
        device: &str,
        steps: u64,
        monitor: Option<(&dyn Monitor, usize)>,
        body: impl FnOnce() -> Outcome,
    ) -> Result<(), ProbeError> {
        let name = format!("{} {device}", kind.name());
        self.obs.phase_started(&name, steps);
        let start = self.now_s();
        let outcome = body();
        let end = self.now_s();
        let mut phase = Phase {
            name,
            kind,
            device: device.to_owned(),
            status: outcome.status,
            note: outcome.note,
            started_at_s: start,
            duration_s: end - start,
            results: outcome.results,
            telemetry: None,
        };
        let snapshot = monitor.map(|(m, slot)| (m.snapshot(), slot));
        if let Some((series, slot)) = &snapshot {
            if let Some(samples) = series.get(*slot).map(|s| s.samples.as_slice()) {
                phase.telemetry = telemetry::summarize(telemetry::window(samples, start, end));
                attach_energy(&mut phase, samples);
            }
        }
        self.obs.phase_finished(&phase);
        self.run.phases.push(phase);
        self.save(snapshot.map(|(s, _)| s))
    }

    /// Records a phase that did not run.
    fn skipped(&mut self, kind: PhaseKind, device: &str, reason: &str) -> Result<(), ProbeError> {
        self.phase(kind, device, 0, None, || Outcome::skipped(reason))
    }
}

/// Energy per measurement over its timed window, divided by the work of every repetition in it.
fn attach_energy(phase: &mut Phase, samples: &[Sample]) {
    for m in &mut phase.results {
        let (Some(a), Some(b)) = (m.window_start_s, m.window_end_s) else {
            continue;
        };
        if b - a < MIN_ENERGY_WINDOW_S {
            continue;
        }
        let Some((joules, _)) = telemetry::energy_between(samples, a, b) else {
            continue;
        };
        let reps = m.times_s.len() as f64;
        m.energy_j = Some(joules);
        m.joules_per_tflop = m
            .flop
            .filter(|f| *f > 0.0)
            .map(|f| joules / (f * reps / 1e12));
        m.joules_per_gb = m
            .bytes
            .filter(|b| *b > 0.0)
            .map(|b| joules / (b * reps / 1e9));
    }
}

/// One GPU being measured.
struct Target {
    /// Position in `run.gpus`.
    slot: usize,
    /// Position in the rig's devices.
    dev: usize,
    /// Position in the monitor's list.
    monitored: usize,
    /// `gpu<index>`.
    name: String,
    entry: Option<Gpu>,
    /// Why the device's context can no longer be used.
    lost: Option<String>,
}

/// Runs the probe on the machine's GPUs (NVIDIA's driver, CUDA libraries and NVML).
pub fn run(
    opts: &Options,
    catalog: &Catalog,
    cancel: &Cancel,
    obs: &dyn Observer,
) -> Result<RunResult, ProbeError> {
    run_with(&super::gpu::NvidiaBackend, opts, catalog, cancel, obs)
}

/// Runs the probe on `backend`'s GPUs.
pub fn run_with(
    backend: &dyn Backend,
    opts: &Options,
    catalog: &Catalog,
    cancel: &Cancel,
    obs: &dyn Observer,
) -> Result<RunResult, ProbeError> {
    let started = SystemTime::now();
    let t0 = Instant::now();
    let host = host::inventory();
    let path = runfile::resolve(opts.out.as_deref(), started, host.hostname.as_deref());
    let settings = Settings {
        mode: opts.mode.name().to_owned(),
        cpu_size: opts.cpu_size.name().to_owned(),
        burn_in_s: opts.burn_in.map(|d| d.as_secs_f64()),
        temp_limit_c: opts.temp_limit_c,
        check: opts.check,
        min_pct_of_peak: opts.min_pct_of_peak,
        model: opts.model.as_ref().map(|m| m.id.clone()),
        sample_interval_s: opts.sample_interval.as_secs_f64(),
        skipped: opts.skip.iter().map(|k| k.name().to_owned()).collect(),
    };
    let mut run = ProbeRun::new(timestamp::rfc3339(started), host, settings);
    run.command_line = opts.command_line.clone();
    run.cluster = opts.cluster.clone();
    let mut rec = Recorder {
        run,
        file: RunFile::new(path),
        t0,
        extra: Vec::new(),
        obs,
    };

    // Inventory first: NVML never panics and says whether a driver exists.
    let inventory = backend.inventory();
    rec.run.libraries = inventory.libraries;
    let nvml_reason = match inventory.gpus {
        Ok(mut gpus) => {
            for g in &mut gpus {
                g.catalog_id = catalog_match::match_gpu(catalog, &g.name, g.memory_bytes)
                    .map(|c| c.id.clone());
            }
            rec.run.gpus = gpus;
            None
        }
        Err(e) => Some(e),
    };
    let rig = match backend.open(t0) {
        Ok(r) if r.devices().is_empty() => Err("the CUDA driver reports no devices".to_owned()),
        Ok(r) => Ok(r),
        Err(e) => Err(nvml_reason.clone().unwrap_or(e)),
    };
    let (rig, reason) = match rig {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e)),
    };
    let mut targets = rig
        .as_deref()
        .map(|r| pair_devices(r, &mut rec.run, catalog, opts))
        .unwrap_or_default();
    let no_gpu_reason = targets
        .is_empty()
        .then(|| reason.unwrap_or_else(|| "no GPU selected by --gpu".to_owned()));
    if let Some(why) = &no_gpu_reason {
        no_gpu(&mut rec, opts, why);
        if opts.require_gpu {
            rec.save(None)?;
            return Err(ProbeError::GpuRequired {
                reason: why.clone(),
            });
        }
    }
    for t in &targets {
        let index = rec.run.gpus[t.slot].index;
        rec.run.gpus[t.slot].health_start = backend.health(index);
    }
    rec.save(None)?;

    let indices: Vec<u32> = targets.iter().map(|t| rec.run.gpus[t.slot].index).collect();
    let monitor = if targets.is_empty() {
        None
    } else {
        backend.monitor(&indices, opts.sample_interval, t0)
    };
    let skip = |k: PhaseKind| opts.skip.contains(&k);
    if !skip(PhaseKind::CpuGemm) && !cancel.is_cancelled() {
        rec.phase(PhaseKind::CpuGemm, "cpu", 10, None, || {
            cpu::run_gemm(opts.cpu_size, opts.mode, cancel, obs)
        })?;
    }
    if !skip(PhaseKind::CpuStream) && !cancel.is_cancelled() {
        let llc = rec.run.host.llc_bytes.unwrap_or(host::LLC_FALLBACK_BYTES);
        rec.phase(PhaseKind::CpuStream, "cpu", 22, None, || {
            cpu::run_stream(opts.cpu_size, opts.mode, llc, cancel, obs)
        })?;
    }

    if let Some(why) = &no_gpu_reason {
        let gpu_kinds = PhaseKind::ALL
            .into_iter()
            .filter(|k| !matches!(k, PhaseKind::CpuGemm | PhaseKind::CpuStream));
        for kind in gpu_kinds {
            let requested = kind != PhaseKind::BurnIn || opts.burn_in.is_some();
            if requested && !skip(kind) && !cancel.is_cancelled() {
                rec.skipped(kind, "gpu", &format!("no GPU: {why}"))?;
            }
        }
    }
    if let Some(rig) = rig.as_deref() {
        let ctx = PhaseCtx {
            mode: opts.mode,
            cancel,
            obs,
        };
        let mut gpu = GpuPhases {
            rec: &mut rec,
            rig,
            monitor: monitor.as_deref(),
            ctx: &ctx,
            opts,
        };
        for t in &mut targets {
            for kind in [
                PhaseKind::Gemm,
                PhaseKind::Memory,
                PhaseKind::Pcie,
                PhaseKind::Decode,
            ] {
                gpu.one(kind, t)?;
            }
        }
        gpu.across(&mut targets, backend)?;
        for t in &mut targets {
            gpu.one(PhaseKind::BurnIn, t)?;
        }
        for t in &mut targets {
            gpu.one(PhaseKind::Attention, t)?;
        }
    }
    // The contexts are released before the final save, so a cluster step that runs after
    // the probe (nccl-tests) finds the GPUs free.
    drop(rig);

    for t in &targets {
        let index = rec.run.gpus[t.slot].index;
        rec.run.gpus[t.slot].health_end = backend.health(index);
    }
    let series = monitor.map(|m| {
        let (series, xid) = m.finish();
        for (index, event) in xid {
            if let Some(g) = rec.run.gpus.iter_mut().find(|g| g.index == index) {
                g.xid_events.push(event);
            }
        }
        series
    });
    rec.run.interrupted = cancel.is_cancelled();
    rec.run.finished_at = Some(timestamp::rfc3339(SystemTime::now()));
    rec.save(series)?;
    Ok(RunResult {
        saved: rec.file.written,
        path: rec.file.path,
        run: rec.run,
    })
}

/// Pairs the rig's devices with NVML's entries (by UUID, then PCI bus id, then order) and picks
/// the ones `--gpu` selects.
fn pair_devices(
    rig: &dyn Rig,
    run: &mut ProbeRun,
    catalog: &Catalog,
    opts: &Options,
) -> Vec<Target> {
    let mut targets = Vec::new();
    for (pos, info) in rig.devices().into_iter().enumerate() {
        let index = run
            .gpus
            .iter()
            .position(|g| g.uuid.is_some() && g.uuid == info.uuid)
            .or_else(|| {
                run.gpus.iter().position(|g| {
                    topology::bus_ids_match(g.pci_bus_id.as_deref(), info.pci_bus_id.as_deref())
                })
            })
            .or_else(|| (pos < run.gpus.len()).then_some(pos));
        let slot = match index {
            Some(i) => i,
            None => {
                run.gpus.push(GpuInfo {
                    index: run.gpus.len() as u32,
                    name: info.name.clone(),
                    ..GpuInfo::default()
                });
                run.gpus.len() - 1
            }
        };
        let g = &mut run.gpus[slot];
        g.compute_capability.get_or_insert_with(|| {
            format!(
                "{}.{}",
                info.compute_capability.0, info.compute_capability.1
            )
        });
        g.cuda_ordinal = Some(info.ordinal as u32);
        if g.catalog_id.is_none() {
            g.catalog_id = catalog_match::match_gpu(catalog, &g.name, Some(info.total_mem_bytes))
                .map(|c| c.id.clone());
        }
        if opts.gpus.as_ref().is_none_or(|v| v.contains(&g.index)) {
            targets.push(Target {
                slot,
                dev: pos,
                monitored: targets.len(),
                name: format!("gpu{}", g.index),
                entry: g
                    .catalog_id
                    .as_deref()
                    .and_then(|id| catalog.gpus.get(id))
                    .cloned(),
                lost: None,
            });
        }
    }
    targets
}

/// Records why no GPU was measured, and what that leaves undone.
fn no_gpu(rec: &mut Recorder, opts: &Options, why: &str) {
    rec.run.gpu_unavailable_reason = Some(why.to_owned());
    rec.extra.push(Finding {
        severity: Severity::Info,
        code: "no-gpu".into(),
        device: None,
        message: format!("GPU phases skipped: {why}"),
    });
    if let Some(d) = opts.burn_in {
        rec.extra.push(Finding {
            severity: Severity::Error,
            code: "burn-in-not-run".into(),
            device: None,
            message: format!(
                "burn-in requested (--duration {} s), no GPU: the burn-in did not run",
                d.as_secs()
            ),
        });
    }
    if opts.check {
        rec.extra.push(Finding {
            severity: Severity::Error,
            code: "check-without-gpu".into(),
            device: None,
            message: "--check requested, no GPU: no GPU was checked".into(),
        });
    }
    rec.obs.note(&format!("no GPU measured: {why}"));
}

/// The GPU part of a run.
struct GpuPhases<'r, 'a> {
    rec: &'r mut Recorder<'a>,
    rig: &'r dyn Rig,
    monitor: Option<&'r dyn Monitor>,
    ctx: &'r PhaseCtx<'r>,
    opts: &'r Options,
}

impl GpuPhases<'_, '_> {
    fn skip(&self, kind: PhaseKind) -> bool {
        self.opts.skip.contains(&kind) || (kind == PhaseKind::BurnIn && self.opts.burn_in.is_none())
    }

    /// Runs `kind` on one GPU, unless skipped, interrupted or its context is lost.
    fn one(&mut self, kind: PhaseKind, t: &mut Target) -> Result<(), ProbeError> {
        if self.skip(kind) || self.ctx.cancel.is_cancelled() {
            return Ok(());
        }
        if let Some(lost) = &t.lost {
            let why = format!(
                "not run: {}'s CUDA context is unusable after {lost}",
                t.name
            );
            return self.rec.skipped(kind, &t.name, &why);
        }
        let info = self.rec.run.gpus[t.slot].clone();
        let monitored = self.monitor.map(|m| (m, t.monitored));
        let (rig, ctx, dev) = (self.rig, self.ctx, t.dev);
        let mem_peak = t.entry.as_ref().map(|g| g.memory_bandwidth_gb_per_s);
        match kind {
            PhaseKind::Gemm => {
                let entry = t.entry.clone();
                let peak = move |dtype: &str| {
                    entry
                        .as_ref()
                        .and_then(|g| catalog_match::peak_tflops(g, dtype))
                };
                self.rec
                    .phase(kind, &t.name, 40, monitored, || rig.gemm(dev, ctx, &peak))?
            }
            PhaseKind::Memory => self.rec.phase(kind, &t.name, 4, monitored, || {
                rig.memory(dev, ctx, mem_peak)
            })?,
            PhaseKind::Pcie => {
                let link = info
                    .pcie
                    .gen_max
                    .zip(info.pcie.width_max)
                    .and_then(|(g, w)| count::pcie_link_gb_per_s(g, w));
                let mut under_load = None;
                self.rec.phase(kind, &t.name, 24, monitored, || {
                    let r = rig.pcie(dev, ctx, link, Some(info.index));
                    under_load = r.under_load;
                    r.outcome
                })?;
                self.rec.run.gpus[t.slot].pcie_under_load = under_load;
            }
            PhaseKind::Decode => {
                let target = self.opts.model.as_ref().map(|m| {
                    let (bytes, params) = decode_weight_bytes(m);
                    DecodeTarget {
                        model_id: m.id.clone(),
                        weight_bytes: bytes,
                        params,
                    }
                });
                self.rec.phase(kind, &t.name, 2, monitored, || {
                    rig.decode(dev, ctx, target.as_ref(), mem_peak)
                })?
            }
            PhaseKind::BurnIn => self.burn_in(t)?,
            PhaseKind::Attention => self
                .rec
                .phase(kind, &t.name, 20, monitored, || rig.attention(dev, ctx))?,
            _ => return Ok(()),
        }
        if let Err(e) = self.rig.check_usable(t.dev) {
            let lost = format!("{} ({e})", kind.name());
            self.rec.extra.push(Finding {
                severity: Severity::Error,
                code: "cuda-context-lost".into(),
                device: Some(t.name.clone()),
                message: format!(
                    "{}'s CUDA context became unusable during {}: {e}; its later phases did not run (rerun with --skip {})",
                    t.name,
                    kind.name(),
                    kind.name()
                ),
            });
            self.rec
                .obs
                .note(&format!("{}: CUDA context lost after {lost}", t.name));
            t.lost = Some(lost);
        }
        Ok(())
    }

    fn burn_in(&mut self, t: &Target) -> Result<(), ProbeError> {
        let Some(duration) = self.opts.burn_in else {
            return Ok(());
        };
        let limit = self.opts.temp_limit_c;
        let monitor = self.monitor;
        let slot = t.monitored;
        let hot = || {
            let temp = monitor.and_then(|m| m.latest_temp_c(slot))?;
            (temp >= limit)
                .then(|| format!("temperature reached {temp:.0} °C (limit {limit:.0} °C)"))
        };
        let peak = t
            .entry
            .as_ref()
            .and_then(|g| catalog_match::peak_tflops(g, "bf16"));
        let (rig, ctx, dev) = (self.rig, self.ctx, t.dev);
        let monitored = monitor.map(|m| (m, slot));
        self.rec.phase(
            PhaseKind::BurnIn,
            &t.name,
            duration.as_secs().max(1),
            monitored,
            || rig.burn_in(dev, ctx, duration, &hot, peak),
        )?;
        let stopped_hot = self
            .rec
            .run
            .phases
            .last()
            .and_then(|p| p.note.clone())
            .filter(|n| n.contains("temperature reached"));
        if let Some(note) = stopped_hot {
            self.rec
                .obs
                .note(&format!("{}: burn-in stopped early: {note}", t.name));
            self.rec.extra.push(Finding {
                severity: Severity::Warning,
                code: "temp-limit".into(),
                device: Some(t.name.clone()),
                message: format!("burn-in stopped early: {note}"),
            });
        }
        Ok(())
    }

    /// Peer copies and NCCL across the usable GPUs, then the pairwise topology.
    fn across(&mut self, targets: &mut [Target], backend: &dyn Backend) -> Result<(), ProbeError> {
        let usable: Vec<&Target> = targets.iter().filter(|t| t.lost.is_none()).collect();
        let devs: Vec<usize> = usable.iter().map(|t| t.dev).collect();
        let names: Vec<String> = usable.iter().map(|t| t.name.clone()).collect();
        let device = usable
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join("+");
        let mut access = Vec::new();
        for kind in [PhaseKind::P2p, PhaseKind::Nccl] {
            if self.skip(kind) || self.ctx.cancel.is_cancelled() || targets.is_empty() {
                continue;
            }
            if devs.len() < 2 {
                let why = format!("needs two or more GPUs; this run measures {}", usable.len());
                self.rec.skipped(kind, &device, &why)?;
                continue;
            }
            let (rig, ctx) = (self.rig, self.ctx);
            let monitored = self.monitor.map(|m| (m, usable[0].monitored));
            if kind == PhaseKind::P2p {
                self.rec.phase(kind, &device, 8, monitored, || {
                    let (outcome, a) = rig.p2p(&devs, &names, ctx);
                    access = a;
                    outcome
                })?;
            } else {
                self.rec
                    .phase(kind, &device, 8, monitored, || rig.nccl(&devs, ctx))?;
            }
        }
        let index_of = |dev: usize| {
            targets
                .iter()
                .find(|t| t.dev == dev)
                .map(|t| self.rec.run.gpus[t.slot].index)
        };
        let allowed: Vec<(u32, u32, bool)> = access
            .iter()
            .filter_map(|p| Some((index_of(p.a)?, index_of(p.b)?, p.both_ways)))
            .collect();
        let gpus: Vec<&GpuInfo> = targets.iter().map(|t| &self.rec.run.gpus[t.slot]).collect();
        let pairs = topology::pairs(&gpus, &|a, b| backend.pcie_path(a, b), &|a, b| {
            allowed
                .iter()
                .find(|(x, y, _)| (*x, *y) == (a, b) || (*x, *y) == (b, a))
                .map(|p| p.2)
        });
        self.rec.run.topology = pairs;
        Ok(())
    }
}

/// Whether the run's status should make `--check` fail.
pub fn check_failed(run: &ProbeRun) -> bool {
    findings::fails_check(&run.findings) || failed(run)
}

/// A phase failed or a result differs from its reference: the run's numbers cannot all be
/// trusted, with or without `--check`.
pub fn failed(run: &ProbeRun) -> bool {
    run.phases.iter().any(|p| {
        p.status == PhaseStatus::Failed || p.results.iter().any(|m| m.check_passed == Some(false))
    })
}
