//! Catalog overlays: real entries of every kind with hostile field values (or damaged text);
//! an overlay that validates is then planned on.
use crate::common::{self, check_error, check_plan, hostile_string, mutated};
use llmrig::catalog::Catalog;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::sync::OnceLock;

/// The first embedded entry of each kind, as (kind, entry).
fn templates() -> &'static Vec<(String, toml::Table)> {
    static T: OnceLock<Vec<(String, toml::Table)>> = OnceLock::new();
    T.get_or_init(crate::catalog_sources::first_entry_of_each_kind)
}

fn hostile_value() -> impl Strategy<Value = toml::Value> {
    use toml::Value::{Array, Boolean, Float, Integer, String};
    prop_oneof![
        Just(Integer(0)),
        Just(Integer(-1)),
        Just(Integer(i64::MAX)),
        Just(Integer(4_294_967_295)),
        Just(Integer(1 << 40)),
        (0i64..100_000).prop_map(Integer),
        Just(Float(f64::NAN)),
        Just(Float(f64::INFINITY)),
        Just(Float(f64::NEG_INFINITY)),
        Just(Float(5e-324)),
        Just(Float(-1e6)),
        Just(Float(1e308)),
        any::<f64>().prop_map(Float),
        hostile_string().prop_map(String),
        any::<bool>().prop_map(Boolean),
        Just(Array(vec![])),
    ]
}

/// An overlay file: one template entry with some fields replaced (or added), as TOML text,
/// with the kind and id it defines.
fn overlay() -> impl Strategy<Value = (String, String, Vec<u8>)> {
    let n = templates().len();
    (
        0..n,
        proptest::collection::vec((any::<proptest::sample::Index>(), hostile_value()), 1..4),
        any::<bool>(),
    )
        .prop_map(|(i, edits, new_id)| {
            let (kind, template) = &templates()[i];
            let mut entry = template.clone();
            let keys: Vec<String> = entry.keys().cloned().collect();
            for (at, value) in edits {
                let key = &keys[at.index(keys.len())];
                if key != "id" {
                    entry.insert(key.clone(), value);
                }
            }
            if new_id {
                entry.insert("id".into(), toml::Value::String("fuzz-entry".into()));
            }
            let id = entry["id"].as_str().unwrap_or("?").to_owned();
            let mut doc = toml::Table::new();
            doc.insert(
                kind.clone(),
                toml::Value::Array(vec![toml::Value::Table(entry)]),
            );
            (
                kind.clone(),
                id,
                toml::to_string(&doc).unwrap_or_default().into_bytes(),
            )
        })
}

fn case() -> impl Strategy<Value = (String, String, Vec<u8>)> {
    let seeds: Vec<Vec<u8>> = common::corpus("catalog")
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let damaged = proptest::sample::select(seeds)
        .prop_flat_map(mutated)
        .prop_map(|b| (String::new(), String::new(), b));
    prop_oneof![4 => overlay(), 1 => damaged]
}

fn check((kind, id, text): (String, String, Vec<u8>)) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("overlay.toml"), &text).unwrap();
    let cat = match Catalog::load(Some(dir.path())) {
        Ok(cat) => cat,
        Err(e) => return check_error(&e.to_string(), "overlay.toml"),
    };
    let model = match kind.as_str() {
        "model" => cat.models.get(&id).cloned(),
        _ => None,
    }
    .unwrap_or_else(|| cat.models.get("llama-3.1-8b").expect("embedded").clone());
    let req = llmrig::plan::PlanRequest::new(
        llmrig::plan::Workload::Infer,
        model.max_position_embeddings.min(4096),
    );
    if llmrig::plan::check(&model, &req).is_err() {
        return Ok(());
    }
    let mut gpus: Vec<_> = ["rtx-4090", "a100-pcie-80gb", "h100-sxm5-80gb"]
        .iter()
        .filter_map(|g| cat.gpus.get(g))
        .collect();
    if kind == "gpu" {
        gpus.extend(cat.gpus.get(&id));
    }
    check_plan(&llmrig::plan::plan(&cat, &model, &req, &gpus))
}

#[test]
fn catalog_overlays() {
    common::replay("catalog", |name, bytes| {
        check((String::new(), String::new(), bytes))
            .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))
    });
    common::campaign(
        "catalog",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/regressions/catalog.txt"
        ),
        8,
        case(),
        check,
    );
}
