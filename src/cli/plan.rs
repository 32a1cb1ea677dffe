//! `llmrig plan` and `llmrig compare` arguments.
use crate::plan::constants::DEFAULT_OUTPUT_TOKENS;
use crate::plan::{
    Attention, Engine, GpuLayers, KvFormat, LoraTrainable, OffloadTarget, PlanRequest, Recompute,
    Shape, SortKey, WeightFormat, Workload,
};
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

/// Base-model parts LoRA may train in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoraPart {
    /// The token embedding.
    Embed,
    /// The output head (the embedding when tied).
    Head,
}

/// Options shared by `plan` and `compare`.
#[derive(Debug, Args)]
pub struct PlanOptions {
    /// Model id or alias from the catalog, a path to config.json, a model directory,
    /// a .safetensors or a .gguf file, or a Hugging Face repo: org/name, org/name@revision
    /// or org/name:file.gguf (hf: in front forces the Hub).
    #[arg(help_heading = "Model and workload", long, short)]
    pub model: String,
    /// Read a Hugging Face model from the cache of an earlier run only, with no network
    /// (also HF_HUB_OFFLINE=1).
    #[arg(long, help_heading = "Model and workload")]
    pub offline: bool,
    /// Weight format; `int4` is 4-bit weight-only at group size 128 (GPTQ/AWQ packing);
    /// `q*`/`iq*` are llama.cpp GGUF types. Default: the model's native format for inference
    /// (gpt-oss: mxfp4, DeepSeek: fp8-block, a GGUF file's own type), else bf16 (nf4-dq for qlora).
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
    /// Sequences at once: concurrent requests when serving (training: micro-batch per GPU).
    #[arg(
        help_heading = "Model and workload",
        long,
        short,
        default_value_t = 1,
        visible_alias = "concurrency"
    )]
    pub batch: u64,
    /// Prompt tokens per request, for time to first token and serving throughput
    /// (default: the context less the output tokens).
    #[arg(long, value_name = "N", help_heading = "Model and workload")]
    pub input_tokens: Option<u64>,
    /// Generated tokens per request (default 256, at most half the context).
    #[arg(long, value_name = "N", help_heading = "Model and workload")]
    pub output_tokens: Option<u64>,
    /// Inference engine (default: llama.cpp for GGUF weights, vllm otherwise; training
    /// assumes the PyTorch stack, `transformers`).
    #[arg(long, value_enum, help_heading = "Engine and speed")]
    pub engine: Option<Engine>,
    /// Fix the tensor-parallel degree (the rest of the layout is searched).
    #[arg(long, value_name = "N", help_heading = "Engine and speed")]
    pub tp: Option<u32>,
    /// Fix the pipeline stages (the GPUs of a llama.cpp/transformers layer split).
    #[arg(long, value_name = "N", help_heading = "Engine and speed")]
    pub pp: Option<u32>,
    /// Fix the data-parallel replicas (inference: independent copies serving side by side).
    #[arg(long, value_name = "N", help_heading = "Engine and speed")]
    pub dp: Option<u32>,
    /// llama.cpp layers on the GPUs (-ngl): a number, or `auto` for as many as fit; the rest
    /// runs from host RAM.
    #[arg(long, value_name = "N|auto", value_parser = parse_gpu_layers, help_heading = "Engine and speed")]
    pub gpu_layers: Option<GpuLayers>,
    /// Keep MoE expert weights in host RAM (llama.cpp --cpu-moe).
    #[arg(long, help_heading = "Engine and speed")]
    pub cpu_moe: bool,
    /// Fraction of a training run's wall clock spent on useful steps (default 0.9).
    #[arg(long, help_heading = "Engine and speed")]
    pub goodput: Option<f64>,
    /// Host memory bandwidth for offloaded weights in GB/s, e.g. the CPU STREAM triad that
    /// `llmrig probe` measures (default: the build's RAM, theoretical).
    #[arg(long, value_name = "GB/S", help_heading = "Hardware")]
    pub host_bandwidth_gb_per_s: Option<f64>,
    /// Activation recomputation when training (default: selective; full for lora/qlora).
    #[arg(help_heading = "Model and workload", long, value_enum)]
    pub recompute: Option<Recompute>,
    /// ZeRO stage 0-3 when training (default: 3 for train and lora, 0 for qlora).
    #[arg(help_heading = "Model and workload", long)]
    pub zero: Option<u8>,
    /// Keep training states in host RAM: `optimizer` (the default when no value is given:
    /// Adam states, fp32 master weights and gradients, as ZeRO-Offload) or `params` (those and
    /// the 16-bit weights, as ZeRO-3 offload_param). Host RAM is sized for it.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "optimizer",
          value_name = "WHAT", help_heading = "Model and workload")]
    pub offload: Option<OffloadTarget>,
    /// LoRA rank (1 up to the model's hidden size).
    #[arg(help_heading = "Model and workload", long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub lora_rank: u64,
    /// Base-model parts LoRA also trains in full, with gradients and Adam states (PEFT
    /// modules_to_save), e.g. `embed,head`.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        help_heading = "Model and workload"
    )]
    pub lora_trainable: Vec<LoraPart>,
    /// Attention kernel when training: flash (FlashAttention/SDPA, stores no s² scores) or
    /// eager (stores them).
    #[arg(
        long,
        value_enum,
        default_value = "flash",
        help_heading = "Model and workload"
    )]
    pub attention: Attention,
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
    /// GPUs in each node, for several desktops joined by a network (default: as many as the
    /// catalog's largest platform for the GPU holds).
    #[arg(help_heading = "Hardware", long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=MAX_GPUS_PER_NODE as i64))]
    pub gpus_per_node: Option<u32>,
    /// Electricity price (default: the catalog's default tariff).
    #[arg(help_heading = "Cost", long)]
    pub usd_per_kwh: Option<f64>,
    /// Electricity tariff by id or region, e.g. us-ca (price and grid CO2; `llmrig parts
    /// electricity` lists them).
    #[arg(long, value_name = "TARIFF", help_heading = "Cost")]
    pub electricity: Option<String>,
    /// Grid carbon intensity in grams CO2 per kWh (default: the tariff's sourced figure),
    /// for tonnes CO2 per month and per training run.
    #[arg(long, value_name = "G", help_heading = "Cost")]
    pub grid_gco2_per_kwh: Option<f64>,
    /// Fraction of time at full load, for running cost.
    #[arg(
        help_heading = "Cost",
        long,
        default_value_t = 1.0,
        conflicts_with = "hours_per_day"
    )]
    pub utilization: f64,
    /// Hours of use a day, for rent or buy: the cloud bills these hours, an owned rig draws
    /// load power for them and idles the rest (the same as --utilization H/24) [default: 24].
    #[arg(help_heading = "Cost", long, value_name = "H", value_parser = parse_hours_per_day)]
    pub hours_per_day: Option<f64>,
    /// Rent-or-buy horizon in months: how long the rig is owned or rented.
    #[arg(help_heading = "Cost", long, value_name = "M",
          default_value_t = crate::plan::DEFAULT_HORIZON_MONTHS)]
    pub months: f64,
    /// Resale value after the horizon, percent of the purchase price [default: straight-line
    /// over 5 years, GPU_USEFUL_LIFE_YEARS: 40 % after 36 months].
    #[arg(help_heading = "Cost", long, value_name = "PCT")]
    pub resale_percent: Option<f64>,
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
    /// Also sweep the rig: every weight format, a range of contexts or of batch sizes, with
    /// fit, headroom, longest context, largest batch and decode speed (compare sweeps each
    /// rig, and sweeps formats by itself when a rig cannot hold the request; plan sweeps the
    /// recommended build).
    #[arg(help_heading = "Output", long, value_enum, value_name = "WHAT")]
    pub sweep: Option<crate::plan::sweep::SweepKind>,
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
    /// Serve N concurrent users (a batch of N sequences at --context): the smallest and the
    /// cheapest build that holds them.
    #[arg(long, value_name = "N", help_heading = "Model and workload", conflicts_with = "batch",
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub users: Option<u64>,
    /// The smallest and the cheapest build whose single-sequence decode reaches this many
    /// tokens/s at the request's batch (with --users N: each of N users).
    #[arg(long, value_name = "X", help_heading = "Engine and speed",
          conflicts_with = "target_days", value_parser = parse_positive)]
    pub target_tokens_per_s: Option<f64>,
    /// Training: the smallest and the cheapest build that finishes --train-tokens in at most
    /// D days.
    #[arg(long, value_name = "D", help_heading = "Engine and speed",
          requires = "train_tokens", value_parser = parse_positive)]
    pub target_days: Option<f64>,
}

/// A positive, finite number.
fn parse_positive(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' must be a positive number")),
    }
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub options: PlanOptions,
    /// A rig as COUNTxGPU, e.g. 4xv100-32gb, or NODESxPER_NODExGPU for several machines,
    /// e.g. 3x4xv100-pcie-32gb (repeatable).
    #[arg(help_heading = "Hardware", long = "option", short = 'o', required = true, value_parser = parse_option)]
    pub options_list: Vec<(Shape, String)>,
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
    // Checked after scaling: 1e300T is finite before it and infinite after.
    let v = v * mult;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("'{s}' must be a positive, finite count"));
    }
    Ok(v)
}

/// Parses `--gpu-layers`: `auto` or a layer count.
pub fn parse_gpu_layers(s: &str) -> Result<GpuLayers, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(GpuLayers::Auto);
    }
    s.trim()
        .parse()
        .map(GpuLayers::Count)
        .map_err(|_| format!("'{s}' is not a layer count or 'auto'"))
}

/// Hours of use a day, 0 to 24.
fn parse_hours_per_day(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(h) if (0.0..=24.0).contains(&h) => Ok(h),
        _ => Err(format!("'{s}' is not a number of hours a day from 0 to 24")),
    }
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

/// Splits `4xrest` at the first `x`/`×` after a number: (4, "rest").
fn leading_count(s: &str) -> Option<(&str, String)> {
    let split = s.find(['x', 'X', '×'])?;
    let (count, rest) = s.split_at(split);
    Some((count, rest.chars().skip(1).collect()))
}

/// Parses a rig: `4xv100-32gb` (4 GPUs, as few nodes as the catalog allows) or
/// `3x4xv100-32gb` (3 nodes of 4 GPUs each); `×` works for `x`.
pub fn parse_option(s: &str) -> Result<(Shape, String), String> {
    let usage = "COUNTxGPU or NODESxPER_NODExGPU (e.g. 4xv100-32gb, 3x4xv100-32gb)";
    let (count, rest) = leading_count(s).ok_or_else(|| format!("'{s}' is not {usage}"))?;
    let n: u32 = count
        .trim()
        .parse()
        .map_err(|_| format!("'{count}' in '{s}' is not a GPU count"))?;
    // A second number makes the first the node count.
    let per_node =
        leading_count(&rest).and_then(|(c, gpu)| Some((c.trim().parse::<u32>().ok()?, gpu)));
    let (shape, gpu) = match per_node {
        Some((per, gpu)) => (Shape::nodes(n, per), gpu),
        None => (Shape::gpus(n), rest),
    };
    let per = shape.gpus / n.max(1);
    if n == 0 || per == 0 || gpu.trim().is_empty() {
        return Err(format!("'{s}' needs positive counts and a GPU: {usage}"));
    }
    if shape.nodes.is_some() && per > MAX_GPUS_PER_NODE {
        return Err(format!("'{s}': at most {MAX_GPUS_PER_NODE} GPUs per node"));
    }
    Ok((shape, gpu.trim().to_owned()))
}

/// Most GPUs one node may hold in `--gpus-per-node` and `NxMxGPU`.
pub const MAX_GPUS_PER_NODE: u32 = 64;

impl PlanOptions {
    /// The planning request these options describe, for a model of `max_context` tokens.
    pub fn request(&self, max_context: u64) -> PlanRequest {
        // Prompt and output lengths imply the context when it is not given.
        let context = self.context.unwrap_or_else(|| match self.input_tokens {
            Some(input) => {
                input.saturating_add(self.output_tokens.unwrap_or(DEFAULT_OUTPUT_TOKENS as u64))
            }
            None => max_context.min(4096),
        });
        let mut req = PlanRequest::new(self.workload, context);
        if let Some(p) = self.precision {
            req.weights = p;
        }
        req.engine = self.engine;
        req.kv = self
            .kv_precision
            .unwrap_or_else(|| req.engine().default_kv(req.weights));
        req.batch = self.batch;
        req.input_tokens = self.input_tokens;
        req.output_tokens = self.output_tokens;
        req.tp = self.tp;
        req.pp = self.pp;
        req.dp = self.dp;
        req.gpu_layers = self.gpu_layers;
        req.cpu_moe = self.cpu_moe;
        req.host_bandwidth_gb_per_s = self.host_bandwidth_gb_per_s;
        req.efficiencies.train_goodput = self.goodput;
        if let Some(r) = self.recompute {
            req.recompute = r;
        }
        if let Some(z) = self.zero {
            req.zero_stage = z;
        }
        req.offload_optimizer = self.offload.is_some();
        req.offload_params = self.offload == Some(OffloadTarget::Params);
        req.lora_rank = self.lora_rank;
        req.lora_trainable = LoraTrainable {
            embed: self.lora_trainable.contains(&LoraPart::Embed),
            head: self.lora_trainable.contains(&LoraPart::Head),
        };
        req.attention = self.attention;
        req.grad_bytes = match self.grad_precision {
            GradPrecision::Fp32 => 4.0,
            GradPrecision::Bf16 => 2.0,
        };
        req.train_tokens = self.train_tokens;
        req.efficiencies.decode_bandwidth = self.decode_efficiency;
        req.efficiencies.prefill_mfu = self.prefill_mfu;
        req.efficiencies.train_mfu = self.mfu;
        req.usd_per_kwh = self.usd_per_kwh;
        req.electricity = self.electricity.clone();
        req.grid_gco2_per_kwh = self.grid_gco2_per_kwh;
        req.utilization = self.hours_per_day.map_or(self.utilization, |h| h / 24.0);
        req.horizon_months = self.months;
        req.resale_percent = self.resale_percent;
        req.max_nodes = self.max_nodes;
        req.gpus_per_node = self.gpus_per_node;
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
        assert!(parse_count("1e300T").is_err());
        assert!(parse_count("inf").is_err());
        assert!(parse_count("lots").is_err());
        assert_eq!(
            parse_option("4xv100-32gb").unwrap(),
            (Shape::gpus(4), "v100-32gb".into())
        );
        assert_eq!(
            parse_option("8×a100-80gb").unwrap(),
            (Shape::gpus(8), "a100-80gb".into())
        );
        assert_eq!(
            parse_option("3x4xv100-pcie-32gb").unwrap(),
            (Shape::nodes(3, 4), "v100-pcie-32gb".into())
        );
        assert_eq!(Shape::nodes(3, 4).gpus, 12);
        assert!(parse_option("0xh100").is_err());
        assert!(parse_option("3x0xh100").is_err());
        assert!(parse_option("2x65xh100").is_err());
        assert_eq!(parse_gpu_layers("auto").unwrap(), GpuLayers::Auto);
        assert_eq!(parse_gpu_layers("20").unwrap(), GpuLayers::Count(20));
        assert!(parse_gpu_layers("-1").is_err());
        assert!(parse_option("h100").is_err());
    }
}
