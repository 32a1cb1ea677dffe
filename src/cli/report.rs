//! `llmrig report` arguments.
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Saved plans (`plan --out`), comparisons (`compare --out`) and probe runs (`probe`), as
    /// JSON files, in any mix; a directory stands for the .json files in it (a cluster probe's
    /// `--out-dir`).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Directory for report.html, report.md and charts/ (created if missing; files are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}
