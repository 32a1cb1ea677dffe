//! Planner speed targets (issue 3): one model against the whole GPU catalog, and the full
//! sweep of every model × GPU × weight format, well under 100 ms.
use criterion::{criterion_group, criterion_main, Criterion};
use llmrig::catalog::{Catalog, Gpu};
use llmrig::plan::{self, PlanRequest, WeightFormat, Workload};
use std::hint::black_box;

const FORMATS: [WeightFormat; 8] = [
    WeightFormat::Fp32,
    WeightFormat::Bf16,
    WeightFormat::Fp8,
    WeightFormat::Int8,
    WeightFormat::Gptq,
    WeightFormat::Nf4Dq,
    WeightFormat::Q8_0,
    WeightFormat::Q4KM,
];

fn bench(c: &mut Criterion) {
    let cat = Catalog::embedded().expect("embedded catalog");
    let gpus: Vec<&Gpu> = cat.gpus.iter().collect();
    let falcon = cat.models.get("falcon-180b").expect("falcon-180b");
    let req = PlanRequest {
        weights: WeightFormat::Gptq,
        ..PlanRequest::new(Workload::Infer, 2048)
    };
    c.bench_function("plan falcon-180b int4 on every GPU", |b| {
        b.iter(|| plan::plan(&cat, black_box(falcon), &req, &gpus))
    });
    c.bench_function("sweep every model × GPU × format", |b| {
        b.iter(|| {
            let mut fits = 0;
            for model in cat.models.iter() {
                for format in FORMATS {
                    let ctx = model.max_position_embeddings.min(4096);
                    let req = PlanRequest {
                        weights: format,
                        ..PlanRequest::new(Workload::Infer, ctx)
                    };
                    fits += plan::plan(&cat, model, &req, &gpus)
                        .options
                        .iter()
                        .filter(|o| o.fits)
                        .count();
                }
            }
            black_box(fits)
        })
    });
    c.bench_function("load and validate the embedded catalog", |b| {
        b.iter(Catalog::embedded)
    });
}

criterion_group! {
    name = planner;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(planner);
