//! Model architectures, with fields named as in Hugging Face `config.json`, and the exact
//! parameter count computed from them.
//!
//! The layer structure (which layers are MoE, sliding-window, linear attention) lives in
//! `layers`, the tensor inventory every count and storage format is computed from in `tensors`,
//! and the checks of the newer fields in `check`.
use crate::plan::WeightFormat;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod check;
mod layers;
mod memo;
mod tensors;

pub use layers::{Layer, Mixer};
pub use memo::Memo;
pub use tensors::{Part, Tensor, TensorKind};

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

/// A part of the model a published active count may leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActiveExclusion {
    /// The input embedding (a table lookup, no matrix product).
    Embedding,
    /// The output head.
    LmHead,
}

/// A parameter count whose arithmetic saturates, so absurd values in a user's overlay give
/// absurd counts (which validation and the planner can reject) rather than an overflow panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
    /// KV heads of each layer where they differ between layers (DeciLM's
    /// `num_key_value_heads_per_layer`); empty means `num_key_value_heads` everywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub num_key_value_heads_per_layer: Vec<u64>,
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
    /// Falcon-7B; 4 for Gemma 2 and 3).
    #[serde(default = "two")]
    pub norms_per_layer: u64,
    /// Per-head RMSNorm on queries and keys (Qwen3, Gemma 3, GLM-4.5): 2 × head_dim per layer.
    #[serde(default)]
    pub qk_norm: bool,
    /// Bias on the q, k and v projections.
    #[serde(default)]
    pub qkv_bias: bool,
    /// Bias on the attention output projection.
    #[serde(default)]
    pub o_bias: bool,
    /// Bias on the MLP projections (experts included).
    #[serde(default)]
    pub mlp_bias: bool,
    /// Bias on the output projection (GPT-J); only counted when the head is untied.
    #[serde(default)]
    pub lm_head_bias: bool,
    /// Learned per-head attention-sink logits (gpt-oss): one per query head and layer.
    #[serde(default)]
    pub attention_sinks: bool,
    /// Gated attention output (Qwen3-Next, Qwen3.5 `attn_output_gate`): the query projection
    /// also produces a per-channel output gate, doubling its width.
    #[serde(default)]
    pub attn_output_gate: bool,
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
    /// Mixture of experts: width of each shared expert (default: the routed expert width).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_expert_intermediate_size: Option<u64>,
    /// Mixture of experts: a sigmoid gate scales the shared experts' output (Qwen2-MoE,
    /// Qwen3-Next `shared_expert_gate`, a `hidden × 1` matrix).
    #[serde(default)]
    pub shared_expert_gate: bool,
    /// Mixture of experts: the first k layers use a dense MLP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_k_dense_replace: Option<u64>,
    /// Mixture of experts: after the first k dense layers, every n-th layer is MoE (layers
    /// n-1, 2n-1, …) and the others dense (Llama 4 `interleave_moe_layer_step`, Qwen
    /// `decoder_sparse_step`). Default 1: every layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe_layer_step: Option<u64>,
    /// Mixture of experts: the router has a per-expert bias (DeepSeek-V3's
    /// `e_score_correction_bias`, config `topk_method = "noaux_tc"`; gpt-oss's router bias).
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
    /// Sliding-window attention span in tokens (chunked attention's chunk for Llama 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window: Option<u64>,
    /// How many layers use the sliding window (all of them unless stated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window_layers: Option<u64>,
    /// Every n-th layer (n-1, 2n-1, …) attends globally and the others use the window:
    /// Gemma 3's `sliding_window_pattern` 6 (5 local : 1 global), gpt-oss 2, Llama 4 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window_pattern: Option<u64>,
    /// Hybrid models: every n-th layer (n-1, 2n-1, …) is full attention and the others are
    /// linear attention whose state does not grow with the context (Qwen3-Next: 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_attention_interval: Option<u64>,
    /// Linear attention (Gated DeltaNet): key heads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_num_key_heads: Option<u64>,
    /// Linear attention: value heads (each keeps a key_dim × value_dim state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_num_value_heads: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_key_head_dim: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_value_head_dim: Option<u64>,
    /// Linear attention: width of the causal convolution over q, k and v.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_conv_kernel_dim: Option<u64>,
    /// Parameters of a vision encoder and projector the checkpoint also holds (computed from
    /// its `vision_config`, see the entry's notes): counted in the total and the weights,
    /// never in the parameters a text token uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vision_params: Option<u64>,
    /// The format the official weights ship in (gpt-oss: `mxfp4`, DeepSeek: `fp8-block`); the
    /// default `--precision` for inference. None: 16-bit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_format: Option<WeightFormat>,
    /// Published total parameter count (e.g. the Hugging Face hub's safetensors count).
    pub params_published: u64,
    /// The published count includes a tied output head a second time, because the checkpoint
    /// stores `lm_head.weight` next to the embedding it is tied to (Falcon on the HF hub).
    #[serde(default)]
    pub params_published_includes_tied_head: bool,
    /// Published active parameters per token (MoE models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_params_published: Option<u64>,
    /// Parts the published active count leaves out (gpt-oss counts the output head but not
    /// the embedding).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active_params_published_excludes: Vec<ActiveExclusion>,
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
    /// Counts and weight bytes kept once the catalog has validated the entry.
    #[serde(skip)]
    pub memo: Memo,
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
    /// Attention (and linear-attention) projections in all layers.
    pub attention: u64,
    /// MLP and expert weights in all layers, routers included.
    pub mlp: u64,
    /// Of `mlp`: the routed experts' weights (what `--cpu-moe` style offload moves).
    #[serde(default)]
    pub routed_experts: u64,
    /// Norm weights and biases.
    pub norm: u64,
    /// Vision encoder and projector (multimodal checkpoints).
    #[serde(default)]
    pub vision: u64,
    /// Every parameter.
    pub total: u64,
    /// Parameters one text token touches: the total without the vision encoder and the
    /// routed experts a token does not use (equal to `total` for dense text models).
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

    /// Whether some layers are linear attention (a hybrid model).
    pub fn is_hybrid(&self) -> bool {
        self.full_attention_interval.is_some()
    }

    /// The weight format inference defaults to: the native format, else bf16.
    pub fn default_format(&self) -> WeightFormat {
        self.native_format.unwrap_or(WeightFormat::Bf16)
    }

    /// Checks the layer-structure fields (MoE interleaving, sliding patterns, per-layer heads,
    /// hybrid layers, vision, active-count conventions); the error names the field.
    pub fn check_layout(&self) -> Result<(), (&'static str, String)> {
        check::layout(self)
    }
}

#[cfg(test)]
mod layout_tests;
#[cfg(test)]
mod tests;
