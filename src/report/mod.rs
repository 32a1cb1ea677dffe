//! Tables and charts for plans and probe runs, and `llmrig report`: one document built from any
//! mix of saved plans and probe runs, written as self-contained HTML, Markdown with chart files
//! beside it, and every chart as SVG and PNG.
//!
//! Each chart carries its numbers once ([`chart::Chart`]); its tables are made from the same
//! values, so the terminal, Markdown, HTML and the pictures always agree.
pub mod answer;
pub mod build_check;
pub mod card;
pub mod chart;
pub mod cluster;
pub mod compare;
mod draw;
pub mod fit;
pub mod html;
pub mod input;
pub mod links;
pub mod markdown;
pub mod plan;
pub mod plan_charts;
mod raster;
pub mod rent;
pub mod rig;
pub mod run_charts;
pub mod summary;
pub mod sweep;
pub mod table;
pub mod target;
pub mod verdict;

use crate::catalog::Catalog;
use chart::{Chart, ChartError};
use input::{Doc, Input};
use std::path::{Path, PathBuf};
use table::Section;

/// A chart and the tables that show its numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub chart: Chart,
    pub sections: Vec<Section>,
}

impl From<Chart> for Figure {
    fn from(chart: Chart) -> Figure {
        Figure {
            sections: chart.sections(),
            chart,
        }
    }
}

/// A piece of the report, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 1-3.
    Heading(u8, String),
    Text(String),
    /// The answer the report leads with (recommendations, verdicts), before any chart.
    Summary(Vec<String>),
    Figure(Figure),
    Table(Section),
}

/// The report document, independent of its output format.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub blocks: Vec<Block>,
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Chart(#[from] ChartError),
    #[error("writing '{}': {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// Most options of one plan drawn in its charts (and listed in their tables). Real plans have
/// one per catalog GPU; a plan with thousands would take minutes and gigabytes to draw.
pub const MAX_CHART_OPTIONS: usize = 60;

/// A lowercase name safe in a file name: `Rig A (before)` -> `rig-a-before`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn inputs_section(inputs: &[Input]) -> Section {
    let rows = inputs
        .iter()
        .map(|i| match &i.doc {
            Doc::Plan(p) => {
                let fits = p.options.iter().filter(|o| o.fits).count();
                vec![
                    i.name.clone(),
                    i.path.display().to_string(),
                    p.kind.clone(),
                    format!("{}: {} options, {fits} fit", p.model.name, p.options.len()),
                    p.tool_version
                        .clone()
                        .map(|v| format!("llmrig {v}"))
                        .unwrap_or_default(),
                ]
            }
            Doc::Run(r) => {
                let host = r
                    .host
                    .hostname
                    .clone()
                    .unwrap_or_else(|| "unnamed host".into());
                let gpus = if r.gpus.is_empty() {
                    "no GPU".to_owned()
                } else {
                    format!("{} GPU(s)", r.gpus.len())
                };
                vec![
                    i.name.clone(),
                    i.path.display().to_string(),
                    r.kind.clone(),
                    format!(
                        "{host}, {gpus}, {} phases, started {}",
                        r.phases.len(),
                        r.started_at
                    ),
                    format!("{} {}", r.tool.name, r.tool.version),
                ]
            }
        })
        .collect();
    Section::new(
        "Inputs",
        &["name", "file", "kind", "contents", "written by"],
        rows,
    )
}

/// Builds the report for `inputs`; `cat` supplies catalog figures for the plan-vs-probe view.
pub fn build(inputs: &[Input], cat: &Catalog) -> Report {
    let mut b = vec![Block::Heading(1, "llmrig report".into())];
    let plans: Vec<(&str, &input::PlanDoc)> = inputs
        .iter()
        .filter_map(|i| {
            if let Doc::Plan(p) = &i.doc {
                Some((i.name.as_str(), &**p))
            } else {
                None
            }
        })
        .collect();
    let runs: Vec<run_charts::NamedRun> = inputs
        .iter()
        .filter_map(|i| {
            if let Doc::Run(r) = &i.doc {
                Some((i.name.as_str(), &**r))
            } else {
                None
            }
        })
        .collect();
    b.push(Block::Summary(summary::lines(&plans, &runs, cat)));
    b.push(Block::Text(format!("Made by llmrig {} from {} input file(s). Charts and tables show the same numbers; units are in every axis label and column header.", env!("CARGO_PKG_VERSION"), inputs.len())));
    b.push(Block::Table(inputs_section(inputs)));
    for (name, full) in &plans {
        let (p, left_out) = full.first_options(MAX_CHART_OPTIONS);
        let what = if p.kind == "comparison" {
            "Comparison"
        } else {
            "Plan"
        };
        b.push(Block::Heading(
            2,
            format!("{what}: {} ({name})", p.model.name),
        ));
        if !p.options.iter().any(|o| o.fits) {
            b.push(Block::Text(format!(
                "No option fits {}; the memory chart shows by how much each misses.",
                p.model.name
            )));
        }
        if p.recommended.is_some() {
            b.push(Block::Text(
                "* marks the recommended option: the cheapest fit whose every part is priced, so it builds as listed. Price bars in the second colour are lower bounds: some of their parts have no price.".into(),
            ));
        }
        if left_out > 0 {
            b.push(Block::Text(format!(
                "The charts and their tables show the first {} of the plan's {} options, in the plan's order (the recommended one included); the saved plan lists every one.",
                p.options.len(),
                full.options.len()
            )));
        }
        b.extend(
            plan_charts::charts(&p, &format!("plan-{}", slug(name)))
                .into_iter()
                .map(|c| Block::Figure(c.into())),
        );
    }
    // A cluster's node table answers "which node is slow", so it comes before the details.
    b.extend(cluster::section(&runs));
    if !runs.is_empty() {
        b.push(Block::Heading(2, "Probe runs".into()));
        b.push(Block::Table(run_charts::runs_section(&runs)));
        b.extend(
            run_charts::charts(&runs, "runs")
                .into_iter()
                .map(|c| Block::Figure(c.into())),
        );
        b.push(Block::Table(run_charts::phases_section(&runs)));
        b.extend(run_charts::findings_section(&runs).map(Block::Table));
    }
    if !runs.is_empty() {
        for (name, full) in &plans {
            let (p, _) = full.first_options(MAX_CHART_OPTIONS);
            b.push(Block::Heading(
                2,
                format!("Plan against probe: {} ({name})", p.model.name),
            ));
            b.extend(plan_vs_probe(&p, name, &runs, cat));
        }
    }
    unique_chart_ids(&mut b);
    Report { blocks: b }
}

/// Gives every chart a distinct id (`-2`, `-3`, … on repeats), since ids name the chart files
/// and the HTML finds each chart's SVG by id.
fn unique_chart_ids(blocks: &mut [Block]) {
    let mut seen = std::collections::HashSet::new();
    for block in blocks {
        if let Block::Figure(f) = block {
            let base = f.chart.id.clone();
            let mut n = 1;
            while !seen.insert(f.chart.id.clone()) {
                n += 1;
                f.chart.id = format!("{base}-{n}");
            }
        }
    }
}

fn plan_vs_probe(
    p: &input::PlanDoc,
    name: &str,
    runs: &[run_charts::NamedRun],
    cat: &Catalog,
) -> Vec<Block> {
    let checks = verdict::checks(p, runs, cat);
    if checks.is_empty() {
        let mut plan_gpus: Vec<&str> = p
            .options
            .iter()
            .filter(|o| o.fits)
            .map(|o| o.gpu_id.as_str())
            .collect();
        plan_gpus.dedup();
        let run_gpus: Vec<String> = runs
            .iter()
            .flat_map(|(_, r)| {
                r.gpus.iter().map(|g| {
                    g.catalog_id
                        .clone()
                        .unwrap_or_else(|| format!("'{}' (not in the catalog)", g.name))
                })
            })
            .collect();
        let measured = if run_gpus.is_empty() {
            "the runs measured no GPU".to_owned()
        } else {
            format!("the runs measured {}", run_gpus.join(", "))
        };
        return vec![Block::Text(format!(
            "No verdict: the plan's fitting options use {}, and {measured}.",
            if plan_gpus.is_empty() {
                "no GPU".to_owned()
            } else {
                plan_gpus.join(", ")
            }
        ))];
    }
    let recomputed = if p.is_training() {
        Vec::new()
    } else {
        verdict::recompute(p, runs, &checks, cat)
    };
    let chart = verdict::chart(p, &checks, &recomputed, &format!("vs-{}", slug(name)));
    let mut out = vec![Block::Figure(Figure {
        sections: vec![verdict::verdict_section(&checks)],
        chart,
    })];
    out.extend(links::tp_without_p2p(p, runs));
    out.push(if p.is_training() {
        Block::Text("Training estimates are not recomputed: they rest on the FLOPs utilisation of whole training steps, which the probe does not measure.".into())
    } else {
        Block::Table(verdict::recompute_section(p, &recomputed))
    });
    out
}

impl Report {
    /// The summary lines the report opens with.
    pub fn summary(&self) -> &[String] {
        self.blocks
            .iter()
            .find_map(|b| match b {
                Block::Summary(l) => Some(l.as_slice()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Every figure's chart.
    pub fn charts(&self) -> impl Iterator<Item = &Chart> {
        self.blocks.iter().filter_map(|b| {
            if let Block::Figure(f) = b {
                Some(&f.chart)
            } else {
                None
            }
        })
    }

    /// The report's tables for the terminal, under their headings.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for b in &self.blocks {
            match b {
                Block::Heading(_, h) => {
                    out.push_str(&format!("\n{h}\n{}\n", "=".repeat(h.chars().count())))
                }
                Block::Text(t) => out.push_str(&format!("{t}\n")),
                Block::Summary(lines) => lines.iter().for_each(|l| out.push_str(&format!("{l}\n"))),
                Block::Table(s) => out.push_str(&format!("\n{}", s.to_terminal(None))),
                Block::Figure(f) => f
                    .sections
                    .iter()
                    .for_each(|s| out.push_str(&format!("\n{}", s.to_terminal(None)))),
            }
        }
        out
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    crate::fsutil::write_atomic(path, bytes).map_err(|cause| ReportError::Write {
        path: path.to_owned(),
        cause,
    })?;
    Ok(path.to_owned())
}

/// Writes `report.html`, `report.md` and `charts/<id>.svg|png` under `dir`; returns the files.
pub fn write_dir(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    let mut svgs = std::collections::HashMap::new();
    for chart in report.charts() {
        let svg = chart.to_svg()?;
        files.push(write(
            &dir.join("charts").join(format!("{}.svg", chart.id)),
            svg.as_bytes(),
        )?);
        files.push(write(
            &dir.join("charts").join(format!("{}.png", chart.id)),
            &chart.to_png()?,
        )?);
        svgs.insert(chart.id.clone(), svg);
    }
    files.push(write(
        &dir.join("report.md"),
        markdown::render(report).as_bytes(),
    )?);
    files.push(write(
        &dir.join("report.html"),
        html::render(report, &svgs).as_bytes(),
    )?);
    Ok(files)
}

#[cfg(test)]
mod tests;
