//! What fits a rig: `compare`'s format sweep when a rig cannot hold the request, `--sweep`,
//! `llmrig fit RIG`, and `plan`'s reverse targets (`--target-tokens-per-s`, `--target-days`).
use crate::repo::fixture;
use crate::util::{llmrig, stdout_json, stdout_text};

/// Runs `cmd` expecting exit status `code`, and returns its stdout.
fn stdout_with(cmd: &mut assert_cmd::Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

fn formats_that_fit(sweep: &serde_json::Value) -> Vec<String> {
    sweep["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["fits"] == true)
        .map(|r| r["weights"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn compare_of_a_rig_too_small_names_the_formats_that_fit() {
    // Issue 13's acceptance: Mixtral 8x7B in bf16 does not fit 2× RTX 3090.
    let args = ["compare", "-m", "mixtral-8x7b", "-o", "2xrtx-3090"];
    let text = stdout_with(llmrig().args(args).env("COLUMNS", "80"), 1);
    let answer: String = text.split("Side by side").next().unwrap().to_owned();
    assert!(
        answer.contains("2×rtx-3090 fits with one change:"),
        "{answer}"
    );
    assert!(
        answer.contains("--precision q6_k: the most bits per weight"),
        "{answer}"
    );
    assert!(
        text.contains("Weight formats on 2×rtx-3090 at 4,096 tokens × batch 1"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    for f in ["q4_k_m", "q5_k_m", "gptq"] {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("│ {f} ")))
            .unwrap();
        assert!(row.contains("yes"), "{row}");
    }
    let out = llmrig()
        .arg("--json")
        .args(args)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let s = &v["sweeps"][0];
    assert_eq!(
        (s["kind"].as_str(), s["rig"].as_str()),
        (Some("formats"), Some("2×rtx-3090"))
    );
    let fits = formats_that_fit(s);
    for f in ["q4_k_m", "q5_k_m", "gptq"] {
        assert!(fits.iter().any(|x| x == f), "{f} in {fits:?}");
    }
    assert!(!fits.iter().any(|x| x == "bf16"));
    assert_eq!(s["fixes"][0]["change"], "--precision q6_k");
    assert_eq!(s["rows"][0]["max_context_tokens"], 32768);
}

#[test]
fn a_rig_that_fits_is_swept_only_on_request() {
    let cat = fixture("catalog/ranking");
    let base = [
        "compare",
        "-m",
        "fx-8b",
        "-o",
        "1xfx-a",
        "--as-of",
        "2026-06-01",
    ];
    let v = stdout_json(
        llmrig()
            .arg("--catalog-dir")
            .arg(&cat)
            .arg("--json")
            .args(base),
    );
    assert!(v.get("sweeps").is_none(), "no sweep when it fits");
    let v = stdout_json(
        llmrig()
            .arg("--catalog-dir")
            .arg(&cat)
            .arg("--json")
            .args(base)
            .args(["--sweep", "context"]),
    );
    let rows = v["sweeps"][0]["rows"].as_array().unwrap();
    let ctx: Vec<u64> = rows
        .iter()
        .map(|r| r["context_tokens"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ctx,
        [512, 1024, 2048, 4096, 8192],
        "the fixture model's maximum is 8,192"
    );
    assert!(rows.iter().all(|r| r["fits"] == true));
    assert_eq!(v["sweeps"][0]["fixes"].as_array().unwrap().len(), 0);
    // plan sweeps its recommended build.
    let v = stdout_json(llmrig().arg("--catalog-dir").arg(&cat).arg("--json").args([
        "plan",
        "-m",
        "fx-8b",
        "--gpu",
        "fx-a",
        "--max-nodes",
        "1",
        "--sweep",
        "batch",
    ]));
    assert_eq!(v["sweeps"][0]["kind"], "batch");
    assert_eq!(v["sweeps"][0]["rig"], "1×fx-a");
    llmrig()
        .args([
            "compare",
            "-m",
            "llama-3.1-8b",
            "-w",
            "train",
            "-o",
            "8xh100-sxm5-80gb",
            "--sweep",
            "formats",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--sweep formats is for inference",
        ));
}

#[test]
fn fit_lists_mixtral_on_two_3090s_with_its_formats_and_longest_context() {
    // Issue 13's acceptance: `llmrig fit 2xrtx-3090`.
    let text = stdout_text(llmrig().args(["fit", "2xrtx-3090"]).env("COLUMNS", "80"));
    assert!(text.contains("catalog models fit 2×rtx-3090"), "{text}");
    let row = text.lines().find(|l| l.contains("mixtral-8x7b")).unwrap();
    assert!(
        row.contains("q6_k … iq1_s") && row.contains("32,768"),
        "{row}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    let v = stdout_json(llmrig().args(["--json", "fit", "2xrtx-3090"]));
    assert_eq!(
        (v["kind"].as_str(), v["gpus"].as_u64()),
        (Some("fit"), Some(2))
    );
    let models = v["models"].as_array().unwrap();
    let mix = models.iter().find(|m| m["id"] == "mixtral-8x7b").unwrap();
    let fits = formats_that_fit(
        mix.get("formats")
            .map(|f| serde_json::json!({"rows": f}))
            .as_ref()
            .unwrap(),
    );
    for f in ["q4_k_m", "q5_k_m", "gptq"] {
        assert!(fits.iter().any(|x| x == f), "{f} in {fits:?}");
    }
    let q4 = mix["formats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["weights"] == "q4_k_m")
        .unwrap();
    assert_eq!(q4["max_context_tokens"], 32768);
    // Best first: every model fitting at 4 bits or more before any that needs fewer.
    let bits: Vec<f64> = models
        .iter()
        .map(|m| m["formats"][0]["bits_per_weight"].as_f64().unwrap())
        .collect();
    let low = bits.iter().position(|&b| b < 4.0).unwrap_or(bits.len());
    assert!(bits[low..].iter().all(|&b| b < 4.0), "{bits:?}");
    // A family filter shows every format of each model.
    let text = stdout_text(
        llmrig()
            .args(["fit", "2xrtx-3090", "--family", "mixtral"])
            .env("COLUMNS", "80"),
    );
    assert!(text.starts_with("2 of 2 catalog models fit"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("mixtral-8x7b") && l.contains("q4_k_m")),
        "{text}"
    );
}

#[test]
fn fit_reads_gpu_lists_probe_runs_and_filters() {
    let v = stdout_json(llmrig().args([
        "--json",
        "fit",
        "rtx-3090,rtx-4090",
        "--min-context",
        "32768",
    ]));
    assert_eq!(v["rig"], "2×rtx-3090");
    assert!(
        v["notes"][0].as_str().unwrap().contains("mixed GPUs"),
        "{}",
        v["notes"]
    );
    let models = v["models"].as_array().unwrap();
    assert!(models
        .iter()
        .all(|m| m["max_context_tokens"].as_u64().unwrap() >= 32768));
    assert!(models.iter().all(|m| m["context_tokens"] == 32768));
    // A saved probe run: its H100 80GB HBM3 is the catalog's SXM H100.
    let run = fixture("report/run-rig-a.json");
    let v = stdout_json(llmrig().args(["--json", "fit"]).arg(&run));
    assert_eq!(v["rig"], "1×h100-sxm5-80gb");
    assert!(v["models"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "llama-3.1-70b"));
    // Unknown GPUs and empty lists are errors, not panics.
    llmrig().args(["fit", "2xrtx-9999"]).assert().code(2);
    llmrig().args(["fit", ","]).assert().code(2);
    // Nothing fits: exit 1 with the count.
    let text = stdout_with(
        llmrig().args([
            "fit",
            "1xrtx-3090",
            "--family",
            "falcon",
            "--min-context",
            "2048",
            "-b",
            "4096",
        ]),
        1,
    );
    assert!(text.starts_with("0 of "), "{text}");
}

#[test]
fn plan_names_the_smallest_and_cheapest_build_meeting_a_speed_target() {
    let cat = fixture("catalog/ranking");
    let plan = |target: &str| {
        let mut cmd = llmrig();
        cmd.arg("--catalog-dir").arg(&cat).args([
            "plan",
            "-m",
            "fx-8b",
            "--gpu",
            "fx-a",
            "--gpu",
            "fx-b",
            "--max-nodes",
            "1",
            "--as-of",
            "2026-06-01",
            "--target-tokens-per-s",
            target,
        ]);
        cmd
    };
    let v = stdout_json(plan("1").arg("--json"));
    let t = &v["target"];
    assert_eq!(t["met"], true);
    assert_eq!(t["smallest"]["gpus"], 1);
    assert_eq!(
        (
            t["cheapest"]["gpu_id"].as_str(),
            t["cheapest"]["price_usd"].as_f64()
        ),
        (Some("fx-a"), Some(80000.0))
    );
    let text = stdout_text(plan("1").env("COLUMNS", "80"));
    let answer = text.split("\n\n").next().unwrap();
    assert!(
        answer.contains("Target, decode at least 1 tok/s per sequence:"),
        "{answer}"
    );
    assert!(
        answer.contains("cheapest 1×fx-a") || answer.contains("cheapest: the same build"),
        "{answer}"
    );
    // Unreachable: said plainly, with the closest build.
    let v = stdout_json(plan("1000000").arg("--json"));
    assert_eq!(v["target"]["met"], false);
    assert!(v["target"]["smallest"].is_null() && v["target"]["closest"]["gpu_id"] == "fx-b");
    let text = stdout_text(plan("1000000").env("COLUMNS", "80"));
    assert!(text.contains("no build in the catalog"), "{text}");
    assert!(text.contains("closest 8×fx-b"), "{text}");
}

#[test]
fn plan_names_the_smallest_and_cheapest_build_for_n_users() {
    let cat = fixture("catalog/ranking");
    let mut cmd = llmrig();
    cmd.arg("--catalog-dir").arg(&cat).args([
        "--json",
        "plan",
        "-m",
        "fx-8b",
        "--gpu",
        "fx-a",
        "--gpu",
        "fx-b",
        "--max-nodes",
        "1",
        "--as-of",
        "2026-06-01",
        "--users",
        "16",
        "--context",
        "8192",
    ]);
    let v = stdout_json(&mut cmd);
    assert_eq!(v["request"]["batch"], 16);
    let t = &v["target"];
    assert_eq!(
        (t["target"]["users"].as_u64(), t["met"].as_bool()),
        (Some(16), Some(true))
    );
    // 16 × 8,192 tokens of KV (16 GiB) beside 15 GiB of weights: two fx-a (24 GiB), one fx-b (48).
    assert_eq!(
        (
            t["smallest"]["gpu_id"].as_str(),
            t["smallest"]["gpus"].as_u64()
        ),
        (Some("fx-b"), Some(1))
    );
    assert_eq!(t["cheapest"]["gpu_id"], "fx-a");
    assert!(t["cheapest"]["gpus"].as_u64().unwrap() > 1);
    llmrig()
        .args(["plan", "-m", "llama-3.1-8b", "--users", "4", "--batch", "4"])
        .assert()
        .code(2);
}

#[test]
fn plan_names_a_training_build_that_meets_a_deadline() {
    let base = [
        "plan",
        "-m",
        "falcon-180b",
        "-w",
        "train",
        "--train-tokens",
        "3.5T",
        "--gpu",
        "a100-sxm4-80gb",
    ];
    let v = stdout_json(
        llmrig()
            .arg("--json")
            .args(base)
            .args(["--target-days", "1000"]),
    );
    let t = &v["target"];
    assert_eq!(t["met"], true, "{t}");
    let days = t["smallest"]["training_days"].as_f64().unwrap();
    let (first, gpus) = (
        v["options"][0]["gpus"].as_u64().unwrap(),
        t["smallest"]["gpus"].as_u64().unwrap(),
    );
    let first_days = v["options"][0]["training"]["wall_clock_days"]
        .as_f64()
        .unwrap();
    assert!(
        days <= 1000.0 && first_days > 1000.0,
        "{days} vs {first_days}"
    );
    // Days scale as 1 / GPUs: one multiple of the smallest fit fewer would miss the deadline.
    assert_eq!(gpus % first, 0);
    assert!(
        first_days * first as f64 / (gpus - first) as f64 > 1000.0,
        "{gpus} GPUs"
    );
    // A target needs its workload, and days need tokens to train on.
    llmrig()
        .args(["plan", "-m", "fx", "--target-days", "3"])
        .assert()
        .code(2);
    llmrig()
        .args([
            "plan",
            "-m",
            "llama-3.1-8b",
            "--target-days",
            "3",
            "--train-tokens",
            "1B",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("training"));
    llmrig()
        .args([
            "plan",
            "-m",
            "llama-3.1-8b",
            "-w",
            "train",
            "--train-tokens",
            "1B",
            "--target-tokens-per-s",
            "5",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("inference target"));
}
