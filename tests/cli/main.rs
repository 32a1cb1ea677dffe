//! CLI integration tests: one test binary, one module per command.
mod catalog;
mod hostile_args;
mod hostile_files;
mod import;
mod plan;
mod probe;
mod report;
mod util;
