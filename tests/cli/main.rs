//! CLI integration tests: one test binary, one module per command.
mod build;
mod calibrate;
mod catalog;
#[path = "../shared/catalog_sources.rs"]
mod catalog_sources;
mod fit;
mod hostile_args;
mod hostile_files;
mod hub;
mod hub_server;
mod import;
mod plan;
mod probe;
mod ranking;
mod rent;
#[path = "../shared/repo.rs"]
mod repo;
mod report;
mod training;
mod util;
