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
    /// Parameters of one norm over `hidden` features.
    fn params(self, hidden: u64) -> u64 {
        match self {
            Norm::Layernorm => 2 * hidden,
            Norm::Rmsnorm => hidden,
        }
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
    /// Norms per decoder layer (2 usual; 1 for parallel blocks like GPT-J; 4 for Gemma 2).
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
    /// Mixture of experts: routed experts per MoE layer.
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
        self.attention + self.mlp
    }
}

impl Model {
    /// Per-head dimension.
    pub fn head_dim(&self) -> u64 {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Whether the model uses multi-head latent attention.
    pub fn is_mla(&self) -> bool {
        self.kv_lora_rank.is_some()
    }

    /// Whether the model is a mixture of experts.
    pub fn is_moe(&self) -> bool {
        self.num_local_experts.is_some_and(|e| e > 1)
    }

    /// Attention parameters of one layer.
    fn attention_params_per_layer(&self) -> u64 {
        let h = self.hidden_size;
        let a = self.num_attention_heads;
        if let (Some(kv_rank), Some(rope), Some(nope), Some(v)) = (
            self.kv_lora_rank,
            self.qk_rope_head_dim,
            self.qk_nope_head_dim,
            self.v_head_dim,
        ) {
            // DeepSeek MLA: low-rank q (with its norm), joint KV down-projection plus the
            // decoupled rope key, KV norm, KV up-projection, output projection.
            let q = match self.q_lora_rank {
                Some(r) => h * r + r + r * a * (nope + rope),
                None => h * a * (nope + rope),
            };
            return q + h * (kv_rank + rope) + kv_rank + kv_rank * a * (nope + v) + a * v * h;
        }
        let d = self.head_dim();
        let q = h * a * d;
        let kv = 2 * h * self.num_key_value_heads * d;
        let o = a * d * h;
        let qkv_bias = if self.qkv_bias { a * d + 2 * self.num_key_value_heads * d } else { 0 };
        let o_bias = if self.o_bias { h } else { 0 };
        q + kv + o + qkv_bias + o_bias
    }

    /// Parameters of one MLP of width `width`.
    fn mlp_params(&self, width: u64) -> u64 {
        let h = self.hidden_size;
        if self.gated_mlp {
            3 * h * width + if self.mlp_bias { 2 * width + h } else { 0 }
        } else {
            2 * h * width + if self.mlp_bias { width + h } else { 0 }
        }
    }

    /// Parameter counts from the architecture alone.
    pub fn param_counts(&self) -> ParamCounts {
        let h = self.hidden_size;
        let layers = self.num_hidden_layers;
        let mut embedding = self.vocab_size * h;
        if self.learned_position_embeddings {
            embedding += self.max_position_embeddings * h;
        }
        let lm_head = if self.tie_word_embeddings { 0 } else { self.vocab_size * h };
        let attention = layers * self.attention_params_per_layer();
        let norm = layers * self.norms_per_layer * self.norm.params(h) + self.norm.params(h);

        let (mlp, inactive) = match self.num_local_experts.filter(|&e| e > 1) {
            None => (layers * self.mlp_params(self.intermediate_size), 0),
            Some(experts) => {
                let dense_layers = self.first_k_dense_replace.unwrap_or(0).min(layers);
                let moe_layers = layers - dense_layers;
                let expert = self.mlp_params(self.moe_intermediate_size.unwrap_or(self.intermediate_size));
                let shared = self.n_shared_experts.unwrap_or(0) * expert;
                let router = h * experts;
                let per_moe_layer = experts * expert + shared + router;
                let used = self.num_experts_per_tok.unwrap_or(experts).min(experts);
                (
                    dense_layers * self.mlp_params(self.intermediate_size) + moe_layers * per_moe_layer,
                    moe_layers * (experts - used) * expert,
                )
            }
        };
        let total = embedding + lm_head + attention + mlp + norm;
        ParamCounts { embedding, lm_head, attention, mlp, norm, total, active: total - inactive }
    }

    /// Layers whose KV cache is bounded by the sliding window.
    pub fn sliding_layers(&self) -> u64 {
        match self.sliding_window {
            Some(_) => self.sliding_window_layers.unwrap_or(self.num_hidden_layers).min(self.num_hidden_layers),
            None => 0,
        }
    }

    /// KV-cache elements stored per token per layer (both K and V, or the MLA latent).
    pub fn kv_elements_per_token_per_layer(&self) -> u64 {
        match (self.kv_lora_rank, self.qk_rope_head_dim) {
            // MLA caches the compressed latent plus the decoupled rope key, shared by all heads.
            (Some(rank), Some(rope)) => rank + rope,
            (Some(rank), None) => rank,
            _ => 2 * self.num_key_value_heads * self.head_dim(),
        }
    }
}
