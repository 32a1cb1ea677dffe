//! Safetensors headers. A file is an 8-byte little-endian header length N, N bytes of JSON
//! mapping tensor names to `{dtype, shape, data_offsets}` (offsets relative to the data that
//! follows the header), then the data. A sharded model adds `model.safetensors.index.json`,
//! whose `weight_map` names the shard holding each tensor.
use super::{file_name, list_dir, read_json, ImportError, NameSet, WeightFormat, WeightSummary};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest header accepted; the safetensors library uses the same limit.
pub(super) const MAX_HEADER_BYTES: u64 = 100_000_000;

const INDEX_FILE: &str = "model.safetensors.index.json";

/// One tensor as its header entry describes it.
#[derive(Debug, Deserialize)]
struct TensorInfo {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: (u64, u64),
}

/// The header's tensors in file order; `__metadata__` is skipped without being kept.
struct Entries(Vec<(String, TensorInfo)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object mapping tensor names to {dtype, shape, data_offsets}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if name == "__metadata__" {
                        map.next_value::<IgnoredAny>()?;
                    } else {
                        let info = map
                            .next_value::<TensorInfo>()
                            .map_err(|e| de::Error::custom(format_args!("tensor '{name}': {e}")))?;
                        out.push((name, info));
                    }
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(EntriesVisitor)
    }
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
struct Tensor {
    name: String,
    dtype: String,
    params: u64,
    bytes: u64,
}

/// A weights file's header read elsewhere (a Hub client's range requests): the 8-byte
/// length, then the JSON, and the whole file's size; `path` names the file in errors.
pub(super) struct Head {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub file_len: u64,
}

/// Reads and checks one file's header. Notes unknown dtypes.
fn read_header(path: &Path, notes: &mut Vec<String>) -> Result<Vec<Tensor>, ImportError> {
    let bad = |message: String| ImportError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    let mut file = std::fs::File::open(path).map_err(ImportError::io(path))?;
    let file_len = file.metadata().map_err(ImportError::io(path))?.len();
    if file_len < 8 {
        return Err(bad(format!(
            "{file_len} bytes is too short for the 8-byte header length"
        )));
    }
    let mut len_bytes = [0u8; 8];
    file.read_exact(&mut len_bytes)
        .map_err(ImportError::io(path))?;
    let header_len = check_header_len(path, u64::from_le_bytes(len_bytes), file_len)?;
    // Bounded by the checks above.
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header)
        .map_err(ImportError::io(path))?;
    parse_header(path, &header, file_len - 8 - header_len, notes)
}

/// The tensors of a header read elsewhere, checked as a file's would be.
fn head_tensors(head: &Head, notes: &mut Vec<String>) -> Result<Vec<Tensor>, ImportError> {
    let path = head.path.as_path();
    let Some((len_bytes, header)) = head.bytes.split_first_chunk::<8>() else {
        return Err(ImportError::Safetensors {
            path: path.to_path_buf(),
            message: "the header is shorter than its 8-byte length".into(),
        });
    };
    let header_len = check_header_len(path, u64::from_le_bytes(*len_bytes), head.file_len)?;
    if header.len() as u64 != header_len {
        return Err(ImportError::Safetensors {
            path: path.to_path_buf(),
            message: format!(
                "header length {header_len} but {} header bytes were read",
                header.len()
            ),
        });
    }
    parse_header(path, header, head.file_len - 8 - header_len, notes)
}

/// A header length checked against the limit and against a file of `file_len` bytes.
fn check_header_len(path: &Path, header_len: u64, file_len: u64) -> Result<u64, ImportError> {
    let bad = |message: String| ImportError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    if header_len > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "header length {header_len} exceeds the {MAX_HEADER_BYTES}-byte limit"
        )));
    }
    let left = file_len.saturating_sub(8);
    if file_len < 8 || header_len > left {
        return Err(bad(format!(
            "header length {header_len} runs past the end of the file ({left} bytes after the length; truncated?)"
        )));
    }
    Ok(header_len)
}

/// Checks a header's JSON against a data section of `data_len` bytes.
fn parse_header(
    path: &Path,
    header: &[u8],
    data_len: u64,
    notes: &mut Vec<String>,
) -> Result<Vec<Tensor>, ImportError> {
    let bad = |message: String| ImportError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    let entries: Entries =
        serde_json::from_slice(header).map_err(|e| bad(format!("header JSON: {e}")))?;

    let mut out = Vec::with_capacity(entries.0.len());
    for (name, info) in entries.0 {
        let params = info
            .shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                bad(format!(
                    "tensor '{name}': shape {:?} overflows a 64-bit element count",
                    info.shape
                ))
            })?;
        let (begin, end) = info.data_offsets;
        if begin > end || end > data_len {
            return Err(bad(format!(
                "tensor '{name}': data_offsets [{begin}, {end}] lie outside the {data_len}-byte data section (truncated?)"
            )));
        }
        let bytes = end - begin;
        match dtype_bits(&info.dtype) {
            Some(bits) => {
                let expected =
                    params
                        .checked_mul(bits)
                        .map(|b| b.div_ceil(8))
                        .ok_or_else(|| {
                            bad(format!(
                                "tensor '{name}': shape {:?} overflows its byte size",
                                info.shape
                            ))
                        })?;
                if expected != bytes {
                    return Err(bad(format!(
                        "tensor '{name}': shape {:?} of {} needs {expected} bytes but data_offsets span {bytes}",
                        info.shape, info.dtype
                    )));
                }
            }
            None => {
                let note = format!(
                    "dtype '{}' is unknown to llmrig: its bytes come from data_offsets, unchecked",
                    info.dtype
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
        }
        out.push(Tensor {
            name,
            dtype: info.dtype,
            params,
            bytes,
        });
    }
    Ok(out)
}

/// Adds every tensor of one file to `weights`; `label` is the name listed in `weights.files`.
pub(super) fn add_file(
    path: &Path,
    label: &str,
    weights: &mut WeightSummary,
    seen: &mut NameSet,
    notes: &mut Vec<String>,
) -> Result<(), ImportError> {
    add_tensors(path, read_header(path, notes)?, weights, seen)?;
    weights.files.push(label.to_owned());
    Ok(())
}

fn add_tensors(
    path: &Path,
    tensors: Vec<Tensor>,
    weights: &mut WeightSummary,
    seen: &mut NameSet,
) -> Result<(), ImportError> {
    let bad = |message: String| ImportError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    for t in tensors {
        if !seen.insert(&t.name) {
            return Err(bad(format!(
                "tensor '{}' appears twice (in this file or an earlier shard)",
                t.name
            )));
        }
        weights
            .add(&t.dtype, t.params, t.bytes)
            .ok_or_else(|| bad("total parameter or byte count overflows 64 bits".into()))?;
    }
    Ok(())
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
    if index_path.is_file() {
        let mut shard = |name: &str, notes: &mut Vec<String>| {
            let path = dir.join(name);
            let tensors = read_header(&path, notes)?;
            Ok((path, tensors))
        };
        read_sharded(&index_path, &mut shard, &mut weights, &mut seen, notes)?;
        return Ok(Some(weights));
    }
    let files: Vec<_> = list_dir(dir)?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "safetensors"))
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
        add_file(file, &file_name(file), &mut weights, &mut seen, notes)?;
    }
    Ok(Some(weights))
}

/// The shard files an index names, sorted, each a plain file name beside the index.
pub(super) fn shard_names(index_path: &Path) -> Result<Vec<String>, ImportError> {
    let index = read_json(index_path)?;
    Ok(index_shards(index_path, &index)?
        .1
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// Exact weights from an index and shard headers read elsewhere (a Hub client's cache):
/// `head` gives each shard's header by name.
pub(super) fn read_index_with(
    index_path: &Path,
    head: &mut dyn FnMut(&str) -> Result<Head, ImportError>,
    notes: &mut Vec<String>,
) -> Result<WeightSummary, ImportError> {
    let mut weights = WeightSummary::new(WeightFormat::Safetensors);
    let mut shard = |name: &str, notes: &mut Vec<String>| {
        let h = head(name)?;
        let tensors = head_tensors(&h, notes)?;
        Ok((h.path, tensors))
    };
    read_sharded(
        index_path,
        &mut shard,
        &mut weights,
        &mut NameSet::default(),
        notes,
    )?;
    Ok(weights)
}

/// Exact weights from unindexed headers read elsewhere, as for a directory without an index.
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
        add_tensors(&h.path, head_tensors(&h, notes)?, &mut weights, &mut seen)?;
        weights.files.push((*name).to_owned());
    }
    Ok(weights)
}

/// The index's `weight_map` and its distinct shard names, checked to be plain file names.
fn index_shards<'a>(
    index_path: &Path,
    index: &'a serde_json::Map<String, serde_json::Value>,
) -> Result<
    (
        &'a serde_json::Map<String, serde_json::Value>,
        BTreeSet<&'a str>,
    ),
    ImportError,
> {
    let bad_index = |message: String| ImportError::Safetensors {
        path: index_path.to_path_buf(),
        message,
    };
    let map = index
        .get("weight_map")
        .and_then(|v| v.as_object())
        .ok_or_else(|| bad_index("no 'weight_map' object".into()))?;
    let mut shards = BTreeSet::new();
    for (tensor, shard) in map {
        let shard = shard
            .as_str()
            .ok_or_else(|| bad_index(format!("weight_map['{tensor}'] is not a file name")))?;
        // Shards are plain files beside the index; never follow a path out of the directory.
        let plain =
            !shard.is_empty() && shard != "." && shard != ".." && !shard.contains(['/', '\\']);
        if !plain {
            return Err(bad_index(format!(
                "weight_map['{tensor}'] = '{shard}' is not a file name in this directory"
            )));
        }
        shards.insert(shard);
    }
    Ok((map, shards))
}

/// A shard's path (for errors) and checked tensors, by name.
type ShardReader<'a> =
    dyn FnMut(&str, &mut Vec<String>) -> Result<(PathBuf, Vec<Tensor>), ImportError> + 'a;

/// Reads the shards named by the index and checks that each tensor sits where the index says.
fn read_sharded(
    index_path: &Path,
    shard_reader: &mut ShardReader,
    weights: &mut WeightSummary,
    seen: &mut NameSet,
    notes: &mut Vec<String>,
) -> Result<(), ImportError> {
    let bad_index = |message: String| ImportError::Safetensors {
        path: index_path.to_path_buf(),
        message,
    };
    let index = read_json(index_path)?;
    let (map, shards) = index_shards(index_path, &index)?;
    for shard in &shards {
        let (path, tensors) = shard_reader(shard, notes)?;
        for t in &tensors {
            match map.get(&t.name).and_then(|v| v.as_str()) {
                Some(s) if s == *shard => {}
                Some(other) => {
                    return Err(ImportError::Safetensors {
                        path,
                        message: format!(
                            "tensor '{}' is here but {INDEX_FILE} puts it in '{other}'",
                            t.name
                        ),
                    })
                }
                None => {
                    return Err(ImportError::Safetensors {
                        path,
                        message: format!("tensor '{}' is missing from {INDEX_FILE}", t.name),
                    })
                }
            }
        }
        add_tensors(&path, tensors, weights, seen)?;
        weights.files.push((*shard).to_owned());
    }
    if weights.tensors != map.len() as u64 {
        return Err(bad_index(format!(
            "weight_map lists {} tensors but the shards hold {}",
            map.len(),
            weights.tensors
        )));
    }
    let total_size = index
        .get("metadata")
        .and_then(|m| m.get("total_size"))
        .and_then(|v| v.as_u64());
    if let Some(total) = total_size.filter(|&t| t != weights.bytes) {
        notes.push(format!(
            "{INDEX_FILE} metadata.total_size is {total} bytes; the shard headers add up to {} (used)",
            weights.bytes
        ));
    }
    Ok(())
}
