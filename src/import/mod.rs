//! Model import from files people have: a Hugging Face `config.json`, a model directory
//! (`config.json`, `model.safetensors.index.json` and safetensors shards), a single
//! `.safetensors` file, or a `.gguf` file.
//!
//! A model on the Hugging Face Hub is read the same way, over HTTP range requests (module `hub`).
//!
//! Only headers are read, never tensor data. Every length, count and offset taken from a file
//! is checked against a fixed limit and against the file's size before it is used, so a
//! truncated or hostile file fails with an [`ImportError`] naming the file, never with a panic
//! or a large allocation.

mod config;
mod error;
mod gguf;
mod hub;
mod index;
mod safetensors;

pub use error::ImportError;
pub use gguf::GgufInfo;
pub use hub::{import as import_hub, HubConfig, HubError, HubRef, HubSource};

use crate::catalog::Model;
use crate::fsutil::{Input, Pipes};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest `config.json` read. Real ones are a few kilobytes (a vision model's label table
/// makes a few hundred); the cap keeps a padded file from costing gigabytes to parse.
use config::MAX_CONFIG_BYTES;

/// What an import found: the architecture (when the files describe one llmrig can map) and the
/// exact weight storage (when weight headers were read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedModel {
    /// The architecture as a catalog model; `None` for a bare weights file.
    pub model: Option<Model>,
    /// Exact parameter and byte counts from safetensors or GGUF headers.
    pub weights: Option<WeightSummary>,
    /// GGUF header details (version, architecture, key metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gguf: Option<GgufInfo>,
    /// Caveats: what was assumed, skipped or could not be mapped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Weight file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightFormat {
    Safetensors,
    Gguf,
}

/// Elements and bytes stored in one dtype.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtypeBytes {
    pub params: u64,
    pub bytes: u64,
}

/// Exact weight storage read from file headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightSummary {
    pub format: WeightFormat,
    /// Stored elements over all tensors (for packed integer storage such as GPTQ `I32` or
    /// bitsandbytes `U8` this counts storage words, not logical weights).
    pub params: u64,
    /// Bytes of tensor data, headers and padding excluded.
    pub bytes: u64,
    pub tensors: u64,
    /// Per dtype: safetensors names (`BF16`, `F8_E4M3`, …) or ggml type names (`Q4_K`, …).
    pub by_dtype: BTreeMap<String, DtypeBytes>,
    /// `bytes * 8 / params`.
    pub bits_per_weight: f64,
    /// GGUF `general.file_type` as llama.cpp names it (`Q4_K_M`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gguf_file_type: Option<String>,
    /// Files read, relative to the imported directory (or the file name).
    pub files: Vec<String>,
}

impl WeightSummary {
    fn new(format: WeightFormat) -> Self {
        WeightSummary {
            format,
            params: 0,
            bytes: 0,
            tensors: 0,
            by_dtype: BTreeMap::new(),
            bits_per_weight: 0.0,
            gguf_file_type: None,
            files: Vec::new(),
        }
    }

    /// Adds one tensor; `None` when a total would overflow.
    fn add(&mut self, dtype: &str, params: u64, bytes: u64) -> Option<()> {
        self.params = self.params.checked_add(params)?;
        self.bytes = self.bytes.checked_add(bytes)?;
        self.tensors += 1;
        let slot = self.by_dtype.entry(dtype.to_owned()).or_default();
        slot.params = slot.params.checked_add(params)?;
        slot.bytes = slot.bytes.checked_add(bytes)?;
        self.bits_per_weight = if self.params == 0 {
            0.0
        } else {
            self.bytes as f64 * 8.0 / self.params as f64
        };
        Some(())
    }
}

/// Imports a `config.json`, a model directory, a `.safetensors` file or a `.gguf` file.
///
/// A file may also be a pipe (`llmrig import <(cat config.json)`); files inside a directory must
/// be regular files.
pub fn import(path: &Path) -> Result<ImportedModel, ImportError> {
    let meta = std::fs::metadata(path).map_err(ImportError::io(path))?;
    if meta.is_dir() {
        return import_dir(path);
    }
    let mut input = Input::open(path, Pipes::Accept)?;
    match sniff(path, &mut input)? {
        Kind::Gguf => gguf::import(path, input),
        Kind::Safetensors => {
            let mut weights = WeightSummary::new(WeightFormat::Safetensors);
            let mut notes = Vec::new();
            safetensors::add_input(
                path,
                input,
                &file_name(path),
                &mut weights,
                &mut NameSet::default(),
                &mut notes,
            )?;
            notes.push("a single weights file carries no architecture: import the model directory (with config.json) for one".into());
            Ok(ImportedModel {
                model: None,
                weights: Some(weights),
                gguf: None,
                notes,
            })
        }
        Kind::Json => {
            let bytes = input.read_limited(MAX_CONFIG_BYTES, "config.json files")?;
            let (model, notes) = config::model_from_file(path, &bytes, None)?;
            Ok(ImportedModel {
                model: Some(model),
                weights: None,
                gguf: None,
                notes,
            })
        }
    }
}

/// A directory: `config.json` for the architecture, safetensors headers for the exact weights.
fn import_dir(dir: &Path) -> Result<ImportedModel, ImportError> {
    let config_path = dir.join("config.json");
    let mut notes = Vec::new();
    let weights = safetensors::read_dir(dir, &mut notes)?;
    // A config.json that is a FIFO or a device is an error, not a missing file.
    let has_config = config_path.exists();
    if !has_config && weights.is_none() {
        let gguf = list_dir(dir)?
            .into_iter()
            .find(|p| p.extension().is_some_and(|x| x == "gguf"));
        let hint = match gguf {
            Some(g) => format!(" (for GGUF, pass the file itself: '{}')", g.display()),
            None => String::new(),
        };
        return Err(ImportError::Unsupported {
            path: dir.to_path_buf(),
            message: format!("no config.json and no *.safetensors files in this directory{hint}"),
        });
    }
    let model = if has_config {
        let bytes = crate::fsutil::read_limited(
            &config_path,
            MAX_CONFIG_BYTES,
            "config.json files",
            Pipes::Refuse,
        )?;
        let (model, model_notes) = config::model_from_file(&config_path, &bytes, weights.as_ref())?;
        notes.extend(model_notes);
        Some(model)
    } else {
        notes.push("no config.json: weights only, no architecture".into());
        None
    };
    if weights.is_none() {
        notes.push("no *.safetensors files: weight bytes unknown".into());
    }
    Ok(ImportedModel {
        model,
        weights,
        gguf: None,
        notes,
    })
}

enum Kind {
    Gguf,
    Safetensors,
    Json,
}

/// Picks the format from the extension, else from the first bytes (peeked, so a pipe loses
/// nothing).
fn sniff(path: &Path, input: &mut Input) -> Result<Kind, ImportError> {
    match path.extension().and_then(|x| x.to_str()) {
        Some("gguf") => return Ok(Kind::Gguf),
        Some("safetensors") => return Ok(Kind::Safetensors),
        Some("json") => return Ok(Kind::Json),
        _ => {}
    }
    let head = input.peek(9).map_err(ImportError::io(path))?;
    if head.starts_with(b"GGUF") {
        Ok(Kind::Gguf)
    } else if head.len() == 9 && head[8] == b'{' {
        Ok(Kind::Safetensors)
    } else if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        Ok(Kind::Json)
    } else {
        Err(ImportError::Unsupported {
            path: path.to_path_buf(),
            message: "not a config.json, .safetensors or .gguf file (or a directory holding them)"
                .into(),
        })
    }
}

/// Entries of a directory, sorted.
fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(ImportError::io(dir))? {
        out.push(entry.map_err(ImportError::io(dir))?.path());
    }
    out.sort();
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `file://` URL of a path (absolute when it can be resolved).
fn file_url(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file://{}", abs.display())
}

/// A catalog-style id: lowercase, `a-z 0-9 . -`, other runs of characters become one `-`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches(|c| c == '-' || c == '.').to_owned()
}

/// 64-bit hashes of tensor names, keyed at random per import so a file cannot be built to
/// collide.
#[derive(Default)]
struct NameHasher(std::collections::hash_map::RandomState);

impl NameHasher {
    fn of(&self, name: &str) -> u64 {
        use std::hash::BuildHasher;
        self.0.hash_one(name)
    }
}

/// Tensor names seen so far, kept as hashes so memory stays at 8 bytes a tensor however long
/// the names in a hostile file are.
#[derive(Default)]
struct NameSet {
    hasher: NameHasher,
    seen: std::collections::HashSet<u64>,
}

impl NameSet {
    /// False when the name was already present.
    fn insert(&mut self, name: &str) -> bool {
        self.seen.insert(self.hasher.of(name))
    }
}

#[cfg(test)]
mod tests;
