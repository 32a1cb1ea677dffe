//! Hugging Face `config.json` to a catalog [`Model`], per `model_type`, with the defaults the
//! Transformers config classes apply when a field is absent.
use super::safetensors::is_float;
use super::{file_url, kebab, parse_json, ImportError, WeightSummary};
use crate::catalog::{Model, Norm};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `model_type` values mapped here (others fall back to Llama conventions).
const KNOWN_TYPES: &[&str] = &[
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "gemma2",
    "phi3",
    "falcon",
    "gpt2",
    "gptj",
    "gpt_neo",
    "deepseek_v3",
];

/// Licence recorded for imported models: the files do not say.
pub(super) const LICENSE: &str = "unknown (imported)";

/// Maps `bytes`, the contents of `path`; `weights` (the directory's safetensors) supply the
/// exact count.
pub(super) fn model_from_file(
    path: &Path,
    bytes: &[u8],
    weights: Option<&WeightSummary>,
) -> Result<(Model, Vec<String>), ImportError> {
    let json: Map<String, Value> = parse_json(path, bytes)?;
    let mut notes = Vec::new();
    let mut model = model_from_json(path, &json, &mut notes)?;
    let counts = model.param_counts();
    model.params_published = counts.total;
    match weights {
        Some(w) if w.by_dtype.keys().all(|d| is_float(d)) => {
            model.params_published = w.params;
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
    if model.is_moe() {
        model.active_params_published = Some(counts.active);
    }
    if !notes.is_empty() {
        model.notes = Some(notes.join("; "));
    }
    Ok((model, notes))
}

/// More than 1 % apart.
pub(super) fn differs(a: u64, b: u64) -> bool {
    a.abs_diff(b) as f64 > 0.01 * a.max(b) as f64
}

/// Maps a parsed config; `path` names the file in errors and gives the id.
pub(super) fn model_from_json(
    path: &Path,
    json: &Map<String, Value>,
    notes: &mut Vec<String>,
) -> Result<Model, ImportError> {
    let model_type = match json.get("model_type") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(config_err(
                path,
                "field 'model_type' must be a string".into(),
            ))
        }
        None => {
            return Err(config_err(
                path,
                "missing field 'model_type' (is this a Hugging Face config.json?)".into(),
            ))
        }
    };
    let c = Cfg {
        path,
        map: json,
        model_type: &model_type,
    };
    let mut m = map_architecture(&c, notes)?;
    let (id, name, hf_repo) = identity(path, json, &model_type);
    m.id = id;
    m.name = name;
    m.hf_repo = hf_repo;
    m.family = model_type.clone();
    m.architecture = match json
        .get("architectures")
        .and_then(|a| a.get(0))
        .and_then(Value::as_str)
    {
        Some(a) => a.to_owned(),
        None => model_type.clone(),
    };
    m.license = LICENSE.into();
    m.source = file_url(path);
    check_ranges(&m).map_err(|message| config_err(path, message))?;
    Ok(m)
}

fn config_err(path: &Path, message: String) -> ImportError {
    ImportError::Config {
        path: path.to_path_buf(),
        message,
    }
}

/// A config being read, for typed field access with errors that name the field.
struct Cfg<'a> {
    path: &'a Path,
    map: &'a Map<String, Value>,
    model_type: &'a str,
}

impl Cfg<'_> {
    fn err(&self, message: String) -> ImportError {
        config_err(
            self.path,
            format!("model_type '{}': {message}", self.model_type),
        )
    }

    /// The value of `name`; absent and `null` are both `None`.
    fn uint(&self, name: &str) -> Result<Option<u64>, ImportError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                self.err(format!(
                    "field '{name}' must be a non-negative integer, found {v}"
                ))
            }),
        }
    }

    /// The first of `names` that is set.
    fn opt(&self, names: &[&str]) -> Result<Option<u64>, ImportError> {
        for name in names {
            if let Some(v) = self.uint(name)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// The first of `names` that is set, or an error naming the missing field.
    fn req(&self, names: &[&str]) -> Result<u64, ImportError> {
        self.opt(names)?.ok_or_else(|| {
            let aliases: Vec<String> = names[1..].iter().map(|n| format!("'{n}'")).collect();
            let or = if aliases.is_empty() {
                String::new()
            } else {
                format!(" (or {})", aliases.join(", "))
            };
            self.err(format!("missing field '{}'{or}", names[0]))
        })
    }

    /// `name`, or `default` when absent; `null` means explicitly unset (e.g. no sliding window).
    fn or_default(&self, name: &str, default: Option<u64>) -> Result<Option<u64>, ImportError> {
        if self.map.contains_key(name) {
            self.uint(name)
        } else {
            Ok(default)
        }
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool, ImportError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.err(format!("field '{name}' must be true or false, found {v}"))),
        }
    }
}

/// A model with every architecture field unset, for the mappers to fill.
fn skeleton() -> Model {
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
        head_dim: None,
        intermediate_size: 0,
        gated_mlp: false,
        vocab_size: 0,
        tie_word_embeddings: false,
        max_position_embeddings: 0,
        learned_position_embeddings: false,
        norm: Norm::Rmsnorm,
        norms_per_layer: 2,
        qkv_bias: false,
        o_bias: false,
        mlp_bias: false,
        lm_head_bias: false,
        moe_router_bias: false,
        params_published_includes_tied_head: false,
        num_local_experts: None,
        num_experts_per_tok: None,
        moe_intermediate_size: None,
        n_shared_experts: None,
        first_k_dense_replace: None,
        q_lora_rank: None,
        kv_lora_rank: None,
        qk_rope_head_dim: None,
        qk_nope_head_dim: None,
        v_head_dim: None,
        sliding_window: None,
        sliding_window_layers: None,
        params_published: 0,
        active_params_published: None,
        license: String::new(),
        source: String::new(),
        sources: BTreeMap::new(),
        notes: None,
    }
}

/// The GPT-2-style names (`n_embd`, `n_layer`, `n_head`, `n_inner`, `n_positions`) that GPT-2
/// and GPT-J share: multi-head attention, LayerNorm, a 4 × hidden MLP when `n_inner` is null.
fn gpt_like(c: &Cfg, max_pos_default: u64, tie_default: bool) -> Result<Model, ImportError> {
    let mut m = skeleton();
    m.hidden_size = c.req(&["n_embd", "hidden_size"])?;
    m.num_hidden_layers = c.req(&["n_layer", "num_hidden_layers"])?;
    m.num_attention_heads = c.req(&["n_head", "num_attention_heads"])?;
    m.num_key_value_heads = m.num_attention_heads;
    m.intermediate_size = c
        .opt(&["n_inner"])?
        .unwrap_or(m.hidden_size.saturating_mul(4));
    m.vocab_size = c.req(&["vocab_size"])?;
    m.max_position_embeddings = c
        .opt(&["n_positions", "max_position_embeddings"])?
        .unwrap_or(max_pos_default);
    m.tie_word_embeddings = c.flag("tie_word_embeddings", tie_default)?;
    m.norm = Norm::Layernorm;
    Ok(m)
}

/// The Llama-style fields most decoder configs share: gated MLP, RMSNorm, no biases.
fn llama_like(c: &Cfg, tie_default: bool, max_pos_default: u64) -> Result<Model, ImportError> {
    let mut m = skeleton();
    m.hidden_size = c.req(&["hidden_size"])?;
    m.num_hidden_layers = c.req(&["num_hidden_layers"])?;
    m.num_attention_heads = c.req(&["num_attention_heads"])?;
    m.num_key_value_heads = c
        .opt(&["num_key_value_heads"])?
        .unwrap_or(m.num_attention_heads);
    m.head_dim = c.opt(&["head_dim"])?;
    m.intermediate_size = c.req(&["intermediate_size"])?;
    m.vocab_size = c.req(&["vocab_size"])?;
    m.max_position_embeddings = c
        .opt(&["max_position_embeddings"])?
        .unwrap_or(max_pos_default);
    m.tie_word_embeddings = c.flag("tie_word_embeddings", tie_default)?;
    m.gated_mlp = true;
    m.norm = Norm::Rmsnorm;
    Ok(m)
}

/// Per-`model_type` mapping. Defaults are those of the Transformers config classes.
fn map_architecture(c: &Cfg, notes: &mut Vec<String>) -> Result<Model, ImportError> {
    let mt = c.model_type;
    let m = match mt {
        "llama" => {
            let mut m = llama_like(c, false, 2048)?;
            let bias = c.flag("attention_bias", false)?;
            (m.qkv_bias, m.o_bias) = (bias, bias);
            m.mlp_bias = c.flag("mlp_bias", false)?;
            m
        }
        "mistral" => {
            let mut m = llama_like(c, false, 4096 * 32)?;
            m.sliding_window = c.or_default("sliding_window", Some(4096))?;
            m
        }
        "mixtral" => {
            let mut m = llama_like(c, false, 4096 * 32)?;
            m.num_local_experts = Some(c.opt(&["num_local_experts"])?.unwrap_or(8));
            m.num_experts_per_tok = Some(c.opt(&["num_experts_per_tok"])?.unwrap_or(2));
            m.sliding_window = c.uint("sliding_window")?;
            m
        }
        "qwen2" => {
            let mut m = llama_like(c, false, 32768)?;
            // Qwen2 attention has biases on q, k and v only.
            m.qkv_bias = true;
            if c.flag("use_sliding_window", false)? {
                m.sliding_window = Some(c.opt(&["sliding_window"])?.unwrap_or(4096));
                // Layers from index max_window_layers on use the window.
                let full = c.opt(&["max_window_layers"])?.unwrap_or(28);
                m.sliding_window_layers = Some(m.num_hidden_layers.saturating_sub(full));
            }
            m
        }
        "gemma2" => {
            let mut m = llama_like(c, true, 8192)?;
            m.head_dim = Some(c.opt(&["head_dim"])?.unwrap_or(256));
            // Pre- and post-norms around both attention and MLP.
            m.norms_per_layer = 4;
            let bias = c.flag("attention_bias", false)?;
            (m.qkv_bias, m.o_bias) = (bias, bias);
            // Every other layer (the even ones) uses the sliding window.
            m.sliding_window = c.or_default("sliding_window", Some(4096))?;
            if m.sliding_window.is_some() {
                m.sliding_window_layers = Some(m.num_hidden_layers.div_ceil(2));
            }
            m
        }
        "phi3" => {
            let mut m = llama_like(c, false, 4096)?;
            m.sliding_window = c.uint("sliding_window")?;
            m
        }
        "deepseek_v3" => deepseek(c, notes)?,
        "falcon" | "RefinedWeb" | "RefinedWebModel" => falcon(c)?,
        "gpt2" => {
            let mut m = gpt_like(c, 1024, true)?;
            m.learned_position_embeddings = true;
            (m.qkv_bias, m.o_bias, m.mlp_bias) = (true, true, true);
            m
        }
        "gptj" => {
            let mut m = gpt_like(c, 2048, false)?;
            // Attention and MLP run in parallel off one LayerNorm.
            m.norms_per_layer = 1;
            m.mlp_bias = true;
            m.lm_head_bias = true;
            m
        }
        "gpt_neo" => gpt_neo(c)?,
        other => {
            let m = llama_like(c, false, 2048).map_err(|e| match e {
                ImportError::Config { message, .. } => config_err(
                    c.path,
                    format!(
                        "{message}; '{other}' is not a model_type llmrig maps ({}), so it read Llama-style names",
                        KNOWN_TYPES.join(", ")
                    ),
                ),
                e => e,
            })?;
            notes.push(format!(
                "model_type '{other}' is not one llmrig maps: read as Llama-style (gated MLP, RMSNorm, no biases); \
                 check the parameter count"
            ));
            m
        }
    };
    Ok(m)
}

fn falcon(c: &Cfg) -> Result<Model, ImportError> {
    let mut m = skeleton();
    m.hidden_size = c.req(&["hidden_size", "n_embd"])?;
    m.num_hidden_layers = c.req(&["num_hidden_layers", "n_layer"])?;
    m.num_attention_heads = c.req(&["num_attention_heads", "n_head"])?;
    let new_arch = c.flag("new_decoder_architecture", false)?;
    let parallel = c.flag("parallel_attn", true)?;
    // Falcon's KV heads: a group count with the new decoder, else one (multi-query) or all.
    m.num_key_value_heads = if new_arch {
        c.opt(&["num_kv_heads", "n_head_kv"])?
            .unwrap_or(m.num_attention_heads)
    } else if c.flag("multi_query", true)? {
        1
    } else {
        m.num_attention_heads
    };
    m.intermediate_size = c
        .opt(&["ffn_hidden_size"])?
        .unwrap_or(m.hidden_size.saturating_mul(4));
    m.vocab_size = c.req(&["vocab_size"])?;
    m.max_position_embeddings = c.opt(&["max_position_embeddings"])?.unwrap_or(2048);
    m.tie_word_embeddings = c.flag("tie_word_embeddings", true)?;
    m.norm = Norm::Layernorm;
    m.norms_per_layer = if new_arch {
        c.opt(&["num_ln_in_parallel_attn"])?.unwrap_or(2)
    } else if parallel {
        1
    } else {
        2
    };
    let bias = c.flag("bias", false)?;
    (m.qkv_bias, m.o_bias, m.mlp_bias) = (bias, bias, bias);
    Ok(m)
}

fn gpt_neo(c: &Cfg) -> Result<Model, ImportError> {
    let mut m = skeleton();
    m.hidden_size = c.req(&["hidden_size"])?;
    m.num_hidden_layers = c.req(&["num_layers", "num_hidden_layers"])?;
    m.num_attention_heads = c.req(&["num_heads", "num_attention_heads"])?;
    m.num_key_value_heads = m.num_attention_heads;
    m.intermediate_size = c
        .opt(&["intermediate_size"])?
        .unwrap_or(m.hidden_size.saturating_mul(4));
    m.vocab_size = c.req(&["vocab_size"])?;
    m.max_position_embeddings = c.opt(&["max_position_embeddings"])?.unwrap_or(2048);
    m.tie_word_embeddings = c.flag("tie_word_embeddings", true)?;
    m.learned_position_embeddings = true;
    m.norm = Norm::Layernorm;
    // q, k and v have no bias; the output projection and the MLP do.
    (m.o_bias, m.mlp_bias) = (true, true);
    // attention_types = [[["global", "local"], 16]]: "local" layers use a window.
    if let Some(types) = c.map.get("attention_types").and_then(Value::as_array) {
        let mut local = 0u64;
        for group in types {
            let (Some(kinds), Some(repeat)) = (
                group.get(0).and_then(Value::as_array),
                group.get(1).and_then(Value::as_u64),
            ) else {
                return Err(c.err(format!(
                    "field 'attention_types' has an entry {group} that is not [[kinds…], count]"
                )));
            };
            let locals = kinds.iter().filter(|k| k.as_str() == Some("local")).count() as u64;
            local = locals
                .checked_mul(repeat)
                .and_then(|n| n.checked_add(local))
                .ok_or_else(|| c.err("field 'attention_types' repeats too many layers".into()))?;
        }
        if local > 0 {
            m.sliding_window = Some(c.opt(&["window_size"])?.unwrap_or(256));
            m.sliding_window_layers = Some(local.min(m.num_hidden_layers));
        }
    }
    Ok(m)
}

fn deepseek(c: &Cfg, notes: &mut Vec<String>) -> Result<Model, ImportError> {
    let mut m = llama_like(c, false, 4096)?;
    m.num_local_experts = Some(c.req(&["n_routed_experts"])?);
    m.num_experts_per_tok = Some(c.req(&["num_experts_per_tok"])?);
    m.moe_intermediate_size = Some(c.req(&["moe_intermediate_size"])?);
    m.n_shared_experts = c.or_default("n_shared_experts", Some(1))?;
    m.first_k_dense_replace = c.or_default("first_k_dense_replace", Some(3))?;
    m.q_lora_rank = c.opt(&["q_lora_rank"])?;
    m.kv_lora_rank = Some(c.req(&["kv_lora_rank"])?);
    m.qk_rope_head_dim = Some(c.req(&["qk_rope_head_dim"])?);
    m.qk_nope_head_dim = Some(c.req(&["qk_nope_head_dim"])?);
    m.v_head_dim = Some(c.req(&["v_head_dim"])?);
    // DeepSeek-V3 routes with a per-expert score-correction bias.
    m.moe_router_bias = true;
    if let Some(mtp) = c.opt(&["num_nextn_predict_layers"])?.filter(|&n| n > 0) {
        notes.push(format!("{mtp} multi-token-prediction layer(s) are stored with the weights but not in the architecture count"));
    }
    Ok(m)
}

/// Checks every architecture field with the catalog's own rules
/// ([`crate::catalog::check_model_ranges`]).
pub(super) fn check_ranges(m: &Model) -> Result<(), String> {
    crate::catalog::check_model_ranges(m)
        .map_err(|(field, message)| format!("field '{field}' = {message}"))
}

/// Id, display name and Hugging Face repo for a config file: from the directory name (a
/// Hugging Face cache snapshot resolves to its repo), else `_name_or_path`, else the model type.
fn identity(
    path: &Path,
    json: &Map<String, Value>,
    model_type: &str,
) -> (String, String, Option<String>) {
    let name_or_path = json
        .get("_name_or_path")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    // `org/name` (not a local path) is a hub repo.
    let repo_from_json = name_or_path
        .filter(|s| !s.starts_with(['/', '.', '~']) && s.matches('/').count() == 1)
        .map(str::to_owned);
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let is_config = abs.file_name().is_some_and(|n| n == "config.json");
    let dir: Option<PathBuf> = abs.parent().map(Path::to_path_buf);
    // ~/.cache/huggingface/hub/models--org--name/snapshots/<hash>/config.json
    if let Some(snap) = dir.as_deref().filter(|_| is_config) {
        let cache = snap
            .parent()
            .filter(|p| p.file_name().is_some_and(|n| n == "snapshots"))
            .and_then(Path::parent);
        if let Some(repo) = cache
            .and_then(|c| c.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("models--"))
        {
            let repo = repo.replacen("--", "/", 1);
            let name = repo.rsplit('/').next().unwrap_or(&repo).to_owned();
            return (kebab(&name), name, Some(repo));
        }
    }
    let from_path = if is_config {
        dir.as_deref()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
    } else {
        abs.file_stem().map(|n| n.to_string_lossy().into_owned())
    };
    let name = from_path
        .filter(|n| !kebab(n).is_empty())
        .or_else(|| {
            name_or_path
                .and_then(|p| p.rsplit(['/', '\\']).next())
                .map(str::to_owned)
        })
        .filter(|n| !kebab(n).is_empty())
        .unwrap_or_else(|| model_type.to_owned());
    (kebab(&name), name, repo_from_json)
}
