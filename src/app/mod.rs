//! Runs one parsed command line. This is the binary's edge: errors become `anyhow` chains here,
//! and each command returns a typed exit status.
use crate::catalog::Catalog;
use crate::cli::{Cli, Command};
use crate::output::Printer;
use std::path::PathBuf;

mod build;
mod calibrate;
mod catalog;
mod fit;
mod import;
mod plan;
mod probe;
mod report;
mod source;

pub use probe::install_interrupt_handler;

/// Process exit status: 0 success, 1 a valid run with a negative answer, 2 an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// The command ran and the answer is "no" (does not fit, a check failed).
    Failure,
    /// Bad input, a broken catalog or a runtime error.
    Error,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        status.code().into()
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

/// Parses the process arguments and runs the command. A usage error prints as one line plus a
/// hint (or, with `--json`, one JSON object on stderr) and exits 2, as the README promises.
pub fn main() -> ExitStatus {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let json = args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json");
    let printer = Printer { quiet: false };
    match <Cli as clap::Parser>::try_parse_from(&args) {
        Ok(cli) => run(cli),
        Err(err) => usage_error(&printer, &err, json),
    }
}

fn usage_error(printer: &Printer, err: &clap::Error, json: bool) -> ExitStatus {
    use clap::error::ErrorKind;
    let text = err.render().to_string();
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            printer.out(&text);
            return ExitStatus::Success;
        }
        // `llmrig` alone: the help is the answer a newcomer wants.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand if !json => {
            printer.note(&text);
            return ExitStatus::Error;
        }
        _ => {}
    }
    let (message, hint) = one_line_usage(&text, &subcommand(&std::env::args().collect::<Vec<_>>()));
    if json {
        printer.error_json(&message, Some(&hint), ExitStatus::Error.code());
    } else {
        printer.error(&message, Some(&hint));
    }
    ExitStatus::Error
}

/// `llmrig SUBCOMMAND` as typed (the first argument naming a subcommand), for the `--help` hint.
fn subcommand(args: &[String]) -> String {
    let cmd = <Cli as clap::CommandFactory>::command();
    let sub = args
        .iter()
        .skip(1)
        .find(|a| cmd.get_subcommands().any(|s| s.get_name() == a.as_str()));
    match sub {
        Some(s) => format!("llmrig {s}"),
        None => "llmrig".into(),
    }
}

/// clap's several-line error as (message, hint): the first line, then its tips, its usage and
/// where the help is.
fn one_line_usage(text: &str, command: &str) -> (String, String) {
    // The message is the first paragraph (a list of missing arguments continues it).
    let mut paragraphs = text.split("\n\n");
    let message = paragraphs
        .next()
        .unwrap_or("invalid arguments")
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error:")
        .trim()
        .to_owned();
    let lines = paragraphs.flat_map(str::lines).map(str::trim);
    let mut hints: Vec<String> = Vec::new();
    for line in lines {
        if let Some(tip) = line.strip_prefix("tip:") {
            hints.push(tip.trim().to_owned());
        } else if let Some(usage) = line.strip_prefix("Usage:") {
            hints.push(format!("usage: {}", usage.trim()));
        }
    }
    hints.push(format!("see '{command} --help'"));
    (message, hints.join("; "))
}

/// An error and its causes in one line, each cause once (a message that already quotes its
/// cause is not followed by it again).
fn error_line(err: &anyhow::Error) -> String {
    let mut line = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

/// Runs the command; prints any error as one line (JSON with `--json`) and maps it to exit
/// status 2.
pub fn run(cli: Cli) -> ExitStatus {
    probe::enter_command(matches!(cli.command, Command::Probe(_)));
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
        Command::Import { path, offline } => import::run(&ctx, &path, offline),
        Command::Plan(args) => plan::plan(&ctx, args),
        Command::Compare(args) => plan::compare(&ctx, args),
        Command::Fit(args) => fit::run(&ctx, args),
        Command::Build(cmd) => build::run(&ctx, cmd),
        Command::Calibrate => calibrate::run(&ctx),
        Command::Probe(args) => probe::run(&ctx, args),
        Command::Report(args) => report::run(&ctx, args),
        Command::Completions { shell } => catalog::completions(&ctx, shell),
    };
    result.unwrap_or_else(|err| {
        let line = error_line(&err);
        if ctx.json {
            ctx.printer
                .error_json(&line, None, ExitStatus::Error.code());
        } else {
            ctx.printer.error(&line, None);
        }
        ExitStatus::Error
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(args: &[&str]) -> (String, String) {
        let err = <Cli as clap::Parser>::try_parse_from(args).unwrap_err();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        one_line_usage(&err.render().to_string(), &subcommand(&args))
    }

    #[test]
    fn usage_errors_become_one_line_and_a_hint() {
        let (msg, hint) = usage(&["llmrig", "plan", "--model", "x", "--bogus"]);
        assert_eq!(msg, "unexpected argument '--bogus' found");
        assert!(
            hint.contains("usage: llmrig plan --model <MODEL>"),
            "{hint}"
        );
        assert!(hint.ends_with("see 'llmrig plan --help'"), "{hint}");
        let (msg, hint) = usage(&["llmrig", "plan", "--modle", "x"]);
        assert!(msg.contains("'--modle'"), "{msg}");
        assert!(hint.contains("'--model'"), "{hint}");
        assert!(!msg.contains('\n') && !hint.contains('\n'));
        let (_, hint) = usage(&["llmrig", "--json", "plan", "--model"]);
        assert_eq!(hint, "see 'llmrig plan --help'");
        let (msg, _) = usage(&["llmrig", "report"]);
        assert!(
            msg.contains("not provided: --out <DIR> <INPUT>..."),
            "{msg}"
        );
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let err = anyhow::Error::new(io).context("reading 'x': entity not found");
        assert_eq!(error_line(&err), "reading 'x': entity not found");
        let err = anyhow::anyhow!("disk full").context("writing 'x'");
        assert_eq!(error_line(&err), "writing 'x': disk full");
    }
}
