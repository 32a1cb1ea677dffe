//! Ranking, recommendation, price completeness and parts choice on the fixture catalog in
//! `tests/fixtures/catalog/` (invented entries whose prices never change).
use crate::catalog::Catalog;
use crate::plan::{self, GpuOption, Plan, PlanRequest, SortKey, Workload};

const SYSTEMS: &str = include_str!("../../tests/fixtures/catalog/ranking/systems.toml");
const SITE: &str = include_str!("../../tests/fixtures/catalog/site.toml");
const WORKSTATION: &str = include_str!("../../tests/fixtures/catalog/workstation.toml");

/// `text` without the `[[…]]` blocks whose id is one of `ids`.
fn without(text: &str, ids: &[&str]) -> String {
    text.split("\n[[")
        .filter(|block| {
            !ids.iter()
                .any(|id| block.contains(&format!("id = \"{id}\"")))
        })
        .collect::<Vec<_>>()
        .join("\n[[")
}

/// The fixture catalog alone (no embedded entries), minus `drop`.
fn catalog(drop: &[&str]) -> Catalog {
    let mut cat = Catalog::default();
    for (name, text) in [
        ("systems.toml", SYSTEMS),
        ("site.toml", SITE),
        ("workstation.toml", WORKSTATION),
    ] {
        cat.add_file(name, &without(text, drop), false).unwrap();
    }
    cat
}

fn request() -> PlanRequest {
    PlanRequest {
        max_nodes: 1,
        prices_as_of: Some("2026-06-01".into()),
        ..PlanRequest::new(Workload::Infer, 4096)
    }
}

fn fixture_plan(ids: &[&str]) -> Plan {
    let cat = catalog(&[]);
    let gpus: Vec<_> = ids.iter().map(|id| cat.gpus.get(id).unwrap()).collect();
    plan::plan(&cat, cat.models.get("fx-8b").unwrap(), &request(), &gpus)
}

const ALL: [&str; 5] = ["fx-e", "fx-d", "fx-c", "fx-b", "fx-a"];

fn ids(p: &Plan) -> Vec<&str> {
    p.options.iter().map(|o| o.gpu_id.as_str()).collect()
}

fn at(p: &Plan, i: Option<usize>) -> Option<&str> {
    i.map(|i| p.options[i].gpu_id.as_str())
}

#[test]
fn default_order_is_complete_prices_then_lower_bounds_then_unpriced_then_misses() {
    let p = fixture_plan(&ALL);
    assert_eq!(p.sort, SortKey::Price);
    assert_eq!(ids(&p), ["fx-a", "fx-b", "fx-d", "fx-c", "fx-e"]);
    assert_eq!(at(&p, p.recommended), Some("fx-a"));
    assert_eq!(at(&p, p.runner_up), Some("fx-b"));
    assert_eq!(at(&p, p.fastest), Some("fx-b"));
    let b = |i: usize| p.options[i].build.as_ref().unwrap();
    assert_eq!(
        (b(0).total_usd, b(0).lower_bound_usd),
        (Some(80_000.0), None)
    );
    assert_eq!(b(1).total_usd, Some(120_000.0));
    assert_eq!(
        (b(2).total_usd, b(2).lower_bound_usd),
        (None, Some(5_000.0))
    );
    assert_eq!((b(3).total_usd, b(3).lower_bound_usd), (None, None));
    assert!(b(0).fully_priced && !b(2).fully_priced && !b(3).fully_priced);
    assert!(!p.options[4].fits && p.options[4].build.is_none());
}

#[test]
fn ratios_come_only_from_complete_prices() {
    let p = fixture_plan(&ALL);
    for o in p.options.iter().filter(|o| o.fits) {
        let cost = o.cost.as_ref().unwrap();
        let speed = o.speed.unwrap();
        match o.build.as_ref().unwrap().total_usd {
            Some(total) => {
                assert_eq!(cost.purchase_usd, Some(total));
                assert_eq!(
                    cost.usd_per_token_per_s,
                    Some(total / speed.decode_batch_tokens_per_s)
                );
            }
            None => {
                assert_eq!(cost.purchase_usd, None, "{}", o.gpu_id);
                assert_eq!(cost.usd_per_token_per_s, None, "{}", o.gpu_id);
                assert_eq!(cost.break_even_months, None, "{}", o.gpu_id);
            }
        }
    }
    let json = serde_json::to_string(&p).unwrap();
    assert!(!json.contains("-0.0") && !json.contains("NaN"), "{json}");
}

#[test]
fn every_sort_states_its_objective_and_keeps_the_recommendation() {
    let cases: [(SortKey, [&str; 5]); 4] = [
        (SortKey::Speed, ["fx-b", "fx-c", "fx-d", "fx-a", "fx-e"]),
        (SortKey::Power, ["fx-a", "fx-d", "fx-c", "fx-b", "fx-e"]),
        (SortKey::Gpus, ["fx-a", "fx-b", "fx-d", "fx-c", "fx-e"]),
        (
            SortKey::UsdPerToken,
            ["fx-b", "fx-a", "fx-d", "fx-c", "fx-e"],
        ),
    ];
    for (key, order) in cases {
        let p = fixture_plan(&ALL).sorted(key);
        assert_eq!(ids(&p), order, "{key:?}");
        assert_eq!(p.objective, key.objective());
        assert_eq!(at(&p, p.recommended), Some("fx-a"), "{key:?}");
        assert_eq!(at(&p, p.runner_up), Some("fx-b"), "{key:?}");
        assert_eq!(at(&p, p.fastest), Some("fx-b"), "{key:?}");
    }
}

#[test]
fn compare_keeps_the_given_order() {
    let cat = catalog(&[]);
    let g = |id: &str| cat.gpus.get(id).unwrap();
    let p = plan::compare(
        &cat,
        cat.models.get("fx-8b").unwrap(),
        &request(),
        &[(1, g("fx-c")), (1, g("fx-b")), (1, g("fx-a"))],
    );
    assert_eq!(p.sort, SortKey::Given);
    assert_eq!(ids(&p), ["fx-c", "fx-b", "fx-a"]);
    assert_eq!(
        (p.recommended, p.runner_up, p.fastest),
        (Some(2), Some(1), Some(1))
    );
}

#[test]
fn without_a_fully_priced_fit_nothing_is_recommended() {
    let p = fixture_plan(&["fx-c", "fx-d"]);
    assert_eq!(p.recommended, None);
    assert_eq!(p.runner_up, None);
    assert_eq!(at(&p, p.fastest), Some("fx-c"));
}

#[test]
fn prices_older_than_18_months_are_flagged() {
    let p = fixture_plan(&["fx-a", "fx-b"]);
    let line = |o: &GpuOption| {
        o.build
            .as_ref()
            .unwrap()
            .node
            .lines
            .iter()
            .find(|l| l.kind == "platform")
            .unwrap()
            .clone()
    };
    assert_eq!(line(&p.options[0]).price_age_months, Some(28));
    assert_eq!(
        p.options[0].build.as_ref().unwrap().stale_prices,
        ["Fixture System A"]
    );
    assert_eq!(line(&p.options[1]).price_age_months, Some(4));
    assert!(p.options[1].build.as_ref().unwrap().stale_prices.is_empty());
    // Without a date nothing is aged.
    let cat = catalog(&[]);
    let req = PlanRequest {
        prices_as_of: None,
        ..request()
    };
    let p = plan::plan(
        &cat,
        cat.models.get("fx-8b").unwrap(),
        &req,
        &[cat.gpus.get("fx-a").unwrap()],
    );
    assert_eq!(line(&p.options[0]).price_age_months, None);
}

/// Two 3-slot cards on whichever workstation board the planner picks from `cat`.
fn two_cards(cat: &Catalog) -> GpuOption {
    let p = plan::compare(
        cat,
        cat.models.get("fx-8b").unwrap(),
        &request(),
        &[(2, cat.gpus.get("fx-card").unwrap())],
    );
    p.options[0].clone()
}

fn part<'a>(o: &'a GpuOption, kind: &str) -> Option<&'a str> {
    o.build
        .as_ref()?
        .node
        .lines
        .iter()
        .find(|l| l.kind == kind)
        .map(|l| l.name.as_str())
}

#[test]
fn an_unknown_slot_spacing_is_a_warning_not_a_rejection() {
    let o = two_cards(&catalog(&[]));
    assert_eq!(part(&o, "platform"), Some("Fixture Board Unknown"));
    assert!(
        o.warnings
            .iter()
            .any(|w| w.contains("does not give the slot spacing") && w.contains("check")),
        "{:?}",
        o.warnings
    );
    assert!(!o.warnings.iter().any(|w| w.contains("do not fit")));
    let b = o.build.as_ref().unwrap();
    assert!(
        b.fully_priced && b.node.builds_as_listed,
        "{:?}",
        b.node.unpriced
    );
    // Card 2 × $1,000, board $500, CPU $400, RAM $200, SSD $150, case $150, cooler $100, PSU $350.
    assert_eq!(b.total_usd, Some(3_850.0));
    assert!(super::recommendable(&o));
}

#[test]
fn a_priced_part_wins_over_an_unpriced_one_of_the_same_class() {
    // Without the unknown-spacing board, the wide (unpriced) board beats the narrow priced one
    // that would need risers; the build is then a lower bound that names the board.
    let o = two_cards(&catalog(&["fx-board-unknown"]));
    assert_eq!(part(&o, "platform"), Some("Fixture Board Wide"));
    let b = o.build.as_ref().unwrap();
    assert_eq!(b.node.unpriced, ["Fixture Board Wide"]);
    assert_eq!((b.total_usd, b.lower_bound_usd), (None, Some(3_350.0)));
    assert!(part(&o, "riser").is_none());
    assert!(!super::recommendable(&o));
}

#[test]
fn cards_that_need_risers_carry_an_unpriced_riser_line() {
    let o = two_cards(&catalog(&["fx-board-unknown", "fx-board-wide"]));
    assert_eq!(part(&o, "platform"), Some("Fixture Board Narrow"));
    assert_eq!(
        part(&o, "riser"),
        Some("PCIe risers for 2 GPUs and an open frame")
    );
    assert!(part(&o, "case").is_none(), "risers go in an open frame");
    assert!(o
        .warnings
        .iter()
        .any(|w| w.contains("do not fit side by side")));
    let b = o.build.as_ref().unwrap();
    assert!(!b.fully_priced && !b.node.builds_as_listed);
    assert!(!super::recommendable(&o));
}
