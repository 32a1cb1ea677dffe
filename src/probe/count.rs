//! Operation and byte counts, and the rates derived from them (pure).
//!
//! Conventions, stated once so every number can be compared:
//! - GEMM: `2·m·n·k` FLOP (one multiply and one add per inner-product term; mamf-finder's legend).
//! - Attention forward: `4·b·h·s²·d` FLOP (two GEMMs, QKᵀ and PV), halved when causal
//!   (Dao-AILab/flash-attention `benchmarks/benchmark_flash_attention.py`). Softmax is not counted.
//! - Memory kernels count HBM/DRAM traffic as read + write: copy moves `2·N·size` bytes and triad
//!   (`a = b + s·c`) `3·N·size` (STREAM's counting; CUDA samples `bandwidthTest` also counts `2·size`
//!   for device copies). nvbandwidth's `device_local_copy` instead reports the copy size once, which
//!   is half the read+write figure; the probe reports both for copies.
//! - Rates are decimal: TFLOP/s = 10^12 FLOP/s, GB/s = 10^9 bytes/s.

/// FLOP of one `m×k` by `k×n` matrix product.
pub fn gemm_flop(m: u64, n: u64, k: u64) -> f64 {
    2.0 * m as f64 * n as f64 * k as f64
}

/// FLOP of one attention forward pass over `[batch, heads, seq, head_dim]` tensors.
pub fn attention_flop(batch: u64, heads: u64, seq: u64, head_dim: u64, causal: bool) -> f64 {
    let full = 4.0 * batch as f64 * heads as f64 * (seq as f64).powi(2) * head_dim as f64;
    if causal {
        full / 2.0
    } else {
        full
    }
}

/// Bytes a copy of `elements` items of `elem_bytes` moves, counted read + write.
pub fn copy_bytes(elements: u64, elem_bytes: u64) -> f64 {
    2.0 * elements as f64 * elem_bytes as f64
}

/// Bytes a triad `a = b + s·c` over `elements` items moves: two reads and one write each.
pub fn triad_bytes(elements: u64, elem_bytes: u64) -> f64 {
    3.0 * elements as f64 * elem_bytes as f64
}

/// TFLOP/s for `flop` done in `seconds`.
pub fn tflops(flop: f64, seconds: f64) -> Option<f64> {
    (seconds > 0.0).then(|| flop / seconds / 1e12)
}

/// GB/s (decimal) for `bytes` moved in `seconds`.
pub fn gb_per_s(bytes: f64, seconds: f64) -> Option<f64> {
    (seconds > 0.0).then(|| bytes / seconds / 1e9)
}

/// `value` as a percentage of `peak`.
pub fn pct_of(value: f64, peak: f64) -> Option<f64> {
    (peak > 0.0).then(|| 100.0 * value / peak)
}

/// Usable bytes per second per lane and direction of a PCIe generation, after line encoding
/// (8b/10b for 1–2, 128b/130b for 3–5, 242B/256B FLIT for 6). Transaction-layer overhead is not
/// subtracted, so measured copies land below this (≈ 88 % on H200 PCIe 5 x16 in ml-engineering's
/// nvbandwidth run). Source: the PCI Express table at <https://en.wikipedia.org/wiki/PCI_Express>
/// (2.5/5/8/16/32/64 GT/s), as reproduced at <https://hpc-notes.pages.dev/reference/pcie>.
pub fn pcie_lane_gb_per_s(gen: u32) -> Option<f64> {
    let (gt_per_s, efficiency) = match gen {
        1 => (2.5, 8.0 / 10.0),
        2 => (5.0, 8.0 / 10.0),
        3 => (8.0, 128.0 / 130.0),
        4 => (16.0, 128.0 / 130.0),
        5 => (32.0, 128.0 / 130.0),
        6 => (64.0, 242.0 / 256.0),
        _ => return None,
    };
    Some(gt_per_s * efficiency / 8.0)
}

/// Theoretical one-direction rate of a PCIe link in GB/s.
pub fn pcie_link_gb_per_s(gen: u32, lanes: u32) -> Option<f64> {
    pcie_lane_gb_per_s(gen).map(|g| g * lanes as f64)
}

/// An NCCL collective the probe times across local GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collective {
    AllReduce,
    AllGather,
}

impl Collective {
    /// nccl-tests' bus factor for `ranks` ranks (`doc/PERFORMANCE.md`): all-reduce `2(n−1)/n`,
    /// all-gather `(n−1)/n`. It turns algorithm bandwidth into the bandwidth each link carries,
    /// comparable with the hardware's; with one rank nothing crosses a link.
    pub fn bus_factor(self, ranks: u32) -> f64 {
        if ranks == 0 {
            return 0.0;
        }
        let n = f64::from(ranks);
        match self {
            Collective::AllReduce => 2.0 * (n - 1.0) / n,
            Collective::AllGather => (n - 1.0) / n,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Collective::AllReduce => "all-reduce",
            Collective::AllGather => "all-gather",
        }
    }
}

/// nccl-tests' `algbw = S / t` and `busbw = algbw × factor` in GB/s, where `S` is the message
/// size: the per-rank buffer for all-reduce, the whole gathered buffer for all-gather.
pub fn nccl_bandwidths(
    collective: Collective,
    size_bytes: f64,
    seconds: f64,
    ranks: u32,
) -> Option<(f64, f64)> {
    let algbw = gb_per_s(size_bytes, seconds)?;
    Some((algbw, algbw * collective.bus_factor(ranks)))
}

/// Tokens per second a batch-1 decoder reaches when each token streams `weight_bytes` at
/// `bytes_per_s` (the memory-bound ceiling; KV-cache reads and compute are ignored).
pub fn decode_tokens_per_s(weight_bytes: f64, bytes_per_s: f64) -> Option<f64> {
    (weight_bytes > 0.0).then(|| bytes_per_s / weight_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_counts_two_flop_per_term() {
        assert_eq!(gemm_flop(8192, 8192, 8192), 2.0 * 8192f64.powi(3));
        assert_eq!(gemm_flop(2, 3, 4), 48.0);
        // 8192³ in 1.4 ms is about 785 TFLOP/s.
        let t = tflops(gemm_flop(8192, 8192, 8192), 1.4e-3).unwrap();
        assert!((t - 785.4).abs() < 0.1, "{t}");
        assert_eq!(tflops(1.0, 0.0), None);
    }

    #[test]
    fn attention_counts_two_gemms_and_halves_causal() {
        // b=4, h=32, s=4096, d=128 -> 4·4·32·4096²·128 = 1.0995e13 FLOP.
        let full = attention_flop(4, 32, 4096, 128, false);
        assert_eq!(full, 4.0 * 4.0 * 32.0 * 4096f64.powi(2) * 128.0);
        assert_eq!(attention_flop(4, 32, 4096, 128, true), full / 2.0);
        // Equals two GEMMs per head: QKᵀ (s×d by d×s) and PV (s×s by s×d).
        let per_head = gemm_flop(4096, 4096, 128) + gemm_flop(4096, 128, 4096);
        assert_eq!(full, 4.0 * 32.0 * per_head);
    }

    #[test]
    fn memory_kernels_count_read_plus_write() {
        assert_eq!(copy_bytes(1 << 20, 4), 8.0 * (1 << 20) as f64);
        assert_eq!(triad_bytes(10, 8), 240.0);
        // STREAM: 16 bytes per copy iteration and 24 per triad iteration for doubles.
        assert_eq!(copy_bytes(1, 8), 16.0);
        assert_eq!(triad_bytes(1, 8), 24.0);
        assert_eq!(gb_per_s(3e12, 1.0), Some(3000.0));
    }

    #[test]
    fn pcie_theory_matches_the_published_table() {
        // x16: 4.0, 8.0, 15.75, 31.5, 63.0, 121 GB/s.
        let x16 = |g| pcie_link_gb_per_s(g, 16).unwrap();
        assert!((x16(1) - 4.0).abs() < 1e-9);
        assert!((x16(2) - 8.0).abs() < 1e-9);
        assert!((x16(3) - 15.75).abs() < 0.01);
        assert!((x16(4) - 31.5).abs() < 0.01);
        assert!((x16(5) - 63.0).abs() < 0.05);
        assert!((x16(6) - 121.0).abs() < 0.05);
        assert_eq!(pcie_link_gb_per_s(7, 16), None);
    }

    #[test]
    fn bus_bandwidth_follows_the_nccl_tests_convention() {
        // 8 ranks: all-reduce factor 2·7/8 = 1.75, all-gather 7/8 = 0.875.
        assert_eq!(Collective::AllReduce.bus_factor(8), 1.75);
        assert_eq!(Collective::AllGather.bus_factor(8), 0.875);
        // Two ranks: all-reduce busbw equals algbw; one rank moves nothing over a link.
        assert_eq!(Collective::AllReduce.bus_factor(2), 1.0);
        assert_eq!(Collective::AllReduce.bus_factor(1), 0.0);
        assert_eq!(Collective::AllGather.bus_factor(0), 0.0);
        // 1 GiB all-reduced in 10 ms on 8 GPUs: algbw 107.37 GB/s, busbw 187.90 GB/s.
        let (alg, bus) = nccl_bandwidths(Collective::AllReduce, 1073741824.0, 0.01, 8).unwrap();
        assert!((alg - 107.374).abs() < 1e-3, "{alg}");
        assert!((bus - 187.905).abs() < 1e-3, "{bus}");
        // A row of a real 16-rank all_reduce_perf table: 8 MiB, algbw 14.67 -> busbw 27.50.
        assert!((14.67 * Collective::AllReduce.bus_factor(16) - 27.50).abs() < 0.01);
        assert_eq!(nccl_bandwidths(Collective::AllGather, 1.0, 0.0, 4), None);
    }

    #[test]
    fn decode_ceiling_is_bandwidth_over_weights() {
        // 16 GB of weights at 3.0 TB/s -> 187.5 tokens/s.
        assert_eq!(decode_tokens_per_s(16e9, 3.0e12), Some(187.5));
        assert_eq!(decode_tokens_per_s(0.0, 1.0), None);
        assert_eq!(pct_of(50.0, 200.0), Some(25.0));
    }
}
