//! Per-`model_type` mapping of a typed config to a [`Model`], with the defaults the
//! Transformers config classes apply when a field is absent. Unknown types read the fields
//! they share with known ones.
use super::families::{deepseek, falcon, gpt_like, gpt_neo, gpt_oss, llama4, mtp_note, qwen3_next};
use super::fields::{HfConfig, Uint};
use super::{config_err, skeleton};
use crate::catalog::{Model, Norm};
use crate::import::ImportError;
use std::path::Path;

/// `model_type` values mapped here (others read the fields they share with these).
const KNOWN_TYPES: &[&str] = &[
    "llama",
    "llama4",
    "mistral",
    "mistral3",
    "mixtral",
    "qwen2",
    "qwen2_moe",
    "qwen3",
    "qwen3_moe",
    "qwen3_next",
    "qwen3_5",
    "qwen3_5_moe",
    "gemma2",
    "gemma3",
    "phi3",
    "falcon",
    "gpt2",
    "gptj",
    "gpt_neo",
    "gpt_oss",
    "deepseek_v2",
    "deepseek_v3",
    "kimi_k2",
    "glm4_moe",
    "deci",
];

/// Whether `model_type` is one llmrig has no mapping for.
pub(super) fn is_unknown(model_type: &str) -> bool {
    key(model_type).is_none()
}

/// The mapping a model type uses (text-model types of multimodal configs map with their
/// parent; Falcon's old names with Falcon).
fn key(model_type: &str) -> Option<&'static str> {
    let t = match model_type {
        "RefinedWeb" | "RefinedWebModel" => "falcon",
        "llama4_text" => "llama4",
        "gemma3_text" => "gemma3",
        "qwen3_5_text" => "qwen3_5",
        "qwen3_5_moe_text" => "qwen3_5_moe",
        other => other,
    };
    KNOWN_TYPES.iter().copied().find(|k| *k == t)
}

/// A config being read: the top level and the language model's fields (its `text_config`
/// for multimodal models), with errors that name the field.
pub(super) struct Cfg<'a> {
    pub(super) path: &'a Path,
    pub(super) model_type: &'a str,
    pub(super) t: &'a HfConfig,
}

pub(super) fn get(v: Option<Uint>) -> Option<u64> {
    v.map(|u| u.0)
}

impl Cfg<'_> {
    pub(super) fn err(&self, message: String) -> ImportError {
        config_err(
            self.path,
            format!("model_type '{}': {message}", self.model_type),
        )
    }

    /// The first of `fields` that is set, or an error naming the missing field.
    pub(super) fn req(&self, fields: &[(&str, Option<Uint>)]) -> Result<u64, ImportError> {
        fields.iter().find_map(|(_, v)| get(*v)).ok_or_else(|| {
            let aliases: Vec<String> = fields[1..].iter().map(|(n, _)| format!("'{n}'")).collect();
            let or = if aliases.is_empty() {
                String::new()
            } else {
                format!(" (or {})", aliases.join(", "))
            };
            self.err(format!("missing field '{}'{or}", fields[0].0))
        })
    }
}

/// Maps `cfg` (a config of `model_type`) to a model with its architecture fields set.
pub(super) fn map(
    path: &Path,
    model_type: &str,
    cfg: &HfConfig,
    notes: &mut Vec<String>,
) -> Result<Model, ImportError> {
    let t = cfg.text_config.as_deref().unwrap_or(cfg);
    let c = Cfg {
        path,
        model_type,
        t,
    };
    let Some(kind) = key(model_type) else {
        return unknown(&c, notes);
    };
    let m = match kind {
        "llama" => {
            let mut m = llama_like(&c, false, 2048)?;
            let bias = t.attention_bias.unwrap_or(false);
            (m.qkv_bias, m.o_bias) = (bias, bias);
            m.mlp_bias = t.mlp_bias.unwrap_or(false);
            m
        }
        "deci" => {
            let mut m = llama_like(&c, false, 2048)?;
            m.num_key_value_heads_per_layer = t
                .num_key_value_heads_per_layer
                .iter()
                .flatten()
                .map(|u| u.0)
                .collect();
            m
        }
        "mistral" | "mistral3" => {
            let mut m = llama_like(&c, false, 4096 * 32)?;
            m.sliding_window = t.sliding_window.map_or(Some(4096), get);
            m
        }
        "mixtral" => {
            let mut m = llama_like(&c, false, 4096 * 32)?;
            m.num_local_experts = Some(get(t.num_local_experts).unwrap_or(8));
            m.num_experts_per_tok = Some(get(t.num_experts_per_tok).unwrap_or(2));
            m.sliding_window = t.sliding_window.and_then(get);
            m
        }
        "qwen2" | "qwen2_moe" => {
            let mut m = llama_like(&c, false, 32768)?;
            // Qwen2 attention has biases on q, k and v only.
            m.qkv_bias = true;
            qwen_window(&c, &mut m, 28);
            if kind == "qwen2_moe" {
                qwen_moe(&c, &mut m, (60, 4, 1408), notes);
                m.n_shared_experts = Some(1);
                m.shared_expert_intermediate_size =
                    Some(get(t.shared_expert_intermediate_size).unwrap_or(5632));
                m.shared_expert_gate = true;
            }
            m
        }
        "qwen3" | "qwen3_moe" => {
            let mut m = llama_like(&c, false, 32768)?;
            m.head_dim = Some(get(t.head_dim).unwrap_or(128));
            let bias = t.attention_bias.unwrap_or(false);
            (m.qkv_bias, m.o_bias) = (bias, bias);
            m.qk_norm = true;
            qwen_window(&c, &mut m, 28);
            if kind == "qwen3_moe" {
                qwen_moe(&c, &mut m, (128, 8, 768), notes);
            }
            m
        }
        "qwen3_next" | "qwen3_5" | "qwen3_5_moe" => qwen3_next(&c, kind, notes)?,
        "gemma2" => {
            let mut m = llama_like(&c, true, 8192)?;
            m.head_dim = Some(get(t.head_dim).unwrap_or(256));
            // Pre- and post-norms around both attention and MLP.
            m.norms_per_layer = 4;
            let bias = t.attention_bias.unwrap_or(false);
            (m.qkv_bias, m.o_bias) = (bias, bias);
            // Every other layer (the even ones) uses the sliding window.
            m.sliding_window = t.sliding_window.map_or(Some(4096), get);
            if m.sliding_window.is_some() {
                m.sliding_window_layers = Some(m.num_hidden_layers.div_ceil(2));
            }
            m
        }
        "gemma3" => {
            let mut m = llama_like(&c, true, 131072)?;
            m.head_dim = Some(get(t.head_dim).unwrap_or(256));
            m.vocab_size = get(t.vocab_size).unwrap_or(262208);
            m.norms_per_layer = 4;
            m.qk_norm = true;
            m.sliding_window = t.sliding_window.map_or(Some(4096), get);
            window_pattern(&c, &mut m, get(t.sliding_window_pattern).or(Some(6)), notes);
            m
        }
        "phi3" => {
            let mut m = llama_like(&c, false, 4096)?;
            m.sliding_window = t.sliding_window.and_then(get);
            m
        }
        "llama4" => llama4(&c, notes)?,
        "gpt_oss" => gpt_oss(&c, notes)?,
        "deepseek_v2" | "deepseek_v3" | "kimi_k2" => deepseek(&c, kind, notes)?,
        "glm4_moe" => {
            let mut m = llama_like(&c, false, 131072)?;
            m.qkv_bias = t.attention_bias.unwrap_or(false);
            m.qk_norm = t.use_qk_norm.unwrap_or(false);
            m.num_local_experts = Some(c.req(&[("n_routed_experts", t.n_routed_experts)])?);
            m.num_experts_per_tok = Some(c.req(&[("num_experts_per_tok", t.num_experts_per_tok)])?);
            m.moe_intermediate_size =
                Some(c.req(&[("moe_intermediate_size", t.moe_intermediate_size)])?);
            m.n_shared_experts = t.n_shared_experts.map_or(Some(1), get);
            m.first_k_dense_replace = t.first_k_dense_replace.map_or(Some(1), get);
            // GLM-4.5 routes with a per-expert score-correction bias.
            m.moe_router_bias = true;
            mtp_note(t, notes);
            m
        }
        "falcon" => falcon(&c)?,
        "gpt2" => {
            let mut m = gpt_like(&c, 1024, true)?;
            m.learned_position_embeddings = true;
            (m.qkv_bias, m.o_bias, m.mlp_bias) = (true, true, true);
            m
        }
        "gptj" => {
            let mut m = gpt_like(&c, 2048, false)?;
            // Attention and MLP run in parallel off one LayerNorm.
            m.norms_per_layer = 1;
            m.mlp_bias = true;
            m.lm_head_bias = true;
            m
        }
        "gpt_neo" => gpt_neo(&c)?,
        _ => unreachable!("every KNOWN_TYPES entry has a mapping"),
    };
    Ok(m)
}

/// A model type llmrig does not know: the Llama-style fields every decoder config shares,
/// plus the MoE, MLA, sliding-window and linear-attention fields where they are present.
fn unknown(c: &Cfg, notes: &mut Vec<String>) -> Result<Model, ImportError> {
    let t = c.t;
    let mut m = llama_like(c, false, 2048).map_err(|e| match e {
        ImportError::Config { message, .. } => config_err(
            c.path,
            format!(
                "{message}; '{}' is not a model_type llmrig maps ({}), so it read Llama-style names",
                c.model_type,
                KNOWN_TYPES.join(", ")
            ),
        ),
        e => e,
    })?;
    let bias = t.attention_bias.unwrap_or(false);
    (m.qkv_bias, m.o_bias) = (bias, bias);
    m.mlp_bias = t.mlp_bias.unwrap_or(false);
    m.qk_norm = t.use_qk_norm.unwrap_or(false);
    let experts = get(t.num_local_experts)
        .or(get(t.num_experts))
        .or(get(t.n_routed_experts));
    if experts.is_some_and(|e| e > 1) {
        m.num_local_experts = experts;
        m.num_experts_per_tok = get(t.num_experts_per_tok).or(get(t.experts_per_token));
        m.moe_intermediate_size = get(t.moe_intermediate_size);
        m.n_shared_experts = t.n_shared_experts.and_then(get);
        m.shared_expert_intermediate_size = get(t.shared_expert_intermediate_size)
            .filter(|_| m.n_shared_experts.is_some_and(|n| n > 0));
        m.first_k_dense_replace = t.first_k_dense_replace.and_then(get);
    }
    if let (Some(kv), Some(rope), Some(nope), Some(v)) = (
        get(t.kv_lora_rank),
        get(t.qk_rope_head_dim),
        get(t.qk_nope_head_dim),
        get(t.v_head_dim),
    ) {
        (
            m.kv_lora_rank,
            m.qk_rope_head_dim,
            m.qk_nope_head_dim,
            m.v_head_dim,
        ) = (Some(kv), Some(rope), Some(nope), Some(v));
        m.q_lora_rank = get(t.q_lora_rank);
    }
    if t.use_sliding_window != Some(false) {
        m.sliding_window = t.sliding_window.and_then(get);
        window_pattern(c, &mut m, get(t.sliding_window_pattern), notes);
    }
    linear_attention(c, &mut m, None, notes);
    notes.push(format!(
        "model_type '{}' is not one llmrig maps: read as a Llama-style decoder (gated MLP, RMSNorm) from the \
         fields it shares with known ones; check the parameter count",
        c.model_type
    ));
    Ok(m)
}

/// The Llama-style fields most decoder configs share: gated MLP, RMSNorm, no biases.
pub(super) fn llama_like(
    c: &Cfg,
    tie_default: bool,
    max_pos_default: u64,
) -> Result<Model, ImportError> {
    let t = c.t;
    let mut m = skeleton();
    m.hidden_size = c.req(&[("hidden_size", t.hidden_size)])?;
    m.num_hidden_layers = c.req(&[("num_hidden_layers", t.num_hidden_layers)])?;
    m.num_attention_heads = c.req(&[("num_attention_heads", t.num_attention_heads)])?;
    m.num_key_value_heads = get(t.num_key_value_heads).unwrap_or(m.num_attention_heads);
    m.head_dim = get(t.head_dim);
    m.intermediate_size = c.req(&[("intermediate_size", t.intermediate_size)])?;
    m.vocab_size = c.req(&[("vocab_size", t.vocab_size)])?;
    m.max_position_embeddings = get(t.max_position_embeddings).unwrap_or(max_pos_default);
    m.tie_word_embeddings = t.tie_word_embeddings.unwrap_or(tie_default);
    m.gated_mlp = true;
    m.norm = Norm::Rmsnorm;
    Ok(m)
}

/// Qwen2/3 windows: `use_sliding_window` turns on a window for layers from
/// `max_window_layers` on.
fn qwen_window(c: &Cfg, m: &mut Model, full_default: u64) {
    let t = c.t;
    if t.use_sliding_window == Some(true) {
        m.sliding_window = Some(t.sliding_window.and_then(get).unwrap_or(4096));
        let full = get(t.max_window_layers).unwrap_or(full_default);
        m.sliding_window_layers = Some(m.num_hidden_layers.saturating_sub(full));
    }
}

/// Qwen MoE fields with the config class defaults (experts, per token, width); dense
/// `mlp_only_layers` map when they lead, else are noted.
pub(super) fn qwen_moe(c: &Cfg, m: &mut Model, defaults: (u64, u64, u64), notes: &mut Vec<String>) {
    let t = c.t;
    m.num_local_experts = Some(get(t.num_experts).unwrap_or(defaults.0));
    m.num_experts_per_tok = Some(get(t.num_experts_per_tok).unwrap_or(defaults.1));
    m.moe_intermediate_size = Some(get(t.moe_intermediate_size).unwrap_or(defaults.2));
    m.moe_layer_step = get(t.decoder_sparse_step).filter(|&s| s > 1);
    let dense: Vec<u64> = t.mlp_only_layers.iter().flatten().map(|u| u.0).collect();
    if !dense.is_empty() {
        if dense.iter().enumerate().all(|(i, &l)| i as u64 == l) {
            m.first_k_dense_replace = Some(dense.len() as u64);
        } else {
            notes.push(format!(
                "mlp_only_layers {dense:?} are not the leading layers: counted as MoE"
            ));
        }
    }
}

/// A sliding-window layout from `layer_types` (which layers are `full_attention`), else from
/// a pattern (every n-th layer global).
pub(super) fn window_pattern(
    c: &Cfg,
    m: &mut Model,
    pattern: Option<u64>,
    notes: &mut Vec<String>,
) {
    if m.sliding_window.is_none() {
        return;
    }
    if let Some(types) = &c.t.layer_types {
        let sliding = types
            .iter()
            .filter(|t| t.as_str() == "sliding_attention")
            .count() as u64;
        let period = periodic(types, "full_attention");
        match period {
            Some(n) if n >= 2 => m.sliding_window_pattern = Some(n),
            _ if sliding == m.num_hidden_layers => {}
            _ if sliding == 0 => m.sliding_window = None,
            _ => {
                m.sliding_window_layers = Some(sliding.min(m.num_hidden_layers));
                notes.push(format!(
                    "layer_types has {sliding} sliding layers in no regular pattern: modelled by count"
                ));
            }
        }
    } else if let Some(n) = pattern.filter(|&n| n >= 2 && n <= m.num_hidden_layers) {
        m.sliding_window_pattern = Some(n);
    }
}

/// `n` when exactly the layers n-1, 2n-1, … of `types` are `kind`.
fn periodic(types: &[String], kind: &str) -> Option<u64> {
    let first = types.iter().position(|t| t == kind)? as u64 + 1;
    types
        .iter()
        .enumerate()
        .all(|(i, t)| (t == kind) == (i as u64 + 1).is_multiple_of(first))
        .then_some(first)
}

/// Gated DeltaNet layers: `full_attention_interval` or `layer_types`, with the linear
/// attention widths. `defaults` (Qwen3-Next's: key heads, value heads, key dim, value dim,
/// kernel, interval) fill what the config leaves out; without them a config needs the fields.
pub(super) fn linear_attention(
    c: &Cfg,
    m: &mut Model,
    defaults: Option<[u64; 6]>,
    notes: &mut Vec<String>,
) {
    let t = c.t;
    let from_types = t
        .layer_types
        .as_deref()
        .filter(|types| types.iter().any(|k| k == "linear_attention"))
        .map(|types| {
            periodic(types, "full_attention").unwrap_or_else(|| {
                notes.push(
                    "layer_types mixes linear and full attention in no regular pattern: every fourth layer taken as full"
                        .into(),
                );
                4
            })
        });
    let interval = get(t.full_attention_interval)
        .or(from_types)
        .or(defaults.map(|d| d[5]));
    let Some(interval) = interval else { return };
    let d = defaults.unwrap_or([0; 6]);
    let pick = |v: Option<Uint>, default: u64| get(v).or((default > 0).then_some(default));
    m.full_attention_interval = Some(interval);
    m.linear_num_key_heads = pick(t.linear_num_key_heads, d[0]);
    m.linear_num_value_heads = pick(t.linear_num_value_heads, d[1]);
    m.linear_key_head_dim = pick(t.linear_key_head_dim, d[2]);
    m.linear_value_head_dim = pick(t.linear_value_head_dim, d[3]);
    m.linear_conv_kernel_dim = pick(t.linear_conv_kernel_dim, d[4]);
}
