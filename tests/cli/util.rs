//! Helpers shared by the CLI tests.

/// The `llmrig` binary under test, with no overlay catalog from the environment.
pub fn llmrig() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("llmrig").expect("binary built");
    cmd.env_remove("LLMRIG_CATALOG_DIR");
    cmd
}
