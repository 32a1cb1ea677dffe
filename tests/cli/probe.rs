//! `llmrig probe` on a machine without a GPU (and with one: the same contract holds).
use crate::util::llmrig;
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn probe(out: &std::path::Path) -> Command {
    let mut cmd = llmrig();
    cmd.args(["probe", "--cpu-size", "small", "--out"])
        .arg(out)
        .env_remove("LLMRIG_REQUIRE_GPU");
    cmd
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn has_gpu(run: &Value) -> bool {
    run["gpu_unavailable_reason"].is_null()
}

#[test]
fn writes_the_json_and_explains_a_missing_gpu() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let assert = probe(&out)
        .args(["--skip", "gemm,attention,memory,pcie,decode"])
        .assert()
        .success();
    let run = read(&out);
    assert_eq!(run["kind"], "probe-run");
    assert_eq!(run["schema_version"], 1);
    assert!(run["finished_at"].is_string());
    assert_eq!(run["interrupted"], false);
    let kinds: Vec<&str> = run["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["cpu-gemm", "cpu-stream"]);
    for phase in run["phases"].as_array().unwrap() {
        assert_eq!(phase["device"], "cpu");
        for m in phase["results"].as_array().unwrap() {
            assert_eq!(m["check_passed"], true, "{m}");
        }
    }
    assert!(run["phases"][1]["results"][1]["gb_per_s"].as_f64().unwrap() > 0.0);
    assert!(run["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["name"] == "cuda"));
    if !has_gpu(&run) {
        let reason = run["gpu_unavailable_reason"].as_str().unwrap();
        assert!(!reason.is_empty());
        assert!(run["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "no-gpu"));
        assert.stderr(predicate::str::contains("no GPU measured"));
    }
}

#[test]
fn json_flag_prints_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let output = probe(&out)
        .args([
            "--json",
            "--skip",
            "cpu-gemm,gemm,attention,memory,pcie,decode",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, read(&out));
}

#[test]
fn require_gpu_without_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let mut cmd = probe(&out);
    cmd.env("LLMRIG_REQUIRE_GPU", "1").args([
        "--skip",
        "cpu-gemm,cpu-stream,gemm,attention,memory,pcie,decode",
    ]);
    let output = cmd.output().unwrap();
    let run = read(&out);
    if has_gpu(&run) {
        assert!(output.status.success());
    } else {
        assert_eq!(output.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&output.stderr).contains("LLMRIG_REQUIRE_GPU"));
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    probe(&out)
        .args(["--duration", "10x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("10m"));
    probe(&out)
        .args(["--model", "no-such-model-xyz"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-model-xyz"));
    assert!(!out.exists());
}

/// The GPU path end to end: with `LLMRIG_REQUIRE_GPU=1` (set by scripts/gpu-check.sh) every GPU
/// phase must run and every correctness check must pass; without it the test says it skipped.
#[test]
fn gpu_phases_pass_their_checks_when_a_gpu_is_required() {
    if std::env::var("LLMRIG_REQUIRE_GPU").as_deref() != Ok("1") {
        println!("skipped: set LLMRIG_REQUIRE_GPU=1 on a GPU machine to run the GPU phases");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let mut cmd = llmrig();
    cmd.args([
        "probe",
        "--cpu-size",
        "small",
        "--skip",
        "cpu-gemm,cpu-stream",
        "--out",
    ])
    .arg(&out);
    cmd.assert().success();
    let run = read(&out);
    let phases = run["phases"].as_array().unwrap();
    for kind in ["gemm", "attention", "memory", "pcie", "decode"] {
        let phase = phases
            .iter()
            .find(|p| p["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} phase"));
        assert_eq!(phase["status"], "ok", "{kind}: {}", phase["note"]);
        for m in phase["results"].as_array().unwrap() {
            assert_ne!(m["check_passed"], false, "{kind} {}: {m}", m["label"]);
        }
    }
}
