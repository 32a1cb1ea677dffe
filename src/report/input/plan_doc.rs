//! Saved plans as the report reads them: only the fields of [`crate::plan::Plan`] it draws,
//! every other field ignored, so a plan from a slightly different writer still loads.
use super::*;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanDoc {
    pub kind: String,
    pub schema_version: u32,
    #[serde(default)]
    pub tool_version: Option<String>,
    pub model: ModelDoc,
    /// Kept whole: the planner re-reads it to recompute estimates with measured figures.
    #[serde(default)]
    pub request: serde_json::Value,
    pub options: Vec<OptionDoc>,
    #[serde(default)]
    pub recommended: Option<usize>,
    /// Schema 2: the next cheapest fully priced fit, and the fastest fit.
    #[serde(default)]
    pub runner_up: Option<usize>,
    #[serde(default)]
    pub fastest: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelDoc {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OptionDoc {
    pub gpu_id: String,
    #[serde(default)]
    pub gpu_name: String,
    pub gpus: u32,
    pub fits: bool,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub layout: Option<LayoutDoc>,
    #[serde(default)]
    pub memory_per_gpu: Option<MemoryDoc>,
    #[serde(default)]
    pub build: Option<BuildDoc>,
    #[serde(default)]
    pub cost: Option<CostDoc>,
    #[serde(default)]
    pub speed: Option<SpeedDoc>,
    #[serde(default)]
    pub training: Option<TrainingDoc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct LayoutDoc {
    pub tp: u32,
    pub pp: u32,
    pub dp: u32,
    pub nodes: u32,
    pub gpus_per_node: u32,
    #[serde(default)]
    pub layer_split: bool,
}

/// Memory per GPU in bytes; a term a newer writer adds shows up as `total − known terms`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct MemoryDoc {
    #[serde(default)]
    pub weights_bytes: f64,
    #[serde(default)]
    pub kv_cache_bytes: f64,
    #[serde(default)]
    pub activations_bytes: f64,
    #[serde(default)]
    pub gradients_bytes: f64,
    #[serde(default)]
    pub optimizer_bytes: f64,
    #[serde(default)]
    pub overhead_bytes: f64,
    pub total_bytes: f64,
    pub usable_bytes: f64,
}

/// A build's price. Schema 2 sets `total_usd` only when fully priced and `lower_bound_usd`
/// otherwise; schema 1 wrote the priced sum to `total_usd` either way.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BuildDoc {
    #[serde(default)]
    pub total_usd: Option<f64>,
    #[serde(default)]
    pub lower_bound_usd: Option<f64>,
    #[serde(default = "yes")]
    pub fully_priced: bool,
    #[serde(default)]
    pub newest_price_date: Option<String>,
    /// Schema 2: lines whose price is older than 18 months at the plan's date.
    #[serde(default)]
    pub stale_prices: Vec<String>,
}

impl BuildDoc {
    /// The complete price, or else the lower bound, with whether it is complete; a zero or
    /// negative figure is no price.
    pub fn price(&self) -> Option<(f64, bool)> {
        let positive = |v: &f64| *v > 0.0 && v.is_finite();
        if self.fully_priced {
            if let Some(t) = self.total_usd.filter(positive) {
                return Some((t, true));
            }
        }
        self.lower_bound_usd
            .or(self.total_usd.filter(|_| !self.fully_priced))
            .filter(positive)
            .map(|v| (v, false))
    }

    /// The complete price only.
    pub fn complete_usd(&self) -> Option<f64> {
        self.price().filter(|p| p.1).map(|p| p.0)
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CostDoc {
    pub power_load_w: f64,
    #[serde(default)]
    pub power_idle_w: Option<f64>,
    #[serde(default)]
    pub usd_per_token_per_s: Option<f64>,
    /// Plans since rent-or-buy: owning against renting over the horizon.
    #[serde(default)]
    pub rent_or_buy: Option<RentOrBuyDoc>,
}

/// The rent-or-buy totals the report draws (see `crate::plan::RentOrBuy`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RentOrBuyDoc {
    pub hours_per_day: f64,
    pub horizon_months: f64,
    pub resale_percent: f64,
    pub buy: BuyDoc,
    #[serde(default)]
    pub rent: Vec<RentTierDoc>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BuyDoc {
    #[serde(default)]
    pub total_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RentTierDoc {
    pub offer: String,
    #[serde(default)]
    pub total_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SpeedDoc {
    /// Dtype whose dense peak the estimates use, e.g. `bf16`.
    pub compute_dtype: String,
    pub peak_tflops_per_gpu: f64,
    pub decode_tokens_per_s: f64,
    pub decode_batch_tokens_per_s: f64,
    pub prefill_tokens_per_s: f64,
    pub time_to_first_token_s: f64,
    /// Efficiencies the estimate used (plans before engines carried them in the request only).
    #[serde(default)]
    pub decode_bandwidth_efficiency: Option<f64>,
    #[serde(default)]
    pub prefill_mfu: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct TrainingDoc {
    pub gpu_hours: f64,
    pub wall_clock_days: f64,
    #[serde(default)]
    pub mfu: Option<f64>,
}

/// The request fields the report shows; the rest stays in [`PlanDoc::request`].
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct RequestDoc {
    #[serde(default = "one")]
    pub batch: u64,
    pub efficiencies: EfficienciesDoc,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct EfficienciesDoc {
    /// Fixed by the user; absent (null) when the engine's default applied, which each
    /// option's speed then reports.
    #[serde(default)]
    pub decode_bandwidth: Option<f64>,
    #[serde(default)]
    pub prefill_mfu: Option<f64>,
    #[serde(default)]
    pub train_mfu: Option<f64>,
}

impl OptionDoc {
    /// The decode bandwidth efficiency and FLOPs utilisation this option's estimates use: its
    /// own figures, else the request's.
    pub fn efficiencies(
        &self,
        req: Option<RequestDoc>,
        training: bool,
    ) -> (Option<f64>, Option<f64>) {
        let e = req.map(|r| r.efficiencies);
        let bw = self
            .speed
            .as_ref()
            .and_then(|s| s.decode_bandwidth_efficiency)
            .or(e.and_then(|e| e.decode_bandwidth));
        let mfu = if training {
            self.training
                .and_then(|t| t.mfu)
                .or(e.and_then(|e| e.train_mfu))
        } else {
            self.speed
                .as_ref()
                .and_then(|s| s.prefill_mfu)
                .or(e.and_then(|e| e.prefill_mfu))
        };
        (bw, mfu)
    }
}

impl PlanDoc {
    /// The plan with only its first `n` options (the recommended one kept in place of the
    /// last when it comes later), and how many were left out.
    pub fn first_options(&self, n: usize) -> (std::borrow::Cow<'_, PlanDoc>, usize) {
        let total = self.options.len();
        if total <= n || n == 0 {
            return (std::borrow::Cow::Borrowed(self), 0);
        }
        let mut doc = PlanDoc {
            options: self.options[..n].to_vec(),
            ..self.clone_without_options()
        };
        doc.recommended = match self.recommended {
            Some(r) if r < n => Some(r),
            Some(r) if r < total => {
                doc.options[n - 1] = self.options[r].clone();
                Some(n - 1)
            }
            _ => None,
        };
        // The runner-up and the fastest fit are named only while they are still shown.
        let moved = self.recommended.is_some_and(|r| r >= n);
        let shown = |i: &usize| *i < n && !(moved && *i == n - 1);
        doc.runner_up = self.runner_up.filter(shown);
        doc.fastest = self.fastest.filter(shown);
        (std::borrow::Cow::Owned(doc), total - n)
    }

    fn clone_without_options(&self) -> PlanDoc {
        PlanDoc {
            kind: self.kind.clone(),
            schema_version: self.schema_version,
            tool_version: self.tool_version.clone(),
            model: self.model.clone(),
            request: self.request.clone(),
            options: Vec::new(),
            recommended: None,
            runner_up: None,
            fastest: None,
        }
    }

    /// The in-memory plan read through the same JSON contract as a saved file.
    pub fn from_plan(plan: &Plan) -> Result<PlanDoc, serde_json::Error> {
        serde_json::from_value(serde_json::to_value(plan)?)
    }

    pub fn request(&self) -> Option<RequestDoc> {
        serde_json::from_value(self.request.clone()).ok()
    }

    /// Whether the plan is for a training workload.
    pub fn is_training(&self) -> bool {
        self.request
            .get("workload")
            .and_then(|w| w.as_str())
            .is_some_and(|w| w != "infer")
    }
}

impl MemoryDoc {
    /// Names of the terms [`MemoryDoc::terms`] returns, in stacking order.
    pub const TERMS: [&'static str; 6] = [
        "weights",
        "KV cache",
        "activations",
        "gradients",
        "optimizer states",
        "runtime overhead",
    ];

    /// The known terms in bytes, in the order of [`MemoryDoc::TERMS`].
    pub fn terms(&self) -> [f64; 6] {
        [
            self.weights_bytes,
            self.kv_cache_bytes,
            self.activations_bytes,
            self.gradients_bytes,
            self.optimizer_bytes,
            self.overhead_bytes,
        ]
    }
}

impl OptionDoc {
    /// `8×a100-sxm4-80gb`, as the plan tables write it.
    pub fn label(&self) -> String {
        crate::plan::rig_name(self.gpus, self.layout.map_or(1, |l| l.nodes), &self.gpu_id)
    }
}
