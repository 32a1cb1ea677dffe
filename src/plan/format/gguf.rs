//! GGUF file sizes as llama.cpp's quantizer makes them: each tensor gets the type
//! `llama_tensor_get_type` (src/llama-quant.cpp) picks for the file type, layer and tensor
//! role, with its fallback when a row does not divide into the type's blocks, and the tensors
//! it never quantizes (norms, biases, routers, convolutions, positions) stay F32 as the
//! converter writes them. Reproduces llama.cpp's own table for Llama-3.1-8B (tools/quantize
//! README) to four digits for every k-quant and i-quant.
use super::WeightFormat;
use crate::catalog::{Model, Tensor, TensorKind};

mod rules;

use rules::{pick, role, Counters, Hparams, Role};

/// ggml tensor types a quantized file holds: elements and bytes per block (`block_*` structs
/// in ggml/src/ggml-common.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgufType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Iq2Xxs,
    Iq2Xs,
    Iq3Xxs,
    Iq1S,
    Iq4Nl,
    Iq3S,
    Iq2S,
    Iq4Xs,
    Iq1M,
    Mxfp4,
}

impl GgufType {
    /// (elements, bytes) per block.
    pub fn block(self) -> (u64, u64) {
        use GgufType::*;
        match self {
            F32 => (1, 4),
            F16 => (1, 2),
            Q4_0 => (32, 18),
            Q4_1 => (32, 20),
            Q5_0 => (32, 22),
            Q5_1 => (32, 24),
            Q8_0 => (32, 34),
            Q2K => (256, 84),
            Q3K => (256, 110),
            Q4K => (256, 144),
            Q5K => (256, 176),
            Q6K => (256, 210),
            Iq2Xxs => (256, 66),
            Iq2Xs => (256, 74),
            Iq3Xxs => (256, 98),
            Iq1S => (256, 50),
            Iq4Nl => (32, 18),
            Iq3S => (256, 110),
            Iq2S => (256, 82),
            Iq4Xs => (256, 136),
            Iq1M => (256, 56),
            Mxfp4 => (32, 17),
        }
    }

    /// Bits per weight of the block format.
    pub fn bits(self) -> f64 {
        let (n, bytes) = self.block();
        bytes as f64 * 8.0 / n as f64
    }

    /// llama.cpp's `tensor_type_fallback`: the type used when a row length does not divide
    /// into this type's blocks (F16 when even the fallback does not fit).
    pub(super) fn fallback_for(self, cols: u64) -> GgufType {
        use GgufType::*;
        if cols.is_multiple_of(self.block().0) {
            return self;
        }
        let next = match self {
            Iq1S | Iq1M | Iq2Xxs | Iq2Xs | Iq2S | Iq3Xxs | Iq3S | Iq4Xs => Iq4Nl,
            Q2K | Q3K => Q4_0,
            Q4K => Q5_0,
            Q5K => Q5_1,
            Q6K => Q8_0,
            other => other,
        };
        if cols.is_multiple_of(next.block().0) {
            next
        } else {
            F16
        }
    }
}

/// Nominal bits of a GGUF file type: its default tensor type.
pub(super) fn nominal(f: WeightFormat, ty: GgufType) -> (f64, f64, f64, &'static str) {
    let why = match f {
        WeightFormat::Mxfp4Moe => "experts MXFP4, other matrices Q8_0 (llama.cpp MXFP4_MOE)",
        _ => "llama.cpp's type per tensor and layer (llama_tensor_get_type)",
    };
    (ty.bits(), ty.bits(), 32.0, why)
}

/// Architectures whose GGUF stores q, k and v as one `attn_qkv` tensor.
fn fused_qkv(model: &Model) -> bool {
    matches!(
        model.architecture.as_str(),
        "FalconForCausalLM"
            | "RWForCausalLM"
            | "Phi3ForCausalLM"
            | "GPT2LMHeadModel"
            | "GPTNeoXForCausalLM"
            | "BloomForCausalLM"
    )
}

/// The tensors as the GGUF converter writes them: fused q/k/v where the architecture fuses
/// them, in llama.cpp's load order (by layer, then name).
fn gguf_tensors(model: &Model, tensors: &[Tensor]) -> Vec<Tensor> {
    let mut out: Vec<Tensor> = Vec::with_capacity(tensors.len());
    let fuse = fused_qkv(model);
    for t in tensors {
        match t.name {
            "attn_q" | "attn_k" | "attn_v" if fuse => {
                match out
                    .iter_mut()
                    .find(|o| o.layer == t.layer && o.name == "attn_qkv")
                {
                    Some(qkv) => qkv.rows = qkv.rows.saturating_add(t.rows),
                    None => out.push(Tensor {
                        name: "attn_qkv",
                        ..*t
                    }),
                }
            }
            _ => out.push(*t),
        }
    }
    out.sort_by(|a, b| {
        let key = |t: &Tensor| t.layer.map_or(-1, |l| l as i128);
        key(a).cmp(&key(b)).then(a.name.cmp(b.name))
    });
    out
}

/// Each tensor of `model` with the type llama.cpp gives it for file type `f` (default tensor
/// type `default`), in the quantizer's order.
pub(super) fn types(
    f: WeightFormat,
    default: GgufType,
    model: &Model,
    tensors: &[Tensor],
) -> Vec<(Tensor, GgufType)> {
    let tensors = gguf_tensors(model, tensors);
    let hp = Hparams {
        n_attention_wv: tensors
            .iter()
            .filter(|t| t.is_matrix() && role(t.name) == Role::AttnV)
            .count() as u64,
        ..Hparams::of(model)
    };
    let mut counters = Counters::default();
    tensors
        .into_iter()
        .map(|t| {
            let ty = match t.kind {
                TensorKind::Vision => GgufType::F16,
                TensorKind::Small | TensorKind::Router | TensorKind::PositionEmbedding => {
                    GgufType::F32
                }
                _ => pick(f, default, &hp, &mut counters, &t),
            };
            (t, ty)
        })
        .collect()
}

/// Bytes of `model` quantized by llama.cpp to file type `f`.
pub(super) fn bytes(f: WeightFormat, default: GgufType, model: &Model, tensors: &[Tensor]) -> f64 {
    types(f, default, model, tensors)
        .iter()
        .map(|(t, ty)| tensor_bytes(*ty, t))
        .sum()
}

/// Bytes of a tensor stored as `ty` (whole blocks per row).
fn tensor_bytes(ty: GgufType, t: &Tensor) -> f64 {
    let (per_block, block_bytes) = ty.block();
    let rows = t.rows as f64 * t.planes as f64;
    rows * t.cols.div_ceil(per_block) as f64 * block_bytes as f64
}
