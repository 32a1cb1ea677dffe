//! Plan against probe: what the plan counted on for each GPU beside what the rig measured, a
//! verdict per GPU, and the plan's estimates recomputed with the measured figures.
//!
//! The plan assumes `catalog bandwidth × decode efficiency` for decode and `catalog dense peak ×
//! prefill MFU` (training MFU for training plans) for compute; a GPU meets the plan when its
//! measured rate reaches that. For inference plans the planner's own speed model
//! ([`crate::plan::speed`]) is rerun with those assumed rates replaced by the slowest measured GPU
//! of the type (tensor parallelism waits for its slowest rank). A measured rate is achieved, not
//! peak, so it enters with efficiency 1; the measured GEMM rate leaves out attention and other
//! overheads, so recomputed prefill is a ceiling.
use super::chart::{fmt_value, Bars, Chart, Panel, Series};
use super::input::{OptionDoc, PlanDoc};
use super::run_charts::{results, NamedRun};
use super::table::{fmt_num, Section};
use crate::catalog::{Catalog, ComputeDtype, DenseTflops, Gpu};
use crate::plan::{memory, speed, Layout, PlanRequest};
use crate::probe::schema::{Measurement, PhaseKind, ProbeRun};

/// A rate the plan counts on and what a GPU measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    /// Catalog value the plan started from.
    pub catalog: Option<f64>,
    /// What the plan counts on: catalog × efficiency.
    pub assumed: Option<f64>,
    pub measured: Option<f64>,
    /// Where the measured value comes from, e.g. `decode GEMV`.
    pub source: String,
}

impl Rate {
    /// `meets`, `below by 12 %`, or why there is no verdict.
    pub fn verdict(&self) -> String {
        match (self.measured, self.assumed) {
            (Some(m), Some(a)) if a > 0.0 && m >= a => "meets".into(),
            (Some(m), Some(a)) if a > 0.0 => {
                format!("below by {} %", fmt_num((1.0 - m / a) * 100.0))
            }
            (None, _) => "not measured".into(),
            _ => "no plan figure".into(),
        }
    }
}

/// One measured GPU against the plan options for its type.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuCheck {
    pub run: String,
    pub device: String,
    pub gpu_id: String,
    /// Labels of the plan options using this GPU type.
    pub options: Vec<String>,
    /// Memory bandwidth, GB/s.
    pub bandwidth: Rate,
    /// Dense matrix throughput in the plan's compute dtype, TFLOP/s.
    pub compute: Rate,
    pub dtype: ComputeDtype,
}

/// Parses a probe dtype name (`bf16`, `f16`, `fp8-e4m3`, …).
pub fn dtype_of(name: &str) -> Option<ComputeDtype> {
    let n = name.to_ascii_lowercase();
    Some(match n.as_str() {
        "fp32" | "f32" | "float32" => ComputeDtype::Fp32,
        "tf32" => ComputeDtype::Tf32,
        "bf16" | "bfloat16" => ComputeDtype::Bf16,
        "fp16" | "f16" | "half" | "float16" => ComputeDtype::Fp16,
        "int8" | "i8" => ComputeDtype::Int8,
        "int4" | "i4" => ComputeDtype::Int4,
        _ if n.starts_with("fp8") || n.starts_with("e4m3") || n.starts_with("e5m2") => {
            ComputeDtype::Fp8
        }
        _ => return None,
    })
}

fn max_of<'a>(
    it: impl Iterator<Item = &'a Measurement>,
    f: impl Fn(&Measurement) -> Option<f64>,
) -> Option<f64> {
    it.filter_map(f).reduce(f64::max)
}

/// Measured memory bandwidth of `device`: the decode GEMV (what decode does) if it ran, else the
/// best device copy or triad.
pub fn measured_bandwidth(run: &ProbeRun, device: &str) -> (Option<f64>, &'static str) {
    match max_of(results(run, PhaseKind::Decode, device), |m| m.gb_per_s) {
        Some(v) => (Some(v), "decode GEMV"),
        None => (
            max_of(results(run, PhaseKind::Memory, device), |m| m.gb_per_s),
            "device copy/triad",
        ),
    }
}

/// Best measured GEMM throughput of `device` in `dtype`.
pub fn measured_tflops(run: &ProbeRun, device: &str, dtype: ComputeDtype) -> Option<f64> {
    max_of(
        results(run, PhaseKind::Gemm, device)
            .filter(|m| m.dtype.as_deref().and_then(dtype_of) == Some(dtype)),
        |m| m.tflops,
    )
}

/// The dtype the plan's estimates use (its speed figures say; training uses bf16).
fn plan_dtype(options: &[&OptionDoc]) -> ComputeDtype {
    options
        .iter()
        .find_map(|o| o.speed.as_ref().and_then(|s| dtype_of(&s.compute_dtype)))
        .unwrap_or(ComputeDtype::Bf16)
}

/// Every GPU of every run whose catalog id matches a fitting option of the plan.
pub fn checks(doc: &PlanDoc, runs: &[NamedRun], cat: &Catalog) -> Vec<GpuCheck> {
    let eff = doc.request();
    let mut out = Vec::new();
    for (name, run) in runs {
        for g in &run.gpus {
            let Some(id) = &g.catalog_id else { continue };
            let options: Vec<&OptionDoc> = doc
                .options
                .iter()
                .filter(|o| &o.gpu_id == id && o.fits)
                .collect();
            if options.is_empty() {
                continue;
            }
            let device = format!("gpu{}", g.index);
            let dtype = plan_dtype(&options);
            let catalog_gpu = cat.gpus.get(id);
            let (bw, source) = measured_bandwidth(run, &device);
            let bw_catalog = catalog_gpu
                .map(|c| c.memory_bandwidth_gb_per_s)
                .or_else(|| {
                    max_of(results(run, PhaseKind::Memory, &device), |m| {
                        m.peak_gb_per_s
                    })
                });
            let peak = options
                .iter()
                .find_map(|o| o.speed.as_ref().map(|s| s.peak_tflops_per_gpu))
                .or_else(|| catalog_gpu.map(|c| speed::peak(c, dtype).1));
            let (bw_eff, mfu) = options[0].efficiencies(eff, doc.is_training());
            out.push(GpuCheck {
                run: name.to_string(),
                device: device.clone(),
                gpu_id: id.clone(),
                options: options.iter().map(|o| o.label()).collect(),
                bandwidth: Rate {
                    catalog: bw_catalog,
                    assumed: bw_catalog.zip(bw_eff).map(|(c, e)| c * e),
                    measured: bw,
                    source: source.into(),
                },
                compute: Rate {
                    catalog: peak,
                    assumed: peak.zip(mfu).map(|(p, e)| p * e),
                    measured: measured_tflops(run, &device, dtype),
                    source: format!("{} GEMM", dtype.name()),
                },
                dtype,
            });
        }
    }
    out
}

fn cell(v: Option<f64>) -> String {
    v.map(fmt_num).unwrap_or_else(|| "-".into())
}

fn pct(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{} %", fmt_num(a / b * 100.0)),
        _ => "-".into(),
    }
}

/// The verdict table: one row per GPU and figure.
pub fn verdict_section(checks: &[GpuCheck]) -> Section {
    let mut rows = Vec::new();
    for c in checks {
        for (what, f) in [
            ("memory bandwidth (GB/s)", &c.bandwidth),
            (&*format!("dense {} (TFLOP/s)", c.dtype.name()), &c.compute),
        ] {
            // The efficiency the plan applied to the catalog figure.
            let eff = f
                .assumed
                .zip(f.catalog)
                .filter(|(_, c)| *c > 0.0)
                .map(|(a, c)| a / c);
            rows.push(vec![
                format!("{} {}", c.run, c.device),
                c.gpu_id.clone(),
                c.options.join(", "),
                what.to_owned(),
                cell(f.catalog),
                format!("{} (× {})", cell(f.assumed), cell(eff)),
                format!("{} ({})", cell(f.measured), f.source),
                pct(f.measured, f.catalog),
                f.verdict(),
            ]);
        }
    }
    Section::new(
        "Verdict per GPU: measured against what the plan assumes",
        &[
            "GPU",
            "catalog id",
            "plan options",
            "figure",
            "catalog",
            "plan assumes",
            "measured",
            "measured / catalog",
            "verdict",
        ],
        rows,
    )
}

/// The plan's estimates for one option with measured figures in place of catalog ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Recomputed {
    pub run: String,
    pub option: String,
    /// Measured figures used (GB/s, TFLOP/s); `None` keeps the catalog value.
    pub bandwidth: Option<f64>,
    pub tflops: Option<f64>,
    pub planned: Option<crate::report::input::SpeedDoc>,
    pub result: Result<Estimate, String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub speed: speed::Speed,
    /// Purchase price ÷ batched decode tokens/s, as the plan's cost defines it.
    pub usd_per_token_per_s: Option<f64>,
}

fn set_dense(t: &mut DenseTflops, dtype: ComputeDtype, v: f64) {
    let slot = match dtype {
        ComputeDtype::Fp32 => &mut t.fp32,
        ComputeDtype::Tf32 => &mut t.tf32,
        ComputeDtype::Bf16 => &mut t.bf16,
        ComputeDtype::Fp16 => &mut t.fp16,
        ComputeDtype::Fp8 => &mut t.fp8,
        ComputeDtype::Int8 => &mut t.int8,
        ComputeDtype::Int4 => &mut t.int4,
    };
    *slot = Some(v);
}

/// Reruns the planner's speed model for `option` on a GPU with the measured figures.
pub fn estimate(
    doc: &PlanDoc,
    option: &OptionDoc,
    cat: &Catalog,
    bandwidth: Option<f64>,
    tflops: Option<(ComputeDtype, f64)>,
) -> Result<Estimate, String> {
    let model = cat.models.get(&doc.model.id).ok_or_else(|| {
        format!(
            "model '{}' is not in the catalog (add it with --catalog-dir to recompute a plan of an imported model)",
            doc.model.id
        )
    })?;
    let mut gpu: Gpu = cat
        .gpus
        .get(&option.gpu_id)
        .cloned()
        .ok_or_else(|| format!("GPU '{}' is not in the catalog", option.gpu_id))?;
    let mut req: PlanRequest = serde_json::from_value(doc.request.clone())
        .map_err(|e| format!("the plan's request is not readable by this llmrig: {e}"))?;
    let l = option.layout.ok_or("the option has no layout")?;
    let layout = Layout {
        tp: l.tp,
        pp: l.pp,
        dp: l.dp,
        nodes: l.nodes,
        gpus_per_node: l.gpus_per_node,
        layer_split: l.layer_split,
    };
    if req.is_training() {
        return Err("training time rests on the FLOPs utilisation of whole training steps, which the probe does not measure".into());
    }
    // A measured rate is what the GPU achieves, so it replaces catalog × efficiency outright.
    if let Some(bw) = bandwidth {
        gpu.memory_bandwidth_gb_per_s = bw;
        req.efficiencies.decode_bandwidth = Some(1.0);
    }
    if let Some((dtype, t)) = tflops {
        set_dense(&mut gpu.dense_tflops, dtype, t);
        req.efficiencies.prefill_mfu = Some(1.0);
    }
    let mm = memory::model_memory(model, &req);
    let env = speed::Env {
        placement: crate::plan::offload::placement(model, &req, &layout, gpu.memory_bytes()),
        host: crate::plan::offload::host_memory(cat, &req, &gpu, None),
        ..speed::Env::on_gpus(model)
    };
    let s = speed::inference(model, &req, &gpu, &layout, &mm, &env)
        .ok_or("the plan offloads weights to a host whose memory bandwidth is unknown")?;
    // Same definition as the plan's cost: purchase price ÷ batched decode tokens/s.
    let usd = option
        .build
        .as_ref()
        .and_then(|b| b.complete_usd())
        .filter(|_| s.decode_batch_tokens_per_s > 0.0)
        .map(|usd| usd / s.decode_batch_tokens_per_s);
    Ok(Estimate {
        speed: s,
        usd_per_token_per_s: usd,
    })
}

/// Recomputed inference estimates for each run and matching option, from the slowest measured GPU.
pub fn recompute(
    doc: &PlanDoc,
    runs: &[NamedRun],
    checks: &[GpuCheck],
    cat: &Catalog,
) -> Vec<Recomputed> {
    let mut out = Vec::new();
    for (name, _) in runs {
        for option in doc.options.iter().filter(|o| o.fits) {
            let mine: Vec<&GpuCheck> = checks
                .iter()
                .filter(|c| c.run == *name && c.gpu_id == option.gpu_id)
                .collect();
            let Some(first) = mine.first() else { continue };
            let slowest =
                |f: fn(&GpuCheck) -> Option<f64>| mine.iter().filter_map(|c| f(c)).reduce(f64::min);
            let bandwidth = slowest(|c| c.bandwidth.measured);
            let tflops = slowest(|c| c.compute.measured);
            out.push(Recomputed {
                run: name.to_string(),
                option: option.label(),
                bandwidth,
                tflops,
                planned: option.speed.clone(),
                result: estimate(
                    doc,
                    option,
                    cat,
                    bandwidth,
                    tflops.map(|t| (first.dtype, t)),
                ),
            });
        }
    }
    out
}

fn arrow(plan: Option<f64>, mine: Option<f64>) -> String {
    format!("{} → {}", cell(plan), cell(mine))
}

fn usd_arrow(plan: Option<f64>, mine: Option<f64>) -> String {
    let usd = |v: Option<f64>| v.map(|v| fmt_value(v, true)).unwrap_or_else(|| "-".into());
    format!("{} → {}", usd(plan), usd(mine))
}

/// "Plan with my rig's numbers": the plan's inference estimates beside the same model run on the
/// measured figures.
pub fn recompute_section(doc: &PlanDoc, rows: &[Recomputed]) -> Section {
    let body = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.run.clone(),
                r.option.clone(),
                cell(r.bandwidth),
                cell(r.tflops),
            ];
            match &r.result {
                Err(why) => {
                    row.extend(std::iter::repeat_n("-".to_owned(), 5));
                    row.push(format!("not recomputed: {why}"));
                }
                Ok(e) => {
                    let p = r.planned.as_ref();
                    let s = &e.speed;
                    let planned_usd = doc
                        .options
                        .iter()
                        .find(|o| o.label() == r.option)
                        .and_then(|o| o.cost.as_ref()?.usd_per_token_per_s);
                    row.push(arrow(
                        p.map(|p| p.decode_tokens_per_s),
                        Some(s.decode_tokens_per_s),
                    ));
                    row.push(arrow(
                        p.map(|p| p.decode_batch_tokens_per_s),
                        Some(s.decode_batch_tokens_per_s),
                    ));
                    row.push(arrow(
                        p.map(|p| p.prefill_tokens_per_s),
                        Some(s.prefill_tokens_per_s),
                    ));
                    row.push(arrow(
                        p.map(|p| p.time_to_first_token_s),
                        Some(s.time_to_first_token_s),
                    ));
                    row.push(usd_arrow(planned_usd, e.usd_per_token_per_s));
                    row.push(String::new());
                }
            }
            row
        })
        .collect();
    Section::new(
        "Plan with my rig's numbers: plan → with measured figures (slowest measured GPU of each type, in place of catalog × efficiency; '-' keeps the plan's figure)",
        &["run", "option", "measured GB/s used", "measured TFLOP/s used", "decode tok/s", "batch tok/s", "prefill tok/s", "time to first token (s)", "USD per tok/s", "note"],
        body,
    )
}

/// Bars: catalog, plan assumption and measurement per GPU for bandwidth and compute, and the
/// decode speed the plan promised beside the one the measured figures give.
pub fn chart(doc: &PlanDoc, checks: &[GpuCheck], recomputed: &[Recomputed], id: &str) -> Chart {
    let cats: Vec<String> = checks
        .iter()
        .map(|c| format!("{} {} ({})", c.run, c.device, c.gpu_id))
        .collect();
    let figure_bars = |title: String, axis: &str, f: fn(&GpuCheck) -> &Rate| Bars {
        title: Some(title),
        axis: axis.into(),
        categories: cats.clone(),
        series: vec![
            Series {
                name: "catalog".into(),
                values: checks.iter().map(|c| f(c).catalog).collect(),
            },
            Series {
                name: "plan assumes".into(),
                values: checks.iter().map(|c| f(c).assumed).collect(),
            },
            Series {
                name: "measured".into(),
                values: checks.iter().map(|c| f(c).measured).collect(),
            },
        ],
        stacked: false,
        reference: None,
        money: false,
    };
    let dtype = checks.first().map_or("bf16", |c| c.dtype.name());
    let mut panels = vec![
        Panel::Bars(figure_bars(
            "Memory bandwidth".into(),
            "memory bandwidth (GB/s)",
            |c| &c.bandwidth,
        )),
        Panel::Bars(figure_bars(
            format!("Dense {dtype} matrix throughput"),
            "TFLOP/s",
            |c| &c.compute,
        )),
    ];
    let ok: Vec<(&Recomputed, speed::Speed)> = recomputed
        .iter()
        .filter_map(|r| Some((r, r.result.as_ref().ok()?.speed)))
        .collect();
    if !ok.is_empty() {
        panels.push(Panel::Bars(Bars {
            title: Some(
                "Decode, 1 sequence: the plan's estimate and the same model with measured figures"
                    .into(),
            ),
            axis: "decode throughput (tokens/s)".into(),
            categories: ok
                .iter()
                .map(|(r, _)| format!("{} {}", r.run, r.option))
                .collect(),
            series: vec![
                Series {
                    name: "plan (catalog figures)".into(),
                    values: ok
                        .iter()
                        .map(|(r, _)| r.planned.as_ref().map(|p| p.decode_tokens_per_s))
                        .collect(),
                },
                Series {
                    name: "with measured figures".into(),
                    values: ok
                        .iter()
                        .map(|(_, s)| Some(s.decode_tokens_per_s))
                        .collect(),
                },
            ],
            stacked: false,
            reference: None,
            money: false,
        }));
    }
    Chart {
        id: id.into(),
        title: format!("{}: plan against probe", doc.model.name),
        panels,
    }
}
