//! The run document while it is being made: each phase is recorded with its telemetry and
//! energy, findings are derived again, and the document is saved after every phase.
use crate::probe::backend::Monitor;
use crate::probe::control::Observer;
use crate::probe::runfile::RunFile;
use crate::probe::schema::{Finding, Phase, PhaseKind, ProbeRun, Sample, TelemetrySeries};
use crate::probe::{findings, telemetry, Outcome, ProbeError};
use std::time::Instant;

/// Shortest measurement window whose energy is reported: NVML's energy counter updates about
/// every 100 ms, so shorter windows would be mostly quantization.
const MIN_ENERGY_WINDOW_S: f64 = 1.0;

/// The run document plus what is needed to keep saving it.
pub(super) struct Recorder<'a> {
    pub(super) run: ProbeRun,
    pub(super) file: RunFile,
    pub(super) t0: Instant,
    /// Findings the runner makes itself (temperature stops, missing GPUs, lost contexts).
    pub(super) extra: Vec<Finding>,
    pub(super) obs: &'a dyn Observer,
}

impl Recorder<'_> {
    pub(super) fn save(
        &mut self,
        telemetry: Option<Vec<TelemetrySeries>>,
    ) -> Result<(), ProbeError> {
        if let Some(t) = telemetry {
            self.run.telemetry = t;
        }
        let mut all = self.extra.clone();
        all.extend(findings::derive(&self.run));
        self.run.findings = all;
        self.file.write(&self.run)
    }

    pub(super) fn now_s(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    /// Runs one phase and records it; `monitor` gives its telemetry when it is a GPU phase.
    pub(super) fn phase(
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
    pub(super) fn skipped(
        &mut self,
        kind: PhaseKind,
        device: &str,
        reason: &str,
    ) -> Result<(), ProbeError> {
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
