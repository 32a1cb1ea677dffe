//! Summaries of sampled GPU telemetry over a window (pure).
//!
//! Energy comes from NVML's total-energy counter when the samples carry it: the counter
//! (millijoules since driver load, Volta and later) integrates power inside the GPU and updates
//! about every 100 ms (ml.energy/Zeus), whereas `power_usage` is averaged over about 1 s on
//! Ampere and later (NVML docs) and samples miss most of the run (Yang et al., arXiv 2312.02741).
//! Without the counter the trapezoid integral of sampled power is used and labelled as such.
use super::schema::{EnergySource, Sample, TelemetrySummary};

/// Throttle reasons that mean the clocks were pulled down by heat, hardware or a power brake.
pub const SLOWDOWN_REASONS: &[&str] = &[
    "sw_thermal_slowdown",
    "hw_slowdown",
    "hw_thermal_slowdown",
    "hw_power_brake_slowdown",
];

/// The reason NVML reports when nothing is running; not a throttle worth reporting.
pub const IDLE_REASON: &str = "gpu_idle";

/// Energy over `samples` (already restricted to a window), and where it came from.
pub fn energy_j(samples: &[Sample]) -> Option<(f64, EnergySource)> {
    let counters: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| s.energy_counter_j.map(|e| (s.t_s, e)))
        .collect();
    if let (Some(first), Some(last)) = (counters.first(), counters.last()) {
        // A counter that goes backwards was reset (driver reload); fall back to power then.
        if last.0 > first.0 && last.1 >= first.1 {
            return Some((last.1 - first.1, EnergySource::NvmlEnergyCounter));
        }
    }
    let power: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| s.power_w.map(|p| (s.t_s, p)))
        .collect();
    if power.len() < 2 {
        return None;
    }
    let joules = power
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum();
    Some((joules, EnergySource::PowerTrapezoid))
}

/// Energy over exactly `[start_s, end_s]`. Samples rarely fall on a window's edges: the samples
/// inside it span up to two sampling intervals less than the window, so their difference alone
/// undercounts. The counter is therefore interpolated at both edges from the samples around
/// them; where no sample lies beyond an edge, the in-window rate is applied to the whole window.
pub fn energy_between(samples: &[Sample], start_s: f64, end_s: f64) -> Option<(f64, EnergySource)> {
    if end_s <= start_s {
        return None;
    }
    let counters: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| s.energy_counter_j.map(|e| (s.t_s, e)))
        .collect();
    let monotonic = counters
        .windows(2)
        .all(|w| w[1].1 >= w[0].1 && w[1].0 > w[0].0);
    if counters.len() >= 2 && monotonic {
        if let (Some(a), Some(b)) = (
            interpolate(&counters, start_s),
            interpolate(&counters, end_s),
        ) {
            return Some((b - a, EnergySource::NvmlEnergyCounter));
        }
        let inside = window(samples, start_s, end_s);
        if let Some((joules, source)) = energy_j(inside) {
            return scale_to(inside, joules, end_s - start_s).map(|j| (j, source));
        }
    }
    let inside = window(samples, start_s, end_s);
    let (joules, source) = energy_j(inside)?;
    scale_to(inside, joules, end_s - start_s).map(|j| (j, source))
}

/// `value` at `t` by linear interpolation between the points around it; `None` outside them.
fn interpolate(points: &[(f64, f64)], t: f64) -> Option<f64> {
    let i = points.partition_point(|p| p.0 < t);
    if i < points.len() && points[i].0 == t {
        return Some(points[i].1);
    }
    let (lo, hi) = (points.get(i.checked_sub(1)?)?, points.get(i)?);
    Some(lo.1 + (hi.1 - lo.1) * (t - lo.0) / (hi.0 - lo.0))
}

/// Energy measured over the samples' span, extended at the same rate to `window_s`.
fn scale_to(samples: &[Sample], joules: f64, window_s: f64) -> Option<f64> {
    let span = samples.last()?.t_s - samples.first()?.t_s;
    (span > 0.0).then(|| joules / span * window_s)
}

/// The samples with `start_s <= t_s <= end_s`.
pub fn window(samples: &[Sample], start_s: f64, end_s: f64) -> &[Sample] {
    let lo = samples.partition_point(|s| s.t_s < start_s);
    let hi = samples.partition_point(|s| s.t_s <= end_s);
    &samples[lo..hi.max(lo)]
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

fn max(xs: &[f64]) -> Option<f64> {
    xs.iter().copied().reduce(f64::max)
}

fn min(xs: &[f64]) -> Option<f64> {
    xs.iter().copied().reduce(f64::min)
}

/// Summarizes samples already restricted to one window; `None` when there are none.
pub fn summarize(samples: &[Sample]) -> Option<TelemetrySummary> {
    let (first, last) = (samples.first()?, samples.last()?);
    let pick = |f: fn(&Sample) -> Option<f64>| samples.iter().filter_map(f).collect::<Vec<f64>>();
    let power = pick(|s| s.power_w);
    let temp = pick(|s| s.temp_c);
    let sm = pick(|s| s.sm_clock_mhz);
    let util = pick(|s| s.util_pct);
    let mut reasons: Vec<String> = samples
        .iter()
        .flat_map(|s| s.throttle_reasons.iter())
        .filter(|r| r.as_str() != IDLE_REASON)
        .cloned()
        .collect();
    reasons.sort();
    reasons.dedup();
    let slowed = samples
        .iter()
        .filter(|s| {
            s.throttle_reasons
                .iter()
                .any(|r| SLOWDOWN_REASONS.contains(&r.as_str()))
        })
        .count();
    let energy = energy_j(samples);
    Some(TelemetrySummary {
        samples: samples.len() as u32,
        window_s: last.t_s - first.t_s,
        energy_j: energy.map(|e| e.0),
        energy_source: energy.map(|e| e.1),
        mean_power_w: mean(&power),
        max_power_w: max(&power),
        max_temp_c: max(&temp),
        mean_sm_clock_mhz: mean(&sm),
        min_sm_clock_mhz: min(&sm),
        mean_util_pct: mean(&util),
        throttle_reasons: reasons,
        slowdown_pct: Some(100.0 * slowed as f64 / samples.len() as f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t_s: f64, power_w: f64, energy: Option<f64>) -> Sample {
        Sample {
            t_s,
            power_w: Some(power_w),
            energy_counter_j: energy,
            ..Sample::default()
        }
    }

    #[test]
    fn energy_prefers_the_counter() {
        let xs = [
            s(0.0, 100.0, Some(1000.0)),
            s(1.0, 300.0, Some(1250.0)),
            s(2.0, 300.0, Some(1500.0)),
        ];
        assert_eq!(
            energy_j(&xs),
            Some((500.0, EnergySource::NvmlEnergyCounter))
        );
    }

    #[test]
    fn energy_falls_back_to_the_power_trapezoid() {
        // 100 W -> 300 W over 1 s, then 300 W for 1 s: 200 J + 300 J.
        let xs = [
            s(0.0, 100.0, None),
            s(1.0, 300.0, None),
            s(2.0, 300.0, None),
        ];
        assert_eq!(energy_j(&xs), Some((500.0, EnergySource::PowerTrapezoid)));
        // A reset counter is not trusted.
        let reset = [s(0.0, 100.0, Some(9000.0)), s(1.0, 100.0, Some(10.0))];
        assert_eq!(
            energy_j(&reset),
            Some((100.0, EnergySource::PowerTrapezoid))
        );
        assert_eq!(energy_j(&[s(0.0, 100.0, None)]), None);
    }

    #[test]
    fn energy_covers_the_whole_window_not_just_the_samples_inside() {
        // A steady 500 W sampled every 0.1 s; the timed window starts and ends between samples.
        let xs: Vec<Sample> = (0..20)
            .map(|i| {
                let t = i as f64 * 0.1;
                s(t, 500.0, Some(1000.0 + 500.0 * t))
            })
            .collect();
        let (j, source) = energy_between(&xs, 0.05, 1.05).unwrap();
        assert_eq!(source, EnergySource::NvmlEnergyCounter);
        assert!((j - 500.0).abs() < 1e-9, "{j}");
        // The samples inside span only 0.9 s of the 1.0 s window: 10 % short.
        let inside = energy_j(window(&xs, 0.05, 1.05)).unwrap().0;
        assert!((inside - 450.0).abs() < 1e-9, "{inside}");
        // Past the last sample the in-window rate is extended to the window.
        let (j, _) = energy_between(&xs, 1.55, 2.05).unwrap();
        assert!((j - 250.0).abs() < 1e-9, "{j}");
        // Power only: the trapezoid over the samples, extended the same way.
        let power: Vec<Sample> = (0..20).map(|i| s(i as f64 * 0.1, 200.0, None)).collect();
        let (j, source) = energy_between(&power, 0.05, 1.05).unwrap();
        assert_eq!(source, EnergySource::PowerTrapezoid);
        assert!((j - 200.0).abs() < 1e-9, "{j}");
        assert_eq!(energy_between(&power, 1.0, 1.0), None);
    }

    #[test]
    fn window_is_inclusive() {
        let xs: Vec<Sample> = (0..10).map(|i| s(i as f64, 1.0, None)).collect();
        let w = window(&xs, 2.0, 4.0);
        assert_eq!(
            w.iter().map(|x| x.t_s).collect::<Vec<_>>(),
            vec![2.0, 3.0, 4.0]
        );
        assert!(window(&xs, 20.0, 30.0).is_empty());
    }

    #[test]
    fn summary_reports_throttling_and_ranges() {
        let mut xs = vec![
            s(0.0, 200.0, None),
            s(0.5, 400.0, None),
            s(1.0, 600.0, None),
            s(1.5, 600.0, None),
        ];
        xs[0].throttle_reasons = vec!["gpu_idle".into()];
        xs[2].throttle_reasons = vec!["sw_power_cap".into()];
        xs[3].throttle_reasons = vec!["hw_slowdown".into(), "sw_power_cap".into()];
        xs[1].temp_c = Some(70.0);
        xs[3].temp_c = Some(84.0);
        let t = summarize(&xs).unwrap();
        assert_eq!(t.samples, 4);
        assert_eq!(t.window_s, 1.5);
        assert_eq!(t.mean_power_w, Some(450.0));
        assert_eq!(t.max_power_w, Some(600.0));
        assert_eq!(t.max_temp_c, Some(84.0));
        assert_eq!(
            t.throttle_reasons,
            vec!["hw_slowdown".to_string(), "sw_power_cap".to_string()]
        );
        assert_eq!(t.slowdown_pct, Some(25.0));
        assert_eq!(t.energy_source, Some(EnergySource::PowerTrapezoid));
        assert_eq!(t.mean_sm_clock_mhz, None);
        assert!(summarize(&[]).is_none());
    }
}
