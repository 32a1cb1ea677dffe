//! Helpers shared by the CLI tests.
use std::path::PathBuf;

/// The `llmrig` binary under test, with no overlay catalog from the environment.
pub fn llmrig() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("llmrig").expect("binary built");
    cmd.env_remove("LLMRIG_CATALOG_DIR");
    cmd
}

/// Runs `cmd`, expects success, and parses its stdout as JSON.
pub fn stdout_json(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).expect("stdout is JSON")
}

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
