//! The electricity a plan is costed at: the tariff a name picks, and its price and grid carbon
//! intensity with their sources.
use super::PlanRequest;
use crate::catalog::{Catalog, Electricity};

/// USD per kWh when the catalog has no tariff at all (an overlay that replaced them): the US
/// residential average for April 2024 (EIA), the embedded `us-residential-2024-04` entry.
pub const FALLBACK_USD_PER_KWH: f64 = 0.1688;

/// The electricity tariff `name` picks: an id, or a region (e.g. `us-ca`) whose default or
/// newest tariff is used; without a name, the catalog default.
pub fn tariff<'a>(cat: &'a Catalog, name: Option<&str>) -> Option<&'a Electricity> {
    let Some(name) = name else {
        return cat.default_electricity();
    };
    cat.electricity.get(name).or_else(|| {
        cat.electricity
            .iter()
            .filter(|e| e.region.eq_ignore_ascii_case(name))
            .max_by(|a, b| a.default.cmp(&b.default).then(a.date.cmp(&b.date)))
    })
}

/// Electricity price and grid carbon intensity for a request, with their sources.
pub(super) struct Tariff {
    pub(super) usd_per_kwh: f64,
    pub(super) source: String,
    pub(super) grid_gco2_per_kwh: Option<f64>,
    pub(super) grid_source: String,
}

pub(super) fn electricity(cat: &Catalog, req: &PlanRequest) -> Tariff {
    let chosen = tariff(cat, req.electricity.as_deref());
    let (usd_per_kwh, source) = match (req.usd_per_kwh, chosen) {
        (Some(v), _) => (v, "--usd-per-kwh".into()),
        (None, Some(e)) => (
            e.usd_per_kwh,
            format!("{} ({}, {})", e.name, e.date, e.source),
        ),
        // A stated fallback keeps plans usable with an overlay that lacks tariffs.
        (None, None) => (
            FALLBACK_USD_PER_KWH,
            "US residential average, April 2024 (EIA; no tariff in the catalog)".into(),
        ),
    };
    let from_tariff = chosen.and_then(|e| e.gco2_per_kwh.map(|g| (g, e)));
    let (grid_gco2_per_kwh, grid_source) = match (req.grid_gco2_per_kwh, from_tariff) {
        (Some(g), _) => (Some(g), "--grid-gco2-per-kwh".into()),
        (None, Some((g, e))) => (
            Some(g),
            format!(
                "{} ({})",
                e.region,
                e.sources.get("gco2_per_kwh").unwrap_or(&e.source)
            ),
        ),
        (None, None) => (
            None,
            format!(
                "unknown for {}: pass --grid-gco2-per-kwh",
                chosen.map_or("the catalog's tariffs", |e| e.name.as_str())
            ),
        ),
    };
    Tariff {
        usd_per_kwh,
        source,
        grid_gco2_per_kwh,
        grid_source,
    }
}
