//! The mappings of the model families with their own field names or layer structure:
//! hybrids, interleaved and MLA MoE models, and the GPT-2-era names.
use super::arch::{get, linear_attention, llama_like, qwen_moe, window_pattern, Cfg};
use super::fields::HfConfig;
use super::skeleton;
use crate::catalog::{Model, Norm};
use crate::import::ImportError;

pub(super) fn qwen3_next(
    c: &Cfg,
    kind: &str,
    notes: &mut Vec<String>,
) -> Result<Model, ImportError> {
    let t = c.t;
    let mut m = llama_like(c, false, 262144)?;
    m.head_dim = Some(get(t.head_dim).unwrap_or(256));
    m.qk_norm = true;
    // Qwen3-Next always gates the attention output; Qwen3.5 says so in its config.
    m.attn_output_gate = kind == "qwen3_next" || t.attn_output_gate.unwrap_or(true);
    linear_attention(c, &mut m, Some([16, 32, 128, 128, 4, 4]), notes);
    if kind != "qwen3_5" {
        qwen_moe(c, &mut m, (512, 10, 512), notes);
        m.n_shared_experts = Some(1);
        m.shared_expert_intermediate_size =
            Some(get(t.shared_expert_intermediate_size).unwrap_or(512));
        m.shared_expert_gate = true;
    }
    if let Some(n) = get(t.mtp_num_hidden_layers)
        .or(get(t.num_nextn_predict_layers))
        .filter(|&n| n > 0)
    {
        notes.push(format!(
            "{n} multi-token-prediction layer(s) are stored with the weights but not in the architecture count"
        ));
    }
    Ok(m)
}

pub(super) fn llama4(c: &Cfg, notes: &mut Vec<String>) -> Result<Model, ImportError> {
    let t = c.t;
    let mut m = llama_like(c, false, 131072)?;
    // The config's intermediate_size is the expert width; the dense layers use the _mlp one.
    m.moe_intermediate_size = Some(m.intermediate_size);
    m.intermediate_size = get(t.intermediate_size_mlp).unwrap_or(16384);
    m.head_dim = Some(get(t.head_dim).unwrap_or(128));
    m.num_local_experts = Some(get(t.num_local_experts).unwrap_or(16));
    m.num_experts_per_tok = Some(get(t.num_experts_per_tok).unwrap_or(1));
    m.n_shared_experts = Some(1);
    let step = get(t.interleave_moe_layer_step).unwrap_or(1);
    m.moe_layer_step = (step > 1).then_some(step);
    if let Some(listed) = &t.moe_layers {
        let expected = (0..m.num_hidden_layers)
            .filter(|i| step > 0 && (i + 1).is_multiple_of(step))
            .count();
        if listed.len() != expected {
            notes.push(format!(
                "moe_layers lists {} layers, not every {step}-th: counted by interleave_moe_layer_step",
                listed.len()
            ));
        }
    }
    // Chunked attention on RoPE layers; every no_rope_layer_interval-th layer is global.
    if let Some(chunk) = get(t.attention_chunk_size) {
        m.sliding_window = Some(chunk);
        let interval = get(t.no_rope_layer_interval).unwrap_or(4);
        m.sliding_window_pattern =
            (interval >= 2 && interval <= m.num_hidden_layers).then_some(interval);
        if m.sliding_window_pattern.is_none() {
            m.sliding_window = None;
        }
    }
    Ok(m)
}

pub(super) fn gpt_oss(c: &Cfg, notes: &mut Vec<String>) -> Result<Model, ImportError> {
    let t = c.t;
    let mut m = llama_like(c, false, 131072)?;
    m.head_dim = Some(get(t.head_dim).unwrap_or(64));
    m.num_local_experts = Some(
        get(t.num_local_experts)
            .or(get(t.num_experts))
            .unwrap_or(128),
    );
    m.num_experts_per_tok = Some(
        get(t.num_experts_per_tok)
            .or(get(t.experts_per_token))
            .unwrap_or(4),
    );
    let bias = t.attention_bias.unwrap_or(true);
    (m.qkv_bias, m.o_bias) = (bias, bias);
    // Experts and router carry biases; every head has a learned sink.
    (m.mlp_bias, m.moe_router_bias, m.attention_sinks) = (true, true, true);
    m.sliding_window = t.sliding_window.map_or(Some(128), get);
    window_pattern(c, &mut m, Some(2), notes);
    Ok(m)
}

pub(super) fn deepseek(c: &Cfg, kind: &str, notes: &mut Vec<String>) -> Result<Model, ImportError> {
    let t = c.t;
    let mut m = llama_like(c, false, 4096)?;
    m.num_local_experts = Some(c.req(&[("n_routed_experts", t.n_routed_experts)])?);
    m.num_experts_per_tok = Some(c.req(&[("num_experts_per_tok", t.num_experts_per_tok)])?);
    m.moe_intermediate_size = Some(c.req(&[("moe_intermediate_size", t.moe_intermediate_size)])?);
    m.n_shared_experts = t.n_shared_experts.map_or(Some(1), get);
    m.first_k_dense_replace = t.first_k_dense_replace.map_or(Some(3), get);
    m.q_lora_rank = get(t.q_lora_rank);
    m.kv_lora_rank = Some(c.req(&[("kv_lora_rank", t.kv_lora_rank)])?);
    m.qk_rope_head_dim = Some(c.req(&[("qk_rope_head_dim", t.qk_rope_head_dim)])?);
    m.qk_nope_head_dim = Some(c.req(&[("qk_nope_head_dim", t.qk_nope_head_dim)])?);
    m.v_head_dim = Some(c.req(&[("v_head_dim", t.v_head_dim)])?);
    // V3 and its derivatives route with a per-expert score-correction bias (noaux_tc).
    m.moe_router_bias = match t.topk_method.as_deref() {
        Some(method) => method == "noaux_tc",
        None => kind != "deepseek_v2",
    };
    mtp_note(t, notes);
    Ok(m)
}

pub(super) fn mtp_note(t: &HfConfig, notes: &mut Vec<String>) {
    if let Some(mtp) = get(t.num_nextn_predict_layers).filter(|&n| n > 0) {
        notes.push(format!(
            "{mtp} multi-token-prediction layer(s) are stored with the weights but not in the architecture count"
        ));
    }
}

/// The GPT-2-style names (`n_embd`, `n_layer`, `n_head`, `n_inner`, `n_positions`) that GPT-2
/// and GPT-J share: multi-head attention, LayerNorm, a 4 × hidden MLP when `n_inner` is null.
pub(super) fn gpt_like(
    c: &Cfg,
    max_pos_default: u64,
    tie_default: bool,
) -> Result<Model, ImportError> {
    let t = c.t;
    let mut m = skeleton();
    m.hidden_size = c.req(&[("n_embd", t.n_embd), ("hidden_size", t.hidden_size)])?;
    m.num_hidden_layers = c.req(&[
        ("n_layer", t.n_layer),
        ("num_hidden_layers", t.num_hidden_layers),
    ])?;
    m.num_attention_heads = c.req(&[
        ("n_head", t.n_head),
        ("num_attention_heads", t.num_attention_heads),
    ])?;
    m.num_key_value_heads = m.num_attention_heads;
    m.intermediate_size = get(t.n_inner).unwrap_or(m.hidden_size.saturating_mul(4));
    m.vocab_size = c.req(&[("vocab_size", t.vocab_size)])?;
    m.max_position_embeddings = get(t.n_positions)
        .or(get(t.max_position_embeddings))
        .unwrap_or(max_pos_default);
    m.tie_word_embeddings = t.tie_word_embeddings.unwrap_or(tie_default);
    m.norm = Norm::Layernorm;
    Ok(m)
}

pub(super) fn falcon(c: &Cfg) -> Result<Model, ImportError> {
    let t = c.t;
    let mut m = skeleton();
    m.hidden_size = c.req(&[("hidden_size", t.hidden_size), ("n_embd", t.n_embd)])?;
    m.num_hidden_layers = c.req(&[
        ("num_hidden_layers", t.num_hidden_layers),
        ("n_layer", t.n_layer),
    ])?;
    m.num_attention_heads = c.req(&[
        ("num_attention_heads", t.num_attention_heads),
        ("n_head", t.n_head),
    ])?;
    let new_arch = t.new_decoder_architecture.unwrap_or(false);
    let parallel = t.parallel_attn.unwrap_or(true);
    // Falcon's KV heads: a group count with the new decoder, else one (multi-query) or all.
    m.num_key_value_heads = if new_arch {
        get(t.num_kv_heads)
            .or(get(t.n_head_kv))
            .unwrap_or(m.num_attention_heads)
    } else if t.multi_query.unwrap_or(true) {
        1
    } else {
        m.num_attention_heads
    };
    m.intermediate_size = get(t.ffn_hidden_size).unwrap_or(m.hidden_size.saturating_mul(4));
    m.vocab_size = c.req(&[("vocab_size", t.vocab_size)])?;
    m.max_position_embeddings = get(t.max_position_embeddings).unwrap_or(2048);
    m.tie_word_embeddings = t.tie_word_embeddings.unwrap_or(true);
    m.norm = Norm::Layernorm;
    m.norms_per_layer = if new_arch {
        get(t.num_ln_in_parallel_attn).unwrap_or(2)
    } else if parallel {
        1
    } else {
        2
    };
    let bias = t.bias.unwrap_or(false);
    (m.qkv_bias, m.o_bias, m.mlp_bias) = (bias, bias, bias);
    Ok(m)
}

pub(super) fn gpt_neo(c: &Cfg) -> Result<Model, ImportError> {
    let t = c.t;
    let mut m = skeleton();
    m.hidden_size = c.req(&[("hidden_size", t.hidden_size)])?;
    m.num_hidden_layers = c.req(&[
        ("num_layers", t.num_layers),
        ("num_hidden_layers", t.num_hidden_layers),
    ])?;
    m.num_attention_heads = c.req(&[
        ("num_heads", t.num_heads),
        ("num_attention_heads", t.num_attention_heads),
    ])?;
    m.num_key_value_heads = m.num_attention_heads;
    m.intermediate_size = get(t.intermediate_size).unwrap_or(m.hidden_size.saturating_mul(4));
    m.vocab_size = c.req(&[("vocab_size", t.vocab_size)])?;
    m.max_position_embeddings = get(t.max_position_embeddings).unwrap_or(2048);
    m.tie_word_embeddings = t.tie_word_embeddings.unwrap_or(true);
    m.learned_position_embeddings = true;
    m.norm = Norm::Layernorm;
    // q, k and v have no bias; the output projection and the MLP do.
    (m.o_bias, m.mlp_bias) = (true, true);
    // attention_types = [[["global", "local"], 16]]: "local" layers use a window.
    let mut local = 0u64;
    for (kinds, repeat) in t.attention_types.iter().flatten() {
        let locals = kinds.iter().filter(|k| k.as_str() == "local").count() as u64;
        local = locals
            .checked_mul(repeat.0)
            .and_then(|n| n.checked_add(local))
            .ok_or_else(|| c.err("field 'attention_types' repeats too many layers".into()))?;
    }
    if local > 0 {
        m.sliding_window = Some(get(t.window_size).unwrap_or(256));
        m.sliding_window_layers = Some(local.min(m.num_hidden_layers));
    }
    Ok(m)
}
