//! CLI integration tests: one test binary, one module per command.
mod probe;
