//! `llmrig probe` (placeholder until the probe work lands).
use super::{Context, ExitStatus};
use crate::cli::ProbeArgs;

pub fn run(_ctx: &Context, _args: ProbeArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("the probe is not in this build yet")
}
