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
            eprintln!("{text}");
        }
    }

    /// An error line on stderr, always shown.
    pub fn error(&self, text: &str) {
        eprintln!("error: {text}");
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
