//! Model architectures, with fields named as in Hugging Face `config.json`, and the exact
//! parameter count computed from them.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Normalisation layer type: LayerNorm has a weight and a bias, RMSNorm a weight only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    Layernorm,
    Rmsnorm,
}

impl Norm {
    /// Parameters of one norm over `features` features.
    fn params(self, features: Count) -> Count {
        match self {
            Norm::Layernorm => Count(2) * features,
            Norm::Rmsnorm => features,
        }
    }
}

/// A parameter count whose arithmetic saturates, so absurd values in a user's overlay give
/// absurd counts (which validation and the planner can reject) rather than an overflow panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Count(u64);

impl std::ops::Add for Count {
    type Output = Count;
    fn add(self, rhs: Count) -> Count {
        Count(self.0.saturating_add(rhs.0))
    }
}

impl std::ops::Sub for Count {
    type Output = Count;
    fn sub(self, rhs: Count) -> Count {
        Count(self.0.saturating_sub(rhs.0))
    }
}

impl std::ops::Mul for Count {
    type Output = Count;
    fn mul(self, rhs: Count) -> Count {
        Count(self.0.saturating_mul(rhs.0))
    }
}

/// `value` when `on`, else nothing.
fn when(on: bool, value: Count) -> Count {
    if on {
        value
    } else {
        Count(0)
    }
}

/// One model architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Lowercase kebab id, e.g. `falcon-180b`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other names that resolve to this entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Model family, e.g. `llama`.
    pub family: String,
    /// Hugging Face repository the config comes from, e.g. `tiiuae/falcon-180B`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hf_repo: Option<String>,
    /// Hugging Face architecture class, e.g. `LlamaForCausalLM`.
    pub architecture: String,
    pub hidden_size: u64,
    pub num_hidden_layers: u64,
    pub num_attention_heads: u64,
    /// KV heads; equal to `num_attention_heads` for MHA, 1 for MQA.
    pub num_key_value_heads: u64,
    /// Per-head dimension; defaults to `hidden_size / num_attention_heads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<u64>,
    /// MLP width (dense layers).
    pub intermediate_size: u64,
    /// Gated MLP (SwiGLU/GeGLU: gate, up, down) rather than two matrices.
    pub gated_mlp: bool,
    pub vocab_size: u64,
    pub tie_word_embeddings: bool,
    /// Longest context the model supports.
    pub max_position_embeddings: u64,
    /// Learned absolute position embeddings (GPT-2 style), counted as parameters.
    #[serde(default)]
    pub learned_position_embeddings: bool,
    pub norm: Norm,
    /// Norms per decoder layer (2 usual; 1 for one-norm parallel blocks like GPT-J and
    /// Falcon-7B; 4 for Gemma 2).
    #[serde(default = "two")]
    pub norms_per_layer: u64,
    /// Bias on the q, k and v projections.
    #[serde(default)]
    pub qkv_bias: bool,
    /// Bias on the attention output projection.
    #[serde(default)]
    pub o_bias: bool,
    /// Bias on the MLP projections.
    #[serde(default)]
    pub mlp_bias: bool,
    /// Bias on the output projection (GPT-J); only counted when the head is untied.
    #[serde(default)]
    pub lm_head_bias: bool,
    /// Mixture of experts: routed experts per MoE layer (DeepSeek's `n_routed_experts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_local_experts: Option<u64>,
    /// Mixture of experts: routed experts each token uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_experts_per_tok: Option<u64>,
    /// Mixture of experts: width of one expert if it differs from `intermediate_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe_intermediate_size: Option<u64>,
    /// Mixture of experts: always-active shared experts per MoE layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_shared_experts: Option<u64>,
    /// Mixture of experts: the first k layers use a dense MLP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_k_dense_replace: Option<u64>,
    /// Mixture of experts: the router has a per-expert bias (DeepSeek-V3's
    /// `e_score_correction_bias`, config `topk_method = "noaux_tc"`).
    #[serde(default)]
    pub moe_router_bias: bool,
    /// Multi-head latent attention (DeepSeek): rank of the query compression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q_lora_rank: Option<u64>,
    /// Multi-head latent attention: rank of the compressed KV latent (what the cache stores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_lora_rank: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qk_rope_head_dim: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qk_nope_head_dim: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v_head_dim: Option<u64>,
    /// Sliding-window attention span in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window: Option<u64>,
    /// How many layers use the sliding window (all of them unless stated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window_layers: Option<u64>,
    /// Published total parameter count (e.g. the Hugging Face hub's safetensors count).
    pub params_published: u64,
    /// The published count includes a tied output head a second time, because the checkpoint
    /// stores `lm_head.weight` next to the embedding it is tied to (Falcon on the HF hub).
    #[serde(default)]
    pub params_published_includes_tied_head: bool,
    /// Published active parameters per token (MoE models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_params_published: Option<u64>,
    /// Licence identifier or name.
    pub license: String,
    /// Main source (URL) for the entry's figures.
    pub source: String,
    /// Per-field sources where they differ from `source` (field name -> URL).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
    /// Caveats and uncertainties a user should see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

fn two() -> u64 {
    2
}

/// Parameter counts by role, so the planner can keep some tensors unquantized.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamCounts {
    /// Token (and learned position) embeddings.
    pub embedding: u64,
    /// Output projection; 0 when tied to the embedding.
    pub lm_head: u64,
    /// Attention projections in all layers.
    pub attention: u64,
    /// MLP and expert weights in all layers, routers included.
    pub mlp: u64,
    /// Norm weights and biases.
    pub norm: u64,
    /// Every parameter.
    pub total: u64,
    /// Parameters one token touches (equal to `total` for dense models).
    pub active: u64,
}

impl ParamCounts {
    /// Parameters inside the decoder layers' linear projections (what weight quantizers compress).
    pub fn linear(&self) -> u64 {
        self.attention.saturating_add(self.mlp)
    }
}

impl Model {
    /// Per-head dimension: `head_dim` when set, the query/key head of multi-head latent
    /// attention (`qk_nope_head_dim + qk_rope_head_dim`), else `hidden_size / num_attention_heads`.
    pub fn head_dim(&self) -> u64 {
        if let Some(d) = self.head_dim {
            return d;
        }
        match (self.qk_nope_head_dim, self.qk_rope_head_dim) {
            (Some(nope), Some(rope)) => nope.saturating_add(rope),
            _ => self.hidden_size / self.num_attention_heads.max(1),
        }
    }

    /// Whether the model uses multi-head latent attention.
    pub fn is_mla(&self) -> bool {
        self.kv_lora_rank.is_some()
    }

    /// Whether the model is a mixture of experts.
    pub fn is_moe(&self) -> bool {
        self.num_local_experts.is_some_and(|e| e > 1)
    }

    /// Attention parameters of one layer: (projection weights and biases, norms inside the block).
    fn attention_params_per_layer(&self) -> (Count, Count) {
        let h = Count(self.hidden_size);
        let a = Count(self.num_attention_heads);
        if let (Some(kv_rank), Some(rope), Some(nope), Some(v)) = (
            self.kv_lora_rank,
            self.qk_rope_head_dim,
            self.qk_nope_head_dim,
            self.v_head_dim,
        ) {
            let (kv_rank, rope, nope, v) = (Count(kv_rank), Count(rope), Count(nope), Count(v));
            // DeepSeek MLA: low-rank query (down, norm, up), joint KV down-projection plus the
            // decoupled rope key, KV norm, KV up-projection to per-head keys and values, output.
            let (q, q_norm) = match self.q_lora_rank.map(Count) {
                Some(r) => (h * r + r * a * (nope + rope), self.norm.params(r)),
                None => (h * a * (nope + rope), Count(0)),
            };
            let kv = h * (kv_rank + rope) + kv_rank * a * (nope + v);
            let o = a * v * h;
            return (q + kv + o, q_norm + self.norm.params(kv_rank));
        }
        let d = Count(self.head_dim());
        let kv_heads = Count(self.num_key_value_heads);
        let q = h * a * d;
        let kv = Count(2) * h * kv_heads * d;
        let o = a * d * h;
        let qkv_bias = when(self.qkv_bias, a * d + Count(2) * kv_heads * d);
        (q + kv + o + qkv_bias + when(self.o_bias, h), Count(0))
    }

    /// Parameters of one MLP of width `width`.
    fn mlp_params(&self, width: u64) -> Count {
        let (h, w) = (Count(self.hidden_size), Count(width));
        if self.gated_mlp {
            Count(3) * h * w + when(self.mlp_bias, Count(2) * w + h)
        } else {
            Count(2) * h * w + when(self.mlp_bias, w + h)
        }
    }

    /// Parameter counts from the architecture alone, as the Hugging Face implementation builds
    /// the model (tied weights counted once, non-trainable buffers not at all).
    pub fn param_counts(&self) -> ParamCounts {
        let h = Count(self.hidden_size);
        let layers = Count(self.num_hidden_layers);
        let vocab = Count(self.vocab_size);
        let embedding = vocab * h
            + when(
                self.learned_position_embeddings,
                Count(self.max_position_embeddings) * h,
            );
        let lm_head = when(
            !self.tie_word_embeddings,
            vocab * h + when(self.lm_head_bias, vocab),
        );
        let (attention_per_layer, attention_norms) = self.attention_params_per_layer();
        let attention = layers * attention_per_layer;
        // Block norms (2 usual, 1 parallel, 4 Gemma 2), norms inside MLA, and the final norm.
        let norm = layers * (Count(self.norms_per_layer) * self.norm.params(h) + attention_norms)
            + self.norm.params(h);

        let (mlp, inactive) = match self.num_local_experts.filter(|&e| e > 1) {
            None => (layers * self.mlp_params(self.intermediate_size), Count(0)),
            Some(experts) => {
                let dense_layers = self
                    .first_k_dense_replace
                    .unwrap_or(0)
                    .min(self.num_hidden_layers);
                let moe_layers = Count(self.num_hidden_layers - dense_layers);
                let used = self.num_experts_per_tok.unwrap_or(experts).min(experts);
                let (experts, idle) = (Count(experts), Count(experts - used));
                let expert =
                    self.mlp_params(self.moe_intermediate_size.unwrap_or(self.intermediate_size));
                let shared = Count(self.n_shared_experts.unwrap_or(0)) * expert;
                let router = h * experts + when(self.moe_router_bias, experts);
                (
                    Count(dense_layers) * self.mlp_params(self.intermediate_size)
                        + moe_layers * (experts * expert + shared + router),
                    moe_layers * idle * expert,
                )
            }
        };
        let total = embedding + lm_head + attention + mlp + norm;
        ParamCounts {
            embedding: embedding.0,
            lm_head: lm_head.0,
            attention: attention.0,
            mlp: mlp.0,
            norm: norm.0,
            total: total.0,
            active: (total - inactive).0,
        }
    }

    /// Layers whose KV cache is bounded by the sliding window.
    pub fn sliding_layers(&self) -> u64 {
        match self.sliding_window {
            Some(_) => self
                .sliding_window_layers
                .unwrap_or(self.num_hidden_layers)
                .min(self.num_hidden_layers),
            None => 0,
        }
    }

    /// KV-cache elements stored per token per layer (both K and V, or the MLA latent).
    pub fn kv_elements_per_token_per_layer(&self) -> u64 {
        match (self.kv_lora_rank, self.qk_rope_head_dim) {
            // MLA caches the compressed latent plus the decoupled rope key, shared by all heads.
            (Some(rank), Some(rope)) => rank.saturating_add(rope),
            (Some(rank), None) => rank,
            _ => (Count(2) * Count(self.num_key_value_heads) * Count(self.head_dim())).0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    /// Published active counts coarser than 1 %: (id, allowed relative error). DeepSeek's
    /// "37B activated" has two significant digits; the architecture gives 37.55B with the
    /// input embedding and output head (see models_db/deepseek.toml).
    const COARSE_ACTIVE: &[(&str, f64)] = &[("deepseek-v3", 0.015)];

    fn catalog() -> Catalog {
        Catalog::embedded().expect("the embedded catalog loads")
    }

    fn model(cat: &Catalog, id: &str) -> Model {
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

    /// A small model for hand-checked formula cases; `extra` overrides or adds TOML keys.
    fn parse(extra: &str) -> Model {
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
            let err = rel_err(m.param_counts().active, published);
            assert!(
                err <= allowed,
                "{}: active {} vs published {published} ({:.3} %)",
                m.id,
                m.param_counts().active,
                err * 100.0
            );
            checked += 1;
        }
        assert!(checked >= 3, "expected Mixtral 8x7B, 8x22B and DeepSeek-V3");
    }

    #[test]
    fn the_catalog_holds_the_seed_models_and_their_aliases() {
        let cat = catalog();
        assert!(cat.models.len() >= 25, "only {} models", cat.models.len());
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
                c.embedding + c.lm_head + c.attention + c.mlp + c.norm,
                c.total,
                "{}",
                m.id
            );
            assert_eq!(c.linear(), c.attention + c.mlp, "{}", m.id);
            if m.is_moe() {
                assert!(c.active < c.total, "{}", m.id);
            } else {
                assert_eq!(c.active, c.total, "{}", m.id);
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
            assert_eq!(
                m.sliding_window_layers.is_some(),
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
}
