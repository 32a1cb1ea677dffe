//! Rent or buy on the fixture catalog (`tests/fixtures/catalog/ranking`, invented prices that
//! never change): fx-b ($120,000, on-demand $6 and spot $2 per GPU-hour, no reserved price)
//! and fx-c (unpriced system, on-demand $4).
use crate::repo::fixture;
use crate::util::{llmrig, stdout_json, stdout_text};
use serde_json::Value;

/// `plan` of fx-8b on fx-b and fx-c at $0.20/kWh, with `extra` flags.
fn plan(extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = llmrig();
    cmd.arg("--catalog-dir")
        .arg(fixture("catalog/ranking"))
        .args([
            "plan",
            "-m",
            "fx-8b",
            "--max-nodes",
            "1",
            "--as-of",
            "2026-06-01",
        ])
        .args(["--gpu", "fx-b", "--gpu", "fx-c", "--usd-per-kwh", "0.2"])
        .args(extra);
    cmd
}

fn option<'a>(v: &'a Value, gpu: &str) -> &'a Value {
    v["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["gpu_id"] == gpu)
        .unwrap_or_else(|| panic!("{gpu} in the plan"))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number, got {v}"))
}

fn close(got: f64, want: f64) {
    assert!(
        (got - want).abs() < 1e-6 * want.max(1.0),
        "got {got}, want {want}"
    );
}

#[test]
fn rent_or_buy_figures_follow_hours_per_day() {
    let at = |h: &str| stdout_json(plan(&["--hours-per-day", h, "--json"]).env_remove("COLUMNS"));
    let (day, shift) = (at("24"), at("8"));
    let (a24, a8) = (option(&day, "fx-b"), option(&shift, "fx-b"));
    let (r24, r8) = (&a24["cost"]["rent_or_buy"], &a8["cost"]["rent_or_buy"]);
    assert_eq!(
        (num(&r24["hours_per_day"]), num(&r8["hours_per_day"])),
        (24.0, 8.0)
    );
    assert_eq!(num(&r8["horizon_months"]), 36.0);
    assert_eq!(num(&a8["gpus"]), 1.0);
    // Rent is the GPU-hour price for the hours used: $6 × 730 h × 36 months × 8/24.
    let (od24, od8) = (&r24["rent"][0], &r8["rent"][0]);
    assert_eq!(
        (&od8["offer"], &od8["cloud_id"]),
        (&"on-demand".into(), &"fx-cloud-on-demand-fx-b".into())
    );
    close(num(&od24["total_usd"]), 6.0 * 730.0 * 36.0);
    close(num(&od8["total_usd"]), 6.0 * 730.0 * 36.0 / 3.0);
    close(num(&r8["rent"][1]["total_usd"]), 2.0 * 730.0 * 36.0 / 3.0);
    // Buying: $120,000 − 40 % resale + electricity at load 8 h and idle 16 h a day.
    let cost = &a8["cost"];
    let (load, idle) = (num(&cost["power_load_w"]), num(&cost["power_idle_w"]));
    let kwh = (load / 3.0 + idle * 2.0 / 3.0) / 1000.0 * 730.0 * 36.0;
    close(num(&r8["buy"]["electricity_usd"]), kwh * 0.2);
    close(num(&r8["buy"]["resale_usd"]), 48_000.0);
    close(
        num(&r8["buy"]["total_usd"]),
        120_000.0 - 48_000.0 + kwh * 0.2,
    );
    // Around the clock buying beats on-demand; on an 8-hour day renting does, and the payback
    // stretches. The break-even hours a day are the same question either way.
    assert_eq!(
        (&od24["buy_wins"], &od8["buy_wins"]),
        (&true.into(), &false.into())
    );
    assert!(num(&od8["break_even_months"]) > 2.5 * num(&od24["break_even_months"]));
    let h = num(&od24["break_even_hours_per_day"]);
    assert!(h > 8.0 && h < 24.0, "{h}");
    close(num(&od8["break_even_hours_per_day"]), h);
    // No reserved price: that tier is null, never invented.
    let reserved = &r8["rent"][2];
    assert_eq!(reserved["offer"], "reserved");
    assert!(reserved["usd_per_gpu_hour"].is_null() && reserved["total_usd"].is_null());
}

#[test]
fn a_partly_priced_build_rents_but_has_no_buy_total_or_break_even() {
    let v = stdout_json(&mut plan(&["--json"]));
    let r = &option(&v, "fx-c")["cost"]["rent_or_buy"];
    close(num(&r["rent"][0]["total_usd"]), 4.0 * 730.0 * 36.0);
    for null in [
        &r["buy"]["purchase_usd"],
        &r["buy"]["total_usd"],
        &r["buy"]["resale_usd"],
        &r["rent"][0]["buy_wins"],
        &r["rent"][0]["break_even_hours_per_day"],
        &r["rent"][0]["break_even_months"],
    ] {
        assert!(null.is_null(), "{r}");
    }
}

#[test]
fn months_and_resale_percent_move_the_buy_total_and_the_table_shows_it() {
    let v = stdout_json(&mut plan(&[
        "--months",
        "12",
        "--resale-percent",
        "75",
        "--json",
    ]));
    let r = &option(&v, "fx-b")["cost"]["rent_or_buy"];
    assert_eq!(
        (num(&r["horizon_months"]), num(&r["resale_percent"])),
        (12.0, 75.0)
    );
    assert_eq!(r["resale_basis"], "--resale-percent");
    close(num(&r["buy"]["resale_usd"]), 90_000.0);
    close(num(&r["rent"][0]["total_usd"]), 6.0 * 730.0 * 12.0);
    let text = stdout_text(plan(&["--hours-per-day", "8"]).env("COLUMNS", "80"));
    assert!(
        text.contains("Rent or buy, total USD over 36 months at 8 h/day (resale 40 %)"),
        "{text}"
    );
    // The answer says it first, against the cheapest tier.
    let answer = "rent     buy $83,903 vs rent from $17,520 (spot) over 36 months at 8 h/day";
    assert!(text.contains(answer), "{text}");
    let (_, rent) = text
        .split_once("Rent or buy, total")
        .expect("the rent-or-buy table");
    let row = rent
        .lines()
        .find(|l| l.contains("1×fx-b"))
        .expect("fx-b row");
    assert!(row.contains("$52,560") && row.contains("$17,520"), "{row}");
    // No option has a reserved price: the column is left out, and the note says so.
    assert!(!rent.contains("resv.") && rent.contains("No figure for any option shown: reserved."));
    assert!(
        text.contains("rent reserved") && text.contains("- (no catalog price)"),
        "{text}"
    );
}

#[test]
fn hours_per_day_and_horizon_are_checked() {
    for (args, says) in [
        (&["--hours-per-day", "25"][..], "hours a day from 0 to 24"),
        (
            &["--hours-per-day", "8", "--utilization", "0.5"][..],
            "cannot be used with",
        ),
        (&["--months", "0"][..], "months"),
        (&["--resale-percent", "120"][..], "resale-percent"),
    ] {
        let out = plan(args).assert().failure().get_output().stderr.clone();
        let err = String::from_utf8_lossy(&out);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
