//! `llmrig probe` arguments (owned by the probe work; placeholder until it lands).
use clap::Args;

#[derive(Debug, Args)]
pub struct ProbeArgs {}
