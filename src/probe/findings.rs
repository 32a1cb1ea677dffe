//! Findings drawn from a run document (pure): throttling, degraded PCIe links, results under a
//! share of the catalog peak, failed correctness checks and ECC errors; `health` adds the
//! error counters, XID events and links between GPUs.
//!
//! `--check` turns any `warning` or `error` into exit status 1. Datasheet peaks are not reachable
//! in practice (an H100 SXM reaches ≈ 80 % of its dense BF16 peak in cuBLAS, ≈ 90 % of its HBM
//! bandwidth in a device copy; see `shared/notes/probe.md` §2), so the threshold is a share of the
//! peak chosen by the user (`--min-pct-of-peak`), not the peak itself.
use super::schema::{Finding, PcieLink, PhaseKind, PhaseStatus, ProbeRun, Severity};
use super::telemetry::SLOWDOWN_REASONS;
use std::collections::BTreeMap;

mod health;
pub use health::{MAX_PCIE_REPLAYS, P2P_SLOW_PCT};

fn finding(severity: Severity, code: &str, device: Option<&str>, message: String) -> Finding {
    Finding {
        severity,
        code: code.to_owned(),
        device: device.map(str::to_owned),
        message,
    }
}

/// Every finding the run's data supports, in a stable order.
pub fn derive(run: &ProbeRun) -> Vec<Finding> {
    let mut out = Vec::new();
    for gpu in &run.gpus {
        let device = format!("gpu{}", gpu.index);
        if gpu.catalog_id.is_none() {
            out.push(finding(
                Severity::Info,
                "no-catalog-entry",
                Some(&device),
                format!(
                    "'{}' matches no catalog GPU, so results are not compared with a peak",
                    gpu.name
                ),
            ));
        }
        match gpu.pcie_under_load {
            Some(link) => out.extend(pcie_findings(&device, link, true)),
            None => out.extend(pcie_findings(&device, gpu.pcie, false)),
        }
        if let Some(errors) = gpu.ecc_uncorrected_errors.filter(|&e| e > 0) {
            out.push(finding(
                Severity::Error,
                "ecc-errors",
                Some(&device),
                format!("{errors} uncorrected ECC errors since the driver loaded"),
            ));
        }
    }
    for phase in &run.phases {
        let device = Some(phase.device.as_str());
        if phase.status == PhaseStatus::Failed {
            let why = phase.note.as_deref().unwrap_or("no reason recorded");
            out.push(finding(
                Severity::Warning,
                "phase-failed",
                device,
                format!("{} failed: {why}", phase.name),
            ));
        }
        for m in phase
            .results
            .iter()
            .filter(|m| m.check_passed == Some(false))
        {
            let err = m
                .max_rel_error
                .map(|e| format!(" (relative error {e:.2e})"))
                .unwrap_or_default();
            out.push(finding(
                Severity::Error,
                "check-failed",
                device,
                format!(
                    "{} {}: result differs from the CPU reference{err}",
                    phase.name, m.label
                ),
            ));
        }
        if let Some(t) = &phase.telemetry {
            let slow: Vec<&str> = t
                .throttle_reasons
                .iter()
                .map(String::as_str)
                .filter(|r| SLOWDOWN_REASONS.contains(r))
                .collect();
            if !slow.is_empty() {
                out.push(finding(
                    Severity::Warning,
                    "throttling",
                    device,
                    format!(
                        "{}: clocks slowed by {} in {:.0} % of samples",
                        phase.name,
                        slow.join(", "),
                        t.slowdown_pct.unwrap_or(0.0)
                    ),
                ));
            } else if t.throttle_reasons.iter().any(|r| r == "sw_power_cap") {
                out.push(finding(
                    Severity::Info,
                    "power-capped",
                    device,
                    format!(
                        "{}: clocks held at the power limit (normal under full tensor-core load)",
                        phase.name
                    ),
                ));
            }
        }
    }
    out.extend(health::derive(run));
    out.extend(below_peak(run));
    out
}

fn pcie_findings(device: &str, link: PcieLink, under_load: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    if let (Some(cur), Some(max)) = (link.width_current, link.width_max) {
        if cur < max {
            out.push(finding(
                Severity::Warning,
                "pcie-degraded",
                Some(device),
                format!("PCIe link runs x{cur} of x{max} lanes (check the slot, riser or BIOS bifurcation)"),
            ));
        }
    }
    if let (Some(cur), Some(max)) = (link.gen_current, link.gen_max) {
        if cur < max {
            // Idle links train down to save power, so only a reading under load is a problem.
            let (severity, when) = if under_load {
                (Severity::Warning, "under load")
            } else {
                (
                    Severity::Info,
                    "at idle (links slow down when idle; the PCIe phase reads it under load)",
                )
            };
            out.push(finding(
                severity,
                "pcie-degraded",
                Some(device),
                format!("PCIe link at generation {cur} of {max} {when}"),
            ));
        }
    }
    out
}

/// The best result per device, phase kind and dtype against the catalog peak.
fn below_peak(run: &ProbeRun) -> Vec<Finding> {
    let min_pct = run.settings.min_pct_of_peak;
    let mut best: BTreeMap<(String, PhaseKind, String), (f64, String)> = BTreeMap::new();
    for phase in run
        .phases
        .iter()
        .filter(|p| matches!(p.kind, PhaseKind::Gemm | PhaseKind::Memory))
    {
        for m in &phase.results {
            let Some(pct) = m.pct_of_peak else { continue };
            let key = (
                phase.device.clone(),
                phase.kind,
                m.dtype.clone().unwrap_or_default(),
            );
            let entry = best.entry(key).or_insert((pct, m.label.clone()));
            if pct > entry.0 {
                *entry = (pct, m.label.clone());
            }
        }
    }
    best.into_iter()
        .filter(|(_, (pct, _))| *pct < min_pct)
        .map(|((device, kind, dtype), (pct, label))| {
            let what = match kind {
                PhaseKind::Gemm => format!("{dtype} GEMM"),
                _ => "memory bandwidth".to_owned(),
            };
            finding(
                Severity::Warning,
                "below-peak",
                Some(&device),
                format!("best {what} ({label}) reaches {pct:.0} % of the catalog peak, under the {min_pct:.0} % threshold"),
            )
        })
        .collect()
}

/// Whether `--check` should fail on these findings.
pub fn fails_check(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity >= Severity::Warning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::schema::{GpuInfo, Host, Measurement, Phase, Settings, TelemetrySummary};

    fn run() -> ProbeRun {
        let settings = Settings {
            mode: "quick".into(),
            cpu_size: "auto".into(),
            burn_in_s: None,
            temp_limit_c: 90.0,
            check: true,
            min_pct_of_peak: 60.0,
            model: None,
            sample_interval_s: 0.1,
            skipped: vec![],
        };
        let mut run = ProbeRun::new("2026-01-01T00:00:00Z".into(), Host::default(), settings);
        run.gpus.push(GpuInfo {
            index: 0,
            name: "NVIDIA H100 80GB HBM3".into(),
            catalog_id: Some("h100-sxm5-80gb".into()),
            pcie: PcieLink {
                gen_current: Some(5),
                gen_max: Some(5),
                width_current: Some(16),
                width_max: Some(16),
            },
            ..GpuInfo::default()
        });
        run
    }

    fn phase(kind: PhaseKind, results: Vec<Measurement>) -> Phase {
        Phase {
            name: format!("{} gpu0", kind.name()),
            kind,
            device: "gpu0".into(),
            status: PhaseStatus::Ok,
            note: None,
            started_at_s: 0.0,
            duration_s: 1.0,
            results,
            telemetry: None,
        }
    }

    fn gemm(dtype: &str, pct: f64) -> Measurement {
        Measurement {
            label: "8192³".into(),
            dtype: Some(dtype.into()),
            pct_of_peak: Some(pct),
            ..Measurement::default()
        }
    }

    #[test]
    fn a_healthy_run_has_no_failing_findings() {
        let mut r = run();
        r.phases.push(phase(
            PhaseKind::Gemm,
            vec![gemm("bf16", 45.0), gemm("bf16", 80.0)],
        ));
        let f = derive(&r);
        assert!(!fails_check(&f), "{f:?}");
    }

    #[test]
    fn flags_results_under_the_threshold() {
        let mut r = run();
        r.phases.push(phase(
            PhaseKind::Gemm,
            vec![gemm("bf16", 80.0), gemm("fp16", 41.0)],
        ));
        let f = derive(&r);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, "below-peak");
        assert!(f[0].message.contains("fp16") && f[0].message.contains("41 %"));
        assert!(fails_check(&f));
    }

    #[test]
    fn flags_degraded_links_but_not_idle_downtraining() {
        let mut r = run();
        r.gpus[0].pcie = PcieLink {
            gen_current: Some(1),
            gen_max: Some(5),
            width_current: Some(16),
            width_max: Some(16),
        };
        let idle = derive(&r);
        assert_eq!(idle.len(), 1);
        assert_eq!(idle[0].severity, Severity::Info);
        r.gpus[0].pcie_under_load = Some(PcieLink {
            gen_current: Some(4),
            gen_max: Some(5),
            width_current: Some(8),
            width_max: Some(16),
        });
        let loaded = derive(&r);
        assert_eq!(
            loaded
                .iter()
                .filter(|f| f.code == "pcie-degraded" && f.severity == Severity::Warning)
                .count(),
            2
        );
    }

    #[test]
    fn flags_thermal_throttling_not_power_capping() {
        let mut r = run();
        let mut p = phase(PhaseKind::Gemm, vec![]);
        p.telemetry = Some(TelemetrySummary {
            throttle_reasons: vec!["sw_power_cap".into()],
            ..Default::default()
        });
        r.phases.push(p.clone());
        let f = derive(&r);
        assert_eq!(f[0].code, "power-capped");
        assert!(!fails_check(&f));
        p.telemetry = Some(TelemetrySummary {
            throttle_reasons: vec!["hw_thermal_slowdown".into()],
            slowdown_pct: Some(30.0),
            ..Default::default()
        });
        r.phases = vec![p];
        let f = derive(&r);
        assert_eq!(f[0].code, "throttling");
        assert!(f[0].message.contains("30 %"));
        assert!(fails_check(&f));
    }

    #[test]
    fn flags_failed_checks_and_ecc_errors() {
        let mut r = run();
        let bad = Measurement {
            label: "check".into(),
            check_passed: Some(false),
            max_rel_error: Some(0.5),
            ..Default::default()
        };
        r.phases.push(phase(PhaseKind::Attention, vec![bad]));
        r.gpus[0].ecc_uncorrected_errors = Some(3);
        r.gpus[0].catalog_id = None;
        let codes: Vec<String> = derive(&r).into_iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            vec!["no-catalog-entry", "ecc-errors", "check-failed"]
        );
    }
}
