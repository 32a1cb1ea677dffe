//! `model.safetensors.index.json`: which shard holds each tensor. Read as a typed stream (only
//! a hash per tensor and each shard's name are kept, unknown fields are skipped), then every
//! shard's header is checked against it.
use super::safetensors::{add, read_head, Check, Head, Tensor, INDEX_FILE, MAX_TENSORS};
use super::{ImportError, NameHasher, NameSet, WeightFormat, WeightSummary};
use crate::fsutil::{Input, Pipes, ReadError};
use crate::sanitize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// Most shard files one index may name.
const MAX_SHARDS: usize = 100_000;
/// Largest index read (a 100,000-tensor index is about 10 MB).
pub(super) const MAX_INDEX_BYTES: u64 = 128 << 20;

/// The index's `weight_map`: tensor-name hashes mapped to shard numbers.
struct WeightMap {
    hasher: NameHasher,
    shards: Vec<String>,
    by_tensor: HashMap<u64, u32>,
}

impl<'de> Deserialize<'de> for WeightMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = WeightMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object mapping tensor names to shard file names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WeightMap, A::Error> {
                let mut out = WeightMap {
                    hasher: NameHasher::default(),
                    shards: Vec::new(),
                    by_tensor: HashMap::new(),
                };
                let mut shard_ids: HashMap<String, u32> = HashMap::new();
                while let Some(tensor) = map.next_key::<String>()? {
                    let shown = sanitize::name(&tensor);
                    let shard = map.next_value::<String>().map_err(|e| {
                        de::Error::custom(format_args!(
                            "weight_map['{shown}'] is not a file name: {e}"
                        ))
                    })?;
                    // Shards are plain files beside the index; never follow a path out of the
                    // directory.
                    let plain = !shard.is_empty()
                        && shard != "."
                        && shard != ".."
                        && !shard.contains(['/', '\\']);
                    if !plain {
                        return Err(de::Error::custom(format_args!(
                            "weight_map['{shown}'] = '{}' is not a file name in this directory",
                            sanitize::name(&shard)
                        )));
                    }
                    if out.by_tensor.len() as u64 >= MAX_TENSORS {
                        return Err(de::Error::custom(format_args!(
                            "weight_map lists more than {MAX_TENSORS} tensors"
                        )));
                    }
                    let next = shard_ids.len() as u32;
                    let id = *shard_ids.entry(shard).or_insert(next);
                    if shard_ids.len() > MAX_SHARDS {
                        return Err(de::Error::custom(format_args!(
                            "weight_map names more than {MAX_SHARDS} shard files"
                        )));
                    }
                    if out.by_tensor.insert(out.hasher.of(&tensor), id).is_some() {
                        return Err(de::Error::custom(format_args!(
                            "weight_map lists tensor '{shown}' twice"
                        )));
                    }
                }
                out.shards = vec![String::new(); shard_ids.len()];
                for (name, id) in shard_ids {
                    out.shards[id as usize] = name;
                }
                Ok(out)
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

/// The fields of `model.safetensors.index.json` llmrig reads; everything else is skipped.
#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    metadata: Option<IndexMetadata>,
    weight_map: WeightMap,
}

#[derive(Deserialize)]
struct IndexMetadata {
    /// Kept loosely typed: some writers store it as a float or a string.
    #[serde(default)]
    total_size: Option<serde_json::Value>,
}

/// Reads and parses an index of at most [`MAX_INDEX_BYTES`].
fn read_index(index_path: &Path) -> Result<Index, ImportError> {
    let input = Input::open(index_path, Pipes::Refuse)?;
    if let Some(len) = input.file_len().filter(|&l| l > MAX_INDEX_BYTES) {
        return Err(ReadError::TooLarge {
            path: index_path.to_path_buf(),
            len: Some(len),
            limit: MAX_INDEX_BYTES,
            what: "safetensors index files",
        }
        .into());
    }
    serde_json::from_reader(std::io::BufReader::new(input.take(MAX_INDEX_BYTES))).map_err(|cause| {
        match cause.classify() {
            // A check of ours, or a value of the wrong type: the index's content is wrong.
            serde_json::error::Category::Data => ImportError::Safetensors {
                path: index_path.to_path_buf(),
                message: cause.to_string(),
            },
            _ => ImportError::Json {
                path: index_path.to_path_buf(),
                cause,
            },
        }
    })
}

/// The shard files an index names, sorted (what a Hub client fetches headers of).
pub(super) fn shard_names(index_path: &Path) -> Result<Vec<String>, ImportError> {
    let mut shards = read_index(index_path)?.weight_map.shards;
    shards.sort();
    Ok(shards)
}

/// What a shard reader hands each tensor to.
pub(super) type Each<'e> = dyn FnMut(Tensor) -> Check + 'e;
/// Reads one shard's header by name (from a file beside the index, or a Hub client's cache).
pub(super) type ShardReader<'r> =
    dyn FnMut(&str, &mut Vec<String>, &mut Each) -> Result<(), ImportError> + 'r;

/// Exact weights from an index and shard headers read elsewhere: `head` gives each shard's.
pub(super) fn read_index_with(
    index_path: &Path,
    head: &mut dyn FnMut(&str) -> Result<Head, ImportError>,
    notes: &mut Vec<String>,
) -> Result<WeightSummary, ImportError> {
    let mut weights = WeightSummary::new(WeightFormat::Safetensors);
    let mut shard =
        |name: &str, notes: &mut Vec<String>, each: &mut Each| read_head(&head(name)?, notes, each);
    read_sharded(
        index_path,
        &mut shard,
        &mut weights,
        &mut NameSet::default(),
        notes,
    )?;
    Ok(weights)
}

/// Reads the shards named by the index and checks that each tensor sits where the index says.
pub(super) fn read_sharded(
    index_path: &Path,
    read_shard: &mut ShardReader,
    weights: &mut WeightSummary,
    seen: &mut NameSet,
    notes: &mut Vec<String>,
) -> Result<(), ImportError> {
    let bad_index = |message: String| ImportError::Safetensors {
        path: index_path.to_path_buf(),
        message,
    };
    let index = read_index(index_path)?;
    let map = index.weight_map;
    if map.by_tensor.is_empty() {
        return Err(bad_index(
            "weight_map lists no tensors: the weights cannot be counted".into(),
        ));
    }
    let mut order: Vec<usize> = (0..map.shards.len()).collect();
    order.sort_by(|&a, &b| map.shards[a].cmp(&map.shards[b]));
    for id in order {
        let shard = &map.shards[id];
        read_shard(
            shard,
            notes,
            &mut |t| match map.by_tensor.get(&map.hasher.of(t.name)) {
                Some(&s) if s as usize == id => add(t, weights, seen),
                Some(&other) => Err(format!(
                    "tensor '{}' is here but {INDEX_FILE} puts it in '{}'",
                    sanitize::name(t.name),
                    sanitize::name(&map.shards[other as usize])
                )),
                None => Err(format!(
                    "tensor '{}' is missing from {INDEX_FILE}",
                    sanitize::name(t.name)
                )),
            },
        )?;
        weights.files.push(shard.clone());
    }
    if weights.tensors != map.by_tensor.len() as u64 {
        return Err(bad_index(format!(
            "weight_map lists {} tensors but the shards hold {}",
            map.by_tensor.len(),
            weights.tensors
        )));
    }
    let total_size = index
        .metadata
        .and_then(|m| m.total_size)
        .and_then(|v| v.as_u64());
    if let Some(total) = total_size.filter(|&t| t != weights.bytes) {
        notes.push(format!(
            "{INDEX_FILE} metadata.total_size is {total} bytes; the shard headers add up to {} (used)",
            weights.bytes
        ));
    }
    Ok(())
}
