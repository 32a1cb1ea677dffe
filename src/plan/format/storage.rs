//! Bytes per tensor for the formats that are not GGUF files: safetensors checkpoints in 16 or
//! 32 bits, FP8 (per tensor or per 128 × 128 block), MXFP4, NVFP4, INT8 and the 4-bit
//! group-quantized formats. Quantizers compress the matrices of attention and MLP; embeddings,
//! head, routers, norms, biases and vision towers keep 16 bits (32 with `fp32`).
use super::WeightFormat;
use crate::catalog::{Model, Tensor, TensorKind};

/// `ceil(a / b)` as a float, for block and group counts.
fn blocks(a: u64, b: u64) -> f64 {
    a.div_ceil(b) as f64
}

/// GPTQ/AWQ group: 4-bit weights, fp16 scale and 4-bit zero per 128 inputs.
const GPTQ_GROUP: u64 = 128;
/// bitsandbytes blocks: one absmax per 64 weights, one fp32 super-scale per 256 absmax (DQ).
const NF4_BLOCK: u64 = 64;
const NF4_DQ_SUPER_BLOCK: u64 = 256;
/// OCP MX: one E8M0 scale per 32 elements along a row.
const MX_BLOCK: u64 = 32;
/// NVFP4: one E4M3 scale per 16 elements along a row.
const NVFP4_BLOCK: u64 = 16;
/// NVFP4 (ModelOpt): fp32 `weight_scale_2` and `input_scale` per matrix.
const NVFP4_TENSOR_SCALE_BYTES: f64 = 8.0;
/// DeepSeek-V3's `weight_block_size` and its fp32 `weight_scale_inv` per block.
const FP8_BLOCK: u64 = 128;

/// Nominal (linear, embedding, other) bits and what they mean.
pub(super) fn nominal(f: WeightFormat) -> (f64, f64, f64, &'static str) {
    let half = 16.0;
    match f {
        WeightFormat::Fp32 => (32.0, 32.0, 32.0, "4 bytes per weight"),
        WeightFormat::Bf16 | WeightFormat::Fp16 => (half, half, half, "2 bytes per weight"),
        WeightFormat::Fp8 => (
            8.0,
            half,
            half,
            "8 bits + an fp32 scale per tensor; embeddings 16-bit",
        ),
        WeightFormat::Fp8Block => (
            8.0 + 32.0 / (FP8_BLOCK * FP8_BLOCK) as f64,
            half,
            half,
            "8 bits + fp32 scale per 128x128 block = 8.002; embeddings bf16",
        ),
        WeightFormat::Mxfp4 => (
            4.0 + 8.0 / MX_BLOCK as f64,
            half,
            half,
            "4.25 bits (E8M0 scale per 32) on experts, the rest bf16",
        ),
        WeightFormat::Nvfp4 => (
            4.0 + 8.0 / NVFP4_BLOCK as f64,
            half,
            half,
            "4.5 bits (E4M3 scale per 16) + fp32 per tensor; embeddings bf16",
        ),
        WeightFormat::Int8 => (
            8.0,
            half,
            half,
            "8 bits + a 16-bit scale per channel; embeddings 16-bit",
        ),
        WeightFormat::Int4 | WeightFormat::Gptq | WeightFormat::Awq => (
            4.0 + (16.0 + 4.0) / GPTQ_GROUP as f64,
            half,
            half,
            "4 bits + scale and zero per 128 = 4.156 bits; embeddings 16-bit",
        ),
        WeightFormat::Nf4 => (
            4.0 + 32.0 / NF4_BLOCK as f64,
            half,
            half,
            "4 bits + fp32 absmax per 64 = 4.5 bits; embeddings 16-bit",
        ),
        WeightFormat::Nf4Dq => (
            4.0 + 8.0 / NF4_BLOCK as f64 + 32.0 / (NF4_BLOCK * NF4_DQ_SUPER_BLOCK) as f64,
            half,
            half,
            "4 bits + 8-bit absmax per 64, fp32 per 256 = 4.127 bits",
        ),
        // GGUF formats are handled by `gguf`.
        _ => (half, half, half, "2 bytes per weight"),
    }
}

/// Bytes of one tensor in format `f`.
pub(super) fn tensor_bytes(f: WeightFormat, model: &Model, t: &Tensor) -> f64 {
    let n = t.elements() as f64;
    let wide = if f == WeightFormat::Fp32 { 4.0 } else { 2.0 };
    if !t.is_matrix() {
        return n * wide;
    }
    // Rows of the matrix over all stacked planes (experts), and groups along each row.
    let rows = t.rows as f64 * t.planes as f64;
    let per_row = |block: u64| rows * blocks(t.cols, block);
    match f {
        WeightFormat::Fp32 | WeightFormat::Bf16 | WeightFormat::Fp16 => n * wide,
        WeightFormat::Fp8 => n + 4.0 * t.planes as f64,
        WeightFormat::Fp8Block => {
            let grid = blocks(t.rows, FP8_BLOCK) * blocks(t.cols, FP8_BLOCK) * t.planes as f64;
            n + 4.0 * grid
        }
        WeightFormat::Mxfp4 => {
            // MoE checkpoints quantize the routed experts only; dense ones every matrix.
            if model.is_moe() && t.kind != TensorKind::ExpertMatrix {
                n * 2.0
            } else {
                n / 2.0 + per_row(MX_BLOCK)
            }
        }
        WeightFormat::Nvfp4 => {
            n / 2.0 + per_row(NVFP4_BLOCK) + NVFP4_TENSOR_SCALE_BYTES * t.planes as f64
        }
        WeightFormat::Int8 => n + 2.0 * rows,
        WeightFormat::Int4 | WeightFormat::Gptq | WeightFormat::Awq => {
            n / 2.0 + per_row(GPTQ_GROUP) * (16.0 + 4.0) / 8.0
        }
        WeightFormat::Nf4 => n / 2.0 + 4.0 * (n / NF4_BLOCK as f64).ceil(),
        WeightFormat::Nf4Dq => {
            let absmax = (n / NF4_BLOCK as f64).ceil();
            n / 2.0 + absmax + 4.0 * (absmax / NF4_DQ_SUPER_BLOCK as f64).ceil()
        }
        // GGUF formats never reach here.
        _ => n * wide,
    }
}
