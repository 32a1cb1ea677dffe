//! Purchase, power and running cost, the cloud rental it replaces, and rent or buy over a
//! horizon.
use super::constants as c;
use super::request::PlanRequest;
use super::speed::{Speed, TrainingTime};
use super::Build;
use crate::catalog::{Catalog, Cloud, Gpu};
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
    /// Owning against renting the same GPUs over the request's horizon.
    pub rent_or_buy: RentOrBuy,
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
    let offers: Vec<&Cloud> = cat.cloud.iter().filter(|r| r.gpu == gpu.id).collect();
    let power = Power {
        load_w: power_load_w,
        idle_w: power_idle_w,
        usd_per_kwh,
    };
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
        rent_or_buy: rent_or_buy(&offers, gpus, req, purchase, power),
    }
}

/// Cloud price tiers compared with buying, in display order.
pub const TIERS: [&str; 3] = ["on-demand", "spot", "reserved"];

/// Buying and running the rig for the horizon, less what it sells for at the end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuyCost {
    /// Complete purchase price only (null when some part is unpriced).
    pub purchase_usd: Option<f64>,
    /// Electricity over the horizon: at load for the hours used each day, idle the rest.
    pub electricity_usd: f64,
    pub resale_usd: Option<f64>,
    /// Purchase + electricity − resale; null unless the purchase price is complete.
    pub total_usd: Option<f64>,
}

/// Renting the same GPUs from the cheapest dated offer of one tier, for the hours used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RentTier {
    /// `on-demand`, `spot` or `reserved`.
    pub offer: &'static str,
    /// The catalog's cloud entry; every figure below is null when the tier has no price.
    pub cloud_id: Option<String>,
    pub provider: Option<String>,
    pub usd_per_gpu_hour: Option<f64>,
    pub date: Option<String>,
    pub source: Option<String>,
    /// Rent for the hours used over the horizon.
    pub total_usd: Option<f64>,
    /// Whether buying costs less than this tier over the horizon.
    pub buy_wins: Option<bool>,
    /// Hours of use a day from which buying costs less over the horizon (null when renting
    /// wins even around the clock).
    pub break_even_hours_per_day: Option<f64>,
    /// Months of use at the request's hours a day until the rent saved pays for the purchase
    /// (purchase ÷ (rent − electricity) per month; resale would only shorten it).
    pub break_even_months: Option<f64>,
}

/// Rent or buy over `horizon_months` at `hours_per_day`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RentOrBuy {
    pub hours_per_day: f64,
    pub horizon_months: f64,
    /// Resale value at the end of the horizon, percent of the purchase price.
    pub resale_percent: f64,
    /// `--resale-percent`, or straight-line over GPU_USEFUL_LIFE_YEARS.
    pub resale_basis: String,
    pub buy: BuyCost,
    /// One entry per tier of [`TIERS`], priced or not.
    pub rent: Vec<RentTier>,
}

/// Wall power and its price, the inputs of the electricity bill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Power {
    pub load_w: f64,
    pub idle_w: f64,
    pub usd_per_kwh: f64,
}

impl Power {
    /// Electricity for a month at `hours_per_day` of load and idle the rest.
    fn usd_per_month(&self, hours_per_day: f64) -> f64 {
        let load = hours_per_day / 24.0;
        (load * self.load_w + (1.0 - load) * self.idle_w) / 1000.0
            * c::HOURS_PER_MONTH
            * self.usd_per_kwh
    }
}

/// Resale value after the horizon as a fraction of the purchase price, and its basis.
fn resale(req: &PlanRequest) -> (f64, String) {
    match req.resale_percent {
        Some(p) => (p / 100.0, "--resale-percent".into()),
        None => (
            (1.0 - req.horizon_months / (12.0 * c::GPU_USEFUL_LIFE_YEARS)).max(0.0),
            format!("straight-line over {} years", c::GPU_USEFUL_LIFE_YEARS),
        ),
    }
}

/// Owning against each cloud tier for `gpus` GPUs. `purchase` is the complete price only, so
/// every figure that needs it is null for a partly priced build.
pub(super) fn rent_or_buy(
    offers: &[&Cloud],
    gpus: u32,
    req: &PlanRequest,
    purchase: Option<f64>,
    power: Power,
) -> RentOrBuy {
    let months = req.horizon_months;
    let hours_per_day = req.utilization * 24.0;
    let (resale_fraction, resale_basis) = resale(req);
    let electricity_usd = power.usd_per_month(hours_per_day) * months;
    let resale_usd = purchase.map(|p| p * resale_fraction);
    let buy_total = purchase.map(|p| p - p * resale_fraction + electricity_usd);
    // Buying over the horizon is a + b·h for h hours a day: the purchase less resale and the
    // idle draw, plus the extra draw at load.
    let fixed = purchase.map(|p| p * (1.0 - resale_fraction) + power.usd_per_month(0.0) * months);
    let per_hour = (power.usd_per_month(24.0) - power.usd_per_month(0.0)) / 24.0 * months;
    let rent = TIERS
        .iter()
        .map(|&offer| {
            let best = offers
                .iter()
                .filter(|r| r.offer == offer)
                .min_by(|a, b| a.usd_per_gpu_hour.total_cmp(&b.usd_per_gpu_hour));
            let usd_per_hour = best.map(|r| r.usd_per_gpu_hour * f64::from(gpus));
            let total_usd =
                usd_per_hour.map(|u| u * hours_per_day / 24.0 * c::HOURS_PER_MONTH * months);
            let rent_per_day_hour = usd_per_hour.map(|u| u / 24.0 * c::HOURS_PER_MONTH * months);
            let break_even_hours_per_day = fixed
                .zip(rent_per_day_hour)
                .filter(|(_, r)| *r > per_hour)
                .map(|(a, r)| a / (r - per_hour))
                .filter(|h| *h <= 24.0);
            let saved_per_month =
                total_usd.map(|t| t / months - power.usd_per_month(hours_per_day));
            let break_even_months = purchase
                .zip(saved_per_month)
                .filter(|(_, s)| *s > 0.0)
                .map(|(p, s)| p / s);
            RentTier {
                offer,
                cloud_id: best.map(|r| r.id.clone()),
                provider: best.map(|r| r.provider.clone()),
                usd_per_gpu_hour: best.map(|r| r.usd_per_gpu_hour),
                date: best.map(|r| r.date.clone()),
                source: best.map(|r| r.source.clone()),
                total_usd,
                buy_wins: buy_total.zip(total_usd).map(|(b, r)| b < r),
                break_even_hours_per_day,
                break_even_months,
            }
        })
        .collect();
    RentOrBuy {
        hours_per_day,
        horizon_months: months,
        resale_percent: resale_fraction * 100.0,
        resale_basis,
        buy: BuyCost {
            purchase_usd: purchase,
            electricity_usd,
            resale_usd,
            total_usd: buy_total,
        },
        rent,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Workload;

    fn offer(offer: &str, usd_per_gpu_hour: f64) -> Cloud {
        Cloud {
            id: format!("fx-{offer}"),
            name: format!("fixture {offer}"),
            gpu: "fx-gpu".into(),
            provider: "fx-cloud".into(),
            offer: offer.into(),
            usd_per_gpu_hour,
            date: "2026-01".into(),
            prices: Vec::new(),
            source: "https://example.com/fixture".into(),
            sources: Default::default(),
            notes: None,
        }
    }

    const POWER: Power = Power {
        load_w: 1000.0,
        idle_w: 200.0,
        usd_per_kwh: 0.20,
    };

    fn close(got: Option<f64>, want: f64) {
        let got = got.expect("a figure");
        assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
    }

    /// Two GPUs bought for $10,000, drawing 1,000 W at load and 200 W idle at $0.20/kWh, used
    /// 12 h a day for the default 36 months, against $1.00 (on-demand) and $0.50 (spot) per
    /// GPU-hour and no reserved price. By hand:
    /// - electricity: (0.5 × 1000 + 0.5 × 200) W = 0.6 kW × 730 h × $0.20 = $87.60 a month,
    ///   × 36 = $3,153.60;
    /// - resale: straight-line over 5 years, 1 − 36/60 = 40 % → $4,000;
    /// - buying: 10,000 − 4,000 + 3,153.60 = $9,153.60;
    /// - on-demand: 2 × $1.00 × 730 × 0.5 × 36 = $26,280; spot: $13,140;
    /// - break-even hours a day: buying is 6,000 + idle 0.2 kW × 730 × 0.20 × 36 (= 1,051.20)
    ///   = 7,051.20 plus 0.8 kW × 730 / 24 × 0.20 × 36 = 175.20 per daily hour; on-demand is
    ///   2 × 1.00 × 730 / 24 × 36 = 2,190 per daily hour → 7,051.20 / (2,190 − 175.20) =
    ///   3.4997 h; spot 7,051.20 / (1,095 − 175.20) = 7.6660 h;
    /// - payback: 10,000 / (730 − 87.60) = 15.5666 months on-demand, 10,000 / (365 − 87.60) =
    ///   36.0490 months spot.
    #[test]
    fn rent_or_buy_matches_a_hand_computed_case() {
        let req = PlanRequest {
            utilization: 0.5,
            ..PlanRequest::new(Workload::Infer, 2048)
        };
        let (on_demand, spot) = (offer("on-demand", 1.0), offer("spot", 0.5));
        let r = rent_or_buy(&[&spot, &on_demand], 2, &req, Some(10_000.0), POWER);
        assert_eq!((r.hours_per_day, r.horizon_months), (12.0, 36.0));
        close(Some(r.resale_percent), 40.0);
        close(Some(r.buy.electricity_usd), 3_153.60);
        close(r.buy.resale_usd, 4_000.0);
        close(r.buy.total_usd, 9_153.60);
        let [od, sp, rs] = &r.rent[..] else {
            panic!("three tiers")
        };
        assert_eq!((od.offer, sp.offer, rs.offer), TIERS.into());
        close(od.total_usd, 26_280.0);
        close(sp.total_usd, 13_140.0);
        close(od.break_even_hours_per_day, 7_051.20 / (2_190.0 - 175.20));
        close(sp.break_even_hours_per_day, 7_051.20 / (1_095.0 - 175.20));
        close(od.break_even_months, 10_000.0 / (730.0 - 87.60));
        close(sp.break_even_months, 10_000.0 / (365.0 - 87.60));
        assert_eq!((od.buy_wins, sp.buy_wins), (Some(true), Some(true)));
        // A tier without a price is null throughout, never invented.
        assert_eq!(
            (rs.cloud_id.as_deref(), rs.total_usd, rs.buy_wins),
            (None, None, None)
        );
        assert_eq!(rs.break_even_hours_per_day, None);
    }

    #[test]
    fn a_partial_price_gives_rent_totals_but_no_buy_figures() {
        let req = PlanRequest::new(Workload::Infer, 2048);
        let od = offer("on-demand", 1.0);
        let r = rent_or_buy(&[&od], 2, &req, None, POWER);
        assert_eq!(
            (r.buy.purchase_usd, r.buy.resale_usd, r.buy.total_usd),
            (None, None, None)
        );
        let t = &r.rent[0];
        close(t.total_usd, 2.0 * 730.0 * 36.0);
        assert_eq!(
            (t.buy_wins, t.break_even_hours_per_day, t.break_even_months),
            (None, None, None)
        );
    }

    #[test]
    fn resale_override_and_a_horizon_past_the_useful_life() {
        let od = offer("on-demand", 0.05);
        let long = PlanRequest {
            horizon_months: 72.0,
            ..PlanRequest::new(Workload::Infer, 2048)
        };
        let r = rent_or_buy(&[&od], 1, &long, Some(10_000.0), POWER);
        assert_eq!((r.resale_percent, r.buy.resale_usd), (0.0, Some(0.0)));
        // $36.50 a month of rent never beats $146 of electricity: renting wins at any hours.
        assert_eq!(r.rent[0].buy_wins, Some(false));
        assert_eq!(r.rent[0].break_even_hours_per_day, None);
        assert_eq!(r.rent[0].break_even_months, None);
        let kept = PlanRequest {
            resale_percent: Some(25.0),
            ..long
        };
        let r = rent_or_buy(&[&od], 1, &kept, Some(10_000.0), POWER);
        assert_eq!(
            (r.buy.resale_usd, r.resale_basis.as_str()),
            (Some(2_500.0), "--resale-percent")
        );
    }
}
