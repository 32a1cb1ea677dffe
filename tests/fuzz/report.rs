//! Report inputs: the saved plan and probe runs of the fixtures with hostile values put in at
//! random places (extreme numbers, hostile strings, wrong types, repeated array items), or
//! damaged bytes. An input that loads is rendered to SVG, PNG, Markdown and HTML.
use crate::common::{self, check_error, hostile_string, mutated};
use llmrig::report;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::OnceLock;

fn fixtures() -> &'static Vec<Value> {
    static F: OnceLock<Vec<Value>> = OnceLock::new();
    F.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
        ["compare-llama-3.1-70b-int4.json", "run-rig-a.json"]
            .iter()
            .map(|f| serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap())
            .collect()
    })
}

/// JSON pointers of every value in `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn hostile_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(5e-324)),
        Just(json!(-5e-324)),
        Just(json!(1e308)),
        Just(json!(-1.0)),
        Just(json!(0)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        any::<f64>().prop_map(|f| json!(f)),
        hostile_string().prop_map(Value::from),
        Just(Value::Null),
        Just(json!([])),
        Just(json!({})),
    ]
}

/// An edit: replace the value at a pointer, or repeat an array's items `n` times.
#[derive(Debug, Clone)]
enum Edit {
    Set(proptest::sample::Index, Value),
    Repeat(proptest::sample::Index, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<proptest::sample::Index>(), hostile_json()).prop_map(|(i, v)| Edit::Set(i, v)),
        1 => (any::<proptest::sample::Index>(), 2usize..80).prop_map(|(i, n)| Edit::Repeat(i, n)),
    ]
}

fn apply(mut doc: Value, edits: &[Edit]) -> Value {
    for e in edits {
        let mut ptrs = Vec::new();
        pointers(&doc, String::new(), &mut ptrs);
        match e {
            Edit::Set(i, v) => {
                let p = &ptrs[i.index(ptrs.len())];
                if p.is_empty() {
                    continue;
                }
                if let Some(slot) = doc.pointer_mut(p) {
                    *slot = v.clone();
                }
            }
            Edit::Repeat(i, n) => {
                let arrays: Vec<&String> = ptrs
                    .iter()
                    .filter(|p| doc.pointer(p).is_some_and(Value::is_array))
                    .collect();
                if arrays.is_empty() {
                    continue;
                }
                let p = arrays[i.index(arrays.len())].clone();
                if let Some(Value::Array(a)) = doc.pointer_mut(&p) {
                    let items = a.clone();
                    for _ in 1..*n {
                        a.extend(items.iter().cloned());
                        if a.len() > 2_000 {
                            break;
                        }
                    }
                }
            }
        }
    }
    doc
}

fn case() -> impl Strategy<Value = Vec<u8>> {
    let edited = (0..fixtures().len(), proptest::collection::vec(edit(), 1..5))
        .prop_map(|(i, edits)| serde_json::to_vec(&apply(fixtures()[i].clone(), &edits)).unwrap());
    let seeds: Vec<Vec<u8>> = common::corpus("report")
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let damaged = proptest::sample::select(seeds).prop_flat_map(mutated);
    prop_oneof![4 => edited, 1 => damaged]
}

fn check(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let input = match report::input::parse_bytes(Path::new("x.json"), &bytes) {
        Ok(i) => i,
        Err(e) => return check_error(&e.to_string(), "x.json"),
    };
    // Plotted beside a real run and plan, as a report would.
    let mut inputs = vec![input];
    for (i, f) in fixtures().iter().enumerate() {
        let path = format!("fixture-{i}.json");
        let bytes = serde_json::to_vec(f).unwrap();
        inputs.push(report::input::parse_bytes(Path::new(&path), &bytes).unwrap());
    }
    report::input::dedupe_names(&mut inputs);
    let r = report::build(&inputs, common::catalog());
    let _ = r.to_text();
    let _ = report::markdown::render(&r);
    let mut svgs = std::collections::HashMap::new();
    let mut tallest: Option<&report::chart::Chart> = None;
    for chart in r.charts() {
        // A chart may refuse to draw (too tall) with an error, never a panic.
        if let Ok(svg) = chart.to_svg() {
            svgs.insert(chart.id.clone(), svg);
        }
        if tallest.is_none_or(|t| chart.panels.len() > t.panels.len()) {
            tallest = Some(chart);
        }
    }
    let _ = report::html::render(&r, &svgs);
    if let Some(c) = tallest {
        let _ = c.to_png();
    }
    Ok(())
}

#[test]
fn report_inputs() {
    common::replay("report", |_, bytes| check(bytes));
    common::campaign(
        "report",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/regressions/report.txt"
        ),
        4,
        case(),
        check,
    );
}
