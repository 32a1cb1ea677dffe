//! The report as Markdown, for an issue or a wiki page: charts are linked as files under
//! `charts/` (SVG inline, PNG beside it), each followed by the table of its numbers.
use super::{Block, Report};

/// Markdown text of `report`; chart paths are relative to the file's directory.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for b in &report.blocks {
        match b {
            Block::Heading(level, h) => {
                out.push_str(&format!("{} {h}\n\n", "#".repeat(usize::from(*level))))
            }
            Block::Text(t) => out.push_str(&format!("{t}\n\n")),
            Block::Summary(lines) => {
                out.push_str("## Summary\n\n");
                for l in lines {
                    out.push_str(&format!("- {l}\n"));
                }
                out.push('\n');
            }
            Block::Table(s) => {
                out.push_str(&format!("**{}**\n\n{}\n", s.title, s.markdown_table()))
            }
            Block::Figure(f) => {
                let c = &f.chart;
                out.push_str(&format!(
                    "### {}\n\n![{}](charts/{}.svg)\n\n[PNG](charts/{}.png)\n\n",
                    c.title, c.title, c.id, c.id
                ));
                for s in &f.sections {
                    out.push_str(&format!("**{}**\n\n{}\n", s.title, s.markdown_table()));
                }
            }
        }
    }
    out
}
