//! CLI integration tests: one test binary, one module per command.
mod catalog;
mod plan;
mod util;
