//! `llmrig plan` and `llmrig compare` arguments.
use clap::Args;

#[derive(Debug, Args)]
pub struct PlanOptions {}

#[derive(Debug, Args)]
pub struct PlanArgs {}

#[derive(Debug, Args)]
pub struct CompareArgs {}
