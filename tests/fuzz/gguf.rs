//! GGUF files with hostile metadata and tensor infos.
use crate::common::{self, check_error, edge_u64, hostile_string, mutated};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// One metadata value: (GGUF type id, encoded bytes). Arrays may claim any length.
fn value() -> impl Strategy<Value = (u32, Vec<u8>)> {
    let scalar = prop_oneof![
        any::<u8>().prop_map(|v| (0u32, vec![v])),
        any::<u32>().prop_map(|v| (4u32, v.to_le_bytes().to_vec())),
        edge_u64().prop_map(|v| (10u32, v.to_le_bytes().to_vec())),
        any::<f32>().prop_map(|v| (6u32, v.to_le_bytes().to_vec())),
        any::<f64>().prop_map(|v| (12u32, v.to_le_bytes().to_vec())),
        (0u8..3).prop_map(|v| (7u32, vec![v])),
        hostile_string().prop_map(|s| (8u32, string(&s))),
        (13u32..40).prop_map(|t| (t, vec![0; 8])),
    ];
    let array = (
        0u32..14,
        edge_u64(),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(elem, len, body)| {
            let mut b = elem.to_le_bytes().to_vec();
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&body);
            (9u32, b)
        });
    prop_oneof![4 => scalar, 1 => array]
}

fn string(s: &str) -> Vec<u8> {
    let mut b = (s.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(s.as_bytes());
    b
}

const KEYS: &[&str] = &[
    "general.architecture",
    "general.name",
    "general.alignment",
    "general.file_type",
    "llama.embedding_length",
    "llama.block_count",
    "llama.attention.head_count",
    "llama.attention.head_count_kv",
    "llama.feed_forward_length",
    "llama.context_length",
    "llama.expert_count",
    "llama.attention.key_length",
    "tokenizer.ggml.tokens",
    "split.count",
];

type Tensor = (String, Vec<u64>, u32, u64);

fn tensor() -> impl Strategy<Value = Tensor> {
    (
        prop_oneof![
            Just("token_embd.weight".to_owned()),
            Just("output.weight".to_owned()),
            Just("blk.0.attn_norm.weight".to_owned()),
            hostile_string()
        ],
        proptest::collection::vec(prop_oneof![4 => 1u64..300, 1 => edge_u64()], 0..6),
        prop_oneof![Just(0u32), Just(1), Just(8), Just(12), Just(30), 0u32..50],
        prop_oneof![Just(0u64), (0u64..64).prop_map(|k| k * 32), edge_u64()],
    )
}

fn file(
    version: u32,
    kv: &[(String, (u32, Vec<u8>))],
    tensors: &[Tensor],
    claimed: (Option<u64>, Option<u64>),
    data: usize,
) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&version.to_le_bytes());
    b.extend_from_slice(&claimed.0.unwrap_or(tensors.len() as u64).to_le_bytes());
    b.extend_from_slice(&claimed.1.unwrap_or(kv.len() as u64).to_le_bytes());
    for (key, (ty, value)) in kv {
        b.extend_from_slice(&string(key));
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(value);
    }
    for (name, dims, ty, offset) in tensors {
        b.extend_from_slice(&string(name));
        b.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in dims {
            b.extend_from_slice(&d.to_le_bytes());
        }
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&offset.to_le_bytes());
    }
    b.resize(b.len().div_ceil(32) * 32 + data, 0);
    b
}

fn case() -> impl Strategy<Value = Vec<u8>> {
    let structured = (
        prop_oneof![4 => Just(3u32), 1 => Just(2u32), 1 => any::<u32>()],
        proptest::collection::vec(
            (
                prop_oneof![
                    proptest::sample::select(KEYS).prop_map(str::to_owned),
                    hostile_string()
                ],
                value(),
            ),
            0..10,
        ),
        proptest::collection::vec(tensor(), 0..6),
        (
            prop_oneof![4 => Just(None), 1 => edge_u64().prop_map(Some)],
            prop_oneof![4 => Just(None), 1 => edge_u64().prop_map(Some)],
        ),
        0usize..4096,
    )
        .prop_map(|(v, kv, t, claimed, data)| file(v, &kv, &t, claimed, data));
    let seeds: Vec<Vec<u8>> = common::corpus("gguf").into_iter().map(|(_, b)| b).collect();
    let damaged = proptest::sample::select(seeds).prop_flat_map(mutated);
    prop_oneof![structured, damaged]
}

fn check(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.gguf");
    std::fs::write(&path, &bytes).unwrap();
    match llmrig::import::import(&path) {
        Ok(imported) => {
            let w = imported.weights.expect("weights");
            prop_assert!(
                w.bytes <= bytes.len() as u64,
                "{} bytes from {}",
                w.bytes,
                bytes.len()
            );
            if let Some(m) = &imported.model {
                prop_assert!(llmrig::catalog::check_model_ranges(m).is_ok());
                let _ = m.param_counts();
            }
            for n in &imported.notes {
                prop_assert!(!n.contains('\n') && !n.contains('\u{1b}'), "{:?}", n);
            }
        }
        Err(e) => check_error(&e.to_string(), "x.gguf")?,
    }
    Ok(())
}

#[test]
fn gguf_headers() {
    common::replay("gguf", |_, bytes| check(bytes));
    common::campaign(
        "gguf",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/regressions/gguf.txt"
        ),
        32,
        case(),
        check,
    );
}
