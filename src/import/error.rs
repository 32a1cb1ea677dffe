//! Import errors: each names the file and what is wrong with it, in one line.
use crate::sanitize::{escape, path as shown};
use std::path::PathBuf;

/// Something wrong with a file given to `import`. Causes are part of the message (not a
/// `source`), so `{:#}` prints each failure once; paths and messages are escaped, so an error
/// is one line whatever the file holds.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading '{}': {cause}", shown(path))]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("'{}': invalid JSON: {}", shown(path), escape(&cause.to_string()))]
    Json {
        path: PathBuf,
        cause: serde_json::Error,
    },
    /// A `config.json` that does not describe a model llmrig can map.
    #[error("'{}': {}", shown(path), escape(message))]
    Config { path: PathBuf, message: String },
    #[error("'{}': bad safetensors file: {}", shown(path), escape(message))]
    Safetensors { path: PathBuf, message: String },
    #[error("'{}': bad GGUF file: {}", shown(path), escape(message))]
    Gguf { path: PathBuf, message: String },
    /// A file that is not a regular file (or pipe), too large, or unreadable.
    #[error(transparent)]
    Read(#[from] crate::fsutil::ReadError),
    /// A Hub request, its answer or the Hub cache.
    #[error(transparent)]
    Hub(#[from] super::HubError),
    /// A path that is none of the supported inputs.
    #[error("'{}': {}", shown(path), escape(message))]
    Unsupported { path: PathBuf, message: String },
}

impl ImportError {
    pub(super) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ImportError + '_ {
        move |cause| ImportError::Io {
            path: path.to_path_buf(),
            cause,
        }
    }
}
