//! `llmrig import` (placeholder until the import work lands).
use super::{Context, ExitStatus};
use std::path::Path;

pub fn run(_ctx: &Context, _path: &Path) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("model import is not in this build yet")
}
