//! GGUF headers (versions 2 and 3, little-endian): magic `GGUF`, version, tensor count,
//! metadata count, the metadata key/value pairs, then one info record per tensor (name,
//! dimensions, ggml type, offset into the aligned data section).
//!
//! Everything goes through [`Reader`], which refuses any read past the end of the file, so a
//! claimed length is checked before it is allocated or skipped. Array values (the tokenizer's
//! vocabulary and merges) are skipped, not kept. Through a pipe, whose length is unknown, every
//! length is still capped and the data section is counted by reading it to the end.
use super::config::{check_ranges, differs, skeleton, LICENSE};
use super::{
    file_name, file_url, kebab, ImportError, ImportedModel, NameSet, WeightFormat, WeightSummary,
};
use crate::catalog::{Model, Norm};
use crate::fsutil::Input;
use crate::plan::WeightFormat as Precision;
use crate::sanitize;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod model;
mod reader;
use model::model_from_meta;
pub(super) use reader::Source;
use reader::*;

/// Per-architecture keys shown as "key metadata" (after the `<arch>.` prefix).
const KEY_SUFFIXES: &[&str] = &[
    "context_length",
    "embedding_length",
    "block_count",
    "feed_forward_length",
    "expert_count",
    "expert_used_count",
    "vocab_size",
    "attention.head_count",
    "attention.head_count_kv",
    "attention.key_length",
    "attention.value_length",
    "attention.sliding_window",
    "rope.dimension_count",
];

/// GGUF header facts shown with an import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GgufInfo {
    pub version: u32,
    /// `general.architecture`.
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    pub alignment_bytes: u64,
    /// Number of metadata keys in the file.
    pub metadata_keys: u64,
    /// The architecture's hyperparameters and `general.*` scalars (arrays as their length).
    pub metadata: BTreeMap<String, serde_json::Value>,
}

/// What the tensor infos tell about the architecture beyond the metadata.
#[derive(Default)]
struct TensorFacts {
    /// A separate `output.weight` (absent when the embedding is tied).
    has_output: bool,
    /// `token_embd.weight` dimensions: [n_embd, n_vocab].
    token_embd: Option<(u64, u64)>,
    /// Tensor names in the first layer, without the `blk.0.` prefix.
    layer0: BTreeSet<String>,
}

impl TensorFacts {
    /// What a later part of a split file adds (the head usually sits in the last one).
    fn merge(&mut self, other: TensorFacts) {
        self.has_output |= other.has_output;
        self.token_embd = self.token_embd.or(other.token_embd);
        for name in other.layer0 {
            if self.layer0.len() < 256 {
                self.layer0.insert(name);
            }
        }
    }

    fn observe(&mut self, name: &str, dims: &[u64]) {
        match name {
            "output.weight" => self.has_output = true,
            "token_embd.weight" if dims.len() == 2 => self.token_embd = Some((dims[0], dims[1])),
            // Layer 0 has a few dozen tensors; the cap keeps a hostile file from growing the set.
            _ => {
                if let Some(rest) = name.strip_prefix("blk.0.").filter(|r| r.len() <= 64) {
                    if self.layer0.len() < 256 {
                        self.layer0.insert(rest.to_owned());
                    }
                }
            }
        }
    }
}

/// Adds another part's tensors; `None` when a total would overflow.
fn merge_weights(into: &mut WeightSummary, part: WeightSummary) -> Option<()> {
    into.params = into.params.checked_add(part.params)?;
    into.bytes = into.bytes.checked_add(part.bytes)?;
    into.tensors = into.tensors.checked_add(part.tensors)?;
    for (dtype, d) in part.by_dtype {
        let slot = into.by_dtype.entry(dtype).or_default();
        slot.params = slot.params.checked_add(d.params)?;
        slot.bytes = slot.bytes.checked_add(d.bytes)?;
    }
    into.files.extend(part.files);
    into.bits_per_weight = if into.params == 0 {
        0.0
    } else {
        into.bytes as f64 * 8.0 / into.params as f64
    };
    Some(())
}

/// Reads a GGUF file's header: weights, metadata and, for mapped architectures, the model.
pub(super) fn import(path: &Path, input: Input) -> Result<ImportedModel, ImportError> {
    let file_len = input.file_len();
    import_from(path, input, file_len)
}

/// Reads a GGUF header from `input`, the start of a file of `file_len` bytes (`None` for a
/// pipe, read to its end); `path` names it in errors.
pub(super) fn import_from(
    path: &Path,
    input: impl Source,
    file_len: Option<u64>,
) -> Result<ImportedModel, ImportError> {
    import_parts(path, vec![parse_part(path, input, file_len)?])
}

/// One file's header, parsed and checked: what a model is built from.
pub(super) struct Part {
    version: u32,
    n_kv: u64,
    alignment: u64,
    meta: BTreeMap<String, Meta>,
    weights: WeightSummary,
    facts: TensorFacts,
}

/// Parses the header of one GGUF file (or one part of a split GGUF), as [`import_from`] does.
pub(super) fn parse_part(
    path: &Path,
    input: impl Source,
    file_len: Option<u64>,
) -> Result<Part, ImportError> {
    let mut r = Reader {
        inner: input,
        pos: 0,
        len: file_len.unwrap_or(u64::MAX),
        path,
    };

    let magic = r.fixed::<4>(&|| "magic".into())?;
    if &magic != b"GGUF" {
        return Err(r.err(format!(
            "bad magic {magic:02x?} (expected \"GGUF\"): not a GGUF file"
        )));
    }
    let version = r.u32(&|| "version".into())?;
    if version.swap_bytes() == 2 || version.swap_bytes() == 3 {
        return Err(r.err("big-endian GGUF is not supported".into()));
    }
    if version != 2 && version != 3 {
        return Err(r.err(format!("version {version} is not supported (only 2 and 3)")));
    }
    let n_tensors = r.u64(&|| "tensor count".into())?;
    if n_tensors > MAX_TENSORS {
        return Err(r.err(format!(
            "tensor count {n_tensors} exceeds the limit of {MAX_TENSORS}"
        )));
    }
    let n_kv = r.u64(&|| "metadata count".into())?;
    if n_kv > MAX_KV {
        return Err(r.err(format!(
            "metadata count {n_kv} exceeds the limit of {MAX_KV}"
        )));
    }

    let mut meta: BTreeMap<String, Meta> = BTreeMap::new();
    let mut kept = 0u64;
    for i in 0..n_kv {
        let key = r.string(&|| format!("metadata key #{}", i + 1))?;
        let shown = sanitize::name(&key);
        let what = || format!("metadata '{shown}'");
        let ty = r.u32(&what)?;
        let value = r.value(ty, 0, &what)?;
        kept += key.len() as u64
            + if let Meta::Str(s) = &value {
                s.len() as u64
            } else {
                8
            };
        if kept > MAX_KEPT_BYTES {
            return Err(r.err(format!(
                "metadata keys and strings exceed {MAX_KEPT_BYTES} bytes"
            )));
        }
        if meta.insert(key.clone(), value).is_some() {
            return Err(r.err(format!("duplicate metadata key '{shown}'")));
        }
    }
    let alignment = match meta.get("general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some(v) => v
            .as_u64()
            .filter(|a| a.is_power_of_two() && *a <= 1 << 30)
            .ok_or_else(|| {
                r.err(format!(
                    "general.alignment {} is not a power of two",
                    sanitize::name(&format!("{v:?}"))
                ))
            })?,
    };

    let mut weights = WeightSummary::new(WeightFormat::Gguf);
    let mut facts = TensorFacts::default();
    let mut seen = NameSet::default();
    // The tensor whose data ends last, checked once the data section's start is known, and
    // every tensor's byte range, which may not overlap another's.
    let mut last_end: (u64, String) = (0, String::new());
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for i in 0..n_tensors {
        let raw_name = r.string(&|| format!("tensor #{} name", i + 1))?;
        let name = sanitize::name(&raw_name);
        let what = || format!("tensor '{name}'");
        if !seen.insert(&raw_name) {
            return Err(r.err(format!("duplicate tensor '{name}'")));
        }
        let n_dims = r.u32(&what)?;
        if n_dims > MAX_DIMS {
            return Err(r.err(format!(
                "tensor '{name}': {n_dims} dimensions (at most {MAX_DIMS})"
            )));
        }
        let mut dims = [1u64; MAX_DIMS as usize];
        for d in dims.iter_mut().take(n_dims as usize) {
            *d = r.u64(&what)?;
            if *d > i64::MAX as u64 {
                return Err(r.err(format!(
                    "tensor '{name}': dimension {d} is negative or too large"
                )));
            }
        }
        let dims = &dims[..n_dims as usize];
        let ty = r.u32(&what)?;
        let offset = r.u64(&what)?;
        let &(_, type_name, block, block_bytes) = GGML_TYPES
            .iter()
            .find(|(id, ..)| *id == ty)
            .ok_or_else(|| r.err(format!("tensor '{name}': unsupported ggml type {ty}")))?;
        let params = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                r.err(format!(
                    "tensor '{name}': shape {dims:?} overflows a 64-bit element count"
                ))
            })?;
        let row = dims.first().copied().unwrap_or(1);
        if row % block != 0 {
            return Err(r.err(format!(
                "tensor '{name}': row length {row} is not a multiple of the {type_name} block of {block}"
            )));
        }
        let bytes = (params / block)
            .checked_mul(block_bytes)
            .ok_or_else(|| r.err(format!("tensor '{name}': byte size overflows 64 bits")))?;
        if offset % alignment != 0 {
            return Err(r.err(format!(
                "tensor '{name}': offset {offset} is not a multiple of the alignment {alignment}"
            )));
        }
        let end = offset.checked_add(bytes).ok_or_else(|| {
            r.err(format!(
                "tensor '{name}': offset {offset} plus size overflows 64 bits"
            ))
        })?;
        if end > last_end.0 {
            last_end = (end, name.clone());
        }
        if bytes > 0 {
            ranges.push((offset, end));
        }
        weights
            .add(type_name, params, bytes)
            .ok_or_else(|| r.err("total parameter or byte count overflows 64 bits".into()))?;
        facts.observe(&raw_name, dims);
    }
    let data_start = r.pos.div_ceil(alignment) * alignment;
    let len = match file_len {
        Some(len) => len,
        // A pipe: count what is left.
        None => {
            let rest = r.inner.drain().map_err(ImportError::io(path))?;
            r.pos.saturating_add(rest)
        }
    };
    let data_len = len.saturating_sub(data_start);
    // Tensors may not share bytes: overlapping ranges would count the same data twice.
    ranges.sort_unstable();
    if let Some(w) = ranges.windows(2).find(|w| w[1].0 < w[0].1) {
        return Err(r.err(format!(
            "two tensors claim the same bytes: their data overlaps in [{}, {}) of the data section",
            w[1].0, w[0].1
        )));
    }
    if last_end.0 > data_len {
        return Err(r.err(format!(
            "tensor '{}' data ends {} bytes into the data section, which holds only {data_len} (truncated?)",
            last_end.1, last_end.0
        )));
    }
    weights.files.push(file_name(path));
    Ok(Part {
        version,
        n_kv,
        alignment,
        meta,
        weights,
        facts,
    })
}

/// The model the parts of a split GGUF (`…-00001-of-00003.gguf`, in order) describe together:
/// metadata from the first, tensors from all; a single file is a split of one. `path` (the
/// first part) names the model in errors and gives its id.
pub(super) fn import_parts(path: &Path, parts: Vec<Part>) -> Result<ImportedModel, ImportError> {
    let n = parts.len() as u64;
    let mut parts = parts.into_iter();
    let Some(Part {
        version,
        n_kv,
        alignment,
        meta,
        mut weights,
        mut facts,
    }) = parts.next()
    else {
        return Err(ImportError::Gguf {
            path: path.to_path_buf(),
            message: "no file to read".into(),
        });
    };
    for part in parts {
        merge_weights(&mut weights, part.weights).ok_or_else(|| ImportError::Gguf {
            path: path.to_path_buf(),
            message: "the parts' parameter or byte counts overflow 64 bits".into(),
        })?;
        facts.merge(part.facts);
    }
    weights.gguf_file_type = meta
        .get("general.file_type")
        .and_then(Meta::as_u64)
        .map(|ft| {
            FILE_TYPES
                .iter()
                .find(|(id, _)| *id == ft)
                .map_or_else(|| format!("unknown ({ft})"), |(_, n)| (*n).to_owned())
        });

    let mut notes = Vec::new();
    let arch = match meta.get("general.architecture") {
        Some(Meta::Str(a)) => Some(a.clone()),
        _ => None,
    };
    let count = meta.get("split.count").and_then(Meta::as_u64).unwrap_or(1);
    if n > 1 && count != n {
        return Err(ImportError::Gguf {
            path: path.to_path_buf(),
            message: format!("{n} parts were read but split.count is {count}"),
        });
    }
    if n > 1 {
        notes.push(format!(
            "a {n}-part split GGUF: the weights cover all {n} files"
        ));
    } else if count > 1 {
        notes.push(format!(
            "this is one file of a {count}-part split GGUF: the weights cover this file only"
        ));
    }
    let model = match &arch {
        Some(a) => model_from_meta(path, a, &meta, &facts, &weights, &mut notes)?,
        None => {
            notes.push("no general.architecture: weights only".into());
            None
        }
    };
    let info = GgufInfo {
        version,
        architecture: arch.clone(),
        name: match meta.get("general.name") {
            Some(Meta::Str(n)) => Some(n.clone()),
            _ => None,
        },
        alignment_bytes: alignment,
        metadata_keys: n_kv,
        metadata: key_metadata(&meta, arch.as_deref()),
    };
    Ok(ImportedModel {
        model,
        weights: Some(weights),
        gguf: Some(info),
        notes,
    })
}

/// `general.*` scalars and the architecture's hyperparameters.
fn key_metadata(
    meta: &BTreeMap<String, Meta>,
    arch: Option<&str>,
) -> BTreeMap<String, serde_json::Value> {
    let general = [
        "general.architecture",
        "general.name",
        "general.file_type",
        "general.quantization_version",
        "general.alignment",
        "split.count",
    ];
    let mut out = BTreeMap::new();
    for key in general {
        if let Some(v) = meta.get(key) {
            out.insert(key.to_owned(), v.to_json());
        }
    }
    if let Some(arch) = arch {
        for suffix in KEY_SUFFIXES {
            let key = format!("{arch}.{suffix}");
            if let Some(v) = meta.get(&key) {
                out.insert(key, v.to_json());
            }
        }
    }
    out
}
