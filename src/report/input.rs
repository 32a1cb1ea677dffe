//! Report inputs: saved plans and comparisons (`plan --out`, `compare --out`) and probe runs
//! (`probe`), recognised by their `kind`.
//!
//! Probe runs are read as the probe's own [`ProbeRun`]. Plans are read through the small structs
//! below, which hold only the fields the report draws and ignore the rest, so a plan from a
//! slightly different writer still loads. A file whose `schema_version` is newer than this reader
//! knows is refused, naming the file, because its fields may mean something else.
use crate::plan::Plan;
use crate::probe::schema::{self, ProbeRun};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `kind` of a saved plan and of a saved comparison.
pub const PLAN_KINDS: [&str; 2] = ["plan", "comparison"];

/// One input file, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub path: PathBuf,
    /// Short name for legends and file names: the file stem, made unique across inputs.
    pub name: String,
    pub doc: Doc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    Plan(Box<PlanDoc>),
    Run(Box<ProbeRun>),
}

/// Why an input file cannot be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("reading '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("'{path}' ends in the middle of its JSON ({message}): the file is truncated")]
    Truncated { path: PathBuf, message: String },
    #[error("'{path}' is not valid JSON: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("'{path}' has no 'kind': expected a plan ('llmrig plan --out'), a comparison ('llmrig compare --out') or a probe run ('llmrig probe')")]
    NoKind { path: PathBuf },
    #[error(
        "'{path}' is a '{kind}' document; llmrig report reads 'plan', 'comparison' and 'probe-run'"
    )]
    UnknownKind { path: PathBuf, kind: String },
    #[error("'{path}' is a {kind} with schema_version {found}, newer than this llmrig reads ({supported}): update llmrig")]
    NewerSchema {
        path: PathBuf,
        kind: String,
        found: u64,
        supported: u32,
    },
    #[error("'{path}' is not a complete {kind}: {message}")]
    Shape {
        path: PathBuf,
        kind: String,
        message: String,
    },
}

/// Reads and recognises one input file.
pub fn load(path: &Path) -> Result<Input, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Recognises one input from its text; `path` is only used for names and messages.
pub fn parse(path: &Path, text: &str) -> Result<Input, InputError> {
    let p = || path.to_owned();
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => InputError::Truncated {
            path: p(),
            message: e.to_string(),
        },
        _ => InputError::Syntax {
            path: p(),
            message: e.to_string(),
        },
    })?;
    let kind = value
        .get("kind")
        .and_then(|k| k.as_str())
        .ok_or_else(|| InputError::NoKind { path: p() })?
        .to_owned();
    let supported = match kind.as_str() {
        k if PLAN_KINDS.contains(&k) => crate::plan::SCHEMA_VERSION,
        schema::SCHEMA_KIND => schema::SCHEMA_VERSION,
        _ => return Err(InputError::UnknownKind { path: p(), kind }),
    };
    let found = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| InputError::Shape {
            path: p(),
            kind: kind.clone(),
            message: "no numeric 'schema_version'".into(),
        })?;
    if found > u64::from(supported) {
        return Err(InputError::NewerSchema {
            path: p(),
            kind,
            found,
            supported,
        });
    }
    let shape = |e: serde_json::Error| InputError::Shape {
        path: p(),
        kind: kind.clone(),
        message: e.to_string(),
    };
    let doc = if kind == schema::SCHEMA_KIND {
        Doc::Run(Box::new(serde_json::from_value(value).map_err(shape)?))
    } else {
        Doc::Plan(Box::new(serde_json::from_value(value).map_err(shape)?))
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    Ok(Input {
        path: path.to_owned(),
        name,
        doc,
    })
}

/// Makes input names unique by appending `-2`, `-3`, … to repeats.
pub fn dedupe_names(inputs: &mut [Input]) {
    let mut seen: Vec<String> = Vec::new();
    for input in inputs.iter_mut() {
        let base = input.name.clone();
        let mut n = 1;
        while seen.contains(&input.name) {
            n += 1;
            input.name = format!("{base}-{n}");
        }
        seen.push(input.name.clone());
    }
}

// ---- saved plans: the fields of `crate::plan::Plan` the report draws ----

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanDoc {
    pub kind: String,
    pub schema_version: u32,
    #[serde(default)]
    pub tool_version: Option<String>,
    pub model: ModelDoc,
    /// Kept whole: the planner re-reads it to recompute estimates with measured figures.
    #[serde(default)]
    pub request: serde_json::Value,
    pub options: Vec<OptionDoc>,
    #[serde(default)]
    pub recommended: Option<usize>,
    /// Schema 2: the next cheapest fully priced fit, and the fastest fit.
    #[serde(default)]
    pub runner_up: Option<usize>,
    #[serde(default)]
    pub fastest: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelDoc {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OptionDoc {
    pub gpu_id: String,
    #[serde(default)]
    pub gpu_name: String,
    pub gpus: u32,
    pub fits: bool,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub layout: Option<LayoutDoc>,
    #[serde(default)]
    pub memory_per_gpu: Option<MemoryDoc>,
    #[serde(default)]
    pub build: Option<BuildDoc>,
    #[serde(default)]
    pub cost: Option<CostDoc>,
    #[serde(default)]
    pub speed: Option<SpeedDoc>,
    #[serde(default)]
    pub training: Option<TrainingDoc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct LayoutDoc {
    pub tp: u32,
    pub pp: u32,
    pub dp: u32,
    pub nodes: u32,
    pub gpus_per_node: u32,
}

/// Memory per GPU in bytes; a term a newer writer adds shows up as `total − known terms`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct MemoryDoc {
    #[serde(default)]
    pub weights_bytes: f64,
    #[serde(default)]
    pub kv_cache_bytes: f64,
    #[serde(default)]
    pub activations_bytes: f64,
    #[serde(default)]
    pub gradients_bytes: f64,
    #[serde(default)]
    pub optimizer_bytes: f64,
    #[serde(default)]
    pub overhead_bytes: f64,
    pub total_bytes: f64,
    pub usable_bytes: f64,
}

/// A build's price. Schema 2 sets `total_usd` only when fully priced and `lower_bound_usd`
/// otherwise; schema 1 wrote the priced sum to `total_usd` either way.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BuildDoc {
    #[serde(default)]
    pub total_usd: Option<f64>,
    #[serde(default)]
    pub lower_bound_usd: Option<f64>,
    #[serde(default = "yes")]
    pub fully_priced: bool,
    #[serde(default)]
    pub newest_price_date: Option<String>,
    /// Schema 2: lines whose price is older than 18 months at the plan's date.
    #[serde(default)]
    pub stale_prices: Vec<String>,
}

impl BuildDoc {
    /// The complete price, or else the lower bound, with whether it is complete; a zero or
    /// negative figure is no price.
    pub fn price(&self) -> Option<(f64, bool)> {
        let positive = |v: &f64| *v > 0.0 && v.is_finite();
        if self.fully_priced {
            if let Some(t) = self.total_usd.filter(positive) {
                return Some((t, true));
            }
        }
        self.lower_bound_usd
            .or(self.total_usd.filter(|_| !self.fully_priced))
            .filter(positive)
            .map(|v| (v, false))
    }

    /// The complete price only.
    pub fn complete_usd(&self) -> Option<f64> {
        self.price().filter(|p| p.1).map(|p| p.0)
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CostDoc {
    pub power_load_w: f64,
    #[serde(default)]
    pub power_idle_w: Option<f64>,
    #[serde(default)]
    pub usd_per_token_per_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SpeedDoc {
    /// Dtype whose dense peak the estimates use, e.g. `bf16`.
    pub compute_dtype: String,
    pub peak_tflops_per_gpu: f64,
    pub decode_tokens_per_s: f64,
    pub decode_batch_tokens_per_s: f64,
    pub prefill_tokens_per_s: f64,
    pub time_to_first_token_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct TrainingDoc {
    pub gpu_hours: f64,
    pub wall_clock_days: f64,
}

/// The request fields the report shows; the rest stays in [`PlanDoc::request`].
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct RequestDoc {
    #[serde(default = "one")]
    pub batch: u64,
    pub efficiencies: EfficienciesDoc,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct EfficienciesDoc {
    pub decode_bandwidth: f64,
    pub prefill_mfu: f64,
    pub train_mfu: f64,
}

impl PlanDoc {
    /// The in-memory plan read through the same JSON contract as a saved file.
    pub fn from_plan(plan: &Plan) -> Result<PlanDoc, serde_json::Error> {
        serde_json::from_value(serde_json::to_value(plan)?)
    }

    pub fn request(&self) -> Option<RequestDoc> {
        serde_json::from_value(self.request.clone()).ok()
    }

    /// Whether the plan is for a training workload.
    pub fn is_training(&self) -> bool {
        self.request
            .get("workload")
            .and_then(|w| w.as_str())
            .is_some_and(|w| w != "infer")
    }
}

impl MemoryDoc {
    /// Names of the terms [`MemoryDoc::terms`] returns, in stacking order.
    pub const TERMS: [&'static str; 6] = [
        "weights",
        "KV cache",
        "activations",
        "gradients",
        "optimizer states",
        "runtime overhead",
    ];

    /// The known terms in bytes, in the order of [`MemoryDoc::TERMS`].
    pub fn terms(&self) -> [f64; 6] {
        [
            self.weights_bytes,
            self.kv_cache_bytes,
            self.activations_bytes,
            self.gradients_bytes,
            self.optimizer_bytes,
            self.overhead_bytes,
        ]
    }
}

impl OptionDoc {
    /// `8×a100-sxm4-80gb`, as the plan tables write it.
    pub fn label(&self) -> String {
        format!("{}×{}", self.gpus, self.gpu_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(Path::new("dir/x.json"), text)
            .unwrap_err()
            .to_string()
    }

    /// The minimal run from the probe schema's own tests, plus a field a newer writer might add.
    const RUN: &str = r#"{"kind":"probe-run","schema_version":1,"tool":{"name":"llmrig","version":"0.1.0"},
        "started_at":"2026-08-27T09:30:12Z","host":{"cpu_threads":4},
        "settings":{"mode":"quick","cpu_size":"auto","temp_limit_c":90,"check":false,
                    "min_pct_of_peak":60,"sample_interval_s":0.1},"future_field":{"a":1}}"#;

    #[test]
    fn recognises_runs_and_ignores_unknown_fields() {
        let input = parse(Path::new("dir/rig-a.json"), RUN).unwrap();
        assert_eq!(input.name, "rig-a");
        let Doc::Run(run) = input.doc else {
            panic!("not a run")
        };
        assert_eq!(run.host.cpu_threads, 4);
        assert!(run.phases.is_empty() && run.finished_at.is_none() && !run.interrupted);
    }

    #[test]
    fn bad_inputs_name_the_file_and_the_problem() {
        let truncated = &RUN[..RUN.len() / 2];
        let e = err(truncated);
        assert!(e.contains("'dir/x.json'") && e.contains("truncated"), "{e}");
        let e = err("{\"kind\": \"plan\",, }");
        assert!(e.contains("'dir/x.json' is not valid JSON"), "{e}");
        let e = err(r#"{"schema_version": 1}"#);
        assert!(e.contains("has no 'kind'"), "{e}");
        let e = err(r#"{"kind": "catalog", "schema_version": 1}"#);
        assert!(e.contains("'catalog' document"), "{e}");
        let e = err(r#"{"kind": "plan", "schema_version": 99, "options": []}"#);
        assert!(
            e.contains("schema_version 99, newer than this llmrig reads (2)"),
            "{e}"
        );
        let e = err(
            r#"{"kind": "comparison", "schema_version": 1, "model": {"id": "m", "name": "M"}}"#,
        );
        assert!(
            e.contains("not a complete comparison: missing field `options`"),
            "{e}"
        );
        let e = err(r#"{"kind": "probe-run", "schema_version": 1, "phases": [{"name": 3}]}"#);
        assert!(e.contains("not a complete probe-run"), "{e}");
    }

    #[test]
    fn repeated_names_get_a_suffix() {
        let mut inputs: Vec<Input> = ["a/run.json", "b/run.json", "c/run.json"]
            .iter()
            .map(|p| parse(Path::new(p), RUN).unwrap())
            .collect();
        dedupe_names(&mut inputs);
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["run", "run-2", "run-3"]);
    }
}
