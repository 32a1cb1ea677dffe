//! What each decoder layer is: its token mixer (full, sliding-window or linear attention), its
//! KV heads and whether its MLP is a mixture of experts; and the KV cache and recurrent state
//! that follow from it.
use super::Model;
use serde::Serialize;

/// How a layer mixes tokens, which decides what it caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mixer {
    /// Attention over the whole context: the KV cache grows with it.
    Full,
    /// Attention over the last `sliding_window` tokens: the cache stops growing there.
    Sliding,
    /// Linear attention (Gated DeltaNet): a fixed-size recurrent state, no KV cache.
    Linear,
}

/// One decoder layer's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    pub mixer: Mixer,
    /// KV heads of this layer's attention.
    pub kv_heads: u64,
    /// Whether the MLP is a mixture of experts.
    pub moe: bool,
}

/// Whether `index` is one of every `n`-th layer (n-1, 2n-1, …), as Transformers counts them.
fn every_nth(index: u64, n: u64) -> bool {
    n > 0 && (index + 1).is_multiple_of(n)
}

impl Model {
    /// The structure of layer `index` (0-based).
    pub fn layer(&self, index: u64) -> Layer {
        let mixer = if let Some(n) = self.full_attention_interval {
            if every_nth(index, n) {
                Mixer::Full
            } else {
                Mixer::Linear
            }
        } else if self.sliding_window.is_none() {
            Mixer::Full
        } else if let Some(n) = self.sliding_window_pattern {
            if every_nth(index, n) {
                Mixer::Full
            } else {
                Mixer::Sliding
            }
        } else {
            // A bare count: which layers it names is not modelled, only how many (the first).
            let sliding = self.sliding_window_layers.unwrap_or(self.num_hidden_layers);
            if index < sliding {
                Mixer::Sliding
            } else {
                Mixer::Full
            }
        };
        let kv_heads = usize::try_from(index)
            .ok()
            .and_then(|i| self.num_key_value_heads_per_layer.get(i))
            .copied()
            .unwrap_or(self.num_key_value_heads);
        let moe = self.is_moe()
            && index >= self.first_k_dense_replace.unwrap_or(0)
            && every_nth(index, self.moe_layer_step.unwrap_or(1));
        Layer {
            mixer,
            kv_heads,
            moe,
        }
    }

    /// Every layer, in order.
    pub fn layers(&self) -> impl Iterator<Item = Layer> + '_ {
        (0..self.num_hidden_layers).map(|i| self.layer(i))
    }

    /// Layers whose KV cache is bounded by the sliding window.
    pub fn sliding_layers(&self) -> u64 {
        self.layers().filter(|l| l.mixer == Mixer::Sliding).count() as u64
    }

    /// Linear-attention layers (no KV cache, a fixed recurrent state).
    pub fn linear_layers(&self) -> u64 {
        self.layers().filter(|l| l.mixer == Mixer::Linear).count() as u64
    }

    /// Mixture-of-experts layers.
    pub fn moe_layers(&self) -> u64 {
        self.layers().filter(|l| l.moe).count() as u64
    }

    /// KV-cache elements stored per token per layer (both K and V, or the MLA latent), for a
    /// layer with `num_key_value_heads` heads.
    pub fn kv_elements_per_token_per_layer(&self) -> u64 {
        self.kv_elements(self.num_key_value_heads, 1)
    }

    /// Elements one token caches in one attention layer with `kv_heads` heads, on one of `tp`
    /// tensor-parallel ranks: KV heads split evenly or replicated when `tp` exceeds them
    /// (vLLM's `max(1, kv // tp)`); MLA's latent is shared by all heads, so every rank keeps it.
    fn kv_elements(&self, kv_heads: u64, tp: u64) -> u64 {
        match (self.kv_lora_rank, self.qk_rope_head_dim) {
            (Some(rank), Some(rope)) => rank.saturating_add(rope),
            (Some(rank), None) => rank,
            _ => (kv_heads / tp.max(1))
                .max(1)
                .saturating_mul(2)
                .saturating_mul(self.head_dim()),
        }
    }

    /// KV-cache elements one more token adds on one of `tp` ranks, over all attention layers
    /// (sliding layers included, linear layers not).
    pub fn kv_elements_per_token(&self, tp: u64) -> f64 {
        self.layers()
            .filter(|l| l.mixer != Mixer::Linear)
            .map(|l| self.kv_elements(l.kv_heads, tp) as f64)
            .sum()
    }

    /// KV-cache elements one sequence of `context` tokens holds on one of `tp` ranks, all
    /// layers: full layers cache every token, sliding layers at most the window, linear
    /// layers none.
    pub fn kv_cache_elements(&self, context: u64, tp: u64) -> f64 {
        let window = self.sliding_window.unwrap_or(context).min(context);
        self.layers()
            .map(|l| {
                let tokens = match l.mixer {
                    Mixer::Full => context,
                    Mixer::Sliding => window,
                    Mixer::Linear => 0,
                };
                self.kv_elements(l.kv_heads, tp) as f64 * tokens as f64
            })
            .sum()
    }

    /// Recurrent-state elements one sequence holds on one of `tp` ranks, whatever its length:
    /// per linear layer, each value head's key_dim × value_dim state plus the causal
    /// convolution's last `kernel - 1` inputs over q, k and v (Gated DeltaNet).
    pub fn recurrent_state_elements(&self, tp: u64) -> f64 {
        let (Some(nk), Some(nv), Some(dk), Some(dv), Some(kernel)) = (
            self.linear_num_key_heads,
            self.linear_num_value_heads,
            self.linear_key_head_dim,
            self.linear_value_head_dim,
            self.linear_conv_kernel_dim,
        ) else {
            return 0.0;
        };
        let tp = tp.max(1) as f64;
        let (nk, nv, dk, dv) = (nk as f64, nv as f64, dk as f64, dv as f64);
        let state = (nv / tp).max(1.0) * dk * dv;
        let conv_channels = ((2.0 * nk * dk + nv * dv) / tp).max(1.0);
        let conv = conv_channels * kernel.saturating_sub(1) as f64;
        self.linear_layers() as f64 * (state + conv)
    }
}
