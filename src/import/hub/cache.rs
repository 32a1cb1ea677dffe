//! What a Hub import read, kept by commit so the next run needs no network:
//!
//! ```text
//! $HF_HOME/llmrig/models--{org}--{name}/
//!   refs/{revision}                          the commit a branch or tag pointed to
//!   snapshots/{commit}/config.json           the Hub's file, byte for byte
//!   snapshots/{commit}/model.safetensors.index.json
//!   snapshots/{commit}/llmrig/heads/{file}   the first bytes of a weights file (its header)
//!   snapshots/{commit}/llmrig/{target}.json  what one import read, written last
//! ```
//!
//! Only the manifest (`{target}.json`, written atomically after everything else) marks an
//! entry complete, so an interrupted run leaves nothing that a later one would trust.
use super::refs::escape_segment;
use super::HubError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Layout version in every manifest; another value is treated as not cached.
const LAYOUT: u32 = 1;

/// A weights file whose header is cached: its name in the repository and full size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct CachedFile {
    pub name: String,
    pub size_bytes: u64,
}

/// What one import read at one commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Manifest {
    pub layout: u32,
    pub repo: String,
    pub commit: String,
    pub config: bool,
    pub index: bool,
    pub files: Vec<CachedFile>,
}

impl Manifest {
    pub(super) fn new(repo: &str, commit: &str) -> Manifest {
        Manifest {
            layout: LAYOUT,
            repo: repo.to_owned(),
            commit: commit.to_owned(),
            config: false,
            index: false,
            files: Vec::new(),
        }
    }
}

/// One repository's cache folder.
pub(super) struct Cache {
    root: PathBuf,
}

impl Cache {
    pub(super) fn new(dir: &Path, repo: &str) -> Cache {
        Cache {
            root: dir.join(format!("models--{}", repo.replace('/', "--"))),
        }
    }

    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    fn snapshot(&self, commit: &str) -> PathBuf {
        self.root.join("snapshots").join(commit)
    }

    /// A file of the repository as cached whole (config.json, the index).
    pub(super) fn file(&self, commit: &str, name: &str) -> PathBuf {
        self.snapshot(commit).join(name)
    }

    /// The cached header of a weights file (`name` may hold folders, already checked).
    pub(super) fn head(&self, commit: &str, name: &str) -> PathBuf {
        self.snapshot(commit).join("llmrig/heads").join(name)
    }

    fn manifest_path(&self, commit: &str, target: &str) -> PathBuf {
        self.snapshot(commit)
            .join("llmrig")
            .join(format!("{target}.json"))
    }

    /// The commit a revision pointed to when last resolved.
    pub(super) fn read_ref(&self, revision: &str) -> Option<String> {
        let path = self.root.join("refs").join(escape_segment(revision));
        let text = std::fs::read_to_string(path).ok()?;
        let commit = text.trim();
        super::refs::is_commit(commit).then(|| commit.to_owned())
    }

    pub(super) fn write_ref(&self, revision: &str, commit: &str) -> Result<(), HubError> {
        let path = self.root.join("refs").join(escape_segment(revision));
        write(&path, commit.as_bytes())
    }

    /// The manifest of a complete earlier import of `target` at `commit`, if any.
    pub(super) fn manifest(&self, commit: &str, target: &str) -> Option<Manifest> {
        let bytes = std::fs::read(self.manifest_path(commit, target)).ok()?;
        let m: Manifest = serde_json::from_slice(&bytes).ok()?;
        (m.layout == LAYOUT && m.commit == commit).then_some(m)
    }

    pub(super) fn write_manifest(&self, target: &str, m: &Manifest) -> Result<(), HubError> {
        let json = serde_json::to_vec_pretty(m).map_err(|e| HubError::Cache {
            path: self.manifest_path(&m.commit, target),
            message: e.to_string(),
        })?;
        write(&self.manifest_path(&m.commit, target), &json)
    }

    /// Reads a cached file of at most `limit` bytes.
    pub(super) fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, HubError> {
        let fail = |message: String| HubError::Cache {
            path: path.to_path_buf(),
            message,
        };
        let len = std::fs::metadata(path)
            .map_err(|e| fail(e.to_string()))?
            .len();
        if len > limit {
            return Err(fail(format!(
                "{len} bytes is over the {limit}-byte limit (delete the folder to refetch)"
            )));
        }
        std::fs::read(path).map_err(|e| fail(e.to_string()))
    }
}

/// Writes a cache file atomically.
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<(), HubError> {
    crate::fsutil::write_atomic(path, bytes).map_err(|e| HubError::Cache {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_round_trip_and_mark_completion() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), "org/name");
        let commit = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(cache.manifest(commit, "safetensors"), None);
        let mut m = Manifest::new("org/name", commit);
        m.files.push(CachedFile {
            name: "model.safetensors".into(),
            size_bytes: 42,
        });
        cache.write_manifest("safetensors", &m).unwrap();
        assert_eq!(cache.manifest(commit, "safetensors"), Some(m));
        assert!(dir
            .path()
            .join("models--org--name/snapshots")
            .join(commit)
            .join("llmrig/safetensors.json")
            .is_file());

        cache.write_ref("refs/pr/1", commit).unwrap();
        assert_eq!(cache.read_ref("refs/pr/1").as_deref(), Some(commit));
        assert!(dir
            .path()
            .join("models--org--name/refs/refs%2Fpr%2F1")
            .is_file());
        assert_eq!(cache.read_ref("main"), None);
    }
}
