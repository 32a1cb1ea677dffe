//! What `--model` and `import` name: a local path, a Hugging Face repository or a catalog
//! entry. Precedence, so a name never changes meaning behind the user's back:
//! 1. `hf:…` is always the Hub;
//! 2. an existing path is read from disk (`./org/name` forces a path);
//! 3. a catalog id or alias (exactly) is the catalog entry;
//! 4. `org/name[@revision][:file.gguf]` is the Hub;
//! 5. anything else goes to the catalog's lookup (fragments, near-name suggestions).
use super::Context;
use crate::catalog::{Catalog, Entry};
use crate::import::{HubConfig, HubError, HubRef, HubSource, ImportError, ImportedModel};
use std::path::Path;

/// Where a model name points.
pub enum Named<'a> {
    Path(&'a Path),
    /// `forced` when written with `hf:`.
    Hub {
        r: HubRef,
        forced: bool,
    },
    Catalog,
}

/// Classifies `name` by the rules above (`cat` is `None` for `import`, which has no catalog).
pub fn classify<'a>(name: &'a str, cat: Option<&Catalog>) -> anyhow::Result<Named<'a>> {
    // Errors only for `hf:` names, which always parse to a ref or fail.
    let hub = HubRef::parse(name)?;
    if name.starts_with("hf:") {
        if let Some(r) = hub {
            return Ok(Named::Hub { r, forced: true });
        }
    }
    let path = Path::new(name);
    if path.exists() {
        return Ok(Named::Path(path));
    }
    let in_catalog = cat.is_some_and(|c| {
        c.models
            .iter()
            .any(|m| m.id() == name || m.aliases().iter().any(|a| a == name))
    });
    if in_catalog {
        return Ok(Named::Catalog);
    }
    Ok(match hub {
        Some(r) => Named::Hub { r, forced: false },
        None if cat.is_some() => Named::Catalog,
        None => Named::Path(path),
    })
}

/// Imports a Hub model, printing nothing; notes are in the result. A name that only looked
/// like a repo says so when the Hub does not know it.
pub fn import_hub(
    cat: Option<&Catalog>,
    r: &HubRef,
    forced: bool,
    offline: bool,
) -> anyhow::Result<(ImportedModel, HubSource)> {
    let cfg = HubConfig::from_env(offline)?;
    let (mut imported, source) = match crate::import::import_hub(r, &cfg) {
        Ok(got) => got,
        Err(ImportError::Hub(e @ HubError::NotFound { .. })) if !forced => {
            let what = if cat.is_some() {
                "a local path or a catalog id"
            } else {
                "a local path"
            };
            anyhow::bail!("{e} ('{r}' is not {what} either)")
        }
        Err(e) => return Err(e.into()),
    };
    let curated = cat.and_then(|c| {
        c.models.iter().find(|m| {
            m.hf_repo
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(&r.repo))
        })
    });
    if let Some(m) = curated {
        imported.notes.push(format!(
            "'{}' is also the catalog's '{}' (-m {} plans with the curated, sourced entry)",
            r.repo,
            m.id(),
            m.id()
        ));
    }
    Ok((imported, source))
}

/// Prints an import's notes.
pub fn print_notes(ctx: &Context, imported: &ImportedModel) {
    for note in &imported.notes {
        ctx.printer.note(&format!("note: {note}"));
    }
}
