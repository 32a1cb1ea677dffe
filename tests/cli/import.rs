//! `llmrig import`: a real model directory written here, JSON and table output, exit codes.
use crate::util::{llmrig, stdout_json};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use std::io::Write;
use std::path::Path;

/// A safetensors file of zeroed tensors: (name, dtype, shape, bytes per element).
fn write_safetensors(path: &Path, tensors: &[(&str, &str, &[u64], u64)]) {
    let mut header = serde_json::Map::new();
    let mut offset = 0;
    for (name, dtype, shape, size) in tensors {
        let bytes = shape.iter().product::<u64>() * size;
        header.insert((*name).into(), serde_json::json!({ "dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes] }));
        offset += bytes;
    }
    let json = serde_json::to_vec(&header).unwrap();
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&(json.len() as u64).to_le_bytes()).unwrap();
    f.write_all(&json).unwrap();
    f.write_all(&vec![0u8; offset as usize]).unwrap();
}

/// A one-layer GPT-2-shaped model (hidden 8, 2 heads, MLP 32, vocab 10, 16 positions).
fn tiny_gpt2(dir: &Path) {
    std::fs::write(
        dir.join("config.json"),
        r#"{"model_type": "gpt2", "n_embd": 8, "n_layer": 1, "n_head": 2, "n_positions": 16, "vocab_size": 10}"#,
    )
    .unwrap();
    write_safetensors(
        &dir.join("model.safetensors"),
        &[
            ("wte.weight", "F32", &[10, 8], 4),
            ("wpe.weight", "F32", &[16, 8], 4),
            ("h.0.ln_1.weight", "F32", &[8], 4),
            ("h.0.ln_1.bias", "F32", &[8], 4),
            ("h.0.attn.c_attn.weight", "F16", &[8, 24], 2),
            ("h.0.attn.c_attn.bias", "F32", &[24], 4),
            ("h.0.attn.c_proj.weight", "F16", &[8, 8], 2),
            ("h.0.attn.c_proj.bias", "F32", &[8], 4),
            ("h.0.ln_2.weight", "F32", &[8], 4),
            ("h.0.ln_2.bias", "F32", &[8], 4),
            ("h.0.mlp.c_fc.weight", "F16", &[8, 32], 2),
            ("h.0.mlp.c_fc.bias", "F32", &[32], 4),
            ("h.0.mlp.c_proj.weight", "F16", &[32, 8], 2),
            ("h.0.mlp.c_proj.bias", "F32", &[8], 4),
            ("ln_f.weight", "F32", &[8], 4),
            ("ln_f.bias", "F32", &[8], 4),
        ],
    );
}

#[test]
fn import_dir_json() {
    let dir = tempfile::Builder::new()
        .prefix("tiny-gpt2-")
        .tempdir()
        .unwrap();
    tiny_gpt2(dir.path());
    let v = stdout_json(llmrig().arg("import").arg(dir.path()).arg("--json"));
    // F16: 192 + 64 + 256 + 256 = 768 elements; F32: 80 + 128 + 6 × 8 + 24 + 8 + 32 + 8 = 328.
    assert_eq!(v["weights"]["params"], 1096);
    assert_eq!(v["weights"]["by_dtype"]["F16"]["bytes"], 1536);
    assert_eq!(v["weights"]["by_dtype"]["F32"]["bytes"], 1312);
    assert_eq!(v["weights"]["bytes"], 2848);
    assert_eq!(v["weights"]["format"], "safetensors");
    assert_eq!(v["model"]["params_published"], 1096);
    assert_eq!(
        v["computed_params"]["total"], 1096,
        "GPT-2 formula matches the file"
    );
    assert!(v["model"]["id"].as_str().unwrap().starts_with("tiny-gpt2-"));
}

#[test]
fn import_dir_table() {
    let dir = tempfile::tempdir().unwrap();
    tiny_gpt2(dir.path());
    llmrig()
        .arg("import")
        .arg(dir.path())
        .assert()
        .success()
        .stdout(
            contains("weight bytes")
                .and(contains("2,848"))
                .and(contains("computed params")),
        )
        .stdout(contains("F16").and(contains("1,536")));
}

#[test]
fn import_errors_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.safetensors");
    let mut f = std::fs::File::create(&bad).unwrap();
    f.write_all(&(1u64 << 63).to_le_bytes()).unwrap();
    let out = llmrig()
        .arg("import")
        .arg(&bad)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains("bad.safetensors")
            && stderr.contains("header length"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let out = llmrig()
        .arg("import")
        .arg(dir.path().join("missing"))
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("missing"), "{stderr}");
}

#[test]
fn plan_uses_exact_weight_bytes_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    tiny_gpt2(dir.path());
    let v = stdout_json(
        llmrig()
            .arg("plan")
            .arg("--model")
            .arg(dir.path())
            .args(["--gpu", "rtx-4090", "--json"]),
    );
    assert_eq!(v["model_memory"]["weights_bytes"], 2848.0);
    assert_eq!(v["options"][0]["fits"], true);
}

/// A one-layer Llama GGUF in Q4_K_M (file type 15) with the types llama.cpp gives each tensor
/// (one layer: attn_v and ffn_down are "more bits" layers, at Q6_K), and its data bytes.
fn tiny_q4_k_m_gguf(path: &Path) -> u64 {
    let string = |buf: &mut Vec<u8>, s: &str| {
        buf.extend((s.len() as u64).to_le_bytes());
        buf.extend(s.as_bytes());
    };
    let (f32, q4k, q6k) = (0u32, 12u32, 14u32);
    let row = |ty: u32, cols: u64| match ty {
        0 => cols * 4,
        12 => cols / 256 * 144,
        _ => cols / 256 * 210,
    };
    let tensors: &[(&str, &[u64], u32)] = &[
        ("token_embd.weight", &[256, 100], q4k),
        ("output.weight", &[256, 100], q6k),
        ("output_norm.weight", &[256], f32),
        ("blk.0.attn_norm.weight", &[256], f32),
        ("blk.0.attn_q.weight", &[256, 256], q4k),
        ("blk.0.attn_k.weight", &[256, 256], q4k),
        ("blk.0.attn_v.weight", &[256, 256], q6k),
        ("blk.0.attn_output.weight", &[256, 256], q4k),
        ("blk.0.ffn_norm.weight", &[256], f32),
        ("blk.0.ffn_gate.weight", &[256, 512], q4k),
        ("blk.0.ffn_up.weight", &[256, 512], q4k),
        ("blk.0.ffn_down.weight", &[512, 256], q6k),
    ];
    let kv: &[(&str, u32)] = &[
        ("general.file_type", 15),
        ("llama.embedding_length", 256),
        ("llama.block_count", 1),
        ("llama.attention.head_count", 4),
        ("llama.feed_forward_length", 512),
        ("llama.context_length", 512),
    ];
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((kv.len() as u64 + 1).to_le_bytes());
    string(&mut out, "general.architecture");
    out.extend(8u32.to_le_bytes());
    string(&mut out, "llama");
    for (k, v) in kv {
        string(&mut out, k);
        out.extend(4u32.to_le_bytes());
        out.extend(v.to_le_bytes());
    }
    let (mut offset, mut total) = (0u64, 0u64);
    for (name, dims, ty) in tensors {
        string(&mut out, name);
        out.extend((dims.len() as u32).to_le_bytes());
        for d in *dims {
            out.extend(d.to_le_bytes());
        }
        out.extend(ty.to_le_bytes());
        out.extend(offset.to_le_bytes());
        let bytes = row(*ty, dims[0]) * dims.get(1).copied().unwrap_or(1);
        total += bytes;
        offset += bytes.div_ceil(32) * 32;
    }
    out.resize(out.len().div_ceil(32) * 32 + offset as usize, 0);
    std::fs::write(path, out).unwrap();
    total
}

/// Issue 9.5: a GGUF's exact bytes win, the plan runs in the file's own type, and says so.
#[test]
fn plan_on_a_gguf_uses_its_type_and_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-q4_k_m.gguf");
    let bytes = tiny_q4_k_m_gguf(&path);
    let plan = |extra: &[&str]| {
        stdout_json(
            llmrig()
                .args(["plan", "--gpu", "rtx-4090", "--json", "--model"])
                .arg(&path)
                .args(extra),
        )
    };
    let v = plan(&[]);
    assert_eq!(v["request"]["weights"], "q4_k_m");
    assert_eq!(v["model_memory"]["weights_bytes"], bytes as f64);
    assert_eq!(v["weight_format"]["exact"], true);
    let why = v["weight_format"]["why"].as_str().unwrap();
    assert!(why.starts_with("exact"), "{why}");
    // Naming the file's own type keeps the exact bytes; another type is an estimate.
    let v = plan(&["--precision", "q4_k_m"]);
    assert_eq!(v["weight_format"]["exact"], true);
    let v = plan(&["--precision", "q8_0"]);
    assert_eq!(v["weight_format"]["exact"], false);
    assert_eq!(v["request"]["weights"], "q8_0");
    assert!(v["model_memory"]["weights_bytes"].as_f64().unwrap() > bytes as f64);
}
