use crate::util::llmrig;
use predicates::prelude::*;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    crate::util::fixture(&format!("report/{name}"))
}

#[test]
fn report_of_two_runs_and_a_plan_shows_the_comparison_and_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    llmrig()
        .arg("report")
        .arg(fixture("compare-llama-3.1-70b-int4.json"))
        .arg(fixture("run-rig-a.json"))
        .arg(fixture("run-rig-b.json"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("report.html, report.md and 12 charts"))
        .stdout(predicate::str::contains(
            "recommended 2×v100-sxm2-32gb at $159,430",
        ))
        .stdout(predicate::str::contains(
            "Probe run run-rig-b: fixture-rig-b, 1 GPU",
        ))
        .stdout(predicate::str::contains(
            "against plan compare-llama-3.1-70b-int4: run-rig-b gpu0: memory bandwidth meets, dense bf16 below by",
        ))
        // The summary, not the whole report.
        .stdout(predicate::str::contains("Verdict per GPU").not())
        .stdout(predicate::str::contains('┌').not());
    let charts: Vec<String> = std::fs::read_dir(out.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        charts.iter().filter(|c| c.ends_with(".svg")).count(),
        12,
        "{charts:?}"
    );
    assert_eq!(
        charts.iter().filter(|c| c.ends_with(".png")).count(),
        12,
        "{charts:?}"
    );
    assert!(
        charts.contains(&"vs-compare-llama-3-1-70b-int4.svg".to_owned()),
        "{charts:?}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("![GEMM throughput by matrix size](charts/runs-gemm.svg)"));
    assert!(md.contains("Verdict per GPU") && md.contains("Plan with my rig's numbers"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Both lead with the summary, before any chart.
    let summary = md.find("## Summary").expect("a summary");
    assert!(summary < md.find("![").unwrap());
    let summary = html.find("<section id=\"summary\">").expect("a summary");
    assert!(summary < html.find("<figure").unwrap() && summary < html.find("<svg").unwrap());
}

fn report_error(contents: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-input.json");
    std::fs::write(&bad, contents).unwrap();
    llmrig()
        .arg("report")
        .arg(fixture("run-rig-a.json"))
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad-input.json"))
        .stderr(predicate::str::contains(expected))
        .stderr(predicate::str::contains("\n").count(1));
    assert!(
        !dir.path().join("out").exists(),
        "nothing is written when an input is bad"
    );
}

#[test]
fn a_truncated_run_is_one_clear_error_naming_the_file() {
    let run = std::fs::read_to_string(fixture("run-rig-b.json")).unwrap();
    report_error(&run[..run.len() / 3], "the file is truncated");
}

#[test]
fn a_plan_from_a_newer_schema_is_refused() {
    let plan = std::fs::read_to_string(fixture("compare-llama-3.1-70b-int4.json")).unwrap();
    report_error(
        &plan.replacen("\"schema_version\": 2", "\"schema_version\": 7", 1),
        "schema_version 7, newer than this llmrig reads (2)",
    );
}

#[test]
fn an_unknown_kind_is_refused() {
    report_error(
        r#"{"kind": "benchmark", "schema_version": 1}"#,
        "'benchmark' document",
    );
}

#[test]
fn report_needs_inputs_and_an_output_directory() {
    llmrig().args(["report", "--out", "x"]).assert().code(2);
    llmrig()
        .arg("report")
        .arg(fixture("run-rig-a.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--out"));
}

#[test]
fn plan_and_compare_draw_their_chart_to_png_or_svg() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["overview.png", "overview.svg"] {
        let path = dir.path().join(name);
        llmrig()
            .args([
                "compare",
                "--model",
                "llama-3.1-70b",
                "--precision",
                "int4",
                "--option",
                "1xh100-sxm5-80gb",
                "--option",
                "4xrtx-4090",
                "--chart",
            ])
            .arg(&path)
            .assert()
            .success();
        let bytes = std::fs::read(&path).unwrap();
        if name.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        } else {
            assert!(String::from_utf8(bytes)
                .unwrap()
                .contains("usable VRAM per GPU"));
        }
    }
    llmrig()
        .args(["plan", "--model", "llama-3.1-8b", "--chart"])
        .arg(dir.path().join("overview.jpg"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must end in .svg or .png"));
}
