//! Every number the planner assumes, named, with its reason. Plans list the ones they used, so a
//! user sees each assumption next to the answer and can override the tunable ones.
use serde::Serialize;

/// One assumption as shown to the user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assumption {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    #[serde(serialize_with = "trimmed")]
    pub why: &'static str,
}

/// Doc comments start with a space; the text shown to users does not.
fn trimmed<S: serde::Serializer>(why: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(why.trim())
}

impl Assumption {
    /// The reason, without the doc comment's leading space.
    pub fn reason(&self) -> &'static str {
        self.why.trim()
    }
}

macro_rules! constants {
    ($($(#[doc = $doc:literal])* $name:ident: $value:expr, $unit:literal;)*) => {
        $($(#[doc = $doc])* pub const $name: f64 = $value;)*
        /// Every planner constant with its documentation, for display.
        pub const ALL: &[Assumption] = &[
            $(Assumption { name: stringify!($name), value: $value, unit: $unit, why: concat!($($doc),*) },)*
        ];
    };
}

constants! {
    /// Fraction of GPU memory the planner lets a plan use; the rest absorbs fragmentation and
    /// allocator slack (vLLM reserves 10 % by default with gpu_memory_utilization 0.90).
    USABLE_VRAM_FRACTION: 0.92, "fraction";
    /// CUDA context, cuBLAS workspaces and kernels loaded per GPU (PyTorch allocates 300 MiB to
    /// 2 GiB at CUDA init; gpu_poor uses 650 MB).
    CUDA_CONTEXT_GIB: 1.0, "GiB per GPU";
    /// NCCL communication buffers per GPU when a layout spans more than one GPU.
    COMM_BUFFER_GIB: 0.5, "GiB per GPU";
    /// Tokens in one prefill chunk for the inference activation peak (vLLM's chunked-prefill
    /// default of 2048 batched tokens); activations are freed layer by layer.
    PREFILL_CHUNK_TOKENS: 2048.0, "tokens";
    /// Hidden-size activation copies alive at once in one inference layer (residual, normed
    /// input, attention output, projection output).
    INFER_HIDDEN_COPIES: 4.0, "copies of hidden";
    /// Bytes per logit; logits are kept in fp32 for sampling.
    LOGIT_BYTES: 4.0, "bytes";
    /// Decode speed as a fraction of the memory-bandwidth roofline; llama.cpp runs measured
    /// 49-87 % of it (A100, RTX 4090; planner.md §3.5).
    DECODE_BANDWIDTH_EFFICIENCY: 0.7, "fraction";
    /// Prefill speed as a fraction of dense tensor peak (model FLOPs utilisation).
    PREFILL_MFU: 0.5, "fraction";
    /// Training model FLOPs utilisation; large dense runs report 40-50 % (Falcon-180B implied 48 %).
    TRAIN_MFU: 0.4, "fraction";
    /// Bytes of the bf16 working copy of each weight in mixed-precision training.
    TRAIN_WEIGHT_BYTES: 2.0, "bytes/param";
    /// Adam in mixed precision: fp32 master weights, momentum and variance (ZeRO paper K = 12).
    ADAM_STATE_BYTES: 12.0, "bytes/param";
    /// DeepSpeed ZeRO-3 keeps gathered parameters alive: 4 bytes × the largest tensor
    /// (estimate_zero3_model_states_mem_needs).
    ZERO3_LIVE_BYTES_PER_PARAM: 4.0, "bytes × largest tensor";
    /// Host RAM for loading: at least the weights one node holds, plus the OS and runtime.
    RAM_PER_WEIGHT_BYTE: 1.0, "bytes RAM / byte of weights";
    /// Host RAM beyond the weights for the OS, data loaders and the runtime.
    RAM_BASE_GIB: 32.0, "GiB";
    /// NVMe capacity per byte of model files: one downloaded copy and one converted copy.
    STORAGE_PER_WEIGHT_BYTE: 2.0, "bytes disk / byte of weights";
    /// NVMe capacity for the OS, environments and datasets.
    STORAGE_BASE_GB: 500.0, "GB";
    /// Board, RAM, drives and fans of a workstation beyond CPU and GPUs.
    SYSTEM_BASE_W: 150.0, "W";
    /// PSU capacity over the steady DC load, for GPU power transients (a 1600 W PSU fed four
    /// RTX 4090s peaking above 2200 W system draw; specs.md §B1).
    PSU_HEADROOM: 1.3, "× DC load";
    /// PSU efficiency when the catalog PSU is unknown (80 PLUS Platinum at 50 % load).
    DEFAULT_PSU_EFFICIENCY: 0.92, "fraction";
    /// Idle GPU power as a fraction of TDP; an assumption, measure yours with `llmrig probe`.
    GPU_IDLE_FRACTION: 0.15, "× TDP";
    /// Hours in an average month (8,760 h / 12).
    HOURS_PER_MONTH: 730.0, "h";
    /// Age past which a price is flagged as old: street and used prices of GPUs move within
    /// months (a used A100 tripled from 2024 to 2026; peers-2026.md §4 ask 9).
    STALE_PRICE_MONTHS: 18.0, "months";
}

/// Looks up one constant for display.
pub fn assumption(name: &str) -> Option<&'static Assumption> {
    ALL.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constant_is_documented_and_unique() {
        for (i, a) in ALL.iter().enumerate() {
            assert!(a.why.len() > 20, "{} needs a reason", a.name);
            assert!(!a.unit.is_empty());
            assert!(ALL[i + 1..].iter().all(|b| b.name != a.name));
        }
        assert_eq!(assumption("PSU_HEADROOM").unwrap().value, PSU_HEADROOM);
    }
}
