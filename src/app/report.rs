//! `llmrig report`: reads plans and probe runs, writes HTML, Markdown and charts, and prints
//! where it wrote them and the report's summary.
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
    let charts = report.charts().count();
    if ctx.json {
        ctx.printer.json(&serde_json::json!({
            "out_dir": args.out,
            "files": files,
            "summary": report.summary(),
        }))?;
    } else {
        // Where it wrote and the answer; the tables are in the files.
        let width = ctx.printer.width();
        let mut text = format!(
            "wrote {}: report.html, report.md and {charts} charts (SVG and PNG)\n\nSummary\n",
            args.out.display()
        );
        for line in report.summary() {
            let wrapped = crate::report::table::wrap(&format!("- {line}"), width, 2);
            text.push_str(&wrapped.join("\n"));
            text.push('\n');
        }
        ctx.printer.out(&text);
    }
    Ok(ExitStatus::Success)
}
