//! CLI integration tests: one test binary, one module per command.
mod catalog;
mod import;
mod plan;
mod probe;
mod ranking;
mod report;
mod util;
