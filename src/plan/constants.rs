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

/// Declares documented `f64` constants and an `ALL` list of them for display; other planner
/// modules (engines, interconnects, training time) declare their own blocks with it.
macro_rules! constants {
    ($($(#[doc = $doc:literal])* $name:ident: $value:expr, $unit:literal;)*) => {
        $($(#[doc = $doc])* pub const $name: f64 = $value;)*
        /// Every constant of this block with its documentation, for display.
        pub const ALL: &[$crate::plan::constants::Assumption] = &[
            $($crate::plan::constants::Assumption { name: stringify!($name), value: $value, unit: $unit, why: concat!($($doc),*) },)*
        ];
    };
}
pub(crate) use constants;

constants! {
    /// Fraction of GPU memory a PyTorch process (training, transformers inference) may plan to
    /// use; the rest absorbs caching-allocator fragmentation and slack.
    USABLE_VRAM_FRACTION: 0.92, "fraction";
    /// CUDA context, cuBLAS workspaces and kernels loaded per GPU by a PyTorch process
    /// (PyTorch allocates 300 MiB to 2 GiB at CUDA init; gpu_poor uses 650 MB).
    CUDA_CONTEXT_GIB: 1.0, "GiB per GPU";
    /// NCCL communication buffers per GPU when a layout spans more than one GPU.
    COMM_BUFFER_GIB: 0.5, "GiB per GPU";
    /// Hidden-size activation copies alive at once in one inference layer (residual, normed
    /// input, attention output, projection output).
    INFER_HIDDEN_COPIES: 4.0, "copies of hidden";
    /// Bytes per logit; logits are kept in fp32 for sampling.
    LOGIT_BYTES: 4.0, "bytes";
    /// Decode speed of vLLM, SGLang and TensorRT-LLM as a fraction of the memory-bandwidth
    /// roofline: vLLM 0.23 decodes Llama 3.1 8B bf16 at 75 tokens/s on one A100 40GB, 77 % of
    /// it (johnmusgrave.com vLLM sweep); SGLang and TensorRT-LLM are assumed equal.
    DECODE_BANDWIDTH_EFFICIENCY: 0.77, "fraction";
    /// Prefill (and compute-bound decode) speed as a fraction of dense tensor peak (model FLOPs
    /// utilisation) for every engine but llama.cpp.
    PREFILL_MFU: 0.5, "fraction";
    /// Output tokens per request when --output-tokens is not given (GuideLLM's 512 → 256
    /// chat traffic profile, as used by llm-d-planner).
    DEFAULT_OUTPUT_TOKENS: 256.0, "tokens";
    /// Bytes of the bf16 working copy of each weight in mixed-precision training.
    TRAIN_WEIGHT_BYTES: 2.0, "bytes/param";
    /// Adam in mixed precision: fp32 master weights, momentum and variance (ZeRO paper K = 12).
    ADAM_STATE_BYTES: 12.0, "bytes/param";
    /// DeepSpeed ZeRO-3 keeps gathered parameters alive: 4 bytes × the largest tensor
    /// (estimate_zero3_model_states_mem_needs).
    ZERO3_LIVE_BYTES_PER_PARAM: 4.0, "bytes × largest tensor";
    /// Bytes per token × vocabulary entry that the training loss holds at its peak, in the
    /// backward pass of Hugging Face transformers' ForCausalLMLoss: the 16-bit logits (2), their
    /// fp32 upcast `logits.float()` (4), cross-entropy's saved log-softmax (4) and its gradient
    /// (4). Fused or chunked losses (Liger, Unsloth, torchtune) hold far less.
    LOSS_BYTES_PER_LOGIT: 14.0, "bytes per token × vocab";
    /// FlashAttention/SDPA keeps one fp32 log-sum-exp per head and token for the backward pass
    /// instead of the s × s scores (assumed unless --attention eager).
    FLASH_LSE_BYTES: 4.0, "bytes per head × token";
    /// Training processes beyond the CUDA context: cuBLAS/cuBLASLt workspaces, autograd and
    /// caching-allocator blocks that are reserved but not reusable; fitted so small-model
    /// LoRA/QLoRA runs come out as measured (Unsloth's HF+FA2 Llama 3.1 8B table, torchtune).
    TRAIN_RUNTIME_GIB: 1.0, "GiB per GPU";
    /// Host RAM over the offloaded states' bytes (DeepSpeed's estimators use
    /// additional_buffer_factor = 1.5; pinned buffers and fragmentation).
    OFFLOAD_HOST_BUFFER_FACTOR: 1.5, "× offloaded bytes";
    /// Without ZeRO-3's zero.Init every process first builds the whole model in fp32 in host RAM
    /// (DeepSpeed's ZeRO-2 offload estimate: max(4 × GPUs, 16) bytes/param).
    HOST_LOAD_BYTES_PER_PARAM: 4.0, "bytes/param per process";
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
    /// Years over which a bought rig loses its value, straight-line, for its resale value after
    /// the rent-or-buy horizon (override with --resale-percent). The clouds' own schedules for
    /// servers: AWS shortened part of its fleet from six to five years from January 2025, citing
    /// the faster pace of AI hardware (Amazon Q4 2024 results, as reported at
    /// https://gaurav-ahuja.com/p/is-ai-forcing-a-midlife-crisis-on-cloud-hardware); Microsoft
    /// depreciates over six (FY2022 Q4 call, https://www.technewshub.com/post/microsoft-extends-its-cloud-server-lifespan-to-six-years-from-four-years).
    /// Used-GPU street prices can differ widely.
    GPU_USEFUL_LIFE_YEARS: 5.0, "years";
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
