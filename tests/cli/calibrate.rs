use crate::util::{llmrig, stdout_json};
use predicates::prelude::*;

#[test]
fn calibrate_prints_every_anchor_with_error_and_tolerance() {
    llmrig()
        .arg("calibrate")
        .assert()
        .success()
        .stdout(predicate::str::contains("F1 state"))
        .stdout(predicate::str::contains("M3 z2 opt CPU"))
        .stdout(predicate::str::contains("127.45 GiB"))
        .stdout(predicate::str::contains("R11 7B f16"))
        .stdout(predicate::str::contains("R7 pp"))
        .stdout(predicate::str::contains("0 failing"));
}

#[test]
fn calibrate_json_has_units_and_counts() {
    let v = stdout_json(llmrig().args(["calibrate", "--json"]));
    assert_eq!(v["kind"], "calibration");
    assert_eq!(v["failing_count"], 0);
    let anchors = v["anchors"].as_array().unwrap();
    let f7 = anchors.iter().find(|a| a["id"] == "F7").unwrap();
    assert_eq!(f7["published_value"], 163_840.0);
    assert_eq!(f7["planner_value"], 163_840.0);
    assert_eq!(f7["unit"], "B");
    assert_eq!(f7["within_tolerance"], true);
    let total = anchors.len() as u64;
    let counted =
        v["within_tolerance_count"].as_u64().unwrap() + v["known_failing_count"].as_u64().unwrap();
    assert_eq!(counted, total);
}

#[test]
fn calibrate_exits_1_when_an_anchor_breaks() {
    // An overlay that halves the RTX 4090's bandwidth moves R7's decode out of tolerance.
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(crate::util::repo_root().join("hardware_db/gpus/nvidia-ada.toml"))
            .unwrap();
    let start = text.find("id = \"rtx-4090\"").unwrap();
    let entry_start = text[..start].rfind("[[gpu]]").unwrap();
    let entry_end = text[start..]
        .find("[[gpu]]")
        .map_or(text.len(), |e| start + e);
    let entry = &text[entry_start..entry_end];
    let bw = entry
        .lines()
        .find(|l| l.starts_with("memory_bandwidth_gb_per_s"))
        .unwrap();
    let slow = entry.replace(bw, "memory_bandwidth_gb_per_s = 400");
    std::fs::write(dir.path().join("slow.toml"), slow).unwrap();
    llmrig()
        .args(["--catalog-dir", dir.path().to_str().unwrap(), "calibrate"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("R7 tg").and(predicate::str::contains("FAIL")));
}
