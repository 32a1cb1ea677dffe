//! Checking a matrix product against an f64 reference, whatever the storage layout.
//!
//! The error of element (i, j) is `|got − want| / Σₚ |a_ip·b_pj|`: relative to the size of the
//! terms, which bounds rounding for every input precision without being fooled by cancellation
//! (a plain relative error explodes where the exact result is near zero). For an inner product of
//! length k in a format with unit roundoff u the classic bound is about k·u (Higham, "Accuracy and
//! Stability of Numerical Algorithms", §3.1), plus one rounding of the output.

/// A read-only matrix view: element (r, c) is `data[r·row_stride + c·col_stride]`.
#[derive(Debug, Clone, Copy)]
pub struct MatView<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatView<'a> {
    /// Row-major `rows × cols`.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> MatView<'a> {
        MatView {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// Column-major `rows × cols` (cuBLAS's layout, leading dimension `rows`).
    pub fn col_major(data: &'a [f32], rows: usize, cols: usize) -> MatView<'a> {
        MatView {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }

    pub fn at(&self, r: usize, c: usize) -> f64 {
        f64::from(self.data[r * self.row_stride + c * self.col_stride])
    }
}

/// The reference value and the term scale of element (i, j) of `a · b`.
pub fn reference(a: &MatView, b: &MatView, i: usize, j: usize) -> (f64, f64) {
    (0..a.cols).fold((0.0, 0.0), |(sum, scale), p| {
        let t = a.at(i, p) * b.at(p, j);
        (sum + t, scale + t.abs())
    })
}

/// Largest scaled error over the listed elements; `got(i, j)` reads the computed product.
pub fn max_scaled_error(
    a: &MatView,
    b: &MatView,
    elements: impl IntoIterator<Item = (usize, usize)>,
    got: impl Fn(usize, usize) -> f64,
) -> f64 {
    elements
        .into_iter()
        .map(|(i, j)| {
            let (want, scale) = reference(a, b, i, j);
            let err = (got(i, j) - want).abs() / scale.max(f64::MIN_POSITIVE);
            if err.is_nan() {
                f64::INFINITY
            } else {
                err
            }
        })
        .fold(0.0, f64::max)
}

/// Every element of an `m × n` product.
pub fn all(m: usize, n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..m).flat_map(move |i| (0..n).map(move |j| (i, j)))
}

/// `count` pseudo-random elements of an `m × n` product (with repeats possible).
pub fn sampled(m: usize, n: usize, count: usize, seed: u64) -> Vec<(usize, usize)> {
    let mut rng = super::rng::SplitMix64::new(seed);
    (0..count)
        .map(|_| {
            (
                (rng.next_u64() % m as u64) as usize,
                (rng.next_u64() % n as u64) as usize,
            )
        })
        .collect()
}

/// Largest scaled error over `picks` of a product too large to copy back whole: `row(i)`
/// fetches row `i` of the left operand, `col(j)` column `j` of the right one and `got(i, j)` the
/// computed element, each read from the device's own buffers.
pub fn sampled_error(
    picks: &[(usize, usize)],
    row: impl Fn(usize) -> Result<Vec<f32>, String>,
    col: impl Fn(usize) -> Result<Vec<f32>, String>,
    got: impl Fn(usize, usize) -> Result<f64, String>,
) -> Result<f64, String> {
    let mut worst = 0.0f64;
    for &(i, j) in picks {
        let (r, c) = (row(i)?, col(j)?);
        if r.len() != c.len() {
            return Err(format!(
                "row {i} has {} terms, column {j} {}",
                r.len(),
                c.len()
            ));
        }
        let a = MatView::row_major(&r, 1, r.len());
        let b = MatView::col_major(&c, c.len(), 1);
        let value = got(i, j)?;
        worst = worst.max(max_scaled_error(&a, &b, [(0, 0)], |_, _| value));
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_read_the_same_matrix() {
        // [[1, 2, 3], [4, 5, 6]] stored both ways.
        let rm = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let cm = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let (r, c) = (MatView::row_major(&rm, 2, 3), MatView::col_major(&cm, 2, 3));
        for (i, j) in all(2, 3) {
            assert_eq!(r.at(i, j), c.at(i, j));
        }
    }

    #[test]
    fn hand_product_and_error() {
        // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        let (a, b) = (MatView::row_major(&a, 2, 2), MatView::row_major(&b, 2, 2));
        assert_eq!(reference(&a, &b, 1, 0), (43.0, 43.0));
        let exact = [19.0, 22.0, 43.0, 50.0];
        assert_eq!(
            max_scaled_error(&a, &b, all(2, 2), |i, j| exact[i * 2 + j]),
            0.0
        );
        // 19 off by 1.9 is 10 % of the term scale 19.
        let err = max_scaled_error(&a, &b, [(0, 0)], |_, _| 20.9);
        assert!((err - 0.1).abs() < 1e-12);
        assert_eq!(
            max_scaled_error(&a, &b, [(0, 0)], |_, _| f64::NAN),
            f64::INFINITY
        );
    }

    #[test]
    fn sampled_elements_match_the_full_check() {
        // A 3×4 by 4×2 product stored as the GEMM phase stores it: A k×m column-major (so a
        // row of op(A) is contiguous), B k×n column-major, C m×n column-major.
        let (m, n, k) = (3, 2, 4);
        let a_store: Vec<f32> = (0..m * k).map(|x| x as f32 * 0.5 - 2.0).collect();
        let b_store: Vec<f32> = (0..k * n).map(|x| 1.0 + x as f32).collect();
        let av = MatView::row_major(&a_store, m, k);
        let bv = MatView::col_major(&b_store, k, n);
        let mut c_store = vec![0.0f64; m * n];
        for (i, j) in all(m, n) {
            c_store[i + j * m] = reference(&av, &bv, i, j).0;
        }
        c_store[1 + m] += 0.25;
        let row = |i: usize| Ok(a_store[i * k..(i + 1) * k].to_vec());
        let col = |j: usize| Ok(b_store[j * k..(j + 1) * k].to_vec());
        let got = |i: usize, j: usize| Ok(c_store[i + j * m]);
        let full = max_scaled_error(&av, &bv, all(m, n), |i, j| c_store[i + j * m]);
        let picks: Vec<(usize, usize)> = all(m, n).collect();
        assert_eq!(sampled_error(&picks, row, col, got).unwrap(), full);
        assert!(full > 0.0);
        assert_eq!(sampled_error(&[(0, 0)], row, col, got).unwrap(), 0.0);
        let short = |_: usize| Ok(vec![1.0f32]);
        assert!(sampled_error(&[(0, 0)], row, short, got).is_err());
    }

    #[test]
    fn samples_stay_in_range() {
        assert!(sampled(3, 5, 100, 1).iter().all(|&(i, j)| i < 3 && j < 5));
    }
}
