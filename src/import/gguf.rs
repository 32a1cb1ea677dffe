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
use std::io::Read;
use std::path::Path;

/// Limits on counts and lengths read from a header (llama.cpp files hold at most a few
/// thousand tensors, a few dozen keys and names under 64 bytes).
const MAX_TENSORS: u64 = 1_000_000;
const MAX_KV: u64 = 1_000_000;
const MAX_STRING_BYTES: u64 = 1 << 20;
/// Elements of one metadata array (a vocabulary has a few hundred thousand).
const MAX_ARRAY_LEN: u64 = 1 << 27;
/// Arrays of arrays nest at most this deep.
const MAX_ARRAY_DEPTH: u32 = 4;
/// Metadata kept in memory (keys and scalar values; array contents are never kept).
const MAX_KEPT_BYTES: u64 = 16 << 20;
const MAX_DIMS: u32 = 4;
const DEFAULT_ALIGNMENT: u64 = 32;

/// Architectures whose GGUF metadata maps onto a catalog model: (name, gated MLP, norm).
const MAPPED_ARCHS: &[(&str, bool, Norm)] = &[
    ("llama", true, Norm::Rmsnorm),
    ("qwen2", true, Norm::Rmsnorm),
    ("gemma2", true, Norm::Rmsnorm),
    ("phi3", true, Norm::Rmsnorm),
    ("falcon", false, Norm::Layernorm),
];

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

/// One metadata value; arrays keep only their length.
#[derive(Debug, Clone, PartialEq)]
enum Meta {
    Uint(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array { len: u64 },
}

impl Meta {
    fn as_u64(&self) -> Option<u64> {
        match *self {
            Meta::Uint(v) => Some(v),
            Meta::Int(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Meta::Uint(v) => (*v).into(),
            Meta::Int(v) => (*v).into(),
            Meta::Float(v) => (*v).into(),
            Meta::Bool(v) => (*v).into(),
            Meta::Str(v) => v.clone().into(),
            Meta::Array { len } => serde_json::json!({ "array_len": len }),
        }
    }
}

/// ggml tensor types: (id, name, elements per block, bytes per block), from ggml's
/// `ggml.h` enum and the `block_*` structs in `ggml-common.h`. Removed or unknown ids are
/// rejected rather than guessed.
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
];

/// llama.cpp's `llama_ftype` names for `general.file_type`.
const FILE_TYPES: &[(u64, &str)] = &[
    (0, "F32"),
    (1, "F16"),
    (2, "Q4_0"),
    (3, "Q4_1"),
    (4, "Q4_1_SOME_F16"),
    (7, "Q8_0"),
    (8, "Q5_0"),
    (9, "Q5_1"),
    (10, "Q2_K"),
    (11, "Q3_K_S"),
    (12, "Q3_K_M"),
    (13, "Q3_K_L"),
    (14, "Q4_K_S"),
    (15, "Q4_K_M"),
    (16, "Q5_K_S"),
    (17, "Q5_K_M"),
    (18, "Q6_K"),
    (19, "IQ2_XXS"),
    (20, "IQ2_XS"),
    (21, "Q2_K_S"),
    (22, "IQ3_XS"),
    (23, "IQ3_XXS"),
    (24, "IQ1_S"),
    (25, "IQ4_NL"),
    (26, "IQ3_S"),
    (27, "IQ3_M"),
    (28, "IQ2_S"),
    (29, "IQ2_M"),
    (30, "IQ4_XS"),
    (31, "IQ1_M"),
    (32, "BF16"),
    (36, "TQ1_0"),
    (37, "TQ2_0"),
    (38, "MXFP4_MOE"),
    (39, "NVFP4"),
    (40, "Q1_0"),
];

/// A reader that knows the file length and refuses to read or skip past it (a pipe's length
/// is unknown: `u64::MAX` until its end is reached).
struct Reader<'p, S> {
    inner: S,
    pos: u64,
    len: u64,
    path: &'p Path,
}

impl<S: Source> Reader<'_, S> {
    fn err(&self, message: String) -> ImportError {
        ImportError::Gguf {
            path: self.path.to_path_buf(),
            message,
        }
    }

    /// A read that ran out of input (only a pipe can: a file's length is checked first) reads
    /// as truncation.
    fn eof_or_io(&self, e: std::io::Error, what: &dyn Fn() -> String) -> ImportError {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            self.err(format!(
                "{} runs past the end of the input at offset {} (truncated?)",
                what(),
                self.pos
            ))
        } else {
            ImportError::io(self.path)(e)
        }
    }

    /// Fails unless `n` more bytes exist.
    fn need(&self, n: u64, what: &dyn Fn() -> String) -> Result<(), ImportError> {
        let left = self.len - self.pos;
        if n > left {
            return Err(self.err(format!(
                "{} needs {n} bytes at offset {} but only {left} remain (truncated?)",
                what(),
                self.pos
            )));
        }
        Ok(())
    }

    fn fixed<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N], ImportError> {
        self.need(N as u64, what)?;
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.eof_or_io(e, what))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, ImportError> {
        self.fixed::<4>(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64, ImportError> {
        self.fixed::<8>(what).map(u64::from_le_bytes)
    }

    fn skip(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<(), ImportError> {
        self.need(n, what)?;
        self.inner.skip(n).map_err(|e| self.eof_or_io(e, what))?;
        self.pos += n;
        Ok(())
    }

    /// A string's length, checked against the limit and the bytes left.
    fn string_len(&mut self, what: &dyn Fn() -> String) -> Result<u64, ImportError> {
        let len = self.u64(what)?;
        if len > MAX_STRING_BYTES {
            return Err(self.err(format!(
                "{}: string length {len} exceeds the {MAX_STRING_BYTES}-byte limit",
                what()
            )));
        }
        self.need(len, what)?;
        Ok(len)
    }

    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String, ImportError> {
        let len = self.string_len(what)?;
        // Bounded by MAX_STRING_BYTES and by the file.
        let mut buf = vec![0u8; len as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.eof_or_io(e, what))?;
        self.pos += len;
        String::from_utf8(buf).map_err(|_| self.err(format!("{} is not UTF-8", what())))
    }

    fn skip_string(&mut self, what: &dyn Fn() -> String) -> Result<(), ImportError> {
        let len = self.string_len(what)?;
        self.skip(len, what)
    }

    /// One metadata value of type `ty`. Arrays are walked (every length checked) and skipped.
    fn value(
        &mut self,
        ty: u32,
        depth: u32,
        what: &dyn Fn() -> String,
    ) -> Result<Meta, ImportError> {
        Ok(match ty {
            0 => Meta::Uint(self.fixed::<1>(what)?[0].into()),
            1 => Meta::Int(i8::from_le_bytes(self.fixed::<1>(what)?).into()),
            2 => Meta::Uint(u16::from_le_bytes(self.fixed::<2>(what)?).into()),
            3 => Meta::Int(i16::from_le_bytes(self.fixed::<2>(what)?).into()),
            4 => Meta::Uint(self.u32(what)?.into()),
            5 => Meta::Int(i32::from_le_bytes(self.fixed::<4>(what)?).into()),
            6 => Meta::Float(f32::from_le_bytes(self.fixed::<4>(what)?).into()),
            7 => match self.fixed::<1>(what)?[0] {
                0 => Meta::Bool(false),
                1 => Meta::Bool(true),
                b => {
                    return Err(self.err(format!("{}: boolean byte {b} is neither 0 nor 1", what())))
                }
            },
            8 => Meta::Str(self.string(what)?),
            9 => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(self.err(format!(
                        "{}: arrays nested deeper than {MAX_ARRAY_DEPTH}",
                        what()
                    )));
                }
                let elem = self.u32(what)?;
                let len = self.u64(what)?;
                if len > MAX_ARRAY_LEN {
                    return Err(self.err(format!(
                        "{}: array length {len} exceeds the limit of {MAX_ARRAY_LEN}",
                        what()
                    )));
                }
                match value_size(elem) {
                    Some(size) => self.skip(len * size, what)?,
                    None => {
                        // Strings take at least 8 bytes and arrays 12, so a length the file
                        // cannot hold fails here instead of looping.
                        let min = if elem == 8 { 8 } else { 12 };
                        self.need(len * min, what)?;
                        for _ in 0..len {
                            match elem {
                                8 => self.skip_string(what)?,
                                _ => {
                                    self.value(elem, depth + 1, what)?;
                                }
                            }
                        }
                    }
                }
                Meta::Array { len }
            }
            10 => Meta::Uint(self.u64(what)?),
            11 => Meta::Int(i64::from_le_bytes(self.fixed::<8>(what)?)),
            12 => Meta::Float(f64::from_le_bytes(self.fixed::<8>(what)?)),
            other => {
                return Err(self.err(format!("{}: unknown metadata value type {other}", what())))
            }
        })
    }
}

/// Bytes of one fixed-size metadata value; `None` for strings, arrays and unknown types.
fn value_size(ty: u32) -> Option<u64> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
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

/// What a GGUF header is read from: a file or pipe ([`Input`]), or the bytes a Hub client
/// fetches or cached.
pub(super) trait Source: Read {
    /// Skips `n` bytes; `UnexpectedEof` when fewer remain.
    fn skip(&mut self, n: u64) -> std::io::Result<()>;
    /// Reads and discards the rest; returns how many bytes that was.
    fn drain(&mut self) -> std::io::Result<u64>;
}

impl Source for Input {
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        Input::skip(self, n)
    }
    fn drain(&mut self) -> std::io::Result<u64> {
        Input::drain(self)
    }
}

impl<S: Source + ?Sized> Source for &mut S {
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        (**self).skip(n)
    }
    fn drain(&mut self) -> std::io::Result<u64> {
        (**self).drain()
    }
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

/// A catalog model from the metadata of a mapped architecture; `None` with a note otherwise.
fn model_from_meta(
    path: &Path,
    arch: &str,
    meta: &BTreeMap<String, Meta>,
    facts: &TensorFacts,
    weights: &WeightSummary,
    notes: &mut Vec<String>,
) -> Result<Option<Model>, ImportError> {
    let Some(&(_, gated, norm)) = MAPPED_ARCHS.iter().find(|(a, ..)| *a == arch) else {
        let mapped: Vec<&str> = MAPPED_ARCHS.iter().map(|(a, ..)| *a).collect();
        notes.push(format!(
            "architecture '{}' is not one llmrig maps to a model ({}): weights only",
            sanitize::name(arch),
            mapped.join(", ")
        ));
        return Ok(None);
    };
    // Missing or per-layer (array) hyperparameters leave the model out rather than guessing.
    let mut missing = Vec::new();
    let mut get = |suffix: &str| {
        let key = format!("{arch}.{suffix}");
        let v = meta.get(&key).and_then(Meta::as_u64);
        if v.is_none() {
            missing.push(key);
        }
        v
    };
    let hidden = get("embedding_length");
    let layers = get("block_count");
    let heads = get("attention.head_count");
    let ffn = get("feed_forward_length");
    let context = get("context_length");
    let vocab = facts.token_embd.map(|(_, v)| v).or_else(|| {
        meta.get(&format!("{arch}.vocab_size"))
            .or_else(|| meta.get("tokenizer.ggml.tokens"))
            .and_then(|v| match v {
                Meta::Array { len } => Some(*len),
                other => other.as_u64(),
            })
    });
    if vocab.is_none() {
        missing.push("token_embd.weight (vocabulary size)".into());
    }
    let (Some(hidden), Some(layers), Some(heads), Some(ffn), Some(context), Some(vocab)) =
        (hidden, layers, heads, ffn, context, vocab)
    else {
        notes.push(format!(
            "no model built: missing or per-layer {}",
            missing.join(", ")
        ));
        return Ok(None);
    };
    let opt = |suffix: &str| meta.get(&format!("{arch}.{suffix}")).and_then(Meta::as_u64);
    let layer0 = |t: &str| facts.layer0.contains(t);
    let norm_names = [
        "attn_norm.weight",
        "attn_norm_2.weight",
        "ffn_norm.weight",
        "post_attention_norm.weight",
        "post_ffw_norm.weight",
    ];
    let norms = norm_names.iter().filter(|n| layer0(n)).count() as u64;
    let experts = opt("expert_count").filter(|&e| e > 1);
    let sliding_window = opt("attention.sliding_window");
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| arch.to_owned());
    // Shown in every plan: no control characters, no screenful of text.
    let name = match meta.get("general.name") {
        Some(Meta::Str(n)) if !n.trim().is_empty() => sanitize::name(n),
        _ => sanitize::name(&stem),
    };
    let total = weights.params;
    let mut model = Model {
        id: kebab(&stem),
        name,
        family: arch.to_owned(),
        architecture: arch.to_owned(),
        hidden_size: hidden,
        num_hidden_layers: layers,
        num_attention_heads: heads,
        num_key_value_heads: opt("attention.head_count_kv").unwrap_or(heads),
        head_dim: opt("attention.key_length"),
        intermediate_size: ffn,
        gated_mlp: gated,
        vocab_size: vocab,
        tie_word_embeddings: !facts.has_output,
        max_position_embeddings: context,
        norm: if layer0("attn_norm.bias") {
            Norm::Layernorm
        } else {
            norm
        },
        norms_per_layer: if norms == 0 { 2 } else { norms },
        qkv_bias: layer0("attn_q.bias") || layer0("attn_qkv.bias"),
        o_bias: layer0("attn_output.bias"),
        mlp_bias: layer0("ffn_up.bias"),
        num_local_experts: experts,
        num_experts_per_tok: experts.and(opt("expert_used_count")),
        sliding_window,
        // Gemma 2 alternates sliding and global layers.
        sliding_window_layers: sliding_window
            .filter(|_| arch == "gemma2")
            .map(|_| layers.div_ceil(2)),
        native_format: weights
            .gguf_file_type
            .as_deref()
            .and_then(Precision::from_gguf_file_type),
        params_published: total,
        license: LICENSE.into(),
        source: file_url(path),
        ..skeleton()
    };
    if let Err(message) = check_ranges(&model) {
        return Err(ImportError::Gguf {
            path: path.to_path_buf(),
            message,
        });
    }
    let counts = model.param_counts();
    if model.is_moe() {
        model.active_params_published = Some(counts.active);
    }
    if differs(counts.total, total) {
        let note = format!(
            "the metadata gives {} parameters but the tensors hold {total}: params_published is the file count",
            counts.total
        );
        model.notes = Some(note.clone());
        notes.push(note);
    }
    Ok(Some(model))
}
