//! `llmrig import PATH`: the architecture and exact weight bytes of a model on disk.
use super::source::{self, Named};
use super::{Context, ExitStatus};
use crate::import::{import, HubSource, ImportedModel};
use crate::report::table::{fmt_int, fmt_num, new_table};
use std::path::Path;

pub fn run(ctx: &Context, path: &Path, offline: bool) -> anyhow::Result<ExitStatus> {
    // A path that is not valid UTF-8 can only be a local file.
    let named = match path.to_str() {
        Some(name) => source::classify(name, None)?,
        None => Named::Path(path),
    };
    let (imported, hub) = match named {
        Named::Hub { r, forced } => {
            let (imported, hub) = source::import_hub(None, &r, forced, offline)?;
            (imported, Some(hub))
        }
        Named::Path(p) => (import(p)?, None),
        Named::Catalog => (import(path)?, None),
    };
    if ctx.json {
        let mut value = serde_json::to_value(&imported)?;
        if let Some(obj) = value.as_object_mut() {
            if let Some(m) = &imported.model {
                obj.insert(
                    "computed_params".into(),
                    serde_json::to_value(m.param_counts())?,
                );
            }
            if let Some(hub) = &hub {
                obj.insert("hub".into(), serde_json::to_value(hub)?);
            }
        }
        ctx.printer.json(&value)?;
    } else {
        ctx.printer.out(&render(&imported, hub.as_ref()));
        source::print_notes(ctx, &imported);
    }
    Ok(ExitStatus::Success)
}

/// Two tables: where it came from, the architecture and weight totals; then bytes per dtype.
fn render(imp: &ImportedModel, hub: Option<&HubSource>) -> String {
    let mut t = new_table(&["field", "value"]);
    if let Some(h) = hub {
        let transferred = if h.requests == 0 {
            "nothing (cache)".to_owned()
        } else {
            format!(
                "{} bytes in {} requests",
                fmt_int(h.transferred_bytes as f64),
                h.requests
            )
        };
        for (k, v) in [
            ("hub repo", format!("{}@{}", h.repo, h.revision)),
            ("commit", h.commit.clone()),
            ("transferred", transferred),
            (
                "weight files",
                format!(
                    "{} bytes, not downloaded",
                    fmt_int(h.weight_file_bytes as f64)
                ),
            ),
        ] {
            t.add_row(vec![k.to_owned(), v]);
        }
    }
    if let Some(m) = &imp.model {
        let c = m.param_counts();
        let mut rows = vec![
            ("id", m.id.clone()),
            ("architecture", m.architecture.clone()),
            ("layers", m.num_hidden_layers.to_string()),
            ("hidden", m.hidden_size.to_string()),
            (
                "heads / kv heads",
                format!("{}/{}", m.num_attention_heads, m.num_key_value_heads),
            ),
            ("head dim", m.head_dim().to_string()),
            ("intermediate", m.intermediate_size.to_string()),
            ("vocab", m.vocab_size.to_string()),
            ("context", fmt_int(m.max_position_embeddings as f64)),
            ("tied embeddings", m.tie_word_embeddings.to_string()),
            ("computed params", fmt_int(c.total as f64)),
            ("params published", fmt_int(m.params_published as f64)),
        ];
        if m.is_moe() {
            rows.push((
                "experts (per token)",
                format!(
                    "{} ({})",
                    m.num_local_experts.unwrap_or(0),
                    m.num_experts_per_tok.unwrap_or(0)
                ),
            ));
            rows.push(("computed active params", fmt_int(c.active as f64)));
        }
        if let Some(w) = m.sliding_window {
            rows.push((
                "sliding window",
                format!("{w} on {} layers", m.sliding_layers()),
            ));
        }
        if m.is_hybrid() {
            rows.push((
                "linear-attention layers",
                format!("{} of {}", m.linear_layers(), m.num_hidden_layers),
            ));
        }
        if let Some(f) = m.native_format {
            rows.push(("weights stored as", f.name().to_owned()));
        }
        for (k, v) in rows {
            t.add_row(vec![k.to_owned(), v]);
        }
    }
    if let Some(w) = &imp.weights {
        let format = serde_json::to_value(w.format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut rows = vec![
            ("format", format),
            ("files", w.files.len().to_string()),
            ("tensors", fmt_int(w.tensors as f64)),
            ("params in files", fmt_int(w.params as f64)),
            (
                "weight bytes",
                format!(
                    "{} ({} GiB)",
                    fmt_int(w.bytes as f64),
                    fmt_num(w.bytes as f64 / (1u64 << 30) as f64)
                ),
            ),
            ("bits per weight", format!("{:.3}", w.bits_per_weight)),
        ];
        if let Some(ft) = &w.gguf_file_type {
            rows.push(("gguf file type", ft.clone()));
        }
        for (k, v) in rows {
            t.add_row(vec![k.to_owned(), v]);
        }
    }
    let mut out = t.to_string();
    if let Some(w) = imp.weights.as_ref().filter(|w| !w.by_dtype.is_empty()) {
        let mut d = new_table(&["dtype", "params", "bytes", "share of bytes"]);
        for (dtype, b) in &w.by_dtype {
            let share = if w.bytes == 0 {
                0.0
            } else {
                100.0 * b.bytes as f64 / w.bytes as f64
            };
            d.add_row(vec![
                dtype.clone(),
                fmt_int(b.params as f64),
                fmt_int(b.bytes as f64),
                format!("{share:.1} %"),
            ]);
        }
        out.push('\n');
        out.push_str(&d.to_string());
    }
    out
}
