use super::*;

fn sample_run() -> ProbeRun {
    let settings = Settings {
        mode: "quick".into(),
        cpu_size: "auto".into(),
        burn_in_s: Some(600.0),
        temp_limit_c: 90.0,
        check: true,
        min_pct_of_peak: 60.0,
        model: Some("llama-3-8b".into()),
        sample_interval_s: 0.1,
        skipped: vec!["pcie".into()],
    };
    let host = Host {
        hostname: Some("rig".into()),
        cpu_threads: 2,
        llc_bytes: Some(32 << 20),
        ..Host::default()
    };
    let mut run = ProbeRun::new("2026-08-27T09:30:12Z".into(), host, settings);
    run.gpus.push(GpuInfo {
        index: 0,
        name: "NVIDIA H100 80GB HBM3".into(),
        pcie: PcieLink {
            gen_current: Some(5),
            gen_max: Some(5),
            width_current: Some(16),
            width_max: Some(16),
        },
        catalog_id: Some("h100-sxm5-80gb".into()),
        ..GpuInfo::default()
    });
    run.libraries.push(LibraryStatus {
        name: "nvrtc".into(),
        found: false,
        path: None,
        searched: vec!["/usr/local/cuda/lib64".into()],
        note: Some("attention skipped".into()),
    });
    run.phases.push(Phase {
        name: "gemm gpu0".into(),
        kind: PhaseKind::Gemm,
        device: "gpu0".into(),
        status: PhaseStatus::Ok,
        note: None,
        started_at_s: 1.5,
        duration_s: 20.0,
        results: vec![Measurement {
            label: "8192x8192x8192".into(),
            dtype: Some("bf16".into()),
            shape: Shape {
                m: Some(8192),
                n: Some(8192),
                k: Some(8192),
                ..Shape::default()
            },
            warmup: 5,
            clock: Some(ClockSource::CudaEvent),
            times_s: vec![0.0014, 0.0013],
            tflops: Some(790.5),
            pct_of_peak: Some(79.9),
            check_passed: Some(true),
            ..Measurement::default()
        }],
        telemetry: Some(TelemetrySummary {
            samples: 200,
            window_s: 20.0,
            energy_j: Some(13000.0),
            energy_source: Some(EnergySource::NvmlEnergyCounter),
            throttle_reasons: vec!["sw_power_cap".into()],
            ..TelemetrySummary::default()
        }),
    });
    run.telemetry.push(TelemetrySeries {
        device: "gpu0".into(),
        interval_s: 0.1,
        samples: vec![Sample {
            t_s: 0.1,
            power_w: Some(650.0),
            temp_c: Some(61.0),
            ..Sample::default()
        }],
    });
    run.findings.push(Finding {
        severity: Severity::Warning,
        code: "throttling".into(),
        device: Some("gpu0".into()),
        message: "power cap".into(),
    });
    run
}

#[test]
fn round_trips_through_json() {
    let run = sample_run();
    let text = serde_json::to_string_pretty(&run).unwrap();
    let back: ProbeRun = serde_json::from_str(&text).unwrap();
    assert_eq!(back, run);
}

#[test]
fn serializes_stable_names_and_units() {
    let value = serde_json::to_value(sample_run()).unwrap();
    assert_eq!(value["kind"], "probe-run");
    assert_eq!(value["schema_version"], SCHEMA_VERSION);
    assert_eq!(value["phases"][0]["kind"], "gemm");
    assert_eq!(value["phases"][0]["results"][0]["clock"], "cuda-event");
    assert_eq!(
        value["phases"][0]["telemetry"]["energy_source"],
        "nvml-energy-counter"
    );
    assert_eq!(value["findings"][0]["severity"], "warning");
    assert_eq!(value["telemetry"][0]["samples"][0]["power_w"], 650.0);
    // Unmeasured values are left out, never written as zero or null.
    assert!(value["phases"][0]["results"][0].get("gb_per_s").is_none());
    assert!(value.get("finished_at").is_none());
}

#[test]
fn phase_kind_names_match_serde() {
    for kind in PhaseKind::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
    }
}

#[test]
fn reads_a_minimal_document() {
    let text = r#"{"kind":"probe-run","schema_version":2,"tool":{"name":"llmrig","version":"0.1.0"},
        "started_at":"2026-08-27T09:30:12Z","host":{"cpu_threads":4},
        "settings":{"mode":"quick","cpu_size":"auto","temp_limit_c":90,"check":false,
                    "min_pct_of_peak":60,"sample_interval_s":0.1}}"#;
    let run: ProbeRun = serde_json::from_str(text).unwrap();
    assert!(run.phases.is_empty() && !run.interrupted);
}
