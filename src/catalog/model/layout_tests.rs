//! The layer structure: interleaved MoE, sliding-window patterns, KV cache and recurrent
//! state per layer kind, the newer schema fields counted by hand, and their checks.
use super::tests::{catalog, model, parse};
use super::*;

#[test]
fn maverick_interleaves_moe_and_dense_layers() {
    let m = model(&catalog(), "llama-4-maverick");
    assert_eq!(m.moe_layers(), 24);
    let moe: Vec<u64> = (0..48).filter(|&i| m.layer(i).moe).collect();
    assert_eq!(moe.first(), Some(&1));
    assert_eq!(moe.last(), Some(&47));
    assert!(moe.iter().all(|i| i % 2 == 1));
    let dense_ffn = m
        .tensors()
        .into_iter()
        .filter(|t| t.name == "ffn_down")
        .map(|t| (t.layer, t.cols))
        .collect::<Vec<_>>();
    assert_eq!(dense_ffn.len(), 24);
    assert!(dense_ffn.iter().all(|(_, cols)| *cols == 16384));
    // Scout: the same MoE in every layer.
    assert_eq!(model(&catalog(), "llama-4-scout").moe_layers(), 48);
}

#[test]
fn sliding_window_patterns_follow_the_models() {
    let cat = catalog();
    let sliding = |id: &str| model(&cat, id).sliding_layers();
    // Gemma 3: five local layers per global one, the global ones at 5, 11, ...
    assert_eq!(sliding("gemma-3-27b"), 62 - 10);
    assert_eq!(sliding("gemma-3-1b"), 26 - 4);
    let g = model(&cat, "gemma-3-27b");
    assert_eq!(g.layer(5).mixer, Mixer::Full);
    assert_eq!(g.layer(4).mixer, Mixer::Sliding);
    // gpt-oss alternates a 128-token window with full attention.
    assert_eq!(sliding("gpt-oss-120b"), 18);
    assert_eq!(model(&cat, "gpt-oss-120b").sliding_window, Some(128));
    // Llama 4's chunked attention on three of four layers.
    assert_eq!(sliding("llama-4-scout"), 36);
    // Phi-3 mini's 2047-token window on every layer.
    assert_eq!(sliding("phi-3-mini-4k"), 32);
}

#[test]
fn kv_cache_counts_only_layers_that_cache_and_caps_windows() {
    let cat = catalog();
    let gpt = model(&cat, "gpt-oss-120b");
    // 18 full layers keep 4096 tokens, 18 sliding layers 128; 8 KV heads of 64, K and V.
    let per_token = 2.0 * 8.0 * 64.0;
    assert_eq!(
        gpt.kv_cache_elements(4096, 1),
        per_token * (18.0 * 4096.0 + 18.0 * 128.0)
    );
    assert_eq!(gpt.kv_elements_per_token(1), per_token * 36.0);
    // Tensor parallelism splits the 8 KV heads, and replicates them past 8 ranks.
    assert_eq!(
        gpt.kv_cache_elements(4096, 4),
        gpt.kv_cache_elements(4096, 1) / 4.0
    );
    assert_eq!(
        gpt.kv_cache_elements(4096, 16),
        gpt.kv_cache_elements(4096, 1) / 8.0
    );
    assert_eq!(gpt.recurrent_state_elements(1), 0.0);

    // Qwen3-Next: only the 12 full-attention layers cache tokens; the 36 linear layers hold a
    // fixed state: 32 value heads x 128 x 128, plus 3 convolution steps over 8192 channels.
    let next = model(&cat, "qwen3-next-80b-a3b");
    assert_eq!(next.linear_layers(), 36);
    assert_eq!(
        next.kv_cache_elements(1000, 1),
        12.0 * 2.0 * 2.0 * 256.0 * 1000.0
    );
    let state = 36.0 * (32.0 * 128.0 * 128.0 + 8192.0 * 3.0);
    assert_eq!(next.recurrent_state_elements(1), state);
    assert_eq!(
        next.kv_cache_elements(100_000, 1) / next.kv_cache_elements(1000, 1),
        100.0,
        "the cache grows with context only in full layers"
    );
    // MLA: every TP rank keeps the whole latent.
    let ds = model(&cat, "deepseek-r1");
    assert_eq!(ds.kv_cache_elements(10, 8), 61.0 * 576.0 * 10.0);
}

#[test]
fn new_fields_count_by_hand() {
    // 2 layers, hidden 8, 2 heads of 4, LayerNorm.
    let m = parse(
        "attention_sinks = true\nqk_norm = true\nnorm = \"rmsnorm\"\nattn_output_gate = true\n\
         num_key_value_heads_per_layer = [2, 1]",
    );
    let c = m.param_counts();
    // q doubled by the output gate (8 x 16), k and v per layer heads (2 then 1 of 4), o, sinks.
    let layer = |kv: u64| 8 * 16 + 2 * 8 * kv * 4 + 8 * 8 + 2;
    assert_eq!(c.attention, layer(2) + layer(1));
    assert_eq!(c.norm, 2 * (2 * 8 + 2 * 4) + 8);
    assert_eq!(m.kv_cache_elements(3, 1), ((2 * 2 * 4 + 2 * 4) * 3) as f64);

    let moe = parse(
        "gated_mlp = true\nnum_local_experts = 4\nnum_experts_per_tok = 1\nmoe_intermediate_size = 16\n\
         n_shared_experts = 1\nshared_expert_intermediate_size = 4\nshared_expert_gate = true\n\
         moe_layer_step = 2\nvision_params = 100",
    );
    let c = moe.param_counts();
    // Layer 0 dense (3 x 8 x 32), layer 1 MoE: router, 4 experts, a 4-wide shared one, its gate.
    let expert = 3 * 8 * 16;
    assert_eq!(c.mlp, 3 * 8 * 32 + 8 * 4 + 4 * expert + 3 * 8 * 4 + 8);
    assert_eq!(c.routed_experts, 4 * expert);
    assert_eq!(c.vision, 100);
    assert_eq!(
        c.total - c.active,
        100 + 3 * expert,
        "vision and idle experts"
    );
}

#[test]
fn layout_checks_name_the_field() {
    let err = |extra: &str| parse(extra).check_layout().unwrap_err().0;
    assert_eq!(err("moe_layer_step = 2"), "moe_layer_step");
    assert_eq!(err("sliding_window_pattern = 2"), "sliding_window_pattern");
    assert_eq!(
        err("sliding_window = 4\nsliding_window_pattern = 2\nsliding_window_layers = 1"),
        "sliding_window_pattern"
    );
    assert_eq!(
        err("num_key_value_heads_per_layer = [2]"),
        "num_key_value_heads_per_layer"
    );
    assert_eq!(
        err("num_key_value_heads_per_layer = [2, 3]"),
        "num_key_value_heads_per_layer"
    );
    assert_eq!(err("full_attention_interval = 2"), "linear_num_key_heads");
    assert_eq!(err("linear_num_key_heads = 2"), "linear_num_key_heads");
    assert_eq!(
        err("shared_expert_intermediate_size = 4"),
        "shared_expert_intermediate_size"
    );
    assert_eq!(
        err("active_params_published_excludes = [\"embedding\"]"),
        "active_params_published_excludes"
    );
    assert_eq!(err("vision_params = 0"), "vision_params");
    for m in catalog().models.iter() {
        assert_eq!(m.check_layout(), Ok(()), "{}", m.id);
    }
}
