//! `llmrig plan` and `llmrig compare`.
use super::{Context, ExitStatus};
use crate::cli::{CompareArgs, PlanArgs};

pub fn plan(_ctx: &Context, _args: PlanArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("the planner is not in this build yet")
}

pub fn compare(_ctx: &Context, _args: CompareArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("the planner is not in this build yet")
}
