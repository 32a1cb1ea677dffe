use std::process::ExitCode;

fn main() -> ExitCode {
    llmrig::app::main().into()
}
