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

mod plan_doc;
pub use plan_doc::*;

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
