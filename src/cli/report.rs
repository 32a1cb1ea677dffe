//! `llmrig report` arguments (owned by the report work; placeholder until it lands).
use clap::Args;

#[derive(Debug, Args)]
pub struct ReportArgs {}
