//! The summary a report opens with, before any chart: each plan's recommendation and each
//! probe run's verdict, one line each. `llmrig report` prints the same lines.
use super::input::{OptionDoc, PlanDoc};
use super::run_charts::NamedRun;
use super::table::{fmt_int, fmt_num};
use super::verdict;
use crate::catalog::Catalog;
use crate::probe::schema::{PhaseStatus, Severity};

fn usd(v: f64) -> String {
    format!("${}", fmt_int(v))
}

fn price(o: &OptionDoc) -> String {
    match o.build.as_ref().and_then(|b| b.price()) {
        Some((v, true)) => usd(v),
        Some((v, false)) => format!("≥ {} (some parts unpriced)", usd(v)),
        None => "unpriced".into(),
    }
}

fn speed(o: &OptionDoc) -> Option<String> {
    o.speed
        .as_ref()
        .map(|s| format!("{} tokens/s decode", fmt_num(s.decode_tokens_per_s)))
        .or_else(|| {
            o.training
                .map(|t| format!("{} days of training", fmt_num(t.wall_clock_days)))
        })
}

/// One line for a saved plan or comparison.
pub fn plan_line(name: &str, p: &PlanDoc) -> String {
    let what = if p.kind == "comparison" {
        "comparison"
    } else {
        "plan"
    };
    let head = format!("{} {what} ({name})", p.model.name);
    let fits = p.options.iter().filter(|o| o.fits).count();
    // A schema-1 plan could recommend a lower bound; only a complete price is a recommendation.
    let rec = p
        .recommended
        .and_then(|i| p.options.get(i))
        .filter(|o| o.build.as_ref().and_then(|b| b.complete_usd()).is_some());
    let Some(o) = rec else {
        return if fits == 0 {
            format!(
                "{head}: nothing fits on the {} options considered.",
                p.options.len()
            )
        } else {
            format!("{head}: no recommendation; none of the {fits} fits has every part priced.")
        };
    };
    let mut s = format!("{head}: recommended {} at {}", o.label(), price(o));
    if let Some(b) = &o.build {
        if let Some(date) = &b.newest_price_date {
            let stale = match b.stale_prices.len() {
                0 => String::new(),
                n => format!("; {n} older than 18 months"),
            };
            s.push_str(&format!(" (prices up to {date}{stale})"));
        }
    }
    if let Some(sp) = speed(o) {
        s.push_str(&format!(", {sp}"));
    }
    let complete = p
        .options
        .iter()
        .filter(|o| o.fits && o.build.as_ref().and_then(|b| b.complete_usd()).is_some())
        .count();
    s.push_str(&if complete == 1 {
        "; the only fully priced fit".to_owned()
    } else {
        format!("; the cheapest of {complete} fully priced fits")
    });
    if let Some(r) = p.runner_up.and_then(|i| p.options.get(i)) {
        s.push_str(&format!("; runner-up {} at {}", r.label(), price(r)));
    }
    match p.fastest.and_then(|i| p.options.get(i)) {
        Some(f) if !std::ptr::eq(f, o) => s.push_str(&format!(
            "; fastest fit {}{} at {}",
            f.label(),
            speed(f).map(|v| format!(", {v},")).unwrap_or_default(),
            price(f)
        )),
        _ => {}
    }
    s.push('.');
    s
}

/// One line for a probe run: what ran and its findings.
pub fn run_line(name: &str, r: &crate::probe::schema::ProbeRun) -> String {
    let host = r.host.hostname.as_deref().unwrap_or("unnamed host");
    let gpus = match r.gpus.len() {
        0 => "no GPU".to_owned(),
        1 => format!("1 GPU ({})", r.gpus[0].name),
        n => format!("{n} GPUs"),
    };
    let skipped = r
        .phases
        .iter()
        .filter(|p| p.status != PhaseStatus::Ok)
        .count();
    let count = |sev: Severity| r.findings.iter().filter(|f| f.severity == sev).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let verdict = match (errors, warnings, r.interrupted) {
        (_, _, true) => "interrupted, incomplete".to_owned(),
        (0, 0, _) => "no warnings or errors".to_owned(),
        (0, w, _) => format!("{w} warning(s), no errors"),
        (e, w, _) => format!("FAILED with {e} error(s) and {w} warning(s)"),
    };
    format!(
        "Probe run {name}: {host}, {gpus}, {} phases ({skipped} skipped or incomplete); verdict: {verdict}.",
        r.phases.len()
    )
}

/// The summary lines: plans, runs, then each plan against the runs.
pub fn lines(plans: &[(&str, &PlanDoc)], runs: &[NamedRun], cat: &Catalog) -> Vec<String> {
    let mut out: Vec<String> = plans.iter().map(|(n, p)| plan_line(n, p)).collect();
    out.extend(runs.iter().map(|(n, r)| run_line(n, r)));
    for (name, p) in plans {
        for c in verdict::checks(p, runs, cat) {
            out.push(format!(
                "{} against plan {name}: {} {}: memory bandwidth {}, dense {} {}.",
                p.model.name,
                c.run,
                c.device,
                c.bandwidth.verdict(),
                c.dtype.name(),
                c.compute.verdict()
            ));
        }
    }
    out
}
