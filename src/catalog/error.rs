//! Catalog errors: each names the file, the entry and the field where it can.
use crate::sanitize::{escape as e, path as shown};
use std::path::PathBuf;

/// Something wrong with a catalog file or a catalog lookup. Names and messages taken from files
/// and arguments are escaped, so every error is one line.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("reading '{}': {cause}", shown(path))]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// An overlay file that is not a regular file, or too large.
    #[error(transparent)]
    Read(#[from] crate::fsutil::ReadError),
    #[error("'{}': {}", shown(path), e(message))]
    Walk { path: PathBuf, message: String },
    #[error("'{}': {}", e(file), e(message))]
    Syntax { file: String, message: String },
    #[error(
        "'{}': unknown table '[[{}]]' (expected one of: {expected})",
        e(file),
        e(key)
    )]
    UnknownKind {
        file: String,
        key: String,
        expected: String,
    },
    #[error("'{}': {kind} entry #{index}{}: {}", e(file), id.as_ref().map(|i| format!(" '{}'", e(i))).unwrap_or_default(), e(message))]
    Entry {
        file: String,
        kind: &'static str,
        index: usize,
        id: Option<String>,
        message: String,
    },
    #[error(
        "'{}': {kind} '{}': field '{}': {}",
        e(file),
        e(id),
        e(field),
        e(message)
    )]
    Invalid {
        file: String,
        kind: &'static str,
        id: String,
        field: String,
        message: String,
    },
    #[error(
        "{kind} id '{}' is defined twice: in '{}' and in '{}'",
        e(id),
        e(first),
        e(second)
    )]
    Duplicate {
        kind: &'static str,
        id: String,
        first: String,
        second: String,
    },
    #[error("no {kind} '{}'{}", crate::sanitize::name(query), suggest(.suggestions))]
    Unknown {
        kind: &'static str,
        query: String,
        suggestions: Vec<String>,
    },
    #[error("{kind} '{}' is ambiguous: it matches {}", crate::sanitize::name(query), quoted(.candidates))]
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
