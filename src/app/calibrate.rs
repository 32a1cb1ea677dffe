//! `llmrig calibrate`: the planner against every published anchor, with its error and
//! tolerance; exit 1 when one is outside (anchors marked known-failing are shown, not counted).
use super::{Context, ExitStatus};
use crate::plan::calibrate::{self, AnchorResult, Tolerance};
use crate::report::table::{fmt_int, fmt_num, Section};
use serde::Serialize;

/// The calibration as JSON.
#[derive(Serialize)]
struct Calibration<'a> {
    kind: &'static str,
    tool_version: &'static str,
    anchors: &'a [AnchorResult],
    within_tolerance_count: usize,
    known_failing_count: usize,
    failing_count: usize,
}

/// A figure in its unit: scientific notation from a million up, else thousands separators,
/// with the decimals an absolute tolerance needs.
fn figure(v: f64, unit: &str, t: Tolerance) -> String {
    let n = match t {
        _ if v.abs() >= 1e6 => format!("{v:.2e}"),
        Tolerance::Absolute { amount } if amount < 1.0 => {
            let decimals = (-amount.log10()).ceil().max(0.0) as usize;
            format!("{v:.decimals$}")
        }
        _ if v.abs() >= 1000.0 => fmt_int(v),
        _ => fmt_num(v),
    };
    format!("{n} {unit}")
}

fn bound(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{v:.2e}")
    } else {
        fmt_num(v)
    }
}

/// Short tolerance, e.g. `±30 %`, `2,880–5,120`, `≤ 64`.
fn tolerance(t: Tolerance) -> String {
    match t {
        Tolerance::Relative { fraction: 0.0 } => "exact".into(),
        Tolerance::Relative { fraction } => format!("±{} %", fmt_num(fraction * 100.0)),
        Tolerance::Absolute { amount } => format!("±{}", fmt_num(amount)),
        Tolerance::Range { low, high } => format!("{}–{}", bound(low), bound(high)),
        Tolerance::AtMost { high } => format!("≤ {}", bound(high)),
    }
}

/// `text` after `lead`, wrapped at word boundaries to 80 columns with a hanging indent.
fn wrapped(lead: &str, text: &str) -> String {
    const WIDTH: usize = 80;
    let indent = " ".repeat(lead.chars().count());
    let mut out = String::new();
    let mut line = lead.to_owned();
    let mut fresh = true;
    for word in text.split_whitespace() {
        if !fresh && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.clone();
            fresh = true;
        }
        if !fresh {
            line.push(' ');
        }
        line.push_str(word);
        fresh = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

fn status(r: &AnchorResult) -> &'static str {
    match (r.within_tolerance, r.known_failing.is_some()) {
        (true, _) => "ok",
        (false, true) => "known",
        (false, false) => "FAIL",
    }
}

/// The table, then what each anchor is and where it comes from, then the misses explained.
fn to_text(results: &[AnchorResult], width: Option<usize>) -> String {
    let rows = results
        .iter()
        .map(|r| {
            vec![
                r.id.to_owned(),
                r.published_value
                    .map_or_else(|| "—".into(), |v| figure(v, r.unit, r.tolerance)),
                r.planner_value
                    .map_or_else(|| "n/a".into(), |v| figure(v, r.unit, r.tolerance)),
                r.error_pct
                    .map_or_else(|| "—".into(), |e| format!("{e:+.1} %")),
                format!("{} {}", tolerance(r.tolerance), status(r)),
            ]
        })
        .collect();
    let table = Section::new(
        "Calibration: the planner against published figures",
        &["anchor", "published", "planner", "error", "tolerance"],
        rows,
    );
    let count = |s: &str| results.iter().filter(|r| status(r) == s).count();
    // The answer first: how many anchors hold.
    let mut out = format!(
        "{} anchors: {} within tolerance, {} known failing, {} failing\n\n",
        results.len(),
        count("ok"),
        count("known"),
        count("FAIL")
    );
    out.push_str(&table.to_terminal(width));
    // Each source once, numbered; each anchor says what it is and which source it cites.
    let mut sources: Vec<&str> = Vec::new();
    out.push_str("\nAnchors:\n");
    for r in results {
        let n = match sources.iter().position(|s| *s == r.source) {
            Some(i) => i + 1,
            None => {
                sources.push(r.source);
                sources.len()
            }
        };
        out.push_str(&wrapped(
            &format!("  {:<14} ", r.id),
            &format!("{} [{n}]", r.what),
        ));
    }
    out.push_str("\nSources:\n");
    for (i, s) in sources.iter().enumerate() {
        out.push_str(&wrapped(&format!("  [{}] ", i + 1), s));
    }
    let misses: Vec<&AnchorResult> = results.iter().filter(|r| !r.within_tolerance).collect();
    if !misses.is_empty() {
        out.push_str("\nOutside tolerance:\n");
        for r in misses {
            let why = r.known_failing.map(|k| format!("known failing: {k}"));
            let detail = [r.not_expressible.clone(), why]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            out.push_str(&wrapped(&format!("  {:<14} ", r.id), &detail));
        }
    }
    out
}

pub fn run(ctx: &Context) -> anyhow::Result<ExitStatus> {
    let cat = ctx.catalog()?;
    let results = calibrate::run(&cat);
    let failing = results.iter().filter(|r| r.is_failure()).count();
    if ctx.json {
        ctx.printer.json(&Calibration {
            kind: "calibration",
            tool_version: env!("CARGO_PKG_VERSION"),
            anchors: &results,
            within_tolerance_count: results.iter().filter(|r| r.within_tolerance).count(),
            known_failing_count: results
                .iter()
                .filter(|r| !r.within_tolerance && r.known_failing.is_some())
                .count(),
            failing_count: failing,
        })?;
    } else {
        ctx.printer.out(&to_text(&results, ctx.printer.width()));
    }
    Ok(if failing > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_and_figures_read_as_printed() {
        assert_eq!(tolerance(Tolerance::Relative { fraction: 0.0 }), "exact");
        assert_eq!(tolerance(Tolerance::Relative { fraction: 0.3 }), "±30 %");
        assert_eq!(
            tolerance(Tolerance::Range {
                low: 2880.0,
                high: 5120.0
            }),
            "2,880–5,120"
        );
        assert_eq!(
            tolerance(Tolerance::Range {
                low: 6.7e6,
                high: 7.5e6
            }),
            "6.70e6–7.50e6"
        );
        assert_eq!(tolerance(Tolerance::AtMost { high: 64.0 }), "≤ 64");
        let w = wrapped("  [1] ", &"word ".repeat(40));
        assert!(w.lines().all(|l| l.chars().count() <= 80), "{w}");
        assert!(
            w.lines().skip(1).all(|l| l.starts_with("      word")),
            "{w}"
        );
        let exact = Tolerance::Relative { fraction: 0.0 };
        assert_eq!(figure(163_840.0, "B", exact), "163,840 B");
        assert_eq!(figure(3.78e24, "FLOP", exact), "3.78e24 FLOP");
        assert_eq!(
            figure(127.45, "GiB", Tolerance::Absolute { amount: 0.01 }),
            "127.45 GiB"
        );
        assert_eq!(
            figure(1.875, "GB", Tolerance::Absolute { amount: 0.05 }),
            "1.88 GB"
        );
    }
}
