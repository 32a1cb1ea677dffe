//! The `config.json` fields llmrig reads, as typed values. Every other field is skipped as it
//! is parsed (never built into a JSON tree), so a padded or hostile file costs only its bytes.
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// A non-negative integer field. Other JSON types fail with a message that names what was
/// found; integral floats (`131072.0`) are accepted, as Python writes some configs so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uint(pub u64);

impl<'de> Deserialize<'de> for Uint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'v> Visitor<'v> for V {
            type Value = Uint;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-negative integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Uint, E> {
                Ok(Uint(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Uint, E> {
                u64::try_from(v)
                    .map(Uint)
                    .map_err(|_| E::custom(format!("must be a non-negative integer, found {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Uint, E> {
                if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 {
                    Ok(Uint(v as u64))
                } else {
                    Err(E::custom(format!(
                        "must be a non-negative integer, found {v}"
                    )))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Uint, E> {
                let shown: String = v.chars().take(40).collect();
                Err(E::custom(format!(
                    "must be a non-negative integer, found the string {shown:?}"
                )))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Uint, E> {
                Err(E::custom(format!(
                    "must be a non-negative integer, found {v}"
                )))
            }
            fn visit_seq<A: de::SeqAccess<'v>>(self, _: A) -> Result<Uint, A::Error> {
                Err(de::Error::custom(
                    "must be a non-negative integer, found an array",
                ))
            }
            fn visit_map<A: MapAccess<'v>>(self, _: A) -> Result<Uint, A::Error> {
                Err(de::Error::custom(
                    "must be a non-negative integer, found an object",
                ))
            }
        }
        d.deserialize_any(V)
    }
}

/// A field where absent and `null` differ (`"sliding_window": null` switches a default off):
/// `None` absent, `Some(None)` null, `Some(Some(v))` set.
pub type Nullable<T> = Option<Option<T>>;

/// Wraps a present value (null included) in `Some`, for [`Nullable`] fields.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Nullable<T>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `quantization_config`: how the checkpoint's weights are stored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QuantConfig {
    pub quant_method: Option<String>,
    /// FP8 block shape (DeepSeek: [128, 128]).
    pub weight_block_size: Option<Vec<Uint>>,
    pub bits: Option<Uint>,
    pub load_in_4bit: Option<bool>,
    pub load_in_8bit: Option<bool>,
    pub bnb_4bit_quant_type: Option<String>,
    pub bnb_4bit_use_double_quant: Option<bool>,
    /// ModelOpt (`NVFP4`, `FP8`).
    pub quant_algo: Option<String>,
    /// compressed-tensors (`nvfp4-pack-quantized`, `float-quantized`, `pack-quantized`).
    pub format: Option<String>,
}

/// The fields of a Hugging Face `config.json` (and of its `text_config`) that llmrig maps.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HfConfig {
    pub model_type: Option<String>,
    pub architectures: Option<Vec<String>>,
    #[serde(rename = "_name_or_path")]
    pub name_or_path: Option<String>,
    /// Multimodal configs (Gemma 3, Llama 4, Mistral 3) nest the language model here.
    pub text_config: Option<Box<HfConfig>>,
    /// Present in multimodal configs; its contents are not read.
    pub vision_config: Option<IgnoredAny>,
    pub quantization_config: Option<QuantConfig>,

    pub hidden_size: Option<Uint>,
    pub num_hidden_layers: Option<Uint>,
    pub num_attention_heads: Option<Uint>,
    pub num_key_value_heads: Option<Uint>,
    pub num_key_value_heads_per_layer: Option<Vec<Uint>>,
    pub head_dim: Option<Uint>,
    pub intermediate_size: Option<Uint>,
    /// Llama 4: the dense layers' width (`intermediate_size` is the expert's).
    pub intermediate_size_mlp: Option<Uint>,
    pub vocab_size: Option<Uint>,
    pub max_position_embeddings: Option<Uint>,
    pub tie_word_embeddings: Option<bool>,
    pub attention_bias: Option<bool>,
    pub mlp_bias: Option<bool>,
    pub use_qk_norm: Option<bool>,
    pub attn_output_gate: Option<bool>,

    // GPT-2 / GPT-J / Falcon / GPT-Neo names.
    pub n_embd: Option<Uint>,
    pub n_layer: Option<Uint>,
    pub n_head: Option<Uint>,
    pub n_inner: Option<Uint>,
    pub n_positions: Option<Uint>,
    pub n_head_kv: Option<Uint>,
    pub num_kv_heads: Option<Uint>,
    pub ffn_hidden_size: Option<Uint>,
    pub multi_query: Option<bool>,
    pub parallel_attn: Option<bool>,
    pub new_decoder_architecture: Option<bool>,
    pub bias: Option<bool>,
    pub num_ln_in_parallel_attn: Option<Uint>,
    pub num_layers: Option<Uint>,
    pub num_heads: Option<Uint>,
    pub window_size: Option<Uint>,
    /// GPT-Neo: `[[["global", "local"], 16]]`.
    pub attention_types: Option<Vec<(Vec<String>, Uint)>>,

    // Sliding windows.
    #[serde(deserialize_with = "present")]
    pub sliding_window: Nullable<Uint>,
    pub use_sliding_window: Option<bool>,
    pub max_window_layers: Option<Uint>,
    pub sliding_window_pattern: Option<Uint>,
    /// Per-layer kinds: `sliding_attention`, `full_attention`, `linear_attention`.
    pub layer_types: Option<Vec<String>>,
    /// Llama 4 chunked attention.
    pub attention_chunk_size: Option<Uint>,
    pub no_rope_layer_interval: Option<Uint>,
    pub no_rope_layers: Option<Vec<Uint>>,

    // Mixture of experts.
    pub num_local_experts: Option<Uint>,
    pub num_experts: Option<Uint>,
    pub n_routed_experts: Option<Uint>,
    pub num_experts_per_tok: Option<Uint>,
    pub experts_per_token: Option<Uint>,
    pub moe_intermediate_size: Option<Uint>,
    #[serde(deserialize_with = "present")]
    pub n_shared_experts: Nullable<Uint>,
    pub shared_expert_intermediate_size: Option<Uint>,
    #[serde(deserialize_with = "present")]
    pub first_k_dense_replace: Nullable<Uint>,
    pub decoder_sparse_step: Option<Uint>,
    pub mlp_only_layers: Option<Vec<Uint>>,
    pub interleave_moe_layer_step: Option<Uint>,
    pub moe_layers: Option<Vec<Uint>>,
    pub topk_method: Option<String>,
    pub num_nextn_predict_layers: Option<Uint>,
    pub mtp_num_hidden_layers: Option<Uint>,

    // Multi-head latent attention.
    pub q_lora_rank: Option<Uint>,
    pub kv_lora_rank: Option<Uint>,
    pub qk_rope_head_dim: Option<Uint>,
    pub qk_nope_head_dim: Option<Uint>,
    pub v_head_dim: Option<Uint>,

    // Hybrid linear attention (Gated DeltaNet).
    pub full_attention_interval: Option<Uint>,
    pub linear_num_key_heads: Option<Uint>,
    pub linear_num_value_heads: Option<Uint>,
    pub linear_key_head_dim: Option<Uint>,
    pub linear_value_head_dim: Option<Uint>,
    pub linear_conv_kernel_dim: Option<Uint>,
}

/// The top-level key names of a JSON object, values skipped unparsed.
pub struct Keys(pub Vec<String>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    // A config has a few dozen keys; the cap keeps a hostile one small.
                    if keys.len() < 1024 {
                        keys.push(key);
                    }
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(V)
    }
}

/// Keys llmrig reads somewhere (for the note about what an unknown architecture left unread).
pub const READ: &[&str] = &[
    "model_type",
    "architectures",
    "_name_or_path",
    "text_config",
    "vision_config",
    "quantization_config",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "num_key_value_heads_per_layer",
    "head_dim",
    "intermediate_size",
    "intermediate_size_mlp",
    "vocab_size",
    "max_position_embeddings",
    "tie_word_embeddings",
    "attention_bias",
    "mlp_bias",
    "use_qk_norm",
    "attn_output_gate",
    "n_embd",
    "n_layer",
    "n_head",
    "n_inner",
    "n_positions",
    "n_head_kv",
    "num_kv_heads",
    "ffn_hidden_size",
    "multi_query",
    "parallel_attn",
    "new_decoder_architecture",
    "bias",
    "num_ln_in_parallel_attn",
    "num_layers",
    "num_heads",
    "window_size",
    "attention_types",
    "sliding_window",
    "use_sliding_window",
    "max_window_layers",
    "sliding_window_pattern",
    "layer_types",
    "attention_chunk_size",
    "no_rope_layer_interval",
    "no_rope_layers",
    "num_local_experts",
    "num_experts",
    "n_routed_experts",
    "num_experts_per_tok",
    "experts_per_token",
    "moe_intermediate_size",
    "n_shared_experts",
    "shared_expert_intermediate_size",
    "first_k_dense_replace",
    "decoder_sparse_step",
    "mlp_only_layers",
    "interleave_moe_layer_step",
    "moe_layers",
    "topk_method",
    "num_nextn_predict_layers",
    "mtp_num_hidden_layers",
    "q_lora_rank",
    "kv_lora_rank",
    "qk_rope_head_dim",
    "qk_nope_head_dim",
    "v_head_dim",
    "full_attention_interval",
    "linear_num_key_heads",
    "linear_num_value_heads",
    "linear_key_head_dim",
    "linear_value_head_dim",
    "linear_conv_kernel_dim",
];

/// Keys that do not change memory or parameter counts (token ids, numerics, training
/// settings, rope scaling): not worth a note when an unknown architecture carries them.
pub fn is_irrelevant(key: &str) -> bool {
    const EXACT: &[&str] = &[
        "torch_dtype",
        "dtype",
        "transformers_version",
        "use_cache",
        "initializer_range",
        "hidden_act",
        "hidden_activation",
        "activation_function",
        "rope_theta",
        "rope_scaling",
        "rope_parameters",
        "partial_rotary_factor",
        "rotary_dim",
        "rotary_pct",
        "rotary_emb_base",
        "pretraining_tp",
        "query_pre_attn_scalar",
        "final_logit_softcapping",
        "attn_logit_softcapping",
        "logits_scaling",
        "embedding_multiplier",
        "router_aux_loss_coef",
        "output_router_logits",
        "router_jitter_noise",
        "norm_topk_prob",
        "routed_scaling_factor",
        "scoring_func",
        "n_group",
        "topk_group",
        "aux_loss_alpha",
        "seq_aux",
        "ep_size",
        "is_encoder_decoder",
        "auto_map",
        "model_name",
        "name_or_path",
        "swiglu_limit",
        "initial_context_length",
        "layer_norm_epsilon",
        "layer_norm_eps",
        "tokenizer_class",
        "chat_template",
        "quantization",
        "pad_token_id",
        "bos_token_id",
        "eos_token_id",
        "sep_token_id",
        "unk_token_id",
        "image_token_index",
        "boi_token_index",
        "eoi_token_index",
        "image_token_id",
        "video_token_id",
        "mm_tokens_per_image",
        "attn_implementation",
        "_attn_implementation_autoset",
        "scale_attn_weights",
        "reorder_and_upcast_attn",
        "scale_attn_by_inverse_layer_idx",
        "summary_type",
        "summary_use_proj",
        "summary_activation",
        "summary_proj_to_labels",
        "summary_first_dropout",
        "task_specific_params",
        "alibi",
        "gradient_checkpointing",
        "attn_temperature_tuning",
        "floor_scale",
        "attn_scale",
        "for_llm_compressor",
    ];
    EXACT.contains(&key)
        || key.ends_with("_eps")
        || key.ends_with("_dropout")
        || key.ends_with("dropout")
        || key.ends_with("_token_id")
        || key.ends_with("_token_ids")
        || key.starts_with("torch_")
        || key.starts_with("use_")
}
