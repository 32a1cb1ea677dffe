//! Where the repository is, found at run time. Included by both test binaries (`#[path]`).
use std::path::PathBuf;

/// The repository root, found at run time (see [`fixture`]).
pub fn repo_root() -> PathBuf {
    fixture("")
        .parent()
        .and_then(|t| t.parent())
        .map(PathBuf::from)
        .expect("tests/fixtures has two parents")
}

/// A file under `tests/fixtures/`, found at run time: cargo sets `CARGO_MANIFEST_DIR` when it
/// runs the tests, and a test binary run by hand from the repository (scripts/gpu-check.sh)
/// finds it above the current directory. Never the build machine's path baked in at compile
/// time, which breaks test binaries carried to another checkout.
pub fn fixture(rel: &str) -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .expect("a current directory");
    start
        .ancestors()
        .map(|d| d.join("tests/fixtures").join(rel))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "fixture '{rel}' not found above {}: run the tests from the repository",
                start.display()
            )
        })
}
