//! The tensors the Hugging Face implementation builds for a model, named as llama.cpp names
//! them in GGUF files, with the shapes that decide how each storage format stores them. The
//! parameter counts are sums over this inventory, so counts and weight bytes cannot disagree.
use super::{layers::Mixer, Count, Model, ParamCounts};

/// Which bucket of [`ParamCounts`] a tensor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Embedding,
    LmHead,
    Attention,
    Mlp,
    Norm,
    Vision,
}

/// What a tensor is, for the formats that treat tensors differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorKind {
    TokenEmbedding,
    /// Learned positions (GPT-2): never quantized.
    PositionEmbedding,
    OutputHead,
    /// A projection matrix of attention, MLA or linear attention.
    AttentionMatrix,
    /// A dense MLP or shared-expert matrix.
    MlpMatrix,
    /// The routed experts of one layer (one tensor holds all of them).
    ExpertMatrix,
    /// The MoE router: every quantizer keeps it in high precision.
    Router,
    /// Norms, biases, attention sinks, convolution and state scalars: never quantized.
    Small,
    /// A multimodal checkpoint's vision encoder and projector (kept 16-bit).
    Vision,
}

/// One tensor (or, for experts, one layer's stack of expert tensors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tensor {
    /// llama.cpp's name without `blk.N.` and `.weight` (`attn_q`, `ffn_down_exps`, `attn_q.bias`).
    pub name: &'static str,
    /// Decoder layer, or None for embeddings, head and final norm.
    pub layer: Option<u64>,
    /// Input width: the row that quantization blocks run along (GGUF `ne[0]`).
    pub cols: u64,
    /// Output rows.
    pub rows: u64,
    /// Stacked copies (GGUF `ne[2]`): the routed experts, or MLA's per-head k/v matrices.
    pub planes: u64,
    pub kind: TensorKind,
    pub part: Part,
    /// A routed-expert tensor (weights or biases): a token uses `experts_per_tok` of its planes.
    pub routed: bool,
}

impl Tensor {
    /// Elements (parameters) it holds.
    pub fn elements(&self) -> u64 {
        (Count(self.cols) * Count(self.rows) * Count(self.planes)).0
    }

    /// Whether quantizing formats compress it (a matrix, not a router, norm or embedding row table).
    pub fn is_matrix(&self) -> bool {
        matches!(
            self.kind,
            TensorKind::AttentionMatrix | TensorKind::MlpMatrix | TensorKind::ExpertMatrix
        )
    }
}

/// Collects tensors for one model.
struct Inventory<'m> {
    m: &'m Model,
    out: Vec<Tensor>,
    layer: Option<u64>,
}

impl Inventory<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push_full(
        &mut self,
        name: &'static str,
        cols: u64,
        rows: u64,
        planes: u64,
        kind: TensorKind,
        part: Part,
        routed: bool,
    ) {
        self.out.push(Tensor {
            name,
            layer: self.layer,
            cols,
            rows,
            planes,
            kind,
            part,
            routed,
        });
    }

    fn matrix(&mut self, name: &'static str, cols: u64, rows: u64, kind: TensorKind, part: Part) {
        self.push_full(name, cols, rows, 1, kind, part, false);
    }

    fn small(&mut self, name: &'static str, len: u64, part: Part) {
        if len > 0 {
            self.push_full(name, len, 1, 1, TensorKind::Small, part, false);
        }
    }

    /// A norm over `features` (weight, plus a bias for LayerNorm).
    fn norm(&mut self, name: &'static str, features: u64) {
        let n = self.m.norm.params(Count(features)).0;
        self.small(name, n, Part::Norm);
    }

    /// One MLP of `width` whose matrices are `kind`: gate (if gated), up and down, with biases.
    fn mlp(&mut self, names: [&'static str; 3], width: u64, kind: TensorKind) {
        let h = self.m.hidden_size;
        if self.m.gated_mlp {
            self.matrix(names[0], h, width, kind, Part::Mlp);
        }
        self.matrix(names[1], h, width, kind, Part::Mlp);
        self.matrix(names[2], width, h, kind, Part::Mlp);
        if self.m.mlp_bias {
            let gates = if self.m.gated_mlp { 2 } else { 1 };
            self.small("ffn_up.bias", gates * width, Part::Mlp);
            self.small("ffn_down.bias", h, Part::Mlp);
        }
    }

    fn attention(&mut self, kv_heads: u64) {
        let m = self.m;
        let (h, a) = (m.hidden_size, m.num_attention_heads);
        if let (Some(kv_rank), Some(rope), Some(nope), Some(v)) = (
            m.kv_lora_rank,
            m.qk_rope_head_dim,
            m.qk_nope_head_dim,
            m.v_head_dim,
        ) {
            // DeepSeek MLA: low-rank query (down, norm, up), joint KV down-projection plus the
            // decoupled rope key, KV norm, and the per-head key and value up-projections that
            // llama.cpp stores as stacked matrices.
            let qk = (Count(a) * Count(nope + rope)).0;
            match m.q_lora_rank {
                Some(r) => {
                    self.matrix(
                        "attn_q_a",
                        h,
                        r,
                        TensorKind::AttentionMatrix,
                        Part::Attention,
                    );
                    self.norm("attn_q_a_norm", r);
                    self.matrix(
                        "attn_q_b",
                        r,
                        qk,
                        TensorKind::AttentionMatrix,
                        Part::Attention,
                    );
                }
                None => self.matrix(
                    "attn_q",
                    h,
                    qk,
                    TensorKind::AttentionMatrix,
                    Part::Attention,
                ),
            }
            let kv_a = kv_rank.saturating_add(rope);
            self.matrix(
                "attn_kv_a_mqa",
                h,
                kv_a,
                TensorKind::AttentionMatrix,
                Part::Attention,
            );
            self.norm("attn_kv_a_norm", kv_rank);
            let k = TensorKind::AttentionMatrix;
            self.push_full("attn_k_b", nope, kv_rank, a, k, Part::Attention, false);
            self.push_full("attn_v_b", kv_rank, v, a, k, Part::Attention, false);
            let o = (Count(a) * Count(v)).0;
            self.matrix("attn_output", o, h, k, Part::Attention);
            return;
        }
        let d = m.head_dim();
        let q = (Count(a) * Count(d)).0;
        let kv = (Count(kv_heads) * Count(d)).0;
        let gate = if m.attn_output_gate { 2 } else { 1 };
        let k = TensorKind::AttentionMatrix;
        self.matrix("attn_q", h, q.saturating_mul(gate), k, Part::Attention);
        self.matrix("attn_k", h, kv, k, Part::Attention);
        self.matrix("attn_v", h, kv, k, Part::Attention);
        self.matrix("attn_output", q, h, k, Part::Attention);
        if m.qkv_bias {
            self.small("attn_q.bias", q, Part::Attention);
            self.small("attn_k.bias", kv, Part::Attention);
            self.small("attn_v.bias", kv, Part::Attention);
        }
        if m.o_bias {
            self.small("attn_output.bias", h, Part::Attention);
        }
        if m.qk_norm {
            self.norm("attn_q_norm", d);
            self.norm("attn_k_norm", d);
        }
        if m.attention_sinks {
            self.small("attn_sinks", a, Part::Attention);
        }
    }

    /// Gated DeltaNet (Qwen3-Next): q/k/v and the output gate z from the hidden state, beta and
    /// alpha per value head, a depthwise causal convolution over q/k/v, per-head decay
    /// (`A_log`) and step (`dt_bias`), a gated RMSNorm over the head dimension, the output.
    fn linear_attention(&mut self) {
        let m = self.m;
        let get = |v: Option<u64>| v.unwrap_or(0);
        let (nk, nv) = (get(m.linear_num_key_heads), get(m.linear_num_value_heads));
        let (dk, dv) = (get(m.linear_key_head_dim), get(m.linear_value_head_dim));
        let h = m.hidden_size;
        let key = (Count(nk) * Count(dk)).0;
        let value = (Count(nv) * Count(dv)).0;
        let qkv = (Count(2) * Count(key) + Count(value)).0;
        let k = TensorKind::AttentionMatrix;
        self.matrix("attn_qkv", h, qkv, k, Part::Attention);
        self.matrix("attn_gate", h, value, k, Part::Attention);
        self.matrix("ssm_ba", h, nv.saturating_mul(2), k, Part::Attention);
        let conv = (Count(qkv) * Count(get(m.linear_conv_kernel_dim))).0;
        self.small("ssm_conv1d", conv, Part::Attention);
        self.small("ssm_a", nv, Part::Attention);
        self.small("ssm_dt", nv, Part::Attention);
        self.small("ssm_norm", dv, Part::Norm);
        self.matrix("ssm_out", value, h, k, Part::Attention);
    }

    fn moe(&mut self) {
        let m = self.m;
        let h = m.hidden_size;
        let experts = m.num_local_experts.unwrap_or(1);
        let width = m.moe_intermediate_size.unwrap_or(m.intermediate_size);
        self.matrix("ffn_gate_inp", h, experts, TensorKind::Router, Part::Mlp);
        if m.moe_router_bias {
            self.small("ffn_gate_inp.bias", experts, Part::Mlp);
        }
        let e = TensorKind::ExpertMatrix;
        if m.gated_mlp {
            self.push_full("ffn_gate_exps", h, width, experts, e, Part::Mlp, true);
        }
        self.push_full("ffn_up_exps", h, width, experts, e, Part::Mlp, true);
        self.push_full("ffn_down_exps", width, h, experts, e, Part::Mlp, true);
        if m.mlp_bias {
            let gates = if m.gated_mlp { 2 } else { 1 };
            let s = TensorKind::Small;
            self.push_full(
                "ffn_up_exps.bias",
                gates * width,
                1,
                experts,
                s,
                Part::Mlp,
                true,
            );
            self.push_full("ffn_down_exps.bias", h, 1, experts, s, Part::Mlp, true);
        }
        if let Some(n) = m.n_shared_experts.filter(|&n| n > 0) {
            let shared = m.shared_expert_intermediate_size.unwrap_or(width);
            let names = ["ffn_gate_shexp", "ffn_up_shexp", "ffn_down_shexp"];
            self.mlp(names, (Count(n) * Count(shared)).0, TensorKind::MlpMatrix);
        }
        if m.shared_expert_gate {
            self.matrix("ffn_gate_inp_shexp", h, 1, TensorKind::MlpMatrix, Part::Mlp);
        }
    }
}

/// Names of a layer's block norms by how many there are (llama.cpp's names).
const BLOCK_NORMS: [&str; 8] = [
    "attn_norm",
    "ffn_norm",
    "post_attention_norm",
    "post_ffw_norm",
    "norm_4",
    "norm_5",
    "norm_6",
    "norm_7",
];

impl Model {
    /// Every tensor the model's implementation builds (tied weights once, buffers not at all).
    pub fn tensors(&self) -> Vec<Tensor> {
        let h = self.hidden_size;
        let mut inv = Inventory {
            m: self,
            out: Vec::new(),
            layer: None,
        };
        let v = self.vocab_size;
        inv.matrix(
            "token_embd",
            h,
            v,
            TensorKind::TokenEmbedding,
            Part::Embedding,
        );
        if self.learned_position_embeddings {
            let pos = self.max_position_embeddings;
            inv.push_full(
                "position_embd",
                h,
                pos,
                1,
                TensorKind::PositionEmbedding,
                Part::Embedding,
                false,
            );
        }
        if !self.tie_word_embeddings {
            inv.matrix("output", h, v, TensorKind::OutputHead, Part::LmHead);
            if self.lm_head_bias {
                inv.small("output.bias", v, Part::LmHead);
            }
        }
        inv.norm("output_norm", h);
        if let Some(vision) = self.vision_params.filter(|&v| v > 0) {
            inv.push_full(
                "vision",
                vision,
                1,
                1,
                TensorKind::Vision,
                Part::Vision,
                false,
            );
        }
        let norms = self.norms_per_layer.min(BLOCK_NORMS.len() as u64) as usize;
        for i in 0..self.num_hidden_layers {
            inv.layer = Some(i);
            let layer = self.layer(i);
            for name in &BLOCK_NORMS[..norms] {
                inv.norm(name, h);
            }
            match layer.mixer {
                Mixer::Linear => inv.linear_attention(),
                Mixer::Full | Mixer::Sliding => inv.attention(layer.kv_heads),
            }
            if layer.moe {
                inv.moe();
            } else {
                let names = ["ffn_gate", "ffn_up", "ffn_down"];
                inv.mlp(names, self.intermediate_size, TensorKind::MlpMatrix);
            }
        }
        inv.out
    }

    /// Parameter counts from the architecture alone, as the Hugging Face implementation builds
    /// the model (tied weights counted once, non-trainable buffers not at all).
    pub fn param_counts(&self) -> ParamCounts {
        self.memo.counts(|| self.count_params())
    }

    fn count_params(&self) -> ParamCounts {
        let mut c = ParamCounts::default();
        let used = self.num_experts_per_tok.unwrap_or(u64::MAX);
        let mut idle = Count(0);
        for t in self.tensors() {
            let n = t.elements();
            let slot = match t.part {
                Part::Embedding => &mut c.embedding,
                Part::LmHead => &mut c.lm_head,
                Part::Attention => &mut c.attention,
                Part::Mlp => &mut c.mlp,
                Part::Norm => &mut c.norm,
                Part::Vision => &mut c.vision,
            };
            *slot = slot.saturating_add(n);
            if t.routed {
                c.routed_experts = c.routed_experts.saturating_add(n);
                let per_expert = Count(t.cols) * Count(t.rows);
                idle = idle + per_expert * Count(t.planes.saturating_sub(used.min(t.planes)));
            }
        }
        c.total = [c.embedding, c.lm_head, c.attention, c.mlp, c.norm, c.vision]
            .into_iter()
            .fold(0u64, u64::saturating_add);
        c.active = (Count(c.total) - Count(c.vision) - idle).0;
        c
    }
}
