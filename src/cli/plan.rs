//! `llmrig plan` and `llmrig compare` arguments.
use crate::plan::{KvFormat, PlanRequest, Recompute, SortKey, WeightFormat, Workload};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// How to print a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Table,
    Markdown,
    Json,
}

/// Gradient precision for mixed-precision Adam.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GradPrecision {
    /// fp32 gradients: 2 + 4 + 12 = 18 bytes per parameter (Megatron, HF Trainer).
    Fp32,
    /// bf16 gradients: 2 + 2 + 12 = 16 bytes per parameter (ZeRO paper).
    Bf16,
}

/// Options shared by `plan` and `compare`.
#[derive(Debug, Args)]
pub struct PlanOptions {
    /// Model id or alias from the catalog, or a path to config.json, a model directory,
    /// a .safetensors or a .gguf file.
    #[arg(help_heading = "Model and workload", long, short)]
    pub model: String,
    /// Weight format; `int4` is 4-bit weight-only at group size 128 (GPTQ/AWQ packing).
    /// Default: bf16 (nf4-dq for qlora).
    #[arg(help_heading = "Model and workload", long, short, value_enum)]
    pub precision: Option<WeightFormat>,
    /// What to do with the model.
    #[arg(
        help_heading = "Model and workload",
        long,
        short,
        value_enum,
        default_value = "infer"
    )]
    pub workload: Workload,
    /// KV-cache element type (default bf16; fp32 with fp32 weights).
    #[arg(help_heading = "Model and workload", long, value_enum)]
    pub kv_precision: Option<KvFormat>,
    /// Context tokens per sequence (default: the model's maximum, at most 4096).
    #[arg(help_heading = "Model and workload", long, short)]
    pub context: Option<u64>,
    /// Sequences at once (training: micro-batch per GPU).
    #[arg(help_heading = "Model and workload", long, short, default_value_t = 1)]
    pub batch: u64,
    /// Activation recomputation when training (default: selective; full for lora/qlora).
    #[arg(help_heading = "Model and workload", long, value_enum)]
    pub recompute: Option<Recompute>,
    /// ZeRO stage 0-3 when training (default: 3 for train and lora, 0 for qlora).
    #[arg(help_heading = "Model and workload", long)]
    pub zero: Option<u8>,
    /// Keep optimizer states in host RAM (ZeRO-Offload).
    #[arg(help_heading = "Model and workload", long)]
    pub offload: bool,
    /// LoRA rank.
    #[arg(help_heading = "Model and workload", long, default_value_t = 16)]
    pub lora_rank: u64,
    /// Gradient precision for Adam (fp32: 18 bytes/param, bf16: 16 bytes/param).
    #[arg(
        help_heading = "Model and workload",
        long,
        value_enum,
        default_value = "fp32"
    )]
    pub grad_precision: GradPrecision,
    /// Tokens to train on, e.g. 3.5T, 300B, 1e9 (training time and GPU-hours).
    #[arg(help_heading = "Model and workload", long, value_parser = parse_count)]
    pub train_tokens: Option<f64>,
    /// Decode speed as a fraction of the bandwidth roofline.
    #[arg(help_heading = "Engine and speed", long)]
    pub decode_efficiency: Option<f64>,
    /// Prefill speed as a fraction of dense peak.
    #[arg(help_heading = "Engine and speed", long)]
    pub prefill_mfu: Option<f64>,
    /// Training model FLOPs utilisation.
    #[arg(help_heading = "Engine and speed", long)]
    pub mfu: Option<f64>,
    /// Most nodes a layout may span.
    #[arg(help_heading = "Hardware", long, default_value_t = 64)]
    pub max_nodes: u32,
    /// Electricity price (default: the catalog's default tariff).
    #[arg(help_heading = "Cost", long)]
    pub usd_per_kwh: Option<f64>,
    /// Fraction of time at full load, for running cost.
    #[arg(help_heading = "Cost", long, default_value_t = 1.0)]
    pub utilization: f64,
    /// Output format (default table; `--json` is the same as `--format json`).
    #[arg(help_heading = "Output", long, value_enum)]
    pub format: Option<PlanFormat>,
    /// Also write the plan as JSON to FILE (for `llmrig report` and probe checks).
    #[arg(help_heading = "Output", long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also draw the plan's main chart to FILE (.svg or .png).
    #[arg(help_heading = "Output", long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
    /// Order of the options (default: price for plan, the order given for compare).
    #[arg(help_heading = "Output", long, value_enum)]
    pub sort: Option<SortKey>,
    /// Also print the request details, ranking rule, layout rules and every assumption.
    #[arg(help_heading = "Output", long)]
    pub explain: bool,
    /// Date that price ages are counted to, YYYY-MM-DD (default: today); prices older than
    /// 18 months are flagged.
    #[arg(help_heading = "Cost", long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub options: PlanOptions,
    /// Only these GPUs (id or alias; repeatable). Default: every GPU in the catalog.
    #[arg(help_heading = "Hardware", long, short)]
    pub gpu: Vec<String>,
    /// List every option, not only the top 10.
    #[arg(help_heading = "Output", long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub options: PlanOptions,
    /// A rig as COUNTxGPU, e.g. 4xv100-32gb (repeatable).
    #[arg(help_heading = "Hardware", long = "option", short = 'o', required = true, value_parser = parse_option)]
    pub options_list: Vec<(u32, String)>,
}

/// Parses `3.5T`, `300B`, `20M`, `1e9` or `1000`.
pub fn parse_count(s: &str) -> Result<f64, String> {
    let s = s.trim().replace('_', "");
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1e3),
        Some('M') => (&s[..s.len() - 1], 1e6),
        Some('B') | Some('G') => (&s[..s.len() - 1], 1e9),
        Some('T') => (&s[..s.len() - 1], 1e12),
        _ => (s.as_str(), 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a count (e.g. 3.5T, 300B, 1e9)"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("'{s}' must be a positive count"));
    }
    Ok(v * mult)
}

/// Checks a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() == 3
        && parts.iter().map(|p| p.len()).eq([4, 2, 2])
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && crate::plan::rank::price_age_months(s, s).is_some();
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!("'{s}' is not a date like 2026-04-30"))
    }
}

/// Parses `4xv100-32gb` or `4×v100-32gb` into (4, "v100-32gb").
pub fn parse_option(s: &str) -> Result<(u32, String), String> {
    let split = s
        .find(['x', 'X', '×'])
        .ok_or_else(|| format!("'{s}' is not COUNTxGPU (e.g. 4xv100-32gb)"))?;
    let (count, rest) = s.split_at(split);
    let gpu = rest.chars().skip(1).collect::<String>();
    let n: u32 = count
        .trim()
        .parse()
        .map_err(|_| format!("'{count}' in '{s}' is not a GPU count"))?;
    if n == 0 || gpu.trim().is_empty() {
        return Err(format!(
            "'{s}' needs a positive count and a GPU, e.g. 4xv100-32gb"
        ));
    }
    Ok((n, gpu.trim().to_owned()))
}

impl PlanOptions {
    /// The planning request these options describe, for a model of `max_context` tokens.
    pub fn request(&self, max_context: u64) -> PlanRequest {
        let context = self.context.unwrap_or(max_context.min(4096));
        let mut req = PlanRequest::new(self.workload, context);
        if let Some(p) = self.precision {
            req.weights = p;
        }
        req.kv = self
            .kv_precision
            .unwrap_or(if req.weights == WeightFormat::Fp32 {
                KvFormat::Fp32
            } else {
                KvFormat::Bf16
            });
        req.batch = self.batch;
        if let Some(r) = self.recompute {
            req.recompute = r;
        }
        if let Some(z) = self.zero {
            req.zero_stage = z;
        }
        req.offload_optimizer = self.offload;
        req.lora_rank = self.lora_rank;
        req.grad_bytes = match self.grad_precision {
            GradPrecision::Fp32 => 4.0,
            GradPrecision::Bf16 => 2.0,
        };
        req.train_tokens = self.train_tokens;
        if let Some(e) = self.decode_efficiency {
            req.efficiencies.decode_bandwidth = e;
        }
        if let Some(e) = self.prefill_mfu {
            req.efficiencies.prefill_mfu = e;
        }
        if let Some(e) = self.mfu {
            req.efficiencies.train_mfu = e;
        }
        req.usd_per_kwh = self.usd_per_kwh;
        req.utilization = self.utilization;
        req.max_nodes = self.max_nodes;
        req.prices_as_of = self.as_of.clone();
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_and_options() {
        assert_eq!(parse_count("3.5T").unwrap(), 3.5e12);
        assert_eq!(parse_count("300B").unwrap(), 3e11);
        assert_eq!(parse_count("1e9").unwrap(), 1e9);
        assert!(parse_count("-5").is_err());
        assert!(parse_count("lots").is_err());
        assert_eq!(
            parse_option("4xv100-32gb").unwrap(),
            (4, "v100-32gb".into())
        );
        assert_eq!(
            parse_option("8×a100-80gb").unwrap(),
            (8, "a100-80gb".into())
        );
        assert!(parse_option("0xh100").is_err());
        assert!(parse_option("h100").is_err());
    }
}
