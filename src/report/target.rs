//! The answer to `--target-tokens-per-s` or `--target-days`: the smallest and the cheapest
//! build that meet it, or that none does and the closest.
use super::plan::usd;
use super::table::{fmt_int, fmt_num, wrap};
use crate::plan::target::{Target, TargetPick};
use crate::plan::Plan;

fn target_text(t: Target) -> String {
    match t {
        Target::DecodeTokensPerS(x) => format!("decode at least {} tok/s per sequence", fmt_num(x)),
        Target::TrainingDays(d) => format!("train in at most {} days", fmt_num(d)),
        Target::Users(n) => format!("serve {} concurrent users", fmt_int(n as f64)),
    }
}

fn pick_text(p: &TargetPick) -> String {
    let figure = match (p.decode_tokens_per_s, p.training_days) {
        (Some(s), _) => format!("{} tok/s per user", fmt_num(s)),
        (None, Some(d)) => format!("{} days", fmt_num(d)),
        _ => "-".into(),
    };
    let price = match (p.price_usd, p.price_complete) {
        (Some(v), true) => usd(v),
        (Some(v), false) => format!("≥ {} (some parts unpriced)", usd(v)),
        (None, _) => "unpriced".into(),
    };
    let layout = p
        .layout
        .map(|l| format!(", {}", l.describe()))
        .unwrap_or_default();
    format!("{}{layout}: {figure}, {price}", p.rig)
}

/// Lines for the answer block.
pub fn answer_lines(plan: &Plan, width: Option<usize>) -> Vec<String> {
    let Some(t) = &plan.target else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let inner = width.map(|w| w.saturating_sub(2).max(20));
    let mut line = |s: String| out.extend(wrap(&s, inner, 4).into_iter().map(|l| format!("  {l}")));
    if t.met {
        line(format!("Target, {}:", target_text(t.target)));
        if let Some(p) = &t.smallest {
            line(format!("smallest {}", pick_text(p)));
        }
        match &t.cheapest {
            Some(p) if Some(p) != t.smallest.as_ref() => line(format!("cheapest {}", pick_text(p))),
            Some(_) => line("cheapest: the same build".into()),
            None => line("cheapest: no build that meets it has a price".into()),
        }
    } else {
        line(format!(
            "Target, {}: no build in the catalog meets it (each GPU type grown up to {} node{}; --max-nodes raises that).",
            target_text(t.target),
            fmt_int(t.searched_up_to_nodes as f64),
            if t.searched_up_to_nodes == 1 { "" } else { "s" }
        ));
        if let Some(p) = &t.closest {
            line(format!("closest {}", pick_text(p)));
        }
    }
    out
}
