//! The catalog model a GGUF header describes, for the architectures whose metadata maps onto
//! one: dimensions from the metadata, checked against the tensor infos.
use super::reader::Meta;
use super::*;
/// Architectures whose GGUF metadata maps onto a catalog model: (name, gated MLP, norm).
const MAPPED_ARCHS: &[(&str, bool, Norm)] = &[
    ("llama", true, Norm::Rmsnorm),
    ("qwen2", true, Norm::Rmsnorm),
    ("gemma2", true, Norm::Rmsnorm),
    ("phi3", true, Norm::Rmsnorm),
    ("falcon", false, Norm::Layernorm),
];

/// A catalog model from the metadata of a mapped architecture; `None` with a note otherwise.
pub(super) fn model_from_meta(
    path: &Path,
    arch: &str,
    meta: &BTreeMap<String, Meta>,
    facts: &TensorFacts,
    weights: &WeightSummary,
    notes: &mut Vec<String>,
) -> Result<Option<Model>, ImportError> {
    let Some(&(_, gated, norm)) = MAPPED_ARCHS.iter().find(|(a, ..)| *a == arch) else {
        let mapped: Vec<&str> = MAPPED_ARCHS.iter().map(|(a, ..)| *a).collect();
        notes.push(format!(
            "architecture '{}' is not one llmrig maps to a model ({}): weights only",
            sanitize::name(arch),
            mapped.join(", ")
        ));
        return Ok(None);
    };
    // Missing or per-layer (array) hyperparameters leave the model out rather than guessing.
    let mut missing = Vec::new();
    let mut get = |suffix: &str| {
        let key = format!("{arch}.{suffix}");
        let v = meta.get(&key).and_then(Meta::as_u64);
        if v.is_none() {
            missing.push(key);
        }
        v
    };
    let hidden = get("embedding_length");
    let layers = get("block_count");
    let heads = get("attention.head_count");
    let ffn = get("feed_forward_length");
    let context = get("context_length");
    let vocab = facts.token_embd.map(|(_, v)| v).or_else(|| {
        meta.get(&format!("{arch}.vocab_size"))
            .or_else(|| meta.get("tokenizer.ggml.tokens"))
            .and_then(|v| match v {
                Meta::Array { len } => Some(*len),
                other => other.as_u64(),
            })
    });
    if vocab.is_none() {
        missing.push("token_embd.weight (vocabulary size)".into());
    }
    let (Some(hidden), Some(layers), Some(heads), Some(ffn), Some(context), Some(vocab)) =
        (hidden, layers, heads, ffn, context, vocab)
    else {
        notes.push(format!(
            "no model built: missing or per-layer {}",
            missing.join(", ")
        ));
        return Ok(None);
    };
    let opt = |suffix: &str| meta.get(&format!("{arch}.{suffix}")).and_then(Meta::as_u64);
    let layer0 = |t: &str| facts.layer0.contains(t);
    let norm_names = [
        "attn_norm.weight",
        "attn_norm_2.weight",
        "ffn_norm.weight",
        "post_attention_norm.weight",
        "post_ffw_norm.weight",
    ];
    let norms = norm_names.iter().filter(|n| layer0(n)).count() as u64;
    let experts = opt("expert_count").filter(|&e| e > 1);
    let sliding_window = opt("attention.sliding_window");
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| arch.to_owned());
    // Shown in every plan: no control characters, no screenful of text.
    let name = match meta.get("general.name") {
        Some(Meta::Str(n)) if !n.trim().is_empty() => sanitize::name(n),
        _ => sanitize::name(&stem),
    };
    let total = weights.params;
    let mut model = Model {
        id: kebab(&stem),
        name,
        family: arch.to_owned(),
        architecture: arch.to_owned(),
        hidden_size: hidden,
        num_hidden_layers: layers,
        num_attention_heads: heads,
        num_key_value_heads: opt("attention.head_count_kv").unwrap_or(heads),
        head_dim: opt("attention.key_length"),
        intermediate_size: ffn,
        gated_mlp: gated,
        vocab_size: vocab,
        tie_word_embeddings: !facts.has_output,
        max_position_embeddings: context,
        norm: if layer0("attn_norm.bias") {
            Norm::Layernorm
        } else {
            norm
        },
        norms_per_layer: if norms == 0 { 2 } else { norms },
        qkv_bias: layer0("attn_q.bias") || layer0("attn_qkv.bias"),
        o_bias: layer0("attn_output.bias"),
        mlp_bias: layer0("ffn_up.bias"),
        num_local_experts: experts,
        num_experts_per_tok: experts.and(opt("expert_used_count")),
        sliding_window,
        // Gemma 2 alternates sliding and global layers.
        sliding_window_layers: sliding_window
            .filter(|_| arch == "gemma2")
            .map(|_| layers.div_ceil(2)),
        native_format: weights
            .gguf_file_type
            .as_deref()
            .and_then(Precision::from_gguf_file_type),
        params_published: total,
        license: LICENSE.into(),
        source: file_url(path),
        ..skeleton()
    };
    if let Err(message) = check_ranges(&model) {
        return Err(ImportError::Gguf {
            path: path.to_path_buf(),
            message,
        });
    }
    let counts = model.param_counts();
    if model.is_moe() {
        model.active_params_published = Some(counts.active);
    }
    if differs(counts.total, total) {
        let note = format!(
            "the metadata gives {} parameters but the tensors hold {total}: params_published is the file count",
            counts.total
        );
        model.notes = Some(note.clone());
        notes.push(note);
    }
    Ok(Some(model))
}
