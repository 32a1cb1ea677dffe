//! Hugging Face `config.json` to a catalog [`Model`]. The file is deserialized into typed
//! structs (`fields`) that skip every field llmrig does not read, then mapped per `model_type`
//! (`arch`) with the defaults the Transformers config classes apply when a field is absent.
//! [`model_from_config`] is a pure function over the bytes, for file imports and Hub clients.
use super::safetensors::is_float;
use super::{file_url, kebab, ImportError, WeightSummary};
use crate::catalog::{Model, Norm};
use crate::plan::WeightFormat as Precision;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod arch;
mod families;
mod fields;

use fields::HfConfig;

/// Largest config.json read: real ones are a few kilobytes (the largest, with long per-layer
/// lists or quantization module lists, well under 1 MB).
pub(super) const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Licence recorded for imported models: the files do not say.
pub(super) const LICENSE: &str = "unknown (imported)";

/// Where a config came from: names it in errors and gives the id, repo and source URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOrigin {
    /// Names the config in errors.
    pub path: PathBuf,
    /// The Hugging Face repository, when the place it came from says (`org/name`).
    pub hf_repo: Option<String>,
    /// A display name from where it was found (its directory), when that is a name.
    pub name_hint: Option<String>,
    /// The `source` recorded on the model.
    pub source: String,
}

impl ConfigOrigin {
    /// The origin of a file on disk: a Hugging Face cache snapshot
    /// (`models--org--name/snapshots/<hash>/config.json`) gives its repo, a model directory
    /// its name.
    pub fn of_file(path: &Path) -> ConfigOrigin {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let is_config = abs.file_name().is_some_and(|n| n == "config.json");
        let dir = abs.parent().filter(|_| is_config);
        let hf_repo = dir
            .and_then(|snap| {
                snap.parent()
                    .filter(|p| p.file_name().is_some_and(|n| n == "snapshots"))
                    .and_then(Path::parent)
            })
            .and_then(|c| c.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("models--"))
            .map(|repo| repo.replacen("--", "/", 1));
        let name_hint = if is_config {
            dir.and_then(Path::file_name)
        } else {
            abs.file_stem()
        }
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !kebab(n).is_empty());
        ConfigOrigin {
            path: path.to_path_buf(),
            hf_repo,
            name_hint,
            source: file_url(path),
        }
    }
}

/// Maps `bytes`, the contents of `path`; `weights` (the directory's safetensors) supply the
/// exact count.
pub(super) fn model_from_file(
    path: &Path,
    bytes: &[u8],
    weights: Option<&WeightSummary>,
) -> Result<(Model, Vec<String>), ImportError> {
    let (mut model, mut notes) = model_from_config(bytes, &ConfigOrigin::of_file(path))?;
    let counts = model.param_counts();
    match weights {
        Some(w) if w.by_dtype.keys().all(|d| is_float(d)) => {
            model.params_published = w.params;
            if model.native_format.is_none() {
                model.native_format = format_of_floats(w);
            }
            if differs(counts.total, w.params) {
                notes.push(format!(
                    "config.json gives {} parameters but the weights hold {} (buffers, extra layers such as \
                     multi-token prediction, or a feature the mapping misses): params_published is the file count",
                    counts.total, w.params
                ));
            }
        }
        Some(w) => {
            let ints: Vec<&str> = w
                .by_dtype
                .keys()
                .map(String::as_str)
                .filter(|d| !is_float(d))
                .collect();
            notes.push(format!(
                "the weights hold integer tensors ({}) that may pack quantized weights: params_published is the \
                 count computed from config.json, not the {} stored elements",
                ints.join(", "),
                w.params
            ));
        }
        None => notes.push("params_published is the count computed from config.json".into()),
    }
    model.notes = (!notes.is_empty()).then(|| notes.join("; "));
    Ok((model, notes))
}

/// The 16- or 32-bit format most of a checkpoint's elements are stored in.
fn format_of_floats(w: &WeightSummary) -> Option<Precision> {
    let (dtype, _) = w.by_dtype.iter().max_by_key(|(_, d)| d.params)?;
    match dtype.as_str() {
        "BF16" => Some(Precision::Bf16),
        "F16" => Some(Precision::Fp16),
        "F32" => Some(Precision::Fp32),
        _ => None,
    }
}

/// More than 1 % apart.
pub(super) fn differs(a: u64, b: u64) -> bool {
    a.abs_diff(b) as f64 > 0.01 * a.max(b) as f64
}

fn config_err(path: &Path, message: String) -> ImportError {
    ImportError::Config {
        path: path.to_path_buf(),
        message,
    }
}

/// Maps a config.json's bytes to a model: the architecture from the fields, the parameter
/// count computed (params_published, active_params_published), the storage format from
/// `quantization_config`, and notes on what was assumed or could not be read.
pub fn model_from_config(
    bytes: &[u8],
    origin: &ConfigOrigin,
) -> Result<(Model, Vec<String>), ImportError> {
    let path = origin.path.as_path();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let json_err = |cause| ImportError::Json {
        path: path.to_path_buf(),
        cause,
    };
    let cfg: HfConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let cause = e.into_inner();
        if cause.classify() != serde_json::error::Category::Data || field == "." {
            return json_err(cause);
        }
        let text = cause.to_string();
        let sep = if text.starts_with("must be") {
            " "
        } else {
            ": "
        };
        config_err(path, format!("field '{field}'{sep}{text}"))
    })?;
    de.end().map_err(json_err)?;
    let model_type = cfg.model_type.clone().ok_or_else(|| {
        config_err(
            path,
            "missing field 'model_type' (is this a Hugging Face config.json?)".into(),
        )
    })?;
    let mut notes = Vec::new();
    let mut m = arch::map(path, &model_type, &cfg, &mut notes)?;
    if arch::is_unknown(&model_type) {
        let keys: fields::Keys = serde_json::from_slice(bytes).map_err(json_err)?;
        let unread: Vec<String> = keys
            .0
            .into_iter()
            .filter(|k| !fields::READ.contains(&k.as_str()) && !fields::is_irrelevant(k))
            .collect();
        if !unread.is_empty() {
            notes.push(format!("could not read: {}", unread.join(", ")));
        }
    }
    let (id, name, hf_repo) = identity(origin, cfg.name_or_path.as_deref(), &model_type);
    m.id = id;
    m.name = name;
    m.hf_repo = hf_repo;
    m.family = model_type.clone();
    m.architecture = cfg
        .architectures
        .as_ref()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_else(|| model_type.clone());
    m.license = LICENSE.into();
    m.source = origin.source.clone();
    if m.native_format.is_none() {
        m.native_format = cfg
            .quantization_config
            .as_ref()
            .and_then(|q| quant_format(q, &mut notes));
    }
    check_ranges(&m).map_err(|message| config_err(path, message))?;
    let counts = m.param_counts();
    m.params_published = counts.total;
    if m.is_moe() {
        m.active_params_published = Some(counts.active);
    }
    if cfg.vision_config.is_some() && m.vision_params.is_none() {
        notes.push(
            "the config has a vision encoder, which is not counted here (its weights are in the files)"
                .into(),
        );
    }
    Ok((m, notes))
}

/// The storage format `quantization_config` describes, if llmrig has it.
fn quant_format(q: &fields::QuantConfig, notes: &mut Vec<String>) -> Option<Precision> {
    let method = q.quant_method.as_deref().unwrap_or("").to_ascii_lowercase();
    let algo = q.quant_algo.as_deref().unwrap_or("").to_ascii_lowercase();
    let format = q.format.as_deref().unwrap_or("").to_ascii_lowercase();
    let found = match method.as_str() {
        "mxfp4" => Some(Precision::Mxfp4),
        "fp8" if q.weight_block_size.is_some() => Some(Precision::Fp8Block),
        "fp8" | "fbgemm_fp8" => Some(Precision::Fp8),
        "gptq" if q.bits.is_none_or(|b| b.0 == 4) => Some(Precision::Gptq),
        "awq" if q.bits.is_none_or(|b| b.0 == 4) => Some(Precision::Awq),
        "bitsandbytes" if q.load_in_8bit == Some(true) => Some(Precision::Int8),
        "bitsandbytes" if q.load_in_4bit == Some(true) => Some(
            match (
                q.bnb_4bit_quant_type.as_deref(),
                q.bnb_4bit_use_double_quant,
            ) {
                (Some("nf4"), Some(true)) => Precision::Nf4Dq,
                (Some("nf4"), _) => Precision::Nf4,
                _ => return unknown_quant(notes, &method),
            },
        ),
        "modelopt" if algo == "nvfp4" => Some(Precision::Nvfp4),
        "modelopt" if algo == "fp8" => Some(Precision::Fp8),
        "compressed-tensors" if format.contains("nvfp4") => Some(Precision::Nvfp4),
        "compressed-tensors" if format.contains("float-quantized") => Some(Precision::Fp8),
        _ => None,
    };
    found.or_else(|| unknown_quant(notes, &method))
}

fn unknown_quant(notes: &mut Vec<String>, method: &str) -> Option<Precision> {
    let shown: String = method.chars().take(40).collect();
    notes.push(format!(
        "quantization_config '{shown}' is not a format llmrig maps: plans default to bf16 unless --precision says"
    ));
    None
}

/// A model with every architecture field unset, for the mappers to fill.
pub(super) fn skeleton() -> Model {
    Model {
        id: String::new(),
        name: String::new(),
        aliases: Vec::new(),
        family: String::new(),
        hf_repo: None,
        architecture: String::new(),
        hidden_size: 0,
        num_hidden_layers: 0,
        num_attention_heads: 0,
        num_key_value_heads: 0,
        num_key_value_heads_per_layer: Vec::new(),
        head_dim: None,
        intermediate_size: 0,
        gated_mlp: false,
        vocab_size: 0,
        tie_word_embeddings: false,
        max_position_embeddings: 0,
        learned_position_embeddings: false,
        norm: Norm::Rmsnorm,
        norms_per_layer: 2,
        qk_norm: false,
        qkv_bias: false,
        o_bias: false,
        mlp_bias: false,
        lm_head_bias: false,
        attention_sinks: false,
        attn_output_gate: false,
        moe_router_bias: false,
        params_published_includes_tied_head: false,
        num_local_experts: None,
        num_experts_per_tok: None,
        moe_intermediate_size: None,
        n_shared_experts: None,
        shared_expert_intermediate_size: None,
        shared_expert_gate: false,
        first_k_dense_replace: None,
        moe_layer_step: None,
        q_lora_rank: None,
        kv_lora_rank: None,
        qk_rope_head_dim: None,
        qk_nope_head_dim: None,
        v_head_dim: None,
        sliding_window: None,
        sliding_window_layers: None,
        sliding_window_pattern: None,
        full_attention_interval: None,
        linear_num_key_heads: None,
        linear_num_value_heads: None,
        linear_key_head_dim: None,
        linear_value_head_dim: None,
        linear_conv_kernel_dim: None,
        vision_params: None,
        native_format: None,
        params_published: 0,
        active_params_published: None,
        active_params_published_excludes: Vec::new(),
        license: String::new(),
        source: String::new(),
        sources: BTreeMap::new(),
        notes: None,
        memo: Default::default(),
    }
}

/// Checks every architecture field with the catalog's own rules
/// ([`crate::catalog::check_model_ranges`]).
pub(super) fn check_ranges(m: &Model) -> Result<(), String> {
    crate::catalog::check_model_ranges(m)
        .map_err(|(field, message)| format!("field '{field}' = {message}"))
}

/// Id, display name and Hugging Face repo: the origin's repo, else its name hint (the model
/// directory), else `_name_or_path`, else the model type.
fn identity(
    origin: &ConfigOrigin,
    name_or_path: Option<&str>,
    model_type: &str,
) -> (String, String, Option<String>) {
    let name_or_path = name_or_path.filter(|s| !s.is_empty());
    // `org/name` (not a local path) is a hub repo.
    let repo_from_json = name_or_path
        .filter(|s| !s.starts_with(['/', '.', '~']) && s.matches('/').count() == 1)
        .map(str::to_owned);
    if let Some(repo) = &origin.hf_repo {
        let name = repo.rsplit('/').next().unwrap_or(repo).to_owned();
        return (kebab(&name), name, Some(repo.clone()));
    }
    let name = origin
        .name_hint
        .clone()
        .or_else(|| {
            name_or_path
                .and_then(|p| p.rsplit(['/', '\\']).next())
                .map(str::to_owned)
        })
        .filter(|n| !kebab(n).is_empty())
        .unwrap_or_else(|| model_type.to_owned());
    (kebab(&name), name, repo_from_json)
}

#[cfg(test)]
mod tests;
