//! Multi-threaded f32 GEMM on the CPU through the `gemm` crate (BLAS-class, rayon-parallel).
use super::CpuSize;
use crate::probe::control::{Cancel, Observer};
use crate::probe::matcheck::{self, MatView};
use crate::probe::measure::{self, Reps};
use crate::probe::rng::uniform_f32;
use crate::probe::schema::{PhaseStatus, Shape};
use crate::probe::{count, Mode, Outcome};
use std::time::Instant;

/// Square sizes tried in turn until one multiply takes at least [`MIN_CALL_S`].
const CALIBRATION_SIZES: [usize; 7] = [256, 512, 1024, 1536, 2048, 3072, 4096];
/// Shortest single multiply worth timing (timer resolution and thread start-up become noise below).
const MIN_CALL_S: f64 = 0.2;

/// `c = a · b` for row-major `a` (m×k), `b` (k×n), `c` (m×n), on all threads.
fn sgemm(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], threads: usize) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm buffers too small"
    );
    // SAFETY: the assert above keeps every index the strides reach (row-major: column stride 1,
    // row strides k, n and n) inside `a`, `b` and `c`; `c` is a unique borrow so it aliases
    // neither input; `read_dst = false` means `c`'s old contents are never read.
    unsafe {
        ::gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            ::gemm::Parallelism::Rayon(threads),
        )
    }
}

/// The error bound for an f32 inner product of length k: k·ε (a standard worst-case bound).
fn bound(k: usize) -> f64 {
    k as f64 * f64::from(f32::EPSILON)
}

/// Checks a small odd-shaped product fully against the f64 reference.
fn check_small(threads: usize) -> (f64, f64) {
    let (m, n, k) = (67, 53, 71);
    let a = uniform_f32(m * k, 11);
    let b = uniform_f32(k * n, 12);
    let mut c = vec![0.0f32; m * n];
    sgemm(m, n, k, &a, &b, &mut c, threads);
    let (av, bv) = (MatView::row_major(&a, m, k), MatView::row_major(&b, k, n));
    let err = matcheck::max_scaled_error(&av, &bv, matcheck::all(m, n), |i, j| {
        f64::from(c[i * n + j])
    });
    (err, bound(k))
}

/// Checks 16 random elements of a timed square product.
fn check_sampled(n: usize, a: &[f32], b: &[f32], c: &[f32]) -> f64 {
    let (av, bv) = (MatView::row_major(a, n, n), MatView::row_major(b, n, n));
    matcheck::max_scaled_error(&av, &bv, matcheck::sampled(n, n, 16, 99), |i, j| {
        f64::from(c[i * n + j])
    })
}

/// Runs the CPU GEMM phase.
pub fn run(size: CpuSize, mode: Mode, cancel: &Cancel, obs: &dyn Observer) -> Outcome {
    let threads = rayon::current_num_threads();
    let mut results = Vec::new();
    let (small_err, small_bound) = check_small(threads);
    let check = measure::from_times(
        "check 67x53x71",
        Some("f32"),
        measure::Timed {
            times_s: vec![],
            warmup: 0,
            clock: crate::probe::schema::ClockSource::Host,
        },
    )
    .with_check(small_err, small_bound);
    results.push(check);
    obs.step();

    // Calibrate: the first size whose single multiply takes MIN_CALL_S (doubles as warm-up).
    let sizes: &[usize] = match size {
        CpuSize::Small => &[128],
        CpuSize::Auto => &CALIBRATION_SIZES,
    };
    let mut n = sizes[0];
    for &candidate in sizes {
        if cancel.is_cancelled() {
            return Outcome::cancelled(results);
        }
        n = candidate;
        let a = uniform_f32(n * n, 1);
        let b = uniform_f32(n * n, 2);
        let mut c = vec![0.0f32; n * n];
        let t0 = Instant::now();
        sgemm(n, n, n, &a, &b, &mut c, threads);
        obs.step();
        if t0.elapsed().as_secs_f64() >= MIN_CALL_S {
            break;
        }
    }

    let a = uniform_f32(n * n, 1);
    let b = uniform_f32(n * n, 2);
    let mut c = vec![0.0f32; n * n];
    let reps = match (size, mode) {
        (CpuSize::Small, _) => Reps {
            warmup: 1,
            min_reps: 3,
            max_reps: 3,
            min_time_s: 0.0,
        },
        (CpuSize::Auto, Mode::Quick) => Reps {
            warmup: 1,
            min_reps: 5,
            max_reps: 20,
            min_time_s: 1.0,
        },
        (CpuSize::Auto, Mode::Full) => Reps {
            warmup: 2,
            min_reps: 10,
            max_reps: 50,
            min_time_s: 5.0,
        },
    };
    let timed = measure::time_host(
        reps,
        || cancel.is_cancelled(),
        || {
            sgemm(n, n, n, &a, &b, &mut c, threads);
            obs.step();
        },
    );
    if timed.times_s.is_empty() {
        return Outcome::cancelled(results);
    }
    let nn = n as u64;
    let mut m = measure::from_times(format!("{n}x{n}x{n}"), Some("f32"), timed)
        .with_flop(count::gemm_flop(nn, nn, nn), None)
        .with_check(check_sampled(n, &a, &b, &c), bound(n));
    m.shape = Shape {
        m: Some(nn),
        n: Some(nn),
        k: Some(nn),
        ..Shape::default()
    };
    m.note = Some(format!(
        "gemm crate, {threads} rayon threads; 16 sampled outputs checked against f64"
    ));
    results.push(m);
    if cancel.is_cancelled() {
        return Outcome::cancelled(results);
    }
    let note = (size == CpuSize::Small)
        .then(|| "small test size: not a meaningful measurement".to_owned());
    Outcome {
        status: PhaseStatus::Ok,
        note,
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_crate_matches_the_naive_reference() {
        let (err, bound) = check_small(2);
        assert!(err < bound, "{err} >= {bound}");
    }

    #[test]
    fn a_corrupted_product_fails_the_sampled_check() {
        let n = 32;
        let a = uniform_f32(n * n, 1);
        let b = uniform_f32(n * n, 2);
        let mut c = vec![0.0f32; n * n];
        sgemm(n, n, n, &a, &b, &mut c, 1);
        assert!(check_sampled(n, &a, &b, &c) < bound(n));
        c.iter_mut().for_each(|x| *x += 0.5);
        assert!(check_sampled(n, &a, &b, &c) > bound(n));
    }
}
