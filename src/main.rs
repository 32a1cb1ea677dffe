use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    llmrig::app::run(llmrig::cli::Cli::parse()).into()
}
