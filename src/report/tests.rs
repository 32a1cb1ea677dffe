//! Report tests over the fixtures in `tests/fixtures/report/` (see its README): a comparison
//! saved by `llmrig compare --out`, and two hand-made probe runs that follow the probe's schema
//! (marked as fixtures inside; they are not measurements).
use super::chart::{Chart, Panel};
use super::input::{self, Doc, Input, PlanDoc};
use super::table::fmt_num;
use super::*;
use crate::probe::schema::ProbeRun;
use std::path::Path;

const COMPARE: &str = include_str!("../../tests/fixtures/report/compare-llama-3.1-70b-int4.json");
const RUN_A: &str = include_str!("../../tests/fixtures/report/run-rig-a.json");
const RUN_B: &str = include_str!("../../tests/fixtures/report/run-rig-b.json");
const GIB: f64 = (1u64 << 30) as f64;

fn catalog() -> Catalog {
    Catalog::embedded().expect("embedded catalog")
}

fn inputs() -> Vec<Input> {
    [
        ("compare.json", COMPARE),
        ("rig-a.json", RUN_A),
        ("rig-b.json", RUN_B),
    ]
    .iter()
    .map(|(p, t)| input::parse(Path::new(p), t).unwrap())
    .collect()
}

fn plan() -> PlanDoc {
    match input::parse(Path::new("compare.json"), COMPARE)
        .unwrap()
        .doc
    {
        Doc::Plan(p) => *p,
        Doc::Run(_) => panic!("not a plan"),
    }
}

fn run(text: &str) -> ProbeRun {
    match input::parse(Path::new("run.json"), text).unwrap().doc {
        Doc::Run(r) => *r,
        Doc::Plan(_) => panic!("not a run"),
    }
}

fn find<'a>(charts: &'a [Chart], suffix: &str) -> &'a Chart {
    charts
        .iter()
        .find(|c| c.id.ends_with(suffix))
        .unwrap_or_else(|| {
            panic!(
                "no chart '{suffix}' in {:?}",
                charts.iter().map(|c| &c.id).collect::<Vec<_>>()
            )
        })
}

/// Text drawn in the SVG (element content), unescaped enough for our labels.
fn texts(svg: &str) -> Vec<String> {
    let unescape = |s: &str| {
        s.trim()
            .replace("&apos;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    svg.split("<text")
        .skip(1)
        .filter_map(|t| Some(unescape(t.split_once('>')?.1.split_once("</text>")?.0)))
        .collect()
}

fn assert_drawn(svg: &str, wanted: &[&str]) {
    let t = texts(svg);
    for w in wanted {
        assert!(
            t.iter().any(|s| s == w),
            "'{w}' is not a text of the chart; texts: {t:?}"
        );
    }
}

/// Widths of the filled rectangles of one colour (the bars of one series), top to bottom.
fn bar_widths(svg: &str, fill: &str) -> Vec<f64> {
    let attr = |r: &str, name: &str| {
        r.split(&format!(" {name}=\""))
            .nth(1)?
            .split('"')
            .next()?
            .parse::<f64>()
            .ok()
    };
    let mut bars: Vec<(f64, f64)> = svg
        .split("<rect")
        .skip(1)
        .filter(|r| r.contains(&format!("fill=\"{fill}\"")))
        .filter_map(|r| Some((attr(r, "y")?, attr(r, "width")?, attr(r, "height")?)))
        .filter(|r| r.2 > 12.0) // legend swatches are 12 px high
        .map(|r| (r.0, r.1))
        .collect();
    bars.sort_by(|a, b| a.0.total_cmp(&b.0));
    bars.into_iter().map(|b| b.1).collect()
}

const FIRST_SERIES: &str = "#4E79A7";
const SECOND_SERIES: &str = "#F28E2B";

#[test]
fn plan_charts_show_every_option_with_units_and_values() {
    let p = plan();
    let charts = plan_charts::charts(&p, "plan-x");
    let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "plan-x-memory",
            "plan-x-price",
            "plan-x-tokens",
            "plan-x-usd-per-token",
            "plan-x-power"
        ]
    );

    let memory = find(&charts, "memory").to_svg().unwrap();
    let o = &p.options[0];
    let m = o.memory_per_gpu.unwrap();
    assert_drawn(
        &memory,
        &[
            "weights",
            "KV cache",
            "activations",
            "runtime overhead",
            "usable VRAM per GPU",
            "memory per GPU (GiB)",
            "1×h100-sxm5-80gb",
            "4×rtx-4090",
            "2×v100-sxm2-32gb *",
            &fmt_num(m.total_bytes / GIB),
        ],
    );

    let price = find(&charts, "price").to_svg().unwrap();
    assert_drawn(
        &price,
        &[
            "purchase price, all nodes (USD)",
            "$317,000",
            "$8,852",
            "fully priced",
            "lower bound: some parts unpriced",
            "4×rtx-4090 (lower bound)",
            "2×v100-sxm2-32gb *",
        ],
    );
    // Complete prices in the first colour, the lower bound in the second; lengths follow the
    // prices on one linear axis (they span less than 100×).
    let complete = bar_widths(&price, FIRST_SERIES);
    let bound = bar_widths(&price, SECOND_SERIES);
    assert_eq!(
        (complete.len(), bound.len()),
        (3, 1),
        "{complete:?} {bound:?}"
    );
    for (w, usd) in complete
        .iter()
        .chain(&bound)
        .zip([317_000.0, 317_000.0, 159_430.0, 8_851.97])
    {
        let expected = complete[0] * usd / 317_000.0;
        assert!(
            (w - expected).abs() <= 1.0,
            "bar {w} px for ${usd}, expected {expected}"
        );
    }

    let tokens = find(&charts, "tokens").to_svg().unwrap();
    let decode: Vec<String> = p
        .options
        .iter()
        .filter_map(|o| o.speed.as_ref().map(|s| fmt_num(s.decode_tokens_per_s)))
        .collect();
    assert_drawn(
        &tokens,
        &["decode throughput (tokens/s)", "decode, 1 sequence"],
    );
    assert_drawn(
        &tokens,
        &decode.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_drawn(
        &find(&charts, "usd-per-token").to_svg().unwrap(),
        &["USD per token/s", "$5,557", "$5,202"],
    );
    assert_drawn(
        &find(&charts, "power").to_svg().unwrap(),
        &[
            "wall power, all nodes (W)",
            "at load",
            "idle",
            &fmt_num(p.options[0].cost.as_ref().unwrap().power_load_w),
        ],
    );
}

#[test]
fn prices_spanning_more_than_100x_use_a_log_axis() {
    use super::chart::{Bars, Series};
    let b = |values: Vec<Option<f64>>| Bars {
        title: None,
        axis: "purchase price, all nodes (USD)".into(),
        categories: vec!["a".into(), "b".into(), "c".into()],
        series: vec![Series {
            name: "price".into(),
            values,
        }],
        stacked: false,
        reference: None,
        money: true,
    };
    assert!(!b(vec![Some(150.0), Some(15_000.0), None]).log_scale());
    let wide = b(vec![Some(150.0), Some(15_000.0), Some(300_000.0)]);
    assert!(wide.log_scale());
    let chart = Chart {
        id: "log".into(),
        title: "t".into(),
        panels: vec![Panel::Bars(wide)],
    };
    let svg = chart.to_svg().unwrap();
    assert_drawn(
        &svg,
        &[
            "purchase price, all nodes (USD) (log scale)",
            "$100",
            "$1,000",
            "$100,000",
            "$150",
            "$300,000",
        ],
    );
    // Bars start at $100: lengths follow log10(value / 100).
    let w = bar_widths(&svg, FIRST_SERIES);
    let len = |v: f64| (v / 100.0_f64).log10();
    for (i, v) in [150.0, 15_000.0, 300_000.0].iter().enumerate() {
        let expected = w[2] * len(*v) / len(300_000.0);
        assert!((w[i] - expected).abs() <= 1.0, "{w:?}");
    }
}

#[test]
fn run_charts_put_every_run_on_the_same_axes() {
    let (a, b) = (run(RUN_A), run(RUN_B));
    let runs = [("rig-a", &a), ("rig-b", &b)];
    let charts = run_charts::charts(&runs, "runs");
    let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "runs-gemm",
            "runs-attention",
            "runs-memory-bandwidth",
            "runs-pcie",
            "runs-telemetry",
            "runs-cpu"
        ]
    );

    let gemm = find(&charts, "gemm").to_svg().unwrap();
    assert_drawn(
        &gemm,
        &[
            "rig-a gpu0 H100 80GB HBM3 bf16",
            "rig-a gpu0 H100 80GB HBM3 fp16",
            "rig-b gpu0 H100 80GB HBM3 bf16",
            "catalog peak bf16 (h100-sxm5-80gb)",
            "matrix size N (M·N·K = N³)",
            "TFLOP/s",
            "1,024",
            "8,192",
            "989",
        ],
    );
    let Panel::Lines(l) = &find(&charts, "gemm").panels[0] else {
        panic!("lines")
    };
    let best = &l
        .series
        .iter()
        .find(|s| s.name == "rig-b gpu0 H100 80GB HBM3 bf16")
        .unwrap()
        .points;
    assert_eq!(best.last(), Some(&(8192.0, 451.0)));

    assert_drawn(
        &find(&charts, "attention").to_svg().unwrap(),
        &[
            "sequence length (tokens)",
            "rig-a gpu0 H100 80GB HBM3 bf16 causal",
            "8,192",
        ],
    );
    assert_drawn(
        &find(&charts, "memory-bandwidth").to_svg().unwrap(),
        &[
            "bandwidth (GB/s)",
            "theory (catalog)",
            "copy",
            "triad",
            "decode: bf16 GEMV 16 GiB",
            "2,905",
            "2,610",
        ],
    );
    assert_drawn(
        &find(&charts, "pcie").to_svg().unwrap(),
        &[
            "h2d pinned 256 MiB",
            "d2h pageable 256 MiB",
            "theory (PCIe link, one direction)",
            "53.1",
            "10.2",
        ],
    );
    let telemetry = find(&charts, "telemetry").to_svg().unwrap();
    assert_drawn(
        &telemetry,
        &[
            "Board power",
            "Temperature",
            "SM clock",
            "power (W)",
            "temperature (°C)",
            "SM clock (MHz)",
            "time since the run started (s)",
            "throttled: rig-b gpu0 H100 80GB HBM3 (sw_power_cap)",
            "power limit rig-a gpu0 H100 80GB HBM3",
        ],
    );
    assert_drawn(
        &find(&charts, "cpu").to_svg().unwrap(),
        &[
            "f32 matrix multiply",
            "STREAM copy and triad (f64)",
            "throughput (GFLOP/s)",
            "812",
            "95.2",
        ],
    );
}

#[test]
fn bar_tables_hold_the_numbers_the_bars_are_labelled_with() {
    let report = build(&inputs(), &catalog());
    let mut checked = 0;
    for b in &report.blocks {
        let Block::Figure(f) = b else { continue };
        let svg = f.chart.to_svg().unwrap();
        let drawn = texts(&svg);
        for (panel, section) in f.chart.panels.iter().zip(&f.chart.sections()) {
            let Panel::Bars(bars) = panel else { continue };
            if bars.stacked {
                continue;
            }
            for row in &section.rows {
                // Grouped bars with a reference list one bar per row (value in column 2); others
                // one category per row with a column per series.
                let cells: Vec<&String> = if bars.reference.is_some() {
                    vec![&row[2]]
                } else {
                    row[1..].iter().collect()
                };
                for c in cells.into_iter().filter(|c| c.as_str() != "-") {
                    assert!(
                        drawn.contains(c),
                        "{}: table value '{c}' is not drawn",
                        f.chart.id
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} values checked");
}

#[test]
fn verdicts_compare_measurements_with_what_the_plan_assumes() {
    let (p, a, b) = (plan(), run(RUN_A), run(RUN_B));
    let runs = [("rig-a", &a), ("rig-b", &b)];
    let cat = catalog();
    let checks = verdict::checks(&p, &runs, &cat);
    assert_eq!(checks.len(), 2);
    // The fixture is a plan saved before engines: its request carries the efficiencies.
    let mfu = p.request().unwrap().efficiencies.prefill_mfu.unwrap();
    let rig_b = &checks[1];
    assert_eq!(rig_b.compute.measured, Some(451.0));
    assert_eq!(rig_b.compute.assumed, Some(989.0 * mfu));
    assert_eq!(
        rig_b.compute.verdict(),
        format!(
            "below by {} %",
            fmt_num((1.0 - 451.0 / (989.0 * mfu)) * 100.0)
        )
    );
    assert_eq!(checks[0].bandwidth.source, "decode GEMV");
    assert_eq!(checks[0].bandwidth.verdict(), "meets");
    let table = verdict::verdict_section(&checks);
    assert!(
        table
            .rows
            .iter()
            .any(|r| r.last().unwrap().starts_with("below by")),
        "{table:?}"
    );

    // Recomputed with measured figures: against the same model on catalog figures, decode
    // scales with measured ÷ assumed bandwidth (it is bandwidth-bound at batch 1), prefill with
    // measured ÷ assumed TFLOP/s; tensor-parallel all-reduces (2×H100) do not scale, so that
    // option moves a little less.
    let recomputed = verdict::recompute(&p, &runs, &checks, &cat);
    assert_eq!(recomputed.len(), 4, "two runs × two H100 options");
    for r in &recomputed {
        let est = r.result.as_ref().unwrap();
        let option = p.options.iter().find(|o| o.label() == r.option).unwrap();
        let base = verdict::estimate(&p, option, &cat, None, None)
            .unwrap()
            .speed;
        let tol = if option.gpus > 1 { 0.03 } else { 0.01 };
        let check = checks.iter().find(|c| c.run == r.run).unwrap();
        let bw_ratio = check.bandwidth.measured.unwrap() / check.bandwidth.assumed.unwrap();
        let got = est.speed.decode_tokens_per_s / base.decode_tokens_per_s;
        assert!(
            (got - bw_ratio).abs() < tol * bw_ratio,
            "{}: decode ratio {got} vs bandwidth ratio {bw_ratio}",
            r.option
        );
        let tf_ratio = check.compute.measured.unwrap() / check.compute.assumed.unwrap();
        let got = est.speed.prefill_tokens_per_s / base.prefill_tokens_per_s;
        assert!(
            (got - tf_ratio).abs() < tol * tf_ratio,
            "{}: prefill ratio {got} vs TFLOP/s ratio {tf_ratio}",
            r.option
        );
    }
    let svg = verdict::chart(&p, &checks, &recomputed, "vs")
        .to_svg()
        .unwrap();
    assert_drawn(
        &svg,
        &[
            "catalog",
            "plan assumes",
            "measured",
            "plan (catalog figures)",
            "with measured figures",
            "memory bandwidth (GB/s)",
            "TFLOP/s",
            "2,760",
            "451",
        ],
    );
}

#[test]
fn without_the_model_in_the_catalog_the_estimate_says_why() {
    let (mut p, a) = (plan(), run(RUN_A));
    p.model.id = "not-in-the-catalog".into();
    let cat = catalog();
    let runs = [("rig-a", &a)];
    let checks = verdict::checks(&p, &runs, &cat);
    let r = verdict::recompute(&p, &runs, &checks, &cat);
    let why = r[0].result.as_ref().unwrap_err();
    assert!(
        why.contains("model 'not-in-the-catalog' is not in the catalog"),
        "{why}"
    );
}

#[test]
fn mixed_inputs_build_one_report_and_single_kinds_work_alone() {
    let all = build(&inputs(), &catalog());
    let headings: Vec<&str> = all
        .blocks
        .iter()
        .filter_map(|b| {
            if let Block::Heading(2, h) = b {
                Some(h.as_str())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        headings,
        [
            "Comparison: Llama 3.1 70B (compare)",
            "Probe runs",
            "Plan against probe: Llama 3.1 70B (compare)"
        ]
    );
    assert_eq!(all.charts().count(), 12);
    let only_runs = build(&inputs()[1..], &catalog());
    assert!(only_runs.charts().all(|c| c.id.starts_with("runs-")));
    let only_plan = build(&inputs()[..1], &catalog());
    assert!(only_plan.charts().all(|c| c.id.starts_with("plan-")));
    // A CPU-only run against the plan: no verdict, and the text says why.
    let cpu_only = RUN_A.replace(
        "\"catalog_id\": \"h100-sxm5-80gb\"",
        "\"catalog_id\": \"a10\"",
    );
    let mixed = vec![
        inputs().remove(0),
        input::parse(Path::new("other.json"), &cpu_only).unwrap(),
    ];
    let text = build(&mixed, &catalog()).to_text();
    assert!(text.contains("No verdict: the plan's fitting options use h100-sxm5-80gb, rtx-4090, v100-sxm2-32gb, and the runs measured a10"), "{text}");
}

#[test]
fn png_has_text_drawn_with_the_embedded_font() {
    let chart = &plan_charts::charts(&plan(), "p")[1];
    let png = chart.to_png().unwrap();
    let decoder = ::png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, ::png::ColorType::Rgb);
    let (w, h) = (info.width as usize, info.height as usize);
    let dark = |x0: usize, x1: usize, y0: usize, y1: usize| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| buf[(y * w + x) * 3..][..3].iter().all(|&c| c < 90))
            .count()
    };
    // The title band (top 40 px) holds only the title text: glyph pixels, not a blank strip.
    let title = dark(0, w, 0, 40);
    assert!(title > 150, "{title} dark pixels in the title band");
    assert_eq!(
        dark(0, 200, 0, 40),
        0,
        "the centred title does not reach the left edge"
    );
    let all = dark(0, w, 0, h);
    assert!(
        all > title + 500,
        "the body has axes, labels and bars: {all}"
    );
}

#[test]
fn written_report_is_self_contained_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let report = build(&inputs(), &catalog());
    let files = write_dir(&report, dir.path()).unwrap();
    assert_eq!(files.len(), 2 * 12 + 2);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    // The only URL is the SVG namespace, which is a name, not a fetch.
    let no_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for banned in [
        "http:", "https:", "<script", "<link", "src=", "href=", "@import", "url(http",
    ] {
        assert!(!no_ns.contains(banned), "report.html contains '{banned}'");
    }
    assert_eq!(html.matches("<svg ").count(), 12);
    assert!(html.contains("url(data:font/ttf;base64,"));
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    for chart in report.charts() {
        assert!(
            md.contains(&format!("](charts/{}.svg)", chart.id)),
            "{}",
            chart.id
        );
        assert!(dir.path().join(format!("charts/{}.png", chart.id)).exists());
        let svg =
            std::fs::read_to_string(dir.path().join(format!("charts/{}.svg", chart.id))).unwrap();
        assert!(
            html.contains(svg.trim()),
            "{} is inlined as written",
            chart.id
        );
    }
    assert!(
        md.contains("| run-rig-b gpu0 |") || md.contains("| rig-b gpu0 |"),
        "verdict table in Markdown"
    );
}

#[test]
fn plan_chart_file_reads_a_planned_comparison() {
    let cat = catalog();
    let model = cat.models.get("llama-3.1-70b").unwrap();
    let req = crate::plan::PlanRequest {
        weights: crate::plan::WeightFormat::Int4,
        ..crate::plan::PlanRequest::new(crate::plan::Workload::Infer, 4096)
    };
    let gpus = [
        (1, cat.gpus.get("h100-sxm5-80gb").unwrap()),
        (2, cat.gpus.get("v100-sxm2-32gb").unwrap()),
    ];
    let planned = crate::plan::compare(&cat, model, &req, &gpus);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overview.svg");
    chart::plan_chart_file(&planned, &path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert_drawn(
        &svg,
        &[
            "Memory per GPU against usable VRAM",
            "Purchase price",
            "1×h100-sxm5-80gb",
            "2×v100-sxm2-32gb *",
            "usable VRAM per GPU",
        ],
    );
}
