//! Purchase, power and running cost, and the cloud rental it replaces.
use super::constants as c;
use super::request::PlanRequest;
use super::speed::{Speed, TrainingTime};
use super::Build;
use crate::catalog::{Catalog, Gpu};
use serde::Serialize;

/// The cheapest on-demand cloud price for the same GPU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloudCost {
    pub provider: String,
    pub offer: String,
    pub usd_per_gpu_hour: f64,
    pub date: String,
    pub source: String,
    /// Renting the same GPUs at the plan's utilization for a month.
    pub usd_per_month: f64,
}

/// Money and power for one option.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    /// Purchase price, all nodes; only when the build is fully priced.
    pub purchase_usd: Option<f64>,
    pub power_load_w: f64,
    pub power_idle_w: f64,
    pub usd_per_kwh: f64,
    pub electricity_usd_per_month: f64,
    pub cloud: Option<CloudCost>,
    /// Months until buying beats renting (purchase ÷ (cloud − electricity) per month); only
    /// from a complete purchase price.
    pub break_even_months: Option<f64>,
    /// Purchase price per token/s of batched decode (inference); only from a complete price.
    pub usd_per_token_per_s: Option<f64>,
}

pub(super) fn cost(
    cat: &Catalog,
    gpu: &Gpu,
    req: &PlanRequest,
    build: &Build,
    gpus: u32,
    speed: Option<&Speed>,
    usd_per_kwh: f64,
) -> Cost {
    let nodes = build.nodes as f64;
    let power_load_w = build.node.wall_load_w * nodes;
    let power_idle_w = build.node.wall_idle_w * nodes;
    let avg_w = req.utilization * power_load_w + (1.0 - req.utilization) * power_idle_w;
    let electricity_usd_per_month = avg_w / 1000.0 * c::HOURS_PER_MONTH * usd_per_kwh;
    let cloud = cat
        .cloud
        .iter()
        .filter(|r| r.gpu == gpu.id && r.offer == "on-demand")
        .min_by(|a, b| a.usd_per_gpu_hour.total_cmp(&b.usd_per_gpu_hour))
        .map(|r| CloudCost {
            provider: r.provider.clone(),
            offer: r.offer.clone(),
            usd_per_gpu_hour: r.usd_per_gpu_hour,
            date: r.date.clone(),
            source: r.source.clone(),
            usd_per_month: r.usd_per_gpu_hour * gpus as f64 * c::HOURS_PER_MONTH * req.utilization,
        });
    // Ratios come only from a complete price: a lower bound would make a build look cheap.
    let purchase = build.total_usd.filter(|v| *v > 0.0);
    let break_even_months = cloud.as_ref().zip(purchase).and_then(|(cl, usd)| {
        let saving = cl.usd_per_month - electricity_usd_per_month;
        (saving > 0.0).then(|| usd / saving)
    });
    Cost {
        purchase_usd: purchase,
        power_load_w,
        power_idle_w,
        usd_per_kwh,
        electricity_usd_per_month,
        cloud,
        break_even_months,
        usd_per_token_per_s: speed
            .filter(|s| s.decode_batch_tokens_per_s > 0.0)
            .zip(purchase)
            .map(|(s, usd)| usd / s.decode_batch_tokens_per_s),
    }
}

/// Grid emissions of one option: running it, and its training run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Emissions {
    /// Carbon intensity used, grams CO2 per kWh (CO2e when the figure is CO2e).
    pub grid_gco2_per_kwh: f64,
    /// Wall energy in a month at the plan's utilization.
    pub energy_kwh_per_month: f64,
    pub co2_tonnes_per_month: f64,
    /// Wall energy of the training run (`--train-tokens`) at load on every node.
    pub training_energy_kwh: Option<f64>,
    pub training_co2_tonnes: Option<f64>,
}

/// Emissions from the option's wall power and, for a training run, its wall-clock time.
pub(super) fn emissions(
    cost: &Cost,
    req: &PlanRequest,
    training: Option<&TrainingTime>,
    grid_gco2_per_kwh: f64,
) -> Emissions {
    let avg_w = req.utilization * cost.power_load_w + (1.0 - req.utilization) * cost.power_idle_w;
    let energy_kwh_per_month = avg_w / 1000.0 * c::HOURS_PER_MONTH;
    let tonnes = |kwh: f64| kwh * grid_gco2_per_kwh / 1e6;
    let training_energy_kwh =
        training.map(|t| cost.power_load_w / 1000.0 * t.wall_clock_days * 24.0);
    Emissions {
        grid_gco2_per_kwh,
        energy_kwh_per_month,
        co2_tonnes_per_month: tonnes(energy_kwh_per_month),
        training_energy_kwh,
        training_co2_tonnes: training_energy_kwh.map(tonnes),
    }
}
