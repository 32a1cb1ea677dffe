//! llmrig plans, prices, probes and reports machines for large language models.
//!
//! The library holds everything; the `llmrig` binary is a thin clap front end.
//! - [`catalog`]: the embedded, sourced hardware and model catalogs.
//! - [`import`]: model architectures read from `config.json`, safetensors and GGUF headers.
//! - [`plan`]: the pure planner (memory, layouts, parts list, cost, speed); no I/O.
//! - [`probe`]: measurements of a real rig (CPU always, GPUs through cudarc when present).
//! - [`report`]: tables and charts comparing plans and probe runs.

pub mod app;
pub mod catalog;
pub mod cli;
pub mod fsutil;
pub mod import;
pub mod numfmt;
pub mod output;
pub mod plan;
pub mod probe;
pub mod report;
pub mod sanitize;
