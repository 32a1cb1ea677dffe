//! `llama_tensor_get_type` (llama.cpp src/llama-quant.cpp): the type a k-quant or i-quant
//! file type gives one tensor from its role, layer and shape, with the quantizer's counters.
use super::{GgufType, WeightFormat};
use crate::catalog::{Model, Tensor};

/// Tensor roles `llama_tensor_get_type` distinguishes (`tensor_get_category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
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

pub(super) fn role(name: &str) -> Role {
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
pub(super) struct Hparams {
    pub(super) n_layer: u64,
    pub(super) n_gqa: u64,
    pub(super) n_expert: u64,
    pub(super) falcon: bool,
    /// `LLM_TYPE_70B`: a Llama or Qwen2 with 80 layers (grouped KV heads for Llama).
    pub(super) is_70b: bool,
    pub(super) tied: bool,
    /// `n_attention_wv`: the file's attn_v-like tensors.
    pub(super) n_attention_wv: u64,
}

impl Hparams {
    pub(super) fn of(model: &Model) -> Hparams {
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

/// `use_more_bits`: the first and last eighth of layers and every third in between.
fn more_bits(i: u64, n: u64) -> bool {
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

/// The quantizer's running counters (`quantize_state_impl`).
#[derive(Default)]
pub(super) struct Counters {
    attn_v: u64,
    ffn_down: u64,
    ffn_gate: u64,
    ffn_up: u64,
}

/// Whether llama.cpp needs an importance matrix for this file type (its estimates assume one
/// exactly then, as the published table was made).
pub(super) fn has_imatrix(f: WeightFormat) -> bool {
    use WeightFormat::*;
    matches!(
        f,
        Iq1S | Iq1M | Iq2Xxs | Iq2Xs | Iq2S | Iq2M | Iq3Xxs | Iq3Xs | Q2KS
    )
}

/// `llama_tensor_get_type_impl` for one quantizable tensor.
pub(super) fn pick(
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
