//! Models from the Hugging Face Hub by name, the way hf-mem reads them: `config.json`,
//! `model.safetensors.index.json`, and with HTTP range requests only the header of each
//! safetensors shard (its 8-byte length, then the JSON; the file's size from `Content-Range`)
//! or of one GGUF file. Tensor data is never requested.
//!
//! The revision is resolved to a commit through `/api/models/{repo}/revision/{rev}`, and what
//! was read is cached by commit ([`cache`]), so a second run needs at most that one request,
//! and none with `--offline`. The same parsers read local files and Hub headers: a cached
//! header plus the file's declared size is all they need.
//!
//! Environment: `HF_ENDPOINT` (default `https://huggingface.co`), `HF_TOKEN` (else the token
//! `hf auth login` saved, `$HF_TOKEN_PATH` or `$HF_HOME/token`), `HF_HOME` (default
//! `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`), `HF_HUB_OFFLINE=1`, and
//! `LLMRIG_HUB_TIMEOUT_S` (default 30).
mod cache;
mod http;
mod refs;

pub use refs::HubRef;

use super::index::{self, MAX_INDEX_BYTES};
use super::{config, safetensors, ImportError, ImportedModel, MAX_CONFIG_BYTES};
use cache::{Cache, CachedFile, Manifest};
use http::Client;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// Seconds to wait for a connection, a response or the next bytes of one.
const DEFAULT_TIMEOUT_S: f64 = 30.0;
/// Cap on the revision API's answer (a file list; the largest repos list a few thousand).
/// Config files and indexes have the caps the local readers use.
const MAX_API_BYTES: u64 = 16 << 20;
/// A GGUF header (metadata with the tokenizer, then tensor infos) is read in ranges growing
/// from the first to the largest chunk, up to the cap: real headers are 1–15 MB.
const GGUF_FIRST_CHUNK: u64 = 64 << 10;
const GGUF_MAX_CHUNK: u64 = 8 << 20;
const MAX_GGUF_HEADER_BYTES: u64 = 64 << 20;
/// Shard headers fetched at once.
const PARALLEL_FETCHES: usize = 8;

const CONFIG: &str = "config.json";
const INDEX: &str = "model.safetensors.index.json";
const SINGLE: &str = "model.safetensors";
/// The manifest name of a safetensors import.
const SAFETENSORS_TARGET: &str = "safetensors";

/// Why a Hub import failed. Each message is one line naming the URL or the cache path.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("'{text}' is not a Hugging Face model id: {why}")]
    BadRef { text: String, why: String },
    #[error("{name} '{value}' {why}")]
    BadEnv {
        name: &'static str,
        value: String,
        why: &'static str,
    },
    #[error("{url}: access to '{repo}' was refused (HTTP {status}): {advice}")]
    Refused {
        repo: String,
        status: u16,
        url: String,
        advice: String,
    },
    #[error("{url}: not found (HTTP {status}): {message}")]
    NotFound {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: {} bytes is over the {limit}-byte limit for {what}", len.map_or_else(|| format!("more than {limit}"), |l| l.to_string()))]
    TooLarge {
        url: String,
        len: Option<u64>,
        limit: u64,
        what: &'static str,
    },
    #[error("{url}: the response was truncated: {got} of {expected} bytes arrived{cause}")]
    Truncated {
        url: String,
        got: u64,
        expected: u64,
        cause: String,
    },
    #[error("{url}: {message}")]
    Protocol { url: String, message: String },
    #[error("{message}")]
    Repo { message: String },
    #[error("offline: {message}")]
    NotCached { message: String },
    #[error("Hub cache '{}': {message}", path.display())]
    Cache { path: PathBuf, message: String },
}

/// Where the Hub is and how to reach it.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Without a trailing `/`.
    pub endpoint: String,
    pub token: Option<String>,
    /// `$HF_HOME/llmrig`.
    pub cache_dir: PathBuf,
    /// Use the cache only.
    pub offline: bool,
    pub timeout: Duration,
}

impl HubConfig {
    /// The configuration the environment describes; `offline` (from `--offline`) adds to
    /// `HF_HUB_OFFLINE`.
    pub fn from_env(offline: bool) -> Result<HubConfig, HubError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let endpoint = var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(HubError::BadEnv {
                name: "HF_ENDPOINT",
                value: endpoint,
                why: "must start with https:// or http://",
            });
        }
        let hf_home = var("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            let cache = var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
                PathBuf::from(var("HOME").unwrap_or_else(|| ".".into())).join(".cache")
            });
            cache.join("huggingface")
        });
        let token = var("HF_TOKEN").or_else(|| {
            let path = var("HF_TOKEN_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| hf_home.join("token"));
            // A saved login is a short line; anything else is not a token.
            std::fs::read_to_string(path)
                .ok()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty() && t.len() < 1024)
        });
        if let Some(t) = &token {
            if !t.chars().all(|c| c.is_ascii_graphic()) {
                return Err(HubError::BadEnv {
                    name: "HF_TOKEN",
                    value: "…".into(),
                    why: "holds spaces or control characters (paste the token alone)",
                });
            }
        }
        let env_offline = var("HF_HUB_OFFLINE").is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        });
        let timeout = match var("LLMRIG_HUB_TIMEOUT_S") {
            None => DEFAULT_TIMEOUT_S,
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| (0.1..=3600.0).contains(s))
                .ok_or(HubError::BadEnv {
                    name: "LLMRIG_HUB_TIMEOUT_S",
                    value: v,
                    why: "must be a number of seconds from 0.1 to 3600",
                })?,
        };
        Ok(HubConfig {
            endpoint,
            token,
            cache_dir: hf_home.join("llmrig"),
            offline: offline || env_offline,
            timeout: Duration::from_secs_f64(timeout),
        })
    }
}

/// Where a Hub import came from and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HubSource {
    pub repo: String,
    /// As asked (`main` by default).
    pub revision: String,
    /// The commit it resolved to.
    pub commit: String,
    pub endpoint: String,
    /// Repository files read (whole, or their headers).
    pub files: Vec<String>,
    /// Everything came from the cache of an earlier run.
    pub from_cache: bool,
    /// HTTP requests this run sent.
    pub requests: u64,
    /// Response-body bytes this run received.
    pub transferred_bytes: u64,
    /// Total size of the weights files whose headers were read (never downloaded).
    pub weight_file_bytes: u64,
}

/// The revision API's answer: the commit and the repository's files.
#[derive(Deserialize)]
struct RevisionInfo {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
}

/// Imports `r` from the Hub (or its cache): the architecture from `config.json` and the
/// exact weights from the safetensors headers, or everything from one GGUF header.
pub fn import(r: &HubRef, cfg: &HubConfig) -> Result<(ImportedModel, HubSource), ImportError> {
    let cache = Cache::new(&cfg.cache_dir, &r.repo);
    let client = (!cfg.offline).then(|| Client::new(cfg, &r.repo));
    let target = match &r.file {
        Some(file) => format!("gguf/{file}"),
        None => SAFETENSORS_TARGET.to_owned(),
    };
    let mut notes = Vec::new();
    let (commit, siblings) = resolve(r, cfg, &cache, client.as_ref(), &target, &mut notes)?;
    let cached = cache.manifest(&commit, &target);
    let from_cache = cached.is_some();
    let (mut imported, manifest) = match (cached, &client) {
        (Some(m), _) => (read_cached(r, cfg, &cache, &m)?, m),
        (None, None) => return Err(not_cached(r, &cache, Some(&commit)).into()),
        (None, Some(client)) => {
            let siblings = match siblings {
                Some(s) => s,
                None => revision_info(client, &r.repo, &commit)?.1,
            };
            fetch(r, client, &cache, &commit, &siblings, &target)?
        }
    };
    let (requests, transferred_bytes) = client.as_ref().map_or((0, 0), Client::transferred);
    let weight_file_bytes = manifest.files.iter().map(|f| f.size_bytes).sum();
    let mut files = Vec::new();
    if manifest.config {
        files.push(CONFIG.to_owned());
    }
    if manifest.index {
        files.push(INDEX.to_owned());
    }
    files.extend(manifest.files.iter().map(|f| f.name.clone()));
    let page = format!("{}/{}/tree/{commit}", cfg.endpoint, r.repo);
    if let Some(m) = imported.model.as_mut() {
        m.source = page;
        m.hf_repo = Some(r.repo.clone());
    }
    notes.push(if from_cache && requests == 0 {
        format!("read from the cache of commit {commit}; no network used")
    } else {
        format!(
            "{requests} requests, {transferred_bytes} bytes transferred for {} headers; the {weight_file_bytes} bytes of weights were not downloaded",
            manifest.files.len()
        )
    });
    imported.notes.extend(notes);
    let source = HubSource {
        repo: r.repo.clone(),
        revision: r.revision().to_owned(),
        commit,
        endpoint: cfg.endpoint.clone(),
        files,
        from_cache,
        requests,
        transferred_bytes,
        weight_file_bytes,
    };
    Ok((imported, source))
}

/// The commit `r` names, and the repository's file list when the API was asked. A full commit
/// id already cached, or `--offline`, needs no request; an unreachable Hub falls back to the
/// commit an earlier run cached, with a note.
fn resolve(
    r: &HubRef,
    cfg: &HubConfig,
    cache: &Cache,
    client: Option<&Client>,
    target: &str,
    notes: &mut Vec<String>,
) -> Result<(String, Option<Vec<String>>), ImportError> {
    let rev = r.revision();
    let cached_commit = if refs::is_commit(rev) {
        Some(rev.to_owned())
    } else {
        cache.read_ref(rev)
    };
    let usable = cached_commit
        .clone()
        .filter(|c| cache.manifest(c, target).is_some());
    let Some(client) = client else {
        return usable
            .map(|c| (c, None))
            .ok_or_else(|| not_cached(r, cache, cached_commit.as_deref()).into());
    };
    if refs::is_commit(rev) && usable.is_some() {
        return Ok((rev.to_owned(), None));
    }
    match revision_info(client, &r.repo, rev) {
        Ok((commit, siblings)) => {
            if !refs::is_commit(rev) {
                cache.write_ref(rev, &commit)?;
            }
            Ok((commit, Some(siblings)))
        }
        Err(HubError::Transport { url, message }) if usable.is_some() => {
            let commit = usable.unwrap_or_default();
            notes.push(format!(
                "could not reach {} ({message} at {url}): used commit {commit} cached by an earlier run",
                cfg.endpoint
            ));
            Ok((commit, None))
        }
        Err(e) => Err(e.into()),
    }
}

/// Asks the Hub which commit `rev` is and which files the repository holds.
fn revision_info(
    client: &Client,
    repo: &str,
    rev: &str,
) -> Result<(String, Vec<String>), HubError> {
    let url = format!(
        "{}/api/models/{repo}/revision/{}",
        client.endpoint(),
        refs::escape_segment(rev)
    );
    let body = client.get_small(&url, MAX_API_BYTES, "the revision API's answer")?;
    let info: RevisionInfo = serde_json::from_slice(&body).map_err(|e| HubError::Protocol {
        url: url.clone(),
        message: format!("not the revision API's JSON: {e}"),
    })?;
    if !refs::is_commit(&info.sha) {
        return Err(HubError::Protocol {
            url,
            message: "the answer's 'sha' is not a 40-digit commit id".into(),
        });
    }
    Ok((
        info.sha,
        info.siblings.into_iter().map(|s| s.rfilename).collect(),
    ))
}

fn file_url(endpoint: &str, repo: &str, commit: &str, file: &str) -> String {
    format!(
        "{endpoint}/{repo}/resolve/{commit}/{}",
        refs::escape_path(file)
    )
}

/// Reads what the repository holds into the cache, then imports it from there (so a first
/// and a cached run go through the same parsers). A GGUF header is parsed while it is read.
fn fetch(
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
        if !siblings.iter().any(|s| s == file) {
            return Err(no_such_file(r, file, siblings).into());
        }
        let (imported, head, size) = gguf_range::read(client, &url(file), file)?;
        cache::write(&cache.head(commit, file), &head)?;
        manifest.files.push(CachedFile {
            name: file.clone(),
            size_bytes: size,
        });
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
fn read_cached(
    r: &HubRef,
    cfg: &HubConfig,
    cache: &Cache,
    m: &Manifest,
) -> Result<ImportedModel, ImportError> {
    match (&r.file, m.files.as_slice()) {
        (Some(_), [file]) => {
            let url = file_url(&cfg.endpoint, &r.repo, &m.commit, &file.name);
            let head = cache.read(&cache.head(&m.commit, &file.name), MAX_GGUF_HEADER_BYTES)?;
            gguf_range::read_cached(&url, &file.name, head, file.size_bytes)
        }
        _ => read_safetensors(r, &cfg.endpoint, cache, m),
    }
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

fn not_cached(r: &HubRef, cache: &Cache, commit: Option<&str>) -> HubError {
    let at = commit.map_or_else(String::new, |c| format!(" at commit {c}"));
    HubError::NotCached {
        message: format!(
            "'{r}'{at} is not in the cache ({}): run once without --offline (and HF_HUB_OFFLINE unset)",
            cache.root().display()
        ),
    }
}

fn no_such_file(r: &HubRef, file: &str, siblings: &[String]) -> HubError {
    let ggufs: Vec<&str> = siblings
        .iter()
        .filter(|s| s.to_ascii_lowercase().ends_with(".gguf"))
        .map(String::as_str)
        .collect();
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
    let ggufs: Vec<&str> = siblings
        .iter()
        .filter(|s| s.to_ascii_lowercase().ends_with(".gguf"))
        .map(String::as_str)
        .collect();
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

/// ` (it has: a, b, c, …)` for up to five names.
fn list_hint(names: &[&str]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let more = if names.len() > 5 { ", …" } else { "" };
    format!(
        " (GGUF files: {}{more})",
        names[..names.len().min(5)].join(", ")
    )
}

mod gguf_range;
