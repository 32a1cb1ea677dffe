//! Import tests on small real files written here: safetensors shards with an index, a
//! config.json per mapped model type, GGUF v3 headers, and hostile or truncated headers.
use super::*;
use crate::catalog::Norm;
use std::io::Write;

/// Bytes per element of the dtypes these tests write.
fn dtype_size(dtype: &str) -> u64 {
    match dtype {
        "F32" | "I32" => 4,
        "F16" | "BF16" => 2,
        "U8" | "I8" | "F8_E4M3" => 1,
        other => panic!("test writer has no size for {other}"),
    }
}

/// A tensor to write: name, dtype, shape.
type TensorSpec = (String, &'static str, Vec<u64>);

/// Writes a safetensors file: header JSON with contiguous offsets, then zeroed data.
fn write_safetensors(path: &Path, tensors: &[TensorSpec]) {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({ "format": "pt" }));
    let mut offset = 0u64;
    for (name, dtype, shape) in tensors {
        let bytes = shape.iter().product::<u64>() * dtype_size(dtype);
        header.insert(
            name.clone(),
            serde_json::json!({ "dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes] }),
        );
        offset += bytes;
    }
    let json = serde_json::to_vec(&header).unwrap();
    write_raw_safetensors(path, json.len() as u64, &json, offset);
}

/// Writes a length prefix (which may lie), header bytes and `data_len` zero bytes.
fn write_raw_safetensors(path: &Path, header_len: u64, header: &[u8], data_len: u64) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&header_len.to_le_bytes()).unwrap();
    f.write_all(header).unwrap();
    f.write_all(&vec![0u8; data_len as usize]).unwrap();
}

/// Tensors of a tiny Llama (hidden 64, 2 layers, 4 heads, 2 KV heads, MLP 128, vocab 100,
/// untied), named as Transformers saves them, split after layer 0.
fn tiny_llama_shards() -> (Vec<TensorSpec>, Vec<TensorSpec>) {
    let t = |n: &str, d: &'static str, s: &[u64]| (n.to_owned(), d, s.to_vec());
    let layer = |l: usize| {
        let p = format!("model.layers.{l}");
        vec![
            t(&format!("{p}.self_attn.q_proj.weight"), "BF16", &[64, 64]),
            t(&format!("{p}.self_attn.k_proj.weight"), "BF16", &[32, 64]),
            t(&format!("{p}.self_attn.v_proj.weight"), "BF16", &[32, 64]),
            t(&format!("{p}.self_attn.o_proj.weight"), "BF16", &[64, 64]),
            t(&format!("{p}.mlp.gate_proj.weight"), "BF16", &[128, 64]),
            t(&format!("{p}.mlp.up_proj.weight"), "BF16", &[128, 64]),
            t(&format!("{p}.mlp.down_proj.weight"), "BF16", &[64, 128]),
            t(&format!("{p}.input_layernorm.weight"), "F32", &[64]),
            t(
                &format!("{p}.post_attention_layernorm.weight"),
                "F32",
                &[64],
            ),
        ]
    };
    let mut first = vec![t("model.embed_tokens.weight", "BF16", &[100, 64])];
    first.extend(layer(0));
    let mut second = layer(1);
    second.push(t("model.norm.weight", "F32", &[64]));
    second.push(t("lm_head.weight", "BF16", &[100, 64]));
    (first, second)
}

const TINY_LLAMA_CONFIG: &str = r#"{
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
  "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 512,
  "rms_norm_eps": 1e-6, "tie_word_embeddings": false, "torch_dtype": "bfloat16"
}"#;

/// A model directory: config.json, two shards and the index.
fn tiny_llama_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("Tiny-Llama-")
        .tempdir()
        .unwrap();
    std::fs::write(dir.path().join("config.json"), TINY_LLAMA_CONFIG).unwrap();
    let (first, second) = tiny_llama_shards();
    let names = [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ];
    let mut map = serde_json::Map::new();
    for (shard, tensors) in names.iter().zip([&first, &second]) {
        write_safetensors(&dir.path().join(shard), tensors);
        for (name, ..) in tensors.iter() {
            map.insert(name.clone(), (*shard).into());
        }
    }
    let index = serde_json::json!({ "metadata": { "total_size": 174336 }, "weight_map": map });
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        index.to_string(),
    )
    .unwrap();
    dir
}

fn err_text(result: Result<ImportedModel, ImportError>) -> String {
    result.expect_err("import should fail").to_string()
}

#[test]
fn directory_with_shards_gives_exact_counts() {
    let dir = tiny_llama_dir();
    let imp = import(dir.path()).unwrap();
    let w = imp.weights.as_ref().unwrap();
    // Hand count: embed 6400 + lm_head 6400 + 2 × (attention 12288 + MLP 24576 + norms 128) + final norm 64.
    assert_eq!(w.params, 86_848);
    assert_eq!(w.tensors, 21);
    assert_eq!(
        w.by_dtype["F32"],
        DtypeBytes {
            params: 320,
            bytes: 1_280
        }
    );
    assert_eq!(
        w.by_dtype["BF16"],
        DtypeBytes {
            params: 86_528,
            bytes: 173_056
        }
    );
    assert_eq!(w.bytes, 174_336);
    assert_eq!(
        w.files,
        [
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors"
        ]
    );
    assert!((w.bits_per_weight - 174_336.0 * 8.0 / 86_848.0).abs() < 1e-9);

    let m = imp.model.as_ref().unwrap();
    assert_eq!(m.params_published, 86_848);
    assert_eq!(
        m.param_counts().total,
        86_848,
        "the architecture formula agrees with the file"
    );
    assert!(
        m.id.starts_with("tiny-llama-"),
        "id from the directory: {}",
        m.id
    );
    assert_eq!(m.license, "unknown (imported)");
    assert!(m.source.starts_with("file://"));
    assert_eq!(m.architecture, "LlamaForCausalLM");
    assert!(imp.notes.is_empty(), "{:?}", imp.notes);
}

#[test]
fn single_file_directory_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tensors, second) = tiny_llama_shards();
    tensors.extend(second);
    let file = dir.path().join("model.safetensors");
    write_safetensors(&file, &tensors);
    // A second weights file beside model.safetensors is ignored (e.g. an adapter).
    write_safetensors(
        &dir.path().join("adapter.safetensors"),
        &[("a".into(), "F16", vec![4])],
    );
    let from_dir = import(dir.path()).unwrap();
    assert_eq!(from_dir.weights.as_ref().unwrap().params, 86_848);
    assert!(from_dir.model.is_none());

    let from_file = import(&file).unwrap();
    assert_eq!(from_file.weights, from_dir.weights);
    assert!(from_file
        .notes
        .iter()
        .any(|n| n.contains("no architecture")));
}

#[test]
fn index_must_match_the_shards() {
    let dir = tiny_llama_dir();
    let index_path = dir.path().join("model.safetensors.index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    index["weight_map"]["lm_head.weight"] = "model-00001-of-00002.safetensors".into();
    std::fs::write(&index_path, index.to_string()).unwrap();
    let msg = err_text(import(dir.path()));
    assert!(
        msg.contains("tensor 'lm_head.weight' is here but model.safetensors.index.json puts it in"),
        "{msg}"
    );

    index["weight_map"]["lm_head.weight"] = "../escape.safetensors".into();
    std::fs::write(&index_path, index.to_string()).unwrap();
    let msg = err_text(import(dir.path()));
    assert!(
        msg.contains("is not a file name in this directory"),
        "{msg}"
    );
}

#[test]
fn missing_shard_names_the_file() {
    let dir = tiny_llama_dir();
    std::fs::remove_file(dir.path().join("model-00002-of-00002.safetensors")).unwrap();
    let msg = err_text(import(dir.path()));
    assert!(
        msg.starts_with("reading '") && msg.contains("model-00002-of-00002.safetensors"),
        "{msg}"
    );
}

#[test]
fn integer_weights_fall_back_to_the_computed_count() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), TINY_LLAMA_CONFIG).unwrap();
    // GPTQ-style packed storage: eight 4-bit weights per I32.
    write_safetensors(
        &dir.path().join("model.safetensors"),
        &[
            ("q.qweight".into(), "I32", vec![8, 64]),
            ("q.scales".into(), "F16", vec![1, 64]),
        ],
    );
    let imp = import(dir.path()).unwrap();
    let m = imp.model.unwrap();
    assert_eq!(m.params_published, m.param_counts().total);
    assert!(
        imp.notes
            .iter()
            .any(|n| n.contains("integer tensors (I32)")),
        "{:?}",
        imp.notes
    );
    assert_eq!(
        imp.weights.unwrap().by_dtype["I32"],
        DtypeBytes {
            params: 512,
            bytes: 2_048
        }
    );
}

#[test]
fn hostile_safetensors_headers_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let check = |expected: &str| {
        let msg = err_text(import(&path));
        assert!(
            msg.contains("bad safetensors file") && msg.contains(expected),
            "{msg}"
        );
        assert!(msg.contains("bad.safetensors"), "names the file: {msg}");
    };

    write_raw_safetensors(&path, 1 << 63, b"{}", 0);
    check("header length 9223372036854775808 exceeds the 100000000-byte limit");

    let header = br#"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#;
    write_raw_safetensors(&path, 200, &header[..20], 0);
    check("header length 200 runs past the end of the file (20 bytes after the length");

    std::fs::write(&path, [1u8, 2, 3]).unwrap();
    check("3 bytes is too short");

    let big = 1u64 << 32;
    let header =
        format!(r#"{{"w":{{"dtype":"F16","shape":[{big},{big},{big}],"data_offsets":[0,4]}}}}"#);
    write_raw_safetensors(&path, header.len() as u64, header.as_bytes(), 4);
    check("tensor 'w': shape [4294967296, 4294967296, 4294967296] overflows");

    // The header is fine but the data is missing.
    let header = br#"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#;
    write_raw_safetensors(&path, header_len(header), header, 2);
    check("data_offsets [0, 4] lie outside the 2-byte data section");

    let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#;
    write_raw_safetensors(&path, header_len(header), header, 4);
    check("shape [2] of F32 needs 8 bytes but data_offsets span 4");

    let header = br#"{"w":{"dtype":"F16","shape":[-2],"data_offsets":[0,4]}}"#;
    write_raw_safetensors(&path, header_len(header), header, 4);
    check("header JSON: tensor 'w'");

    let header = b"[1, 2]";
    write_raw_safetensors(&path, header_len(header), header, 0);
    check("header JSON");
}

fn header_len(h: &[u8]) -> u64 {
    h.len() as u64
}

#[test]
fn unknown_dtype_is_counted_from_offsets_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.safetensors");
    let header = br#"{"w":{"dtype":"F2_NEW","shape":[8],"data_offsets":[0,2]}}"#;
    write_raw_safetensors(&path, header_len(header), header, 2);
    let imp = import(&path).unwrap();
    assert_eq!(
        imp.weights.unwrap().by_dtype["F2_NEW"],
        DtypeBytes {
            params: 8,
            bytes: 2
        }
    );
    assert!(imp
        .notes
        .iter()
        .any(|n| n.contains("dtype 'F2_NEW' is unknown")));
}

// ---------------------------------------------------------------------------------------------
// config.json mapping

fn model_from(json: &str) -> (Model, Vec<String>) {
    let dir = tempfile::Builder::new().prefix("cfg").tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, json).unwrap();
    let imp = import(&path).unwrap();
    (imp.model.unwrap(), imp.notes)
}

fn config_error(json: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, json).unwrap();
    err_text(import(&path))
}

/// Llama-2-7b-hf's config.json values.
const LLAMA2_7B: &str = r#"{
  "_name_or_path": "meta-llama/Llama-2-7b-hf", "architectures": ["LlamaForCausalLM"],
  "model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
  "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "tie_word_embeddings": false,
  "vocab_size": 32000, "torch_dtype": "float16"
}"#;

#[test]
fn llama2_7b_config_matches_the_catalog_formula() {
    let (m, _) = model_from(LLAMA2_7B);
    // The same architecture written as a catalog entry.
    let catalog: Model = toml::from_str(
        r#"
        id = "llama-2-7b"
        name = "Llama 2 7B"
        family = "llama"
        architecture = "LlamaForCausalLM"
        hidden_size = 4096
        num_hidden_layers = 32
        num_attention_heads = 32
        num_key_value_heads = 32
        intermediate_size = 11008
        gated_mlp = true
        vocab_size = 32000
        tie_word_embeddings = false
        max_position_embeddings = 4096
        norm = "rmsnorm"
        params_published = 6738415616
        license = "llama2"
        source = "https://huggingface.co/meta-llama/Llama-2-7b-hf"
        "#,
    )
    .unwrap();
    assert_eq!(m.param_counts(), catalog.param_counts());
    assert_eq!(m.param_counts().total, 6_738_415_616);
    assert_eq!(
        m.params_published, 6_738_415_616,
        "no weights: the computed count"
    );
    assert_eq!(m.hf_repo.as_deref(), Some("meta-llama/Llama-2-7b-hf"));
}

#[test]
fn hugging_face_cache_snapshot_gives_the_repo_id() {
    let root = tempfile::tempdir().unwrap();
    let snap = root.path().join(
        "models--meta-llama--Llama-2-7b-hf/snapshots/01c7f73d771dfac7d292323805ebc428287df4f9",
    );
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::write(
        snap.join("config.json"),
        LLAMA2_7B.replace("meta-llama/Llama-2-7b-hf", ""),
    )
    .unwrap();
    let m = import(&snap).unwrap().model.unwrap();
    assert_eq!(m.id, "llama-2-7b-hf");
    assert_eq!(m.hf_repo.as_deref(), Some("meta-llama/Llama-2-7b-hf"));
}

#[test]
fn mixtral_config_maps_experts() {
    let (m, _) = model_from(
        r#"{"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336,
            "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
            "num_local_experts": 8, "num_experts_per_tok": 2, "vocab_size": 32000,
            "max_position_embeddings": 32768, "sliding_window": null, "tie_word_embeddings": false}"#,
    );
    assert_eq!(
        (m.num_local_experts, m.num_experts_per_tok, m.sliding_window),
        (Some(8), Some(2), None)
    );
    let c = m.param_counts();
    assert_eq!(c.total, 46_702_792_704);
    assert_eq!(m.active_params_published, Some(c.active));
    assert!(c.active < c.total / 3);
}

#[test]
fn falcon_refinedweb_names_map() {
    // Falcon-7B's original RefinedWebModel config: multi-query, parallel attention, one norm.
    let (m, _) = model_from(
        r#"{"model_type": "RefinedWebModel", "hidden_size": 4544, "n_head": 71, "n_layer": 32,
            "multi_query": true, "parallel_attn": true, "bias": false, "vocab_size": 65024}"#,
    );
    assert_eq!(
        (
            m.num_attention_heads,
            m.num_key_value_heads,
            m.norms_per_layer
        ),
        (71, 1, 1)
    );
    assert_eq!(
        (m.intermediate_size, m.max_position_embeddings),
        (4 * 4544, 2048)
    );
    assert!(m.tie_word_embeddings && !m.gated_mlp && m.norm == Norm::Layernorm);
    assert_eq!(m.param_counts().total, 6_921_720_704);

    // Falcon-40B (RefinedWeb): grouped KV heads and two norms with the new decoder.
    let (m, _) = model_from(
        r#"{"model_type": "RefinedWeb", "hidden_size": 8192, "n_head": 128, "n_head_kv": 8, "n_layer": 60,
            "new_decoder_architecture": true, "parallel_attn": true, "bias": false, "vocab_size": 65024}"#,
    );
    assert_eq!((m.num_key_value_heads, m.norms_per_layer), (8, 2));
}

#[test]
fn gpt2_config_uses_n_names_and_defaults() {
    let (m, _) = model_from(
        r#"{"model_type": "gpt2", "n_embd": 1600, "n_layer": 48, "n_head": 25, "n_positions": 1024,
            "n_inner": null, "vocab_size": 50257, "architectures": ["GPT2LMHeadModel"]}"#,
    );
    assert_eq!(m.intermediate_size, 6400);
    assert!(
        m.learned_position_embeddings
            && m.tie_word_embeddings
            && m.qkv_bias
            && m.o_bias
            && m.mlp_bias
    );
    // GPT-2 XL (1.5B): embeddings, learned positions, biased Conv1D layers, LayerNorms.
    assert_eq!(m.param_counts().total, 1_557_611_200);
}

#[test]
fn gptj_gpt_neo_qwen2_gemma2_phi3_map() {
    let (m, notes) = model_from(
        r#"{"model_type": "gptj", "n_embd": 4096, "n_layer": 28, "n_head": 16, "n_positions": 2048,
            "rotary_dim": 64, "n_inner": null, "vocab_size": 50400, "tie_word_embeddings": false}"#,
    );
    assert_eq!(
        (
            m.norms_per_layer,
            m.intermediate_size,
            m.mlp_bias,
            m.qkv_bias
        ),
        (1, 16384, true, false)
    );
    assert!(m.lm_head_bias, "{notes:?}");

    let (m, _) = model_from(
        r#"{"model_type": "gpt_neo", "hidden_size": 2560, "num_layers": 32, "num_heads": 20,
            "max_position_embeddings": 2048, "intermediate_size": null, "vocab_size": 50257,
            "attention_types": [[["global", "local"], 16]], "window_size": 256}"#,
    );
    assert_eq!(
        (m.sliding_window, m.sliding_window_layers),
        (Some(256), Some(16))
    );
    assert!(m.o_bias && !m.qkv_bias && m.learned_position_embeddings);

    let (m, _) = model_from(
        r#"{"model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944, "num_attention_heads": 28,
            "num_hidden_layers": 28, "num_key_value_heads": 4, "vocab_size": 152064,
            "max_position_embeddings": 131072, "use_sliding_window": false, "sliding_window": 131072,
            "tie_word_embeddings": false}"#,
    );
    assert!(m.qkv_bias && !m.o_bias && m.sliding_window.is_none());

    let (m, _) = model_from(
        r#"{"model_type": "gemma2", "hidden_size": 3584, "intermediate_size": 14336, "num_attention_heads": 16,
            "num_hidden_layers": 42, "num_key_value_heads": 8, "head_dim": 256, "vocab_size": 256000,
            "max_position_embeddings": 8192, "sliding_window": 4096}"#,
    );
    assert!(m.tie_word_embeddings, "gemma2 ties by default");
    assert_eq!(
        (m.norms_per_layer, m.sliding_window_layers, m.head_dim),
        (4, Some(21), Some(256))
    );

    let (m, _) = model_from(
        r#"{"model_type": "phi3", "hidden_size": 3072, "intermediate_size": 8192, "num_attention_heads": 32,
            "num_hidden_layers": 32, "num_key_value_heads": 32, "vocab_size": 32064,
            "max_position_embeddings": 4096, "sliding_window": 2047, "tie_word_embeddings": false}"#,
    );
    assert_eq!((m.sliding_window, m.gated_mlp), (Some(2047), true));
}

#[test]
fn deepseek_v3_config_maps_mla_and_moe() {
    let (m, notes) = model_from(
        r#"{"model_type": "deepseek_v3", "hidden_size": 7168, "intermediate_size": 18432,
            "moe_intermediate_size": 2048, "num_attention_heads": 128, "num_key_value_heads": 128,
            "num_hidden_layers": 61, "n_routed_experts": 256, "n_shared_experts": 1,
            "num_experts_per_tok": 8, "first_k_dense_replace": 3, "q_lora_rank": 1536, "kv_lora_rank": 512,
            "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128, "vocab_size": 129280,
            "max_position_embeddings": 163840, "num_nextn_predict_layers": 1, "tie_word_embeddings": false}"#,
    );
    assert!(m.is_mla() && m.is_moe());
    // DeepSeek-V3 is published as 671B total parameters, MTP module excluded.
    let total = m.param_counts().total as f64;
    assert!((total / 671e9 - 1.0).abs() < 0.01, "{total}");
    assert!(notes.iter().any(|n| n.contains("multi-token-prediction")));
}

#[test]
fn config_errors_name_the_field() {
    let msg = config_error(r#"{"model_type": "llama", "hidden_size": 64}"#);
    assert!(
        msg.contains("model_type 'llama': missing field 'num_hidden_layers'"),
        "{msg}"
    );
    assert!(msg.contains("config.json"), "{msg}");

    let msg = config_error(r#"{"model_type": "mamba", "d_model": 768}"#);
    assert!(
        msg.contains("missing field 'hidden_size'")
            && msg.contains("'mamba' is not a model_type llmrig maps"),
        "{msg}"
    );

    let msg = config_error(r#"{"hidden_size": 64}"#);
    assert!(msg.contains("missing field 'model_type'"), "{msg}");

    let msg = config_error(r#"{"model_type": "gpt2", "n_embd": "big"}"#);
    assert!(
        msg.contains("field 'n_embd' must be a non-negative integer"),
        "{msg}"
    );

    let msg =
        config_error(&LLAMA2_7B.replace("\"hidden_size\": 4096", "\"hidden_size\": 1000000000"));
    assert!(
        msg.contains("field 'hidden_size' = 1000000000 is outside the accepted range"),
        "{msg}"
    );

    let msg = config_error(
        &LLAMA2_7B.replace("\"num_key_value_heads\": 32", "\"num_key_value_heads\": 5"),
    );
    assert!(msg.contains("does not divide"), "{msg}");

    let msg = config_error("{\"model_type\": ");
    assert!(
        msg.contains("invalid JSON") && msg.contains("config.json"),
        "{msg}"
    );
}

#[test]
fn unknown_model_type_with_llama_names_imports_with_a_note() {
    let (m, notes) = model_from(&LLAMA2_7B.replace("\"llama\"", "\"my_llama\""));
    assert_eq!(m.param_counts().total, 6_738_415_616);
    assert!(notes
        .iter()
        .any(|n| n.contains("'my_llama' is not one llmrig maps")));
}

#[test]
fn config_with_weights_uses_the_file_count_and_flags_a_mismatch() {
    let dir = tiny_llama_dir();
    // Claim 3 layers: 12800 + 3 × 36992 + 64 = 123840 by the formula, more than 1 % off the shards.
    std::fs::write(
        dir.path().join("config.json"),
        TINY_LLAMA_CONFIG.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"),
    )
    .unwrap();
    let imp = import(dir.path()).unwrap();
    let m = imp.model.unwrap();
    assert_eq!(m.params_published, 86_848);
    assert!(
        imp.notes
            .iter()
            .any(|n| n.contains("config.json gives 123840 parameters but the weights hold 86848")),
        "{:?}",
        imp.notes
    );
}

#[test]
fn paths_that_are_not_models_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let msg = err_text(import(dir.path()));
    assert!(
        msg.contains("no config.json and no *.safetensors files"),
        "{msg}"
    );

    std::fs::write(dir.path().join("m.gguf"), b"GGUF").unwrap();
    let msg = err_text(import(dir.path()));
    assert!(msg.contains("pass the file itself"), "{msg}");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let msg = err_text(import(&text));
    assert!(
        msg.contains("not a config.json, .safetensors or .gguf file"),
        "{msg}"
    );

    let msg = err_text(import(&dir.path().join("absent")));
    assert!(
        msg.starts_with("reading '") && msg.contains("absent"),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------------------------
// GGUF

/// A GGUF v3 writer: metadata and tensor infos, then zeroed, 32-byte-aligned data.
#[derive(Default)]
struct Gguf {
    kv: Vec<u8>,
    n_kv: u64,
    infos: Vec<u8>,
    n_tensors: u64,
    data_len: u64,
}

impl Gguf {
    fn string(buf: &mut Vec<u8>, s: &str) {
        buf.extend((s.len() as u64).to_le_bytes());
        buf.extend(s.as_bytes());
    }

    fn key(&mut self, key: &str, ty: u32) -> &mut Vec<u8> {
        self.n_kv += 1;
        Gguf::string(&mut self.kv, key);
        self.kv.extend(ty.to_le_bytes());
        &mut self.kv
    }

    fn u32(mut self, key: &str, v: u32) -> Self {
        self.key(key, 4).extend(v.to_le_bytes());
        self
    }

    fn str(mut self, key: &str, v: &str) -> Self {
        let buf = self.key(key, 8);
        Gguf::string(buf, v);
        self
    }

    fn tokens(mut self, n: usize) -> Self {
        let buf = self.key("tokenizer.ggml.tokens", 9);
        buf.extend(8u32.to_le_bytes());
        buf.extend((n as u64).to_le_bytes());
        for i in 0..n {
            Gguf::string(buf, &format!("tok{i}"));
        }
        let buf = self.key("tokenizer.ggml.scores", 9);
        buf.extend(6u32.to_le_bytes());
        buf.extend((n as u64).to_le_bytes());
        buf.extend(vec![0u8; 4 * n]);
        self
    }

    /// Adds a tensor of `bytes` data bytes (the caller computes them from ggml block sizes).
    fn tensor(mut self, name: &str, dims: &[u64], ty: u32, bytes: u64) -> Self {
        self.n_tensors += 1;
        Gguf::string(&mut self.infos, name);
        self.infos.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            self.infos.extend(d.to_le_bytes());
        }
        self.infos.extend(ty.to_le_bytes());
        self.infos.extend(self.data_len.to_le_bytes());
        self.data_len += bytes.div_ceil(32) * 32;
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend(self.n_tensors.to_le_bytes());
        out.extend(self.n_kv.to_le_bytes());
        out.extend(&self.kv);
        out.extend(&self.infos);
        out.resize(out.len().div_ceil(32) * 32, 0);
        out.extend(vec![0u8; self.data_len as usize]);
        out
    }
}

const F32: u32 = 0;
const F16: u32 = 1;
const Q4_0: u32 = 2;
const Q8_0: u32 = 8;
const Q4_K: u32 = 12;
const Q6_K: u32 = 14;

/// A one-layer Llama (hidden 256, 4 heads, 2 KV heads, MLP 512, vocab 320) in mixed types.
/// Byte sizes are spelled out from ggml's blocks: Q4_0 18 B/32, Q8_0 34 B/32, Q4_K 144 B/256,
/// Q6_K 210 B/256.
fn tiny_gguf(output: bool) -> Gguf {
    let g = Gguf::default()
        .str("general.architecture", "llama")
        .str("general.name", "Tiny Llama")
        .u32("general.file_type", 15)
        .u32("llama.context_length", 2048)
        .u32("llama.embedding_length", 256)
        .u32("llama.block_count", 1)
        .u32("llama.feed_forward_length", 512)
        .u32("llama.attention.head_count", 4)
        .u32("llama.attention.head_count_kv", 2)
        .tokens(320)
        .tensor("token_embd.weight", &[256, 320], F16, 81_920 * 2)
        .tensor("blk.0.attn_norm.weight", &[256], F32, 256 * 4)
        .tensor("blk.0.attn_q.weight", &[256, 256], Q4_0, 65_536 / 32 * 18)
        .tensor("blk.0.attn_k.weight", &[256, 128], Q4_0, 32_768 / 32 * 18)
        .tensor("blk.0.attn_v.weight", &[256, 128], Q8_0, 32_768 / 32 * 34)
        .tensor(
            "blk.0.attn_output.weight",
            &[256, 256],
            Q4_0,
            65_536 / 32 * 18,
        )
        .tensor("blk.0.ffn_norm.weight", &[256], F32, 256 * 4)
        .tensor(
            "blk.0.ffn_gate.weight",
            &[256, 512],
            Q4_K,
            131_072 / 256 * 144,
        )
        .tensor(
            "blk.0.ffn_up.weight",
            &[256, 512],
            Q4_K,
            131_072 / 256 * 144,
        )
        .tensor(
            "blk.0.ffn_down.weight",
            &[512, 256],
            Q8_0,
            131_072 / 32 * 34,
        )
        .tensor("output_norm.weight", &[256], F32, 256 * 4);
    if output {
        g.tensor("output.weight", &[256, 320], Q6_K, 81_920 / 256 * 210)
    } else {
        g
    }
}

fn write_gguf(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn gguf_gives_exact_bytes_per_type_and_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_gguf(
        dir.path(),
        "tiny-llama-Q4_K_M.gguf",
        &tiny_gguf(true).bytes(),
    );
    let imp = import(&path).unwrap();
    let w = imp.weights.as_ref().unwrap();
    assert_eq!(w.format, WeightFormat::Gguf);
    assert_eq!(w.tensors, 12);
    assert_eq!(w.params, 754_432);
    assert_eq!(
        w.by_dtype["F16"],
        DtypeBytes {
            params: 81_920,
            bytes: 163_840
        }
    );
    assert_eq!(
        w.by_dtype["F32"],
        DtypeBytes {
            params: 768,
            bytes: 3_072
        }
    );
    assert_eq!(
        w.by_dtype["Q4_0"],
        DtypeBytes {
            params: 163_840,
            bytes: 92_160
        }
    );
    assert_eq!(
        w.by_dtype["Q8_0"],
        DtypeBytes {
            params: 163_840,
            bytes: 174_080
        }
    );
    assert_eq!(
        w.by_dtype["Q4_K"],
        DtypeBytes {
            params: 262_144,
            bytes: 147_456
        }
    );
    assert_eq!(
        w.by_dtype["Q6_K"],
        DtypeBytes {
            params: 81_920,
            bytes: 67_200
        }
    );
    assert_eq!(w.bytes, 647_808);
    assert!((w.bits_per_weight - 647_808.0 * 8.0 / 754_432.0).abs() < 1e-9);
    assert_eq!(w.gguf_file_type.as_deref(), Some("Q4_K_M"));

    let info = imp.gguf.as_ref().unwrap();
    assert_eq!(
        (
            info.version,
            info.architecture.as_deref(),
            info.name.as_deref()
        ),
        (3, Some("llama"), Some("Tiny Llama"))
    );
    assert_eq!(info.metadata["llama.block_count"], 1);
    assert_eq!(info.metadata_keys, 11);

    let m = imp.model.as_ref().unwrap();
    assert_eq!(m.id, "tiny-llama-q4-k-m");
    assert_eq!(
        (
            m.hidden_size,
            m.num_hidden_layers,
            m.num_attention_heads,
            m.num_key_value_heads
        ),
        (256, 1, 4, 2)
    );
    assert_eq!(
        (m.vocab_size, m.intermediate_size, m.max_position_embeddings),
        (320, 512, 2048)
    );
    assert!(!m.tie_word_embeddings && m.gated_mlp && !m.qkv_bias);
    assert_eq!(m.params_published, 754_432);
    assert_eq!(
        m.param_counts().total,
        754_432,
        "the formula agrees with the tensors"
    );
    assert!(imp.notes.is_empty(), "{:?}", imp.notes);
}

#[test]
fn gguf_without_output_tensor_is_tied() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_gguf(dir.path(), "tied.gguf", &tiny_gguf(false).bytes());
    let m = import(&path).unwrap().model.unwrap();
    assert!(m.tie_word_embeddings);
    assert_eq!(m.param_counts().total, 754_432 - 81_920);
}

#[test]
fn gguf_unmapped_architecture_gives_weights_only() {
    let dir = tempfile::tempdir().unwrap();
    let g = Gguf::default()
        .str("general.architecture", "rwkv6")
        .tensor("w", &[32], Q8_0, 34);
    let imp = import(&write_gguf(dir.path(), "r.gguf", &g.bytes())).unwrap();
    assert!(imp.model.is_none());
    assert_eq!(
        imp.weights.unwrap().by_dtype["Q8_0"],
        DtypeBytes {
            params: 32,
            bytes: 34
        }
    );
    assert!(imp
        .notes
        .iter()
        .any(|n| n.contains("'rwkv6' is not one llmrig maps")));
}

fn gguf_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let msg = err_text(import(&write_gguf(dir.path(), "bad.gguf", bytes)));
    assert!(
        msg.contains("bad.gguf") && msg.contains("bad GGUF file"),
        "{msg}"
    );
    msg
}

/// Magic, version and the two counts.
fn gguf_prefix(version: u32, n_tensors: u64, n_kv: u64) -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend(version.to_le_bytes());
    out.extend(n_tensors.to_le_bytes());
    out.extend(n_kv.to_le_bytes());
    out
}

#[test]
fn hostile_gguf_headers_fail_cleanly() {
    let msg = gguf_error(&gguf_prefix(3, 1 << 60, 0));
    assert!(
        msg.contains("tensor count 1152921504606846976 exceeds the limit of 1000000"),
        "{msg}"
    );

    let msg = gguf_error(&gguf_prefix(3, 0, 1 << 40));
    assert!(
        msg.contains("metadata count 1099511627776 exceeds the limit"),
        "{msg}"
    );

    let mut bytes = gguf_prefix(3, 0, 1);
    bytes.extend((1u64 << 40).to_le_bytes());
    let msg = gguf_error(&bytes);
    assert!(
        msg.contains("metadata key #1: string length 1099511627776 exceeds the 1048576-byte limit"),
        "{msg}"
    );

    let mut bytes = b"GGML".to_vec();
    bytes.extend([0u8; 20]);
    let msg = gguf_error(&bytes);
    assert!(
        msg.contains("bad magic") && msg.contains("not a GGUF file"),
        "{msg}"
    );

    let msg = gguf_error(&gguf_prefix(1, 0, 0));
    assert!(
        msg.contains("version 1 is not supported (only 2 and 3)"),
        "{msg}"
    );

    let msg = gguf_error(&gguf_prefix(3u32.swap_bytes(), 0, 0));
    assert!(msg.contains("big-endian"), "{msg}");

    // A string within the limit but longer than the file.
    let mut bytes = gguf_prefix(3, 0, 1);
    bytes.extend(1000u64.to_le_bytes());
    bytes.extend(b"abc");
    let msg = gguf_error(&bytes);
    assert!(
        msg.contains("metadata key #1 needs 1000 bytes") && msg.contains("truncated"),
        "{msg}"
    );

    // An array claiming a billion strings in a tiny file.
    let mut g = Gguf::default();
    let buf = g.key("tokenizer.ggml.tokens", 9);
    buf.extend(8u32.to_le_bytes());
    buf.extend(100_000_000u64.to_le_bytes());
    let msg = gguf_error(&g.bytes());
    assert!(
        msg.contains("metadata 'tokenizer.ggml.tokens' needs 800000000 bytes"),
        "{msg}"
    );
    let mut g = Gguf::default();
    let buf = g.key("tokenizer.ggml.tokens", 9);
    buf.extend(8u32.to_le_bytes());
    buf.extend((1u64 << 40).to_le_bytes());
    let msg = gguf_error(&g.bytes());
    assert!(
        msg.contains("array length 1099511627776 exceeds the limit"),
        "{msg}"
    );
}

#[test]
fn bad_gguf_tensor_infos_fail_cleanly() {
    let one = |dims: &[u64], ty: u32| gguf_error(&Gguf::default().tensor("w", dims, ty, 0).bytes());

    let msg = one(&[32], 4);
    assert!(msg.contains("tensor 'w': unsupported ggml type 4"), "{msg}");
    let msg = one(&[32], 99);
    assert!(msg.contains("unsupported ggml type 99"), "{msg}");
    let msg = one(&[1 << 32, 1 << 32], F32);
    assert!(
        msg.contains("tensor 'w': shape [4294967296, 4294967296] overflows"),
        "{msg}"
    );
    let msg = one(&[1, 1, 1, 1, 1], F32);
    assert!(msg.contains("5 dimensions (at most 4)"), "{msg}");
    let msg = one(&[100], Q4_K);
    assert!(
        msg.contains("row length 100 is not a multiple of the Q4_K block of 256"),
        "{msg}"
    );
    let msg = one(&[u64::MAX], F32);
    assert!(msg.contains("is negative or too large"), "{msg}");

    // Declared data beyond the end of the file.
    let mut bytes = tiny_gguf(true).bytes();
    bytes.truncate(bytes.len() - 1000);
    let msg = gguf_error(&bytes);
    assert!(
        msg.contains("tensor 'output.weight' data ends") && msg.contains("truncated"),
        "{msg}"
    );

    // Cut inside the tensor infos.
    let full = tiny_gguf(true).bytes();
    let cut = full
        .windows(17)
        .position(|w| w == b"blk.0.ffn_up.weig")
        .unwrap();
    let msg = gguf_error(&full[..cut]);
    assert!(msg.contains("truncated"), "{msg}");

    let mut g = Gguf::default().tensor("w", &[32], F32, 128);
    g.infos.truncate(g.infos.len() - 8);
    g.infos.extend(5u64.to_le_bytes());
    let msg = gguf_error(&g.bytes());
    assert!(
        msg.contains("offset 5 is not a multiple of the alignment 32"),
        "{msg}"
    );

    let g = Gguf::default()
        .tensor("w", &[32], F32, 128)
        .tensor("w", &[32], F32, 128);
    let msg = gguf_error(&g.bytes());
    assert!(msg.contains("duplicate tensor 'w'"), "{msg}");
}

#[test]
fn gguf_version_2_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = tiny_gguf(true).bytes();
    bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
    let imp = import(&write_gguf(dir.path(), "v2.gguf", &bytes)).unwrap();
    assert_eq!(imp.gguf.unwrap().version, 2);
    assert_eq!(imp.weights.unwrap().bytes, 647_808);
}

mod robustness {
    //! Damaged files of every shape give `Ok` or an `ImportError`, never a panic.
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn damaged_gguf_never_panics(
            cut in 0usize..8_000,
            flips in proptest::collection::vec((0usize..4_000, any::<u8>()), 0..6),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut bytes = tiny_gguf(true).bytes();
            for (at, value) in flips {
                bytes[at] = value;
            }
            // Cut inside the header, or keep the whole file.
            let keep = if cut < 6_000 { cut } else { bytes.len() };
            let _ = import(&write_gguf(dir.path(), "x.gguf", &bytes[..keep]));
        }

        #[test]
        fn damaged_safetensors_never_panics(
            dims in proptest::collection::vec(any::<u64>(), 0..4),
            begin in any::<u64>(),
            end in any::<u64>(),
            dtype in "(F16|BF16|F32|U8|F4|X)",
            claimed_len in prop_oneof![Just(None), any::<u64>().prop_map(Some)],
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.safetensors");
            let header = serde_json::json!({ "w": { "dtype": dtype, "shape": dims, "data_offsets": [begin, end] } }).to_string();
            let len = claimed_len.unwrap_or(header.len() as u64);
            write_raw_safetensors(&path, len, header.as_bytes(), 64);
            let _ = import(&path);
        }
    }
}
