use crate::util::{llmrig, stdout_json};
use predicates::prelude::*;

fn json_len(args: &[&str]) -> usize {
    let v = stdout_json(llmrig().args(args));
    v.as_array().unwrap().len()
}

#[test]
fn catalogs_list_at_least_25_entries_each() {
    assert!(json_len(&["gpus", "--json"]) >= 25);
    assert!(json_len(&["models", "--json"]) >= 25);
}

#[test]
fn models_and_gpus_resolve_by_alias() {
    // The full seed list is checked in src/catalog/model.rs; here the CLI path for aliases.
    for (alias, id) in [
        ("falcon180b", "falcon-180b"),
        ("gptj", "gpt-j-6b"),
        ("h100", "h100-sxm5-80gb"),
        ("4090", "rtx-4090"),
    ] {
        let kind = if id.contains("rtx") || id.contains("h100") {
            "gpus"
        } else {
            "models"
        };
        llmrig()
            .args([kind, "show", alias])
            .assert()
            .success()
            .stdout(predicate::str::contains(id));
    }
}

#[test]
fn every_entry_has_a_source_and_every_price_a_date() {
    let gpus = stdout_json(llmrig().args(["gpus", "--json"]));
    for g in gpus.as_array().unwrap() {
        assert!(
            g["source"].as_str().unwrap().starts_with("http"),
            "{}",
            g["id"]
        );
        for p in g["prices"].as_array().into_iter().flatten() {
            assert!(p["date"].as_str().unwrap().len() >= 7, "{}", g["id"]);
        }
    }
}

#[test]
fn broken_overlay_names_file_and_field_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("my-prices.toml"),
        "[[gpu]]\nid = \"my-card\"\nname = \"Mine\"\nvendor = \"nvidia\"\narchitecture = \"x\"\nmemory_gib = \"lots\"\n",
    )
    .unwrap();
    llmrig()
        .args(["catalog", "validate"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("my-prices.toml"))
        .stderr(predicate::str::contains("my-card"))
        .stderr(predicate::str::contains("memory_gib"));
}

#[test]
fn overlay_replaces_an_embedded_price() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = llmrig()
        .args(["gpus", "show", "rtx-4090", "--toml"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut text = String::from_utf8(embedded).unwrap();
    // `show` prints the entry under [gpu]; turn it into an overlay entry with our own price.
    let start = text.find("[gpu]").unwrap();
    text = text[start..].replacen("[gpu]", "[[gpu]]", 1);
    let text = text.replace("[[gpu.prices]]", "[[gpu.prices_old]]");
    let text: String = text
        .lines()
        .take_while(|l| !l.starts_with("[[gpu.prices_old]]"))
        .collect::<Vec<_>>()
        .join("\n");
    let overlay = format!("{text}\n[[gpu.prices]]\nusd = 1234\nkind = \"street-new\"\ndate = \"2026-11\"\nsource = \"https://example.org/my-quote\"\n");
    std::fs::write(dir.path().join("mine.toml"), overlay).unwrap();
    llmrig()
        .arg("--catalog-dir")
        .arg(dir.path())
        .args(["gpus", "show", "rtx-4090", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1234"))
        .stdout(predicate::str::contains("mine.toml"));
}

#[test]
fn unknown_ids_suggest_near_names() {
    llmrig()
        .args(["models", "show", "lama-2-70b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean"));
    llmrig()
        .args(["parts", "gadgets"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown part kind"));
}

#[test]
fn completions_complete_model_and_gpu_ids() {
    for shell in ["bash", "zsh", "fish"] {
        llmrig()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("llmrig"))
            .stdout(predicate::str::contains("falcon-180b"))
            .stdout(predicate::str::contains("h100-sxm5-80gb"));
    }
}

#[test]
fn show_prints_a_card_not_toml() {
    llmrig()
        .args(["gpus", "show", "h100"])
        .env("COLUMNS", "80")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "NVIDIA H100 SXM5 80GB (h100-sxm5-80gb",
        ))
        .stdout(predicate::str::contains("\n  memory      80 GiB HBM3"))
        .stdout(predicate::str::contains("[gpu]").not())
        .stdout(predicate::str::contains("memory_bandwidth_gb_per_s").not());
    llmrig()
        .args(["models", "show", "falcon-180b"])
        .env("COLUMNS", "80")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\n  KV cache    163,840 bytes per token in bf16",
        ))
        .stdout(predicate::str::contains(
            "80 layers, hidden 14,848, 232 heads / 8 KV heads",
        ));
}

#[test]
fn listings_fit_80_columns() {
    for args in [["gpus"], ["models"], ["parts"]] {
        let out = llmrig().args(args).env("COLUMNS", "80").assert().success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        for l in text.lines() {
            assert!(l.chars().count() <= 80, "{args:?}: {l}");
        }
    }
}

#[test]
fn gpus_lists_the_issue_12_entries() {
    let gpus = stdout_json(llmrig().args(["gpus", "--json"]));
    let gpus = gpus.as_array().unwrap();
    let has = |id: &str| gpus.iter().find(|g| g["id"] == id);
    for id in [
        "rtx-pro-6000-blackwell",
        "rtx-pro-6000-blackwell-server",
        "b300-sxm",
        "gb200",
        "h20-96gb",
        "l20",
        "l40",
        "rtx-6000-ada",
        "a30",
        "rtx-5080",
        "rtx-5070-ti",
        "rtx-4080-super",
        "rtx-4070-ti-super",
        "rx-7900-xtx",
        "radeon-pro-w7900",
        "mi210",
        "mi325x",
        "mi355x",
        "gaudi-2",
        "m3-ultra-512gb",
        "m3-ultra-96gb",
        "m4-max-128gb",
        "dgx-spark",
        "ryzen-ai-max-395",
    ] {
        assert!(has(id).is_some(), "{id} missing from `llmrig gpus`");
    }
    let m3 = has("m3-ultra-512gb").unwrap();
    assert_eq!(m3["unified_memory"], true);
    assert_eq!(m3["gpu_memory_fraction"], 0.75);
    assert!(has("h100-sxm5-80gb")
        .unwrap()
        .get("unified_memory")
        .is_none());
    // The table shows the unified memory and the GPU's share of it.
    llmrig()
        .args(["gpus"])
        .assert()
        .success()
        .stdout(predicate::str::contains("384 of 512 GiB"));
}

#[test]
fn new_part_kinds_list_and_unknown_kinds_name_them() {
    let v = stdout_json(llmrig().args(["parts", "bridge", "--json"]));
    let bridges = v["bridge"].as_array().unwrap();
    assert!(bridges.iter().all(|b| b["slot_spacing"].as_u64().is_some()));
    llmrig()
        .args(["parts", "no-such-kind"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("server-psu"));
}
