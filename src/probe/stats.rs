//! Robust statistics over repeated timings (pure; bare `f64` seconds by design).
//!
//! The probe reports the median with p10/p90 and the coefficient of variation, plus the fastest
//! run as "best" (STREAM's convention). Outliers use the modified z-score `(x - median) / MAD`
//! with hyperfine's threshold `1.4826 × 10` (sharkdp/hyperfine `src/outlier_detection.rs`; the
//! modified z-score is due to Iglewicz and Hoaglin, "How to Detect and Handle Outliers", 1993;
//! 1.4826 scales the MAD to a standard deviation for normal data).

/// Modified z-score beyond which a sample is an outlier: ten standard deviations, with the MAD
/// scaled by 1.4826 to estimate one (hyperfine `OUTLIER_THRESHOLD`).
pub const OUTLIER_THRESHOLD: f64 = 1.4826 * 10.0;

/// Summary of a non-empty sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
    /// Sample standard deviation / mean; 0 for a single value.
    pub cv: f64,
    /// Samples whose modified z-score exceeds [`OUTLIER_THRESHOLD`].
    pub outliers: usize,
}

/// Summarizes `xs`; `None` when it is empty or holds a non-finite value.
pub fn summarize(xs: &[f64]) -> Option<Summary> {
    if xs.is_empty() || xs.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    let cv = if mean != 0.0 {
        var.sqrt() / mean.abs()
    } else {
        0.0
    };
    Some(Summary {
        count: n,
        min: sorted[0],
        max: sorted[n - 1],
        mean,
        median: percentile_sorted(&sorted, 50.0),
        p10: percentile_sorted(&sorted, 10.0),
        p90: percentile_sorted(&sorted, 90.0),
        cv,
        outliers: outliers(xs).len(),
    })
}

/// Median of `xs`; `None` when empty.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(percentile_sorted(&sorted, 50.0))
}

/// The `p`-th percentile (0–100) of sorted data, interpolating linearly between closest ranks
/// (Hyndman and Fan type 7, NumPy's default). `sorted` must be non-empty and ascending.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// Median absolute deviation from the median (unscaled).
pub fn mad(xs: &[f64]) -> Option<f64> {
    let m = median(xs)?;
    let dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    median(&dev)
}

/// Indices of samples whose modified z-score `|x - median| / MAD` exceeds
/// [`OUTLIER_THRESHOLD`]. With a zero MAD (more than half the samples equal) nothing is flagged,
/// as in hyperfine, which guards the division the same way.
pub fn outliers(xs: &[f64]) -> Vec<usize> {
    let (Some(m), Some(d)) = (median(xs), mad(xs)) else {
        return Vec::new();
    };
    if d <= 0.0 {
        return Vec::new();
    }
    xs.iter()
        .enumerate()
        .filter(|(_, x)| ((*x - m) / d).abs() > OUTLIER_THRESHOLD)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        // numpy.percentile([1..=10], [10, 50, 90]) == [1.9, 5.5, 9.1]
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile_sorted(&xs, 10.0) - 1.9).abs() < 1e-12);
        assert!((percentile_sorted(&xs, 50.0) - 5.5).abs() < 1e-12);
        assert!((percentile_sorted(&xs, 90.0) - 9.1).abs() < 1e-12);
        assert_eq!(percentile_sorted(&xs, 0.0), 1.0);
        assert_eq!(percentile_sorted(&xs, 100.0), 10.0);
    }

    #[test]
    fn mad_and_outliers() {
        let xs = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 10.0];
        assert!((mad(&xs).unwrap() - 0.05).abs() < 1e-12);
        assert_eq!(outliers(&xs), vec![6]);
        // A tight sample with no far value has none.
        assert!(outliers(&[1.0, 1.1, 0.9, 1.0]).is_empty());
        // Zero MAD flags nothing rather than dividing by zero.
        assert!(outliers(&[1.0, 1.0, 1.0, 5.0]).is_empty());
    }

    #[test]
    fn summary_orders_and_spreads() {
        let s = summarize(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!((s.min, s.max, s.count), (2.0, 9.0, 8));
        assert_eq!(s.mean, 5.0);
        assert_eq!(s.median, 4.5);
        assert!(s.min <= s.p10 && s.p10 <= s.median && s.median <= s.p90 && s.p90 <= s.max);
        // sample stddev = sqrt(32/7)
        assert!((s.cv - (32.0f64 / 7.0).sqrt() / 5.0).abs() < 1e-12);
        assert!(summarize(&[]).is_none());
        assert!(summarize(&[1.0, f64::NAN]).is_none());
        assert_eq!(summarize(&[3.0]).unwrap().cv, 0.0);
    }
}
