//! The GPU part of a run: each phase on each GPU in the runner's order, the phases across GPUs,
//! the burn-in, and what a lost CUDA context leaves undone.
use super::recorder::Recorder;
use super::Options;
use crate::catalog::Gpu;
use crate::probe::backend::{Backend, DecodeTarget, Monitor, PhaseCtx, Rig};
use crate::probe::catalog_match::{self, decode_weight_bytes};
use crate::probe::schema::{Finding, GpuInfo, PhaseKind, Severity};
use crate::probe::{count, topology, ProbeError};

/// One GPU being measured.
pub(super) struct Target {
    /// Position in `run.gpus`.
    pub(super) slot: usize,
    /// Position in the rig's devices.
    pub(super) dev: usize,
    /// Position in the monitor's list.
    pub(super) monitored: usize,
    /// `gpu<index>`.
    pub(super) name: String,
    pub(super) entry: Option<Gpu>,
    /// Why the device's context can no longer be used.
    pub(super) lost: Option<String>,
}

/// The GPU part of a run.
pub(super) struct GpuPhases<'r, 'a> {
    pub(super) rec: &'r mut Recorder<'a>,
    pub(super) rig: &'r dyn Rig,
    pub(super) monitor: Option<&'r dyn Monitor>,
    pub(super) ctx: &'r PhaseCtx<'r>,
    pub(super) opts: &'r Options,
}

impl GpuPhases<'_, '_> {
    fn skip(&self, kind: PhaseKind) -> bool {
        self.opts.skip.contains(&kind) || (kind == PhaseKind::BurnIn && self.opts.burn_in.is_none())
    }

    /// Runs `kind` on one GPU, unless skipped, interrupted or its context is lost.
    pub(super) fn one(&mut self, kind: PhaseKind, t: &mut Target) -> Result<(), ProbeError> {
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
    pub(super) fn across(
        &mut self,
        targets: &mut [Target],
        backend: &dyn Backend,
    ) -> Result<(), ProbeError> {
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
