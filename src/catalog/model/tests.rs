use super::*;
use crate::catalog::Catalog;

/// Published active counts coarser than 1 %: (id, allowed relative error), each because the
/// figure has too few significant digits to say more (the entries' notes give the computed
/// counts). DeepSeek's "37B activated": 37.55B with the input embedding and output head, 36.63B
/// without the input embedding. Qwen3-30B-A3B's "3.3B" is 3.353B rounded down. Meta's "17B"
/// for Llama 4 (17.17B, 17.18B). Kimi K2's "32B" (32.86B; 31.69B without the embedding).
/// Qwen3-Next's "3B" has one digit (3.25B without embedding and head). GLM-4.5-Air's "12B"
/// (12.18B without embedding and head).
const COARSE_ACTIVE: &[(&str, f64)] = &[
    ("deepseek-v3", 0.015),
    ("deepseek-r1", 0.015),
    ("deepseek-v3.1", 0.015),
    ("qwen3-30b-a3b", 0.02),
    ("llama-4-scout", 0.015),
    ("llama-4-maverick", 0.015),
    ("kimi-k2", 0.03),
    ("qwen3-next-80b-a3b", 0.09),
    ("glm-4.5-air", 0.02),
];

pub(super) fn catalog() -> Catalog {
    Catalog::embedded().expect("the embedded catalog loads")
}

pub(super) fn model(cat: &Catalog, id: &str) -> Model {
    cat.models
        .get(id)
        .unwrap_or_else(|| panic!("no model '{id}'"))
        .clone()
}

fn rel_err(computed: u64, published: u64) -> f64 {
    (computed as f64 - published as f64).abs() / published as f64
}

/// The computed total counted the way the published figure counts it.
fn as_published(m: &Model) -> u64 {
    let duplicate_head = m.params_published_includes_tied_head && m.tie_word_embeddings;
    m.param_counts().total
        + if duplicate_head {
            m.vocab_size * m.hidden_size
        } else {
            0
        }
}

/// The computed active count without the parts the published figure leaves out.
fn active_as_published(m: &Model) -> u64 {
    let c = m.param_counts();
    let left_out: u64 = m
        .active_params_published_excludes
        .iter()
        .map(|part| match part {
            ActiveExclusion::Embedding => c.embedding,
            ActiveExclusion::LmHead => c.lm_head,
        })
        .sum();
    c.active - left_out
}

/// A small model for hand-checked formula cases; `extra` overrides or adds TOML keys.
pub(super) fn parse(extra: &str) -> Model {
    let base = r#"
        id = "t"
        name = "t"
        family = "t"
        architecture = "t"
        hidden_size = 8
        num_hidden_layers = 2
        num_attention_heads = 2
        num_key_value_heads = 2
        intermediate_size = 32
        gated_mlp = false
        vocab_size = 10
        tie_word_embeddings = true
        max_position_embeddings = 16
        norm = "layernorm"
        params_published = 1
        license = "t"
        source = "https://example.com"
    "#;
    let mut table: toml::Table = base.parse().expect("base parses");
    table.extend(extra.parse::<toml::Table>().expect("overrides parse"));
    table.try_into().expect("test model is valid")
}

#[test]
fn every_model_total_is_within_1_percent_of_its_published_count() {
    let cat = catalog();
    let off: Vec<String> = cat
        .models
        .iter()
        .filter_map(|m| {
            let err = rel_err(as_published(m), m.params_published);
            (err > 0.01).then(|| {
                format!(
                    "{}: computed {} vs published {} ({:.3} %)",
                    m.id,
                    as_published(m),
                    m.params_published,
                    err * 100.0
                )
            })
        })
        .collect();
    assert!(
        off.is_empty(),
        "totals off by more than 1 %:\n{}",
        off.join("\n")
    );
}

#[test]
fn every_moe_active_count_is_within_1_percent_of_its_published_count() {
    let cat = catalog();
    let mut checked = 0;
    for m in cat.models.iter().filter(|m| m.is_moe()) {
        let published = m
            .active_params_published
            .unwrap_or_else(|| panic!("{}: MoE without active_params_published", m.id));
        let allowed = COARSE_ACTIVE
            .iter()
            .find(|(id, _)| *id == m.id)
            .map_or(0.01, |(_, tol)| *tol);
        let err = rel_err(active_as_published(m), published);
        assert!(
            err <= allowed,
            "{}: active {} vs published {published} ({:.3} %)",
            m.id,
            active_as_published(m),
            err * 100.0
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} MoE models");
}

#[test]
fn the_catalog_holds_the_seed_models_and_their_aliases() {
    let cat = catalog();
    assert!(cat.models.len() >= 60, "only {} models", cat.models.len());
    for id in [
        "gpt2-xl",
        "gpt-neo-2.7b",
        "gpt-j-6b",
        "gpt-3-175b",
        "falcon-7b",
        "falcon-40b",
        "falcon-180b",
        "llama-2-7b",
        "llama-2-13b",
        "llama-2-70b",
        "llama-3.1-8b",
        "llama-3.1-70b",
        "llama-3.1-405b",
        "mistral-7b",
        "mixtral-8x7b",
        "mixtral-8x22b",
        "qwen2.5-7b",
        "qwen2.5-72b",
        "deepseek-v3",
        "gemma-2-9b",
        "gemma-2-27b",
        "phi-3-mini-4k",
        // Issue 12's models.
        "llama-3.3-70b",
        "llama-4-scout",
        "llama-4-maverick",
        "qwen3-0.6b",
        "qwen3-1.7b",
        "qwen3-4b",
        "qwen3-8b",
        "qwen3-14b",
        "qwen3-32b",
        "qwen3-30b-a3b",
        "qwen3-235b-a22b",
        "qwen2.5-coder-32b",
        "qwq-32b",
        "deepseek-r1",
        "deepseek-r1-distill-qwen-1.5b",
        "deepseek-r1-distill-qwen-7b",
        "deepseek-r1-distill-qwen-14b",
        "deepseek-r1-distill-qwen-32b",
        "deepseek-r1-distill-llama-8b",
        "deepseek-r1-distill-llama-70b",
        "deepseek-v3.1",
        "gpt-oss-20b",
        "gpt-oss-120b",
        "gemma-3-1b",
        "gemma-3-4b",
        "gemma-3-12b",
        "gemma-3-27b",
        "mistral-small-3.1-24b",
        "mistral-large-2",
        "phi-4",
        "kimi-k2",
        "glm-4.5",
        "glm-4.5-air",
        "qwen3-next-80b-a3b",
    ] {
        assert!(cat.models.get(id).is_some(), "missing seed model '{id}'");
    }
    for (alias, id) in [
        ("falcon180b", "falcon-180b"),
        ("gpt2-1.5b", "gpt2-xl"),
        ("gptj", "gpt-j-6b"),
        ("Llama-2-70B", "llama-2-70b"),
    ] {
        assert_eq!(
            cat.models.resolve(alias).map(|m| m.id.as_str()).ok(),
            Some(id),
            "alias '{alias}'"
        );
    }
}

#[test]
fn exact_counts_catch_formula_regressions() {
    let cat = catalog();
    let total = |id: &str| model(&cat, id).param_counts().total;
    // Parallel block with one LayerNorm, multi-query attention, tied head.
    assert_eq!(total("falcon-7b"), 6_921_720_704);
    // Two LayerNorms per parallel block, 8 KV groups.
    assert_eq!(total("falcon-40b"), 41_303_293_952);
    // Learned positions, biases everywhere, tied head.
    assert_eq!(total("gpt2-xl"), 1_557_611_200);
    assert_eq!(total("gpt-neo-2.7b"), 2_651_307_520);
    // One LayerNorm per parallel block, MLP biases, untied head with a bias.
    assert_eq!(total("gpt-j-6b"), 6_050_882_784);
    assert_eq!(total("llama-2-7b"), 6_738_415_616);
    assert_eq!(total("llama-3.1-405b"), 405_853_388_800);
    // q/k/v biases.
    assert_eq!(total("qwen2.5-72b"), 72_706_203_648);
    // Four RMSNorms per layer, head_dim independent of hidden_size.
    assert_eq!(total("gemma-2-9b"), 9_241_705_984);
    assert_eq!(total("gemma-2-27b"), 27_227_128_320);
    let mixtral = model(&cat, "mixtral-8x7b").param_counts();
    assert_eq!(
        (mixtral.total, mixtral.active),
        (46_702_792_704, 12_879_925_248)
    );
    // MLA, shared expert, dense first layers, router bias.
    let ds = model(&cat, "deepseek-v3").param_counts();
    assert_eq!((ds.total, ds.active), (671_026_419_200, 37_552_297_472));
}

#[test]
fn parts_add_up_and_dense_models_are_fully_active() {
    for m in catalog().models.iter() {
        let c = m.param_counts();
        assert_eq!(
            c.embedding + c.lm_head + c.attention + c.mlp + c.norm + c.vision,
            c.total,
            "{}",
            m.id
        );
        assert_eq!(c.linear(), c.attention + c.mlp, "{}", m.id);
        assert_eq!(c.vision, m.vision_params.unwrap_or(0), "{}", m.id);
        assert!(c.routed_experts <= c.mlp, "{}", m.id);
        if m.is_moe() {
            assert!(c.active < c.total, "{}", m.id);
        } else {
            assert_eq!(c.active, c.total - c.vision, "{}", m.id);
        }
        if let Some(active) = m.active_params_published {
            assert!(active < m.params_published, "{}", m.id);
        }
        assert!(
            !m.params_published_includes_tied_head || m.tie_word_embeddings,
            "{}",
            m.id
        );
    }
}

#[test]
fn kv_cache_elements_follow_the_attention_kind() {
    let cat = catalog();
    let kv = |id: &str| model(&cat, id).kv_elements_per_token_per_layer();
    assert_eq!(kv("llama-3.1-8b"), 2 * 8 * 128);
    assert_eq!(kv("llama-2-7b"), 2 * 32 * 128);
    assert_eq!(kv("falcon-7b"), 2 * 64, "multi-query: one KV head");
    assert_eq!(kv("gemma-2-9b"), 2 * 8 * 256);
    assert_eq!(
        kv("deepseek-v3"),
        512 + 64,
        "MLA caches the latent and the rope key"
    );
}

#[test]
fn sliding_window_layers_default_to_all_and_stay_within_the_model() {
    let cat = catalog();
    let sliding = |id: &str| model(&cat, id).sliding_layers();
    assert_eq!(sliding("mistral-7b"), 32);
    assert_eq!(sliding("gemma-2-9b"), 21);
    assert_eq!(sliding("gpt-neo-2.7b"), 16);
    assert_eq!(sliding("llama-3.1-8b"), 0);
    for m in cat.models.iter() {
        let stated = m.sliding_window_layers.is_some() || m.sliding_window_pattern.is_some();
        assert_eq!(
            stated,
            m.sliding_window.is_some() && m.sliding_layers() < m.num_hidden_layers,
            "{}",
            m.id
        );
    }
}

#[test]
fn head_dim_prefers_the_config_then_mla_then_hidden_over_heads() {
    let cat = catalog();
    assert_eq!(model(&cat, "gemma-2-27b").head_dim(), 128);
    assert_eq!(model(&cat, "deepseek-v3").head_dim(), 128 + 64);
    assert_eq!(model(&cat, "llama-2-7b").head_dim(), 4096 / 32);
}

#[test]
fn hand_counted_small_model() {
    // 2 layers, hidden 8, 2 heads of 4, MLP 32, vocab 10, 16 positions, LayerNorm.
    let m = parse("tie_word_embeddings = true\nlearned_position_embeddings = true");
    let c = m.param_counts();
    assert_eq!(c.embedding, 10 * 8 + 16 * 8);
    assert_eq!(c.lm_head, 0);
    assert_eq!(c.attention, 2 * 4 * 8 * 8);
    assert_eq!(c.mlp, 2 * 2 * 8 * 32);
    assert_eq!(c.norm, 2 * 2 * 16 + 16);

    let untied = parse("tie_word_embeddings = false\nlm_head_bias = true\nnorms_per_layer = 1\nmlp_bias = true\no_bias = true\nqkv_bias = true");
    let c = untied.param_counts();
    assert_eq!(c.embedding, 10 * 8);
    assert_eq!(c.lm_head, 10 * 8 + 10);
    assert_eq!(c.attention, 2 * (4 * 8 * 8 + 3 * 8 + 8));
    assert_eq!(c.mlp, 2 * (2 * 8 * 32 + 32 + 8));
    assert_eq!(c.norm, 2 * 16 + 16);
}

#[test]
fn absurd_sizes_saturate_instead_of_overflowing() {
    let huge = 9_000_000_000_000_000_000_u64;
    let m = parse(&format!(
        "hidden_size = {huge}\nintermediate_size = {huge}\nhead_dim = {huge}\nnum_local_experts = {huge}\nnum_experts_per_tok = 1"
    ));
    let c = m.param_counts();
    assert_eq!(c.total, u64::MAX);
    assert_eq!(m.kv_elements_per_token_per_layer(), u64::MAX);
}

#[test]
fn hand_counted_moe_layers() {
    let m = parse(
        "tie_word_embeddings = true\ngated_mlp = true\nnorm = \"rmsnorm\"\nnum_local_experts = 4\nnum_experts_per_tok = 1\n\
         moe_intermediate_size = 16\nn_shared_experts = 1\nfirst_k_dense_replace = 1\nmoe_router_bias = true",
    );
    let c = m.param_counts();
    let expert = 3 * 8 * 16;
    assert_eq!(c.mlp, 3 * 8 * 32 + (4 * expert + expert + 8 * 4 + 4));
    assert_eq!(
        c.total - c.active,
        3 * expert,
        "three of four routed experts idle in the MoE layer"
    );
    assert_eq!(c.norm, 2 * 2 * 8 + 8);
}

#[test]
fn exact_counts_of_issue_12_models() {
    let cat = catalog();
    let counts = |id: &str| {
        let c = model(&cat, id).param_counts();
        (c.total, c.active)
    };
    // KerasHub's exact counts: q/k norms, tied embeddings on the small ones.
    assert_eq!(counts("qwen3-0.6b").0, 596_049_920);
    assert_eq!(counts("qwen3-32b").0, 32_762_123_264);
    // Every layer MoE, no shared expert.
    assert_eq!(counts("qwen3-30b-a3b"), (30_532_122_624, 3_353_032_704));
    assert_eq!(counts("qwen3-235b-a22b").0, 235_093_634_560);
    // Attention sinks, biases on attention, experts and router.
    assert_eq!(counts("gpt-oss-20b"), (20_914_757_184, 4_187_440_704));
    assert_eq!(counts("gpt-oss-120b").0, 116_829_156_672);
    // Text model plus a vision tower that no text token uses.
    assert_eq!(counts("gemma-3-1b").0, 999_885_952);
    assert_eq!(counts("gemma-3-4b").0, 4_300_079_472);
    let scout = model(&cat, "llama-4-scout").param_counts();
    assert_eq!((scout.total, scout.vision), (108_641_793_536, 871_932_416));
    assert_eq!(scout.active, 17_172_894_720);
    // Interleaved MoE: 24 MoE layers of 128 experts, 24 dense layers of 16384.
    assert_eq!(
        counts("llama-4-maverick"),
        (401_583_781_376, 17_184_691_200)
    );
    assert_eq!(
        counts("mistral-small-3.1-24b").0 - 438_958_080,
        23_572_403_200
    );
    assert_eq!(counts("phi-4").0, 14_659_507_200);
    assert_eq!(counts("llama-3.3-70b").0, 70_553_706_496);
    assert_eq!(counts("deepseek-r1-distill-qwen-1.5b").0, 1_777_088_000);
    // Hybrid: gated attention every fourth layer, Gated DeltaNet in the others, gated shared expert.
    assert_eq!(
        counts("qwen3-next-80b-a3b"),
        (79_674_391_296, 3_874_929_408)
    );
    // MLA with 384 experts: 3,416 elements under the hub's total.
    assert_eq!(counts("kimi-k2").0, 1_026_408_232_448);
}
