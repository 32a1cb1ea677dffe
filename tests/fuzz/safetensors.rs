//! Safetensors files and sharded directories with hostile headers and indexes.
use crate::common::{self, check_error, edge_u64, hostile_string, mutated};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const DTYPES: &[&str] = &[
    "F16", "BF16", "F32", "F64", "U8", "I32", "F4", "F8_E4M3", "BOOL", "X9", "",
];

/// One header entry: name, dtype, shape, offsets (or `None`: placed after the previous one).
type Entry = (String, String, Vec<u64>, Option<(u64, u64)>);

fn entry() -> impl Strategy<Value = Entry> {
    (
        hostile_string(),
        prop_oneof![
            proptest::sample::select(DTYPES).prop_map(str::to_owned),
            hostile_string()
        ],
        proptest::collection::vec(prop_oneof![4 => 0u64..9, 1 => edge_u64()], 0..12),
        prop_oneof![Just(None), (edge_u64(), edge_u64()).prop_map(Some)],
    )
}

/// A file: 8-byte length (true or claimed), header JSON, then data.
fn file(entries: &[Entry], claimed_len: Option<u64>, extra_data: u64, metadata: bool) -> Vec<u8> {
    let mut header = String::from("{");
    let mut offset = 0u64;
    if metadata {
        header.push_str(r#""__metadata__":{"format":"pt","x":[1,2,{"y":null}]},"#);
    }
    for (i, (name, dtype, shape, offsets)) in entries.iter().enumerate() {
        let bytes = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .unwrap_or(0)
            .saturating_mul(2)
            .min(1 << 16);
        let (b, e) = offsets.unwrap_or((offset, offset + bytes));
        offset = offset.max(e.min(1 << 20));
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            r#"{}:{{"dtype":{},"shape":{},"data_offsets":[{b},{e}]}}"#,
            serde_json::to_string(name).unwrap(),
            serde_json::to_string(dtype).unwrap(),
            serde_json::to_string(shape).unwrap(),
        ));
    }
    header.push('}');
    let mut out = claimed_len
        .unwrap_or(header.len() as u64)
        .to_le_bytes()
        .to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + (offset + extra_data).min(1 << 20) as usize, 0);
    out
}

#[derive(Debug)]
enum Case {
    File(Vec<u8>),
    /// An index (as JSON text) and one shard named `s.safetensors`.
    Sharded(String, Vec<u8>),
}

fn index(names: &[String], shard_names: &[String]) -> String {
    let map: Vec<String> = names
        .iter()
        .zip(shard_names.iter().cycle())
        .map(|(n, s)| {
            format!(
                "{}:{}",
                serde_json::to_string(n).unwrap(),
                serde_json::to_string(s).unwrap()
            )
        })
        .collect();
    format!(
        r#"{{"metadata":{{"total_size":12}},"weight_map":{{{}}}}}"#,
        map.join(",")
    )
}

fn case() -> impl Strategy<Value = Case> {
    let structured = (
        proptest::collection::vec(entry(), 0..6),
        prop_oneof![4 => Just(None), 1 => edge_u64().prop_map(Some)],
        0u64..64,
        any::<bool>(),
    )
        .prop_map(|(e, claimed, extra, meta)| file(&e, claimed, extra, meta));
    let seeds: Vec<Vec<u8>> = common::corpus("safetensors")
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let damaged = proptest::sample::select(seeds).prop_flat_map(mutated);
    let sharded = (
        proptest::collection::vec(entry(), 1..4),
        proptest::collection::vec(
            prop_oneof![Just("s.safetensors".to_owned()), hostile_string()],
            1..3,
        ),
    )
        .prop_map(|(entries, shards)| {
            let names: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
            Case::Sharded(index(&names, &shards), file(&entries, None, 0, false))
        });
    prop_oneof![
        3 => structured.prop_map(Case::File),
        3 => damaged.prop_map(Case::File),
        2 => sharded,
    ]
}

fn check(case: Case) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let dir_name = dir.path().display().to_string();
    let (path, file, len) = match &case {
        Case::File(bytes) => {
            let p = dir.path().join("x.safetensors");
            std::fs::write(&p, bytes).unwrap();
            (p, "x.safetensors", bytes.len() as u64)
        }
        Case::Sharded(idx, shard) => {
            std::fs::write(dir.path().join("model.safetensors.index.json"), idx).unwrap();
            std::fs::write(dir.path().join("s.safetensors"), shard).unwrap();
            (
                dir.path().to_path_buf(),
                dir_name.as_str(),
                shard.len() as u64,
            )
        }
    };
    match llmrig::import::import(&path) {
        Ok(imported) => {
            let w = imported.weights.expect("weights");
            // Tensors may not overlap, so their bytes fit in the data section.
            prop_assert!(w.bytes <= len, "{} bytes from a {}-byte file", w.bytes, len);
            prop_assert!(w.tensors > 0);
            prop_assert!(w.bits_per_weight.is_finite());
        }
        Err(e) => check_error(&e.to_string(), file)?,
    }
    Ok(())
}

#[test]
fn safetensors_headers() {
    common::replay("safetensors", |_, bytes| check(Case::File(bytes)));
    common::campaign(
        "safetensors",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/regressions/safetensors.txt"
        ),
        32,
        case(),
        check,
    );
}
