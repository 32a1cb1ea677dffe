//! Runs the phases in order, attaches telemetry, derives findings and saves the document after
//! every phase (atomically: a temporary file in the same directory, then a rename), so an
//! interrupted or crashed run keeps what it measured.
use super::catalog_match::{self, decode_weight_bytes};
use super::control::{Cancel, Observer};
use super::cpu::{self, CpuSize};
use super::gpu::{self, DecodeTarget, PhaseCtx};
use super::libs::{self, CudaLib};
use super::schema::{
    Finding, GpuInfo, Phase, PhaseKind, PhaseStatus, ProbeRun, Settings, Severity, TelemetrySeries,
};
use super::{count, findings, host, nvml, telemetry, timestamp, Mode, Outcome, ProbeError};
use crate::catalog::{Catalog, Model};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Shortest measurement window whose energy is reported: NVML's energy counter updates about
/// every 100 ms, so shorter windows would be mostly quantization.
const MIN_ENERGY_WINDOW_S: f64 = 1.0;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub cpu_size: CpuSize,
    /// Output file; `None` means `reports/runs/<timestamp>-<host>.json`.
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
}

/// A finished (or interrupted) run and where it was saved.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub run: ProbeRun,
    pub path: PathBuf,
}

/// `reports/runs/<compact timestamp>-<host>.json`.
pub fn default_out_path(started: SystemTime, hostname: Option<&str>) -> PathBuf {
    let host: String = hostname
        .unwrap_or("host")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from("reports/runs").join(format!("{}-{host}.json", timestamp::compact(started)))
}

/// Writes `run` to `path` atomically.
pub fn save(run: &ProbeRun, path: &Path) -> Result<(), ProbeError> {
    let text = serde_json::to_string_pretty(run)? + "\n";
    crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|source| ProbeError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The run document plus what is needed to keep saving it.
struct Recorder<'a> {
    run: ProbeRun,
    path: PathBuf,
    t0: Instant,
    /// Findings the runner makes itself (temperature stops, missing GPUs).
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
        save(&self.run, &self.path)
    }

    fn now_s(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    /// Runs one phase and records it; `series` gives its telemetry when it is a GPU phase.
    fn phase(
        &mut self,
        kind: PhaseKind,
        device: &str,
        steps: u64,
        sampler: Option<(&nvml::Sampler, usize)>,
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
        let snapshot = sampler.map(|(s, slot)| (s.snapshot(), slot));
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

/// Energy per measurement, from the telemetry over its timed window.
fn attach_energy(phase: &mut Phase, samples: &[super::schema::Sample]) {
    for m in &mut phase.results {
        let (Some(a), Some(b)) = (m.window_start_s, m.window_end_s) else {
            continue;
        };
        if b - a < MIN_ENERGY_WINDOW_S {
            continue;
        }
        let Some((joules, _)) = telemetry::energy_j(telemetry::window(samples, a, b)) else {
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

/// Inventory from NVML, matched to the catalog.
fn gpu_inventory(catalog: &Catalog) -> (Vec<GpuInfo>, Option<String>) {
    match nvml::handle() {
        Ok(n) => match nvml::inventory(n) {
            Ok(mut gpus) => {
                for g in &mut gpus {
                    g.catalog_id = catalog_match::match_gpu(catalog, &g.name, g.memory_bytes)
                        .map(|c| c.id.clone());
                }
                (gpus, None)
            }
            Err(e) => (Vec::new(), Some(format!("NVML could not list GPUs: {e}"))),
        },
        Err(e) => (
            Vec::new(),
            Some(format!(
                "NVML is not available ({e}): no NVIDIA driver on this machine?"
            )),
        ),
    }
}

/// Runs the probe.
pub fn run(
    opts: &Options,
    catalog: &Catalog,
    cancel: &Cancel,
    obs: &dyn Observer,
) -> Result<RunResult, ProbeError> {
    let started = SystemTime::now();
    let t0 = Instant::now();
    let host = host::inventory();
    let path = opts
        .out
        .clone()
        .unwrap_or_else(|| default_out_path(started, host.hostname.as_deref()));
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
    let mut rec = Recorder {
        run,
        path,
        t0,
        extra: Vec::new(),
        obs,
    };

    // Inventory and libraries. NVML first: it never panics and says whether a driver exists.
    let (gpus, nvml_reason) = gpu_inventory(catalog);
    rec.run.gpus = gpus;
    rec.run.libraries.push(nvml::status());
    let lib_status: Vec<_> = CudaLib::ALL.iter().map(|&l| (l, libs::load(l))).collect();
    let found = |l: CudaLib| lib_status.iter().any(|(x, s)| *x == l && s.found);
    rec.run
        .libraries
        .extend(lib_status.iter().map(|(_, s)| s.clone()));
    let available = gpu::Libraries {
        cublas: found(CudaLib::Cublas),
        cublaslt: found(CudaLib::CublasLt),
        nvrtc: found(CudaLib::Nvrtc),
    };
    let devices = if found(CudaLib::Driver) {
        gpu::open_all(available, t0)
    } else {
        Err(nvml_reason
            .clone()
            .unwrap_or_else(|| "the CUDA driver library (libcuda) was not found".to_owned()))
    };
    let (devices, reason) = match devices {
        Ok(d) if d.is_empty() => (d, Some("the CUDA driver reports no devices".to_owned())),
        Ok(d) => (d, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    // Pair CUDA devices with NVML entries by UUID, then PCI bus id, then order.
    let mut targets: Vec<(usize, gpu::Device)> = Vec::new();
    for (pos, dev) in devices.into_iter().enumerate() {
        let info = dev.info();
        let index = rec
            .run
            .gpus
            .iter()
            .position(|g| g.uuid.is_some() && g.uuid == info.uuid)
            .or_else(|| {
                rec.run.gpus.iter().position(|g| {
                    bus_ids_match(g.pci_bus_id.as_deref(), info.pci_bus_id.as_deref())
                })
            })
            .or_else(|| (pos < rec.run.gpus.len()).then_some(pos));
        let slot = match index {
            Some(i) => i,
            None => {
                rec.run.gpus.push(GpuInfo {
                    index: rec.run.gpus.len() as u32,
                    name: info.name.clone(),
                    ..GpuInfo::default()
                });
                rec.run.gpus.len() - 1
            }
        };
        let g = &mut rec.run.gpus[slot];
        g.compute_capability.get_or_insert_with(|| {
            format!(
                "{}.{}",
                info.compute_capability.0, info.compute_capability.1
            )
        });
        if g.catalog_id.is_none() {
            g.catalog_id = catalog_match::match_gpu(catalog, &g.name, Some(info.total_mem_bytes))
                .map(|c| c.id.clone());
        }
        if opts.gpus.as_ref().is_none_or(|v| v.contains(&g.index)) {
            targets.push((slot, dev));
        }
    }
    if targets.is_empty() {
        let why = reason.unwrap_or_else(|| "no GPU selected by --gpu".to_owned());
        rec.run.gpu_unavailable_reason = Some(why.clone());
        rec.extra.push(Finding {
            severity: Severity::Info,
            code: "no-gpu".into(),
            device: None,
            message: format!("GPU phases skipped: {why}; the CPU probe still ran"),
        });
        obs.note(&format!("no GPU measured: {why}"));
        if opts.require_gpu {
            rec.save(None)?;
            return Err(ProbeError::GpuRequired { reason: why });
        }
    }
    rec.save(None)?;

    let sampler = match nvml::handle() {
        Ok(n) if !targets.is_empty() => {
            let indices: Vec<u32> = targets
                .iter()
                .map(|(slot, _)| rec.run.gpus[*slot].index)
                .collect();
            Some(nvml::Sampler::start(n, &indices, opts.sample_interval, t0))
        }
        _ => None,
    };

    let skip = |k: PhaseKind| opts.skip.contains(&k);
    if !skip(PhaseKind::CpuGemm) && !cancel.is_cancelled() {
        let steps = 10;
        rec.phase(PhaseKind::CpuGemm, "cpu", steps, None, || {
            cpu::run_gemm(opts.cpu_size, opts.mode, cancel, obs)
        })?;
    }
    if !skip(PhaseKind::CpuStream) && !cancel.is_cancelled() {
        let llc = rec
            .run
            .host
            .llc_bytes
            .unwrap_or(super::host::LLC_FALLBACK_BYTES);
        rec.phase(PhaseKind::CpuStream, "cpu", 22, None, || {
            cpu::run_stream(opts.cpu_size, opts.mode, llc, cancel, obs)
        })?;
    }

    for (slot_in_sampler, (slot, dev)) in targets.iter().enumerate() {
        let info = rec.run.gpus[*slot].clone();
        let device = format!("gpu{}", info.index);
        let entry = info
            .catalog_id
            .as_deref()
            .and_then(|id| catalog.gpus.get(id))
            .cloned();
        let ctx = PhaseCtx {
            mode: opts.mode,
            cancel,
            obs,
        };
        let sampled = sampler.as_ref().map(|s| (s, slot_in_sampler));
        for kind in [
            PhaseKind::Gemm,
            PhaseKind::Attention,
            PhaseKind::Memory,
            PhaseKind::Pcie,
            PhaseKind::Decode,
            PhaseKind::BurnIn,
        ] {
            if cancel.is_cancelled() {
                break;
            }
            if skip(kind) {
                continue;
            }
            match kind {
                PhaseKind::Gemm => {
                    let peak = |dtype: &str| {
                        entry
                            .as_ref()
                            .and_then(|g| catalog_match::peak_tflops(g, dtype))
                    };
                    rec.phase(kind, &device, 40, sampled, || dev.gemm(&ctx, &peak))?;
                }
                PhaseKind::Attention => {
                    rec.phase(kind, &device, 20, sampled, || dev.attention(&ctx))?
                }
                PhaseKind::Memory => {
                    let peak = entry.as_ref().map(|g| g.memory_bandwidth_gb_per_s);
                    rec.phase(kind, &device, 4, sampled, || dev.memory(&ctx, peak))?;
                }
                PhaseKind::Pcie => {
                    let link = info
                        .pcie
                        .gen_max
                        .zip(info.pcie.width_max)
                        .and_then(|(g, w)| count::pcie_link_gb_per_s(g, w));
                    rec.phase(kind, &device, 24, sampled, || dev.pcie(&ctx, link))?;
                    rec.run.gpus[*slot].pcie_under_load = nvml::pcie_link_of(info.index);
                }
                PhaseKind::Decode => {
                    let target = opts.model.as_ref().map(|m| {
                        let (bytes, params) = decode_weight_bytes(m);
                        DecodeTarget {
                            model_id: m.id.clone(),
                            weight_bytes: bytes,
                            params,
                        }
                    });
                    let peak = entry.as_ref().map(|g| g.memory_bandwidth_gb_per_s);
                    rec.phase(kind, &device, 2, sampled, || {
                        dev.decode(&ctx, target.as_ref(), peak)
                    })?;
                }
                PhaseKind::BurnIn => {
                    let Some(duration) = opts.burn_in else {
                        continue;
                    };
                    let limit = opts.temp_limit_c;
                    let hot = || {
                        let temp = sampler
                            .as_ref()
                            .and_then(|s| s.latest_temp_c(slot_in_sampler))?;
                        (temp >= limit).then(|| {
                            format!("temperature reached {temp:.0} °C (limit {limit:.0} °C)")
                        })
                    };
                    let peak = entry
                        .as_ref()
                        .and_then(|g| catalog_match::peak_tflops(g, "bf16"));
                    rec.phase(kind, &device, duration.as_secs().max(1), sampled, || {
                        dev.burn_in(&ctx, duration, &hot, peak)
                    })?;
                    let stopped_hot = rec
                        .run
                        .phases
                        .last()
                        .and_then(|p| p.note.clone())
                        .filter(|n| n.contains("temperature reached"));
                    if let Some(note) = stopped_hot {
                        obs.note(&format!("{device}: burn-in stopped early: {note}"));
                        rec.extra.push(Finding {
                            severity: Severity::Warning,
                            code: "temp-limit".into(),
                            device: Some(device.clone()),
                            message: format!("burn-in stopped early: {note}"),
                        });
                    }
                }
                PhaseKind::CpuGemm | PhaseKind::CpuStream => {}
            }
        }
    }
    if targets.is_empty() {
        for kind in [
            PhaseKind::Gemm,
            PhaseKind::Attention,
            PhaseKind::Memory,
            PhaseKind::Pcie,
            PhaseKind::Decode,
        ] {
            if !skip(kind) {
                rec.skipped(kind, "gpu", "no GPU (see gpu_unavailable_reason)")?;
            }
        }
    }

    rec.run.interrupted = cancel.is_cancelled();
    rec.run.finished_at = Some(timestamp::rfc3339(SystemTime::now()));
    let series = sampler.map(nvml::Sampler::finish);
    rec.save(series)?;
    Ok(RunResult {
        run: rec.run,
        path: rec.path,
    })
}

/// NVML writes `00000000:17:00.0`, the CUDA driver `0000:17:00.0`: compare the bus/device/function.
fn bus_ids_match(a: Option<&str>, b: Option<&str>) -> bool {
    let tail = |s: &str| {
        s.rsplit_once(':').map(|(rest, f)| {
            (
                rest.rsplit_once(':')
                    .map(|(_, bus)| bus.to_ascii_lowercase()),
                f.to_ascii_lowercase(),
            )
        })
    };
    match (a, b) {
        (Some(a), Some(b)) => tail(a).is_some() && tail(a) == tail(b),
        _ => false,
    }
}

/// Whether the run's status should make `--check` fail.
pub fn check_failed(run: &ProbeRun) -> bool {
    findings::fails_check(&run.findings)
        || run.phases.iter().any(|p| p.status == PhaseStatus::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::control::Silent;

    fn options(out: PathBuf) -> Options {
        Options {
            mode: Mode::Quick,
            cpu_size: CpuSize::Small,
            out: Some(out),
            burn_in: None,
            temp_limit_c: 90.0,
            check: false,
            min_pct_of_peak: 60.0,
            model: None,
            skip: vec![],
            sample_interval: Duration::from_millis(100),
            require_gpu: false,
            gpus: None,
            command_line: vec!["llmrig".into(), "probe".into()],
        }
    }

    #[test]
    fn default_path_is_timestamped_and_safe() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_787_823_012);
        assert_eq!(
            default_out_path(t, Some("rig 1/a")),
            PathBuf::from("reports/runs/20260827T093012Z-rig_1_a.json")
        );
    }

    #[test]
    fn save_is_atomic_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/run.json");
        let run = ProbeRun::new(
            "2026-01-01T00:00:00Z".into(),
            Default::default(),
            options(path.clone()).settings_for_test(),
        );
        save(&run, &path).unwrap();
        save(&run, &path).unwrap();
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run.json")]);
        let back: ProbeRun =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back, run);
    }

    #[test]
    fn bus_ids_compare_across_nvml_and_cuda_spellings() {
        assert!(bus_ids_match(
            Some("00000000:17:00.0"),
            Some("0000:17:00.0")
        ));
        assert!(!bus_ids_match(
            Some("00000000:17:00.0"),
            Some("0000:18:00.0")
        ));
        assert!(!bus_ids_match(None, Some("0000:18:00.0")));
    }

    #[test]
    fn a_cancelled_run_is_saved_as_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let cancel = Cancel::new();
        cancel.cancel();
        let result = run(
            &options(path.clone()),
            &Catalog::default(),
            &cancel,
            &Silent,
        )
        .unwrap();
        assert!(result.run.interrupted);
        assert!(result
            .run
            .phases
            .iter()
            .all(|p| p.kind != PhaseKind::CpuGemm));
        let back: ProbeRun =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(back.interrupted && back.finished_at.is_some());
    }

    impl Options {
        fn settings_for_test(&self) -> Settings {
            Settings {
                mode: self.mode.name().into(),
                cpu_size: self.cpu_size.name().into(),
                burn_in_s: None,
                temp_limit_c: self.temp_limit_c,
                check: self.check,
                min_pct_of_peak: self.min_pct_of_peak,
                model: None,
                sample_interval_s: 0.1,
                skipped: vec![],
            }
        }
    }
}
