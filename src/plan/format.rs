//! Weight storage formats and their real bits per weight, scales and zero points included.
use crate::catalog::{ComputeDtype, ParamCounts};
use serde::{Deserialize, Serialize};

/// How weights are stored. `int4` means 4-bit weight-only quantization at group size 128
/// (GPTQ/AWQ packing) unless a format is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum WeightFormat {
    Fp32,
    Bf16,
    Fp16,
    /// FP8 E4M3 weights (per-tensor scale); embeddings and head stay 16-bit.
    Fp8,
    /// INT8 weights with per-channel scales (W8A8 or LLM.int8()); embeddings and head 16-bit.
    Int8,
    /// Alias of `gptq`: 4-bit, group 128.
    Int4,
    /// GPTQ 4-bit, group 128: fp16 scale + 4-bit zero per group.
    Gptq,
    /// AWQ 4-bit, group 128: same packing as GPTQ.
    Awq,
    /// bitsandbytes NF4, fp32 absmax per 64 weights.
    Nf4,
    /// bitsandbytes NF4 with double quantization (QLoRA's default).
    #[value(name = "nf4-dq")]
    #[serde(rename = "nf4-dq")]
    Nf4Dq,
    /// GGUF Q8_0.
    #[value(name = "q8_0")]
    #[serde(rename = "q8_0")]
    Q8_0,
    /// GGUF Q6_K.
    #[value(name = "q6_k")]
    #[serde(rename = "q6_k")]
    Q6K,
    /// GGUF Q5_K_M mix.
    #[value(name = "q5_k_m")]
    #[serde(rename = "q5_k_m")]
    Q5KM,
    /// GGUF Q4_K_M mix.
    #[value(name = "q4_k_m")]
    #[serde(rename = "q4_k_m")]
    Q4KM,
    /// GGUF Q3_K_M mix.
    #[value(name = "q3_k_m")]
    #[serde(rename = "q3_k_m")]
    Q3KM,
    /// GGUF Q2_K mix.
    #[value(name = "q2_k")]
    #[serde(rename = "q2_k")]
    Q2K,
}

/// Bits per weight of one format, and where the figure comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormatInfo {
    /// Bits per weight of quantized linear layers, scales and zero points included.
    pub linear_bits: f64,
    /// Bits per weight of embeddings and the output head.
    pub embedding_bits: f64,
    /// Bits per weight of norms and biases (kept 16-bit by every format).
    pub other_bits: f64,
    /// What the figure is and where it comes from.
    pub why: &'static str,
}

impl WeightFormat {
    /// Canonical name (`int4` reads as `gptq`).
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::Fp32 => "fp32",
            WeightFormat::Bf16 => "bf16",
            WeightFormat::Fp16 => "fp16",
            WeightFormat::Fp8 => "fp8",
            WeightFormat::Int8 => "int8",
            WeightFormat::Int4 | WeightFormat::Gptq => "gptq-int4-g128",
            WeightFormat::Awq => "awq-int4-g128",
            WeightFormat::Nf4 => "nf4",
            WeightFormat::Nf4Dq => "nf4-dq",
            WeightFormat::Q8_0 => "gguf-q8_0",
            WeightFormat::Q6K => "gguf-q6_k",
            WeightFormat::Q5KM => "gguf-q5_k_m",
            WeightFormat::Q4KM => "gguf-q4_k_m",
            WeightFormat::Q3KM => "gguf-q3_k_m",
            WeightFormat::Q2K => "gguf-q2_k",
        }
    }

    /// Storage cost of this format.
    pub fn info(self) -> FormatInfo {
        let half = 16.0;
        let f = |linear_bits: f64, embedding_bits: f64, why| FormatInfo {
            linear_bits,
            embedding_bits,
            other_bits: half,
            why,
        };
        match self {
            WeightFormat::Fp32 => FormatInfo { linear_bits: 32.0, embedding_bits: 32.0, other_bits: 32.0, why: "4 bytes per weight" },
            WeightFormat::Bf16 | WeightFormat::Fp16 => f(half, half, "2 bytes per weight"),
            WeightFormat::Fp8 => f(8.0, half, "1 byte per weight plus one scale per tensor; embeddings and head stay 16-bit"),
            WeightFormat::Int8 => f(8.0, half, "1 byte per weight plus a 16-bit scale per output channel (negligible); embeddings and head 16-bit"),
            WeightFormat::Int4 | WeightFormat::Gptq | WeightFormat::Awq => f(
                4.0 + (16.0 + 4.0) / 128.0,
                half,
                "4 bits + (16-bit scale + 4-bit zero) per group of 128 = 4.156 bits; embeddings and head stay 16-bit",
            ),
            WeightFormat::Nf4 => f(4.0 + 32.0 / 64.0, half, "4 bits + fp32 absmax per 64 weights = 4.5 bits (bitsandbytes); embeddings and head 16-bit"),
            WeightFormat::Nf4Dq => f(
                4.0 + 8.0 / 64.0 + 32.0 / (64.0 * 256.0),
                half,
                "4 bits + 8-bit absmax per 64 + fp32 per 256 blocks = 4.127 bits (QLoRA double quant); embeddings and head 16-bit",
            ),
            // GGUF quantizes embeddings too, and the _M mixes store some tensors at higher
            // precision, so whole-file bits per weight are used for every tensor.
            WeightFormat::Q8_0 => f(8.5, 8.5, "block_q8_0: 32 int8 + fp16 scale = 34 bytes per 32 weights = 8.5 bits"),
            WeightFormat::Q6K => f(6.5625, 6.5625, "block_q6_K: 210 bytes per 256 weights = 6.5625 bits"),
            WeightFormat::Q5KM => f(5.68, 5.68, "Q5_K block is 5.5 bits; the _M mix measures 5.65-5.70 bits per weight over whole Llama files (llama.cpp quantize table)"),
            WeightFormat::Q4KM => f(4.85, 4.85, "Q4_K block is 4.5 bits; the _M mix measures 4.80-4.89 bits per weight over whole Llama files (llama.cpp quantize table)"),
            WeightFormat::Q3KM => f(3.89, 3.89, "Q3_K block is 3.4375 bits; the _M mix measures 3.85-3.91 bits per weight over Llama 2 files"),
            WeightFormat::Q2K => f(3.35, 3.35, "Q2_K block is 2.625 bits; the mix measures 3.16-3.40 bits per weight over whole Llama files"),
        }
    }

    /// Weight bytes for a model with these parameter counts.
    pub fn weight_bytes(self, p: &ParamCounts) -> f64 {
        let i = self.info();
        (p.linear() as f64 * i.linear_bits
            + (p.embedding + p.lm_head) as f64 * i.embedding_bits
            + p.norm as f64 * i.other_bits)
            / 8.0
    }

    /// The tensor-core dtype that matrix products run in with these weights.
    pub fn compute_dtype(self) -> ComputeDtype {
        match self {
            WeightFormat::Fp32 => ComputeDtype::Tf32,
            WeightFormat::Fp16 => ComputeDtype::Fp16,
            WeightFormat::Fp8 => ComputeDtype::Fp8,
            WeightFormat::Int8 => ComputeDtype::Int8,
            // Weight-only formats dequantize to 16-bit before the matrix product.
            _ => ComputeDtype::Bf16,
        }
    }

    /// Whether this is a 4-bit or lower weight-only format.
    pub fn is_weight_only_quant(self) -> bool {
        !matches!(
            self,
            WeightFormat::Fp32
                | WeightFormat::Bf16
                | WeightFormat::Fp16
                | WeightFormat::Fp8
                | WeightFormat::Int8
        )
    }
}

/// KV-cache element types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum KvFormat {
    Fp32,
    Bf16,
    Fp16,
    Fp8,
    Int8,
    Int4,
}

impl KvFormat {
    /// Bytes per cached element.
    pub fn bytes(self) -> f64 {
        match self {
            KvFormat::Fp32 => 4.0,
            KvFormat::Bf16 | KvFormat::Fp16 => 2.0,
            KvFormat::Fp8 | KvFormat::Int8 => 1.0,
            KvFormat::Int4 => 0.5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KvFormat::Fp32 => "fp32",
            KvFormat::Bf16 => "bf16",
            KvFormat::Fp16 => "fp16",
            KvFormat::Fp8 => "fp8",
            KvFormat::Int8 => "int8",
            KvFormat::Int4 => "int4",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_per_weight_match_the_formats() {
        assert!((WeightFormat::Gptq.info().linear_bits - 4.15625).abs() < 1e-9);
        assert!((WeightFormat::Nf4Dq.info().linear_bits - 4.127).abs() < 1e-3);
        assert_eq!(WeightFormat::Nf4.info().linear_bits, 4.5);
        assert_eq!(WeightFormat::Q8_0.info().linear_bits, 8.5);
        assert_eq!(WeightFormat::Q6K.info().linear_bits, 210.0 * 8.0 / 256.0);
    }

    #[test]
    fn narrower_formats_never_need_more_bytes() {
        let p = ParamCounts {
            embedding: 500,
            lm_head: 500,
            attention: 4000,
            mlp: 8000,
            norm: 10,
            total: 13010,
            active: 13010,
        };
        // Two chains: formats that keep embeddings 16-bit, and GGUF formats that quantize them too.
        let chains: [&[WeightFormat]; 2] = [
            &[
                WeightFormat::Fp32,
                WeightFormat::Bf16,
                WeightFormat::Fp8,
                WeightFormat::Int8,
                WeightFormat::Nf4,
                WeightFormat::Gptq,
                WeightFormat::Nf4Dq,
            ],
            &[
                WeightFormat::Q8_0,
                WeightFormat::Q6K,
                WeightFormat::Q5KM,
                WeightFormat::Q4KM,
                WeightFormat::Q3KM,
                WeightFormat::Q2K,
            ],
        ];
        for chain in chains {
            for w in chain.windows(2) {
                assert!(
                    w[0].weight_bytes(&p) >= w[1].weight_bytes(&p),
                    "{:?} < {:?}",
                    w[0],
                    w[1]
                );
            }
        }
    }
}
