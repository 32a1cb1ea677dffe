use std::process::ExitCode;

fn main() -> ExitCode {
    // First, so a Ctrl-C in the first milliseconds of a probe is handled, not fatal.
    llmrig::app::install_interrupt_handler();
    llmrig::app::main().into()
}
