//! The CPU probe, the one that runs everywhere: multi-threaded f32 GEMM through the `gemm` crate
//! and STREAM-style copy and triad with rayon. Every figure is labelled `cpu` so nothing mixes
//! it with GPU anchors.
mod gemm;
mod stream;

pub use gemm::run as run_gemm;
pub use stream::run as run_stream;

/// CPU problem sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSize {
    /// Calibrated to this machine: GEMM taking ≥ 0.2 s, arrays ≥ 4× the last-level cache.
    Auto,
    /// Tiny problems for tests; the numbers mean little and the phase note says so.
    Small,
}

impl CpuSize {
    pub fn name(self) -> &'static str {
        match self {
            CpuSize::Auto => "auto",
            CpuSize::Small => "small",
        }
    }
}
