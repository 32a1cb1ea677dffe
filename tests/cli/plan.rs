use crate::util::{llmrig, stdout_json, stdout_text};
use predicates::prelude::*;

/// Stdout of `llmrig ARGS` with `COLUMNS` set (or unset for piped output).
fn text(args: &[&str], columns: Option<&str>) -> String {
    let mut cmd = llmrig();
    cmd.args(args);
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    stdout_text(&mut cmd)
}

const HEADLINE: &[&str] = &["plan", "--model", "falcon-180b", "--precision", "int4"];
const TRAIN: &[&str] = &[
    "plan",
    "-m",
    "falcon-180b",
    "-w",
    "train",
    "--train-tokens",
    "3.5T",
];

#[test]
fn the_headline_plan_fits_80_and_120_columns_and_answers_first() {
    let v = stdout_json(llmrig().args(HEADLINE).arg("--json"));
    for columns in ["80", "120"] {
        let out = text(HEADLINE, Some(columns));
        let width: usize = columns.parse().unwrap();
        for l in out.lines() {
            assert!(l.chars().count() <= width, "{columns}: {l}");
        }
        let first: Vec<&str> = out.lines().take(25).collect();
        let first = first.join("\n");
        // The recommended build and its complete total, with no lower-bound mark.
        if let Some(i) = v["recommended"].as_u64() {
            let o = &v["options"][i as usize];
            let name = o["gpu_name"].as_str().unwrap();
            let total = o["build"]["total_usd"]
                .as_f64()
                .expect("recommended is fully priced");
            // A machine sold with its one GPU (a DGX Spark) is named by the machine alone.
            let machine = o["build"]["node"]["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["kind"] == "platform")
                .and_then(|l| l["name"].as_str())
                .unwrap_or("-");
            assert!(
                first.contains(&format!("Recommended: {} × {name}", o["gpus"]))
                    || (o["gpus"] == 1 && first.contains(&format!("Recommended: {machine}\n"))),
                "{first}"
            );
            let price = first
                .lines()
                .find(|l| l.trim_start().starts_with("price "))
                .expect("a price line");
            assert!(price.contains(&format!("${}", thousands(total))), "{price}");
            assert!(!price.contains('≥'), "{price}");
        }
        assert!(out.contains("Parts per node") && out.contains("circuits per node"));
        assert!(
            !out.contains("USABLE_VRAM_FRACTION"),
            "assumptions wait for --explain"
        );
    }
    let explained = text(&[HEADLINE, &["--explain"]].concat(), Some("80"));
    assert!(explained.contains("USABLE_VRAM_FRACTION") && explained.contains("gptq-int4-g128"));
    for l in explained.lines() {
        assert!(l.chars().count() <= 80, "{l}");
    }
}

fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn piped_output_keeps_every_table_row_on_one_line() {
    let out = text(&[HEADLINE, &["--all"]].concat(), None);
    let v = stdout_json(llmrig().args(HEADLINE).arg("--json"));
    let options = v["options"].as_array().unwrap().len();
    // The options table: header plus one line per option, between its rules.
    let table: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Options"))
        .skip_while(|l| !l.starts_with('┌'))
        .take_while(|l| !l.starts_with('└'))
        .filter(|l| l.starts_with('│'))
        .collect();
    assert_eq!(table.len(), options + 1, "{}", table.join("\n"));
    assert!(
        !out.contains("Hidden to fit"),
        "nothing hidden without a width"
    );
}

/// Checks the plan JSON contract on the embedded catalog (whatever its prices are today).
fn check_plan_json(args: &[&str]) {
    let v = stdout_json(llmrig().args(args).arg("--json"));
    let text = v.to_string();
    assert!(!text.contains("-0.0") && !text.contains("NaN"), "{args:?}");
    fn walk(v: &serde_json::Value, path: &str, args: &[&str]) {
        match v {
            serde_json::Value::Number(n) => {
                let x = n.as_f64().unwrap();
                assert!(
                    x >= 0.0 && x.is_finite() && !(x == 0.0 && x.is_sign_negative()),
                    "{args:?} {path} = {x}"
                );
            }
            serde_json::Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), args)),
            serde_json::Value::Object(o) => o
                .iter()
                .for_each(|(k, x)| walk(x, &format!("{path}.{k}"), args)),
            _ => {}
        }
    }
    walk(&v, "", args);
    assert_eq!(v["schema_version"], 2);
    let options = v["options"].as_array().unwrap();
    let complete = |o: &serde_json::Value| o["build"]["total_usd"].as_f64();
    // Documented order: fully priced fits by total, fits with unpriced parts by lower bound,
    // then fits with no price, then options that do not fit.
    let key = |o: &serde_json::Value| -> (u8, f64) {
        match (
            o["fits"].as_bool().unwrap(),
            complete(o),
            o["build"]["lower_bound_usd"].as_f64(),
        ) {
            (false, _, _) => (3, 0.0),
            (true, Some(t), _) => (0, t),
            (true, None, Some(l)) => (1, l),
            (true, None, None) => (2, 0.0),
        }
    };
    for pair in options.windows(2) {
        let (a, b) = (key(&pair[0]), key(&pair[1]));
        assert!(
            a.0 < b.0 || (a.0 == b.0 && a.1 <= b.1),
            "{args:?}: {a:?} before {b:?}"
        );
    }
    for o in options {
        if complete(o).is_none() {
            assert!(
                o["cost"].is_null() || o["cost"]["usd_per_token_per_s"].is_null(),
                "{args:?} {}",
                o["gpu_id"]
            );
            assert!(
                o["cost"].is_null() || o["cost"]["break_even_months"].is_null(),
                "{args:?} {}",
                o["gpu_id"]
            );
        }
    }
    let any_complete_fit = options.iter().any(|o| {
        o["fits"] == true && o["build"]["node"]["builds_as_listed"] == true && complete(o).is_some()
    });
    match v["recommended"].as_u64() {
        Some(i) => {
            let o = &options[i as usize];
            assert!(o["fits"] == true && complete(o).is_some(), "{args:?}");
            assert!(o["build"]["node"]["unpriced"]
                .as_array()
                .unwrap()
                .is_empty());
            // The cheapest fully priced fit that builds as listed.
            let cheapest = options
                .iter()
                .filter(|o| o["fits"] == true && o["build"]["node"]["builds_as_listed"] == true)
                .filter_map(complete)
                .fold(f64::INFINITY, f64::min);
            assert_eq!(complete(o), Some(cheapest), "{args:?}");
        }
        None => assert!(
            !any_complete_fit,
            "{args:?}: a fully priced fit exists but none is recommended"
        ),
    }
}

#[test]
fn plan_json_recommends_only_fully_priced_builds_in_the_documented_order() {
    check_plan_json(HEADLINE);
    check_plan_json(&["plan", "-m", "llama-3.1-405b"]);
    check_plan_json(&["plan", "-m", "llama-3.1-70b", "-p", "int4"]);
    check_plan_json(&["plan", "-m", "falcon-180b", "-p", "int4", "--gpu", "b200"]);
    check_plan_json(TRAIN);
}

#[test]
fn quiet_prints_at_most_12_lines() {
    for args in [
        HEADLINE,
        &["plan", "-m", "llama-3.1-405b"],
        &["plan", "-m", "llama-3.1-8b", "-b", "32"],
        TRAIN,
        &[
            "compare",
            "-m",
            "llama-3.1-70b",
            "-p",
            "int4",
            "-o",
            "2xrtx-4090",
            "-o",
            "2xa100-pcie-80gb",
            "-o",
            "4xv100-sxm2-32gb",
        ],
    ] {
        let out = text(&[args, &["-q"]].concat(), Some("80"));
        assert!(out.lines().count() <= 12, "{args:?}:\n{out}");
        assert!(
            out.lines().all(|l| l.chars().count() <= 80),
            "{args:?}:\n{out}"
        );
        assert!(!out.contains('┌'), "{args:?}: no tables with -q");
    }
}

#[test]
fn help_groups_options_by_topic() {
    for cmd in ["plan", "compare"] {
        let out = text(&[cmd, "--help"], Some("100"));
        let headings: Vec<&str> = out
            .lines()
            .filter(|l| l.ends_with(':') && !l.starts_with(' '))
            .collect();
        assert_eq!(
            headings,
            [
                "Options:",
                "Model and workload:",
                "Engine and speed:",
                "Hardware:",
                "Cost:",
                "Output:",
                "Global options:"
            ],
            "{cmd}"
        );
    }
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
        .stdout(predicate::str::contains("8×a100-sxm4-80gb"))
        .stdout(predicate::str::contains(
            "4×v100-sxm2-32gb does not fit: needs",
        ))
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
        .stdout(predicate::str::contains("| option |"))
        .stdout(predicate::str::contains("| $ per tok/s |"));
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
    let args = [
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
    ];
    let v = stdout_json(llmrig().args(args).arg("--json"));
    let hours = v["options"][0]["training"]["gpu_hours"].as_f64().unwrap();
    assert!((6.0e6..8.0e6).contains(&hours), "{hours}");
    // The options table shows GPU-hours and days even with no fully priced (multi-node) build.
    let out = text(&args, Some("120"));
    assert!(
        out.contains("GPU-h") && out.contains(&thousands(hours)),
        "{out}"
    );
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
