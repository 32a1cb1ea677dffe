//! Each rule on fixture parts (`tests/fixtures/catalog/`, invented entries whose figures never
//! change), the parts-list checker's totals and errors, and the source article's two builds on
//! the embedded catalog (their specs, not their prices).
use super::*;
use crate::catalog::Catalog;

const SYSTEMS: &str = include_str!("../../../tests/fixtures/catalog/ranking/systems.toml");
const SITE: &str = include_str!("../../../tests/fixtures/catalog/site.toml");
const WORKSTATION: &str = include_str!("../../../tests/fixtures/catalog/workstation.toml");
/// Parts the shared fixtures lack: a passive card, an E-ATX board, a short case, a PCIe server.
const EXTRA: &str = r#"
[[gpu]]
id = "fx-passive"
name = "Fixture Passive 32GB"
vendor = "nvidia"
architecture = "fixture"
memory_gib = 32
memory_type = "HBM2"
memory_bandwidth_gb_per_s = 900
tdp_w = 250
form_factor = "pcie"
slot_width = 2
cooling = "passive"
pcie_gen = 3
pcie_lanes = 16
power_connectors = ["8-pin-pcie"]
dense_tflops = { fp32 = 14, fp16 = 112 }
source = "https://example.com/fixture"

[[platform]]
id = "fx-board-eatx"
name = "Fixture Board E-ATX"
kind = "workstation-board"
socket = "fx-am"
form_factor = "e-atx"
x16_slots = 4
gpu_slot_spacing = 2
max_gpus = 4
cpu_pcie_lanes = 48
pcie_gen = 4
ram_channels = 2
ram_max_gib = 256
ram_kind = "fx-ddr"
source = "https://example.com/fixture"

[[platform]]
id = "fx-server"
name = "Fixture Server"
kind = "pcie-server"
socket = "fx-am"
form_factor = "2u"
x16_slots = 8
gpu_slot_spacing = 2
max_gpus = 8
cpu_pcie_lanes = 128
pcie_gen = 4
ram_channels = 8
ram_max_gib = 2048
ram_kind = "fx-ddr"
source = "https://example.com/fixture"

[[circuit]]
id = "fx-circuit-small"
name = "Fixture 500 W circuit"
region = "fixture"
volts = 100
amps = 5
continuous_w = 500
source = "https://example.com/fixture"

[[case]]
id = "fx-case-short"
name = "Fixture Short Case"
board_form_factors = ["atx"]
expansion_slots = 7
max_gpu_length_mm = 250
source = "https://example.com/fixture"
"#;

fn cat() -> &'static Catalog {
    static CAT: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CAT.get_or_init(|| {
        let mut cat = Catalog::default();
        for (name, text) in [
            ("systems.toml", SYSTEMS),
            ("site.toml", SITE),
            ("workstation.toml", WORKSTATION),
            ("extra.toml", EXTRA),
        ] {
            cat.add_file(name, text, false).unwrap();
        }
        cat
    })
}

fn embedded() -> &'static Catalog {
    static CAT: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CAT.get_or_init(|| Catalog::embedded().expect("embedded catalog validates"))
}

fn gpu(id: &str) -> &'static Gpu {
    cat().gpus.get(id).unwrap()
}

fn board(id: &str) -> &'static Platform {
    cat().platforms.get(id).unwrap()
}

fn rules(f: &[Finding]) -> Vec<(&'static str, Severity)> {
    f.iter().map(|f| (f.rule, f.severity)).collect()
}

fn list(text: &str) -> PartsList {
    toml::from_str(text).unwrap()
}

/// A complete fixture desktop: two 3-slot cards on the board of unknown spacing, all priced.
const DESKTOP: &str = r#"
board = "fx-board-unknown"
cpu = "fx-cpu"
ram = "fx-ram"
gpu = "2xfx-card"
storage = "fx-ssd"
psu = "fx-psu"
case = "fx-case"
cooler = "fx-cooler"
"#;

fn check(text: &str) -> BuildCheck {
    check_list(cat(), &list(text), "list.toml", Some("2026-06-01")).unwrap()
}

/// [`DESKTOP`] with the fields of `text` in place of its own.
fn desktop(text: &str) -> BuildCheck {
    let l = list(DESKTOP).overlaid(list(text));
    check_list(cat(), &l, "list.toml", Some("2026-06-01")).unwrap()
}

#[test]
fn slot_spacing_narrower_than_the_card_blocks_unknown_asks_wider_fits() {
    let card = gpu("fx-card");
    assert_eq!(card_width(card), 3);
    let narrow = spacing_finding(board("fx-board-narrow"), card, 2).unwrap();
    assert_eq!(
        (narrow.rule, narrow.severity),
        ("slot-spacing", Severity::Blocks)
    );
    assert!(
        narrow.message.contains("2 × 3-slot cards"),
        "{}",
        narrow.message
    );
    assert!(spacing_finding(board("fx-board-wide"), card, 4).is_none());
    assert!(spacing_finding(board("fx-board-narrow"), card, 1).is_none());
    let unknown = spacing_finding(board("fx-board-unknown"), card, 2).unwrap();
    assert_eq!(unknown.severity, Severity::Unknown);
    // A server is built for dual-slot cards: no question there.
    assert!(spacing_finding(board("fx-server"), gpu("fx-passive"), 4).is_none());
}

#[test]
fn more_cards_than_slots_block_and_lanes_below_x16_each_limit() {
    let card = gpu("fx-card");
    assert_eq!(
        rules(&slot_findings(board("fx-board-wide"), card, 5)),
        [("slots", Severity::Blocks)]
    );
    assert!(slot_findings(board("fx-board-wide"), card, 4).is_empty());
    assert!(lanes_finding(board("fx-board-wide"), 64, 4).is_none());
    let lanes = lanes_finding(board("fx-board-eatx"), 48, 4).unwrap();
    assert_eq!((lanes.rule, lanes.severity), ("lanes", Severity::Limits));
    assert!(
        lanes
            .message
            .contains("48 CPU PCIe lanes for 4 GPUs (64 for x16 each)"),
        "{}",
        lanes.message
    );
}

#[test]
fn a_passive_card_blocks_on_a_desktop_board_not_in_a_server() {
    let passive = gpu("fx-passive");
    let f = cooling_finding(board("fx-board-eatx"), passive).unwrap();
    assert_eq!((f.rule, f.severity), ("cooling", Severity::Blocks));
    assert!(!holds(board("fx-board-eatx"), passive, 2));
    assert!(cooling_finding(board("fx-server"), passive).is_none());
    assert!(holds(board("fx-server"), passive, 4));
    assert!(cooling_finding(board("fx-board-eatx"), gpu("fx-card")).is_none());
}

#[test]
fn case_checks_board_form_factor_slots_and_card_length() {
    let case = cat().cases.get("fx-case").unwrap();
    let card = gpu("fx-card");
    // 3 cards every 3 slots span 9 slots, plus one: exactly the case's 10.
    assert_eq!(case_slots_needed(board("fx-board-wide"), card, 3), 10);
    assert!(case_findings(case, board("fx-board-wide"), card, 3).is_empty());
    assert_eq!(
        rules(&case_findings(case, board("fx-board-wide"), card, 4)),
        [("case-slots", Severity::Blocks)]
    );
    let eatx = case_findings(case, board("fx-board-eatx"), gpu("fx-passive"), 2);
    assert_eq!(eatx[0].rule, "case-form-factor");
    assert!(
        eatx[0]
            .message
            .contains("takes atx boards; 'Fixture Board E-ATX' is e-atx"),
        "{}",
        eatx[0].message
    );
    // The passive fixture has no length: a question, not a pass.
    assert_eq!(eatx[1].rule, "gpu-length");
    assert_eq!(eatx[1].severity, Severity::Unknown);
    let short = cat().cases.get("fx-case-short").unwrap();
    let f = case_findings(short, board("fx-board-narrow"), card, 1);
    assert_eq!(rules(&f), [("gpu-length", Severity::Blocks)]);
    assert!(f[0]
        .message
        .contains("300 mm long; 'Fixture Short Case' takes 250 mm"));
    assert!(!case_fits(short, board("fx-board-narrow"), card, 1));
}

#[test]
fn psu_capacity_transients_and_connectors() {
    let psu = cat().psus.get("fx-psu").unwrap();
    let card = gpu("fx-card");
    assert_eq!(psu_need_w(1000.0), 1000.0 * c::PSU_HEADROOM);
    assert!(psu_findings(psu, 1, card, 2, 900.0).is_empty());
    // 1,500 W fits 1,600 W steady but not its 1,950 W of transients.
    assert_eq!(
        rules(&psu_findings(psu, 1, card, 4, 1500.0)),
        [("psu-transients", Severity::Blocks)]
    );
    assert_eq!(
        rules(&psu_findings(psu, 1, card, 4, 1700.0)),
        [("psu-capacity", Severity::Blocks)]
    );
    assert!(psu_findings(psu, 2, card, 4, 1700.0).is_empty());
    // Two 8-pin plugs a card: five cards need 10 of the unit's 8.
    assert_eq!(connectors(card), (2, 0));
    let f = connector_findings(psu, 1, card, 5);
    assert_eq!(rules(&f), [("connectors", Severity::Blocks)]);
    assert!(f[0]
        .message
        .contains("need 10 PCIe 8-pin connectors; the PSU set has 8"));
    assert!(connector_findings(psu, 2, card, 5).is_empty());
}

#[test]
fn circuits_count_whole_circuits_at_least_one() {
    assert_eq!(units(3100.0, 3000.0), 2);
    assert_eq!(units(0.0, 3000.0), 1);
    assert_eq!(units(f64::NAN, 3000.0), 1);
    let c = circuits(cat(), 3100.0);
    assert_eq!((c[0].circuit.as_str(), c[0].count), ("fx-circuit", 2));
    // Two 300 W cards, a 150 W CPU and the base draw 978 W at the wall: two 500 W circuits.
    let f = desktop("circuit = \"fx-circuit-small\"");
    assert_eq!(
        rules(&f.findings),
        [
            ("circuit", Severity::Blocks),
            ("slot-spacing", Severity::Unknown)
        ]
    );
    assert!(
        f.findings[0].message.contains("it needs 2"),
        "{}",
        f.findings[0].message
    );
    let f = desktop("circuit = \"fx-circuit\"");
    assert!(
        f.findings.iter().all(|f| f.rule != "circuit"),
        "{:?}",
        f.findings
    );
}

#[test]
fn a_complete_list_passes_priced_with_dates_and_runs_the_fixture_model() {
    let c = check(DESKTOP);
    assert!(c.passes, "{:?}", c.findings);
    // Only the unknown spacing of the board is left to check by hand.
    assert_eq!(rules(&c.findings), [("slot-spacing", Severity::Unknown)]);
    // 2 × 1,000 + 500 + 400 + 200 + 150 + 350 + 150 + 100.
    assert_eq!(c.build.total_usd, Some(3850.0));
    assert!(c.build.fully_priced);
    assert_eq!(c.build.oldest_price_date.as_deref(), Some("2026-01-15"));
    assert_eq!(c.build.node.lines[0].price_age_months, Some(4));
    // 2 × 300 W cards, a 150 W CPU and the system's base.
    assert_eq!(c.build.node.dc_load_w, 600.0 + 150.0 + c::SYSTEM_BASE_W);
    let runs = c.runs.unwrap();
    assert_eq!(runs.largest[0].model_id, "fx-8b");
    assert_eq!(runs.largest[0].format, "bf16");
}

#[test]
fn an_unpriced_line_makes_the_total_a_lower_bound_and_your_price_counts() {
    let c = desktop("board = \"fx-board-wide\"");
    assert_eq!(c.build.total_usd, None);
    assert_eq!(c.build.lower_bound_usd, Some(3350.0));
    assert_eq!(c.build.node.unpriced, ["Fixture Board Wide"]);
    let c = desktop(
        "board = { id = \"fx-board-wide\", usd = 420, date = \"2026-03\" }\nnodes = 2\nnetwork = { name = \"10 GbE card\" }",
    );
    assert_eq!(
        c.build.node.lines[1].unit_price.as_ref().unwrap().source,
        "list.toml"
    );
    // The user's own network card has no price: still a lower bound, for both nodes.
    assert_eq!(c.build.lower_bound_usd, Some(2.0 * 3770.0));
    let net = c
        .build
        .node
        .lines
        .iter()
        .find(|l| l.kind == "network")
        .unwrap();
    assert_eq!(net.note.as_deref(), Some("not in the catalog: not checked"));
}

#[test]
fn host_rules_socket_ram_and_cooler() {
    let c = desktop("ram = \"5xfx-ram\"\ncpu = \"2xfx-cpu\"\nboard = \"fx-board-wide\"");
    let r = rules(&c.findings);
    assert!(r.contains(&("ram", Severity::Blocks)), "{r:?}"); // 320 GiB on a 256 GiB board
    assert!(r.contains(&("socket", Severity::Blocks)), "{r:?}"); // two CPUs, one socket
    assert!(!c.passes);
    let c = check("board = \"fx-board-wide\"\ngpu = \"fx-card\"");
    let missing: Vec<&str> = c
        .findings
        .iter()
        .filter(|f| f.rule == "missing")
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        missing.iter().any(|m| m.starts_with("no CPU")),
        "{missing:?}"
    );
    assert!(
        missing.iter().any(|m| m.starts_with("no PSU")),
        "{missing:?}"
    );
    assert!(!c.passes);
}

#[test]
fn a_part_the_catalog_lacks_is_a_question_and_runs_nothing() {
    let c = desktop("gpu = { name = \"mystery card\", quantity = 2 }");
    let f = c
        .findings
        .iter()
        .find(|f| f.rule == "not-in-catalog")
        .unwrap();
    assert!(
        f.message.starts_with("the GPU is not in the catalog"),
        "{}",
        f.message
    );
    assert_eq!(c.runs, None);
    assert_eq!(
        c.build.node.lines[0].note.as_deref(),
        Some("not in the catalog: not checked")
    );
}

#[test]
fn a_frame_without_a_riser_per_card_blocks() {
    let c = check(
        "board = \"fx-board-narrow\"\ngpu = \"2xfx-card\"\nframe = { name = \"open frame\" }",
    );
    assert!(
        c.findings
            .iter()
            .any(|f| f.rule == "missing" && f.message.contains("riser")),
        "{:?}",
        c.findings
    );
    assert!(c
        .findings
        .iter()
        .any(|f| f.rule == "slot-spacing" && f.severity == Severity::Blocks));
}

#[test]
fn bad_lines_are_errors_naming_the_field() {
    let err = |text: &str| {
        check_list(cat(), &list(text), "l", None)
            .unwrap_err()
            .to_string()
    };
    let e = err("gpu = \"2xfx-crad\"");
    assert!(
        e.starts_with("gpu: no gpu 'fx-crad'") && e.contains("'fx-card'"),
        "{e}"
    );
    assert!(err("psu = { id = \"fx-psu\", usd = 100 }").contains("psu: a price needs its date"));
    assert!(err("case = { quantity = 1 }").contains("case: give a catalog 'id'"));
    assert!(err("gpu = { id = \"fx-card\", quantity = 0 }").contains("quantity must be between 1"));
    assert!(err("nodes = 0").starts_with("nodes:"));
    assert!(err("psu = { id = \"fx-psu\", usd = 100, date = \"soon\" }").contains("not YYYY-MM"));
}

#[test]
fn counted_ids_and_overlays() {
    let spec = Item::Id("4xv100-pcie-32gb".into()).spec();
    assert_eq!(
        (spec.id.as_deref(), spec.quantity),
        (Some("v100-pcie-32gb"), Some(4))
    );
    // An id with an x in it is not a count.
    assert_eq!(Item::Id("corsair-ax1600i".into()).spec().quantity, None);
    let file = list(DESKTOP);
    let cli = PartsList {
        psu: Some(Item::Id("2xfx-psu".into())),
        ..PartsList::default()
    };
    let both = file.clone().overlaid(cli);
    assert_eq!(both.psu, Some(Item::Id("2xfx-psu".into())));
    assert_eq!(both.case, file.case);
}

fn article(name: &str) -> BuildCheck {
    let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    check_list(embedded(), &toml::from_str(&text).unwrap(), name, None).unwrap()
}

#[test]
fn the_article_build_breaks_spacing_lanes_case_and_cooling_the_fix_passes() {
    let c = article("article-4x-v100.toml");
    let r = rules(&c.findings);
    for want in [
        ("slot-spacing", Severity::Blocks),
        ("lanes", Severity::Limits),
        ("case-form-factor", Severity::Blocks),
        ("cooling", Severity::Blocks),
        ("cooler", Severity::Blocks),
        ("psu-transients", Severity::Blocks),
    ] {
        assert!(r.contains(&want), "{want:?} not in {r:?}");
    }
    assert!(!c.passes);
    assert!(!c.build.fully_priced);
    let fixed = article("article-4x-v100-fixed.toml");
    assert!(fixed.passes, "{:?}", fixed.findings);
    assert!(fixed
        .findings
        .iter()
        .all(|f| f.severity == Severity::Unknown));
}
