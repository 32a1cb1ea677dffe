//! `gpus show` and `models show`: one entry as a readable card of labelled lines, values
//! wrapped under themselves to the terminal width (`--json` prints the entry itself).
use super::table::{fmt_int, fmt_num, wrap};
use crate::catalog::{preferred_price, Gpu, Model, Price};
use crate::plan::{memory, rank, PlanRequest, WeightFormat, Workload};
use std::collections::BTreeMap;

/// Width of the label column, spaces included.
const LABEL: usize = 14;

/// A card: a title line, then `label  value` lines.
struct Card {
    title: String,
    fields: Vec<(String, String)>,
}

impl Card {
    fn add(&mut self, label: &str, value: impl Into<String>) {
        let value = value.into();
        if !value.is_empty() {
            self.fields.push((label.to_owned(), value));
        }
    }

    fn render(&self, width: Option<usize>) -> String {
        let mut out = wrap(&self.title, width, 2).join("\n") + "\n";
        for (label, value) in &self.fields {
            let lines = wrap(value, width.map(|w| w.saturating_sub(LABEL).max(24)), 0);
            for (i, l) in lines.iter().enumerate() {
                let head = if i == 0 { label.as_str() } else { "" };
                out.push_str(&format!("  {head:<w$}{l}\n", w = LABEL - 2));
            }
        }
        out
    }
}

fn aliases(id: &str, aliases: &[String]) -> String {
    if aliases.is_empty() {
        format!("({id})")
    } else {
        format!("({id}; also {})", aliases.join(", "))
    }
}

/// `$30,000 estimate, 2026-06 (6 months old): note. source`
fn price_line(p: &Price, as_of: Option<&str>) -> String {
    let kind = format!("{:?}", p.kind)
        .chars()
        .fold(String::new(), |mut s, c| {
            if c.is_uppercase() && !s.is_empty() {
                s.push(' ');
            }
            s.push(c.to_ascii_lowercase());
            s
        });
    let age = as_of
        .and_then(|d| rank::price_age_months(&p.date, d))
        .map(|m| {
            if rank::is_stale(m) {
                format!(" ({m} months old: old)")
            } else {
                format!(" ({m} months old)")
            }
        })
        .unwrap_or_default();
    let note = p
        .note
        .as_deref()
        .map(|n| format!(": {n}"))
        .unwrap_or_default();
    format!(
        "${} {kind}, {}{age}{note}. {}",
        fmt_int(p.usd),
        p.date,
        p.source
    )
}

fn provenance(
    card: &mut Card,
    prices: &[Price],
    source: &str,
    sources: &BTreeMap<String, String>,
    notes: Option<&str>,
    origin: Option<&str>,
    as_of: Option<&str>,
) {
    let preferred = preferred_price(prices);
    let mut sorted: Vec<&Price> = prices.iter().collect();
    sorted.sort_by(|a, b| b.date.cmp(&a.date));
    for (i, p) in sorted.iter().enumerate() {
        let mark = if preferred.is_some_and(|q| std::ptr::eq(q, *p)) {
            "[used for plans] "
        } else {
            ""
        };
        card.add(
            if i == 0 { "prices" } else { "" },
            format!("{mark}{}", price_line(p, as_of)),
        );
    }
    if prices.is_empty() {
        card.add("prices", "none: plans list this part as unpriced");
    }
    card.add("source", source);
    for (field, url) in sources {
        card.add("", format!("{field}: {url}"));
    }
    card.add("notes", notes.unwrap_or_default());
    card.add("origin", origin.unwrap_or_default());
}

/// A GPU entry as a card.
pub fn gpu(g: &Gpu, origin: Option<&str>, as_of: Option<&str>, width: Option<usize>) -> String {
    let mut c = Card {
        title: format!("{} {}", g.name, aliases(&g.id, &g.aliases)),
        fields: Vec::new(),
    };
    let cc = g
        .compute_capability
        .as_deref()
        .map(|v| format!(", compute capability {v}"))
        .unwrap_or_default();
    c.add(
        "vendor",
        format!("{:?}, {}{cc}", g.vendor, g.architecture).to_lowercase(),
    );
    c.add(
        "memory",
        format!(
            "{} GiB {} ({} GiB usable by plans), {} GB/s",
            fmt_num(g.memory_gib),
            g.memory_type,
            fmt_num(
                g.memory_bytes() * crate::plan::constants::USABLE_VRAM_FRACTION
                    / (1u64 << 30) as f64
            ),
            fmt_int(g.memory_bandwidth_gb_per_s)
        ),
    );
    let t = &g.dense_tflops;
    let peaks: Vec<String> = [
        ("fp32", t.fp32),
        ("tf32", t.tf32),
        ("bf16", t.bf16),
        ("fp16", t.fp16),
        ("fp16 acc16", t.fp16_acc16),
        ("fp8", t.fp8),
        ("int8", t.int8),
        ("int4", t.int4),
    ]
    .iter()
    .filter_map(|(n, v)| v.map(|v| format!("{n} {}", fmt_num(v))))
    .collect();
    c.add(
        "dense peak",
        format!("{} TFLOP/s (TOP/s for integers)", peaks.join(" · ")),
    );
    c.add(
        "power",
        format!(
            "{} W board power{}",
            fmt_int(g.tdp_w),
            if g.power_connectors.is_empty() {
                String::new()
            } else {
                format!("; connectors {}", g.power_connectors.join(", "))
            }
        ),
    );
    let mut form = format!(
        "{:?}, {:?} cooling, PCIe {} ×{}",
        g.form_factor, g.cooling, g.pcie_gen, g.pcie_lanes
    )
    .to_lowercase();
    if let Some(w) = g.slot_width {
        form.push_str(&format!(", {w} slots"));
    }
    if let Some(l) = g.length_mm {
        form.push_str(&format!(", {} mm long", fmt_num(l)));
    }
    c.add("form", form);
    if let Some(f) = &g.fabric {
        let bw = g
            .fabric_gb_per_s
            .map(|b| format!(", {} GB/s per GPU", fmt_int(b)))
            .unwrap_or_default();
        let n = g
            .fabric_max_gpus
            .map(|n| format!(", joins up to {n} GPUs"))
            .unwrap_or_default();
        c.add("fabric", format!("{f}{bw}{n}"));
    }
    provenance(
        &mut c,
        &g.prices,
        &g.source,
        &g.sources,
        g.notes.as_deref(),
        origin,
        as_of,
    );
    c.render(width)
}

/// A model entry as a card, with its computed parameters, KV cache and weight sizes.
pub fn model(m: &Model, origin: Option<&str>, width: Option<usize>) -> String {
    let mut c = Card {
        title: format!("{} {}", m.name, aliases(&m.id, &m.aliases)),
        fields: Vec::new(),
    };
    let hf = m
        .hf_repo
        .as_deref()
        .map(|r| format!(", {r}"))
        .unwrap_or_default();
    c.add("family", format!("{}, {}{hf}", m.family, m.architecture));
    let p = m.param_counts();
    let mut params = format!(
        "{:.2} B computed ({} published)",
        p.total as f64 / 1e9,
        fmt_int(m.params_published as f64)
    );
    if m.is_moe() {
        params.push_str(&format!(
            ", {:.2} B active per token",
            p.active as f64 / 1e9
        ));
    }
    c.add("parameters", params);
    let mut shape = format!(
        "{} layers, hidden {}, {} heads / {} KV heads of {}, MLP {}{}",
        m.num_hidden_layers,
        fmt_int(m.hidden_size as f64),
        m.num_attention_heads,
        m.num_key_value_heads,
        m.head_dim(),
        fmt_int(m.intermediate_size as f64),
        if m.gated_mlp { " (gated)" } else { "" }
    );
    if let (Some(e), Some(k)) = (m.num_local_experts, m.num_experts_per_tok) {
        shape.push_str(&format!(", {e} experts ({k} per token)"));
    }
    c.add("shape", shape);
    c.add(
        "vocabulary",
        format!(
            "{}, embeddings {}",
            fmt_int(m.vocab_size as f64),
            if m.tie_word_embeddings {
                "tied to the head"
            } else {
                "untied"
            }
        ),
    );
    c.add(
        "context",
        format!("{} tokens", fmt_int(m.max_position_embeddings as f64)),
    );
    let req = PlanRequest::new(Workload::Infer, 1);
    let mm = memory::model_memory(m, &req);
    c.add(
        "KV cache",
        format!(
            "{} bytes per token in bf16 ({} GiB at 4,096 tokens)",
            fmt_int(mm.kv_bytes_per_token),
            fmt_num(mm.kv_bytes_per_token * 4096.0 / (1u64 << 30) as f64)
        ),
    );
    let sizes: Vec<String> = [
        WeightFormat::Bf16,
        WeightFormat::Fp8,
        WeightFormat::Int4,
        WeightFormat::Q4KM,
    ]
    .iter()
    .map(|&w| {
        let r = PlanRequest {
            weights: w,
            ..req.clone()
        };
        format!(
            "{} {} GB",
            w.name(),
            fmt_num(memory::model_memory(m, &r).weights_bytes / 1e9)
        )
    })
    .collect();
    c.add("weights", sizes.join(" · "));
    c.add("license", m.license.clone());
    provenance(
        &mut c,
        &[],
        &m.source,
        &m.sources,
        m.notes.as_deref(),
        origin,
        None,
    );
    // Models have no price.
    c.fields
        .retain(|(l, v)| !(l == "prices" && v.starts_with("none")));
    c.render(width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn cards_are_labelled_lines_that_fit_the_width() {
        let cat = Catalog::embedded().unwrap();
        let g = cat.gpus.get("h100-sxm5-80gb").unwrap();
        let s = gpu(g, Some("embedded:x.toml"), Some("2026-06-01"), Some(80));
        assert!(
            s.starts_with("NVIDIA H100 SXM5 80GB (h100-sxm5-80gb; also h100"),
            "{s}"
        );
        assert!(
            s.contains("\n  memory      80 GiB HBM3 (73.6 GiB usable by plans), 3,350 GB/s\n"),
            "{s}"
        );
        assert!(s.contains("bf16 989"), "{s}");
        assert!(s.contains("[used for plans]"), "{s}");
        assert!(!s.contains("[gpu"), "not TOML: {s}");
        assert!(fits(&s), "{s}");
        let m = cat.models.get("llama-3.1-8b").unwrap();
        let s = model(m, None, Some(80));
        assert!(
            s.contains(
                "\n  KV cache    131,072 bytes per token in bf16 (0.5 GiB at 4,096 tokens)\n"
            ),
            "{s}"
        );
        assert!(s.contains("32 heads / 8 KV heads of 128"), "{s}");
        assert!(fits(&s), "{s}");
    }

    /// Every line fits 80 columns, except a URL too long for any line, which stays whole.
    fn fits(s: &str) -> bool {
        s.lines().all(|l| {
            l.chars().count() <= 80 || {
                let words: Vec<&str> = l.split_whitespace().collect();
                words
                    .last()
                    .is_some_and(|w| w.starts_with("http") && w.len() > 60)
            }
        })
    }
}
