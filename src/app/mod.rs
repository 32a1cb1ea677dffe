//! Runs one parsed command line. This is the binary's edge: errors become `anyhow` chains here,
//! and each command returns a typed exit status.
use crate::catalog::Catalog;
use crate::cli::{Cli, Command};
use crate::output::Printer;
use std::path::PathBuf;

mod catalog;
mod import;
mod plan;
mod probe;
mod report;

/// Process exit status: 0 success, 1 a valid run with a negative answer, 2 an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// The command ran and the answer is "no" (does not fit, a check failed).
    Failure,
    /// Bad input, a broken catalog or a runtime error.
    Error,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => 0.into(),
            ExitStatus::Failure => 1.into(),
            ExitStatus::Error => 2.into(),
        }
    }
}

/// What every command needs: the printer, output mode and the catalog location.
pub struct Context {
    pub printer: Printer,
    pub json: bool,
    pub catalog_dir: Option<PathBuf>,
}

impl Context {
    /// The embedded catalog with the user's overlay, validated.
    pub fn catalog(&self) -> anyhow::Result<Catalog> {
        Ok(Catalog::load(self.catalog_dir.as_deref())?)
    }
}

/// Runs the command; prints any error as one line and maps it to exit status 2.
pub fn run(cli: Cli) -> ExitStatus {
    let ctx = Context {
        printer: Printer { quiet: cli.quiet },
        json: cli.json,
        catalog_dir: cli.catalog_dir,
    };
    let result = match cli.command {
        Command::Models(args) => catalog::models(&ctx, args),
        Command::Gpus(args) => catalog::gpus(&ctx, args),
        Command::Parts { kind, show } => catalog::parts(&ctx, kind, show),
        Command::Catalog(cmd) => catalog::catalog(&ctx, cmd),
        Command::Import { path } => import::run(&ctx, &path),
        Command::Plan(args) => plan::plan(&ctx, args),
        Command::Compare(args) => plan::compare(&ctx, args),
        Command::Probe(args) => probe::run(&ctx, args),
        Command::Report(args) => report::run(&ctx, args),
        Command::Completions { shell } => catalog::completions(&ctx, shell),
    };
    result.unwrap_or_else(|err| {
        ctx.printer.error(&format!("{err:#}"));
        ExitStatus::Error
    })
}
