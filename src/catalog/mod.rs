//! The hardware and model catalogs: embedded TOML files from `hardware_db/` and `models_db/`,
//! optionally overlaid by a user directory whose entries replace embedded ones by id.
//!
//! Every file may hold any kind of entry as an array of tables (`[[gpu]]`, `[[model]]`,
//! `[[psu]]`, …). Each entry is parsed on its own so an error names the file, the entry and the
//! field; `validate` then checks ranges, dates, sources and cross-references.

mod error;
mod gpu;
mod lookup;
mod model;
mod part;
mod price;
mod validate;

pub use error::CatalogError;
pub use gpu::{ComputeDtype, Cooling, DenseTflops, FormFactor, Gpu, Vendor};
pub use model::{Model, Norm, ParamCounts};
pub use part::{
    Bridge, Case, Circuit, Cloud, Cooler, Cpu, Electricity, Frame, Network, Platform, PlatformKind,
    Psu, Ram, Riser, ServerPsu, Storage,
};
pub use price::{preferred as preferred_price, Price, PriceKind};
pub use validate::check_model_ranges;

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/catalog_files.rs"));
}

/// Environment variable naming an overlay directory (same as `--catalog-dir`).
pub const CATALOG_DIR_ENV: &str = "LLMRIG_CATALOG_DIR";

/// What every catalog entry offers, whatever its kind.
pub trait Entry: Serialize + DeserializeOwned + Clone {
    /// Singular kind name used in TOML (`[[gpu]]`) and messages.
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn name(&self) -> &str;
    fn aliases(&self) -> &[String] {
        &[]
    }
    fn source(&self) -> &str;
    fn sources(&self) -> &BTreeMap<String, String>;
    fn prices(&self) -> &[Price] {
        &[]
    }
}

macro_rules! impl_entry {
    ($ty:ty, $kind:literal, aliases, prices) => {
        impl_entry!(@base $ty, $kind, fn aliases(&self) -> &[String] { &self.aliases } fn prices(&self) -> &[Price] { &self.prices });
    };
    ($ty:ty, $kind:literal, aliases) => {
        impl_entry!(@base $ty, $kind, fn aliases(&self) -> &[String] { &self.aliases });
    };
    ($ty:ty, $kind:literal, prices) => {
        impl_entry!(@base $ty, $kind, fn prices(&self) -> &[Price] { &self.prices });
    };
    (@base $ty:ty, $kind:literal, $($extra:item)*) => {
        impl Entry for $ty {
            const KIND: &'static str = $kind;
            fn id(&self) -> &str { &self.id }
            fn name(&self) -> &str { &self.name }
            fn source(&self) -> &str { &self.source }
            fn sources(&self) -> &BTreeMap<String, String> { &self.sources }
            $($extra)*
        }
    };
}

impl_entry!(Gpu, "gpu", aliases, prices);
impl_entry!(Model, "model", aliases);
impl_entry!(Platform, "platform", prices);
impl_entry!(Cpu, "cpu", prices);
impl_entry!(Ram, "ram", prices);
impl_entry!(Storage, "storage", prices);
impl_entry!(Psu, "psu", prices);
impl_entry!(Case, "case", prices);
impl_entry!(Cooler, "cooler", prices);
impl_entry!(Network, "network", prices);
impl_entry!(Circuit, "circuit", prices);
impl_entry!(Electricity, "electricity", prices);
impl_entry!(Cloud, "cloud", prices);
impl_entry!(Riser, "riser", prices);
impl_entry!(Bridge, "bridge", prices);
impl_entry!(Frame, "frame", prices);
impl_entry!(ServerPsu, "server-psu", prices);

/// Entries of one kind, in id order, each with the file it came from.
#[derive(Debug, Clone)]
pub struct Table<T> {
    entries: BTreeMap<String, (T, String)>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            entries: BTreeMap::new(),
        }
    }
}

impl<T: Entry> Table<T> {
    /// Entries in id order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.values().map(|(e, _)| e)
    }

    /// Entries with the file each came from (`embedded:…` or a path).
    pub fn iter_with_origin(&self) -> impl Iterator<Item = (&T, &str)> {
        self.entries.values().map(|(e, o)| (e, o.as_str()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry with exactly this id.
    pub fn get(&self, id: &str) -> Option<&T> {
        self.entries.get(id).map(|(e, _)| e)
    }

    /// The file an entry came from.
    pub fn origin(&self, id: &str) -> Option<&str> {
        self.entries.get(id).map(|(_, o)| o.as_str())
    }

    /// Resolves an id, alias or unambiguous fragment; unknown names get near suggestions.
    pub fn resolve(&self, query: &str) -> Result<&T, CatalogError> {
        lookup::resolve(self, query)
    }

    fn insert(&mut self, entry: T, origin: &str, overlay: bool) -> Result<(), CatalogError> {
        let id = entry.id().to_owned();
        if let Some((_, first)) = self.entries.get(&id) {
            // An overlay may replace an embedded entry; two definitions in one layer are a mistake.
            let replaces_embedded = overlay && first.starts_with("embedded:");
            if !replaces_embedded {
                return Err(CatalogError::Duplicate {
                    kind: T::KIND,
                    id,
                    first: first.clone(),
                    second: origin.to_owned(),
                });
            }
        }
        self.entries.insert(id, (entry, origin.to_owned()));
        Ok(())
    }
}

/// Every catalog entry, by kind.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub gpus: Table<Gpu>,
    pub models: Table<Model>,
    pub platforms: Table<Platform>,
    pub cpus: Table<Cpu>,
    pub ram: Table<Ram>,
    pub storage: Table<Storage>,
    pub psus: Table<Psu>,
    pub cases: Table<Case>,
    pub coolers: Table<Cooler>,
    pub network: Table<Network>,
    pub circuits: Table<Circuit>,
    pub electricity: Table<Electricity>,
    pub cloud: Table<Cloud>,
    pub risers: Table<Riser>,
    pub bridges: Table<Bridge>,
    pub frames: Table<Frame>,
    pub server_psus: Table<ServerPsu>,
}

/// Kinds a catalog file may hold, as TOML table names.
pub const KINDS: &[&str] = &[
    "gpu",
    "model",
    "platform",
    "cpu",
    "ram",
    "storage",
    "psu",
    "case",
    "cooler",
    "network",
    "circuit",
    "electricity",
    "cloud",
    "riser",
    "bridge",
    "frame",
    "server-psu",
];

impl Catalog {
    /// The embedded catalog alone, validated.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        Catalog::load(None)
    }

    /// The embedded catalog overlaid by every `*.toml` under `overlay` (entries replace embedded
    /// ones with the same id), validated.
    pub fn load(overlay: Option<&Path>) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::default();
        for (path, text) in embedded::FILES {
            catalog.add_file(&format!("embedded:{path}"), text, false)?;
        }
        if let Some(dir) = overlay {
            for path in toml_files(dir)? {
                let bytes = crate::fsutil::read_limited(
                    &path,
                    MAX_FILE_BYTES,
                    "catalog files",
                    crate::fsutil::Pipes::Refuse,
                )?;
                let text = String::from_utf8(bytes).map_err(|_| CatalogError::Syntax {
                    file: path.display().to_string(),
                    message: "not UTF-8 text".into(),
                })?;
                catalog.add_file(&path.display().to_string(), &text, true)?;
            }
        }
        validate::validate(&catalog)?;
        Ok(catalog)
    }

    /// Parses one catalog file's text and adds its entries.
    pub fn add_file(&mut self, file: &str, text: &str, overlay: bool) -> Result<(), CatalogError> {
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| CatalogError::Syntax {
                    file: file.to_owned(),
                    message: e.to_string().trim().replace('\n', " "),
                })?;
        for (key, value) in table {
            match key.as_str() {
                "gpu" => add_all(&mut self.gpus, file, value, overlay)?,
                "model" => add_all(&mut self.models, file, value, overlay)?,
                "platform" => add_all(&mut self.platforms, file, value, overlay)?,
                "cpu" => add_all(&mut self.cpus, file, value, overlay)?,
                "ram" => add_all(&mut self.ram, file, value, overlay)?,
                "storage" => add_all(&mut self.storage, file, value, overlay)?,
                "psu" => add_all(&mut self.psus, file, value, overlay)?,
                "case" => add_all(&mut self.cases, file, value, overlay)?,
                "cooler" => add_all(&mut self.coolers, file, value, overlay)?,
                "network" => add_all(&mut self.network, file, value, overlay)?,
                "circuit" => add_all(&mut self.circuits, file, value, overlay)?,
                "electricity" => add_all(&mut self.electricity, file, value, overlay)?,
                "cloud" => add_all(&mut self.cloud, file, value, overlay)?,
                "riser" => add_all(&mut self.risers, file, value, overlay)?,
                "bridge" => add_all(&mut self.bridges, file, value, overlay)?,
                "frame" => add_all(&mut self.frames, file, value, overlay)?,
                "server-psu" => add_all(&mut self.server_psus, file, value, overlay)?,
                _ => {
                    return Err(CatalogError::UnknownKind {
                        file: file.to_owned(),
                        key,
                        expected: KINDS.join(", "),
                    })
                }
            }
        }
        Ok(())
    }

    /// The default electricity tariff.
    pub fn default_electricity(&self) -> Option<&Electricity> {
        self.electricity.iter().find(|e| e.default)
    }
}

fn add_all<T: Entry>(
    table: &mut Table<T>,
    file: &str,
    value: toml::Value,
    overlay: bool,
) -> Result<(), CatalogError> {
    let entry_err = |index: usize, id: Option<String>, message: String| CatalogError::Entry {
        file: file.to_owned(),
        kind: T::KIND,
        index: index + 1,
        id,
        message,
    };
    let toml::Value::Array(items) = value else {
        return Err(entry_err(
            0,
            None,
            format!(
                "'{}' must be an array of tables: write '[[{}]]'",
                T::KIND,
                T::KIND
            ),
        ));
    };
    for (index, item) in items.into_iter().enumerate() {
        let id = item.get("id").and_then(|v| v.as_str()).map(str::to_owned);
        // serde_path_to_error names the field (`dense_tflops.bf16`) that toml's own error omits.
        let entry: T = serde_path_to_error::deserialize(item).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().message().to_owned();
            let message = if path == "." || message.contains('`') {
                message
            } else {
                format!("field '{path}': {message}")
            };
            entry_err(index, id.clone(), message)
        })?;
        table.insert(entry, file, overlay)?;
    }
    Ok(())
}

/// Largest overlay file read (the largest embedded file is under 20 KB).
const MAX_FILE_BYTES: u64 = 4 << 20;
/// Most `*.toml` files and directory levels an overlay may have.
const MAX_FILES: usize = 10_000;
const MAX_DEPTH: usize = 32;

/// Every `*.toml` under `dir`, sorted, so overlays load in a stable order. Symlinks are
/// followed, but each directory and each file is visited once (by device and inode), so a link
/// back to a parent cannot loop and a second link to a file is not a second definition.
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, CatalogError> {
    use std::os::unix::fs::MetadataExt;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| CatalogError::Io { path, cause }
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        let meta = std::fs::metadata(&d).map_err(io(&d))?;
        if !seen.insert((meta.dev(), meta.ino())) {
            continue;
        }
        for entry in std::fs::read_dir(&d).map_err(io(&d))? {
            let path = entry.map_err(io(&d))?.path();
            let is_toml = path.extension().is_some_and(|x| x == "toml");
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => {
                    if depth + 1 > MAX_DEPTH {
                        return Err(CatalogError::Walk {
                            path,
                            message: format!("directories nest deeper than {MAX_DEPTH} levels"),
                        });
                    }
                    stack.push((path, depth + 1));
                }
                // A second link to a file already found is the same file, not a second one.
                Ok(m) if is_toml && seen.insert((m.dev(), m.ino())) => out.push(path),
                // A broken link named *.toml is reported when it is read.
                Err(_) if is_toml => out.push(path),
                _ => {}
            }
            if out.len() > MAX_FILES {
                return Err(CatalogError::Walk {
                    path: dir.to_path_buf(),
                    message: format!("more than {MAX_FILES} *.toml files"),
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests;
