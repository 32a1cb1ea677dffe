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
mod env;
mod fetch;
mod gguf_range;
mod http;
mod refs;

pub use env::HubConfig;
pub use refs::HubRef;

use super::{ImportError, ImportedModel};
use cache::Cache;
use fetch::{fetch, read_cached};
use http::Client;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    #[error("{url}: access refused (HTTP {status}): {advice}")]
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
    #[error("{url}: {cause} ({hint})")]
    Transport {
        url: String,
        cause: String,
        hint: &'static str,
    },
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
    // The Hub itself said which commit the revision is (rather than the cache).
    let confirmed = siblings.is_some();
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
    let short = &commit[..7];
    let headers = match manifest.files.len() {
        1 => "1 header".to_owned(),
        n => format!("{n} headers"),
    };
    notes.push(if from_cache && !confirmed {
        let none = if requests == 0 {
            " (no network used)"
        } else {
            ""
        };
        format!("{r} is commit {short}, read from the cache{none}")
    } else if from_cache {
        format!("{r} is still commit {short}: its {headers} came from the cache (1 request)")
    } else {
        format!(
            "{r} is commit {short}: read {headers} ({} in {requests} requests); the {} of weights were not downloaded",
            fmt_bytes(transferred_bytes),
            fmt_bytes(weight_file_bytes)
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
        Err(HubError::Transport { cause, .. }) if usable.is_some() => {
            let commit = usable.unwrap_or_default();
            notes.push(format!(
                "could not reach {} ({cause}): using what an earlier run cached",
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

fn not_cached(r: &HubRef, cache: &Cache, commit: Option<&str>) -> HubError {
    let at = commit.map_or_else(String::new, |c| format!(" at commit {c}"));
    HubError::NotCached {
        message: format!(
            "'{r}'{at} is not in the cache ({}): run once without --offline (and HF_HUB_OFFLINE unset)",
            cache.root().display()
        ),
    }
}

/// Bytes in decimal units with three significant digits (`6.21 kB`, `140 GB`).
fn fmt_bytes(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 999.5 && unit + 1 < units.len() {
        v /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} B"),
        _ if v >= 99.95 => format!("{v:.0} {}", units[unit]),
        _ if v >= 9.995 => format!("{v:.1} {}", units[unit]),
        _ => format!("{v:.2} {}", units[unit]),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_read_in_three_digits() {
        let f = super::fmt_bytes;
        assert_eq!(
            [f(0), f(999), f(6_208), f(28_332_721), f(140_000_000_000)],
            ["0 B", "999 B", "6.21 kB", "28.3 MB", "140 GB"]
        );
        assert_eq!(f(999_999), "1.00 MB");
    }
}
