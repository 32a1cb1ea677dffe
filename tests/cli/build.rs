//! `llmrig build check`: the source article's parts list and its correction (examples/), the
//! same list on the command line, bad lists, JSON and exit codes.
use crate::repo::repo_root;
use crate::util::llmrig;

fn example(name: &str) -> String {
    repo_root()
        .join("examples")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// Runs `llmrig ARGS` at 80 columns: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = llmrig().env("COLUMNS", "80").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn rules(v: &serde_json::Value) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_article_build_reports_spacing_lanes_case_and_cooling_and_exits_1() {
    let (code, out, _) = run(&["build", "check", &example("article-4x-v100.toml")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("Source article: 4× V100 desktop: does not work as listed"),
        "{out}"
    );
    for want in [
        "BLOCKS slot-spacing: 4 × 2-slot cards on 'ASUS ROG Zenith II Extreme (TRX40)' (1-slot spacing)",
        "limits lanes: 'ASUS ROG Zenith II Extreme (TRX40)' has 56 CPU PCIe lanes for 4",
        "BLOCKS case-form-factor: 'Corsair Obsidian Series 450D' takes atx boards;",
        "BLOCKS cooling: NVIDIA Tesla V100 PCIe 32GB is passively cooled",
    ] {
        let first_line = want.split(": ").next().unwrap();
        assert!(out.contains(first_line), "{want}\n{out}");
        // Wrapped at 80 columns: compare without the line breaks.
        let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(want), "{want}\n{out}");
    }
    for l in out.lines() {
        assert!(l.chars().count() <= 80, "{l}");
    }
    // Unpriced board and case: the total is a lower bound, and the dated lines say when.
    assert!(
        out.contains("Unpriced (the total is a lower bound): ASUS ROG Zenith II Extreme"),
        "{out}"
    );
    assert!(out.contains("Prices dated "), "{out}");
    assert!(
        out.contains("Runs (inference, 4,096 tokens of context"),
        "{out}"
    );
}

#[test]
fn the_article_build_as_json_prices_each_line_with_its_date() {
    let out = llmrig()
        .args(["--json", "build", "check", &example("article-4x-v100.toml")])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["kind"], "build-check");
    assert_eq!(v["schema_version"], 2);
    let r = rules(&v);
    for (rule, severity) in [
        ("slot-spacing", "blocks"),
        ("lanes", "limits"),
        ("case-form-factor", "blocks"),
        ("cooling", "blocks"),
    ] {
        assert!(
            r.contains(&(rule.into(), severity.into())),
            "{rule} not in {r:?}"
        );
    }
    assert_eq!(v["passes"], false);
    let b = &v["build"];
    assert_eq!(b["fully_priced"], false);
    assert!(b["total_usd"].is_null());
    let lines = b["node"]["lines"].as_array().unwrap();
    let priced: f64 = lines.iter().filter_map(|l| l["total_usd"].as_f64()).sum();
    assert!((b["lower_bound_usd"].as_f64().unwrap() - priced).abs() < 0.01);
    for l in lines.iter().filter(|l| !l["unit_price"].is_null()) {
        assert!(
            l["unit_price"]["date"]
                .as_str()
                .is_some_and(|d| d.len() >= 7),
            "{l}"
        );
    }
    let gpu = lines.iter().find(|l| l["kind"] == "gpu").unwrap();
    assert_eq!(gpu["quantity"], 4);
    assert!(v["runs"]["fitting_models"].as_u64().unwrap() > 0);
}

#[test]
fn the_corrected_build_passes_and_exits_0() {
    let (code, out, _) = run(&["build", "check", &example("article-4x-v100-fixed.toml")]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("Source article: 4× V100, corrected: passes"),
        "{out}"
    );
    assert!(!out.lines().any(|l| l.starts_with("BLOCKS ")), "{out}");
    assert!(
        out.contains("check psu-capacity: the catalog lacks the power supplies"),
        "{out}"
    );
}

#[test]
fn the_same_list_inline_gives_the_same_findings_and_flags_override_the_file() {
    let file = example("article-4x-v100.toml");
    let json = |args: &[&str]| -> serde_json::Value {
        let out = llmrig().arg("--json").args(args).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let from_file = json(&["build", "check", &file]);
    let inline = json(&[
        "build",
        "check",
        "--name",
        "Source article: 4× V100 desktop",
        "--board",
        "asus-rog-zenith-ii-extreme",
        "--cpu",
        "amd-ryzen-threadripper-3970x",
        "--ram",
        "2xcorsair-vengeance-lpx-ddr4-3200-64gb-2x32gb",
        "--gpu",
        "4xv100-pcie-32gb",
        "--storage",
        "samsung-990-pro-2tb",
        "--psu",
        "corsair-ax1600i",
        "--case",
        "corsair-obsidian-450d",
        "--cooler",
        "noctua-nh-d15",
        "--circuit",
        "us-15a-120v",
    ]);
    assert_eq!(rules(&from_file), rules(&inline));
    // The command line replaces the file's cooler: its socket conflict goes away.
    let over = json(&[
        "build",
        "check",
        &file,
        "--cooler",
        "noctua-nh-u14s-tr4-sp3",
    ]);
    assert!(rules(&from_file).iter().any(|(r, _)| r == "cooler"));
    assert!(rules(&over).iter().all(|(r, _)| r != "cooler"), "{over}");
}

#[test]
fn bad_lists_are_errors_with_file_entry_field_and_near_names() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "gpu = { id = \"v100\", quantity = \"four\" }\n").unwrap();
    let (code, _, err) = run(&["build", "check", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.toml': line 1: entry 'gpu', field 'quantity'"),
        "{err}"
    );
    let (code, _, err) = run(&["build", "check", "--gpu", "4xv100-pcie-32gbb"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("gpu: no gpu 'v100-pcie-32gbb' (did you mean 'v100-pcie-32gb'"),
        "{err}"
    );
    let (code, _, err) = run(&["--json", "build", "check", "--case", "obsidian-450"]);
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("corsair-obsidian-450d"),
        "{v}"
    );
    let (code, _, err) = run(&["build", "check"]);
    assert_eq!(code, 2);
    assert!(err.contains("no parts"), "{err}");
}

#[test]
fn the_article_12_gpu_rig_is_three_priced_nodes_with_a_network_question() {
    let out = llmrig()
        .args([
            "--json",
            "build",
            "check",
            &example("article-12x-v100.toml"),
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let b = &v["build"];
    assert_eq!(b["nodes"], 3);
    let node = b["node"]["priced_total_usd"].as_f64().unwrap();
    assert!((b["lower_bound_usd"].as_f64().unwrap() - 3.0 * node).abs() < 0.01);
    assert!(
        (v["power_load_w"].as_f64().unwrap() - 3.0 * b["node"]["wall_load_w"].as_f64().unwrap())
            .abs()
            < 0.01
    );
    let network = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "missing" && f["message"].as_str().unwrap().contains("3 nodes"));
    assert!(network.is_some(), "{v}");
    assert!(rules(&v).contains(&("slot-spacing".into(), "blocks".into())));
}
