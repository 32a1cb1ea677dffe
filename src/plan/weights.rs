//! Weight bytes by role (embedding, head, decoder blocks, routed experts), so speed and offload
//! can tell what a token reads and what may stay on the host.
use super::memory::ModelMemory;
use super::request::PlanRequest;
use crate::catalog::Model;

/// Bytes of each part of the weights; the parts sum to `total`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bytes {
    /// Input token embedding (and learned positions); tied models use it as the head too.
    pub embedding: f64,
    /// Output head (0 when tied to the embedding).
    pub head: f64,
    /// Decoder blocks without routed experts: attention, dense MLPs, shared experts, routers, norms.
    pub blocks: f64,
    /// Routed expert weights of all layers.
    pub experts: f64,
    pub total: f64,
    /// Routed experts per layer, and how many a token uses (1 and 1 for dense models).
    pub experts_per_layer: f64,
    pub experts_per_token: f64,
}

impl Bytes {
    /// Bytes of the output projection every token reads (the embedding when tied).
    pub fn head_read(&self, tied: bool) -> f64 {
        if tied {
            self.embedding
        } else {
            self.head
        }
    }

    /// Share of the routed experts that `tokens` tokens of one batch touch in each layer:
    /// 1 − (1 − k/E)^tokens for uniform routing (k/E for one token, all experts for large batches).
    pub fn expert_share(&self, tokens: f64) -> f64 {
        if self.experts <= 0.0 || self.experts_per_layer <= self.experts_per_token {
            return 1.0;
        }
        let p = self.experts_per_token / self.experts_per_layer;
        1.0 - (1.0 - p).powf(tokens.max(1.0))
    }
}

/// Splits the request's weight bytes (estimated or exact) by role, in the format's proportions.
pub fn bytes(model: &Model, req: &PlanRequest, mm: &ModelMemory) -> Bytes {
    let p = model.param_counts();
    let info = req.weights.info();
    let experts_per_layer = model.num_local_experts.unwrap_or(1).max(1) as f64;
    let experts_per_token = model
        .num_experts_per_tok
        .unwrap_or(1)
        .clamp(1, experts_per_layer as u64) as f64;
    let inactive = p.total.saturating_sub(p.active) as f64;
    let expert_params = if model.is_moe() && experts_per_layer > experts_per_token {
        inactive * experts_per_layer / (experts_per_layer - experts_per_token)
    } else {
        0.0
    };
    let embedding = p.embedding as f64 * info.embedding_bits / 8.0;
    let head = p.lm_head as f64 * info.embedding_bits / 8.0;
    let experts = expert_params * info.linear_bits / 8.0;
    let blocks = ((p.linear() as f64 - expert_params).max(0.0) * info.linear_bits
        + p.norm as f64 * info.other_bits)
        / 8.0;
    let estimate = embedding + head + blocks + experts;
    // Exact file bytes keep the format's proportions between the parts.
    let scale = if estimate > 0.0 {
        mm.weights_bytes / estimate
    } else {
        0.0
    };
    Bytes {
        embedding: embedding * scale,
        head: head * scale,
        blocks: blocks * scale,
        experts: experts * scale,
        total: mm.weights_bytes,
        experts_per_layer,
        experts_per_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::plan::{memory, WeightFormat, Workload};

    #[test]
    fn mixtral_experts_dominate_and_parts_sum_to_the_total() {
        let cat = Catalog::embedded().unwrap();
        let m = cat.models.get("mixtral-8x7b").unwrap();
        let req = PlanRequest {
            weights: WeightFormat::Bf16,
            ..PlanRequest::new(Workload::Infer, 4096)
        };
        let mm = memory::model_memory(m, &req);
        let b = bytes(m, &req, &mm);
        let sum = b.embedding + b.head + b.blocks + b.experts;
        assert!((sum - b.total).abs() < 1.0, "{sum} vs {}", b.total);
        // 8 experts of 3 × 4096 × 14336 in 32 layers = 45.1 B params = 90.2 GB in bf16.
        assert!((b.experts / 1e9 - 90.2).abs() < 0.2, "{}", b.experts / 1e9);
        assert!((b.expert_share(1.0) - 0.25).abs() < 1e-12);
        assert!(b.expert_share(256.0) > 0.999);
    }
}
