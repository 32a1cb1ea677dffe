//! CLI integration tests: one test binary, one module per command.
mod calibrate;
mod catalog;
mod import;
mod plan;
mod probe;
mod report;
mod training;
mod util;
