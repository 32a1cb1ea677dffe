use crate::util::{llmrig, stdout_json};
use predicates::prelude::*;

#[test]
fn falcon_180b_int4_prints_parts_price_power_and_circuits() {
    llmrig()
        .args(["plan", "--model", "falcon-180b", "--precision", "int4"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Parts per node"))
        .stdout(predicate::str::contains("total"))
        .stdout(predicate::str::contains("circuits per node"))
        .stdout(predicate::str::contains("wall power at load"))
        .stdout(predicate::str::contains("gptq-int4-g128"))
        .stdout(predicate::str::contains("USABLE_VRAM_FRACTION"));
}

#[test]
fn plan_json_is_the_documented_schema() {
    let v = stdout_json(llmrig().args([
        "plan",
        "--model",
        "falcon-180b",
        "--precision",
        "int4",
        "--gpu",
        "a100-sxm4-40gb",
        "--json",
    ]));
    assert_eq!(v["kind"], "plan");
    assert_eq!(v["schema_version"], 1);
    let o = &v["options"][0];
    assert_eq!(o["gpus"], 4);
    assert!(o["memory_per_gpu"]["total_bytes"].as_f64().unwrap() > 20.0 * (1u64 << 30) as f64);
    assert!(o["speed"]["decode_tokens_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn compare_shows_which_rig_fits_and_why() {
    llmrig()
        .args([
            "compare",
            "--model",
            "llama-2-70b",
            "--option",
            "4xv100-sxm2-32gb",
            "--option",
            "8xa100-sxm4-80gb",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("4×v100-sxm2-32gb"))
        .stdout(predicate::str::contains("8×a100-sxm4-80gb *"))
        .stdout(predicate::str::contains("GiB is usable"));
}

#[test]
fn saved_plan_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    llmrig()
        .args([
            "plan",
            "-m",
            "llama-3.1-8b",
            "--gpu",
            "rtx-4090",
            "--quiet",
            "--out",
        ])
        .arg(&path)
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["model"]["id"], "llama-3.1-8b");
}

#[test]
fn markdown_format() {
    llmrig()
        .args([
            "plan",
            "-m",
            "llama-3.1-8b",
            "--gpu",
            "rtx-4090",
            "--format",
            "markdown",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("# Rig plan"))
        .stdout(predicate::str::contains("| option |"));
}

#[test]
fn does_not_fit_anywhere_exits_1_with_the_reason() {
    llmrig()
        .args([
            "plan",
            "-m",
            "falcon-180b",
            "--gpu",
            "t4",
            "--max-nodes",
            "1",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("does not fit"));
}

#[test]
fn bad_requests_exit_2_with_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["plan", "-m", "falcon-181b"], "did you mean 'falcon-180b'"),
        (
            &[
                "plan",
                "-m",
                "falcon-180b",
                "-w",
                "lora",
                "--engine",
                "vllm",
            ],
            "does not train",
        ),
        (
            &[
                "plan",
                "-m",
                "llama-3.1-8b",
                "--engine",
                "llama.cpp",
                "--tp",
                "2",
            ],
            "splits layers",
        ),
        (
            &["plan", "-m", "llama-3.1-8b", "--gpu-layers", "10"],
            "llama.cpp",
        ),
        (
            &["plan", "-m", "llama-3.1-8b", "-p", "q4_k_m", "--cpu-moe"],
            "no experts",
        ),
        (
            &[
                "plan",
                "-m",
                "llama-3.1-8b",
                "--context",
                "4096",
                "--input-tokens",
                "5000",
            ],
            "exceed the context",
        ),
        (
            &["plan", "-m", "llama-3.1-8b", "--host-bandwidth-gb-per-s=-5"],
            "positive",
        ),
        (&["plan", "-m", "falcon-180b", "--batch", "-3"], "-3"),
        (
            &["plan", "-m", "falcon-180b", "--train-tokens", "1T"],
            "training workloads",
        ),
        (
            &["plan", "-m", "falcon-180b", "--gpu", "h10x"],
            "did you mean",
        ),
        (
            &["compare", "-m", "falcon-180b", "--option", "0xh100"],
            "positive count",
        ),
        (
            &["plan", "-m", "falcon-180b", "--utilization", "1.5"],
            "between 0 and 1",
        ),
    ];
    for (args, needle) in cases {
        llmrig()
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*needle));
    }
}

#[test]
fn training_plan_reports_gpu_hours() {
    llmrig()
        .args([
            "plan",
            "-m",
            "falcon-180b",
            "-w",
            "train",
            "--gpu",
            "a100-sxm4-40gb",
            "--train-tokens",
            "3.5T",
            "--mfu",
            "0.48",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("GPU-hours at MFU 0.48"));
}

#[test]
fn llama_70b_q4_plans_on_one_mac_studio() {
    let v = stdout_json(llmrig().args([
        "plan",
        "-m",
        "llama-3.1-70b",
        "-p",
        "q4_k_m",
        "--gpu",
        "m3-ultra",
        "--json",
    ]));
    let o = &v["options"][0];
    assert_eq!(o["gpu_id"], "m3-ultra-512gb");
    assert_eq!(o["fits"], true);
    assert_eq!(o["gpus"], 1);
    let build = &o["build"];
    assert_eq!(build["fully_priced"], true);
    let lines = build["node"]["lines"].as_array().unwrap();
    let priced: Vec<_> = lines
        .iter()
        .filter(|l| l["total_usd"].is_number())
        .collect();
    assert_eq!(priced.len(), 1, "{lines:?}");
    assert_eq!(priced[0]["id"], "mac-studio-m3-ultra-512gb");
    assert_eq!(build["total_usd"], priced[0]["total_usd"]);
    assert_eq!(build["node"]["wall_load_w"], 260.0);
}

#[test]
fn context_beyond_the_model_maximum_is_a_warning() {
    llmrig()
        .args([
            "plan",
            "-m",
            "llama-3.1-8b",
            "--context",
            "200000",
            "--gpu",
            "h100-sxm5-80gb",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("RoPE scaling"));
}

#[test]
fn mixtral_with_experts_on_the_cpu_reports_host_ram_and_speed() {
    let v = stdout_json(llmrig().args([
        "plan",
        "-m",
        "mixtral-8x7b",
        "-p",
        "q4_k_m",
        "--cpu-moe",
        "--gpu",
        "rtx-4090",
        "--host-bandwidth-gb-per-s",
        "60",
        "--json",
    ]));
    assert_eq!(v["engine"], "llama.cpp");
    let o = &v["options"][0];
    assert_eq!(o["fits"], true);
    assert_eq!(o["offload"]["experts_on_host"], true);
    assert!(o["offload"]["host_ram_bytes"].as_f64().unwrap() > 25e9);
    assert_eq!(o["offload"]["host_memory"]["gb_per_s"], 60.0);
    assert_eq!(o["speed"]["decode_bound"], "host");
    let tps = o["speed"]["decode_tokens_per_s"].as_f64().unwrap();
    assert!(tps > 3.0 && tps < 20.0, "{tps}");
}

#[test]
fn engine_and_layout_flags_are_grouped_in_help() {
    llmrig()
        .args(["plan", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Engine and speed:"))
        .stdout(predicate::str::contains("--engine <ENGINE>"))
        .stdout(predicate::str::contains("--host-bandwidth-gb-per-s"))
        .stdout(predicate::str::contains("--concurrency"));
}
