//! Calibration: the planner against published figures (planner.md §3, plus measured LoRA and
//! QLoRA memory), each with its source and tolerance, so a change that breaks one shows at
//! once. Pure: every figure is computed from the catalog passed in; `llmrig calibrate` prints
//! the table and a test runs the same one.
use crate::catalog::Catalog;
use serde::Serialize;

mod anchors;

pub use anchors::ANCHORS;

/// When a planner figure agrees with the published one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tolerance {
    /// Within ± this fraction of the published figure.
    Relative { fraction: f64 },
    /// Within ± this much of it, in the anchor's unit (figures published rounded).
    Absolute { amount: f64 },
    /// Between the two bounds, in the anchor's unit.
    Range { low: f64, high: f64 },
    /// At most this much.
    AtMost { high: f64 },
}

impl Tolerance {
    fn holds(self, published: Option<f64>, value: f64) -> bool {
        match (self, published) {
            (Tolerance::Relative { fraction }, Some(p)) => (value - p).abs() <= p.abs() * fraction,
            (Tolerance::Absolute { amount }, Some(p)) => (value - p).abs() <= amount,
            (Tolerance::Range { low, high }, _) => (low..=high).contains(&value),
            (Tolerance::AtMost { high }, _) => value <= high,
            (Tolerance::Relative { .. } | Tolerance::Absolute { .. }, None) => false,
        }
    }
}

/// One published figure and how to compute the planner's.
pub struct Anchor {
    /// Anchor id as in planner.md §3 (`F1`, `M3`, …), with a suffix for each figure.
    pub id: &'static str,
    pub what: &'static str,
    /// Where the published figure comes from.
    pub source: &'static str,
    /// The published figure; absent when the source gives only a range.
    pub published: Option<f64>,
    pub unit: &'static str,
    pub tolerance: Tolerance,
    /// Why the planner misses this anchor today, while a fix is pending elsewhere; shown,
    /// and not counted as a failure (a test checks it still fails, so the mark gets removed).
    pub known_failing: Option<&'static str>,
    /// The planner's figure, or why it cannot be expressed.
    pub compute: fn(&Catalog) -> Result<f64, String>,
}

/// How one anchor came out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnchorResult {
    pub id: &'static str,
    pub what: &'static str,
    pub source: &'static str,
    /// Unit of `published_value` and `planner_value`.
    pub unit: &'static str,
    pub published_value: Option<f64>,
    pub planner_value: Option<f64>,
    /// (planner − published) ÷ published, in percent.
    pub error_pct: Option<f64>,
    pub tolerance: Tolerance,
    pub within_tolerance: bool,
    pub known_failing: Option<&'static str>,
    /// Why the planner could not express the anchor.
    pub not_expressible: Option<String>,
}

impl AnchorResult {
    /// A miss that is not marked known-failing.
    pub fn is_failure(&self) -> bool {
        !self.within_tolerance && self.known_failing.is_none()
    }
}

/// Evaluates one anchor.
pub fn evaluate(anchor: &Anchor, cat: &Catalog) -> AnchorResult {
    let computed = (anchor.compute)(cat);
    let planner_value = computed.as_ref().ok().copied().filter(|v| v.is_finite());
    let error_pct = match (planner_value, anchor.published) {
        (Some(v), Some(p)) if p != 0.0 => Some((v - p) / p * 100.0),
        _ => None,
    };
    AnchorResult {
        id: anchor.id,
        what: anchor.what,
        source: anchor.source,
        unit: anchor.unit,
        published_value: anchor.published,
        planner_value,
        error_pct,
        tolerance: anchor.tolerance,
        within_tolerance: planner_value
            .is_some_and(|v| anchor.tolerance.holds(anchor.published, v)),
        known_failing: anchor.known_failing,
        not_expressible: computed.err(),
    }
}

/// Every anchor against `cat`.
pub fn run(cat: &Catalog) -> Vec<AnchorResult> {
    ANCHORS.iter().map(|a| evaluate(a, cat)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalog {
        Catalog::embedded().expect("embedded catalog validates")
    }

    #[test]
    fn every_anchor_is_within_tolerance_or_marked_known_failing() {
        let results = run(&cat());
        let failures: Vec<String> = results
            .iter()
            .filter(|r| r.is_failure())
            .map(|r| {
                format!(
                    "{} {}: {:?} vs {:?} ({:?})",
                    r.id, r.what, r.planner_value, r.published_value, r.not_expressible
                )
            })
            .collect();
        assert!(failures.is_empty(), "outside tolerance: {failures:#?}");
    }

    #[test]
    fn known_failing_anchors_still_fail() {
        // When one starts to pass (the engine's speed model lands), remove its mark.
        for r in run(&cat()).iter().filter(|r| r.known_failing.is_some()) {
            assert!(
                !r.within_tolerance,
                "{} now passes ({:?} vs {:?}): remove its known_failing mark",
                r.id, r.planner_value, r.published_value
            );
        }
    }

    #[test]
    fn anchors_are_unique_sourced_and_cover_planner_md() {
        for (i, a) in ANCHORS.iter().enumerate() {
            assert!(
                ANCHORS[i + 1..].iter().all(|b| b.id != a.id),
                "{} twice",
                a.id
            );
            assert!(a.source.len() > 10, "{} needs a source", a.id);
        }
        for id in [
            "F1", "F2", "F3", "F4", "F5", "F6", "F7", "T1", "M1", "M3", "M4", "W1", "K1", "R7",
            "R11",
        ] {
            assert!(
                ANCHORS
                    .iter()
                    .any(|a| a.id == id || a.id.starts_with(&format!("{id} "))),
                "planner.md §3 anchor {id} is missing"
            );
        }
    }

    #[test]
    fn tolerances_judge_as_stated() {
        let rel = Tolerance::Relative { fraction: 0.3 };
        assert!(rel.holds(Some(100.0), 129.0) && !rel.holds(Some(100.0), 131.0));
        assert!(!rel.holds(None, 1.0));
        let range = Tolerance::Range {
            low: 90.0,
            high: 160.0,
        };
        assert!(range.holds(None, 90.0) && !range.holds(None, 161.0));
        assert!(Tolerance::AtMost { high: 8.0 }.holds(None, 8.0));
        assert!(!Tolerance::Absolute { amount: 0.01 }.holds(Some(6.09), 6.11));
    }
}
