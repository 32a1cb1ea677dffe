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

/// What a bounded run of the binary did.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: std::time::Duration,
}

/// Address space the binary may use in [`run_bounded`]: the fault-injection limit.
pub const ADDRESS_SPACE_LIMIT: u64 = 2 << 30;

/// Runs `llmrig args…` in `dir` under a 2 GiB address-space limit (setrlimit in the child) and a
/// wall-clock limit, killing it at the limit. Stdout and stderr go to files, so a large output
/// cannot block the child.
pub fn run_bounded(
    dir: &std::path::Path,
    args: &[&std::ffi::OsStr],
    limit: std::time::Duration,
) -> Outcome {
    use std::os::unix::process::CommandExt;
    let out_path = dir.join(".stdout");
    let err_path = dir.join(".stderr");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_llmrig"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("LLMRIG_CATALOG_DIR")
        .env("COLUMNS", "80")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: ADDRESS_SPACE_LIMIT,
                rlim_max: ADDRESS_SPACE_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = std::time::Instant::now();
    let mut child = cmd.spawn().expect("spawn llmrig");
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("llmrig {args:?} ran past {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Outcome {
        code,
        stdout: String::from_utf8_lossy(&std::fs::read(&out_path).unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned(),
        elapsed: start.elapsed(),
    }
}

impl Outcome {
    /// The acceptance for a hostile input: exit 0, 1 or 2 (no panic, no abort, no
    /// signal), and, on exit 2, an error of one line (two with a hint) of at most 500 bytes that
    /// contains `names` (the file), with no raw control character and no NaN or inf anywhere.
    pub fn assert_clean(&self, names: &str) -> &Self {
        assert!(
            matches!(self.code, Some(0..=2)),
            "exit {:?} (a panic is 101, an abort or signal none): {}",
            self.code,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        // An error may quote the bad value it rejects; nothing else may show one.
        let not_errors: String = self
            .stderr
            .lines()
            .filter(|l| !l.starts_with("error: ") && !l.starts_with("{\"error\""))
            .collect();
        for text in [&self.stdout, &not_errors] {
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "a raw control character reached the terminal: {text:?}"
            );
            for bad in ["NaN", "inf ", "$-", "-$"] {
                assert!(!text.contains(bad), "'{bad}' in output: {text}");
            }
        }
        if self.code == Some(2) {
            let lines: Vec<&str> = self.stderr.lines().collect();
            let error = lines
                .iter()
                .position(|l| l.starts_with("error: ") || l.starts_with("{\"error\""))
                .unwrap_or_else(|| panic!("no error line: {}", self.stderr));
            let rest = &lines[error + 1..];
            assert!(
                rest.is_empty() || (rest.len() == 1 && rest[0].starts_with("hint: ")),
                "error longer than a line and a hint: {}",
                self.stderr
            );
            assert!(lines[error].len() <= 500, "{} bytes", lines[error].len());
            assert!(
                lines[error].contains(names),
                "error does not name '{names}': {}",
                lines[error]
            );
        }
        self
    }

    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "{}\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "no '{text}' in: {}",
            self.stderr
        );
        self
    }
}

pub use crate::repo::{fixture, repo_root};
