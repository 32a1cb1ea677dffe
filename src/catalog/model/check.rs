//! Checks of the layer-structure fields that parsing cannot make: ranges, fields that need
//! each other, and fields that exclude each other. Catalog validation and the config.json
//! import both run them.
use super::Model;

type Fail = (&'static str, String);

fn range(field: &'static str, value: Option<u64>, lo: u64, hi: u64) -> Result<(), Fail> {
    match value {
        Some(v) if v < lo || v > hi => Err((
            field,
            format!("{v} is outside the accepted range {lo}..={hi}"),
        )),
        _ => Ok(()),
    }
}

fn needs(ok: bool, field: &'static str, message: &str) -> Result<(), Fail> {
    if ok {
        Ok(())
    } else {
        Err((field, message.to_owned()))
    }
}

/// Checks the fields that shape the layers (see [`Model::check_layout`]).
pub(super) fn layout(m: &Model) -> Result<(), Fail> {
    let layers = m.num_hidden_layers;
    range("moe_layer_step", m.moe_layer_step, 1, layers.max(1))?;
    needs(
        m.moe_layer_step.is_none() || m.is_moe(),
        "moe_layer_step",
        "needs num_local_experts > 1",
    )?;
    range(
        "shared_expert_intermediate_size",
        m.shared_expert_intermediate_size,
        1,
        1 << 20,
    )?;
    needs(
        m.shared_expert_intermediate_size.is_none() || m.n_shared_experts.is_some_and(|n| n > 0),
        "shared_expert_intermediate_size",
        "needs n_shared_experts >= 1",
    )?;
    needs(
        !m.shared_expert_gate || m.n_shared_experts.is_some_and(|n| n > 0),
        "shared_expert_gate",
        "needs n_shared_experts >= 1",
    )?;
    range(
        "sliding_window_pattern",
        m.sliding_window_pattern,
        2,
        layers.max(2),
    )?;
    needs(
        m.sliding_window_pattern.is_none() || m.sliding_window.is_some(),
        "sliding_window_pattern",
        "needs sliding_window",
    )?;
    needs(
        m.sliding_window_pattern.is_none() || m.sliding_window_layers.is_none(),
        "sliding_window_pattern",
        "give either sliding_window_pattern or sliding_window_layers, not both",
    )?;
    if !m.num_key_value_heads_per_layer.is_empty() {
        needs(
            m.num_key_value_heads_per_layer.len() as u64 == layers,
            "num_key_value_heads_per_layer",
            &format!("needs one entry per layer ({layers})"),
        )?;
        if let Some(bad) = m
            .num_key_value_heads_per_layer
            .iter()
            .find(|&&kv| kv == 0 || !m.num_attention_heads.is_multiple_of(kv))
        {
            return Err((
                "num_key_value_heads_per_layer",
                format!(
                    "{bad} KV heads do not divide the {} attention heads",
                    m.num_attention_heads
                ),
            ));
        }
    }
    let linear = [
        ("linear_num_key_heads", m.linear_num_key_heads, 1 << 12),
        ("linear_num_value_heads", m.linear_num_value_heads, 1 << 12),
        ("linear_key_head_dim", m.linear_key_head_dim, 1 << 12),
        ("linear_value_head_dim", m.linear_value_head_dim, 1 << 12),
        ("linear_conv_kernel_dim", m.linear_conv_kernel_dim, 64),
    ];
    for (field, value, hi) in linear {
        range(field, value, 1, hi)?;
        needs(
            value.is_some() == m.full_attention_interval.is_some(),
            field,
            "linear-attention fields and full_attention_interval go together",
        )?;
    }
    range(
        "full_attention_interval",
        m.full_attention_interval,
        1,
        layers.max(1),
    )?;
    needs(
        m.full_attention_interval.is_none() || !m.is_mla(),
        "full_attention_interval",
        "hybrid linear attention with MLA is not modelled",
    )?;
    range("vision_params", m.vision_params, 1, 1_000_000_000_000)?;
    needs(
        m.active_params_published_excludes.is_empty() || m.active_params_published.is_some(),
        "active_params_published_excludes",
        "needs active_params_published",
    )?;
    Ok(())
}
