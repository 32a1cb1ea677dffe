//! Charts (placeholder until the report work lands).
use crate::plan::Plan;
use std::path::Path;

/// Draws a plan's main chart to an SVG or PNG file.
pub fn plan_chart_file(_plan: &Plan, _path: &Path) -> anyhow::Result<()> {
    anyhow::bail!("charts are not in this build yet")
}
