//! Ranges of a model's architecture fields, shared by catalog validation and model import.
use super::*;

/// Bounds on model architecture fields: (field, least, most). Far above any published model,
/// and low enough that the parameter formula cannot overflow 64 bits. Counts that may
/// legitimately be zero have a least of 0; every size must be at least one (a zero head
/// dimension or latent rank would make the KV cache vanish).
const MODEL_LIMITS: &[(&str, u64, u64)] = &[
    ("hidden_size", 1, 1 << 17),
    ("num_hidden_layers", 1, 1 << 10),
    ("num_attention_heads", 1, 1 << 14),
    ("num_key_value_heads", 1, 1 << 14),
    ("head_dim", 1, 1 << 14),
    ("intermediate_size", 1, 1 << 20),
    ("vocab_size", 1, 1 << 24),
    ("max_position_embeddings", 1, 1 << 32),
    ("num_local_experts", 1, 1 << 12),
    ("num_experts_per_tok", 1, 1 << 12),
    ("moe_intermediate_size", 1, 1 << 20),
    ("n_shared_experts", 0, 1 << 12),
    ("first_k_dense_replace", 0, 1 << 10),
    ("q_lora_rank", 1, 1 << 17),
    ("kv_lora_rank", 1, 1 << 17),
    ("qk_rope_head_dim", 1, 1 << 14),
    ("qk_nope_head_dim", 1, 1 << 14),
    ("v_head_dim", 1, 1 << 14),
    ("sliding_window", 1, 1 << 32),
    ("sliding_window_layers", 0, 1 << 10),
    ("norms_per_layer", 1, 8),
];

/// Checks a model's architecture fields against [`MODEL_LIMITS`] and the head and expert
/// rules. Used for catalog entries and for imported models alike. The error is the field and
/// a message that starts with its value, e.g. `("head_dim", "0 is outside the accepted range
/// 1..=16384")`.
pub fn check_model_ranges(m: &Model) -> Result<(), (&'static str, String)> {
    let fields: [Option<u64>; 21] = [
        Some(m.hidden_size),
        Some(m.num_hidden_layers),
        Some(m.num_attention_heads),
        Some(m.num_key_value_heads),
        m.head_dim,
        Some(m.intermediate_size),
        Some(m.vocab_size),
        Some(m.max_position_embeddings),
        m.num_local_experts,
        m.num_experts_per_tok,
        m.moe_intermediate_size,
        m.n_shared_experts,
        m.first_k_dense_replace,
        m.q_lora_rank,
        m.kv_lora_rank,
        m.qk_rope_head_dim,
        m.qk_nope_head_dim,
        m.v_head_dim,
        m.sliding_window,
        m.sliding_window_layers,
        Some(m.norms_per_layer),
    ];
    for (&(field, min, max), value) in MODEL_LIMITS.iter().zip(fields) {
        let Some(v) = value else { continue };
        if v < min || v > max {
            return Err((
                field,
                format!("{v} is outside the accepted range {min}..={max}"),
            ));
        }
    }
    if !m.num_attention_heads.is_multiple_of(m.num_key_value_heads) {
        return Err((
            "num_key_value_heads",
            format!(
                "{} does not divide num_attention_heads = {}",
                m.num_key_value_heads, m.num_attention_heads
            ),
        ));
    }
    if let (Some(experts), Some(used)) = (m.num_local_experts, m.num_experts_per_tok) {
        if used > experts {
            return Err((
                "num_experts_per_tok",
                format!("{used} exceeds the {experts} experts"),
            ));
        }
    }
    Ok(())
}
