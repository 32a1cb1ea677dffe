//! CLI integration tests: one test binary, one module per command.
mod calibrate;
mod catalog;
mod hub;
mod hub_server;
mod import;
mod plan;
mod probe;
mod report;
mod training;
mod util;
