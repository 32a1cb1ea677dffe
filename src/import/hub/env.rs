//! Where the Hub is and how to reach it, from the environment as `huggingface_hub` reads it.
use super::{HubError, DEFAULT_ENDPOINT, DEFAULT_TIMEOUT_S};
use std::path::PathBuf;
use std::time::Duration;

/// Where the Hub is and how to reach it.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Without a trailing `/`.
    pub endpoint: String,
    pub token: Option<String>,
    /// `$HF_HOME/llmrig`.
    pub cache_dir: PathBuf,
    /// Use the cache only.
    pub offline: bool,
    pub timeout: Duration,
}

impl HubConfig {
    /// The configuration the environment describes; `offline` (from `--offline`) adds to
    /// `HF_HUB_OFFLINE`.
    pub fn from_env(offline: bool) -> Result<HubConfig, HubError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let endpoint = var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(HubError::BadEnv {
                name: "HF_ENDPOINT",
                value: endpoint,
                why: "must start with https:// or http://",
            });
        }
        let hf_home = var("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            let cache = var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
                PathBuf::from(var("HOME").unwrap_or_else(|| ".".into())).join(".cache")
            });
            cache.join("huggingface")
        });
        let token = var("HF_TOKEN").or_else(|| {
            let path = var("HF_TOKEN_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| hf_home.join("token"));
            // A saved login is a short line; anything else is not a token.
            std::fs::read_to_string(path)
                .ok()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty() && t.len() < 1024)
        });
        if let Some(t) = &token {
            if !t.chars().all(|c| c.is_ascii_graphic()) {
                return Err(HubError::BadEnv {
                    name: "HF_TOKEN",
                    value: "…".into(),
                    why: "holds spaces or control characters (paste the token alone)",
                });
            }
        }
        let env_offline = var("HF_HUB_OFFLINE").is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        });
        let timeout = match var("LLMRIG_HUB_TIMEOUT_S") {
            None => DEFAULT_TIMEOUT_S,
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| (0.1..=3600.0).contains(s))
                .ok_or(HubError::BadEnv {
                    name: "LLMRIG_HUB_TIMEOUT_S",
                    value: v,
                    why: "must be a number of seconds from 0.1 to 3600",
                })?,
        };
        Ok(HubConfig {
            endpoint,
            token,
            cache_dir: hf_home.join("llmrig"),
            offline: offline || env_offline,
            timeout: Duration::from_secs_f64(timeout),
        })
    }
}
