//! Ranking: the order options are listed in, and which one the plan recommends.
//!
//! Every order states its objective. The recommendation does not follow the order: it is always
//! the cheapest option that fits and whose every part has a price (so it builds as listed), and
//! a plan without such an option recommends nothing rather than a lower bound.
use super::constants as c;
use super::GpuOption;
use serde::Serialize;
use std::cmp::Ordering;

/// What the options are sorted by (`--sort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SortKey {
    /// Fully priced fits by total price, then fits with unpriced parts, then misses.
    Price,
    /// Fits by decode tokens/s (training: fewest days), fastest first.
    Speed,
    /// Fits by wall power at load, lowest first.
    Power,
    /// Fully priced fits by USD per decode token/s, lowest first.
    UsdPerToken,
    /// Fits by GPU count, fewest first.
    Gpus,
    /// In the order given on the command line (`compare`).
    #[value(skip)]
    Given,
}

impl SortKey {
    /// The objective in words, as plans state it.
    pub fn objective(self) -> &'static str {
        match self {
            SortKey::Price => "fully priced fits by total price, then fits with unpriced parts by the price of their priced parts, then options that do not fit",
            SortKey::Speed => "fits by decode tokens/s, fastest first (training: fewest days), then options that do not fit",
            SortKey::Power => "fits by wall power at load, lowest first, then options that do not fit",
            SortKey::UsdPerToken => "fully priced fits by USD per decode token/s, lowest first, then the other fits by price, then options that do not fit",
            SortKey::Gpus => "fits by number of GPUs, fewest first, then options that do not fit",
            SortKey::Given => "in the order given",
        }
    }
}

/// How completely an option is priced, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Priced {
    Complete,
    LowerBound,
    None,
}

fn priced(o: &GpuOption) -> (Priced, f64) {
    match o.build.as_ref().and_then(|b| b.price()) {
        Some((usd, true)) => (Priced::Complete, usd),
        Some((usd, false)) => (Priced::LowerBound, usd),
        None => (Priced::None, f64::INFINITY),
    }
}

/// Whether the plan may recommend this option: it fits, builds as listed and is fully priced.
pub fn recommendable(o: &GpuOption) -> bool {
    o.fits
        && o.build
            .as_ref()
            .is_some_and(|b| b.total_usd.is_some() && b.node.builds_as_listed)
}

/// Speed as "bigger is better": decode tokens/s of the whole batch, or minus training days.
fn speed(o: &GpuOption) -> Option<f64> {
    o.speed
        .map(|s| s.decode_batch_tokens_per_s)
        .or_else(|| o.training.map(|t| -t.wall_clock_days))
        .filter(|v| v.is_finite())
}

/// Price order: complete prices, then lower bounds, then unpriced; cheaper first; then fewer GPUs.
fn by_price(a: &GpuOption, b: &GpuOption) -> Ordering {
    let (pa, ua) = priced(a);
    let (pb, ub) = priced(b);
    pa.cmp(&pb)
        .then(ua.total_cmp(&ub))
        .then(a.gpus.cmp(&b.gpus))
}

fn stable(a: &GpuOption, b: &GpuOption) -> Ordering {
    a.gpu_id.cmp(&b.gpu_id).then(a.gpus.cmp(&b.gpus))
}

/// `Some` values first, ascending.
fn some_first(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Orders `a` before `b` under `key`: fits first, then the key, then price, then id.
pub fn compare(key: SortKey, a: &GpuOption, b: &GpuOption) -> Ordering {
    let fits = b.fits.cmp(&a.fits);
    let primary = match key {
        SortKey::Price | SortKey::Given => Ordering::Equal,
        SortKey::Speed => some_first(speed(a).map(|v| -v), speed(b).map(|v| -v)),
        SortKey::Power => some_first(
            a.cost.as_ref().map(|c| c.power_load_w),
            b.cost.as_ref().map(|c| c.power_load_w),
        ),
        SortKey::UsdPerToken => some_first(
            a.cost.as_ref().and_then(|c| c.usd_per_token_per_s),
            b.cost.as_ref().and_then(|c| c.usd_per_token_per_s),
        ),
        SortKey::Gpus => a.gpus.cmp(&b.gpus),
    };
    fits.then(primary)
        .then_with(|| by_price(a, b))
        .then_with(|| stable(a, b))
}

/// Sorts options by `key` (stable: `Given` keeps the order).
pub fn sort(options: &mut [GpuOption], key: SortKey) {
    if key != SortKey::Given {
        options.sort_by(|a, b| compare(key, a, b));
    }
}

/// The recommended option and the runner-up: the cheapest two recommendable options.
pub fn recommend(options: &[GpuOption]) -> (Option<usize>, Option<usize>) {
    let mut ok: Vec<usize> = (0..options.len())
        .filter(|&i| recommendable(&options[i]))
        .collect();
    ok.sort_by(|&a, &b| {
        by_price(&options[a], &options[b])
            .then_with(|| some_first(speed(&options[b]), speed(&options[a])))
            .then_with(|| stable(&options[a], &options[b]))
    });
    (ok.first().copied(), ok.get(1).copied())
}

/// The fastest option that fits (ties: the cheaper), if any fit has a speed.
pub fn fastest(options: &[GpuOption]) -> Option<usize> {
    (0..options.len())
        .filter(|&i| options[i].fits && speed(&options[i]).is_some())
        .min_by(|&a, &b| {
            some_first(speed(&options[b]), speed(&options[a]))
                .then_with(|| by_price(&options[a], &options[b]))
        })
}

/// `(year, month, day)` of `YYYY-MM` (day 1) or `YYYY-MM-DD`.
fn ymd(date: &str) -> Option<(i64, i64, i64)> {
    let mut it = date.trim().splitn(3, '-');
    let y = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next().map_or(Some(1), |d| d.parse().ok())?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// Whole months from a price's `date` to `as_of` (0 for a date after `as_of`).
pub fn price_age_months(date: &str, as_of: &str) -> Option<u32> {
    let (py, pm, pd) = ymd(date)?;
    let (ay, am, ad) = ymd(as_of)?;
    let months = (ay * 12 + am) - (py * 12 + pm) - i64::from(ad < pd);
    Some(months.clamp(0, i64::from(u32::MAX)) as u32)
}

/// Whether a price of this age is flagged as old.
pub fn is_stale(age_months: u32) -> bool {
    f64::from(age_months) > c::STALE_PRICE_MONTHS
}

#[cfg(test)]
#[path = "rank_tests.rs"]
mod fixture_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_ages_count_whole_months() {
        assert_eq!(price_age_months("2024-01", "2026-03-15"), Some(26));
        assert_eq!(price_age_months("2026-03-20", "2026-04-19"), Some(0));
        assert_eq!(price_age_months("2026-03-20", "2026-04-20"), Some(1));
        assert_eq!(price_age_months("2027-01", "2026-04-20"), Some(0));
        assert_eq!(price_age_months("March 2024", "2026-04-20"), None);
        assert_eq!(price_age_months("2024-13", "2026-04-20"), None);
        assert!(!is_stale(18) && is_stale(19));
    }
}
