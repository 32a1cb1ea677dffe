//! The embedded catalog's source files, for tests that build overlays from real entries.
//! Included by both test binaries (`#[path]`).
use std::path::PathBuf;

/// The first entry of each kind in `hardware_db/` and `models_db/` (files in path order), as
/// (kind, entry).
pub fn first_entry_of_each_kind() -> Vec<(String, toml::Table)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut stack = vec![root.join("hardware_db"), root.join("models_db")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut out: Vec<(String, toml::Table)> = Vec::new();
    for f in files {
        let table: toml::Table = std::fs::read_to_string(&f).unwrap().parse().unwrap();
        for (kind, v) in table {
            if let toml::Value::Array(items) = v {
                if !out.iter().any(|(k, _)| *k == kind) {
                    out.push((kind, items[0].as_table().unwrap().clone()));
                }
            }
        }
    }
    out
}
