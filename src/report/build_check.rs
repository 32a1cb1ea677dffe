//! `llmrig build check` as text: the verdict first, then every conflict with its reason, the
//! parts priced with their dates, power and circuits, and what the build can run.
use super::answer::circuits_text;
use super::plan::price_text;
use super::rig::build_parts_section;
use super::table::{fmt_int, wrap};
use crate::plan::check::{BuildCheck, Severity};

const GIB: f64 = (1u64 << 30) as f64;

fn tag(s: Severity) -> &'static str {
    match s {
        Severity::Blocks => "BLOCKS",
        Severity::Limits => "limits",
        Severity::Unknown => "check",
    }
}

/// The one-line answer: whether the build works as listed, and what it costs.
pub fn verdict_line(c: &BuildCheck) -> String {
    let count = |s: Severity| c.findings.iter().filter(|f| f.severity == s).count();
    let name = c.name.as_deref().unwrap_or("the build");
    let (blocks, limits, unknown) = (
        count(Severity::Blocks),
        count(Severity::Limits),
        count(Severity::Unknown),
    );
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut s = if c.passes {
        format!("{name}: passes, nothing blocks it")
    } else {
        format!(
            "{name}: does not work as listed, {blocks} blocking conflict{}",
            plural(blocks)
        )
    };
    if limits > 0 {
        s.push_str(&format!(", {limits} limit{}", plural(limits)));
    }
    if unknown > 0 {
        s.push_str(&format!(", {unknown} to check by hand"));
    }
    s.push_str(&format!("; {}", price_text(&c.build)));
    s
}

/// The whole report at `width` columns (whole lines when `None`).
pub fn to_text(c: &BuildCheck, width: Option<usize>) -> String {
    let mut out = String::new();
    let mut push = |text: &str, indent: usize| {
        for l in wrap(text, width, indent) {
            out.push_str(&l);
            out.push('\n');
        }
    };
    push(&verdict_line(c), 2);
    if !c.findings.is_empty() {
        push("", 0);
        push("Findings (BLOCKS: does not work as listed; limits: works below what the parts can do; check: the catalog lacks the figure)", 2);
        for f in &c.findings {
            push(
                &format!("{:<6} {}: {}", tag(f.severity), f.rule, f.message),
                7,
            );
        }
    }
    push("", 0);
    let b = &c.build;
    let title = format!(
        "Parts per node ({} node{})",
        b.nodes,
        if b.nodes > 1 { "s" } else { "" }
    );
    out.push_str(&build_parts_section(b, &title).to_terminal(width));
    let mut push = |text: &str, indent: usize| {
        for l in wrap(text, width, indent) {
            out.push_str(&l);
            out.push('\n');
        }
    };
    let n = &b.node;
    push(
        &format!(
            "Power per node: {} W DC at load, {} W at the wall ({} W idle); PSU capacity {}; circuits: {}.",
            fmt_int(n.dc_load_w),
            fmt_int(n.wall_load_w),
            fmt_int(n.wall_idle_w),
            if n.psu_capacity_w > 0.0 { format!("{} W", fmt_int(n.psu_capacity_w)) } else { "not in the catalog".into() },
            circuits_text(b)
        ),
        2,
    );
    if let Some(r) = &c.runs {
        let largest: Vec<String> = r
            .largest
            .iter()
            .map(|m| {
                format!(
                    "{} {} ({:.1} of {:.1} GiB per GPU)",
                    m.model_id,
                    m.format,
                    m.used_bytes_per_gpu / GIB,
                    m.usable_bytes_per_gpu / GIB
                )
            })
            .collect();
        let list = if largest.is_empty() {
            String::new()
        } else {
            format!("; largest: {}", largest.join(", "))
        };
        push(
            &format!(
                "Runs (inference, {} tokens of context, the most bits of bf16, q8_0, q4_k_m that fit): {} of {} catalog models{list}. 'llmrig compare -m MODEL -o {}' plans one.",
                fmt_int(r.context_tokens as f64),
                r.fitting_models,
                r.catalog_models,
                rig(c)
            ),
            2,
        );
    }
    out
}

/// The rig as `compare -o` takes it: `4xv100-pcie-32gb`, `3x4xv100-pcie-32gb`.
fn rig(c: &BuildCheck) -> String {
    let id = c.gpu_id.as_deref().unwrap_or("GPU");
    let per = c.build.node.gpus_per_node;
    match c.build.nodes {
        1 => format!("{per}x{id}"),
        k => format!("{k}x{per}x{id}"),
    }
}
