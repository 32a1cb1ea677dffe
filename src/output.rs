//! The one place that writes to stdout and stderr. Everything else returns strings or data.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};

/// How much the user wants to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    /// Suppress progress and notes (`--quiet`).
    pub quiet: bool,
}

impl Printer {
    /// Writes the command's main output; a closed pipe (`| head`) is not an error.
    pub fn out(&self, text: &str) {
        let text = crate::sanitize::terminal(text);
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = stdout.write_all(b"\n");
        }
        let _ = stdout.flush();
    }

    /// Writes a value as pretty JSON.
    pub fn json<T: serde::Serialize>(&self, value: &T) -> anyhow::Result<()> {
        self.out(&serde_json::to_string_pretty(value)?);
        Ok(())
    }

    /// A note or warning for the user on stderr, hidden by `--quiet`.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{}", crate::sanitize::terminal(text));
        }
    }

    /// An error on stderr, always shown: one line (control characters escaped, length capped),
    /// plus an optional hint line.
    pub fn error(&self, text: &str, hint: Option<&str>) {
        eprintln!("error: {}", crate::sanitize::line(text));
        if let Some(h) = hint {
            eprintln!("hint: {}", crate::sanitize::line(h));
        }
    }

    /// An error as one JSON object on stderr (`--json`): `{"error": …, "exit_code": N}`, plus
    /// `"hint"` when there is one.
    pub fn error_json(&self, text: &str, hint: Option<&str>, exit_code: u8) {
        let mut v =
            serde_json::json!({ "error": crate::sanitize::line(text), "exit_code": exit_code });
        if let Some(h) = hint {
            v["hint"] = crate::sanitize::line(h).into();
        }
        eprintln!("{v}");
    }

    /// Width to fit tables to: `COLUMNS` when set, else the terminal's width when stdout is
    /// one, or when stdout is piped (`| less`, `| head`) from a terminal that stderr still
    /// shows; else none, and tables print whole (one line per row, never wrapped).
    pub fn width(&self) -> Option<usize> {
        let from_env = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c >= 20);
        from_env.or_else(|| {
            let mut probe = comfy_table::Table::new();
            if !std::io::stdout().is_terminal() {
                probe.use_stderr();
            }
            probe.width().map(usize::from)
        })
    }

    /// Whether progress bars should be drawn (stderr is a terminal and not quiet).
    pub fn show_progress(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }
}
