//! Helpers shared by the CLI tests.

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

/// Runs `cmd`, expects success, and returns its stdout as text.
pub fn stdout_text(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("stdout is UTF-8")
}
