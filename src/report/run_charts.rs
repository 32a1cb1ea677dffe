//! Charts and tables of probe runs. Every chart puts all runs on the same axes, so two rigs, or
//! one rig before and after a change, compare at a glance.
use super::chart::{Bars, Chart, Level, Line, Lines, Panel, Reference, Series, Spans};
use super::table::{fmt_num, Section};
use crate::probe::schema::{GpuInfo, Measurement, PhaseKind, ProbeRun, Sample};
use std::collections::BTreeMap;

/// A run with its report name.
pub type NamedRun<'a> = (&'a str, &'a ProbeRun);

/// The GPU a phase's `device` (`gpu<index>`) names.
pub fn gpu<'a>(run: &'a ProbeRun, device: &str) -> Option<&'a GpuInfo> {
    let index: u32 = device.strip_prefix("gpu")?.parse().ok()?;
    run.gpus.iter().find(|g| g.index == index)
}

/// Results of every phase of `kind` on `device`.
pub fn results<'a>(
    run: &'a ProbeRun,
    kind: PhaseKind,
    device: &'a str,
) -> impl Iterator<Item = &'a Measurement> + 'a {
    run.phases
        .iter()
        .filter(move |p| p.kind == kind && p.device == device)
        .flat_map(|p| p.results.iter())
}

/// The serialized (kebab-case or lowercase) name of a schema enum value.
fn name_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Throttle reasons that mean "nothing to do", not a slowdown (as in the probe's summaries).
const IDLE_REASONS: [&str; 1] = ["gpu_idle"];

/// `gpu0 H100 80GB HBM3`, prefixed with the run name when there are several runs.
fn who(runs: &[NamedRun], run: &str, doc: &ProbeRun, device: &str) -> String {
    let dev = match gpu(doc, device) {
        Some(g) => format!("{device} {}", g.name.trim_start_matches("NVIDIA ")),
        None => device.to_owned(),
    };
    if runs.len() > 1 {
        format!("{run} {dev}")
    } else {
        dev
    }
}

/// GEMM size on a log axis: N for square products, else the cube root of M·N·K.
fn gemm_size(m: &Measurement) -> Option<f64> {
    let s = m.shape;
    match (s.m, s.n, s.k) {
        (Some(a), Some(b), Some(c)) if a == b && b == c => Some(a as f64),
        (Some(a), Some(b), Some(c)) => Some((a as f64 * b as f64 * c as f64).cbrt()),
        _ => None,
    }
}

/// TFLOP/s curves of phase `kind` over `x`, one line per run, device, dtype (and variant), with
/// the catalog peak of each dtype as a dashed level.
fn tflops_lines(
    runs: &[NamedRun],
    kind: PhaseKind,
    x: impl Fn(&Measurement) -> Option<f64>,
    variant: impl Fn(&Measurement) -> String,
) -> (Vec<Line>, Vec<Level>) {
    let mut lines: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut levels: BTreeMap<String, f64> = BTreeMap::new();
    for (name, run) in runs {
        for phase in run.phases.iter().filter(|p| p.kind == kind) {
            for m in &phase.results {
                let (Some(xv), Some(t)) = (x(m), m.tflops) else {
                    continue;
                };
                let dtype = m.dtype.clone().unwrap_or_else(|| "?".into());
                lines
                    .entry(format!(
                        "{} {dtype}{}",
                        who(runs, name, run, &phase.device),
                        variant(m)
                    ))
                    .or_default()
                    .push((xv, t));
                if let Some(peak) = m.peak_tflops {
                    let gpu = gpu(run, &phase.device)
                        .and_then(|g| g.catalog_id.clone())
                        .unwrap_or_else(|| phase.device.clone());
                    levels.insert(format!("catalog peak {dtype} ({gpu})"), peak);
                }
            }
        }
    }
    let lines = lines
        .into_iter()
        .map(|(name, mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Line { name, points }
        })
        .collect();
    (
        lines,
        levels
            .into_iter()
            .map(|(name, y)| Level {
                name,
                y,
                series: None,
            })
            .collect(),
    )
}

fn lines_chart(
    id: &str,
    title: &str,
    x_axis: &str,
    y_axis: &str,
    (series, levels): (Vec<Line>, Vec<Level>),
) -> Chart {
    Chart {
        id: id.into(),
        title: title.into(),
        panels: vec![Panel::Lines(Lines {
            title: None,
            x_axis: x_axis.into(),
            y_axis: y_axis.into(),
            x_log2: true,
            series,
            levels,
            spans: vec![],
            summarize: false,
        })],
    }
}

/// Bars of a rate from the phases of `kinds`: one category per measurement label, one series per
/// run and device, the theoretical rate as a tick.
fn rate_bars(
    runs: &[NamedRun],
    kinds: &[PhaseKind],
    axis: &str,
    reference: &str,
    rate: impl Fn(&Measurement) -> Option<f64>,
    peak: impl Fn(&Measurement) -> Option<f64>,
) -> Bars {
    let mut categories: Vec<String> = Vec::new();
    let mut cells: BTreeMap<(String, String), (f64, Option<f64>)> = BTreeMap::new();
    let mut series_names: Vec<String> = Vec::new();
    for (name, run) in runs {
        for phase in run.phases.iter().filter(|p| kinds.contains(&p.kind)) {
            let s = who(runs, name, run, &phase.device);
            for m in &phase.results {
                let Some(v) = rate(m) else { continue };
                let cat = if phase.kind == PhaseKind::Decode {
                    format!("decode: {}", m.label)
                } else {
                    m.label.clone()
                };
                if !categories.contains(&cat) {
                    categories.push(cat.clone());
                }
                if !series_names.contains(&s) {
                    series_names.push(s.clone());
                }
                cells.insert((cat, s.clone()), (v, peak(m)));
            }
        }
    }
    let get = |c: &String, s: &String| cells.get(&(c.clone(), s.clone())).copied();
    let series = series_names
        .iter()
        .map(|s| Series {
            name: s.clone(),
            values: categories.iter().map(|c| get(c, s).map(|v| v.0)).collect(),
        })
        .collect();
    let refs: Vec<Vec<Option<f64>>> = categories
        .iter()
        .map(|c| {
            series_names
                .iter()
                .map(|s| get(c, s).and_then(|v| v.1))
                .collect()
        })
        .collect();
    let has_refs = refs.iter().flatten().any(Option::is_some);
    Bars {
        title: None,
        axis: axis.into(),
        categories,
        series,
        stacked: false,
        reference: has_refs.then(|| Reference {
            name: reference.into(),
            values: refs,
        }),
        money: false,
    }
}

/// Consecutive throttled samples as time ranges, and the reasons seen.
fn throttle_spans(samples: &[Sample]) -> (Vec<(f64, f64)>, Vec<String>) {
    let mut ranges: Vec<(f64, f64)> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut open: Option<(f64, f64)> = None;
    for s in samples {
        let active: Vec<&String> = s
            .throttle_reasons
            .iter()
            .filter(|r| !IDLE_REASONS.contains(&r.as_str()))
            .collect();
        if active.is_empty() {
            ranges.extend(open.take());
            continue;
        }
        for r in active {
            if !reasons.contains(r) {
                reasons.push(r.clone());
            }
        }
        open = Some(match open {
            Some((a, _)) => (a, s.t_s),
            None => (s.t_s, s.t_s),
        });
    }
    ranges.extend(open);
    (ranges, reasons)
}

/// Power, temperature and SM clock over time, throttled intervals shaded.
fn telemetry_chart(runs: &[NamedRun], prefix: &str) -> Chart {
    type Metric = fn(&Sample) -> Option<f64>;
    let metrics: [(&str, &str, Metric); 3] = [
        ("Board power", "power (W)", |s| s.power_w),
        ("Temperature", "temperature (°C)", |s| s.temp_c),
        ("SM clock", "SM clock (MHz)", |s| s.sm_clock_mhz),
    ];
    let mut spans = Vec::new();
    let mut limits = Vec::new();
    for (name, run) in runs {
        for t in &run.telemetry {
            let (ranges, reasons) = throttle_spans(&t.samples);
            if !ranges.is_empty() {
                spans.push(Spans {
                    name: format!(
                        "throttled: {} ({})",
                        who(runs, name, run, &t.device),
                        reasons.join(", ")
                    ),
                    ranges,
                });
            }
            if let Some(w) = gpu(run, &t.device).and_then(|g| g.power_limit_w) {
                let series = who(runs, name, run, &t.device);
                limits.push(Level {
                    name: format!("power limit {series}"),
                    y: w,
                    series: Some(series),
                });
            }
        }
    }
    let panels = metrics
        .iter()
        .enumerate()
        .map(|(i, (title, axis, f))| {
            let series = runs
                .iter()
                .flat_map(|(name, run)| run.telemetry.iter().map(move |t| (name, run, t)))
                .map(|(name, run, t)| Line {
                    name: who(runs, name, run, &t.device),
                    points: t
                        .samples
                        .iter()
                        .filter_map(|s| f(s).map(|v| (s.t_s, v)))
                        .collect(),
                })
                .filter(|l| !l.points.is_empty())
                .collect();
            Panel::Lines(Lines {
                title: Some((*title).into()),
                x_axis: "time since the run started (s)".into(),
                y_axis: (*axis).into(),
                x_log2: false,
                series,
                levels: if i == 0 { limits.clone() } else { vec![] },
                spans: spans.clone(),
                summarize: true,
            })
        })
        .collect();
    Chart {
        id: format!("{prefix}-telemetry"),
        title: "GPU telemetry".into(),
        panels,
    }
}

/// Every probe-run chart that has data.
pub fn charts(runs: &[NamedRun], prefix: &str) -> Vec<Chart> {
    let gemm = tflops_lines(runs, PhaseKind::Gemm, gemm_size, |_| String::new());
    let attention = tflops_lines(
        runs,
        PhaseKind::Attention,
        |m| m.shape.seq_len.map(|s| s as f64),
        |m| {
            if m.shape.causal == Some(true) {
                " causal".into()
            } else {
                String::new()
            }
        },
    );
    let cpu_gemm = rate_bars(
        runs,
        &[PhaseKind::CpuGemm],
        "throughput (GFLOP/s)",
        "",
        |m| m.tflops.map(|t| t * 1000.0),
        |_| None,
    );
    let cpu_stream = rate_bars(
        runs,
        &[PhaseKind::CpuStream],
        "bandwidth (GB/s)",
        "",
        |m| m.gb_per_s,
        |_| None,
    );
    let mut out = vec![
        lines_chart(
            &format!("{prefix}-gemm"),
            "GEMM throughput by matrix size",
            "matrix size N (M·N·K = N³)",
            "TFLOP/s",
            gemm,
        ),
        lines_chart(
            &format!("{prefix}-attention"),
            "Attention throughput by sequence length",
            "sequence length (tokens)",
            "TFLOP/s",
            attention,
        ),
        Chart {
            id: format!("{prefix}-memory-bandwidth"),
            title: "GPU memory bandwidth against theory".into(),
            panels: vec![Panel::Bars(rate_bars(
                runs,
                &[PhaseKind::Memory, PhaseKind::Decode],
                "bandwidth (GB/s)",
                "theory (catalog)",
                |m| m.gb_per_s,
                |m| m.peak_gb_per_s,
            ))],
        },
        Chart {
            id: format!("{prefix}-pcie"),
            title: "Host-device transfers against the PCIe link".into(),
            panels: vec![Panel::Bars(rate_bars(
                runs,
                &[PhaseKind::Pcie],
                "bandwidth (GB/s)",
                "theory (PCIe link, one direction)",
                |m| m.gb_per_s,
                |m| m.peak_gb_per_s,
            ))],
        },
        telemetry_chart(runs, prefix),
        Chart {
            id: format!("{prefix}-cpu"),
            title: "CPU".into(),
            panels: [
                ("f32 matrix multiply", cpu_gemm),
                ("STREAM copy and triad (f64)", cpu_stream),
            ]
            .into_iter()
            .filter(|(_, b)| !b.categories.is_empty())
            .map(|(t, mut b)| {
                b.title = Some(t.into());
                Panel::Bars(b)
            })
            .collect(),
        },
    ];
    out.retain(Chart::has_data);
    out
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

/// One row per run: host, CPU, GPUs and when it ran.
pub fn runs_section(runs: &[NamedRun]) -> Section {
    let rows = runs
        .iter()
        .map(|(name, r)| {
            let h = &r.host;
            let gpus = if r.gpus.is_empty() {
                format!(
                    "none ({})",
                    r.gpu_unavailable_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                )
            } else {
                r.gpus
                    .iter()
                    .map(|g| format!("gpu{} {}", g.index, g.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let status = if r.interrupted {
                "interrupted".to_owned()
            } else if r.finished_at.is_some() {
                "complete".to_owned()
            } else {
                "in progress or cut off".to_owned()
            };
            vec![
                name.to_string(),
                opt(h.hostname.clone()),
                opt(h.cpu_model.clone()),
                format!(
                    "{} / {}",
                    opt(h.cpu_cores.map(|c| c.to_string())),
                    h.cpu_threads
                ),
                opt(h.ram_bytes.map(|b| fmt_num(b as f64 / (1u64 << 30) as f64))),
                gpus,
                r.started_at.clone(),
                status,
                format!("{} {}", r.tool.name, r.tool.version),
            ]
        })
        .collect();
    Section::new(
        "Probe runs",
        &[
            "run",
            "host",
            "CPU",
            "cores / threads",
            "RAM (GiB)",
            "GPUs",
            "started",
            "status",
            "tool",
        ],
        rows,
    )
}

/// Every phase with its status, so a skipped or failed measurement is visible, not just absent.
pub fn phases_section(runs: &[NamedRun]) -> Section {
    let rows = runs
        .iter()
        .flat_map(|(name, r)| {
            r.phases.iter().map(move |p| {
                vec![
                    name.to_string(),
                    p.name.clone(),
                    name_of(&p.status),
                    fmt_num(p.duration_s),
                    p.results.len().to_string(),
                    p.note.clone().unwrap_or_default(),
                ]
            })
        })
        .collect();
    Section::new(
        "Probe phases",
        &["run", "phase", "status", "duration (s)", "results", "note"],
        rows,
    )
}

/// Problems and observations the probe drew from its measurements.
pub fn findings_section(runs: &[NamedRun]) -> Option<Section> {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .flat_map(|(name, r)| {
            r.findings.iter().map(move |f| {
                vec![
                    name.to_string(),
                    name_of(&f.severity),
                    f.code.clone(),
                    f.device.clone().unwrap_or_default(),
                    f.message.clone(),
                ]
            })
        })
        .collect();
    (!rows.is_empty()).then(|| {
        Section::new(
            "Probe findings",
            &["run", "severity", "code", "device", "message"],
            rows,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, reasons: &[&str]) -> Sample {
        Sample {
            t_s: t,
            throttle_reasons: reasons.iter().map(|r| r.to_string()).collect(),
            ..Sample::default()
        }
    }

    #[test]
    fn throttled_samples_merge_into_ranges_and_idle_is_not_throttling() {
        let samples = [
            sample(0.0, &["gpu_idle"]),
            sample(1.0, &["sw_power_cap"]),
            sample(2.0, &["sw_power_cap", "hw_slowdown"]),
            sample(3.0, &[]),
            sample(4.0, &["sw_thermal_slowdown"]),
        ];
        let (ranges, reasons) = throttle_spans(&samples);
        assert_eq!(ranges, vec![(1.0, 2.0), (4.0, 4.0)]);
        assert_eq!(
            reasons,
            ["sw_power_cap", "hw_slowdown", "sw_thermal_slowdown"]
        );
    }
}
