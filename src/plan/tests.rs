//! Planner checks against published figures (planner.md §3, the source article's tables)
//! and invariants.
use super::*;
use crate::catalog::Catalog;
use std::sync::OnceLock;

mod systems;

fn cat() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(|| Catalog::embedded().expect("embedded catalog validates"))
}

fn model(id: &str) -> &'static Model {
    cat()
        .models
        .get(id)
        .unwrap_or_else(|| panic!("model {id} in catalog"))
}

fn gpu(id: &str) -> &'static Gpu {
    cat()
        .gpus
        .get(id)
        .unwrap_or_else(|| panic!("gpu {id} in catalog"))
}

fn req(workload: Workload, weights: WeightFormat, context: u64) -> PlanRequest {
    PlanRequest {
        weights,
        ..PlanRequest::new(workload, context)
    }
}

fn within(value: f64, expected: f64, rel: f64) -> bool {
    (value - expected).abs() <= expected * rel
}

fn only(plan: &Plan) -> &GpuOption {
    assert_eq!(plan.options.len(), 1);
    &plan.options[0]
}

#[test]
fn article_fp32_weight_arithmetic() {
    for (id, gb) in [("gpt-3-175b", 700.0), ("gpt2-xl", 6.0), ("gpt-j-6b", 24.0)] {
        let w = memory::model_memory(model(id), &req(Workload::Infer, WeightFormat::Fp32, 1024))
            .weights_bytes
            / 1e9;
        assert!(within(w, gb, 0.04), "{id}: {w:.2} GB vs ≈{gb}");
    }
}

#[test]
fn kv_bytes_per_token_exact() {
    for (id, bytes) in [
        ("llama-3.1-8b", 131_072.0),
        ("llama-2-70b", 327_680.0),
        ("llama-2-7b", 524_288.0),
        ("falcon-180b", 163_840.0),
    ] {
        let mm = memory::model_memory(model(id), &req(Workload::Infer, WeightFormat::Bf16, 1024));
        assert_eq!(mm.kv_bytes_per_token, bytes, "{id}");
    }
}

#[test]
fn kv_heads_replicate_beyond_tp() {
    let m = model("falcon-180b");
    assert_eq!(memory::kv_heads_per_gpu(m, 4), 2);
    assert_eq!(memory::kv_heads_per_gpu(m, 8), 1);
    let l3 = model("llama-3.1-8b");
    assert_eq!(memory::kv_heads_per_gpu(l3, 16), 1);
}

#[test]
fn falcon_180b_bf16_inference_needs_8_a100_80gb() {
    let m = model("falcon-180b");
    let r = req(Workload::Infer, WeightFormat::Bf16, 2048);
    let w = memory::model_memory(m, &r).weights_bytes / 1e9;
    assert!(within(w, 360.0, 0.02), "weights {w} GB");
    let a100 = gpu("a100-sxm4-80gb");
    let o = only(&plan(cat(), m, &r, &[a100])).clone();
    assert!(o.fits);
    assert_eq!(o.gpus, 8);
    assert_eq!(o.layout.unwrap().tp, 8);
    let cmp = compare(cat(), m, &r, &[(4, a100), (5, a100), (6, a100), (7, a100)]);
    assert!(!cmp.options[0].fits);
    assert!(
        cmp.options[0].reason.as_ref().unwrap().contains("GiB"),
        "{:?}",
        cmp.options[0].reason
    );
    for o in &cmp.options[1..] {
        assert!(!o.fits && o.layout.is_none());
        assert!(
            o.reason.as_ref().unwrap().contains("not a legal layout"),
            "{:?}",
            o.reason
        );
    }
}

#[test]
fn falcon_180b_int4_fits_in_at_most_8_a100_40gb() {
    let m = model("falcon-180b");
    let r = req(Workload::Infer, WeightFormat::Int4, 2048);
    let w = memory::model_memory(m, &r).weights_bytes / 1e9;
    assert!((90.0..=100.0).contains(&w), "int4 weights {w} GB");
    let o = only(&plan(cat(), m, &r, &[gpu("a100-sxm4-40gb")])).clone();
    assert!(o.fits && o.gpus <= 8, "{} GPUs", o.gpus);
    assert_eq!(o.gpus, 4, "the legal minimum is TP4 on 40 GB cards");
}

#[test]
fn falcon_180b_qlora_fits_two_a100_80gb_not_one() {
    let m = model("falcon-180b");
    let r = PlanRequest::new(Workload::Qlora, 2048);
    let state = memory::model_memory(m, &r).training_state_bytes / 1e9;
    assert!((90.0..=160.0).contains(&state), "qlora state {state} GB");
    let a100 = gpu("a100-sxm4-80gb");
    let cmp = compare(cat(), m, &r, &[(1, a100), (2, a100)]);
    assert!(!cmp.options[0].fits);
    assert!(cmp.options[1].fits, "{:?}", cmp.options[1].reason);
}

#[test]
fn falcon_180b_lora_zero3_fits_in_16_a100_80gb() {
    let m = model("falcon-180b");
    let r = PlanRequest {
        zero_stage: 3,
        ..PlanRequest::new(Workload::Lora, 2048)
    };
    let state = memory::model_memory(m, &r).training_state_bytes / 1e9;
    assert!((360.0..=1280.0).contains(&state), "lora state {state} GB");
    let o = only(&plan(cat(), m, &r, &[gpu("a100-sxm4-80gb")])).clone();
    assert!(o.fits && o.gpus <= 16, "{} GPUs", o.gpus);
}

#[test]
fn falcon_180b_full_finetune_fits_in_64_a100_80gb() {
    let m = model("falcon-180b");
    let r = PlanRequest::new(Workload::Train, 2048);
    let state = memory::model_memory(m, &r).training_state_bytes / 1e9;
    assert!((2880.0..=5120.0).contains(&state), "full state {state} GB");
    let o = only(&plan(cat(), m, &r, &[gpu("a100-sxm4-80gb")])).clone();
    assert!(o.fits && o.gpus <= 64, "{} GPUs: {:?}", o.gpus, o.reason);
}

#[test]
fn zero_paper_7_5b_table() {
    // ZeRO paper Fig. 1: P = 7.5B, K = 12, N = 64, fp16 gradients (16 bytes/param).
    let p = 7.5e9;
    let expected = [(0, 120.0), (1, 31.4), (2, 16.6), (3, 1.9)];
    for (zero, gb) in expected {
        let r = PlanRequest {
            zero_stage: zero,
            grad_bytes: 2.0,
            ..PlanRequest::new(Workload::Train, 1024)
        };
        let s = memory::training_states(p, &r, 64);
        let total = (s.weights_bytes + s.gradients_bytes + s.optimizer_bytes) / 1e9;
        assert!(
            (total - gb).abs() < 0.05,
            "ZeRO-{zero}: {total:.2} GB vs {gb}"
        );
    }
}

#[test]
fn gpt3_training_flops() {
    let r = PlanRequest {
        train_tokens: Some(300e9),
        ..PlanRequest::new(Workload::Train, 2048)
    };
    let t = speed::training(model("gpt-3-175b"), &r, gpu("a100-sxm4-80gb"), 1024).unwrap();
    assert!(within(t.flops, 3.14e23, 0.01), "{:e}", t.flops);
}

#[test]
fn falcon_180b_gpu_hours_at_stated_mfu() {
    let mut r = PlanRequest {
        train_tokens: Some(3.5e12),
        ..PlanRequest::new(Workload::Train, 2048)
    };
    // Falcon's 48 % is implied by published GPU-hours, which include lost time: goodput 1.
    r.efficiencies.train_mfu = Some(0.48);
    r.efficiencies.train_goodput = Some(1.0);
    let t = speed::training(model("falcon-180b"), &r, gpu("a100-sxm4-40gb"), 4096).unwrap();
    assert!(within(t.flops, 3.78e24, 0.015), "{:e}", t.flops);
    assert!(
        (6.7e6..=7.5e6).contains(&t.gpu_hours),
        "{} GPU-h",
        t.gpu_hours
    );
}

#[test]
fn int4_falcon_plan_has_priced_parts_power_and_circuits() {
    let m = model("falcon-180b");
    let r = req(Workload::Infer, WeightFormat::Int4, 2048);
    let gpus: Vec<&Gpu> = cat().gpus.iter().collect();
    let p = plan(cat(), m, &r, &gpus);
    let best = &p.options[p.recommended.expect("something fits")];
    let build = best.build.as_ref().unwrap();
    assert!(build.fully_priced && build.total_usd.is_some_and(|v| v > 0.0));
    assert!(build.newest_price_date.is_some());
    assert!(!build.node.circuits.is_empty());
    assert!(build.node.wall_load_w > build.node.dc_load_w * 0.99);
    for kind in ["gpu", "platform"] {
        assert!(
            build.node.lines.iter().any(|l| l.kind == kind),
            "missing {kind}"
        );
    }
}

#[test]
fn compare_v100_against_a100_for_a_model_that_fits_one() {
    let m = model("llama-2-70b");
    let r = req(Workload::Infer, WeightFormat::Bf16, 4096);
    let cmp = compare(
        cat(),
        m,
        &r,
        &[(4, gpu("v100-sxm2-32gb")), (8, gpu("a100-sxm4-80gb"))],
    );
    assert!(!cmp.options[0].fits);
    assert!(cmp.options[1].fits);
    assert!(
        cmp.options[0].warnings.iter().any(|w| w.contains("bf16")),
        "{:?}",
        cmp.options[0].warnings
    );
    assert_eq!(cmp.recommended, Some(1));
}

#[test]
fn bad_requests_are_rejected() {
    let m = model("falcon-180b");
    // A context beyond the model's maximum is a warning (RoPE scaling), not an error.
    let too_long = PlanRequest::new(Workload::Infer, 4096);
    assert!(check(m, &too_long).is_ok());
    let p = plan(cat(), m, &too_long, &[gpu("a100-sxm4-80gb")]);
    assert!(
        p.warnings.iter().any(|w| w.contains("RoPE")),
        "{:?}",
        p.warnings
    );
    let zero_batch = PlanRequest {
        batch: 0,
        ..PlanRequest::new(Workload::Infer, 1024)
    };
    assert!(check(m, &zero_batch).is_err());
    let tokens = PlanRequest {
        train_tokens: Some(1e9),
        ..PlanRequest::new(Workload::Infer, 1024)
    };
    assert_eq!(check(m, &tokens), Err(PlanError::TrainTokensForInference));
    assert!(check(m, &PlanRequest::new(Workload::Infer, 2048)).is_ok());
}

/// Issue 11 items 9-11 and 17: values that gave negative money, wrapped counts or silently
/// ignored flags.
#[test]
fn out_of_range_and_ignored_values_are_rejected() {
    let m = model("falcon-180b");
    let infer = || PlanRequest::new(Workload::Infer, 1024);
    let lora = || PlanRequest::new(Workload::Lora, 1024);
    let err = |req: PlanRequest| check(m, &req).unwrap_err().to_string();
    for v in [-1.0, 0.0, f64::NAN, f64::NEG_INFINITY, f64::INFINITY] {
        let e = err(PlanRequest {
            usd_per_kwh: Some(v),
            ..infer()
        });
        assert!(
            e.starts_with("'usd-per-kwh' must be a price between"),
            "{e}"
        );
    }
    let mut tiny = infer();
    tiny.efficiencies.decode_bandwidth = Some(1e-320);
    assert_eq!(
        err(tiny),
        "'decode-efficiency' must be between 0.001 and 1 (got 1e-320)"
    );
    let e = err(PlanRequest {
        max_nodes: u32::MAX,
        ..infer()
    });
    assert_eq!(e, "'max-nodes' must be at most 16384 (got 4294967295)");
    for rank in [0, 35_184_372_088_832] {
        let e = err(PlanRequest {
            lora_rank: rank,
            ..lora()
        });
        assert!(
            e.contains("'lora-rank' must be between 1 and the hidden size, 14848"),
            "{e}"
        );
    }
    let e = err(PlanRequest {
        train_tokens: Some(f64::INFINITY),
        ..lora()
    });
    assert!(
        e.contains("'train-tokens' must be between 1 and 1e16"),
        "{e}"
    );
    let e = err(PlanRequest {
        zero_stage: 3,
        offload_optimizer: true,
        recompute: Recompute::Full,
        lora_rank: 64,
        ..infer()
    });
    assert_eq!(
        e,
        "--zero, --offload, --recompute, --lora-rank: only used for training (--workload train, lora or qlora); this workload would ignore it"
    );
    let mut train = PlanRequest::new(Workload::Train, 1024);
    train.efficiencies.prefill_mfu = Some(0.9);
    assert!(err(train).starts_with("--prefill-mfu: only used for inference"));
    // A flag at its default value is what the plan uses anyway.
    assert!(check(
        m,
        &PlanRequest {
            lora_rank: 16,
            ..infer()
        }
    )
    .is_ok());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn model_ids() -> Vec<String> {
        cat().models.iter().map(|m| m.id.clone()).collect()
    }

    fn workloads() -> impl Strategy<Value = Workload> {
        prop_oneof![
            Just(Workload::Infer),
            Just(Workload::Train),
            Just(Workload::Lora),
            Just(Workload::Qlora)
        ]
    }

    fn total(m: &Model, r: &PlanRequest, l: &Layout) -> f64 {
        memory::per_gpu(m, r, l, 80.0 * GIB).total_bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn memory_is_monotonic_in_context_and_batch(idx in 0usize..64, w in workloads(), ctx in 1u64..4096, extra in 1u64..4096, batch in 1u64..8) {
            let ids = model_ids();
            let m = model(&ids[idx % ids.len()]);
            let ctx = ctx.min(m.max_position_embeddings);
            let longer = (ctx + extra).min(m.max_position_embeddings);
            let l = Layout { tp: 1, pp: 1, dp: 1, nodes: 1, gpus_per_node: 1, layer_split: false };
            let r = PlanRequest { batch, ..PlanRequest::new(w, ctx) };
            let base = total(m, &r, &l);
            let long = total(m, &PlanRequest { context_tokens: longer, ..r.clone() }, &l);
            let wide = total(m, &PlanRequest { batch: batch + 1, ..r.clone() }, &l);
            prop_assert!(long >= base, "{} context {ctx} -> {longer}", m.id);
            prop_assert!(wide >= base, "{} batch {batch} -> {}", m.id, batch + 1);
        }

        #[test]
        fn memory_is_monotonic_in_parameters(idx in 0usize..64, w in workloads(), grow in 1u64..4) {
            let ids = model_ids();
            let m = model(&ids[idx % ids.len()]);
            let mut bigger = m.clone();
            bigger.num_hidden_layers += grow;
            bigger.intermediate_size += 64 * grow;
            prop_assert!(bigger.param_counts().total > m.param_counts().total);
            let l = Layout { tp: 1, pp: 1, dp: 1, nodes: 1, gpus_per_node: 1, layer_split: false };
            let r = PlanRequest::new(w, 512.min(m.max_position_embeddings));
            prop_assert!(total(&bigger, &r, &l) >= total(m, &r, &l));
        }

        #[test]
        fn narrower_weights_never_need_more(idx in 0usize..64) {
            let ids = model_ids();
            let m = model(&ids[idx % ids.len()]);
            let l = Layout { tp: 1, pp: 1, dp: 1, nodes: 1, gpus_per_node: 1, layer_split: false };
            let chain = [WeightFormat::Fp32, WeightFormat::Bf16, WeightFormat::Int8, WeightFormat::Fp8, WeightFormat::Nf4, WeightFormat::Gptq, WeightFormat::Nf4Dq];
            for pair in chain.windows(2) {
                let wide = total(m, &req(Workload::Infer, pair[0], 512.min(m.max_position_embeddings)), &l);
                let narrow = total(m, &req(Workload::Infer, pair[1], 512.min(m.max_position_embeddings)), &l);
                prop_assert!(narrow <= wide, "{:?} {} > {:?} {}", pair[1], narrow, pair[0], wide);
            }
        }

        #[test]
        fn adding_gpus_never_breaks_a_fit(idx in 0usize..64, w in workloads(), gpu_idx in 0usize..64) {
            let ids = model_ids();
            let m = model(&ids[idx % ids.len()]);
            let gpus: Vec<&Gpu> = cat().gpus.iter().collect();
            let g = gpus[gpu_idx % gpus.len()];
            let r = PlanRequest { max_nodes: 4, ..PlanRequest::new(w, 1024.min(m.max_position_embeddings)) };
            let node = node_size(cat(), g);
            let mut fitted = false;
            for n in layout::gpu_counts(&r, node) {
                if let Some((_, mem)) = layout::best_with(m, &r, n, node, g.memory_bytes()) {
                    prop_assert!(!fitted || mem.fits(), "{} on {} fits at fewer GPUs but not at {n}", m.id, g.id);
                    fitted |= mem.fits();
                }
            }
        }
    }
}

#[test]
fn grid_co2_follows_wall_power_for_a_month_and_a_training_run() {
    let m = model("llama-3.1-8b");
    let r = PlanRequest {
        train_tokens: Some(1e9),
        grid_gco2_per_kwh: Some(500.0),
        utilization: 0.5,
        ..PlanRequest::new(Workload::Lora, 2048)
    };
    let p = plan(cat(), m, &r, &[gpu("rtx-4090")]);
    assert_eq!(
        (p.grid_gco2_per_kwh, p.grid_source.as_str()),
        (Some(500.0), "--grid-gco2-per-kwh")
    );
    let o = only(&p);
    let (c, e, t) = (
        o.cost.as_ref().unwrap(),
        o.emissions.unwrap(),
        o.training.unwrap(),
    );
    let avg_kw = (0.5 * c.power_load_w + 0.5 * c.power_idle_w) / 1000.0;
    assert!(within(e.energy_kwh_per_month, avg_kw * 730.0, 1e-9));
    assert!(within(
        e.co2_tonnes_per_month,
        e.energy_kwh_per_month * 500.0 / 1e6,
        1e-9
    ));
    // The run draws load power for its wall-clock time.
    let run_kwh = c.power_load_w / 1000.0 * t.wall_clock_days * 24.0;
    assert!(within(e.training_energy_kwh.unwrap(), run_kwh, 1e-9));
    assert!(within(
        e.training_co2_tonnes.unwrap(),
        run_kwh * 500.0 / 1e6,
        1e-9
    ));
}

#[test]
fn grid_co2_defaults_to_the_tariffs_sourced_figure_or_says_unknown() {
    let m = model("llama-3.1-8b");
    let r = PlanRequest::new(Workload::Infer, 2048);
    let p = plan(cat(), m, &r, &[gpu("rtx-4090")]);
    assert_eq!(p.grid_gco2_per_kwh, Some(366.0));
    assert!(p.grid_source.contains("eia.gov"), "{}", p.grid_source);
    assert!(only(&p).emissions.unwrap().training_energy_kwh.is_none());
    // A state tariff without a sourced figure gives a price but no CO2.
    let ca = PlanRequest {
        electricity: Some("us-ca".into()),
        ..r.clone()
    };
    assert_eq!(
        tariff(cat(), Some("US-CA")).unwrap().id,
        "us-ca-residential-2023"
    );
    let p = plan(cat(), m, &ca, &[gpu("rtx-4090")]);
    assert_eq!(p.usd_per_kwh, 0.2951);
    assert_eq!(p.grid_gco2_per_kwh, None);
    assert!(only(&p).emissions.is_none());
    assert!(p.grid_source.contains("--grid-gco2-per-kwh"));
    // A region with two tariffs picks its default.
    assert_eq!(
        tariff(cat(), Some("us")).unwrap().id,
        "us-residential-2024-01"
    );
}

#[test]
fn offloading_frees_gpu_memory_and_sizes_host_ram() {
    let m = model("llama-3.1-70b");
    let h100 = gpu("h100-sxm5-80gb");
    let base = PlanRequest {
        zero_stage: 3,
        ..PlanRequest::new(Workload::Train, 2048)
    };
    let opt = PlanRequest {
        offload_optimizer: true,
        ..base.clone()
    };
    let params = PlanRequest {
        offload_params: true,
        ..opt.clone()
    };
    let plain = only(&plan(cat(), m, &base, &[h100])).clone();
    let off = only(&plan(cat(), m, &opt, &[h100])).clone();
    assert!(plain.fits && off.fits);
    assert!(off.gpus < plain.gpus, "{} vs {} GPUs", off.gpus, plain.gpus);
    let mem = off.memory_per_gpu.unwrap();
    assert_eq!((mem.gradients_bytes, mem.optimizer_bytes), (0.0, 0.0));
    assert_eq!(
        plain.memory_per_gpu.unwrap().offload_host_bytes_per_node,
        0.0
    );
    // 16 bytes per parameter (fp32 master, m, v, gradients) of the node's shards × 1.5.
    let l = off.layout.unwrap();
    let per_node = 16.0 * m.param_counts().total as f64 / l.dp as f64 / l.tp as f64
        * l.gpus_per_node as f64
        * 1.5;
    assert!(within(mem.offload_host_bytes_per_node, per_node, 1e-6));
    let same = memory::per_gpu(m, &params, &l, h100.memory_bytes());
    assert_eq!(same.weights_bytes, 0.0);
    assert!(same.offload_host_bytes_per_node > mem.offload_host_bytes_per_node);
    // A system whose RAM cannot hold the offloaded states says so.
    let falcon = PlanRequest {
        offload_optimizer: true,
        offload_params: true,
        zero_stage: 3,
        ..PlanRequest::new(Workload::Train, 2048)
    };
    let o = only(&plan(cat(), model("falcon-180b"), &falcon, &[h100])).clone();
    assert!(
        o.warnings
            .iter()
            .any(|w| w.contains("GiB of host RAM per node")),
        "{:?}",
        o.warnings
    );
    // Parameter offload is ZeRO-3 only; offload is for training.
    let z2 = PlanRequest {
        zero_stage: 2,
        ..params.clone()
    };
    assert_eq!(check(m, &z2), Err(PlanError::ParamOffloadNeedsZero3(2)));
    let infer = PlanRequest {
        offload_optimizer: true,
        ..PlanRequest::new(Workload::Infer, 2048)
    };
    assert!(matches!(
        check(m, &infer),
        Err(PlanError::IgnoredFlags { flags, .. }) if flags == "--offload"
    ));
}

#[test]
fn lora_with_trainable_embedding_and_head_pays_their_states() {
    let m = model("llama-3.1-8b");
    let p = m.param_counts();
    let l = training::single_gpu();
    let base = PlanRequest::new(Workload::Lora, 2048);
    let both = PlanRequest {
        lora_trainable: LoraTrainable {
            embed: true,
            head: true,
        },
        ..base.clone()
    };
    let a = memory::per_gpu(m, &base, &l, 80.0 * GIB);
    let b = memory::per_gpu(m, &both, &l, 80.0 * GIB);
    let extra = (p.embedding + p.lm_head) as f64;
    // A trainable copy (2 bytes), fp32 gradients (4) and Adam (12) per parameter.
    assert!(within(b.weights_bytes - a.weights_bytes, 2.0 * extra, 1e-9));
    assert!(within(
        b.gradients_bytes - a.gradients_bytes,
        4.0 * extra,
        1e-9
    ));
    assert!(within(
        b.optimizer_bytes - a.optimizer_bytes,
        12.0 * extra,
        1e-9
    ));
    let train = PlanRequest {
        workload: Workload::Train,
        ..both
    };
    assert_eq!(check(m, &train), Err(PlanError::LoraTrainableWithoutLora));
}

#[test]
fn only_eager_attention_stores_scores() {
    let m = model("llama-3.1-8b");
    let l = training::single_gpu();
    let act = |attention, ctx| {
        let r = PlanRequest {
            attention,
            recompute: Recompute::None,
            ..PlanRequest::new(Workload::Train, ctx)
        };
        memory::per_gpu(m, &r, &l, 80.0 * GIB).activations_bytes
    };
    // 32 layers × 5 · 32 heads · s² bytes more with eager at 8k.
    let s = 8192.0;
    let scores = 32.0 * 5.0 * 32.0 * s * s - 32.0 * 4.0 * 32.0 * s;
    assert!(within(
        act(Attention::Eager, 8192) - act(Attention::Flash, 8192),
        scores,
        1e-9
    ));
    assert!(act(Attention::Flash, 8192) / act(Attention::Flash, 4096) < 2.01);
    let infer = PlanRequest {
        attention: Attention::Eager,
        ..PlanRequest::new(Workload::Infer, 2048)
    };
    assert!(matches!(
        check(m, &infer),
        Err(PlanError::IgnoredFlags { flags, .. }) if flags == "--attention"
    ));
}
