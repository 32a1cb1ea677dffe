use super::*;
use crate::catalog::{Catalog, Model};

fn model(id: &str) -> Model {
    Catalog::embedded()
        .expect("the embedded catalog loads")
        .models
        .get(id)
        .unwrap_or_else(|| panic!("no model '{id}'"))
        .clone()
}

const GB: f64 = 1e9;
const GIB: f64 = (1u64 << 30) as f64;

#[test]
fn block_formats_have_their_bits_per_weight() {
    assert!((WeightFormat::Gptq.info().linear_bits - 4.15625).abs() < 1e-9);
    assert!((WeightFormat::Nf4Dq.info().linear_bits - 4.127).abs() < 1e-3);
    assert_eq!(WeightFormat::Nf4.info().linear_bits, 4.5);
    assert_eq!(WeightFormat::Mxfp4.info().linear_bits, 4.25);
    assert_eq!(WeightFormat::Nvfp4.info().linear_bits, 4.5);
    assert!((WeightFormat::Fp8Block.info().linear_bits - 8.001953125).abs() < 1e-12);
    let bits = |f: WeightFormat| f.info().linear_bits;
    assert_eq!(bits(WeightFormat::Q8_0), 8.5);
    assert_eq!(bits(WeightFormat::Q6K), 210.0 * 8.0 / 256.0);
    assert_eq!(bits(WeightFormat::Q4_0), 4.5);
    assert_eq!(bits(WeightFormat::Q4_1), 5.0);
    assert_eq!(bits(WeightFormat::Q5_0), 5.5);
    assert_eq!(bits(WeightFormat::Q5_1), 6.0);
    assert_eq!(bits(WeightFormat::Iq4Xs), 4.25);
    assert_eq!(bits(WeightFormat::Iq2Xxs), 2.0625);
    assert_eq!(bits(WeightFormat::Iq1S), 1.5625);
    assert_eq!(bits(WeightFormat::Mxfp4Moe), 4.25);
}

#[test]
fn every_format_has_a_distinct_name_and_gguf_types_round_trip() {
    let mut names: Vec<&str> = WeightFormat::all().map(|f| f.name()).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    // `int4` and `gptq` are one format under two names.
    assert_eq!(names.len(), n - 1);
    for f in WeightFormat::all().filter(|f| f.is_gguf()) {
        let ft = f.gguf_file_type().expect("a GGUF file type");
        assert_eq!(WeightFormat::from_gguf_file_type(ft), Some(f), "{ft}");
    }
    assert_eq!(
        WeightFormat::from_gguf_file_type("BF16"),
        Some(WeightFormat::Bf16)
    );
    assert_eq!(WeightFormat::from_gguf_file_type("TQ1_0"), None);
}

/// llama.cpp's tools/quantize/README.md (commit 311c2c9) measures bits per weight of
/// meta-llama/Llama-3.1-8B in every file type: `llama-quantize`'s size over the element count,
/// which includes the 64-element F32 rope_freqs tensor this catalog does not count.
#[test]
fn gguf_mixes_reproduce_llama_cpps_llama_3_1_8b_table() {
    let m = model("llama-3.1-8b");
    let params = m.param_counts().total as f64 + 64.0;
    let table = [
        (WeightFormat::Iq1S, 2.0042),
        (WeightFormat::Iq1M, 2.1460),
        (WeightFormat::Iq2Xxs, 2.3824),
        (WeightFormat::Iq2Xs, 2.5882),
        (WeightFormat::Iq2S, 2.7403),
        (WeightFormat::Iq2M, 2.9294),
        (WeightFormat::Iq3Xxs, 3.2548),
        (WeightFormat::Iq3Xs, 3.4977),
        (WeightFormat::Iq3S, 3.6606),
        (WeightFormat::Iq3M, 3.7628),
        (WeightFormat::Iq4Xs, 4.4597),
        (WeightFormat::Iq4Nl, 4.6818),
        (WeightFormat::Q2KS, 2.9697),
        (WeightFormat::Q2K, 3.1593),
        (WeightFormat::Q3KS, 3.6429),
        (WeightFormat::Q3KL, 4.2979),
        (WeightFormat::Q4KS, 4.6672),
        (WeightFormat::Q4KM, 4.8944),
        (WeightFormat::Q5KS, 5.5704),
        (WeightFormat::Q5KM, 5.7036),
        (WeightFormat::Q6K, 6.5633),
        (WeightFormat::Q8_0, 8.5008),
    ];
    for (f, published) in table {
        let bpw = (f.weight_bytes(&m) + 64.0 * 4.0) * 8.0 / params;
        assert!(
            (bpw - published).abs() < 0.0001,
            "{}: {bpw:.4} bits per weight, llama.cpp measured {published}",
            f.name()
        );
    }
}

/// Legacy types against TheBloke/Llama-2-7B-GGUF's file sizes (GB, llama.cpp d0cee0d, whose
/// Q4_0/Q5_0/Q8_0 rules are today's: only the output tensor differs, at Q6_K). The files add
/// under 1 MB of metadata.
#[test]
fn legacy_types_match_published_llama_2_7b_files() {
    let m = model("llama-2-7b");
    for (f, published_gb) in [
        (WeightFormat::Q4_0, 3.83),
        (WeightFormat::Q5_0, 4.65),
        (WeightFormat::Q8_0, 7.16),
    ] {
        let gb = f.weight_bytes(&m) / GB;
        assert!(
            (gb - published_gb).abs() < 0.006,
            "{}: {gb:.3} GB, the published file is {published_gb}",
            f.name()
        );
    }
}

/// gpt-oss ships its expert weights in MXFP4 and everything else in bf16; OpenAI's model card
/// (arXiv 2508.10925, Table 1) gives the checkpoint sizes 60.8 GiB and 12.8 GiB.
#[test]
fn mxfp4_gives_gpt_oss_its_published_checkpoint_size() {
    for (id, published_gib) in [("gpt-oss-120b", 60.8), ("gpt-oss-20b", 12.8)] {
        let m = model(id);
        assert_eq!(m.native_format, Some(WeightFormat::Mxfp4), "{id}");
        let gib = WeightFormat::Mxfp4.weight_bytes(&m) / GIB;
        assert!(
            (gib - published_gib).abs() < 0.06,
            "{id}: {gib:.2} GiB, OpenAI lists {published_gib}"
        );
    }
}

/// bartowski/openai_gpt-oss-20b-GGUF lists its MXFP4 file (llama.cpp b6096: experts MXFP4,
/// other matrices and the head Q8_0) at 12.1 GB.
#[test]
fn mxfp4_moe_matches_the_published_gpt_oss_20b_gguf() {
    let gb = WeightFormat::Mxfp4Moe.weight_bytes(&model("gpt-oss-20b")) / GB;
    assert!((gb - 12.1).abs() < 0.06, "{gb:.3} GB");
}

/// DeepSeek's checkpoint stores every matrix but the router as FP8 with an fp32 scale per
/// 128 × 128 block. The hub's dtype totals for deepseek-ai/DeepSeek-V3 (and R1) count
/// 680,571,043,840 F8_E4M3 elements and 41,555,600 F32 (the scales plus 59 × 256 router
/// biases): the 61 layers here plus the multi-token-prediction layer, whose shape is a MoE
/// layer's (its bf16 `eh_proj` aside).
#[test]
fn fp8_block_reproduces_deepseeks_fp8_and_scale_counts() {
    let mut m = model("deepseek-v3");
    m.num_hidden_layers += 1;
    let matrices: Vec<_> = m.tensors().into_iter().filter(|t| t.is_matrix()).collect();
    let fp8: u64 = matrices.iter().map(|t| t.elements()).sum();
    assert_eq!(fp8, 680_571_043_840);
    let bytes: f64 = matrices
        .iter()
        .map(|t| storage::tensor_bytes(WeightFormat::Fp8Block, &m, t))
        .sum();
    let scales = (bytes - fp8 as f64) / 4.0;
    assert_eq!(scales, (41_555_600 - 59 * 256) as f64);
}

/// Qwen3-30B-A3B in Q4_K_M: MoE tensors take their layer from the name (ffn_down_exps gets
/// Q6_K on llama.cpp's `use_more_bits` layers), attn_v counts tensors, the router stays F32.
#[test]
fn moe_tensors_follow_llama_cpps_layer_rules() {
    let m = model("qwen3-30b-a3b");
    let (_, default) = WeightFormat::Q4KM.gguf_entry().expect("GGUF");
    let types = gguf::types(WeightFormat::Q4KM, default, &m, &m.tensors());
    let of = |name: &str| -> Vec<(u64, GgufType)> {
        types
            .iter()
            .filter(|(t, _)| t.name == name)
            .map(|(t, ty)| (t.layer.unwrap_or(0), *ty))
            .collect()
    };
    // use_more_bits(i, 48): layers 0-5, 42-47 and every third from 8.
    let more = |i: u64| !(6..42).contains(&i) || (i - 6) % 3 == 2;
    for (name, high) in [("ffn_down_exps", GgufType::Q6K), ("attn_v", GgufType::Q6K)] {
        let layers = of(name);
        assert_eq!(layers.len(), 48, "{name}");
        for (i, ty) in layers {
            let want = if more(i) { high } else { GgufType::Q4K };
            assert_eq!(ty, want, "{name} layer {i}");
        }
    }
    assert!(of("ffn_gate_exps")
        .iter()
        .all(|(_, ty)| *ty == GgufType::Q4K));
    assert!(of("ffn_gate_inp")
        .iter()
        .all(|(_, ty)| *ty == GgufType::F32));
    assert_eq!(of("output"), vec![(0, GgufType::Q6K)]);
    assert_eq!(of("token_embd"), vec![(0, GgufType::Q4K)]);
}

#[test]
fn rows_that_do_not_divide_into_blocks_fall_back() {
    // Gemma 3 1B's hidden size 1152 is 4.5 blocks of 256: llama.cpp stores q/k/v and
    // gate/up in Q5_0 instead of Q4_K for Q4_K_M.
    assert_eq!(GgufType::Q4K.fallback_for(1152), GgufType::Q5_0);
    assert_eq!(GgufType::Q6K.fallback_for(2880), GgufType::Q8_0);
    assert_eq!(GgufType::Iq2Xxs.fallback_for(2880), GgufType::Iq4Nl);
    assert_eq!(GgufType::Q4K.fallback_for(100), GgufType::F16);
    assert_eq!(GgufType::Q4K.fallback_for(4096), GgufType::Q4K);
}

#[test]
fn narrower_formats_never_need_more_bytes() {
    let m = model("mixtral-8x7b");
    // Block-scaled FP8 and per-channel INT8 trade places with the matrix shapes.
    let chains: [&[WeightFormat]; 4] = [
        &[
            WeightFormat::Bf16,
            WeightFormat::Fp8Block,
            WeightFormat::Fp8,
        ],
        &[
            WeightFormat::Fp32,
            WeightFormat::Bf16,
            WeightFormat::Int8,
            WeightFormat::Fp8,
            WeightFormat::Mxfp4,
            WeightFormat::Nvfp4,
            WeightFormat::Gptq,
            WeightFormat::Nf4Dq,
        ],
        &[
            WeightFormat::Q8_0,
            WeightFormat::Q6K,
            WeightFormat::Q5KM,
            WeightFormat::Q5KS,
            WeightFormat::Q4KM,
            WeightFormat::Q4KS,
            WeightFormat::Iq4Xs,
            WeightFormat::Q3KM,
            WeightFormat::Q3KS,
            WeightFormat::Iq3Xxs,
            WeightFormat::Q2K,
            WeightFormat::Iq2Xxs,
            WeightFormat::Iq1S,
        ],
        &[
            WeightFormat::Q5_1,
            WeightFormat::Q5_0,
            WeightFormat::Q4_1,
            WeightFormat::Q4_0,
        ],
    ];
    for chain in chains {
        for w in chain.windows(2) {
            assert!(
                w[0].weight_bytes(&m) >= w[1].weight_bytes(&m),
                "{:?} < {:?}",
                w[0],
                w[1]
            );
        }
    }
}

#[test]
fn native_formats_are_the_inference_default_only() {
    use crate::plan::Workload;
    let gpt = model("gpt-oss-120b");
    assert_eq!(default_weights(&gpt, Workload::Infer), WeightFormat::Mxfp4);
    assert_eq!(default_weights(&gpt, Workload::Lora), WeightFormat::Bf16);
    assert_eq!(default_weights(&gpt, Workload::Qlora), WeightFormat::Nf4Dq);
    assert_eq!(
        default_weights(&model("deepseek-r1"), Workload::Infer),
        WeightFormat::Fp8Block
    );
    assert_eq!(
        default_weights(&model("llama-3.1-8b"), Workload::Infer),
        WeightFormat::Bf16
    );
}

/// Issue 12's acceptance: gpt-oss-120b plans in MXFP4 by default and fits one 80 GB GPU.
#[test]
fn gpt_oss_120b_fits_one_80_gb_gpu_in_its_native_format() {
    use crate::plan::{self, PlanRequest, Workload};
    let cat = Catalog::embedded().expect("catalog");
    let m = model("gpt-oss-120b");
    let mut req = PlanRequest::new(Workload::Infer, 4096);
    req.weights = default_weights(&m, Workload::Infer);
    for gpu in ["h100-sxm5-80gb", "a100-sxm4-80gb"] {
        let g = cat.gpus.get(gpu).expect("gpu");
        let p = plan::plan(&cat, &m, &req, &[g]);
        let o = &p.options[0];
        assert!(o.fits && o.gpus == 1, "{gpu}: {:?}", o.reason);
        assert_eq!(p.weight_format.name, "mxfp4");
    }
}
