//! `llmrig build` arguments: check a parts list.
use crate::plan::check::{Item, PartsList};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum BuildCommand {
    /// Check a parts list: every physical and electrical conflict with its reason (slots,
    /// slot spacing, lanes, case, cooling, PSU capacity and connectors, circuits), the total
    /// price with each line's date, power, and what the build can run. Exit 0 when nothing
    /// blocks the build, 1 when something does, 2 on bad input.
    Check(CheckArgs),
}

/// The parts of one node, from a TOML file and/or the command line (the command line wins).
/// A part is a catalog id or alias, optionally with a count: `4xv100-pcie-32gb`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A parts list (TOML; see examples/article-4x-v100.toml and examples/README.md).
    #[arg(value_name = "FILE.toml")]
    pub file: Option<PathBuf>,
    /// What the build is called in the report.
    #[arg(long, help_heading = "Parts")]
    pub name: Option<String>,
    /// Identical machines joined by a network (default 1).
    #[arg(long, value_name = "N", help_heading = "Parts")]
    pub nodes: Option<u32>,
    /// Motherboard or GPU server (`llmrig parts platform`).
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub board: Option<String>,
    /// CPU; a count for two sockets (`2xintel-xeon-platinum-8480-plus`).
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub cpu: Option<String>,
    /// RAM kits (`2xcorsair-vengeance-lpx-ddr4-3200-64gb-2x32gb`).
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub ram: Option<String>,
    /// GPUs of one node (`4xv100-pcie-32gb`).
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub gpu: Option<String>,
    /// Drive(s) for the OS and the weights.
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub storage: Option<String>,
    /// Power supplies (`2xseasonic-prime-px-2200`).
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub psu: Option<String>,
    /// Case for a desktop board (a server is its own chassis).
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub case: Option<String>,
    /// CPU cooler.
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub cooler: Option<String>,
    /// Network adapter per node.
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub network: Option<String>,
    /// Open frame holding the cards on risers, instead of a case.
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub frame: Option<String>,
    /// PCIe risers (`4x…`, one per card).
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub riser: Option<String>,
    /// The branch circuit each node plugs into (`llmrig parts circuit`, e.g. `us-15a-120v`).
    #[arg(long, value_name = "ID", help_heading = "Parts")]
    pub circuit: Option<String>,
}

impl CheckArgs {
    /// The parts given on the command line, as a list to lay over the file's.
    pub fn list(&self) -> PartsList {
        let item = |s: &Option<String>| s.clone().map(Item::Id);
        PartsList {
            name: self.name.clone(),
            nodes: self.nodes,
            board: item(&self.board),
            cpu: item(&self.cpu),
            ram: item(&self.ram),
            gpu: item(&self.gpu),
            storage: item(&self.storage),
            psu: item(&self.psu),
            case: item(&self.case),
            cooler: item(&self.cooler),
            network: item(&self.network),
            frame: item(&self.frame),
            riser: item(&self.riser),
            circuit: self.circuit.clone(),
        }
    }
}
