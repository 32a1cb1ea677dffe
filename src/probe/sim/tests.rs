//! The runner end to end on simulated GPUs: phase order, failures, sticky errors, interruption,
//! telemetry and findings, and what a run without a GPU records.
use super::{options, probe, Sim, SimGpu, POWER_W, WINDOW};
use crate::catalog::Catalog;
use crate::probe::control::{Cancel, Silent};
use crate::probe::runner::{self, run_with, RunResult};
use crate::probe::schema::{
    GpuHealth, NvLinkState, PcieLink, Phase, PhaseKind, PhaseStatus, ProbeRun, Severity, XidEvent,
};
use crate::probe::ProbeError;
use std::time::Duration;

fn catalog() -> Catalog {
    Catalog::load(None).unwrap()
}

fn phases(run: &ProbeRun) -> Vec<(String, &'static str, PhaseStatus)> {
    run.phases
        .iter()
        .map(|p| (p.device.clone(), p.kind.name(), p.status))
        .collect()
}

/// The first phase of `kind` (on `device`, when given).
fn phase_of<'a>(run: &'a ProbeRun, kind: PhaseKind, device: Option<&str>) -> &'a Phase {
    run.phases
        .iter()
        .find(|p| p.kind == kind && device.is_none_or(|d| p.device == d))
        .unwrap_or_else(|| panic!("no {kind:?} phase on {device:?}"))
}

fn codes(run: &ProbeRun) -> Vec<&str> {
    run.findings.iter().map(|f| f.code.as_str()).collect()
}

fn saved(result: &RunResult) -> ProbeRun {
    serde_json::from_str(&std::fs::read_to_string(&result.path).unwrap()).unwrap()
}

#[test]
fn phases_run_in_order_with_attention_last_on_every_gpu() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::with(vec![SimGpu::h100(), SimGpu::h100()]);
    let r = probe(&sim, &options(dir.path()));
    assert_eq!(
        sim.calls(),
        [
            "gemm 0",
            "memory 0",
            "pcie 0",
            "decode 0",
            "gemm 1",
            "memory 1",
            "pcie 1",
            "decode 1",
            "p2p",
            "nccl",
            "attention 0",
            "attention 1"
        ]
    );
    let ok = PhaseStatus::Ok;
    let order: Vec<_> = phases(&r.run)
        .into_iter()
        .map(|(d, k, _)| format!("{k} {d}"))
        .collect();
    assert_eq!(order.last().map(String::as_str), Some("attention gpu1"));
    assert!(
        phases(&r.run).iter().all(|p| p.2 == ok),
        "{:?}",
        phases(&r.run)
    );
    assert!(order.contains(&"p2p gpu0+gpu1".to_owned()));
    // Both GPUs matched the catalog, so GEMM is compared with its peak; the run file holds
    // what the function returned (compared by field: JSON floats may differ in the last bit).
    assert!(r
        .run
        .gpus
        .iter()
        .all(|g| g.catalog_id.as_deref() == Some("h100-sxm5-80gb")));
    assert!(r.run.phases[0].results[0].pct_of_peak.unwrap() > 60.0);
    let back = saved(&r);
    assert_eq!(phases(&back), phases(&r.run));
    assert_eq!(back.findings, r.run.findings);
    assert!(r.saved && r.run.finished_at.is_some() && !r.run.interrupted);
    assert!(!runner::failed(&r.run));
    // The pair's topology: the simulated PCIe path and peer access both ways.
    assert_eq!(r.run.topology.len(), 1);
    assert_eq!(r.run.topology[0].p2p_access, Some(true));
    assert_eq!(r.run.topology[0].pcie_path.as_deref(), Some("PIX"));
}

#[test]
fn one_gpu_skips_the_multi_gpu_phases_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::with(vec![SimGpu::h100()]);
    let r = probe(&sim, &options(dir.path()));
    let p2p = phase_of(&r.run, PhaseKind::P2p, None);
    assert_eq!(p2p.status, PhaseStatus::Skipped);
    assert!(p2p.note.as_deref().unwrap().contains("two or more GPUs"));
    assert!(!sim.calls().contains(&"nccl".to_owned()));
}

#[test]
fn a_failing_phase_does_not_take_the_others_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = SimGpu::h100();
    bad.fails = vec![PhaseKind::Memory];
    let sim = Sim::with(vec![bad, SimGpu::h100()]);
    let r = probe(&sim, &options(dir.path()));
    let status = |kind: PhaseKind, dev: &str| phase_of(&r.run, kind, Some(dev)).status;
    assert_eq!(status(PhaseKind::Memory, "gpu0"), PhaseStatus::Failed);
    for kind in [
        PhaseKind::Gemm,
        PhaseKind::Pcie,
        PhaseKind::Decode,
        PhaseKind::Attention,
    ] {
        assert_eq!(status(kind, "gpu0"), PhaseStatus::Ok, "{kind:?}");
    }
    assert_eq!(status(PhaseKind::Memory, "gpu1"), PhaseStatus::Ok);
    assert!(codes(&r.run).contains(&"phase-failed"));
    assert!(runner::failed(&r.run));
}

#[test]
fn a_sticky_error_stops_only_that_gpu() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = SimGpu::h100();
    bad.sticky_after = Some(PhaseKind::Gemm);
    let sim = Sim::with(vec![bad, SimGpu::h100()]);
    let r = probe(&sim, &options(dir.path()));
    // gpu0 ran only its GEMM; gpu1 ran everything; the multi-GPU phases had one usable GPU.
    assert_eq!(
        sim.calls(),
        [
            "gemm 0",
            "gemm 1",
            "memory 1",
            "pcie 1",
            "decode 1",
            "attention 1"
        ]
    );
    let gpu0: Vec<_> = phases(&r.run)
        .into_iter()
        .filter(|p| p.0 == "gpu0")
        .collect();
    assert_eq!(gpu0[0], ("gpu0".into(), "gemm", PhaseStatus::Failed));
    for p in &gpu0[1..] {
        assert_eq!(p.2, PhaseStatus::Skipped, "{p:?}");
    }
    let note = phase_of(&r.run, PhaseKind::Attention, Some("gpu0"));
    assert!(
        note.note
            .as_deref()
            .unwrap()
            .contains("CUDA context is unusable after gemm"),
        "{:?}",
        note.note
    );
    let p2p = phase_of(&r.run, PhaseKind::P2p, None);
    assert_eq!(
        (p2p.device.as_str(), p2p.status),
        ("gpu1", PhaseStatus::Skipped)
    );
    let lost = r
        .run
        .findings
        .iter()
        .find(|f| f.code == "cuda-context-lost")
        .unwrap();
    assert_eq!(
        (lost.severity, lost.device.as_deref()),
        (Severity::Error, Some("gpu0"))
    );
}

#[test]
fn an_interrupted_run_keeps_the_finished_phases() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = Cancel::new();
    let mut sim = Sim::with(vec![SimGpu::h100(), SimGpu::h100()]);
    sim.cancel_at = Some((PhaseKind::Pcie, cancel.clone()));
    let r = run_with(&sim, &options(dir.path()), &catalog(), &cancel, &Silent).unwrap();
    assert_eq!(sim.calls(), ["gemm 0", "memory 0", "pcie 0"]);
    assert!(r.run.interrupted);
    let on_disk = saved(&r);
    assert!(on_disk.interrupted && on_disk.finished_at.is_some());
    let kinds: Vec<_> = on_disk
        .phases
        .iter()
        .map(|p| (p.kind.name(), p.status))
        .collect();
    assert_eq!(
        kinds,
        [
            ("gemm", PhaseStatus::Ok),
            ("memory", PhaseStatus::Ok),
            ("pcie", PhaseStatus::Partial)
        ]
    );
}

/// Issue 11.17: a re-run with the same `--out` keeps the previous complete run until the new
/// run has a phase; an interruption before the first phase leaves it untouched.
#[test]
fn an_interruption_before_any_phase_keeps_the_previous_run() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let sim = Sim::with(vec![SimGpu::h100()]);
    let first = probe(&sim, &opts);
    let before = std::fs::read_to_string(&first.path).unwrap();
    let cancel = Cancel::new();
    cancel.cancel();
    let again = run_with(
        &Sim::with(vec![SimGpu::h100()]),
        &opts,
        &catalog(),
        &cancel,
        &Silent,
    )
    .unwrap();
    assert!(again.run.interrupted && again.run.phases.is_empty());
    assert!(!again.saved);
    assert_eq!(std::fs::read_to_string(&first.path).unwrap(), before);
}

#[test]
fn telemetry_energy_and_throttling_are_attached() {
    let dir = tempfile::tempdir().unwrap();
    let mut hot = SimGpu::h100();
    hot.throttle = vec!["hw_thermal_slowdown".into()];
    let sim = Sim::with(vec![hot]);
    let r = probe(&sim, &options(dir.path()));
    let gemm = &r.run.phases[0];
    let t = gemm.telemetry.as_ref().expect("phase telemetry");
    assert!(t.samples >= 2, "{t:?}");
    assert_eq!(t.throttle_reasons, vec!["hw_thermal_slowdown".to_string()]);
    // Energy over the whole timed window (2 s at 400 W), divided by all five repetitions' work.
    let m = &gemm.results[0];
    let joules = POWER_W * (WINDOW.1 - WINDOW.0);
    assert!(
        (m.energy_j.unwrap() - joules).abs() < 1e-6,
        "{:?}",
        m.energy_j
    );
    let want = joules / (m.flop.unwrap() * 5.0 / 1e12);
    assert!((m.joules_per_tflop.unwrap() - want).abs() < 1e-9);
    assert_eq!(r.run.telemetry.len(), 1);
    assert!(codes(&r.run).contains(&"throttling"));
}

#[test]
fn health_links_and_peer_access_become_findings() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = SimGpu::h100();
    a.pcie_under_load = PcieLink {
        gen_current: Some(4),
        ..a.pcie_under_load
    };
    a.health_start = GpuHealth {
        pcie_replay_count: Some(0),
        ..GpuHealth::default()
    };
    a.health_end = GpuHealth {
        pcie_replay_count: Some(500),
        remapped_rows_failure: Some(true),
        ..GpuHealth::default()
    };
    a.nvlinks = vec![
        NvLinkState {
            link: 0,
            active: true,
            ..NvLinkState::default()
        },
        NvLinkState {
            link: 1,
            active: false,
            ..NvLinkState::default()
        },
    ];
    a.wrong = vec![PhaseKind::Gemm];
    let mut sim = Sim::with(vec![a, SimGpu::h100()]);
    sim.p2p = false;
    sim.xid = vec![(1, XidEvent { xid: 79, t_s: 3.0 })];
    let r = probe(&sim, &options(dir.path()));
    let g0 = &r.run.gpus[0];
    assert_eq!(g0.pcie_under_load.unwrap().gen_current, Some(4));
    assert_eq!(g0.health_end.unwrap().pcie_replay_count, Some(500));
    assert_eq!(r.run.gpus[1].xid_events.len(), 1);
    let c = codes(&r.run);
    for want in [
        "pcie-degraded",
        "pcie-replays",
        "row-remap-failed",
        "nvlink-down",
        "xid",
        "p2p-unavailable",
        "check-failed",
    ] {
        assert!(c.contains(&want), "{want} missing from {c:?}");
    }
    // The idle reading (generation 1) is not a problem; the reading under load is.
    let pcie = r
        .run
        .findings
        .iter()
        .find(|f| f.code == "pcie-degraded")
        .unwrap();
    assert!(pcie.message.contains("under load"), "{}", pcie.message);
    assert!(runner::failed(&r.run) && runner::check_failed(&r.run));
}

#[test]
fn without_a_gpu_every_gpu_phase_says_why_and_a_burn_in_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::without_driver();
    let mut opts = options(dir.path());
    opts.burn_in = Some(Duration::from_secs(5));
    opts.check = true;
    let r = probe(&sim, &opts);
    assert!(sim.calls().is_empty());
    assert_eq!(
        r.run.gpu_unavailable_reason.as_deref(),
        Some("no NVIDIA driver (simulated)")
    );
    let kinds: Vec<&str> = r.run.phases.iter().map(|p| p.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "gemm",
            "memory",
            "pcie",
            "decode",
            "p2p",
            "nccl",
            "burn-in",
            "attention"
        ]
    );
    for p in &r.run.phases {
        assert_eq!((p.device.as_str(), p.status), ("gpu", PhaseStatus::Skipped));
        assert_eq!(
            p.note.as_deref(),
            Some("no GPU: no NVIDIA driver (simulated)")
        );
    }
    let c = codes(&r.run);
    assert!(
        c.contains(&"burn-in-not-run") && c.contains(&"check-without-gpu"),
        "{c:?}"
    );
    let burn = r
        .run
        .findings
        .iter()
        .find(|f| f.code == "burn-in-not-run")
        .unwrap();
    assert!(burn.message.contains("did not run"));
}

#[test]
fn require_gpu_without_one_is_an_error_that_keeps_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::without_driver();
    let mut opts = options(dir.path());
    opts.require_gpu = true;
    let e = run_with(&sim, &opts, &catalog(), &Cancel::new(), &Silent).unwrap_err();
    assert!(matches!(e, ProbeError::GpuRequired { .. }));
    let back: ProbeRun =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    assert!(back.gpu_unavailable_reason.is_some() && back.phases.is_empty());
}

#[test]
fn a_burn_in_stops_at_the_temperature_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut hot = SimGpu::h100();
    hot.temp_c = 95.0;
    let sim = Sim::with(vec![hot]);
    let mut opts = options(dir.path());
    opts.burn_in = Some(Duration::from_secs(60));
    opts.temp_limit_c = 90.0;
    let r = probe(&sim, &opts);
    let burn = phase_of(&r.run, PhaseKind::BurnIn, None);
    assert_eq!(burn.status, PhaseStatus::Partial);
    assert!(codes(&r.run).contains(&"temp-limit"));
    // The burn-in ran before the attention kernel.
    let calls = sim.calls();
    assert_eq!(&calls[calls.len() - 2..], ["burn-in 0", "attention 0"]);
}
