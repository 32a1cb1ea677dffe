//! A fuzzing campaign that stays in the project: proptest strategies that build hostile
//! safetensors and GGUF headers, config.json files, catalog overlays and report inputs, and
//! properties every input must satisfy (no panic; an error is one short line naming the file;
//! an accepted input gives finite, non-negative money, power and counts).
//!
//! Each target first replays its checked-in corpus (`tests/fuzz/corpus/<target>/`: the issue's
//! reproducers, small enough to keep) and any persisted failures
//! (`tests/fuzz/regressions/<target>.txt`), then generates new cases until its time budget is
//! spent: `LLMRIG_FUZZ_SECS` seconds per target (default 2, so `cargo test` stays quick;
//! `.ci/run` gives the campaign longer).
mod catalog;
#[path = "../shared/catalog_sources.rs"]
mod catalog_sources;
mod common;
mod config;
mod gguf;
mod report;
mod safetensors;
