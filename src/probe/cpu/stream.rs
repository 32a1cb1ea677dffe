//! STREAM-style copy and triad on the CPU (McCalpin's STREAM, adapted to rayon).
//!
//! Rules followed from STREAM: each array is at least 4× the sum of all last-level caches (or one
//! million elements, whichever is larger); f64 elements; bytes counted 16 per copy element and 24
//! per triad element (read + write); the first repetition is not timed; "best" is the fastest
//! repetition, and the median is reported beside it.
use super::CpuSize;
use crate::probe::control::{Cancel, Observer};
use crate::probe::measure::{self, Reps};
use crate::probe::schema::{Measurement, PhaseStatus, Shape};
use crate::probe::{count, Mode, Outcome};
use rayon::prelude::*;

/// STREAM's triad scalar.
const SCALAR: f64 = 3.0;
/// STREAM's minimum array length.
const MIN_ELEMENTS: usize = 1_000_000;
/// Elements per rayon task: large enough to amortize scheduling, small enough to balance.
const CHUNK: usize = 1 << 16;

/// Array length for a last-level cache of `llc_bytes`.
pub fn elements_for(llc_bytes: u64) -> usize {
    ((4 * llc_bytes / 8) as usize).max(MIN_ELEMENTS)
}

fn filled(len: usize, value: f64) -> Vec<f64> {
    let mut v = vec![0.0f64; len];
    // First touch in parallel, so pages land near the threads that will use them.
    v.par_chunks_mut(CHUNK).for_each(|c| c.fill(value));
    v
}

fn copy(a: &[f64], c: &mut [f64]) {
    c.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK))
        .for_each(|(c, a)| {
            for (x, y) in c.iter_mut().zip(a) {
                *x = *y;
            }
        });
}

fn triad(a: &mut [f64], b: &[f64], c: &[f64]) {
    a.par_chunks_mut(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .zip(c.par_chunks(CHUNK))
        .for_each(|((a, b), c)| {
            for ((x, y), z) in a.iter_mut().zip(b).zip(c) {
                *x = y + SCALAR * z;
            }
        });
}

/// Largest relative deviation of `xs` from `want`.
fn max_rel_error(xs: &[f64], want: f64) -> f64 {
    xs.par_iter()
        .map(|x| ((x - want) / want).abs())
        .reduce(|| 0.0, f64::max)
}

fn finish(
    label: &str,
    timed: measure::Timed,
    bytes: f64,
    elements: usize,
    err: f64,
) -> Measurement {
    let mut m =
        measure::from_times(label, Some("f64"), timed).with_bytes(bytes, "read+write", None);
    if label == "copy" {
        m.copy_size_gb_per_s = m.gb_per_s.map(|g| g / 2.0);
    }
    m.shape = Shape {
        elements: Some(elements as u64),
        ..Shape::default()
    };
    // Exact arithmetic on small integers: any difference is an error.
    m.with_check(err, 0.0)
}

/// Runs the CPU copy and triad phase over arrays sized from `llc_bytes`.
pub fn run(
    size: CpuSize,
    mode: Mode,
    llc_bytes: u64,
    cancel: &Cancel,
    obs: &dyn Observer,
) -> Outcome {
    let n = match size {
        CpuSize::Small => 1 << 18,
        CpuSize::Auto => elements_for(llc_bytes),
    };
    let reps = match (size, mode) {
        (CpuSize::Small, _) => Reps {
            warmup: 1,
            min_reps: 3,
            max_reps: 3,
            min_time_s: 0.0,
        },
        (CpuSize::Auto, Mode::Quick) => Reps {
            warmup: 1,
            min_reps: 10,
            max_reps: 10,
            min_time_s: 0.0,
        },
        (CpuSize::Auto, Mode::Full) => Reps {
            warmup: 1,
            min_reps: 20,
            max_reps: 100,
            min_time_s: 5.0,
        },
    };
    // STREAM's initial values: a = 1, b = 2, c = 0; copy makes c = a = 1, triad a = 2 + 3·1 = 5.
    let mut a = filled(n, 1.0);
    let b = filled(n, 2.0);
    let mut c = filled(n, 0.0);
    let mut results = Vec::new();

    let timed = measure::time_host(
        reps,
        || cancel.is_cancelled(),
        || {
            copy(&a, &mut c);
            obs.step();
        },
    );
    if timed.times_s.is_empty() {
        return Outcome::cancelled(results);
    }
    results.push(finish(
        "copy",
        timed,
        count::copy_bytes(n as u64, 8),
        n,
        max_rel_error(&c, 1.0),
    ));

    let timed = measure::time_host(
        reps,
        || cancel.is_cancelled(),
        || {
            triad(&mut a, &b, &c);
            obs.step();
        },
    );
    if timed.times_s.is_empty() {
        return Outcome::cancelled(results);
    }
    results.push(finish(
        "triad",
        timed,
        count::triad_bytes(n as u64, 8),
        n,
        max_rel_error(&a, 5.0),
    ));

    let mib = (n * 8) >> 20;
    let note = match size {
        CpuSize::Small => "small test size: arrays fit in cache, not a meaningful measurement".to_owned(),
        CpuSize::Auto => format!(
            "{mib} MiB per array (4x last-level cache {} MiB), {} rayon threads, bytes counted read+write",
            llc_bytes >> 20,
            rayon::current_num_threads()
        ),
    };
    if cancel.is_cancelled() {
        return Outcome::cancelled(results);
    }
    Outcome {
        status: PhaseStatus::Ok,
        note: Some(note),
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::control::Silent;

    #[test]
    fn arrays_are_four_times_the_cache() {
        assert_eq!(elements_for(32 << 20), 16 << 20);
        assert_eq!(elements_for(64 << 10), MIN_ELEMENTS);
    }

    #[test]
    fn kernels_compute_stream_values() {
        let (mut a, b, mut c) = (filled(1000, 1.0), filled(1000, 2.0), filled(1000, 0.0));
        copy(&a, &mut c);
        assert_eq!(max_rel_error(&c, 1.0), 0.0);
        triad(&mut a, &b, &c);
        assert_eq!(max_rel_error(&a, 5.0), 0.0);
        a[999] = 4.0;
        assert!(max_rel_error(&a, 5.0) > 0.0);
    }

    #[test]
    fn small_run_reports_checked_copy_and_triad() {
        let out = run(
            CpuSize::Small,
            Mode::Quick,
            32 << 20,
            &Cancel::new(),
            &Silent,
        );
        assert_eq!(out.status, PhaseStatus::Ok);
        let labels: Vec<&str> = out.results.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, vec!["copy", "triad"]);
        for m in &out.results {
            assert_eq!(m.check_passed, Some(true));
            assert_eq!(m.times_s.len(), 3);
            assert!(m.gb_per_s.unwrap() > 0.0);
        }
        assert_eq!(
            out.results[0].copy_size_gb_per_s,
            out.results[0].gb_per_s.map(|g| g / 2.0)
        );
    }

    #[test]
    fn a_cancelled_run_keeps_nothing_half_done() {
        let cancel = Cancel::new();
        cancel.cancel();
        let out = run(CpuSize::Small, Mode::Quick, 0, &cancel, &Silent);
        assert!(out.results.is_empty());
        assert_eq!(out.status, PhaseStatus::Partial);
    }
}
