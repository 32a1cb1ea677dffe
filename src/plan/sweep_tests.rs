//! Sweeps, `fit` and reverse targets on the fixture catalog (`tests/fixtures/catalog/ranking`:
//! the invented `fx-8b` model, `fx-a` 24 GiB and `fx-e` 8 GiB GPUs), so the numbers stay put
//! while the embedded catalog is re-priced.
use super::fit::{self, FitQuery, QUALITY_BITS};
use super::sweep::{self, Fixed, SweepKind};
use super::target::{self, Target};
use super::{Shape, WeightFormat};
use crate::catalog::{Catalog, Gpu, Model};
use crate::plan::{self, PlanRequest, Workload};

const SYSTEMS: &str = include_str!("../../tests/fixtures/catalog/ranking/systems.toml");
const SITE: &str = include_str!("../../tests/fixtures/catalog/site.toml");

fn cat() -> Catalog {
    let mut cat = Catalog::default();
    cat.add_file("systems.toml", SYSTEMS, false).unwrap();
    cat.add_file("site.toml", SITE, false).unwrap();
    cat
}

fn model(cat: &Catalog) -> &Model {
    cat.models.get("fx-8b").unwrap()
}

fn gpu<'c>(cat: &'c Catalog, id: &str) -> &'c Gpu {
    cat.gpus.get(id).unwrap()
}

fn req(context: u64, batch: u64) -> PlanRequest {
    PlanRequest {
        batch,
        max_nodes: 1,
        prices_as_of: Some("2026-06-01".into()),
        ..PlanRequest::new(Workload::Infer, context)
    }
}

#[test]
fn formats_put_fits_first_most_bits_first_and_name_the_best_fix() {
    let cat = cat();
    let (m, e) = (model(&cat), gpu(&cat, "fx-e"));
    let s = sweep::sweep(
        &cat,
        m,
        &req(4096, 1),
        Fixed::default(),
        Shape::gpus(1),
        e,
        SweepKind::Formats,
    );
    assert_eq!(s.rig, "1×fx-e");
    // 8,030,261,248 parameters (the fixture's published count) × 2 bytes.
    let bf16 = s
        .rows
        .iter()
        .find(|r| r.weights == WeightFormat::Bf16)
        .unwrap();
    assert_eq!(bf16.weights_bytes, 16_060_522_496.0);
    assert_eq!(bf16.bits_per_weight, 16.0);
    assert!(!bf16.fits, "15 GiB of bf16 weights on an 8 GiB card");
    let fits: Vec<_> = s.rows.iter().take_while(|r| r.fits).collect();
    assert!(
        fits.len() > 5 && fits.len() < s.rows.len(),
        "{}",
        fits.len()
    );
    assert!(
        s.rows[fits.len()..].iter().all(|r| !r.fits),
        "fits come first"
    );
    assert!(fits
        .windows(2)
        .all(|w| w[0].bits_per_weight >= w[1].bits_per_weight));
    let misses = &s.rows[fits.len()..];
    assert!(misses
        .windows(2)
        .all(|w| w[0].shortfall_bytes_per_gpu <= w[1].shortfall_bytes_per_gpu));
    for r in &fits {
        assert!(r.max_context_tokens.unwrap() >= 4096 && r.headroom_bytes_per_gpu.unwrap() > 0.0);
        assert!(r
            .decode_tokens_per_s
            .is_some_and(|t| t.is_finite() && t > 0.0));
    }
    assert!(fits.iter().any(|r| r.weights == WeightFormat::Q4KM));
    assert!(
        !fits.iter().any(|r| r.weights == WeightFormat::Int4),
        "int4 is gptq, listed once"
    );
    let best = sweep::cli_name(fits[0].weights);
    assert_eq!(s.fixes[0].change, format!("--precision {best}"));
    assert!(s.fixes[0]
        .why
        .contains(&format!("{} of {} formats fit", fits.len(), s.rows.len())));
}

#[test]
fn context_and_batch_fixes_are_the_exact_limits() {
    let cat = cat();
    let (m, a) = (model(&cat), gpu(&cat, "fx-a"));
    // 8,192 tokens × 16 sequences of 131,072-byte KV is 16 GiB beside 15 GiB of weights.
    let asked = req(8192, 16);
    let s = sweep::sweep(
        &cat,
        m,
        &asked,
        Fixed::default(),
        Shape::gpus(1),
        a,
        SweepKind::Batch,
    );
    let fits_at = |ctx: u64, batch: u64| {
        let r = PlanRequest {
            context_tokens: ctx,
            batch,
            ..asked.clone()
        };
        sweep::row_on(&cat, m, &r, Shape::gpus(1), a).fits
    };
    assert!(!fits_at(8192, 16));
    let change = |flag: &str| {
        s.fixes
            .iter()
            .find_map(|f| f.change.strip_prefix(flag))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {flag} fix in {:?}", s.fixes))
    };
    let (ctx, batch) = (change("--context"), change("--batch"));
    assert!(
        fits_at(ctx, 16) && !fits_at(ctx + 1, 16),
        "longest context {ctx}"
    );
    assert!(
        fits_at(8192, batch) && !fits_at(8192, batch + 1),
        "largest batch {batch}"
    );
    assert!(batch < 16 && ctx < 8192);
    // The batch sweep ascends and never fits after a miss.
    let batches: Vec<u64> = s.rows.iter().map(|r| r.batch).collect();
    assert!(batches.windows(2).all(|w| w[0] < w[1]) && batches.contains(&batch));
    assert!(s.rows.windows(2).all(|w| w[0].fits || !w[1].fits));
}

#[test]
fn context_sweep_runs_powers_of_two_to_the_maximum_with_the_asked_points() {
    let cat = cat();
    let (m, e) = (model(&cat), gpu(&cat, "fx-e"));
    let r = PlanRequest {
        weights: WeightFormat::Q4KM,
        ..req(3000, 1)
    };
    let s = sweep::sweep(
        &cat,
        m,
        &r,
        Fixed::default(),
        Shape::gpus(1),
        e,
        SweepKind::Context,
    );
    let ctx: Vec<u64> = s.rows.iter().map(|r| r.context_tokens).collect();
    for c in [512, 1024, 2048, 3000, 4096, 8192] {
        assert!(ctx.contains(&c), "{c} in {ctx:?}");
    }
    assert!(s.fixes.is_empty(), "the request fits as asked");
    assert!(s.rows.windows(2).all(|w| w[0].fits || !w[1].fits));
}

#[test]
fn fit_lists_the_fixture_model_with_only_formats_that_fit() {
    let cat = cat();
    let e = gpu(&cat, "fx-e");
    let q = FitQuery {
        workload: Workload::Infer,
        min_context_tokens: None,
        family: None,
        batch: 1,
        prices_as_of: Some("2026-06-01".into()),
    };
    let f = fit::fit(&cat, Shape::gpus(1), e, &q, Vec::new());
    assert_eq!((f.rig.as_str(), f.models_considered), ("1×fx-e", 1));
    let m = &f.models[0];
    assert_eq!(
        (m.id.as_str(), m.params, m.context_tokens),
        ("fx-8b", 8_030_261_248, 4096)
    );
    // The same rows as the format sweep's fits.
    let s = sweep::format_rows(
        &cat,
        model(&cat),
        &fitting_req(&cat),
        Fixed::default(),
        Shape::gpus(1),
        e,
    );
    let fits: Vec<_> = s.into_iter().filter(|r| r.fits).collect();
    assert_eq!(m.formats, fits);
    assert!(m.formats[0].bits_per_weight >= QUALITY_BITS);
    // Filters: a context beyond the model's 8,192, a family it is not.
    let long = fit::fit(
        &cat,
        Shape::gpus(1),
        e,
        &FitQuery {
            min_context_tokens: Some(8193),
            ..q.clone()
        },
        Vec::new(),
    );
    assert_eq!((long.models_considered, long.models.len()), (0, 0));
    let fam = fit::fit(
        &cat,
        Shape::gpus(1),
        e,
        &FitQuery {
            family: Some("FIX".into()),
            ..q.clone()
        },
        Vec::new(),
    );
    assert_eq!(fam.models.len(), 1, "family prefix, any case");
    let other = fit::fit(
        &cat,
        Shape::gpus(1),
        e,
        &FitQuery {
            family: Some("llama".into()),
            ..q
        },
        Vec::new(),
    );
    assert_eq!(other.models_considered, 0);
}

fn fitting_req(cat: &Catalog) -> PlanRequest {
    let m = model(cat);
    let mut r = PlanRequest::new(Workload::Infer, 4096);
    r.weights = super::format::default_weights(m, Workload::Infer);
    r.kv = r.engine().default_kv(r.weights);
    r.prices_as_of = Some("2026-06-01".into());
    r
}

#[test]
fn targets_grow_the_smallest_fit_until_met_or_name_the_closest() {
    let cat = cat();
    let m = model(&cat);
    let r = PlanRequest {
        max_nodes: 1,
        ..req(4096, 1)
    };
    let gpus = [gpu(&cat, "fx-a"), gpu(&cat, "fx-b")];
    let p = plan::plan(&cat, m, &r, &gpus);
    let speed = |id: &str| {
        p.options
            .iter()
            .find(|o| o.gpu_id == id)
            .and_then(|o| o.speed)
            .unwrap()
            .decode_tokens_per_s
    };
    let (a, b) = (speed("fx-a"), speed("fx-b"));
    assert!(b > a, "fx-b has three times the bandwidth");
    // Between the two: one fx-b meets it (the smallest); fx-a needs more GPUs, and its
    // $80,000 system (GPUs included) undercuts fx-b's $120,000, so it is the cheapest.
    let t = target::search(
        &cat,
        m,
        &r,
        &p.options,
        Target::DecodeTokensPerS((a + b) / 2.0),
    );
    assert!(t.met);
    let s = t.smallest.as_ref().unwrap();
    assert_eq!(
        (s.gpu_id.as_str(), s.gpus, s.price_usd),
        ("fx-b", 1, Some(120_000.0))
    );
    let c = t.cheapest.as_ref().unwrap();
    assert_eq!(
        (c.gpu_id.as_str(), c.price_usd, c.price_complete),
        ("fx-a", Some(80_000.0), true)
    );
    assert!(c.gpus > 1 && c.decode_tokens_per_s.unwrap() >= (a + b) / 2.0);
    // Beyond any build: not met, the closest is the fastest found, and none is called smallest.
    let t = target::search(&cat, m, &r, &p.options, Target::DecodeTokensPerS(1e9));
    assert!(!t.met && t.smallest.is_none() && t.cheapest.is_none());
    let c = t.closest.unwrap();
    assert_eq!(c.gpu_id, "fx-b");
    assert!(c.decode_tokens_per_s.unwrap() >= b);
}
