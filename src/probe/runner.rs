//! Runs the phases in order, attaches telemetry, derives findings and saves the document after
//! every phase, so an interrupted or crashed run keeps what it measured.
//!
//! Order: the CPU probe; per GPU GEMM, memory, PCIe and decode; across GPUs peer copies and NCCL;
//! per GPU the burn-in; and per GPU the attention kernel last. The attention kernel is the code
//! most likely to fault, and a fault poisons the GPU's CUDA context for the rest of the process,
//! so it runs where it can hide nothing. After every GPU phase the runner asks whether the
//! device is still usable; when it is not (a sticky error), its remaining phases are recorded as
//! not run, with the reason, and the other GPUs carry on.
use super::backend::{Backend, PhaseCtx, Rig};
use super::catalog_match;
use super::control::{Cancel, Observer};
use super::cpu::{self, CpuSize};
use super::runfile::{self, RunFile};
use super::schema::{
    ClusterInfo, Finding, GpuInfo, PhaseKind, PhaseStatus, ProbeRun, Settings, Severity,
};
use super::{findings, host, timestamp, topology, Mode, ProbeError};
use crate::catalog::{Catalog, Model};
use gpu::{GpuPhases, Target};
use recorder::Recorder;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

mod gpu;
mod recorder;

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
