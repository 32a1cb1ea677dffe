//! config.json imports of the architectures added for issue 12, compared with the catalog
//! entries written from the same configs, through the pure `model_from_config`.
use super::*;
use crate::catalog::Catalog;

fn origin(repo: &str) -> ConfigOrigin {
    ConfigOrigin {
        path: PathBuf::from(format!("{repo}/config.json")),
        hf_repo: Some(repo.to_owned()),
        name_hint: None,
        source: format!("https://huggingface.co/{repo}"),
    }
}

fn import(repo: &str, json: &str) -> (Model, Vec<String>) {
    model_from_config(json.as_bytes(), &origin(repo)).unwrap_or_else(|e| panic!("{repo}: {e}"))
}

fn error(json: &str) -> String {
    model_from_config(json.as_bytes(), &origin("org/model"))
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string())
}

/// The import counts what the catalog entry for the same model counts.
fn same_as_catalog(imported: &Model, id: &str) {
    let cat = Catalog::embedded().expect("catalog");
    let entry = cat.models.get(id).expect("catalog entry");
    let (a, b) = (imported.param_counts(), entry.param_counts());
    assert_eq!(
        (a.total - a.vision, a.active),
        (b.total - b.vision, b.active),
        "{id}"
    );
    assert_eq!(
        imported.kv_cache_elements(8192, 1),
        entry.kv_cache_elements(8192, 1),
        "{id} KV"
    );
    assert_eq!(
        imported.recurrent_state_elements(1),
        entry.recurrent_state_elements(1),
        "{id} state"
    );
}

#[test]
fn qwen3_dense_and_moe() {
    let (m, _) = import(
        "Qwen/Qwen3-8B",
        r#"{"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "head_dim": 128,
            "hidden_size": 4096, "intermediate_size": 12288, "max_position_embeddings": 40960,
            "max_window_layers": 36, "model_type": "qwen3", "num_attention_heads": 32,
            "num_hidden_layers": 36, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
            "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
            "tie_word_embeddings": false, "torch_dtype": "bfloat16", "use_sliding_window": false,
            "vocab_size": 151936}"#,
    );
    assert!(m.qk_norm && m.sliding_window.is_none());
    assert_eq!(m.params_published, 8_190_735_360);
    assert_eq!(m.hf_repo.as_deref(), Some("Qwen/Qwen3-8B"));
    assert_eq!(m.id, "qwen3-8b");

    let (m, _) = import(
        "Qwen/Qwen3-30B-A3B",
        r#"{"architectures": ["Qwen3MoeForCausalLM"], "decoder_sparse_step": 1, "head_dim": 128,
            "hidden_size": 2048, "intermediate_size": 6144, "max_position_embeddings": 40960,
            "mlp_only_layers": [], "model_type": "qwen3_moe", "moe_intermediate_size": 768,
            "norm_topk_prob": true, "num_attention_heads": 32, "num_experts": 128,
            "num_experts_per_tok": 8, "num_hidden_layers": 48, "num_key_value_heads": 4,
            "tie_word_embeddings": false, "use_sliding_window": false, "vocab_size": 151936}"#,
    );
    same_as_catalog(&m, "qwen3-30b-a3b");
    assert_eq!(m.active_params_published, Some(3_353_032_704));
}

#[test]
fn qwen3_next_hybrid() {
    let (m, notes) = import(
        "Qwen/Qwen3-Next-80B-A3B-Instruct",
        r#"{"architectures": ["Qwen3NextForCausalLM"], "decoder_sparse_step": 1,
            "full_attention_interval": 4, "head_dim": 256, "hidden_size": 2048,
            "intermediate_size": 5120, "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128,
            "linear_num_key_heads": 16, "linear_num_value_heads": 32, "linear_value_head_dim": 128,
            "max_position_embeddings": 262144, "mlp_only_layers": [], "model_type": "qwen3_next",
            "moe_intermediate_size": 512, "norm_topk_prob": true, "num_attention_heads": 16,
            "num_experts": 512, "num_experts_per_tok": 10, "num_hidden_layers": 48,
            "num_key_value_heads": 2, "partial_rotary_factor": 0.25,
            "shared_expert_intermediate_size": 512, "tie_word_embeddings": false,
            "vocab_size": 151936}"#,
    );
    same_as_catalog(&m, "qwen3-next-80b-a3b");
    assert_eq!(m.linear_layers(), 36);
    assert!(
        notes.iter().all(|n| !n.contains("could not read")),
        "{notes:?}"
    );

    // Qwen3.5 writes the layer kinds out instead of an interval.
    let (m, _) = import(
        "Qwen/Qwen3.5-like",
        r#"{"model_type": "qwen3_5_moe", "text_config": {"model_type": "qwen3_5_moe_text",
            "hidden_size": 2048, "num_hidden_layers": 8, "num_attention_heads": 16,
            "num_key_value_heads": 2, "head_dim": 256, "intermediate_size": 4096,
            "vocab_size": 1000, "num_experts": 8, "num_experts_per_tok": 2,
            "moe_intermediate_size": 64, "shared_expert_intermediate_size": 64,
            "attn_output_gate": true,
            "layer_types": ["linear_attention", "linear_attention", "linear_attention", "full_attention",
                            "linear_attention", "linear_attention", "linear_attention", "full_attention"]},
            "vision_config": {"depth": 27}}"#,
    );
    assert_eq!((m.full_attention_interval, m.linear_layers()), (Some(4), 6));
}

#[test]
fn llama4_interleaved_moe_from_text_config() {
    let (m, notes) = import(
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
        r#"{"architectures": ["Llama4ForConditionalGeneration"], "model_type": "llama4",
            "text_config": {"attention_bias": false, "attention_chunk_size": 8192, "head_dim": 128,
              "hidden_size": 5120, "interleave_moe_layer_step": 2, "intermediate_size": 8192,
              "intermediate_size_mlp": 16384, "max_position_embeddings": 1048576,
              "model_type": "llama4_text", "num_attention_heads": 40, "num_experts_per_tok": 1,
              "num_hidden_layers": 48, "num_key_value_heads": 8, "num_local_experts": 128,
              "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "use_qk_norm": false,
              "vocab_size": 202048},
            "vision_config": {"hidden_size": 1408, "num_hidden_layers": 34}}"#,
    );
    same_as_catalog(&m, "llama-4-maverick");
    assert_eq!(m.moe_layers(), 24);
    assert!(
        notes.iter().any(|n| n.contains("vision encoder")),
        "{notes:?}"
    );
}

#[test]
fn gpt_oss_sinks_windows_and_native_mxfp4() {
    let types: Vec<&str> = (0..36)
        .map(|i| {
            if i % 2 == 0 {
                "\"sliding_attention\""
            } else {
                "\"full_attention\""
            }
        })
        .collect();
    let json = format!(
        r#"{{"architectures": ["GptOssForCausalLM"], "attention_bias": true, "head_dim": 64,
            "hidden_size": 2880, "intermediate_size": 2880, "layer_types": [{}],
            "max_position_embeddings": 131072, "model_type": "gpt_oss", "num_attention_heads": 64,
            "num_experts_per_tok": 4, "num_hidden_layers": 36, "num_key_value_heads": 8,
            "num_local_experts": 128, "sliding_window": 128, "tie_word_embeddings": false,
            "vocab_size": 201088, "swiglu_limit": 7.0,
            "quantization_config": {{"modules_to_not_convert": ["model.layers.*.self_attn"],
              "quant_method": "mxfp4"}}}}"#,
        types.join(", ")
    );
    let (m, _) = import("openai/gpt-oss-120b", &json);
    same_as_catalog(&m, "gpt-oss-120b");
    assert_eq!(m.params_published, 116_829_156_672);
    assert_eq!(m.native_format, Some(Precision::Mxfp4));
    assert_eq!(m.sliding_window_pattern, Some(2));
}

#[test]
fn gemma3_windows_from_pattern_or_layer_types() {
    let text = r#""hidden_size": 5376, "intermediate_size": 21504, "num_attention_heads": 32,
        "num_hidden_layers": 62, "num_key_value_heads": 16, "head_dim": 128,
        "model_type": "gemma3_text", "sliding_window": 1024, "vocab_size": 262208"#;
    let (m, _) = import(
        "google/gemma-3-27b-it",
        &format!(
            r#"{{"model_type": "gemma3", "text_config": {{{text}, "sliding_window_pattern": 6}}}}"#
        ),
    );
    same_as_catalog(&m, "gemma-3-27b");
    let types: Vec<String> = (0..62u64)
        .map(|i| {
            if (i + 1) % 6 == 0 {
                "\"full_attention\"".into()
            } else {
                "\"sliding_attention\"".into()
            }
        })
        .collect();
    let (m, _) = import(
        "google/gemma-3-27b-it",
        &format!(
            r#"{{"model_type": "gemma3", "text_config": {{{text}, "layer_types": [{}]}}}}"#,
            types.join(", ")
        ),
    );
    assert_eq!(
        (m.sliding_window_pattern, m.sliding_layers()),
        (Some(6), 52)
    );
}

#[test]
fn deepseek_family_glm_and_fp8_blocks() {
    let kimi = r#"{"architectures": ["DeepseekV3ForCausalLM"], "model_type": "kimi_k2",
        "first_k_dense_replace": 1, "hidden_size": 7168, "intermediate_size": 18432,
        "kv_lora_rank": 512, "max_position_embeddings": 131072, "moe_intermediate_size": 2048,
        "n_routed_experts": 384, "n_shared_experts": 1, "num_attention_heads": 64,
        "num_experts_per_tok": 8, "num_hidden_layers": 61, "num_key_value_heads": 64,
        "num_nextn_predict_layers": 0, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
        "qk_rope_head_dim": 64, "topk_method": "noaux_tc", "v_head_dim": 128, "vocab_size": 163840,
        "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3",
          "quant_method": "fp8", "weight_block_size": [128, 128]}}"#;
    let (m, _) = import("moonshotai/Kimi-K2-Instruct", kimi);
    same_as_catalog(&m, "kimi-k2");
    assert_eq!(m.native_format, Some(Precision::Fp8Block));

    let (m, notes) = import(
        "zai-org/GLM-4.5",
        r#"{"architectures": ["Glm4MoeForCausalLM"], "attention_bias": true, "first_k_dense_replace": 3,
            "head_dim": 128, "hidden_size": 5120, "intermediate_size": 12288,
            "max_position_embeddings": 131072, "model_type": "glm4_moe", "moe_intermediate_size": 1536,
            "n_routed_experts": 160, "n_shared_experts": 1, "num_attention_heads": 96,
            "num_experts_per_tok": 8, "num_hidden_layers": 92, "num_key_value_heads": 8,
            "num_nextn_predict_layers": 1, "partial_rotary_factor": 0.5, "use_qk_norm": true,
            "vocab_size": 151552, "tie_word_embeddings": false}"#,
    );
    same_as_catalog(&m, "glm-4.5");
    assert!(notes.iter().any(|n| n.contains("multi-token-prediction")));
}

#[test]
fn unknown_architectures_read_shared_fields_and_say_what_they_skipped() {
    let (m, notes) = import(
        "org/new-moe",
        r#"{"model_type": "brand_new_moe", "hidden_size": 1024, "num_hidden_layers": 4,
            "num_attention_heads": 8, "num_key_value_heads": 2, "intermediate_size": 4096,
            "vocab_size": 32000, "num_experts": 16, "num_experts_per_tok": 2,
            "moe_intermediate_size": 512, "rope_theta": 10000, "bos_token_id": 1,
            "exotic_memory_slots": 64, "hidden_dropout": 0.1}"#,
    );
    assert_eq!(
        (
            m.num_local_experts,
            m.num_experts_per_tok,
            m.moe_intermediate_size
        ),
        (Some(16), Some(2), Some(512))
    );
    assert!(notes
        .iter()
        .any(|n| n.contains("'brand_new_moe' is not one llmrig maps")));
    let skipped = notes
        .iter()
        .find(|n| n.starts_with("could not read"))
        .expect("a note");
    assert_eq!(skipped, "could not read: exotic_memory_slots");
}

#[test]
fn quantization_configs_name_the_format() {
    let base = r#""model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100"#;
    let format = |q: &str| {
        let (m, notes) = import(
            "org/q",
            &format!("{{{base}, \"quantization_config\": {q}}}"),
        );
        (m.native_format, notes)
    };
    assert_eq!(
        format(r#"{"quant_method": "gptq", "bits": 4}"#).0,
        Some(Precision::Gptq)
    );
    assert_eq!(format(r#"{"quant_method": "awq"}"#).0, Some(Precision::Awq));
    assert_eq!(
        format(r#"{"quant_method": "bitsandbytes", "load_in_4bit": true, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": true}"#).0,
        Some(Precision::Nf4Dq)
    );
    assert_eq!(
        format(r#"{"quant_method": "modelopt", "quant_algo": "NVFP4"}"#).0,
        Some(Precision::Nvfp4)
    );
    assert_eq!(format(r#"{"quant_method": "fp8"}"#).0, Some(Precision::Fp8));
    let (f, notes) = format(r#"{"quant_method": "hqq"}"#);
    assert_eq!(f, None);
    assert!(notes
        .iter()
        .any(|n| n.contains("'hqq' is not a format llmrig maps")));
}

#[test]
fn oversized_and_padded_configs_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    // Over the cap: refused before parsing, naming the limit.
    let pad = "1,".repeat(MAX_CONFIG_BYTES as usize / 2 + 10);
    std::fs::write(
        &path,
        format!(r#"{{"model_type": "llama", "pad": [{pad}1]}}"#),
    )
    .unwrap();
    let err = crate::import::import(&path).unwrap_err().to_string();
    assert!(err.contains("limit for config.json files"), "{err}");
    // Under it: the padding is skipped, not built, and the model reads.
    let pad = "1,".repeat(1_000_000);
    let json = format!(
        r#"{{"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
            "intermediate_size": 128, "vocab_size": 100, "pad": [{pad}1], "deep": {{"a": [[[[1]]]]}}}}"#
    );
    let (m, _) = import("org/padded", &json);
    assert_eq!(m.num_hidden_layers, 2);
}

#[test]
fn type_errors_name_the_nested_field() {
    let msg = error(r#"{"model_type": "llama4", "text_config": {"hidden_size": -3}}"#);
    assert!(
        msg.contains("field 'text_config.hidden_size' must be a non-negative integer, found -3"),
        "{msg}"
    );
    let msg = error(r#"{"model_type": "gemma3", "text_config": {"layer_types": "sliding"}}"#);
    assert!(msg.contains("field 'text_config.layer_types'"), "{msg}");
    let msg = error(r#"{"model_type": "llama"} trailing"#);
    assert!(msg.contains("invalid JSON"), "{msg}");
}
