//! Name resolution: ids, aliases, loose spellings (`H100`, `falcon180b`) and unique fragments,
//! with near-name suggestions for everything else.
use super::{CatalogError, Entry, Table};

/// Lowercase with separators removed, so `Falcon_180B` and `falcon-180b` compare equal.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub(super) fn resolve<'a, T: Entry>(
    table: &'a Table<T>,
    query: &str,
) -> Result<&'a T, CatalogError> {
    if let Some(e) = table.get(query) {
        return Ok(e);
    }
    let q = squash(query);
    let names = |e: &'a T| std::iter::once(e.id()).chain(e.aliases().iter().map(String::as_str));
    let exact: Vec<&T> = table
        .iter()
        .filter(|e| names(e).any(|n| squash(n) == q))
        .collect();
    if let [one] = exact.as_slice() {
        return Ok(one);
    }
    let partial: Vec<&T> = if exact.is_empty() && !q.is_empty() {
        table
            .iter()
            .filter(|e| names(e).any(|n| squash(n).starts_with(&q)))
            .collect()
    } else {
        exact
    };
    match partial.as_slice() {
        [one] => Ok(one),
        [] => Err(CatalogError::Unknown {
            kind: T::KIND,
            query: query.to_owned(),
            suggestions: suggestions(table, &q),
        }),
        many => Err(CatalogError::Ambiguous {
            kind: T::KIND,
            query: query.to_owned(),
            candidates: many.iter().map(|e| e.id().to_owned()).collect(),
        }),
    }
}

/// Up to three ids whose names are close to the query (Jaro-Winkler on squashed names).
fn suggestions<T: Entry>(table: &Table<T>, q: &str) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = table
        .iter()
        .map(|e| {
            let best = std::iter::once(e.id())
                .chain(e.aliases().iter().map(String::as_str))
                .map(|n| {
                    let n = squash(n);
                    let contains = if !q.is_empty() && (n.contains(q) || q.contains(&n)) {
                        0.1
                    } else {
                        0.0
                    };
                    strsim::jaro_winkler(q, &n) + contains
                })
                .fold(0.0, f64::max);
            (best, e.id())
        })
        .filter(|(score, _)| *score >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(3)
        .map(|(_, id)| id.to_owned())
        .collect()
}
