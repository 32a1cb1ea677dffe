//! Import errors: each names the file and what is wrong with it, in one line.
use std::path::PathBuf;

/// Something wrong with a file given to `import`. Causes are part of the message (not a
/// `source`), so `{:#}` prints each failure once.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading '{}': {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("'{}': invalid JSON: {cause}", path.display())]
    Json {
        path: PathBuf,
        cause: serde_json::Error,
    },
    /// A `config.json` that does not describe a model llmrig can map.
    #[error("'{}': {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("'{}': bad safetensors file: {message}", path.display())]
    Safetensors { path: PathBuf, message: String },
    #[error("'{}': bad GGUF file: {message}", path.display())]
    Gguf { path: PathBuf, message: String },
    /// A Hub request, its answer or the Hub cache.
    #[error(transparent)]
    Hub(#[from] super::HubError),
    /// A path that is none of the supported inputs.
    #[error("'{}': {message}", path.display())]
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
