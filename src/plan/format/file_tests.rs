//! Each format's byte count against a weights file written here with that format's tensor
//! types and read back by the importer, whose ggml block table (import/gguf.rs) and safetensors
//! dtype sizes are written independently of the formats' own arithmetic.
use super::*;
use crate::catalog::{Model, Tensor};
use std::path::{Path, PathBuf};

/// A small model: 8 layers (so llama.cpp's first/last-eighth rules bite), hidden `h`,
/// 4 heads of 64 with 2 KV heads, MLP 512, vocab 300; `extra` adds TOML keys.
fn tiny(h: u64, extra: &str) -> Model {
    let toml = format!(
        r#"
        id = "t"
        name = "t"
        family = "t"
        architecture = "LlamaForCausalLM"
        hidden_size = {h}
        num_hidden_layers = 8
        num_attention_heads = 4
        num_key_value_heads = 2
        head_dim = 64
        intermediate_size = 512
        gated_mlp = true
        vocab_size = 300
        tie_word_embeddings = false
        max_position_embeddings = 1024
        norm = "rmsnorm"
        params_published = 1
        license = "t"
        source = "https://example.com"
        {extra}
        "#
    );
    toml::from_str(&toml).expect("test model")
}

/// The same shape as a mixture of experts: 4 experts of 256 (2 per token), a shared expert,
/// one leading dense layer, biases on the experts.
fn tiny_moe(h: u64) -> Model {
    tiny(
        h,
        "num_local_experts = 4\nnum_experts_per_tok = 2\nmoe_intermediate_size = 256\n\
         n_shared_experts = 1\nfirst_k_dense_replace = 1\nmlp_bias = true\nmoe_router_bias = true",
    )
}

/// ggml type ids (ggml.h).
fn ggml_id(ty: GgufType) -> u32 {
    use GgufType::*;
    match ty {
        F32 => 0,
        F16 => 1,
        Q4_0 => 2,
        Q4_1 => 3,
        Q5_0 => 6,
        Q5_1 => 7,
        Q8_0 => 8,
        Q2K => 10,
        Q3K => 11,
        Q4K => 12,
        Q5K => 13,
        Q6K => 14,
        Iq2Xxs => 16,
        Iq2Xs => 17,
        Iq3Xxs => 18,
        Iq1S => 19,
        Iq4Nl => 20,
        Iq3S => 21,
        Iq2S => 22,
        Iq4Xs => 23,
        Iq1M => 29,
        Mxfp4 => 39,
    }
}
const BF16: u32 = 30;
const NVFP4: u32 = 40;

/// llama.cpp's name for a tensor.
fn gguf_name(t: &Tensor) -> String {
    let base = match t.layer {
        Some(l) => format!("blk.{l}.{}", t.name),
        None => t.name.to_owned(),
    };
    if t.name.contains('.') {
        base
    } else {
        format!("{base}.weight")
    }
}

/// GGUF dimensions: a row first, then rows, then stacked planes.
fn dims(t: &Tensor) -> Vec<u64> {
    if t.planes > 1 {
        vec![t.cols, t.rows, t.planes]
    } else if t.rows > 1 {
        vec![t.cols, t.rows]
    } else {
        vec![t.cols]
    }
}

/// Writes a GGUF v3 file of (name, dims, ggml type, data bytes) tensors, 32-byte aligned.
fn write_gguf(dir: &Path, tensors: &[(String, Vec<u64>, u32, u64)]) -> PathBuf {
    let string = |buf: &mut Vec<u8>, s: &str| {
        buf.extend((s.len() as u64).to_le_bytes());
        buf.extend(s.as_bytes());
    };
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend(0u64.to_le_bytes());
    let mut offset = 0u64;
    for (name, dims, ty, bytes) in tensors {
        string(&mut out, name);
        out.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            out.extend(d.to_le_bytes());
        }
        out.extend(ty.to_le_bytes());
        out.extend(offset.to_le_bytes());
        offset += bytes.div_ceil(32) * 32;
    }
    out.resize(out.len().div_ceil(32) * 32 + offset as usize, 0);
    let path = dir.join("m.gguf");
    std::fs::write(&path, out).unwrap();
    path
}

/// Data bytes the importer reads from a weights file's headers.
fn imported_bytes(path: &Path) -> f64 {
    crate::import::import(path)
        .unwrap_or_else(|e| panic!("{e}"))
        .weights
        .expect("weights")
        .bytes as f64
}

/// Bytes of `t` stored as ggml type `ty` (from the type's block size).
fn block_bytes(t: &Tensor, ty: GgufType) -> u64 {
    let (n, b) = ty.block();
    t.rows * t.planes * t.cols.div_ceil(n) * b
}

#[test]
fn every_gguf_type_matches_a_file_written_with_llama_cpps_types() {
    let dir = tempfile::tempdir().unwrap();
    // Hidden 256 divides every block; 320 makes k-quants fall back on most rows.
    for m in [tiny(256, ""), tiny_moe(256), tiny(320, ""), tiny_moe(320)] {
        for f in WeightFormat::all().filter(|f| f.is_gguf()) {
            let (_, default) = f.gguf_entry().expect("GGUF");
            let files: Vec<_> = gguf::types(f, default, &m, &m.tensors())
                .iter()
                .map(|(t, ty)| (gguf_name(t), dims(t), ggml_id(*ty), block_bytes(t, *ty)))
                .collect();
            let path = write_gguf(dir.path(), &files);
            assert_eq!(
                imported_bytes(&path),
                f.weight_bytes(&m),
                "{} on hidden {} ({} experts)",
                f.name(),
                m.hidden_size,
                m.num_local_experts.unwrap_or(1)
            );
        }
    }
}

/// MXFP4 as gpt-oss ships it: expert tensors in ggml's MXFP4 (32 E2M1 values + an E8M0
/// scale = 17 bytes), everything else bf16.
#[test]
fn mxfp4_matches_a_file_of_mxfp4_experts_and_bf16_rest() {
    let dir = tempfile::tempdir().unwrap();
    for m in [tiny_moe(256), tiny(256, "")] {
        let files: Vec<_> = m
            .tensors()
            .iter()
            .map(|t| {
                let mxfp4 = t.is_matrix() && (!m.is_moe() || t.routed);
                let (ty, bytes) = if mxfp4 {
                    (ggml_id(GgufType::Mxfp4), block_bytes(t, GgufType::Mxfp4))
                } else {
                    (BF16, t.elements() * 2)
                };
                (gguf_name(t), dims(t), ty, bytes)
            })
            .collect();
        let path = write_gguf(dir.path(), &files);
        assert_eq!(imported_bytes(&path), WeightFormat::Mxfp4.weight_bytes(&m));
    }
}

/// NVFP4's block arithmetic against ggml's NVFP4 (64 values in 36 bytes: 4.5 bits, the same as
/// an E4M3 scale per 16), with ModelOpt's two fp32 scales per matrix as their own tensors.
#[test]
fn nvfp4_matches_a_file_of_nvfp4_blocks_and_per_tensor_scales() {
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_moe(256);
    let mut files = Vec::new();
    for t in m.tensors() {
        if t.is_matrix() {
            let bytes = t.rows * t.planes * (t.cols / 64) * 36;
            files.push((gguf_name(&t), dims(&t), NVFP4, bytes));
            let scales = 2 * t.planes;
            files.push((
                format!("{}.scale", gguf_name(&t)),
                vec![scales],
                0,
                4 * scales,
            ));
        } else {
            files.push((gguf_name(&t), dims(&t), BF16, t.elements() * 2));
        }
    }
    let path = write_gguf(dir.path(), &files);
    assert_eq!(imported_bytes(&path), WeightFormat::Nvfp4.weight_bytes(&m));
}

/// Block-scaled FP8 against a safetensors checkpoint laid out as DeepSeek's: each matrix (each
/// expert apart) F8_E4M3 with an F32 `weight_scale_inv` per 128 × 128 block, the rest BF16.
#[test]
fn fp8_block_matches_a_safetensors_checkpoint_laid_out_as_deepseeks() {
    let dir = tempfile::tempdir().unwrap();
    // Hidden 320 leaves partial blocks at the edges.
    let m = tiny_moe(320);
    let mut header = serde_json::Map::new();
    let mut offset = 0u64;
    let mut add = |name: String, dtype: &str, shape: Vec<u64>, size: u64| {
        let bytes = shape.iter().product::<u64>() * size;
        header.insert(
            name,
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    };
    for t in m.tensors() {
        for plane in 0..t.planes {
            let name = format!("{}.{plane}", gguf_name(&t));
            if t.is_matrix() {
                add(name.clone(), "F8_E4M3", vec![t.rows, t.cols], 1);
                let grid = vec![t.rows.div_ceil(128), t.cols.div_ceil(128)];
                add(format!("{name}_scale_inv"), "F32", grid, 4);
            } else {
                add(name, "BF16", vec![t.rows * t.cols], 2);
            }
        }
    }
    let json = serde_json::to_vec(&header).unwrap();
    let mut file = (json.len() as u64).to_le_bytes().to_vec();
    file.extend(json);
    file.resize(file.len() + offset as usize, 0);
    let path = dir.path().join("model.safetensors");
    std::fs::write(&path, file).unwrap();
    assert_eq!(
        imported_bytes(&path),
        WeightFormat::Fp8Block.weight_bytes(&m)
    );
}
