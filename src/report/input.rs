//! Report inputs: saved plans and comparisons (`plan --out`, `compare --out`) and probe runs
//! (`probe`), recognised by their `kind`.
//!
//! Probe runs are read as the probe's own [`ProbeRun`]. Plans are read through the small structs
//! below, which hold only the fields the report draws and ignore the rest, so a plan from a
//! slightly different writer still loads. A file whose `schema_version` is newer than this reader
//! knows is refused, naming the file, because its fields may mean something else.
use crate::fsutil::{Pipes, ReadError};
use crate::plan::Plan;
use crate::probe::schema::{self, ProbeRun};
use crate::sanitize::{escape as e, path as shown};
use serde::de::{Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Largest input file read. A plan is a few hundred kilobytes and an hour of 10 Hz telemetry
/// on eight GPUs about 30 MB.
pub const MAX_INPUT_BYTES: u64 = 256 << 20;
/// Most GPUs and telemetry series one probe run may list (a node holds at most a few dozen).
const MAX_RUN_GPUS: usize = 256;

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
    /// Not a regular file or pipe, too large, or unreadable.
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(
        "'{}' ends in the middle of its JSON ({message}): the file is truncated",
        shown(path)
    )]
    Truncated { path: PathBuf, message: String },
    #[error("'{}' is not valid JSON: {}", shown(path), e(message))]
    Syntax { path: PathBuf, message: String },
    /// A directory given as an input that cannot be listed or holds no `.json` file.
    #[error("'{}': {message}", shown(path))]
    Dir { path: PathBuf, message: String },
    #[error("'{}' has no 'kind': expected a plan ('llmrig plan --out'), a comparison ('llmrig compare --out') or a probe run ('llmrig probe')", shown(path))]
    NoKind { path: PathBuf },
    #[error(
        "'{}' is a '{}' document; llmrig report reads 'plan', 'comparison' and 'probe-run'",
        shown(path),
        crate::sanitize::name(kind)
    )]
    UnknownKind { path: PathBuf, kind: String },
    #[error("'{}' is a {kind} with schema_version {found}, newer than this llmrig reads ({supported}): update llmrig", shown(path))]
    NewerSchema {
        path: PathBuf,
        kind: String,
        found: u64,
        supported: u32,
    },
    #[error("'{}' is not a complete {kind}: {}", shown(path), e(message))]
    Shape {
        path: PathBuf,
        kind: String,
        message: String,
    },
}

/// Reads and recognises one input file (or pipe: `report <(llmrig plan … --json)`), at most
/// [`MAX_INPUT_BYTES`].
pub fn load(path: &Path) -> Result<Input, InputError> {
    let bytes = crate::fsutil::read_limited(path, MAX_INPUT_BYTES, "report inputs", Pipes::Accept)?;
    parse_bytes(path, &bytes)
}

/// `kind` and `schema_version` alone, read without building the rest of the document.
#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    kind: Scalar,
    #[serde(default)]
    schema_version: Scalar,
}

/// A string or an unsigned integer; any other value (an array, an object, …) is skipped
/// without being kept.
#[derive(Default)]
enum Scalar {
    Str(String),
    Uint(u64),
    #[default]
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Uint(v))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// Recognises one input from its text; `path` is only used for names and messages.
pub fn parse(path: &Path, text: &str) -> Result<Input, InputError> {
    parse_bytes(path, text.as_bytes())
}

/// Recognises one input from its bytes. The document is read straight into its typed form
/// (after a first pass for `kind`), never as a generic JSON tree.
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Input, InputError> {
    let p = || path.to_owned();
    let head: Head = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => InputError::Truncated {
            path: p(),
            message: e.to_string(),
        },
        serde_json::error::Category::Data => InputError::NoKind { path: p() },
        _ => InputError::Syntax {
            path: p(),
            message: e.to_string(),
        },
    })?;
    let Scalar::Str(kind) = head.kind else {
        return Err(InputError::NoKind { path: p() });
    };
    let supported = match kind.as_str() {
        k if PLAN_KINDS.contains(&k) => crate::plan::SCHEMA_VERSION,
        schema::SCHEMA_KIND => schema::SCHEMA_VERSION,
        _ => return Err(InputError::UnknownKind { path: p(), kind }),
    };
    let Scalar::Uint(found) = head.schema_version else {
        return Err(InputError::Shape {
            path: p(),
            kind: kind.clone(),
            message: "no numeric 'schema_version'".into(),
        });
    };
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
        let run: ProbeRun = serde_json::from_slice(bytes).map_err(shape)?;
        if run.gpus.len() > MAX_RUN_GPUS || run.telemetry.len() > MAX_RUN_GPUS {
            return Err(InputError::Shape {
                path: p(),
                kind,
                message: format!(
                    "it lists {} GPUs and {} telemetry series; at most {MAX_RUN_GPUS} of each are read",
                    run.gpus.len(),
                    run.telemetry.len()
                ),
            });
        }
        Doc::Run(Box::new(run))
    } else {
        Doc::Plan(Box::new(serde_json::from_slice(bytes).map_err(shape)?))
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

/// Replaces each directory among `paths` by the `*.json` files directly inside it, in name
/// order (a cluster probe's `DIR/<node>.json`); files are kept as given.
pub fn expand_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut out = Vec::new();
    for path in paths {
        if !path.is_dir() {
            out.push(path.clone());
            continue;
        }
        let io = |e: std::io::Error| InputError::Dir {
            path: path.clone(),
            message: e.to_string(),
        };
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        if found.is_empty() {
            return Err(io(std::io::Error::other(
                "the directory holds no .json plan or probe run",
            )));
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Makes input names unique by appending `-2`, `-3`, … to repeats. Names are compared as
/// their file-name slugs, since chart files are named by slug: `rig A` and `rig-a` would
/// otherwise write the same chart files.
pub fn dedupe_names(inputs: &mut [Input]) {
    let mut seen = std::collections::HashSet::new();
    for input in inputs.iter_mut() {
        let base = input.name.clone();
        let mut n = 1;
        while !seen.insert(super::slug(&input.name)) {
            n += 1;
            input.name = format!("{base}-{n}");
        }
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
    #[serde(default)]
    pub layer_split: bool,
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
    /// Plans since rent-or-buy: owning against renting over the horizon.
    #[serde(default)]
    pub rent_or_buy: Option<RentOrBuyDoc>,
}

/// The rent-or-buy totals the report draws (see `crate::plan::RentOrBuy`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RentOrBuyDoc {
    pub hours_per_day: f64,
    pub horizon_months: f64,
    pub resale_percent: f64,
    pub buy: BuyDoc,
    #[serde(default)]
    pub rent: Vec<RentTierDoc>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BuyDoc {
    #[serde(default)]
    pub total_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RentTierDoc {
    pub offer: String,
    #[serde(default)]
    pub total_usd: Option<f64>,
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
    /// Efficiencies the estimate used (plans before engines carried them in the request only).
    #[serde(default)]
    pub decode_bandwidth_efficiency: Option<f64>,
    #[serde(default)]
    pub prefill_mfu: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct TrainingDoc {
    pub gpu_hours: f64,
    pub wall_clock_days: f64,
    #[serde(default)]
    pub mfu: Option<f64>,
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
    /// Fixed by the user; absent (null) when the engine's default applied, which each
    /// option's speed then reports.
    #[serde(default)]
    pub decode_bandwidth: Option<f64>,
    #[serde(default)]
    pub prefill_mfu: Option<f64>,
    #[serde(default)]
    pub train_mfu: Option<f64>,
}

impl OptionDoc {
    /// The decode bandwidth efficiency and FLOPs utilisation this option's estimates use: its
    /// own figures, else the request's.
    pub fn efficiencies(
        &self,
        req: Option<RequestDoc>,
        training: bool,
    ) -> (Option<f64>, Option<f64>) {
        let e = req.map(|r| r.efficiencies);
        let bw = self
            .speed
            .as_ref()
            .and_then(|s| s.decode_bandwidth_efficiency)
            .or(e.and_then(|e| e.decode_bandwidth));
        let mfu = if training {
            self.training
                .and_then(|t| t.mfu)
                .or(e.and_then(|e| e.train_mfu))
        } else {
            self.speed
                .as_ref()
                .and_then(|s| s.prefill_mfu)
                .or(e.and_then(|e| e.prefill_mfu))
        };
        (bw, mfu)
    }
}

impl PlanDoc {
    /// The plan with only its first `n` options (the recommended one kept in place of the
    /// last when it comes later), and how many were left out.
    pub fn first_options(&self, n: usize) -> (std::borrow::Cow<'_, PlanDoc>, usize) {
        let total = self.options.len();
        if total <= n || n == 0 {
            return (std::borrow::Cow::Borrowed(self), 0);
        }
        let mut doc = PlanDoc {
            options: self.options[..n].to_vec(),
            ..self.clone_without_options()
        };
        doc.recommended = match self.recommended {
            Some(r) if r < n => Some(r),
            Some(r) if r < total => {
                doc.options[n - 1] = self.options[r].clone();
                Some(n - 1)
            }
            _ => None,
        };
        // The runner-up and the fastest fit are named only while they are still shown.
        let moved = self.recommended.is_some_and(|r| r >= n);
        let shown = |i: &usize| *i < n && !(moved && *i == n - 1);
        doc.runner_up = self.runner_up.filter(shown);
        doc.fastest = self.fastest.filter(shown);
        (std::borrow::Cow::Owned(doc), total - n)
    }

    fn clone_without_options(&self) -> PlanDoc {
        PlanDoc {
            kind: self.kind.clone(),
            schema_version: self.schema_version,
            tool_version: self.tool_version.clone(),
            model: self.model.clone(),
            request: self.request.clone(),
            options: Vec::new(),
            recommended: None,
            runner_up: None,
            fastest: None,
        }
    }

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
        crate::plan::rig_name(self.gpus, self.layout.map_or(1, |l| l.nodes), &self.gpu_id)
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
    fn directories_expand_to_their_json_files() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "node1.json",
            "node0.json",
            "notes.txt",
            ".node2.json.tmp",
            ".hidden.json",
        ] {
            std::fs::write(dir.path().join(f), "{}").unwrap();
        }
        let single = dir.path().join("node0.json");
        let got = expand_dirs(&[dir.path().to_path_buf(), single.clone()]).unwrap();
        assert_eq!(
            got,
            vec![
                dir.path().join("node0.json"),
                dir.path().join("node1.json"),
                single
            ]
        );
        let empty = tempfile::tempdir().unwrap();
        let e = expand_dirs(&[empty.path().to_path_buf()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds no .json"), "{e}");
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
