//! Prices and provenance shared by every catalog entry.
use serde::{Deserialize, Serialize};

/// What kind of price a figure is; planners prefer new prices over used ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriceKind {
    /// The vendor's list price at launch.
    LaunchMsrp,
    /// A price seen for a new unit at a retailer or in a sales report.
    StreetNew,
    /// A second-hand price.
    Used,
    /// An analyst or journalist estimate rather than an observed sale.
    Estimate,
}

/// One sourced, dated price in US dollars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Price in US dollars for one unit (one GPU, one kit, one server).
    pub usd: f64,
    /// What kind of price this is.
    pub kind: PriceKind,
    /// When the price was seen or set: `YYYY-MM-DD` or `YYYY-MM`.
    pub date: String,
    /// Where the price comes from (URL).
    pub source: String,
    /// Caveats, e.g. "range 25,000–30,000; midpoint".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Picks the price a buyer would pay today: the newest price, whatever its kind (a discontinued
/// card's newest price is often a used one, and it beats its old launch price). At equal dates an
/// observed price beats an estimate, and a new one beats a used one.
pub fn preferred(prices: &[Price]) -> Option<&Price> {
    let rank = |p: &Price| match p.kind {
        PriceKind::StreetNew => 3,
        PriceKind::LaunchMsrp => 2,
        PriceKind::Used => 1,
        PriceKind::Estimate => 0,
    };
    prices
        .iter()
        .max_by(|a, b| a.date.cmp(&b.date).then_with(|| rank(a).cmp(&rank(b))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(usd: f64, kind: PriceKind, date: &str) -> Price {
        Price {
            usd,
            kind,
            date: date.into(),
            source: "https://example.com".into(),
            note: None,
        }
    }

    #[test]
    fn preferred_takes_the_newest_price_and_new_over_used_on_ties() {
        let prices = [
            price(1499.0, PriceKind::LaunchMsrp, "2020-09"),
            price(700.0, PriceKind::Used, "2026-05"),
            price(1299.0, PriceKind::StreetNew, "2022-01"),
        ];
        assert_eq!(preferred(&prices).unwrap().usd, 700.0);
        let tie = [
            price(1550.0, PriceKind::Used, "2026-05"),
            price(1900.0, PriceKind::StreetNew, "2026-05"),
        ];
        assert_eq!(preferred(&tie).unwrap().usd, 1900.0);
        assert!(preferred(&[]).is_none());
        assert_eq!(preferred(&prices[1..2]).unwrap().usd, 700.0);
        let observed = [
            price(30000.0, PriceKind::Estimate, "2025-03"),
            price(24500.0, PriceKind::Used, "2025-03"),
        ];
        assert_eq!(preferred(&observed).unwrap().usd, 24500.0);
        // A day-dated price is newer than a month-only one of the same month.
        let days = [
            price(1.0, PriceKind::StreetNew, "2025-07"),
            price(2.0, PriceKind::Used, "2025-07-23"),
        ];
        assert_eq!(preferred(&days).unwrap().usd, 2.0);
    }
}
