//! GGUF file sizes as llama.cpp's quantizer makes them: each tensor gets the type
//! `llama_tensor_get_type` (src/llama-quant.cpp) picks for the file type, layer and tensor
//! role, with its fallback when a row does not divide into the type's blocks, and the tensors
//! it never quantizes (norms, biases, routers, convolutions, positions) stay F32 as the
//! converter writes them. Reproduces llama.cpp's own table for Llama-3.1-8B (tools/quantize
//! README) to four digits for every k-quant and i-quant.
use super::WeightFormat;
use crate::catalog::{Model, Tensor, TensorKind};

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
        WeightFormat::Mxfp4Moe => {
            "experts MXFP4 (4.25 bits), other matrices and head Q8_0, norms F32 (llama.cpp MXFP4_MOE)"
        }
        _ => {
            "llama.cpp's type per tensor and layer for this mix (llama_tensor_get_type), norms F32"
        }
    };
    (ty.bits(), ty.bits(), 32.0, why)
}

/// Tensor roles `llama_tensor_get_type` distinguishes (`tensor_get_category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    TokenEmbd,
    Output,
    /// attn_v, attn_qkv and attn_kv_b: the most quantization-sensitive.
    AttnV,
    AttnK,
    AttnQ,
    AttnOutput,
    FfnUp,
    FfnGate,
    FfnDown,
    Other,
}

fn role(name: &str) -> Role {
    match name {
        "token_embd" => Role::TokenEmbd,
        "output" => Role::Output,
        "attn_qkv" | "attn_kv_b" | "attn_v" => Role::AttnV,
        "attn_k" => Role::AttnK,
        "attn_q" => Role::AttnQ,
        "attn_output" => Role::AttnOutput,
        n if n.starts_with("ffn_up") => Role::FfnUp,
        n if n.starts_with("ffn_gate") => Role::FfnGate,
        n if n.starts_with("ffn_down") => Role::FfnDown,
        _ => Role::Other,
    }
}

/// The model facts llama.cpp's rules read.
struct Hparams {
    n_layer: u64,
    n_gqa: u64,
    n_expert: u64,
    falcon: bool,
    /// `LLM_TYPE_70B`: a Llama or Qwen2 with 80 layers (grouped KV heads for Llama).
    is_70b: bool,
    tied: bool,
    /// `n_attention_wv`: the file's attn_v-like tensors.
    n_attention_wv: u64,
}

impl Hparams {
    fn of(model: &Model) -> Hparams {
        let arch = model.architecture.as_str();
        let llama = matches!(arch, "LlamaForCausalLM" | "MistralForCausalLM");
        let qwen2 = arch == "Qwen2ForCausalLM";
        let kv = model.layer(0).kv_heads.max(1);
        Hparams {
            n_layer: model.num_hidden_layers,
            n_gqa: model.num_attention_heads / kv,
            n_expert: model
                .num_local_experts
                .filter(|_| model.is_moe())
                .unwrap_or(0),
            falcon: matches!(arch, "FalconForCausalLM" | "RWForCausalLM"),
            is_70b: model.num_hidden_layers == 80
                && (qwen2 || (llama && model.num_key_value_heads < model.num_attention_heads)),
            tied: model.tie_word_embeddings,
            n_attention_wv: 0,
        }
    }
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

/// `use_more_bits`: the first and last eighth of layers and every third in between.
fn more_bits(i: u64, n: u64) -> bool {
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

/// The quantizer's running counters (`quantize_state_impl`).
#[derive(Default)]
struct Counters {
    attn_v: u64,
    ffn_down: u64,
    ffn_gate: u64,
    ffn_up: u64,
}

/// Whether llama.cpp needs an importance matrix for this file type (its estimates assume one
/// exactly then, as the published table was made).
fn has_imatrix(f: WeightFormat) -> bool {
    use WeightFormat::*;
    matches!(
        f,
        Iq1S | Iq1M | Iq2Xxs | Iq2Xs | Iq2S | Iq2M | Iq3Xxs | Iq3Xs | Q2KS
    )
}

/// `llama_tensor_get_type_impl` for one quantizable tensor.
fn pick(
    f: WeightFormat,
    default: GgufType,
    hp: &Hparams,
    c: &mut Counters,
    t: &Tensor,
) -> GgufType {
    use GgufType as G;
    use WeightFormat as F;
    let r = role(t.name);
    let iq_low = matches!(
        f,
        F::Iq2Xxs | F::Iq2Xs | F::Iq1S | F::Iq2S | F::Iq2M | F::Iq1M
    );
    let layer = t.layer.unwrap_or(0);
    let n = hp.n_layer;
    // MoE tensors carry their layer in the name; dense ones count tensors.
    let index = |counter: u64| if hp.n_expert > 1 { layer } else { counter };
    let mut ty = default;
    if r == Role::Output || (hp.tied && r == Role::TokenEmbd) {
        ty = if f == F::Mxfp4Moe || hp.falcon || !t.cols.is_multiple_of(default.block().0) {
            G::Q8_0
        } else if iq_low || f == F::Iq3Xxs {
            G::Q5K
        } else if default != G::Q8_0 {
            G::Q6K
        } else {
            default
        };
    } else if f == F::Mxfp4Moe {
        ty = if t.planes > 1 { G::Mxfp4 } else { G::Q8_0 };
    } else if r == Role::TokenEmbd {
        ty = match f {
            F::Iq2Xxs | F::Iq2Xs | F::Iq1S | F::Iq1M => G::Q2K,
            F::Iq2S | F::Iq2M | F::Iq3Xxs => G::Iq3S,
            _ => default,
        };
    } else if iq_low {
        let wide = if matches!(f, F::Iq2S | F::Iq2M) {
            G::Iq3S
        } else {
            G::Q2K
        };
        match r {
            Role::AttnV => {
                ty = if hp.n_gqa >= 4 || hp.n_expert >= 4 {
                    G::Q4K
                } else {
                    wide
                };
                c.attn_v += 1;
            }
            Role::AttnK if hp.n_expert == 8 => ty = G::Q4K,
            Role::FfnDown => {
                if c.ffn_down < n / 8 {
                    ty = wide;
                }
                c.ffn_down += 1;
            }
            Role::AttnOutput => {
                if hp.n_expert == 8 {
                    ty = G::Q5K;
                } else if matches!(f, F::Iq1S | F::Iq1M) {
                    ty = G::Iq2Xxs;
                } else if matches!(f, F::Iq2S | F::Iq2M) {
                    ty = G::Iq3S;
                }
            }
            _ => {}
        }
    } else {
        match r {
            Role::AttnV => {
                let i = c.attn_v;
                let gqa4 = hp.n_gqa >= 4;
                ty = match f {
                    F::Q2K => {
                        if gqa4 {
                            G::Q4K
                        } else {
                            G::Q3K
                        }
                    }
                    F::Q2KS if gqa4 => G::Q4K,
                    F::Iq3Xxs => {
                        if gqa4 {
                            G::Q4K
                        } else if has_imatrix(f) {
                            G::Iq3Xxs
                        } else {
                            G::Iq3S
                        }
                    }
                    F::Iq3Xs | F::Iq3S if gqa4 => G::Q4K,
                    F::Iq3M => G::Q4K,
                    F::Q3KM => {
                        if i < 2 {
                            G::Q5K
                        } else {
                            G::Q4K
                        }
                    }
                    F::Q3KL => G::Q5K,
                    F::Iq4Nl | F::Iq4Xs if gqa4 => G::Q5K,
                    F::Q4KM | F::Q5KM if more_bits(i, hp.n_attention_wv) => G::Q6K,
                    F::Q4KS if i < 4 => G::Q5K,
                    _ => default,
                };
                if hp.is_70b && matches!(ty, G::Q3K | G::Q4K) {
                    ty = G::Q5K;
                }
                if hp.n_expert == 8 {
                    ty = G::Q8_0;
                }
                c.attn_v += 1;
            }
            Role::AttnK => {
                if hp.n_expert == 8 {
                    ty = G::Q8_0;
                } else if f == F::Iq3Xs {
                    ty = G::Iq3Xxs;
                } else if f == F::Iq3Xxs {
                    ty = G::Iq2S;
                }
            }
            Role::AttnQ => {
                if f == F::Iq3Xs {
                    ty = G::Iq3Xxs;
                } else if f == F::Iq3Xxs {
                    ty = G::Iq2S;
                }
            }
            Role::FfnDown => {
                let i = index(c.ffn_down);
                let first8 = i < n / 8;
                ty = match f {
                    F::Q2K => G::Q3K,
                    F::Q2KS if first8 => G::Q4K,
                    F::Iq3Xxs if !has_imatrix(f) => {
                        if first8 {
                            G::Q4K
                        } else {
                            G::Q3K
                        }
                    }
                    F::Q3KM => {
                        if i < n / 16 {
                            G::Q5K
                        } else if !hp.falcon || more_bits(i, n) {
                            G::Q4K
                        } else {
                            G::Q3K
                        }
                    }
                    F::Iq3M if first8 || (hp.n_expert == 8 && more_bits(i, n)) => G::Q4K,
                    F::Q3KL => {
                        if hp.falcon {
                            G::Q4K
                        } else {
                            G::Q5K
                        }
                    }
                    F::Q4KM if hp.falcon => {
                        if i < n / 16 {
                            G::Q6K
                        } else if more_bits(i, n) {
                            G::Q5K
                        } else {
                            G::Q4K
                        }
                    }
                    F::Q4KM if more_bits(i, n) => G::Q6K,
                    F::Iq4Nl | F::Iq4Xs if first8 && !has_imatrix(f) => G::Q5K,
                    F::Q5KM if more_bits(i, n) => G::Q6K,
                    F::Q4KS if !hp.falcon && first8 => G::Q5K,
                    _ => default,
                };
                c.ffn_down += 1;
            }
            Role::AttnOutput => {
                if !hp.falcon {
                    if hp.n_expert == 8 {
                        if matches!(
                            f,
                            F::Q2K
                                | F::Iq3Xs
                                | F::Iq3Xxs
                                | F::Q3KS
                                | F::Q3KM
                                | F::Iq4Nl
                                | F::Q4KS
                                | F::Q4KM
                                | F::Iq3S
                                | F::Iq3M
                                | F::Iq4Xs
                        ) {
                            ty = G::Q5K;
                        }
                    } else {
                        ty = match f {
                            F::Q2K => G::Q3K,
                            F::Iq3Xxs => G::Iq3S,
                            F::Q3KM | F::Iq3M => G::Q4K,
                            F::Q3KL => G::Q5K,
                            _ => default,
                        };
                    }
                } else if f == F::Q3KL {
                    ty = G::Q4K;
                }
            }
            Role::FfnGate | Role::FfnUp => {
                let counter = if r == Role::FfnGate {
                    &mut c.ffn_gate
                } else {
                    &mut c.ffn_up
                };
                let i = if hp.n_expert > 1 { layer } else { *counter };
                if f == F::Iq3Xs && i >= n / 8 && i < 7 * n / 8 {
                    ty = G::Iq3Xxs;
                }
                *counter += 1;
            }
            _ => {}
        }
    }
    ty.fallback_for(t.cols)
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
