//! `llmrig report` (placeholder until the report work lands).
use super::{Context, ExitStatus};
use crate::cli::ReportArgs;

pub fn run(_ctx: &Context, _args: ReportArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("reports are not in this build yet")
}
