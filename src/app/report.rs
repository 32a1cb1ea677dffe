//! `llmrig report`: reads plans and probe runs, writes HTML, Markdown and charts, and prints the
//! tables.
use super::{Context, ExitStatus};
use crate::cli::ReportArgs;
use crate::report::{self, input};

pub fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<ExitStatus> {
    let mut inputs = input::expand_dirs(&args.inputs)?
        .iter()
        .map(|p| input::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    input::dedupe_names(&mut inputs);
    let cat = ctx.catalog()?;
    let report = report::build(&inputs, &cat);
    let files = report::write_dir(&report, &args.out)?;
    if ctx.json {
        ctx.printer
            .json(&serde_json::json!({ "out_dir": args.out, "files": files }))?;
    } else {
        ctx.printer.out(&report.to_text());
    }
    let charts = report.charts().count();
    ctx.printer.note(&format!(
        "wrote {} with report.html, report.md and {charts} charts (SVG and PNG)",
        args.out.display()
    ));
    Ok(ExitStatus::Success)
}
