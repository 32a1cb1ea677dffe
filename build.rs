//! Embeds every TOML file under `hardware_db/` and `models_db/` so the binary carries its
//! catalog and works from any directory. Adding a file needs no code change.
use std::{env, fs, path::Path};

fn collect(dir: &Path, root: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, root, out);
        } else if path.extension().is_some_and(|x| x == "toml") {
            let rel = path.strip_prefix(root).expect("under root");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest);
    let mut files = Vec::new();
    for db in ["hardware_db", "models_db"] {
        println!("cargo::rerun-if-changed={db}");
        if root.join(db).is_dir() {
            collect(&root.join(db), root, &mut files);
        }
    }
    let mut code =
        String::from("/// Embedded catalog files: (path relative to the crate root, contents).\n");
    code.push_str("pub static FILES: &[(&str, &str)] = &[\n");
    for rel in &files {
        code.push_str(&format!(
            "    ({rel:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/\", {rel:?}))),\n"
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalog_files.rs");
    fs::write(out, code).expect("writing catalog_files.rs");
}
