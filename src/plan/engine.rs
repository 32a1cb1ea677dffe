//! Inference engines: how each splits a model across GPUs, what it keeps resident on every GPU
//! besides weights and KV cache, which KV-cache type it uses by default, and how close to the
//! hardware's limits it runs. Training plans use the PyTorch stack (the `transformers` profile).
use super::constants::{self as c, constants};
use super::format::{KvFormat, WeightFormat};
use super::request::{PlanRequest, Workload};
use crate::catalog::{Gpu, Model};
use serde::{Deserialize, Serialize};

const GIB: f64 = (1u64 << 30) as f64;

constants! {
    /// vLLM's default `gpu_memory_utilization`: the share of each GPU's memory that weights,
    /// activations, CUDA graphs and the KV cache may fill (vllm/config/cache.py CacheConfig,
    /// docs.vllm.ai stable; 0.90 in releases before).
    VLLM_GPU_MEMORY_UTILIZATION: 0.92, "fraction";
    /// Memory vLLM's CUDA graphs take per GPU; startup logs print "Estimated CUDA graph
    /// memory" of 0.30-1.58 GiB, counted inside gpu_memory_utilization since v0.21.
    VLLM_CUDA_GRAPH_GIB: 1.0, "GiB per GPU";
    /// Tokens vLLM prefills per forward pass (chunked prefill, max_num_batched_tokens for the
    /// API server); sizes the activation peak and the prefill weight-read floor.
    VLLM_MAX_BATCHED_TOKENS: 2048.0, "tokens";
    /// SGLang keeps this much of a GPU under 35 GiB (RTX 4090, A10, L40) out of
    /// mem_fraction_static for activations and CUDA graphs, plus SGLANG_RESERVE_PER_RANK_SMALL_GIB
    /// per tensor/pipeline rank (python/sglang/srt/server_args.py).
    SGLANG_RESERVE_SMALL_GIB: 2.8, "GiB per GPU";
    /// Per-rank addition to SGLANG_RESERVE_SMALL_GIB (tp × pp / 10 GiB).
    SGLANG_RESERVE_PER_RANK_SMALL_GIB: 0.1, "GiB per rank";
    /// SGLang's reserve on GPUs of 35-90 GiB (A100, H100), plus SGLANG_RESERVE_PER_RANK_GIB
    /// per rank (server_args.py).
    SGLANG_RESERVE_MEDIUM_GIB: 9.5, "GiB per GPU";
    /// SGLang's reserve on GPUs of 90-160 GiB (H20, H200), plus SGLANG_RESERVE_PER_RANK_GIB per rank.
    SGLANG_RESERVE_LARGE_GIB: 12.0, "GiB per GPU";
    /// Per-rank addition on GPUs of 35-160 GiB (tp × pp / 2 GiB; server_args.py).
    SGLANG_RESERVE_PER_RANK_GIB: 0.5, "GiB per rank";
    /// SGLang's reserve on GPUs of 160 GiB and more (B200, MI300X; server_args.py).
    SGLANG_RESERVE_XL_GIB: 32.0, "GiB per GPU";
    /// SGLang's chunked_prefill_size on GPUs under 35 GiB (server_args.py).
    SGLANG_CHUNK_SMALL_TOKENS: 2048.0, "tokens";
    /// SGLang's chunked_prefill_size on GPUs of 35-160 GiB (16384 above; server_args.py).
    SGLANG_CHUNK_TOKENS: 8192.0, "tokens";
    /// TensorRT-LLM gives the KV cache this share of the memory left after weights,
    /// activations and the runtime (KvCacheConfig.free_gpu_memory_fraction default).
    TRTLLM_KV_FREE_FRACTION: 0.9, "fraction of free memory";
    /// Tokens TensorRT-LLM batches per forward pass (max_num_tokens default), sizing its
    /// activation buffers and prefill chunks.
    TRTLLM_MAX_NUM_TOKENS: 8192.0, "tokens";
    /// Memory llama.cpp's --fit leaves free on every device (common params fit margin 1024 MiB).
    LLAMA_CPP_FIT_MARGIN_GIB: 1.0, "GiB per GPU";
    /// CUDA context and driver memory outside llama.cpp's own buffers: 451-456 MiB per RTX 4090
    /// in the memory breakdown of llama.cpp PR #15860 ("unaccounted").
    LLAMA_CPP_CUDA_CONTEXT_GIB: 0.45, "GiB per GPU";
    /// llama.cpp's physical batch (n_ubatch default 512): sizes its compute buffer and prompt chunks.
    LLAMA_CPP_UBATCH_TOKENS: 512.0, "tokens";
    /// llama.cpp decode as a fraction of the bandwidth roofline on GDDR cards; fitted (minimax)
    /// with the efficiency on HBM, the layer overhead and the stage hop to the XiongjieDai
    /// GPU-Benchmarks-on-LLM-Inference llama.cpp tables (Llama 3 8B F16/Q4_K_M and 70B Q4_K_M
    /// tg512, 1-8 GPUs of 14 kinds): all 74 points within ±22 %.
    LLAMA_CPP_DECODE_EFFICIENCY_GDDR: 0.92, "fraction";
    /// llama.cpp decode efficiency on HBM GPUs (A100, H100 PCIe: 1.1 TB/s of about 2 TB/s reached).
    LLAMA_CPP_DECODE_EFFICIENCY_HBM: 0.52, "fraction";
    /// llama.cpp decode efficiency on unified-memory machines (Apple M1 Max, M2 Ultra, M3 Max
    /// rows of the same tables, ±35 %).
    LLAMA_CPP_DECODE_EFFICIENCY_UNIFIED: 0.65, "fraction";
    /// Fixed time per layer and token in llama.cpp decode (kernel launches, synchronisation),
    /// from the same fit.
    LLAMA_CPP_LAYER_OVERHEAD_US: 80.0, "µs per layer";
    /// Time per token for each extra GPU of a llama.cpp layer split (hand-over between devices),
    /// from the same fit (1 to 8 RTX 3090/4090, A6000, L40S, A100, H100 PCIe).
    LLAMA_CPP_STAGE_HOP_US: 475.0, "µs per GPU boundary";
    /// Time per token at each machine boundary of a llama.cpp layer split over its RPC backend
    /// (TCP; the RPC README warns of "per-token synchronization costs"): one DGX Spark decodes a
    /// 27B Q4_K_M model at 12.83 tok/s, two joined by their QSFP cable at 12.42 (LLMKube issue
    /// #1423, 2026-08), so the boundary adds 1/12.42 − 1/12.83 s. The activation bytes over the
    /// link's rate come on top.
    LLAMA_CPP_RPC_HOP_US: 2570.0, "µs per machine boundary";
    /// llama.cpp prompt processing as a fraction of the FP16 peak it computes in (cuBLAS with
    /// CUBLAS_COMPUTE_16F, i.e. the FP16-accumulate rate on GeForce): pp512 of Llama 3 8B F16 is
    /// 46 % on an RTX 4090 and 40 % on an A100 PCIe (XiongjieDai tables).
    LLAMA_CPP_PREFILL_MFU: 0.4, "fraction";
    /// Hugging Face transformers `generate` decode as a fraction of the bandwidth roofline
    /// (gpu_poor's 2.0 slow-down factor for HF against the roofline, planner.md §2.2).
    TRANSFORMERS_DECODE_BANDWIDTH_EFFICIENCY: 0.5, "fraction";
}

/// The engine that serves (or trains) the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
pub enum Engine {
    /// vLLM: tensor parallel inside a node, pipeline stages across nodes, paged KV cache.
    #[value(name = "vllm")]
    #[serde(rename = "vllm")]
    Vllm,
    /// SGLang: tensor parallel like vLLM, with a static memory pool.
    #[value(name = "sglang")]
    #[serde(rename = "sglang")]
    Sglang,
    /// TensorRT-LLM: tensor parallel, KV cache from the memory left after the engine.
    #[value(name = "tensorrt-llm", alias = "trt-llm", alias = "trtllm")]
    #[serde(rename = "tensorrt-llm")]
    TensorrtLlm,
    /// llama.cpp (also under Ollama and LM Studio): layers split across any number of GPUs,
    /// partial offload to the CPU with -ngl / --cpu-moe.
    #[value(name = "llama.cpp", alias = "llamacpp", alias = "llama-cpp")]
    #[serde(rename = "llama.cpp")]
    LlamaCpp,
    /// Hugging Face transformers with accelerate's device_map="auto" (layers split across GPUs);
    /// also the PyTorch stack training plans assume.
    #[value(name = "transformers")]
    #[serde(rename = "transformers")]
    Transformers,
}

/// How an engine spreads one model replica over several GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// Tensor parallelism inside a node (degree divides the heads), pipeline stages across nodes.
    Tensor,
    /// Consecutive layers on consecutive GPUs of one node, any count; one token passes them in turn.
    Layer,
}

/// How much of a GPU the engine lets a plan fill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// A share of the GPU's memory (vLLM, PyTorch).
    OfTotal(f64),
    /// Everything but the KV cache, plus this share of what is left for it (TensorRT-LLM).
    OfFree(f64),
    /// The GPU's memory less this many bytes (llama.cpp's --fit margin).
    Margin(f64),
}

impl Budget {
    /// Bytes usable on a GPU of `memory` bytes when `non_kv` bytes are not KV cache.
    pub fn usable(self, memory: f64, non_kv: f64) -> f64 {
        match self {
            Budget::OfTotal(f) => memory * f,
            Budget::OfFree(f) => non_kv + f * (memory - non_kv).max(0.0),
            Budget::Margin(b) => (memory - b).max(0.0),
        }
    }
}

/// What every GPU of a layout needs beyond weights, KV cache and activations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Runtime {
    /// CUDA context, CUDA graphs, communication buffers or a runtime's fixed reserve.
    pub overhead_bytes: f64,
    pub budget: Budget,
}

/// Whether the weights are a GGUF (llama.cpp) format; other branches add GGUF types, all named
/// `gguf-*`.
pub fn is_gguf(weights: WeightFormat) -> bool {
    weights.name().starts_with("gguf-")
}

impl Engine {
    pub const ALL: [Engine; 5] = [
        Engine::Vllm,
        Engine::Sglang,
        Engine::TensorrtLlm,
        Engine::LlamaCpp,
        Engine::Transformers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Vllm => "vllm",
            Engine::Sglang => "sglang",
            Engine::TensorrtLlm => "tensorrt-llm",
            Engine::LlamaCpp => "llama.cpp",
            Engine::Transformers => "transformers",
        }
    }

    /// The engine a plan assumes when none is named: the PyTorch stack for training, llama.cpp
    /// for GGUF weights, vLLM for everything else (the most used open serving engine).
    pub fn default_for(weights: WeightFormat, workload: Workload) -> Engine {
        if workload != Workload::Infer {
            Engine::Transformers
        } else if is_gguf(weights) {
            Engine::LlamaCpp
        } else {
            Engine::Vllm
        }
    }

    /// Prefix of this engine's constants in [`ALL`].
    fn prefix(self) -> &'static str {
        match self {
            Engine::Vllm => "VLLM_",
            Engine::Sglang => "SGLANG_",
            Engine::TensorrtLlm => "TRTLLM_",
            Engine::LlamaCpp => "LLAMA_CPP_",
            Engine::Transformers => "TRANSFORMERS_",
        }
    }

    /// The constants this engine's plans use, for display.
    pub fn assumptions(self) -> impl Iterator<Item = &'static c::Assumption> {
        ALL.iter()
            .filter(move |a| a.name.starts_with(self.prefix()))
    }

    pub fn split(self) -> Split {
        match self {
            Engine::LlamaCpp | Engine::Transformers => Split::Layer,
            _ => Split::Tensor,
        }
    }

    /// Whether pipeline stages work on different micro-batches at once; a layer split passes
    /// one batch through the GPUs in turn, so all but one GPU wait.
    pub fn overlaps_stages(self) -> bool {
        self.split() == Split::Tensor
    }

    /// Whether one replica may span nodes: tensor-parallel engines pipeline across them, and
    /// llama.cpp splits layers across machines with its RPC backend (`rpc-server` on each);
    /// transformers' device_map stays in one process on one machine.
    pub fn spans_nodes(self) -> bool {
        self != Engine::Transformers
    }

    /// Whether the engine offloads layers or experts to host RAM and computes them there.
    pub fn offloads_to_host(self) -> bool {
        self == Engine::LlamaCpp
    }

    /// KV-cache type when the user names none: llama.cpp's --cache-type-k/v default f16; the
    /// others follow the model dtype ("auto"), fp32 only for fp32 weights.
    pub fn default_kv(self, weights: WeightFormat) -> KvFormat {
        match (self, weights) {
            (Engine::LlamaCpp, _) => KvFormat::Fp16,
            (_, WeightFormat::Fp32) => KvFormat::Fp32,
            (_, WeightFormat::Fp16) => KvFormat::Fp16,
            _ => KvFormat::Bf16,
        }
    }

    /// Tokens per forward pass in prefill: the activation peak and the prompt chunking.
    /// `None` means the whole prompt at once (transformers).
    pub fn prefill_chunk_tokens(self, gpu_memory_bytes: f64) -> Option<f64> {
        match self {
            Engine::Vllm => Some(VLLM_MAX_BATCHED_TOKENS),
            Engine::Sglang if gpu_memory_bytes < 35.0 * GIB => Some(SGLANG_CHUNK_SMALL_TOKENS),
            Engine::Sglang => Some(SGLANG_CHUNK_TOKENS),
            Engine::TensorrtLlm => Some(TRTLLM_MAX_NUM_TOKENS),
            Engine::LlamaCpp => Some(LLAMA_CPP_UBATCH_TOKENS),
            Engine::Transformers => None,
        }
    }

    /// Fixed memory and budget per GPU of a `ranks`-GPU replica (tp × pp).
    pub fn runtime(self, req: &PlanRequest, ranks: u32, gpu_memory_bytes: f64) -> Runtime {
        let comm = if ranks > 1 {
            c::COMM_BUFFER_GIB * GIB
        } else {
            0.0
        };
        let torch = c::CUDA_CONTEXT_GIB * GIB;
        if req.is_training() {
            return Runtime {
                overhead_bytes: torch + comm,
                budget: Budget::OfTotal(c::USABLE_VRAM_FRACTION),
            };
        }
        match self {
            Engine::Vllm => Runtime {
                overhead_bytes: torch + VLLM_CUDA_GRAPH_GIB * GIB + comm,
                budget: Budget::OfTotal(VLLM_GPU_MEMORY_UTILIZATION),
            },
            Engine::Sglang => Runtime {
                overhead_bytes: sglang_reserve_gib(gpu_memory_bytes, ranks) * GIB,
                budget: Budget::OfTotal(1.0),
            },
            Engine::TensorrtLlm => Runtime {
                overhead_bytes: torch + comm,
                budget: Budget::OfFree(TRTLLM_KV_FREE_FRACTION),
            },
            Engine::LlamaCpp => Runtime {
                overhead_bytes: LLAMA_CPP_CUDA_CONTEXT_GIB * GIB,
                budget: Budget::Margin(LLAMA_CPP_FIT_MARGIN_GIB * GIB),
            },
            Engine::Transformers => Runtime {
                overhead_bytes: torch + comm,
                budget: Budget::OfTotal(c::USABLE_VRAM_FRACTION),
            },
        }
    }

    /// Whether activations are part of the runtime's fixed reserve (SGLang's mem_fraction_static
    /// leaves room for them) rather than counted on their own.
    pub fn activations_in_reserve(self) -> bool {
        self == Engine::Sglang
    }

    /// Decode speed as a fraction of the memory-bandwidth roofline on `gpu`, before overheads.
    pub fn decode_efficiency(self, gpu: &Gpu) -> f64 {
        match self {
            Engine::LlamaCpp if gpu.unified_memory => LLAMA_CPP_DECODE_EFFICIENCY_UNIFIED,
            Engine::LlamaCpp if gpu.memory_type.to_ascii_uppercase().starts_with("HBM") => {
                LLAMA_CPP_DECODE_EFFICIENCY_HBM
            }
            Engine::LlamaCpp => LLAMA_CPP_DECODE_EFFICIENCY_GDDR,
            Engine::Transformers => TRANSFORMERS_DECODE_BANDWIDTH_EFFICIENCY,
            _ => c::DECODE_BANDWIDTH_EFFICIENCY,
        }
    }

    /// Prefill speed as a fraction of the dense peak the engine computes in.
    pub fn prefill_mfu(self) -> f64 {
        match self {
            Engine::LlamaCpp => LLAMA_CPP_PREFILL_MFU,
            _ => c::PREFILL_MFU,
        }
    }

    /// Fixed seconds per layer and decode step (CUDA graphs make it negligible for the others).
    pub fn layer_overhead_s(self) -> f64 {
        match self {
            Engine::LlamaCpp => LLAMA_CPP_LAYER_OVERHEAD_US * 1e-6,
            _ => 0.0,
        }
    }

    /// Fixed seconds per token at each GPU boundary of a layer split inside a node.
    pub fn stage_hop_s(self) -> Option<f64> {
        match self {
            Engine::LlamaCpp => Some(LLAMA_CPP_STAGE_HOP_US * 1e-6),
            _ => None,
        }
    }

    /// Fixed seconds per token at each machine boundary of a layer split (llama.cpp RPC).
    pub fn machine_hop_s(self) -> Option<f64> {
        match self {
            Engine::LlamaCpp => Some(LLAMA_CPP_RPC_HOP_US * 1e-6),
            _ => None,
        }
    }

    /// Whether prefill runs at the FP16-accumulate rate where a GeForce card has one.
    pub fn prefill_in_fp16_accumulate(self) -> bool {
        self == Engine::LlamaCpp
    }
}

/// SGLang's memory kept out of mem_fraction_static on a GPU of `memory` bytes with `ranks` ranks.
fn sglang_reserve_gib(memory: f64, ranks: u32) -> f64 {
    let r = ranks as f64;
    let gib = memory / GIB;
    if gib < 35.0 {
        SGLANG_RESERVE_SMALL_GIB + r * SGLANG_RESERVE_PER_RANK_SMALL_GIB
    } else if gib < 90.0 {
        SGLANG_RESERVE_MEDIUM_GIB + r * SGLANG_RESERVE_PER_RANK_GIB
    } else if gib < 160.0 {
        SGLANG_RESERVE_LARGE_GIB + r * SGLANG_RESERVE_PER_RANK_GIB
    } else {
        SGLANG_RESERVE_XL_GIB
    }
}

/// Weight bytes a GPU of this engine holds for the whole model before any split: llama.cpp
/// keeps the token-embedding table in host RAM ("very little benefit to offloading the input
/// layer", src/llama-model.cpp) unless it doubles as the output head.
pub fn resident_weight_bytes(
    engine: Engine,
    model: &Model,
    req: &PlanRequest,
    mm: &super::memory::ModelMemory,
) -> f64 {
    if engine == Engine::LlamaCpp && !model.tie_word_embeddings {
        let w = super::weights::bytes(model, req, mm);
        w.total - w.embedding
    } else {
        mm.weights_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_weight_format() {
        assert_eq!(
            Engine::default_for(WeightFormat::Q4KM, Workload::Infer),
            Engine::LlamaCpp
        );
        assert_eq!(
            Engine::default_for(WeightFormat::Bf16, Workload::Infer),
            Engine::Vllm
        );
        assert_eq!(
            Engine::default_for(WeightFormat::Q4KM, Workload::Train),
            Engine::Transformers
        );
        assert_eq!(
            Engine::LlamaCpp.default_kv(WeightFormat::Bf16),
            KvFormat::Fp16
        );
        assert_eq!(Engine::Vllm.default_kv(WeightFormat::Fp32), KvFormat::Fp32);
    }

    #[test]
    fn every_engine_constant_is_documented_and_shown_by_its_engine() {
        for a in ALL {
            assert!(a.why.len() > 20, "{} needs a reason", a.name);
            assert!(
                Engine::ALL
                    .iter()
                    .any(|e| e.assumptions().any(|b| b.name == a.name)),
                "{} belongs to no engine",
                a.name
            );
        }
    }

    #[test]
    fn budgets() {
        let m = 80.0 * GIB;
        assert_eq!(Budget::OfTotal(0.9).usable(m, 0.0), 72.0 * GIB);
        assert_eq!(Budget::Margin(GIB).usable(m, 0.0), 79.0 * GIB);
        // TensorRT-LLM: 40 GiB of weights leave 40, of which 90 % may be KV cache.
        assert_eq!(Budget::OfFree(0.9).usable(m, 40.0 * GIB), 76.0 * GIB);
        // SGLang on an H100 at TP8: 9.5 + 8/2 GiB.
        assert_eq!(sglang_reserve_gib(m, 8), 13.5);
        assert_eq!(sglang_reserve_gib(24.0 * GIB, 1), 2.9);
    }
}
