//! Weight storage formats and the bytes they take, computed tensor by tensor: every scale, zero
//! point and block header counted, and for GGUF the type llama.cpp's quantizer gives each
//! tensor (`gguf`). Formats that keep some tensors in 16 bits say which (`storage`).
use crate::catalog::{ComputeDtype, Model};
use serde::{Deserialize, Serialize};

mod gguf;
mod storage;

pub use gguf::GgufType;

/// How weights are stored. `int4` means 4-bit weight-only quantization at group size 128
/// (GPTQ/AWQ packing) unless a format is named. The `q*`/`iq*` names are llama.cpp's GGUF
/// file types (`llama-quantize` mixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum WeightFormat {
    Fp32,
    Bf16,
    Fp16,
    /// FP8 E4M3 weights with one scale per tensor; embeddings and head stay 16-bit.
    Fp8,
    /// FP8 E4M3 weights with an fp32 scale per 128 × 128 block (DeepSeek-V3's checkpoint).
    Fp8Block,
    /// OCP MXFP4: E2M1 in blocks of 32 with an E8M0 scale. Expert weights of MoE models (every
    /// matrix of dense ones); the rest 16-bit, as gpt-oss ships.
    Mxfp4,
    /// NVFP4: E2M1 in blocks of 16 with an FP8 E4M3 scale, plus fp32 per-tensor scales
    /// (ModelOpt checkpoints); embeddings, head and router 16-bit.
    Nvfp4,
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
    #[value(name = "q8_0")]
    #[serde(rename = "q8_0")]
    Q8_0,
    #[value(name = "q6_k")]
    #[serde(rename = "q6_k")]
    Q6K,
    #[value(name = "q5_k_m")]
    #[serde(rename = "q5_k_m")]
    Q5KM,
    #[value(name = "q5_k_s")]
    #[serde(rename = "q5_k_s")]
    Q5KS,
    #[value(name = "q5_1")]
    #[serde(rename = "q5_1")]
    Q5_1,
    #[value(name = "q5_0")]
    #[serde(rename = "q5_0")]
    Q5_0,
    #[value(name = "q4_k_m")]
    #[serde(rename = "q4_k_m")]
    Q4KM,
    #[value(name = "q4_k_s")]
    #[serde(rename = "q4_k_s")]
    Q4KS,
    #[value(name = "q4_1")]
    #[serde(rename = "q4_1")]
    Q4_1,
    #[value(name = "q4_0")]
    #[serde(rename = "q4_0")]
    Q4_0,
    #[value(name = "q3_k_l")]
    #[serde(rename = "q3_k_l")]
    Q3KL,
    #[value(name = "q3_k_m")]
    #[serde(rename = "q3_k_m")]
    Q3KM,
    #[value(name = "q3_k_s")]
    #[serde(rename = "q3_k_s")]
    Q3KS,
    #[value(name = "q2_k")]
    #[serde(rename = "q2_k")]
    Q2K,
    #[value(name = "q2_k_s")]
    #[serde(rename = "q2_k_s")]
    Q2KS,
    #[value(name = "iq4_xs")]
    #[serde(rename = "iq4_xs")]
    Iq4Xs,
    #[value(name = "iq4_nl")]
    #[serde(rename = "iq4_nl")]
    Iq4Nl,
    #[value(name = "iq3_m")]
    #[serde(rename = "iq3_m")]
    Iq3M,
    #[value(name = "iq3_s")]
    #[serde(rename = "iq3_s")]
    Iq3S,
    #[value(name = "iq3_xs")]
    #[serde(rename = "iq3_xs")]
    Iq3Xs,
    #[value(name = "iq3_xxs")]
    #[serde(rename = "iq3_xxs")]
    Iq3Xxs,
    #[value(name = "iq2_m")]
    #[serde(rename = "iq2_m")]
    Iq2M,
    #[value(name = "iq2_s")]
    #[serde(rename = "iq2_s")]
    Iq2S,
    #[value(name = "iq2_xs")]
    #[serde(rename = "iq2_xs")]
    Iq2Xs,
    #[value(name = "iq2_xxs")]
    #[serde(rename = "iq2_xxs")]
    Iq2Xxs,
    #[value(name = "iq1_m")]
    #[serde(rename = "iq1_m")]
    Iq1M,
    #[value(name = "iq1_s")]
    #[serde(rename = "iq1_s")]
    Iq1S,
    /// GGUF MXFP4_MOE: expert tensors MXFP4, every other matrix Q8_0 (llama.cpp's gpt-oss files).
    #[value(name = "mxfp4_moe")]
    #[serde(rename = "mxfp4_moe")]
    Mxfp4Moe,
}

/// A format's GGUF file-type name (llama.cpp `llama_ftype`) and its default tensor type, for
/// the llama.cpp file types; `None` for the others.
const GGUF: &[(WeightFormat, &str, GgufType)] = &[
    (WeightFormat::Q8_0, "Q8_0", GgufType::Q8_0),
    (WeightFormat::Q6K, "Q6_K", GgufType::Q6K),
    (WeightFormat::Q5KM, "Q5_K_M", GgufType::Q5K),
    (WeightFormat::Q5KS, "Q5_K_S", GgufType::Q5K),
    (WeightFormat::Q5_1, "Q5_1", GgufType::Q5_1),
    (WeightFormat::Q5_0, "Q5_0", GgufType::Q5_0),
    (WeightFormat::Q4KM, "Q4_K_M", GgufType::Q4K),
    (WeightFormat::Q4KS, "Q4_K_S", GgufType::Q4K),
    (WeightFormat::Q4_1, "Q4_1", GgufType::Q4_1),
    (WeightFormat::Q4_0, "Q4_0", GgufType::Q4_0),
    (WeightFormat::Q3KL, "Q3_K_L", GgufType::Q3K),
    (WeightFormat::Q3KM, "Q3_K_M", GgufType::Q3K),
    (WeightFormat::Q3KS, "Q3_K_S", GgufType::Q3K),
    (WeightFormat::Q2K, "Q2_K", GgufType::Q2K),
    (WeightFormat::Q2KS, "Q2_K_S", GgufType::Q2K),
    (WeightFormat::Iq4Xs, "IQ4_XS", GgufType::Iq4Xs),
    (WeightFormat::Iq4Nl, "IQ4_NL", GgufType::Iq4Nl),
    (WeightFormat::Iq3M, "IQ3_M", GgufType::Iq3S),
    (WeightFormat::Iq3S, "IQ3_S", GgufType::Iq3S),
    (WeightFormat::Iq3Xs, "IQ3_XS", GgufType::Iq3S),
    (WeightFormat::Iq3Xxs, "IQ3_XXS", GgufType::Iq3Xxs),
    (WeightFormat::Iq2M, "IQ2_M", GgufType::Iq2S),
    (WeightFormat::Iq2S, "IQ2_S", GgufType::Iq2Xs),
    (WeightFormat::Iq2Xs, "IQ2_XS", GgufType::Iq2Xs),
    (WeightFormat::Iq2Xxs, "IQ2_XXS", GgufType::Iq2Xxs),
    (WeightFormat::Iq1M, "IQ1_M", GgufType::Iq1M),
    (WeightFormat::Iq1S, "IQ1_S", GgufType::Iq1S),
    (WeightFormat::Mxfp4Moe, "MXFP4_MOE", GgufType::Mxfp4),
];

/// What a format stores, as shown with a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormatInfo {
    /// Canonical name (`gguf-q4_k_m`, `mxfp4`, …).
    pub name: &'static str,
    /// Bits per weight of the format's main block type, scales included (Q4_K_M: the 4.5 of
    /// Q4_K; the mix gives some tensors more).
    pub linear_bits: f64,
    /// Bits per weight of the token embeddings.
    pub embedding_bits: f64,
    /// Bits per weight of norms, biases and routers.
    pub other_bits: f64,
    /// Bits per weight over this model's tensors (None without a model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_bits_per_weight: Option<f64>,
    /// Whether the plan's weight bytes were read from the model's files rather than computed.
    pub exact: bool,
    /// What the figure is and where it comes from.
    pub why: String,
}

/// The format a plan uses when `--precision` is not given: inference runs the weights as
/// they ship (the model's native format: gpt-oss MXFP4, DeepSeek FP8 blocks, a GGUF file's
/// type); training and LoRA start from 16-bit weights and QLoRA from NF4 with double
/// quantization, whatever the checkpoint.
pub fn default_weights(model: &Model, workload: crate::plan::Workload) -> WeightFormat {
    use crate::plan::Workload;
    match workload {
        Workload::Infer => model.default_format(),
        Workload::Train | Workload::Lora => WeightFormat::Bf16,
        Workload::Qlora => WeightFormat::Nf4Dq,
    }
}

impl FormatInfo {
    /// What a plan shows for its weights: `weights` over `model`, marked exact (with the
    /// format's own estimate beside it) when the bytes were read from the model's files.
    pub fn for_plan(model: &Model, weights: WeightFormat, exact_bytes: Option<f64>) -> FormatInfo {
        let mut info = weights.describe(model);
        if let Some(bytes) = exact_bytes {
            let params = model.param_counts().total.max(1) as f64;
            let estimate = weights.weight_bytes(model);
            info.exact = true;
            info.model_bits_per_weight = Some(bytes * 8.0 / params);
            info.why = format!(
                "exact: {:.2} GB from the file headers (estimate {:.2} GB)",
                bytes / 1e9,
                estimate / 1e9
            );
        }
        info
    }
}

impl WeightFormat {
    /// Every format, in the order `--help` lists them.
    pub fn all() -> impl Iterator<Item = WeightFormat> {
        <WeightFormat as clap::ValueEnum>::value_variants()
            .iter()
            .copied()
    }

    /// llama.cpp's file-type name and default tensor type for a GGUF format.
    fn gguf_entry(self) -> Option<(&'static str, GgufType)> {
        GGUF.iter()
            .find(|(f, ..)| *f == self)
            .map(|&(_, name, ty)| (name, ty))
    }

    /// llama.cpp's file-type name (`Q4_K_M`) for a GGUF format.
    pub fn gguf_file_type(self) -> Option<&'static str> {
        self.gguf_entry().map(|(name, _)| name)
    }

    /// The format of a GGUF file from its `general.file_type` name (`Q4_K_M`, `F16`, `BF16`).
    pub fn from_gguf_file_type(name: &str) -> Option<WeightFormat> {
        match name {
            "F32" => Some(WeightFormat::Fp32),
            "F16" => Some(WeightFormat::Fp16),
            "BF16" => Some(WeightFormat::Bf16),
            _ => GGUF.iter().find(|(_, n, _)| *n == name).map(|&(f, ..)| f),
        }
    }

    /// Whether this is one of llama.cpp's GGUF file types.
    pub fn is_gguf(self) -> bool {
        self.gguf_entry().is_some()
    }

    /// Canonical name (`int4` reads as `gptq`).
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::Fp32 => "fp32",
            WeightFormat::Bf16 => "bf16",
            WeightFormat::Fp16 => "fp16",
            WeightFormat::Fp8 => "fp8",
            WeightFormat::Fp8Block => "fp8-block128",
            WeightFormat::Mxfp4 => "mxfp4",
            WeightFormat::Nvfp4 => "nvfp4",
            WeightFormat::Int8 => "int8",
            WeightFormat::Int4 | WeightFormat::Gptq => "gptq-int4-g128",
            WeightFormat::Awq => "awq-int4-g128",
            WeightFormat::Nf4 => "nf4",
            WeightFormat::Nf4Dq => "nf4-dq",
            WeightFormat::Q8_0 => "gguf-q8_0",
            WeightFormat::Q6K => "gguf-q6_k",
            WeightFormat::Q5KM => "gguf-q5_k_m",
            WeightFormat::Q5KS => "gguf-q5_k_s",
            WeightFormat::Q5_1 => "gguf-q5_1",
            WeightFormat::Q5_0 => "gguf-q5_0",
            WeightFormat::Q4KM => "gguf-q4_k_m",
            WeightFormat::Q4KS => "gguf-q4_k_s",
            WeightFormat::Q4_1 => "gguf-q4_1",
            WeightFormat::Q4_0 => "gguf-q4_0",
            WeightFormat::Q3KL => "gguf-q3_k_l",
            WeightFormat::Q3KM => "gguf-q3_k_m",
            WeightFormat::Q3KS => "gguf-q3_k_s",
            WeightFormat::Q2K => "gguf-q2_k",
            WeightFormat::Q2KS => "gguf-q2_k_s",
            WeightFormat::Iq4Xs => "gguf-iq4_xs",
            WeightFormat::Iq4Nl => "gguf-iq4_nl",
            WeightFormat::Iq3M => "gguf-iq3_m",
            WeightFormat::Iq3S => "gguf-iq3_s",
            WeightFormat::Iq3Xs => "gguf-iq3_xs",
            WeightFormat::Iq3Xxs => "gguf-iq3_xxs",
            WeightFormat::Iq2M => "gguf-iq2_m",
            WeightFormat::Iq2S => "gguf-iq2_s",
            WeightFormat::Iq2Xs => "gguf-iq2_xs",
            WeightFormat::Iq2Xxs => "gguf-iq2_xxs",
            WeightFormat::Iq1M => "gguf-iq1_m",
            WeightFormat::Iq1S => "gguf-iq1_s",
            WeightFormat::Mxfp4Moe => "gguf-mxfp4_moe",
        }
    }

    /// The format's nominal bits per weight, without a model.
    pub fn info(self) -> FormatInfo {
        let (linear_bits, embedding_bits, other_bits, why) = match self.gguf_entry() {
            Some((_, ty)) => gguf::nominal(self, ty),
            None => storage::nominal(self),
        };
        FormatInfo {
            name: self.name(),
            linear_bits,
            embedding_bits,
            other_bits,
            model_bits_per_weight: None,
            exact: false,
            why: why.into(),
        }
    }

    /// The format as stored for `model`: [`WeightFormat::info`] plus the bits per weight over
    /// the model's own tensors.
    pub fn describe(self, model: &Model) -> FormatInfo {
        let params = model.param_counts().total.max(1) as f64;
        FormatInfo {
            model_bits_per_weight: Some(self.weight_bytes(model) * 8.0 / params),
            ..self.info()
        }
    }

    /// Weight bytes of `model` in this format, tensor by tensor.
    pub fn weight_bytes(self, model: &Model) -> f64 {
        model.memo.weight_bytes(self, || {
            let tensors = model.tensors();
            match self.gguf_entry() {
                Some((_, ty)) => gguf::bytes(self, ty, model, &tensors),
                None => tensors
                    .iter()
                    .map(|t| storage::tensor_bytes(self, model, t))
                    .sum(),
            }
        })
    }

    /// The tensor-core dtype that matrix products run in with these weights.
    pub fn compute_dtype(self) -> ComputeDtype {
        match self {
            WeightFormat::Fp32 => ComputeDtype::Tf32,
            WeightFormat::Fp16 => ComputeDtype::Fp16,
            WeightFormat::Fp8 | WeightFormat::Fp8Block => ComputeDtype::Fp8,
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
                | WeightFormat::Fp8Block
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
mod tests;

#[cfg(test)]
mod file_tests;
