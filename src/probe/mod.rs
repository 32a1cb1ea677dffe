//! `llmrig probe`: measures a real rig.
//!
//! The CPU probe runs everywhere. GPU phases (cuBLASLt GEMM, memory bandwidth, PCIe transfers, a
//! decode proxy, peer-to-peer copies and NCCL collectives across GPUs, a burn-in and the fused
//! attention kernel) run per NVIDIA GPU when the driver and CUDA libraries load at run time;
//! anything missing is reported in the result, never a panic. Everything that touches cudarc,
//! NVML or NCCL lives behind [`gpu`], which implements [`backend::Backend`]; the rest of the
//! crate sees the plain data types of [`schema`]. Tests drive the runner through a simulated
//! device behind the same interface (`sim`, compiled only for tests).
//!
//! Layout: [`schema`] (the JSON contract), [`stats`], [`count`], [`telemetry`], [`findings`],
//! [`topology`], [`nccl_tests`] (pure), [`cpu`], [`host`], [`attention_ref`] (CPU reference
//! attention), [`backend`] (the GPU interface), [`runner`] (phases), [`runfile`] (where and how
//! runs are saved), [`cluster`] (Slurm, MPI and torchrun).
pub mod attention_ref;
pub mod backend;
pub mod catalog_match;
pub mod cluster;
pub mod control;
pub mod count;
pub mod cpu;
pub mod findings;
pub mod gpu;
pub mod host;
pub mod matcheck;
pub mod measure;
pub mod nccl_tests;
pub mod rng;
pub mod runfile;
pub mod runner;
pub mod schema;
#[cfg(test)]
pub(crate) mod sim;
pub mod stats;
pub mod telemetry;
pub mod timestamp;
pub mod topology;

pub use control::{Cancel, Observer, Silent};
pub use runner::{run, Options, RunResult};

use schema::{Measurement, PhaseStatus};

/// How much to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// About a minute per GPU: one large size per dtype, short repetitions.
    Quick,
    /// The whole sweep: square sizes, LLM shapes, every attention shape, more repetitions.
    Full,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }
}

/// What one phase produced, before the runner adds timing and telemetry.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: PhaseStatus,
    pub note: Option<String>,
    pub results: Vec<Measurement>,
}

impl Outcome {
    /// Stopped by the user; keeps the measurements that completed.
    pub fn cancelled(results: Vec<Measurement>) -> Outcome {
        Outcome {
            status: PhaseStatus::Partial,
            note: Some("interrupted".to_owned()),
            results,
        }
    }

    /// Not run, with the reason.
    pub fn skipped(reason: impl Into<String>) -> Outcome {
        Outcome {
            status: PhaseStatus::Skipped,
            note: Some(reason.into()),
            results: Vec::new(),
        }
    }

    /// Nothing measured, with the reason.
    pub fn failed(reason: impl Into<String>) -> Outcome {
        Outcome {
            status: PhaseStatus::Failed,
            note: Some(reason.into()),
            results: Vec::new(),
        }
    }
}

/// Errors that stop a probe run (a phase's own failures are recorded in the result instead).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("writing '{path}': {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("serializing the probe result: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("no usable GPU and LLMRIG_REQUIRE_GPU=1: {reason}")]
    GpuRequired { reason: String },
    #[error("unknown model '{0}' for the decode proxy")]
    UnknownModel(String),
}
