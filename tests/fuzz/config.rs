//! Hugging Face config.json files with hostile values; an accepted model is also planned.
use crate::common::{self, check_error, check_plan, edge_u64, hostile_string, mutated};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

const TYPES: &[&str] = &[
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "gemma2",
    "phi3",
    "falcon",
    "gpt2",
    "gptj",
    "gpt_neo",
    "deepseek_v3",
    "mamba",
];

const FIELDS: &[&str] = &[
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "head_dim",
    "tie_word_embeddings",
    "num_local_experts",
    "num_experts_per_tok",
    "n_routed_experts",
    "n_shared_experts",
    "moe_intermediate_size",
    "first_k_dense_replace",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_rope_head_dim",
    "qk_nope_head_dim",
    "v_head_dim",
    "sliding_window",
    "use_sliding_window",
    "max_window_layers",
    "n_embd",
    "n_layer",
    "n_head",
    "num_heads",
    "num_kv_heads",
    "num_layers",
    "multi_query",
    "parallel_attn",
    "new_decoder_architecture",
    "bias",
    "attention_bias",
    "mlp_bias",
    "window_size",
];

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (1u64..5000).prop_map(Value::from),
        2 => edge_u64().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| json!(f)),
        1 => any::<bool>().prop_map(Value::from),
        1 => hostile_string().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!([1, [2, {"a": null}]])),
    ]
}

/// A config: a model type, a base of sane Llama-like fields, then hostile overrides.
fn config() -> impl Strategy<Value = Vec<u8>> {
    let structured = (
        prop_oneof![
            proptest::sample::select(TYPES).prop_map(Value::from),
            value()
        ],
        proptest::collection::vec((proptest::sample::select(FIELDS), value()), 0..8),
        any::<bool>(),
    )
        .prop_map(|(ty, overrides, with_base)| {
            let mut c = if with_base {
                json!({"hidden_size": 512, "num_hidden_layers": 4, "num_attention_heads": 8,
                       "num_key_value_heads": 8, "intermediate_size": 1024, "vocab_size": 1000,
                       "max_position_embeddings": 2048})
            } else {
                json!({})
            };
            c["model_type"] = ty;
            for (k, v) in overrides {
                c[k] = v;
            }
            serde_json::to_vec(&c).unwrap()
        });
    let seeds: Vec<Vec<u8>> = common::corpus("config")
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let damaged = proptest::sample::select(seeds).prop_flat_map(mutated);
    prop_oneof![3 => structured, 1 => damaged]
}

fn check(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, &bytes).unwrap();
    let model = match llmrig::import::import(&path) {
        Ok(imported) => imported.model.expect("a config gives a model"),
        Err(e) => return check_error(&e.to_string(), "config.json"),
    };
    prop_assert!(llmrig::catalog::check_model_ranges(&model).is_ok());
    let cat = common::catalog();
    let req = llmrig::plan::PlanRequest::new(
        llmrig::plan::Workload::Infer,
        model.max_position_embeddings.min(4096),
    );
    if llmrig::plan::check(&model, &req).is_ok() {
        let gpu = cat.gpus.get("h100-sxm5-80gb").expect("embedded GPU");
        check_plan(&llmrig::plan::plan(cat, &model, &req, &[gpu]))?;
    }
    Ok(())
}

#[test]
fn config_json() {
    common::replay("config", |_, bytes| check(bytes));
    common::campaign(
        "config",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/regressions/config.txt"
        ),
        16,
        config(),
        check,
    );
}
