//! CPU reference attention, the yardstick for the GPU kernel in `kernels/attention.cu`.
//!
//! Same contract as the kernel: Q, K, V and O are `[batch, heads, seq, head_dim]` contiguous;
//! `O = softmax(scale · Q Kᵀ + mask) V` per (batch, head); causal means query `i` sees keys
//! `j <= i` (PyTorch's `is_causal=True`). Computed in f64 with the max-subtracted softmax, so the
//! reference itself adds no visible error.

/// Tensor dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub batch: usize,
    pub heads: usize,
    pub seq: usize,
    pub head_dim: usize,
}

impl Dims {
    /// Elements per tensor.
    pub fn len(&self) -> usize {
        self.batch * self.heads * self.seq * self.head_dim
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Softmax of one row in place, subtracting the maximum first for stability.
pub fn softmax_in_place(row: &mut [f64]) {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in row.iter_mut() {
        *x /= sum;
    }
}

/// One output row: query `q` (head_dim values) over the first `keys` rows of one head's `k`
/// and `v` (`[seq, head_dim]`).
pub fn attention_row(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    head_dim: usize,
    scale: f64,
    keys: usize,
) -> Vec<f32> {
    let mut scores: Vec<f64> = (0..keys)
        .map(|j| {
            let kj = &k[j * head_dim..(j + 1) * head_dim];
            scale
                * q.iter()
                    .zip(kj)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum::<f64>()
        })
        .collect();
    softmax_in_place(&mut scores);
    (0..head_dim)
        .map(|c| {
            (0..keys)
                .map(|j| scores[j] * f64::from(v[j * head_dim + c]))
                .sum::<f64>() as f32
        })
        .collect()
}

/// Attention forward on the CPU; inputs as f32 (already rounded to the kernel's dtype).
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    dims: Dims,
    scale: f64,
    causal: bool,
) -> Vec<f32> {
    let Dims {
        seq, head_dim: d, ..
    } = dims;
    let mut out = vec![0.0f32; dims.len()];
    for bh in 0..dims.batch * dims.heads {
        let base = bh * seq * d;
        let (kh, vh) = (&k[base..base + seq * d], &v[base..base + seq * d]);
        for i in 0..seq {
            let keys = if causal { i + 1 } else { seq };
            let qi = &q[base + i * d..base + (i + 1) * d];
            out[base + i * d..base + (i + 1) * d]
                .copy_from_slice(&attention_row(qi, kh, vh, d, scale, keys));
        }
    }
    out
}

/// Largest |got − want| divided by the largest |want| (outputs are convex combinations of V, so
/// this is the error relative to the values' scale).
pub fn max_scaled_error(got: &[f32], want: &[f32]) -> f64 {
    let scale = want
        .iter()
        .map(|w| f64::from(*w).abs())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    got.iter()
        .zip(want)
        .map(|(g, w)| (f64::from(*g) - f64::from(*w)).abs())
        .fold(
            if got.len() == want.len() {
                0.0
            } else {
                f64::INFINITY
            },
            f64::max,
        )
        / scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::rng::uniform_f32;

    #[test]
    fn softmax_rows_sum_to_one_even_for_large_scores() {
        let mut row = vec![1000.0, 999.0, 990.0, 995.0];
        softmax_in_place(&mut row);
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(row.iter().all(|p| p.is_finite() && *p >= 0.0));
        assert!(row[0] > row[1] && row[1] > row[3] && row[3] > row[2]);
    }

    #[test]
    fn hand_computed_case() {
        // One head, two positions, d = 2, scale 1: q0 = [1, 0]; keys [1, 0] and [0, 1].
        let dims = Dims {
            batch: 1,
            heads: 1,
            seq: 2,
            head_dim: 2,
        };
        let q = [1.0, 0.0, 0.0, 1.0];
        let k = [1.0, 0.0, 0.0, 1.0];
        let v = [1.0, 2.0, 3.0, 4.0];
        let out = attention(&q, &k, &v, dims, 1.0, false);
        // Row 0 scores [1, 0] -> p = [e, 1] / (e + 1).
        let e = std::f64::consts::E;
        let (p0, p1) = (e / (e + 1.0), 1.0 / (e + 1.0));
        assert!((f64::from(out[0]) - (p0 * 1.0 + p1 * 3.0)).abs() < 1e-6);
        assert!((f64::from(out[1]) - (p0 * 2.0 + p1 * 4.0)).abs() < 1e-6);
        // Row 1 scores [0, 1] -> p = [1, e] / (e + 1).
        assert!((f64::from(out[2]) - (p1 * 1.0 + p0 * 3.0)).abs() < 1e-6);
    }

    #[test]
    fn causal_masking_hides_later_keys() {
        let dims = Dims {
            batch: 2,
            heads: 3,
            seq: 5,
            head_dim: 4,
        };
        let (q, k, v) = (
            uniform_f32(dims.len(), 1),
            uniform_f32(dims.len(), 2),
            uniform_f32(dims.len(), 3),
        );
        let out = attention(&q, &k, &v, dims, 0.5, true);
        // The first query sees only the first key, so its output is the first value row.
        for bh in 0..6 {
            let base = bh * 5 * 4;
            assert_eq!(&out[base..base + 4], &v[base..base + 4]);
        }
        // Changing the last key and value leaves every earlier query unchanged.
        let (mut k2, mut v2) = (k.clone(), v.clone());
        for bh in 0..6 {
            let last = bh * 20 + 16;
            k2[last..last + 4].fill(0.9);
            v2[last..last + 4].fill(-0.9);
        }
        let out2 = attention(&q, &k2, &v2, dims, 0.5, true);
        for bh in 0..6 {
            let base = bh * 20;
            assert_eq!(&out[base..base + 16], &out2[base..base + 16]);
            assert_ne!(&out[base + 16..base + 20], &out2[base + 16..base + 20]);
        }
        // The last query sees every key, so causal and full agree there.
        let full = attention(&q, &k, &v, dims, 0.5, false);
        assert!(max_scaled_error(&full[16..20], &out[16..20]) < 1e-6);
    }

    #[test]
    fn equal_scores_average_the_values() {
        let dims = Dims {
            batch: 1,
            heads: 1,
            seq: 4,
            head_dim: 2,
        };
        let q = uniform_f32(8, 5);
        let k = vec![0.0; 8];
        let v = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 6.0, 60.0];
        let out = attention(&q, &k, &v, dims, 0.125, false);
        for row in out.chunks(2) {
            assert!((row[0] - 3.0).abs() < 1e-6 && (row[1] - 30.0).abs() < 1e-5);
        }
    }

    #[test]
    fn scaled_error_compares_against_the_value_scale() {
        assert_eq!(max_scaled_error(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert!((max_scaled_error(&[1.1, 2.0], &[1.0, 2.0]) - 0.05).abs() < 1e-6);
        assert_eq!(max_scaled_error(&[1.0], &[1.0, 2.0]), f64::INFINITY);
    }
}
