//! Catalog errors: each names the file, the entry and the field where it can.
use std::path::PathBuf;

/// Something wrong with a catalog file or a catalog lookup.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("reading '{}': {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// An overlay file that is not a regular file, or too large.
    #[error(transparent)]
    Read(#[from] crate::fsutil::ReadError),
    #[error("'{}': {message}", path.display())]
    Walk { path: PathBuf, message: String },
    #[error("'{file}': {message}")]
    Syntax { file: String, message: String },
    #[error("'{file}': unknown table '[[{key}]]' (expected one of: {expected})")]
    UnknownKind {
        file: String,
        key: String,
        expected: String,
    },
    #[error("'{file}': {kind} entry #{index}{}: {message}", id.as_ref().map(|i| format!(" '{i}'")).unwrap_or_default())]
    Entry {
        file: String,
        kind: &'static str,
        index: usize,
        id: Option<String>,
        message: String,
    },
    #[error("'{file}': {kind} '{id}': field '{field}': {message}")]
    Invalid {
        file: String,
        kind: &'static str,
        id: String,
        field: String,
        message: String,
    },
    #[error("{kind} id '{id}' is defined twice: in '{first}' and in '{second}'")]
    Duplicate {
        kind: &'static str,
        id: String,
        first: String,
        second: String,
    },
    #[error("no {kind} '{query}'{}", suggest(.suggestions))]
    Unknown {
        kind: &'static str,
        query: String,
        suggestions: Vec<String>,
    },
    #[error("{kind} '{query}' is ambiguous: it matches {}", quoted(.candidates))]
    Ambiguous {
        kind: &'static str,
        query: String,
        candidates: Vec<String>,
    },
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn suggest(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(
            " (did you mean {}?)",
            quoted(suggestions).replace(", ", " or ")
        )
    }
}
