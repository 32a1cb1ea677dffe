//! Reading one commit of a repository. A first run fetches what it holds into the cache
//! (config.json and the index whole, each weights file's header by range requests) and imports
//! it from there; a later run imports the same cached files, so both go through the same parsers.
use super::cache::{self, Cache, CachedFile, Manifest};
use super::gguf_range;
use super::http::Client;
use super::{
    refs, HubConfig, HubError, HubRef, CONFIG, INDEX, MAX_GGUF_HEADER_BYTES, PARALLEL_FETCHES,
    SINGLE,
};
use crate::import::index::{self, MAX_INDEX_BYTES};
use crate::import::{config, safetensors, ImportError, ImportedModel, MAX_CONFIG_BYTES};
use std::path::PathBuf;

/// Where the Hub serves `file` of `repo` at `commit`.
pub(super) fn file_url(endpoint: &str, repo: &str, commit: &str, file: &str) -> String {
    format!(
        "{endpoint}/{repo}/resolve/{commit}/{}",
        refs::escape_path(file)
    )
}

/// Reads what the repository holds into the cache, then imports it from there (so a first
/// and a cached run go through the same parsers). A GGUF header is parsed while it is read.
pub(super) fn fetch(
    r: &HubRef,
    client: &Client,
    cache: &Cache,
    commit: &str,
    siblings: &[String],
    target: &str,
) -> Result<(ImportedModel, Manifest), ImportError> {
    let url = |file: &str| file_url(client.endpoint(), &r.repo, commit, file);
    let mut manifest = Manifest::new(&r.repo, commit);
    if let Some(file) = &r.file {
        // A split GGUF is read whole: every part's header, in order.
        let names = gguf_range::split_parts(file).unwrap_or_else(|| vec![file.clone()]);
        if let Some(missing) = names.iter().find(|n| !siblings.contains(n)) {
            return Err(no_such_file(r, missing, siblings).into());
        }
        let mut parts = Vec::with_capacity(names.len());
        for name in &names {
            let (part, head, size) = gguf_range::read(client, &url(name))?;
            cache::write(&cache.head(commit, name), &head)?;
            manifest.files.push(CachedFile {
                name: name.clone(),
                size_bytes: size,
            });
            parts.push(part);
        }
        let imported = gguf_range::combine(&url(&names[0]), &names, parts)?;
        cache.write_manifest(target, &manifest)?;
        return Ok((imported, manifest));
    }
    let has = |name: &str| siblings.iter().any(|s| s == name);
    let top_level = |s: &&String| !s.contains('/');
    if !has(CONFIG)
        && !siblings
            .iter()
            .filter(top_level)
            .any(|s| s.ends_with(".safetensors"))
    {
        return Err(no_weights(r, siblings).into());
    }
    if has(CONFIG) {
        let body = client.get_small(&url(CONFIG), MAX_CONFIG_BYTES, "config.json files")?;
        cache::write(&cache.file(commit, CONFIG), &body)?;
        manifest.config = true;
    }
    let shards: Vec<String> = if has(INDEX) {
        let body = client.get_small(&url(INDEX), MAX_INDEX_BYTES, "safetensors index files")?;
        let path = cache.file(commit, INDEX);
        cache::write(&path, &body)?;
        manifest.index = true;
        index::shard_names(&path)?
    } else if has(SINGLE) {
        vec![SINGLE.to_owned()]
    } else {
        siblings
            .iter()
            .filter(top_level)
            .filter(|s| s.ends_with(".safetensors"))
            .cloned()
            .collect()
    };
    let sizes = fetch_heads(client, cache, commit, &shards, &url)?;
    manifest.files = shards
        .into_iter()
        .zip(sizes)
        .map(|(name, size_bytes)| CachedFile { name, size_bytes })
        .collect();
    let imported = read_safetensors(r, client.endpoint(), cache, &manifest)?;
    cache.write_manifest(target, &manifest)?;
    Ok((imported, manifest))
}

/// Fetches each shard's header (two range requests: the length, then the JSON) into the
/// cache, several at once; returns the files' sizes in order.
fn fetch_heads(
    client: &Client,
    cache: &Cache,
    commit: &str,
    shards: &[String],
    url: &(dyn Fn(&str) -> String + Sync),
) -> Result<Vec<u64>, ImportError> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Result<u64, ImportError>>>> =
        shards.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..PARALLEL_FETCHES.min(shards.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= shards.len() || failed.load(Ordering::Relaxed) {
                    break;
                }
                let got = fetch_head(client, cache, commit, &shards[i], &url(&shards[i]));
                failed.fetch_or(got.is_err(), Ordering::Relaxed);
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(got);
            });
        }
    });
    // Every slot is filled unless a fetch failed; the first failure in shard order is returned.
    let mut sizes = Vec::with_capacity(shards.len());
    let mut first_err = None;
    for slot in results {
        match slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(Ok(size)) => sizes.push(size),
            Some(Err(e)) => {
                first_err.get_or_insert(e);
            }
            None => {}
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    Ok(sizes)
}

/// One safetensors header into the cache; returns the file's size.
fn fetch_head(
    client: &Client,
    cache: &Cache,
    commit: &str,
    shard: &str,
    url: &str,
) -> Result<u64, ImportError> {
    let bad = |message: String| ImportError::Safetensors {
        path: PathBuf::from(url),
        message,
    };
    let (len_bytes, size) = client.get_range(url, 0, 8)?;
    let Ok(len_bytes) = <[u8; 8]>::try_from(len_bytes.as_slice()) else {
        return Err(bad(format!(
            "{size} bytes is too short for the 8-byte header length"
        )));
    };
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > safetensors::MAX_HEADER_BYTES {
        return Err(bad(format!(
            "header length {header_len} exceeds the {}-byte limit",
            safetensors::MAX_HEADER_BYTES
        )));
    }
    if header_len == 0 || header_len > size - 8 {
        return Err(bad(format!(
            "header length {header_len} does not fit the file ({} bytes after the length; truncated?)",
            size - 8
        )));
    }
    let (json, _) = client.get_range(url, 8, header_len)?;
    let mut head = Vec::with_capacity(8 + json.len());
    head.extend_from_slice(&len_bytes);
    head.extend_from_slice(&json);
    cache::write(&cache.head(commit, shard), &head)?;
    Ok(size)
}

/// An import from a complete cache entry.
pub(super) fn read_cached(
    r: &HubRef,
    cfg: &HubConfig,
    cache: &Cache,
    m: &Manifest,
) -> Result<ImportedModel, ImportError> {
    if r.file.is_none() {
        return read_safetensors(r, &cfg.endpoint, cache, m);
    }
    let url = |name: &str| file_url(&cfg.endpoint, &r.repo, &m.commit, name);
    let mut parts = Vec::with_capacity(m.files.len());
    for file in &m.files {
        let head = cache.read(&cache.head(&m.commit, &file.name), MAX_GGUF_HEADER_BYTES)?;
        parts.push(gguf_range::read_cached(
            &url(&file.name),
            head,
            file.size_bytes,
        )?);
    }
    let names: Vec<String> = m.files.iter().map(|f| f.name.clone()).collect();
    let first = names.first().map(|n| url(n)).unwrap_or_default();
    gguf_range::combine(&first, &names, parts)
}

/// The architecture from the cached config.json, the weights from the cached headers.
fn read_safetensors(
    r: &HubRef,
    endpoint: &str,
    cache: &Cache,
    m: &Manifest,
) -> Result<ImportedModel, ImportError> {
    let mut notes = Vec::new();
    let mut heads = |name: &str| -> Result<safetensors::Head, ImportError> {
        let file = m
            .files
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| HubError::Repo {
                message: format!(
                    "'{}': the index names shard '{name}', which is not in the repository",
                    r.repo
                ),
            })?;
        Ok(safetensors::Head {
            path: PathBuf::from(file_url(endpoint, &r.repo, &m.commit, name)),
            bytes: cache.read(
                &cache.head(&m.commit, name),
                safetensors::MAX_HEADER_BYTES + 8,
            )?,
            file_len: file.size_bytes,
        })
    };
    let weights = if m.files.is_empty() {
        None
    } else if m.index {
        Some(index::read_index_with(
            &cache.file(&m.commit, INDEX),
            &mut heads,
            &mut notes,
        )?)
    } else {
        let names: Vec<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
        Some(safetensors::read_heads(&names, &mut heads, &mut notes)?)
    };
    let model = if m.config {
        let path = cache.file(&m.commit, CONFIG);
        let bytes = cache.read(&path, MAX_CONFIG_BYTES)?;
        let (model, model_notes) = config::model_from_file(&path, &bytes, weights.as_ref())?;
        notes.extend(model_notes);
        Some(model)
    } else {
        notes.push(format!(
            "'{}' has no config.json: weights only, no architecture",
            r.repo
        ));
        None
    };
    if weights.is_none() {
        notes.push(format!(
            "'{}' has no *.safetensors files: weight bytes unknown",
            r.repo
        ));
    }
    Ok(ImportedModel {
        model,
        weights,
        gguf: None,
        notes,
    })
}

/// The repository's GGUF files, as names safe to print (the list comes from the server).
fn gguf_files(siblings: &[String]) -> Vec<String> {
    siblings
        .iter()
        .filter(|s| s.to_ascii_lowercase().ends_with(".gguf"))
        .map(|s| crate::sanitize::name(s))
        .collect()
}

fn no_such_file(r: &HubRef, file: &str, siblings: &[String]) -> HubError {
    let ggufs = gguf_files(siblings);
    HubError::Repo {
        message: format!(
            "'{}' at {} has no file '{file}'{}",
            r.repo,
            r.revision(),
            list_hint(&ggufs)
        ),
    }
}

fn no_weights(r: &HubRef, siblings: &[String]) -> HubError {
    let ggufs = gguf_files(siblings);
    let message = if ggufs.is_empty() {
        format!(
            "'{}' at {} has no config.json and no *.safetensors files: nothing llmrig can read",
            r.repo,
            r.revision()
        )
    } else {
        format!(
            "'{}' holds GGUF files: name one as '{}:{}'{}",
            r.repo,
            r.repo,
            ggufs[0],
            list_hint(&ggufs)
        )
    };
    HubError::Repo { message }
}

/// ` (GGUF files: a, b, c, …)` for up to five names.
fn list_hint(names: &[String]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let more = if names.len() > 5 { ", …" } else { "" };
    format!(
        " (GGUF files: {}{more})",
        names[..names.len().min(5)].join(", ")
    )
}
