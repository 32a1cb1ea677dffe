//! `llmrig probe`: measures a real rig.
//!
//! The CPU probe runs everywhere. GPU phases (cuBLAS GEMM, the fused attention kernel, memory
//! bandwidth, PCIe transfers, a decode proxy and a burn-in) run per NVIDIA GPU when the driver and
//! CUDA libraries load at run time; anything missing is reported in the result, never a panic.
//! Everything that touches cudarc lives behind [`gpu`]; the rest of the crate sees the plain data
//! types of [`schema`].
//!
//! Layout: [`schema`] (the JSON contract), [`stats`], [`count`], [`telemetry`], [`findings`]
//! (pure), [`cpu`], [`host`], [`libs`] (finding CUDA libraries), [`nvml`] (inventory and the
//! telemetry sampler), [`attention_ref`] (CPU reference attention), [`runner`] (phases, saving).
pub mod attention_ref;
pub mod catalog_match;
pub mod control;
pub mod count;
pub mod cpu;
pub mod findings;
pub mod gpu;
pub mod host;
pub mod libs;
pub mod matcheck;
pub mod measure;
pub mod nvml;
pub mod rng;
pub mod runner;
pub mod schema;
pub mod stats;
pub mod telemetry;
pub mod timestamp;

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
