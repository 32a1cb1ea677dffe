//! Training flags: offload, trainable LoRA parts, attention kernel, grid CO2.
use crate::util::{llmrig, stdout_json};
use predicates::prelude::*;

const GIB: f64 = (1u64 << 30) as f64;

fn plan_json(args: &[&str]) -> serde_json::Value {
    stdout_json(llmrig().args(["plan", "--json"]).args(args))
}

#[test]
fn offload_alone_means_optimizer_and_host_ram_is_reported() {
    let base = [
        "-m",
        "llama-3.1-8b",
        "-w",
        "train",
        "--gpu",
        "rtx-4090",
        "--zero",
        "3",
    ];
    let opt = plan_json(&[&base[..], &["--offload"]].concat());
    let named = plan_json(&[&base[..], &["--offload", "optimizer"]].concat());
    let params = plan_json(&[&base[..], &["--offload", "params"]].concat());
    assert_eq!(opt["request"]["offload_optimizer"], true);
    assert_eq!(opt["request"]["offload_params"], false);
    assert_eq!(opt["options"][0], named["options"][0]);
    assert_eq!(params["request"]["offload_params"], true);
    let host = |v: &serde_json::Value| {
        v["options"][0]["memory_per_gpu"]["offload_host_bytes_per_node"]
            .as_f64()
            .unwrap()
    };
    assert!(host(&opt) > 100.0 * GIB, "{}", host(&opt));
    assert!(host(&params) > host(&opt));
    let ram = opt["options"][0]["build"]["node"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "ram")
        .expect("a RAM line");
    assert!(ram["note"]
        .as_str()
        .unwrap()
        .contains("offloaded training states"));
    llmrig()
        .args(["plan"])
        .args(base)
        .arg("--offload")
        .assert()
        .stdout(predicate::str::contains(
            "host RAM for offloaded states (per node)",
        ));
}

#[test]
fn lora_trainable_parts_and_eager_attention_cost_memory() {
    let total = |extra: &[&str]| {
        let v = plan_json(
            &[
                &[
                    "-m",
                    "llama-3.1-8b",
                    "-w",
                    "lora",
                    "--gpu",
                    "h100-sxm5-80gb",
                    "--context",
                    "4096",
                    "--recompute",
                    "none",
                ][..],
                extra,
            ]
            .concat(),
        );
        v["options"][0]["memory_per_gpu"]["total_bytes"]
            .as_f64()
            .unwrap()
    };
    let base = total(&[]);
    let parts = total(&["--lora-trainable", "embed,head"]);
    let eager = total(&["--attention", "eager"]);
    // Embedding + head of Llama 3.1 8B: 1.05 B parameters × 18 bytes.
    assert!(
        (parts - base - 18.0 * 1_050_673_152.0).abs() < 1e6,
        "{}",
        parts - base
    );
    // 32 layers × 5 · 32 heads · 4096² bytes of scores.
    assert!(eager - base > 13.0 * GIB, "{}", (eager - base) / GIB);
}

#[test]
fn grid_co2_appears_in_tables_and_json() {
    let v = plan_json(&[
        "-m",
        "llama-3.1-8b",
        "--gpu",
        "rtx-4090",
        "--grid-gco2-per-kwh",
        "100",
    ]);
    let e = &v["options"][0]["emissions"];
    assert_eq!(e["grid_gco2_per_kwh"], 100.0);
    let kwh = e["energy_kwh_per_month"].as_f64().unwrap();
    assert!((e["co2_tonnes_per_month"].as_f64().unwrap() - kwh * 1e-4).abs() < 1e-9);
    llmrig()
        .args([
            "plan",
            "-m",
            "falcon-180b",
            "-w",
            "train",
            "--gpu",
            "a100-sxm4-40gb",
        ])
        .args(["--train-tokens", "3.5T", "--mfu", "0.48"])
        .assert()
        .success()
        .stdout(predicate::str::contains("grid CO2 intensity"))
        .stdout(predicate::str::contains("366 g/kWh"))
        .stdout(predicate::str::contains("grid CO2 of the run"));
    llmrig()
        .args([
            "plan",
            "-m",
            "llama-3.1-8b",
            "--gpu",
            "rtx-4090",
            "--electricity",
            "us-ca",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("unknown for California"));
}

#[test]
fn training_flags_reject_what_cannot_be_planned() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["-w", "train", "--offload", "params", "--zero", "2"],
            "needs ZeRO-3",
        ),
        (&["--offload"], "--offload: only used for training"),
        (
            &["--attention", "eager"],
            "--attention: only used for training",
        ),
        (
            &["-w", "train", "--lora-trainable", "embed"],
            "only applies to lora",
        ),
        (
            &["-w", "lora", "--lora-trainable", "tail"],
            "invalid value 'tail'",
        ),
        (&["--grid-gco2-per-kwh=-5"], "between 0 and 2000"),
        (&["--grid-gco2-per-kwh", "5000"], "between 0 and 2000"),
        (&["--electricity", "mars"], "llmrig parts electricity"),
    ];
    for (args, needle) in cases {
        llmrig()
            .args(["plan", "-m", "llama-3.1-8b"])
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*needle));
    }
}

#[test]
fn a_grid_intensity_needs_its_own_source_and_a_sane_range() {
    let dir = tempfile::tempdir().unwrap();
    let entry = |extra: &str| {
        format!(
            "[[electricity]]\nid = \"de-test\"\nname = \"Germany test tariff\"\nregion = \"DE\"\n\
             usd_per_kwh = 0.40\ndate = \"2024\"\nsource = \"https://example.org/tariff\"\n{extra}\n"
        )
    };
    let check = |extra: &str| {
        std::fs::write(dir.path().join("grid.toml"), entry(extra)).unwrap();
        llmrig()
            .args(["catalog", "validate", dir.path().to_str().unwrap()])
            .assert()
    };
    check("gco2_per_kwh = 381")
        .code(2)
        .stderr(predicate::str::contains("sources.gco2_per_kwh"));
    check("gco2_per_kwh = 5000\nsources = { gco2_per_kwh = \"https://example.org/grid\" }")
        .code(2)
        .stderr(predicate::str::contains("gco2_per_kwh"));
    check("gco2_per_kwh = 381\nsources = { gco2_per_kwh = \"https://example.org/grid\" }")
        .success();
    // The overlay's region is then a tariff the planner can pick, with its CO2.
    let v = stdout_json(
        llmrig()
            .args(["--catalog-dir", dir.path().to_str().unwrap()])
            .args([
                "plan",
                "-m",
                "llama-3.1-8b",
                "--gpu",
                "rtx-4090",
                "--electricity",
                "de",
                "--json",
            ]),
    );
    assert_eq!(v["grid_gco2_per_kwh"], 381.0);
    assert_eq!(v["usd_per_kwh"], 0.40);
}
