//! Turns raw repetition times into a [`Measurement`] with statistics and rates.
use super::count;
use super::schema::{ClockSource, Measurement};
use super::stats;
use std::time::Instant;

/// Raw times of one timed operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub times_s: Vec<f64>,
    pub warmup: u32,
    pub clock: ClockSource,
}

/// A measurement labelled `label` with the statistics of `timed` filled in.
pub fn from_times(label: impl Into<String>, dtype: Option<&str>, timed: Timed) -> Measurement {
    let mut m = Measurement {
        label: label.into(),
        dtype: dtype.map(str::to_owned),
        warmup: timed.warmup,
        clock: Some(timed.clock),
        ..Measurement::default()
    };
    if let Some(s) = stats::summarize(&timed.times_s) {
        m.median_s = Some(s.median);
        m.min_s = Some(s.min);
        m.p10_s = Some(s.p10);
        m.p90_s = Some(s.p90);
        m.cv = Some(s.cv);
        m.outliers = s.outliers as u32;
    }
    m.times_s = timed.times_s;
    m
}

impl Measurement {
    /// Sets the work per repetition and the TFLOP/s it implies (median and best).
    pub fn with_flop(mut self, flop: f64, peak_tflops: Option<f64>) -> Measurement {
        self.flop = Some(flop);
        self.tflops = self.median_s.and_then(|t| count::tflops(flop, t));
        self.best_tflops = self.min_s.and_then(|t| count::tflops(flop, t));
        if let (Some(rate), Some(peak)) = (self.tflops, peak_tflops) {
            self.peak_tflops = Some(peak);
            self.pct_of_peak = count::pct_of(rate, peak);
        }
        self
    }

    /// Sets the bytes per repetition, their counting convention and the GB/s they imply.
    pub fn with_bytes(
        mut self,
        bytes: f64,
        convention: &str,
        peak_gb_per_s: Option<f64>,
    ) -> Measurement {
        self.bytes = Some(bytes);
        self.bytes_convention = Some(convention.to_owned());
        self.gb_per_s = self.median_s.and_then(|t| count::gb_per_s(bytes, t));
        self.best_gb_per_s = self.min_s.and_then(|t| count::gb_per_s(bytes, t));
        if let (Some(rate), Some(peak)) = (self.gb_per_s, peak_gb_per_s) {
            self.peak_gb_per_s = Some(peak);
            self.pct_of_peak = count::pct_of(rate, peak);
        }
        self
    }

    /// Records a correctness check against `bound`.
    pub fn with_check(mut self, max_rel_error: f64, bound: f64) -> Measurement {
        self.max_rel_error = Some(max_rel_error);
        self.rel_error_bound = Some(bound);
        self.check_passed = Some(max_rel_error.is_finite() && max_rel_error <= bound);
        self
    }
}

/// Repetition policy: at least `min_reps` and `min_time_s` of timed work, at most `max_reps`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reps {
    pub warmup: u32,
    pub min_reps: u32,
    pub max_reps: u32,
    pub min_time_s: f64,
}

impl Reps {
    /// Whether to run another repetition after `done` taking `elapsed_s` in total.
    pub fn more(&self, done: u32, elapsed_s: f64) -> bool {
        done < self.min_reps || (done < self.max_reps && elapsed_s < self.min_time_s)
    }
}

/// Times `f` on the host clock under `reps`; stops early (keeping what ran) when `stop()` is true.
pub fn time_host(reps: Reps, mut stop: impl FnMut() -> bool, mut f: impl FnMut()) -> Timed {
    for _ in 0..reps.warmup {
        if stop() {
            break;
        }
        f();
    }
    let mut times = Vec::new();
    let mut total = 0.0;
    while reps.more(times.len() as u32, total) && !stop() {
        let t0 = Instant::now();
        f();
        let dt = t0.elapsed().as_secs_f64();
        total += dt;
        times.push(dt);
    }
    Timed {
        times_s: times,
        warmup: reps.warmup,
        clock: ClockSource::Host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_statistics_and_rates() {
        let timed = Timed {
            times_s: vec![2.0, 1.0, 3.0],
            warmup: 1,
            clock: ClockSource::Host,
        };
        let m = from_times("x", Some("f32"), timed)
            .with_flop(4e12, Some(4.0))
            .with_bytes(2e9, "read+write", None);
        assert_eq!(m.median_s, Some(2.0));
        assert_eq!(m.min_s, Some(1.0));
        assert_eq!(m.tflops, Some(2.0));
        assert_eq!(m.best_tflops, Some(4.0));
        assert_eq!(m.pct_of_peak, Some(50.0));
        assert_eq!(m.gb_per_s, Some(1.0));
        assert_eq!(m.best_gb_per_s, Some(2.0));
        assert_eq!(m.times_s.len(), 3);
        assert_eq!(m.clone().with_check(1e-3, 1e-2).check_passed, Some(true));
        assert_eq!(
            m.clone().with_check(f64::NAN, 1e-2).check_passed,
            Some(false)
        );
    }

    #[test]
    fn repetition_policy_and_early_stop() {
        let reps = Reps {
            warmup: 2,
            min_reps: 3,
            max_reps: 5,
            min_time_s: 10.0,
        };
        let mut calls = 0;
        let t = time_host(reps, || false, || calls += 1);
        assert_eq!((t.times_s.len(), calls), (5, 7));
        let calls = std::cell::Cell::new(0);
        let t = time_host(reps, || calls.get() >= 3, || calls.set(calls.get() + 1));
        assert_eq!(t.times_s.len(), 1);
    }
}
