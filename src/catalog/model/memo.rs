//! Figures derived from a catalog model's architecture, computed once. A plan asks for the same
//! parameter counts and weight bytes at every context and batch it tries, for every GPU; the
//! tensor inventory behind them is rebuilt on each call otherwise.
//!
//! Only models the catalog has loaded and validated keep their figures ([`Memo::enable`]): a
//! model built or changed in code, and every clone, computes afresh, so a memo can never
//! answer for fields it did not see.
use super::ParamCounts;
use crate::plan::WeightFormat;
use std::sync::{Mutex, OnceLock};

#[derive(Default)]
pub struct Memo {
    enabled: bool,
    counts: OnceLock<ParamCounts>,
    weight_bytes: Mutex<Vec<(WeightFormat, f64)>>,
}

impl Memo {
    /// Keeps figures from now on (the catalog calls this once the model is validated).
    pub(in crate::catalog) fn enable(&mut self) {
        self.enabled = true;
    }

    /// The parameter counts, from `compute` the first time.
    pub fn counts(&self, compute: impl FnOnce() -> ParamCounts) -> ParamCounts {
        if !self.enabled {
            return compute();
        }
        *self.counts.get_or_init(compute)
    }

    /// The weight bytes in `format`, from `compute` the first time.
    pub fn weight_bytes(&self, format: WeightFormat, compute: impl FnOnce() -> f64) -> f64 {
        if !self.enabled {
            return compute();
        }
        // A poisoned lock only means another thread panicked mid-push: recompute.
        let Ok(mut known) = self.weight_bytes.lock() else {
            return compute();
        };
        if let Some(&(_, bytes)) = known.iter().find(|(f, _)| *f == format) {
            return bytes;
        }
        let bytes = compute();
        known.push((format, bytes));
        bytes
    }
}

/// A clone may be changed: it starts with nothing kept.
impl Clone for Memo {
    fn clone(&self) -> Self {
        Memo::default()
    }
}

/// Derived figures never make two models different.
impl PartialEq for Memo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_figures_only_once_enabled_and_never_in_a_clone() {
        let mut m = Memo::default();
        assert_eq!(m.weight_bytes(WeightFormat::Bf16, || 1.0), 1.0);
        assert_eq!(m.weight_bytes(WeightFormat::Bf16, || 2.0), 2.0);
        m.enable();
        assert_eq!(m.weight_bytes(WeightFormat::Bf16, || 3.0), 3.0);
        assert_eq!(m.weight_bytes(WeightFormat::Bf16, || 4.0), 3.0);
        assert_eq!(m.weight_bytes(WeightFormat::Fp8, || 5.0), 5.0);
        let c = m.clone();
        assert_eq!(c.weight_bytes(WeightFormat::Bf16, || 6.0), 6.0);
    }
}
