//! A node's lines summed into its priced total and unpriced lines, and all nodes of a build
//! priced, with price dates and ages.
use super::*;

/// What a node's parts and power come to, before the priced sums.
pub struct NodeFigures {
    pub gpus_per_node: u32,
    pub lines: Vec<PartLine>,
    pub gpu_cost_known: bool,
    pub builds_as_listed: bool,
    pub dc_load_w: f64,
    pub wall_load_w: f64,
    pub wall_idle_w: f64,
    pub psu_capacity_w: f64,
    pub circuits: Vec<CircuitNeed>,
    pub warnings: Vec<String>,
}

impl NodeBuild {
    /// The node with its priced total and unpriced lines summed from its lines.
    pub fn from_lines(f: NodeFigures) -> NodeBuild {
        // Folded from +0.0: an empty f64 sum is -0.0.
        let priced: Vec<f64> = f.lines.iter().filter_map(|l| l.total_usd).collect();
        // Rounded to cents: sums of prices like $299.99 should not read $3,857.8599999.
        let priced_total_usd = (!priced.is_empty())
            .then(|| (priced.iter().fold(0.0, |a, b| a + b) * 100.0).round() / 100.0);
        let unpriced = f
            .lines
            .iter()
            .filter(|l| l.total_usd.is_none() && !l.included_in_system())
            .map(|l| l.name.clone())
            .collect();
        NodeBuild {
            gpus_per_node: f.gpus_per_node,
            gpu_cost_known: f.gpu_cost_known,
            builds_as_listed: f.builds_as_listed,
            lines: f.lines,
            priced_total_usd,
            unpriced,
            dc_load_w: f.dc_load_w,
            wall_load_w: f.wall_load_w,
            wall_idle_w: f.wall_idle_w,
            psu_capacity_w: f.psu_capacity_w,
            circuits: f.circuits,
            load_time_s: None,
            warnings: f.warnings,
        }
    }
}

/// All nodes of a build priced: the total only when every line has a price, else the priced
/// lines' sum as a lower bound; price dates and ages counted to `as_of`.
pub fn priced_build(mut node: NodeBuild, nodes: u32, as_of: Option<&str>) -> crate::plan::Build {
    if let Some(as_of) = as_of {
        for l in &mut node.lines {
            l.price_age_months = l
                .unit_price
                .as_ref()
                .and_then(|p| crate::plan::rank::price_age_months(&p.date, as_of));
        }
    }
    let dates: Vec<&str> = node
        .lines
        .iter()
        .filter_map(|l| l.unit_price.as_ref().map(|p| p.date.as_str()))
        .collect();
    let fully_priced = node.unpriced.is_empty() && node.priced_total_usd.is_some();
    let all_nodes = node.priced_total_usd.map(|v| v * f64::from(nodes));
    crate::plan::Build {
        nodes,
        total_usd: all_nodes.filter(|_| fully_priced),
        lower_bound_usd: all_nodes.filter(|_| !fully_priced),
        fully_priced,
        oldest_price_date: dates.iter().min().map(|d| d.to_string()),
        newest_price_date: dates.iter().max().map(|d| d.to_string()),
        stale_prices: node
            .lines
            .iter()
            .filter(|l| l.price_age_months.is_some_and(crate::plan::rank::is_stale))
            .map(|l| l.name.clone())
            .collect(),
        node,
    }
}
