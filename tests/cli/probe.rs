//! `llmrig probe` on a machine without a GPU (and with one: the same contract holds).
use crate::util::llmrig;
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Every GPU phase, for runs that only measure the CPU.
const NO_GPU_PHASES: &str = "gemm,attention,memory,pcie,decode,p2p,nccl";

fn probe(out: &Path) -> Command {
    let mut cmd = llmrig();
    cmd.args(["probe", "--cpu-size", "small", "--out"])
        .arg(out)
        .env_remove("LLMRIG_REQUIRE_GPU");
    cmd
}

fn read(path: &Path) -> Value {
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
        .args(["--skip", NO_GPU_PHASES])
        .assert()
        .success();
    let run = read(&out);
    assert_eq!(run["kind"], "probe-run");
    assert_eq!(run["schema_version"], 2);
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
        // Said once: the note, not again as a finding or a library list.
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert_eq!(stderr.matches(reason).count(), 1, "{stderr}");
        assert!(!stderr.contains("[no-gpu]"), "{stderr}");
    }
}

#[test]
fn without_a_gpu_the_gpu_phases_are_one_row_with_the_reason_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let output = probe(&out).args(["--skip", "cpu-gemm"]).output().unwrap();
    let run = read(&out);
    if has_gpu(&run) {
        println!("skipped: this machine has a GPU");
        return;
    }
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("none: no GPU"))
        .collect();
    assert_eq!(rows.len(), 1, "{stdout}");
    assert!(!stdout.contains("gpu_unavailable_reason"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = run["gpu_unavailable_reason"].as_str().unwrap();
    assert_eq!(stderr.matches(reason).count(), 1, "{stderr}");
}

#[test]
fn json_flag_prints_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let output = probe(&out)
        .args(["--json", "--skip", &format!("cpu-gemm,{NO_GPU_PHASES}")])
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, read(&out));
}

/// Issue 10 acceptance: `probe --out DIR` (an existing directory) writes a run file inside it.
#[test]
fn out_may_name_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let output = probe(dir.path())
        .args(["--skip", &format!("cpu-gemm,{NO_GPU_PHASES}")])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(".json") && name.contains('T'), "{name}");
    assert_eq!(read(&files[0])["kind"], "probe-run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("saved {}", files[0].display())),
        "{stderr}"
    );
}

/// Runs land in the per-user data directory by default, and the path is printed at the end.
#[test]
fn runs_go_to_the_per_user_data_directory_by_default() {
    let data = tempfile::tempdir().unwrap();
    let output = llmrig()
        .args(["probe", "--cpu-size", "small", "--skip"])
        .arg(format!("cpu-gemm,{NO_GPU_PHASES}"))
        .env("LLMRIG_DATA_DIR", data.path())
        .env_remove("LLMRIG_REQUIRE_GPU")
        .output()
        .unwrap();
    assert!(output.status.success());
    let runs: Vec<_> = std::fs::read_dir(data.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or("");
    assert_eq!(last, format!("saved {}", runs[0].display()));
    // XDG's rule when nothing overrides it.
    let home = tempfile::tempdir().unwrap();
    llmrig()
        .args(["probe", "--cpu-size", "small", "--skip"])
        .arg(format!("cpu-gemm,cpu-stream,{NO_GPU_PHASES}"))
        .env_remove("LLMRIG_DATA_DIR")
        .env("XDG_DATA_HOME", home.path().join("xdg"))
        .env_remove("LLMRIG_REQUIRE_GPU")
        .assert()
        .success();
    assert_eq!(
        std::fs::read_dir(home.path().join("xdg/llmrig/runs"))
            .unwrap()
            .count(),
        1
    );
}

/// Issue 10 acceptance: `probe --check --duration 5s` without a GPU exits 1 and says the
/// burn-in did not run.
#[test]
fn a_burn_in_without_a_gpu_exits_1_and_says_it_did_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let output = probe(&out)
        .args([
            "--check",
            "--duration",
            "5s",
            "--skip",
            "cpu-gemm,cpu-stream",
        ])
        .output()
        .unwrap();
    let run = read(&out);
    if has_gpu(&run) {
        println!("skipped: this machine has a GPU");
        return;
    }
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the burn-in did not run"), "{stderr}");
    assert!(run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "burn-in-not-run" && f["severity"] == "error"));
    // `--duration` alone is the same answer.
    probe(&out)
        .args(["--duration", "5s", "--skip", "cpu-gemm,cpu-stream"])
        .assert()
        .code(1);
}

#[test]
fn require_gpu_without_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let mut cmd = probe(&out);
    cmd.env("LLMRIG_REQUIRE_GPU", "1")
        .args(["--skip", &format!("cpu-gemm,cpu-stream,{NO_GPU_PHASES}")]);
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

/// Issue 11.11: non-finite limits used to exit 0 and write `null`; huge durations wrapped.
#[test]
fn non_finite_limits_and_overflowing_durations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    for (flag, value, says) in [
        ("--temp-limit-c", "nan", "not a finite number"),
        ("--temp-limit-c", "inf", "not a finite number"),
        ("--min-pct-of-peak", "inf", "not a finite number"),
        ("--min-pct-of-peak", "NaN", "not a finite number"),
        ("--min-pct-of-peak", "250", "0 to 100"),
        ("--temp-limit-c", "-40", "1 to 150"),
        ("--duration", "5124095576030432h", "7 days"),
    ] {
        let arg = format!("{flag}={value}");
        probe(&out)
            .arg(&arg)
            .timeout(Duration::from_secs(10))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    assert!(
        !out.exists(),
        "nothing is written for a refused command line"
    );
}

/// Issue 11.17: a re-run with the same `--out` keeps the previous complete run until the new
/// run has a phase.
#[test]
fn a_rerun_that_records_no_phase_keeps_the_previous_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    probe(&out)
        .args(["--skip", &format!("cpu-gemm,{NO_GPU_PHASES}")])
        .assert()
        .success();
    let before = std::fs::read_to_string(&out).unwrap();
    if !has_gpu(&read(&out)) {
        // No GPU and LLMRIG_REQUIRE_GPU=1: the re-run stops before its first phase.
        probe(&out).env("LLMRIG_REQUIRE_GPU", "1").assert().code(2);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), before);
    }
    // A re-run that measures something replaces it.
    probe(&out)
        .args(["--skip", &format!("cpu-stream,{NO_GPU_PHASES}")])
        .assert()
        .success();
    assert_ne!(std::fs::read_to_string(&out).unwrap(), before);
}

/// Whether `pid` has a handler for SIGINT installed (bit 2 of `SigCgt` in /proc).
fn catches_sigint(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << 1) != 0)
}

/// Issue 11.17: SIGINT in the first milliseconds used to kill the probe before its handler
/// existed. The handler is now installed first thing in `main`; a SIGINT sent the moment it
/// exists stops the probe cleanly (exit 1, "interrupted"), never by the signal.
#[cfg(target_os = "linux")]
#[test]
fn sigint_in_the_first_milliseconds_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let bin = assert_cmd::cargo::cargo_bin("llmrig");
    let started = Instant::now();
    let child = std::process::Command::new(bin)
        .args(["probe", "--cpu-size", "small", "--out"])
        .arg(&out)
        .env_remove("LLMRIG_REQUIRE_GPU")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    while !catches_sigint(pid) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no SIGINT handler after 10 s"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    let ready = started.elapsed();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!(
        "SIGINT handler installed {} ms after spawn",
        ready.as_millis()
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "killed by a signal? {:?} {stderr}",
        output.status
    );
    assert!(
        stderr.contains("interrupted") || stderr.contains("recorded no phase"),
        "{stderr}"
    );
}

/// Issue 10 acceptance: two Slurm tasks, one per node, write two node files named after
/// `SLURMD_NODENAME` (not the host name), and `report DIR` shows both nodes.
#[test]
fn slurm_ranks_write_node_files_that_report_merges() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("D");
    for node in ["0", "1"] {
        llmrig()
            .args(["probe", "--cpu-size", "small", "--out-dir"])
            .arg(&d)
            .env_remove("LLMRIG_REQUIRE_GPU")
            .env_remove("LLMRIG_NCCL_TESTS_CMD")
            .env("LLMRIG_NCCL_TESTS", dir.path().join("no-nccl-tests-here"))
            .envs([
                ("SLURM_JOB_ID", "42"),
                ("SLURM_PROCID", node),
                ("SLURM_LOCALID", "0"),
                ("SLURM_NODEID", node),
                ("SLURM_NTASKS", "2"),
                ("SLURM_NNODES", "2"),
                ("SLURMD_NODENAME", &format!("node{node}")),
            ])
            .timeout(Duration::from_secs(120))
            .assert()
            .success();
    }
    let mut files: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["node0.json", "node1.json"]);
    let node1 = read(&d.join("node1.json"));
    assert_eq!(node1["cluster"]["launcher"], "slurm");
    assert_eq!(node1["cluster"]["node"], "node1");
    assert_eq!(node1["cluster"]["rank"], 1);
    assert_eq!(node1["cluster"]["job_id"], "42");
    // A task with local rank 1 leaves the node to local rank 0.
    llmrig()
        .args(["probe", "--cpu-size", "small", "--out-dir"])
        .arg(&d)
        .envs([
            ("SLURM_JOB_ID", "42"),
            ("SLURM_PROCID", "3"),
            ("SLURM_LOCALID", "1"),
            ("SLURM_NTASKS", "4"),
            ("SLURMD_NODENAME", "node1"),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("local rank 0 measures this node"));
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 2);

    let report = dir.path().join("report");
    let output = llmrig()
        .arg("report")
        .arg(&d)
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    // `report` prints where it wrote and the summary; the cluster section is in the report.
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("Cluster: slurm job 42"), "{md}");
    let nodes = md
        .lines()
        .skip_while(|l| !l.contains("Nodes (each figure"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(nodes.contains("node0") && nodes.contains("node1"), "{md}");
    assert!(md.contains("| node1 |"), "{md}");
}

/// Issue 10 acceptance: with `OUT` set to an empty folder and no GPU, scripts/gpu-check.sh
/// stops with one clear line and a non-zero exit, before building anything.
#[test]
fn gpu_check_without_a_gpu_stops_with_one_line() {
    let has_nvidia = std::path::Path::new("/proc/driver/nvidia/gpus").exists()
        || std::process::Command::new("nvidia-smi")
            .arg("-L")
            .output()
            .is_ok_and(|o| o.status.success());
    if has_nvidia {
        println!("skipped: this machine has an NVIDIA driver; gpu-check.sh would run for real");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let output = std::process::Command::new("bash")
        .arg(crate::util::repo_root().join("scripts/gpu-check.sh"))
        .env("OUT", out.path())
        .env_remove("LLMRIG_OUT")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no NVIDIA GPU"), "{stderr}");
    assert!(output.stdout.is_empty());
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "it wrote into OUT"
    );
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
    for kind in ["gemm", "memory", "pcie", "decode", "attention"] {
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
