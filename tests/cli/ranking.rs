//! Ranking, the answer block and the JSON contract on the fixture catalog
//! (`tests/fixtures/catalog/ranking`, invented entries with fixed prices), so exact orders and
//! totals hold while the embedded catalog is re-priced.
use crate::util::{llmrig, stdout_json, stdout_text};
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalog/ranking")
}

/// `llmrig --catalog-dir <fixture> ARGS` at `columns` wide.
fn on_fixture(args: &[&str], columns: &str) -> assert_cmd::Command {
    let mut cmd = llmrig();
    cmd.arg("--catalog-dir")
        .arg(fixture())
        .args(args)
        .env("COLUMNS", columns);
    cmd
}

/// `plan` on the five fixture systems, one node each, prices aged to 2026-06-01.
fn plan(extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = llmrig();
    cmd.arg("--catalog-dir").arg(fixture()).args([
        "plan",
        "-m",
        "fx-8b",
        "--max-nodes",
        "1",
        "--as-of",
        "2026-06-01",
    ]);
    for g in ["fx-e", "fx-d", "fx-c", "fx-b", "fx-a"] {
        cmd.args(["--gpu", g]);
    }
    cmd.args(extra);
    cmd
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["gpu_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn json_orders_options_by_the_stated_objective() {
    let v = stdout_json(plan(&["--json"]).env("COLUMNS", "80"));
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["sort"], "price");
    assert!(v["objective"]
        .as_str()
        .unwrap()
        .starts_with("fully priced fits by total price"));
    assert_eq!(ids(&v), ["fx-a", "fx-b", "fx-d", "fx-c", "fx-e"]);
    assert_eq!(
        (&v["recommended"], &v["runner_up"], &v["fastest"]),
        (
            &serde_json::json!(0),
            &serde_json::json!(1),
            &serde_json::json!(1)
        )
    );
    let o = &v["options"];
    assert_eq!(o[0]["build"]["total_usd"], 80000.0);
    assert_eq!(o[0]["build"]["stale_prices"][0], "Fixture System A");
    assert_eq!(o[2]["build"]["total_usd"], serde_json::Value::Null);
    assert_eq!(o[2]["build"]["lower_bound_usd"], 5000.0);
    assert_eq!(o[2]["cost"]["usd_per_token_per_s"], serde_json::Value::Null);
    assert_eq!(o[3]["build"]["lower_bound_usd"], serde_json::Value::Null);
    assert_eq!(o[4]["fits"], false);
    assert!(o[4]["memory_per_gpu"]["shortfall_bytes"].as_f64().unwrap() > 0.0);
    assert_eq!(o[4]["memory_per_gpu"]["headroom_bytes"], 0.0);

    let v = stdout_json(&mut plan(&["--json", "--sort", "speed"]));
    assert_eq!(v["sort"], "speed");
    assert_eq!(ids(&v), ["fx-b", "fx-c", "fx-d", "fx-a", "fx-e"]);
    assert_eq!(v["recommended"], 3, "still fx-a, wherever it is listed");
}

#[test]
fn the_answer_names_the_build_its_price_dates_and_why_it_won() {
    let text = stdout_text(plan(&[]).env("COLUMNS", "200"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Fixture 8B in bf16, 4,096 tokens × batch 1: 15.0 GiB weights, 0.5 GiB KV cache"
    );
    assert_eq!(
        lines[1],
        "Recommended: 1 × Fixture A 24GB in Fixture System A"
    );
    assert_eq!(
        lines[2],
        "  price    $80,000 (prices dated 2024-01-10; 1 older than 18 months)"
    );
    assert_eq!(
        lines[6],
        "  why      cheapest of 2 fully priced fits (4 fit); runner-up 1×fx-b $120,000 for a system of 8 GPUs; fastest 1×fx-b 149 tok/s, $120,000 for a system of 8 GPUs"
    );
    // The options follow, the lower bound and the unpriced one marked.
    let row = |id: &str| {
        *lines
            .iter()
            .find(|l| l.starts_with(&format!("│ 1×{id}")))
            .unwrap()
    };
    assert!(row("fx-a *").contains("$80,000"));
    assert!(row("fx-d").contains("≥ $5,000"));
    assert!(row("fx-c").contains("unpriced"));
    assert!(text.contains("Prices dated 2024-01-10; older than 18 months: Fixture System A."));
}

#[test]
fn quiet_prints_the_answer_only() {
    let text = stdout_text(plan(&["-q"]).env("COLUMNS", "80"));
    assert_eq!(text.lines().count(), 10, "{text}");
    assert!(text.starts_with("Fixture 8B in bf16"), "{text}");
    assert!(!text.contains('┌'), "{text}");
}

#[test]
fn without_a_fully_priced_fit_the_answer_says_so() {
    let text = stdout_text(&mut on_fixture(
        &[
            "plan",
            "-m",
            "fx-8b",
            "--gpu",
            "fx-d",
            "--gpu",
            "fx-c",
            "--max-nodes",
            "1",
            "-q",
        ],
        "100",
    ));
    assert!(
        text.contains("No recommendation: none of the 2 fits has every part priced."),
        "{text}"
    );
    assert!(
        text.contains("cheapest 1×fx-d costs ≥ $5,000; unpriced: Fixture System D"),
        "{text}"
    );
}

#[test]
fn compare_puts_options_side_by_side_in_the_given_order() {
    let text = stdout_text(&mut on_fixture(
        &[
            "compare",
            "-m",
            "fx-8b",
            "-o",
            "1xfx-c",
            "-o",
            "1xfx-b",
            "-o",
            "1xfx-a",
            "--max-nodes",
            "1",
        ],
        "80",
    ));
    let header = text
        .lines()
        .find(|l| l.contains("1×fx-c"))
        .expect("a header with the options");
    let (c, b, a) = (
        header.find("1×fx-c").unwrap(),
        header.find("1×fx-b").unwrap(),
        header.find("1×fx-a *").unwrap(),
    );
    assert!(c < b && b < a, "{header}");
    let row = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("│ {label}")))
            .unwrap_or_else(|| panic!("no row '{label}' in\n{text}"))
            .split('┆')
            .map(|c| {
                c.trim_matches(|ch: char| ch == '│' || ch.is_whitespace())
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(row("price USD")[1..], ["unpriced", "$120,000", "$80,000"]);
    assert_eq!(row("decode tok/s")[1..], ["99.2", "149", "49.6"]);
    assert_eq!(row("wall W at load")[1..], ["5,000", "6,000", "3,000"]);
    assert_eq!(row("usable GiB/GPU")[1..], ["44.2", "44.2", "22.1"]);
    assert!(
        text.contains("1×fx-c unpriced: Fixture System C."),
        "{text}"
    );
    for l in text.lines() {
        assert!(l.chars().count() <= 80, "{l}");
    }
}
