//! Command-line interface (clap derive). Doc comments here are the help text.
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

mod build;
mod fit;
mod plan;
mod probe;
mod report;

pub use build::{BuildCommand, CheckArgs};
pub use fit::FitArgs;
pub use plan::{parse_option, CompareArgs, GradPrecision, PlanArgs, PlanFormat, PlanOptions};
pub use probe::ProbeArgs;
pub use report::ReportArgs;

/// Plan, price, probe and report machines for large language models.
#[derive(Debug, Parser)]
#[command(name = "llmrig", version, about, propagate_version = true)]
pub struct Cli {
    /// Overlay catalog directory: its TOML entries replace embedded ones by id or add new ones.
    #[arg(
        long,
        global = true,
        env = "LLMRIG_CATALOG_DIR",
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub catalog_dir: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// Hide notes and progress bars; `plan` and `compare` print only the answer.
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the model catalog, or show one model.
    Models(ListArgs),
    /// List the GPU catalog, or show one GPU.
    Gpus(ListArgs),
    /// List parts (platform, cpu, ram, storage, psu, case, cooler, network, riser, bridge, frame, server-psu, circuit, electricity, cloud).
    #[command(args_conflicts_with_subcommands = true)]
    Parts {
        /// Only this kind of part.
        kind: Option<String>,
        #[command(subcommand)]
        show: Option<ShowCommand>,
    },
    /// Check catalog files.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Read a model's architecture and exact weight bytes from config.json, safetensors or GGUF,
    /// on disk or on the Hugging Face Hub (headers only, never the weights).
    Import {
        /// A config.json, a model directory, a .safetensors file or a .gguf file, or a Hugging
        /// Face repo: org/name, org/name@revision or org/name:file.gguf (hf: in front forces
        /// the Hub).
        path: PathBuf,
        /// Read a Hugging Face model from the cache of an earlier run only, with no network
        /// (also HF_HUB_OFFLINE=1).
        #[arg(long)]
        offline: bool,
    },
    /// Plan memory, GPUs, layout, parts, price, power and speed for one model.
    Plan(PlanArgs),
    /// Compare rigs side by side for one model (e.g. 4xv100-32gb against 8xa100-80gb).
    Compare(CompareArgs),
    /// Every catalog model and weight format that fits a rig you have (2xrtx-3090, a GPU
    /// list or a probe run), with its longest context and decode speed.
    Fit(FitArgs),
    /// Check a parts list of your own: conflicts, price with dates, power, what it runs.
    #[command(subcommand)]
    Build(BuildCommand),
    /// Check the planner against every published anchor (memory, FLOPs, speed) with its
    /// error and tolerance; exit 1 when one is outside.
    Calibrate,
    /// Measure this machine: CPU always, NVIDIA GPUs when the driver and CUDA libraries are present.
    Probe(ProbeArgs),
    /// Render charts, HTML and Markdown from saved plans and probe runs.
    Report(ReportArgs),
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ListArgs {
    #[command(subcommand)]
    pub show: Option<ShowCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ShowCommand {
    /// Show one entry (id, alias or unambiguous fragment).
    Show {
        /// Id or alias.
        id: String,
        /// Print the entry as TOML (a start for a `--catalog-dir` overlay) instead of a card.
        #[arg(long)]
        toml: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Validate the embedded catalog overlaid by DIR (or --catalog-dir).
    Validate {
        /// Directory of TOML files to check on top of the embedded catalog.
        dir: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
