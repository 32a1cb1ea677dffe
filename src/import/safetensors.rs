//! Safetensors headers. A file is an 8-byte little-endian header length N, N bytes of JSON
//! mapping tensor names to `{dtype, shape, data_offsets}` (offsets relative to the data that
//! follows the header), then the data. A sharded model adds `model.safetensors.index.json`,
//! whose `weight_map` names the shard holding each tensor.
//!
//! Headers (and the index, in `index.rs`) are read as a stream of entries: each tensor is checked and counted
//! as it is parsed and only a hash of its name and its byte range are kept, so memory stays at
//! a few dozen bytes a tensor whatever the names, shapes or counts a hostile file claims.
use super::{file_name, list_dir, ImportError, NameSet, WeightFormat, WeightSummary};
use crate::fsutil::{Input, Pipes, ReadError};
use crate::sanitize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest header accepted; the safetensors library uses the same limit.
pub(super) const MAX_HEADER_BYTES: u64 = 100_000_000;
/// Most tensors in one file or one index (the largest published checkpoints hold about 100,000).
pub(super) const MAX_TENSORS: u64 = 1_000_000;
/// Most dimensions of one tensor (real checkpoints use at most 5).
const MAX_RANK: usize = 8;

pub(super) const INDEX_FILE: &str = "model.safetensors.index.json";

/// A shape of at most [`MAX_RANK`] dimensions; a longer one fails while it is parsed.
#[derive(Clone, Copy)]
struct Shape {
    dims: [u64; MAX_RANK],
    rank: usize,
}

impl Shape {
    fn dims(&self) -> &[u64] {
        &self.dims[..self.rank]
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = Shape;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a list of at most {MAX_RANK} non-negative integers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
                let mut shape = Shape {
                    dims: [0; MAX_RANK],
                    rank: 0,
                };
                while let Some(d) = seq.next_element::<u64>()? {
                    if shape.rank == MAX_RANK {
                        return Err(de::Error::custom(format_args!(
                            "shape has more than {MAX_RANK} dimensions"
                        )));
                    }
                    shape.dims[shape.rank] = d;
                    shape.rank += 1;
                }
                Ok(shape)
            }
        }
        d.deserialize_seq(ShapeVisitor)
    }
}

/// One tensor as its header entry describes it.
#[derive(Deserialize)]
struct TensorInfo {
    dtype: String,
    shape: Shape,
    data_offsets: (u64, u64),
}

/// Bits per element of each safetensors dtype (as named by the safetensors library).
fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        _ => return None,
    })
}

/// Whether every element of this dtype is one logical weight (floats), rather than possibly
/// packed quantized storage (integers: GPTQ `I32`, bitsandbytes `U8`, …).
pub(super) fn is_float(dtype: &str) -> bool {
    dtype.starts_with('F') || dtype == "BF16" || dtype == "C64"
}

/// A tensor's element count and data bytes, checked against its header entry and the file.
pub(super) struct Tensor<'a> {
    pub(super) name: &'a str,
    pub(super) dtype: &'a str,
    pub(super) params: u64,
    pub(super) bytes: u64,
}

/// What a tensor callback or a check found wrong; reported as the file's error.
pub(super) type Check = Result<(), String>;

/// Streams a header's entries into `each`, checking each tensor against the data section.
struct Entries<'a, F> {
    data_len: u64,
    notes: &'a mut Vec<String>,
    each: F,
    /// Byte ranges of tensors with data, for the overlap check.
    ranges: Vec<(u64, u64)>,
    count: u64,
    /// The first failure of a check, which stops the parse.
    failure: Option<String>,
}

impl<F: FnMut(Tensor) -> Check> Entries<'_, F> {
    fn tensor(&mut self, name: &str, info: TensorInfo) -> Check {
        let shown = sanitize::name(name);
        self.count += 1;
        if self.count > MAX_TENSORS {
            return Err(format!("more than {MAX_TENSORS} tensors"));
        }
        let dims = info.shape.dims();
        let params = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                format!("tensor '{shown}': shape {dims:?} overflows a 64-bit element count")
            })?;
        let (begin, end) = info.data_offsets;
        if begin > end || end > self.data_len {
            return Err(format!(
                "tensor '{shown}': data_offsets [{begin}, {end}] lie outside the {}-byte data section (truncated?)",
                self.data_len
            ));
        }
        let bytes = end - begin;
        let dtype = sanitize::name(&info.dtype);
        match dtype_bits(&info.dtype) {
            Some(bits) => {
                let expected =
                    params
                        .checked_mul(bits)
                        .map(|b| b.div_ceil(8))
                        .ok_or_else(|| {
                            format!("tensor '{shown}': shape {dims:?} overflows its byte size")
                        })?;
                if expected != bytes {
                    return Err(format!(
                        "tensor '{shown}': shape {dims:?} of {dtype} needs {expected} bytes but data_offsets span {bytes}"
                    ));
                }
            }
            None => {
                let note = format!(
                    "dtype '{dtype}' is unknown to llmrig: its bytes come from data_offsets, unchecked"
                );
                if !self.notes.contains(&note) && self.notes.len() < 32 {
                    self.notes.push(note);
                }
            }
        }
        if bytes > 0 {
            self.ranges.push((begin, end));
        }
        (self.each)(Tensor {
            name,
            dtype: &dtype,
            params,
            bytes,
        })
    }

    /// Tensors may not share bytes: overlapping ranges would count the same data twice.
    fn check_overlap(&mut self) -> Check {
        self.ranges.sort_unstable();
        for w in self.ranges.windows(2) {
            let ((_, end), (begin, _)) = (w[0], w[1]);
            if begin < end {
                return Err(format!(
                    "two tensors claim the same bytes: data_offsets overlap in [{begin}, {end})"
                ));
            }
        }
        if self.count == 0 {
            return Err("the header lists no tensors".into());
        }
        Ok(())
    }
}

impl<'de, F: FnMut(Tensor) -> Check> Visitor<'de> for &mut Entries<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object mapping tensor names to {dtype, shape, data_offsets}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            if name == "__metadata__" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let info = map.next_value::<TensorInfo>().map_err(|e| {
                de::Error::custom(format_args!("tensor '{}': {e}", sanitize::name(&name)))
            })?;
            if let Err(message) = self.tensor(&name, info) {
                self.failure = Some(message);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

impl<'de, F: FnMut(Tensor) -> Check> DeserializeSeed<'de> for &mut Entries<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

/// Reads one file's header and hands each checked tensor to `each`. Notes unknown dtypes.
/// A pipe is read to its end to learn the data section's length.
pub(super) fn read_header(
    path: &Path,
    mut input: Input,
    notes: &mut Vec<String>,
    each: impl FnMut(Tensor) -> Check,
) -> Result<(), ImportError> {
    let bad = |message: String| ImportError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    let io = |e| ImportError::from(ReadError::io(path)(e));
    let file_len = input.file_len();
    if let Some(len) = file_len.filter(|&l| l < 8) {
        return Err(bad(format!(
            "{len} bytes is too short for the 8-byte header length"
        )));
    }
    let mut len_bytes = [0u8; 8];
    input
        .read_exact(&mut len_bytes)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                bad("the input ends before the 8-byte header length".into())
            }
            _ => io(e),
        })?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "header length {header_len} exceeds the {MAX_HEADER_BYTES}-byte limit"
        )));
    }
    if let Some(left) = file_len.map(|l| l - 8).filter(|&left| header_len > left) {
        return Err(bad(format!(
            "header length {header_len} runs past the end of the file ({left} bytes after the length; truncated?)"
        )));
    }
    let mut header = Vec::new();
    (&mut input)
        .take(header_len)
        .read_to_end(&mut header)
        .map_err(io)?;
    if (header.len() as u64) < header_len {
        return Err(bad(format!(
            "header length {header_len} runs past the end of the input ({} bytes after the length; truncated?)",
            header.len()
        )));
    }
    let data_len = match file_len {
        Some(len) => len - 8 - header_len,
        None => input.drain().map_err(io)?,
    };
    check_header(path, &header, data_len, notes, each)
}

/// A weights file's header read elsewhere (a Hub client's range requests): the 8-byte length
/// and the JSON, and the whole file's size; `path` names the file in errors.
pub(super) struct Head {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub file_len: u64,
}

/// Checks a header read elsewhere as [`read_header`] checks a file's.
pub(super) fn read_head(
    head: &Head,
    notes: &mut Vec<String>,
    each: impl FnMut(Tensor) -> Check,
) -> Result<(), ImportError> {
    let bad = |message: String| ImportError::Safetensors {
        path: head.path.clone(),
        message,
    };
    let Some((len_bytes, header)) = head.bytes.split_first_chunk::<8>() else {
        return Err(bad("the header is shorter than its 8-byte length".into()));
    };
    let header_len = u64::from_le_bytes(*len_bytes);
    let left = head.file_len.saturating_sub(8);
    if header.len() as u64 != header_len || header_len > MAX_HEADER_BYTES || header_len > left {
        return Err(bad(format!(
            "header length {header_len} does not match the {} header bytes read from a {}-byte file",
            header.len(),
            head.file_len
        )));
    }
    check_header(&head.path, header, left - header_len, notes, each)
}

/// Parses a header's JSON, checking each tensor against a data section of `data_len` bytes
/// and handing it to `each`.
fn check_header(
    path: &Path,
    header: &[u8],
    data_len: u64,
    notes: &mut Vec<String>,
    each: impl FnMut(Tensor) -> Check,
) -> Result<(), ImportError> {
    let bad = |message: String| ImportError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    let mut entries = Entries {
        data_len,
        notes,
        each,
        ranges: Vec::new(),
        count: 0,
        failure: None,
    };
    let mut de = serde_json::Deserializer::from_slice(header);
    let parsed = (&mut entries).deserialize(&mut de).and_then(|()| de.end());
    if let Some(message) = entries.failure.take() {
        return Err(bad(message));
    }
    parsed.map_err(|e| bad(format!("header JSON: {e}")))?;
    entries.check_overlap().map_err(bad)
}

/// Adds every tensor of one file (or piped input) to `weights`; `label` is the name listed in
/// `weights.files`.
pub(super) fn add_input(
    path: &Path,
    input: Input,
    label: &str,
    weights: &mut WeightSummary,
    seen: &mut NameSet,
    notes: &mut Vec<String>,
) -> Result<(), ImportError> {
    read_header(path, input, notes, |t| add(t, weights, seen))?;
    weights.files.push(label.to_owned());
    Ok(())
}

pub(super) fn add(t: Tensor, weights: &mut WeightSummary, seen: &mut NameSet) -> Check {
    if !seen.insert(t.name) {
        return Err(format!(
            "tensor '{}' appears twice (in this file or an earlier shard)",
            sanitize::name(t.name)
        ));
    }
    weights
        .add(t.dtype, t.params, t.bytes)
        .ok_or_else(|| "total parameter or byte count overflows 64 bits".into())
}

/// Every safetensors weight file in a model directory: the shards named by the index when there
/// is one, else `model.safetensors`, else every `*.safetensors`. `None` when there are none.
pub(super) fn read_dir(
    dir: &Path,
    notes: &mut Vec<String>,
) -> Result<Option<WeightSummary>, ImportError> {
    let mut weights = WeightSummary::new(WeightFormat::Safetensors);
    let mut seen = NameSet::default();
    let index_path = dir.join(INDEX_FILE);
    if index_path.exists() {
        let mut shard = |name: &str, notes: &mut Vec<String>, each: &mut super::index::Each| {
            let path = dir.join(name);
            let input = Input::open(&path, Pipes::Refuse)?;
            read_header(&path, input, notes, each)
        };
        super::index::read_sharded(&index_path, &mut shard, &mut weights, &mut seen, notes)?;
        return Ok(Some(weights));
    }
    // Anything named *.safetensors but a directory is read, so a FIFO or device is reported
    // rather than silently skipped.
    let files: Vec<_> = list_dir(dir)?
        .into_iter()
        .filter(|p| !p.is_dir() && p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    let single = dir.join("model.safetensors");
    let files = if files.contains(&single) {
        vec![single]
    } else {
        files
    };
    if files.is_empty() {
        return Ok(None);
    }
    if files.len() > 1 {
        notes.push(format!(
            "no {INDEX_FILE}: counted all {} *.safetensors files in the directory",
            files.len()
        ));
    }
    for file in &files {
        let input = Input::open(file, Pipes::Refuse)?;
        add_input(
            file,
            input,
            &file_name(file),
            &mut weights,
            &mut seen,
            notes,
        )?;
    }
    Ok(Some(weights))
}

/// Exact weights from unindexed headers read elsewhere (a Hub client's cache), counted as for
/// a directory without an index; `head` gives each file's header by name.
pub(super) fn read_heads(
    names: &[&str],
    head: &mut dyn FnMut(&str) -> Result<Head, ImportError>,
    notes: &mut Vec<String>,
) -> Result<WeightSummary, ImportError> {
    let mut weights = WeightSummary::new(WeightFormat::Safetensors);
    let mut seen = NameSet::default();
    if names.len() > 1 {
        notes.push(format!(
            "no {INDEX_FILE}: counted all {} *.safetensors files",
            names.len()
        ));
    }
    for name in names {
        let h = head(name)?;
        read_head(&h, notes, |t| add(t, &mut weights, &mut seen))?;
        weights.files.push((*name).to_owned());
    }
    Ok(weights)
}
