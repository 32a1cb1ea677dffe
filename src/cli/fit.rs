//! `llmrig fit` arguments.
use crate::plan::Workload;
use clap::Args;

#[derive(Debug, Args)]
pub struct FitArgs {
    /// The rig: COUNTxGPU (2xrtx-3090), one GPU id, a comma-separated list of GPUs
    /// (rtx-3090,rtx-4090 or 2xrtx-3090,rtx-4090: a mixed list is planned as that many of its
    /// smallest card), or a saved `llmrig probe --out` run.json of this machine.
    #[arg(value_name = "RIG")]
    pub rig: String,
    /// Only models whose context reaches N tokens, each tried at N (default: its maximum, at
    /// most 4,096).
    #[arg(long, value_name = "N", help_heading = "Model and workload",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub min_context: Option<u64>,
    /// What to do with the models.
    #[arg(
        long,
        short,
        value_enum,
        default_value = "infer",
        help_heading = "Model and workload"
    )]
    pub workload: Workload,
    /// Only models of this family, e.g. llama, qwen, mixtral (`llmrig models` lists them).
    #[arg(long, help_heading = "Model and workload")]
    pub family: Option<String>,
    /// Sequences at once (concurrent users).
    #[arg(long, short, default_value_t = 1, help_heading = "Model and workload",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// A row for every format of every model (default: one row per model, every format
    /// when three models or fewer fit).
    #[arg(long, help_heading = "Output")]
    pub all: bool,
}
