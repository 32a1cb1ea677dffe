//! Plans on whole machines with unified memory and on GPU baseboards sold without a server.
use super::*;

fn kinds(build: &Build) -> Vec<&'static str> {
    build.node.lines.iter().map(|l| l.kind).collect()
}

#[test]
fn llama_70b_q4_on_a_mac_studio_is_one_priced_line() {
    let m3 = gpu("m3-ultra-512gb");
    let r = req(Workload::Infer, WeightFormat::Q4KM, 8192);
    let p = plan(cat(), model("llama-3.1-70b"), &r, &[m3]);
    let o = only(&p);
    assert!(o.fits, "{:?}", o.reason);
    assert_eq!(o.gpus, 1);
    // The GPU may use macOS's working-set share of the 512 GiB, not all of it.
    assert_eq!(m3.memory_bytes(), 0.75 * m3.total_memory_bytes());
    let usable = o.memory_per_gpu.as_ref().unwrap().usable_bytes;
    assert!(usable < m3.memory_bytes(), "{usable}");
    let build = o.build.as_ref().unwrap();
    let platform = cat().platforms.get("mac-studio-m3-ultra-512gb").unwrap();
    let price = crate::catalog::preferred_price(&platform.prices)
        .unwrap()
        .usd;
    assert!(build.fully_priced && build.node.gpu_cost_known);
    assert_eq!(build.total_usd, Some(price));
    assert!(build.node.builds_as_listed);
    // No PSU, case, CPU or RAM of its own: the machine is the whole build.
    assert_eq!(kinds(build), ["gpu", "platform", "cpu"]);
    assert_eq!(build.node.lines[2].id, None);
    // Its power is the machine's measured wall draw, with no separate system base load.
    assert_eq!(build.node.wall_load_w, 260.0);
    assert_eq!(build.node.dc_load_w, m3.tdp_w);
}

#[test]
fn every_integrated_gpu_plans_on_its_machine() {
    let r = req(Workload::Infer, WeightFormat::Q4KM, 4096);
    for g in cat()
        .gpus
        .iter()
        .filter(|g| g.form_factor == crate::catalog::FormFactor::Integrated)
    {
        let p = plan(cat(), model("llama-3.1-8b"), &r, &[g]);
        let o = only(&p);
        assert!(o.fits, "{}: {:?}", g.id, o.reason);
        let build = o.build.as_ref().unwrap();
        let platform = build
            .node
            .lines
            .iter()
            .find(|l| l.kind == "platform")
            .unwrap();
        let id = platform.id.as_deref().unwrap();
        assert_eq!(
            cat().platforms.get(id).unwrap().kind,
            crate::catalog::PlatformKind::System,
            "{}",
            g.id
        );
        assert!(build.fully_priced, "{}: {:?}", g.id, build.node.unpriced);
    }
}

#[test]
fn two_mac_studios_get_a_priced_cable_but_are_not_a_build_as_listed() {
    let m3 = gpu("m3-ultra-96gb");
    // llama.cpp (the default for GGUF) splits the layers across the two machines over RPC.
    let r = req(Workload::Infer, WeightFormat::Q4KM, 4096);
    let p = compare(cat(), model("llama-3.1-70b"), &r, &[(2, m3)]);
    let o = only(&p);
    assert!(o.fits, "{:?}", o.reason);
    let layout = o.layout.unwrap();
    assert!(
        layout.layer_split && layout.pp == 2 && layout.nodes == 2,
        "{layout:?}"
    );
    let build = o.build.as_ref().unwrap();
    assert_eq!(build.nodes, 2);
    // One machine boundary per token costs LLAMA_CPP_RPC_HOP_US plus the activation over the
    // 80 Gbit/s cable: a token takes longer than two halves on one machine would.
    let s = o.speed.unwrap();
    assert_eq!(s.interconnect.map(|l| l.gb_per_s), Some(10.0));
    let m = model("llama-3.1-70b");
    let mm = memory::model_memory(m, &r);
    let env = speed::Env {
        network: Some(comm::network(80.0)),
        ..speed::Env::on_gpus(m)
    };
    let split = speed::inference(m, &r, m3, &layout, &mm, &env).unwrap();
    assert_eq!(split.decode_tokens_per_s, s.decode_tokens_per_s);
    let inside = Layout {
        nodes: 1,
        gpus_per_node: 2,
        ..layout
    };
    let local = speed::inference(m, &r, m3, &inside, &mm, &env).unwrap();
    let extra = 1.0 / split.decode_tokens_per_s - 1.0 / local.decode_tokens_per_s;
    let bytes = m.hidden_size as f64 * comm::ACTIVATION_BYTES;
    let expected =
        (engine::LLAMA_CPP_RPC_HOP_US - engine::LLAMA_CPP_STAGE_HOP_US) * 1e-6 + bytes / 10e9;
    assert!((extra - expected).abs() < 1e-12, "{extra} vs {expected}");
    // The software that splits the model is not a part: still not a build as listed.
    assert!(!build.node.builds_as_listed);
    let link = build
        .node
        .lines
        .iter()
        .find(|l| l.kind == "network")
        .unwrap();
    // The catalog's Thunderbolt 5 cable names the Mac Studios: one per machine.
    let cable = cat()
        .network
        .get("apple-thunderbolt-5-pro-cable-1m")
        .unwrap();
    assert!(cable
        .machines
        .iter()
        .any(|m| m == "mac-studio-m3-ultra-96gb"));
    assert_eq!(link.id.as_deref(), Some(cable.id.as_str()));
    assert_eq!(link.quantity, 1);
    let usd = crate::catalog::preferred_price(&cable.prices).unwrap().usd;
    assert_eq!(link.total_usd, Some(usd));
    assert!(build.fully_priced, "{:?}", build.node.unpriced);
    let platform = cat().platforms.get("mac-studio-m3-ultra-96gb").unwrap();
    let machine = crate::catalog::preferred_price(&platform.prices)
        .unwrap()
        .usd;
    assert_eq!(build.total_usd, Some(2.0 * (machine + usd)));
}

#[test]
fn two_dgx_sparks_keep_an_unpriced_link_when_no_cable_names_them() {
    let spark = gpu("dgx-spark");
    // 70B in bf16 (about 131 GiB of weights) needs two of them.
    let r = req(Workload::Infer, WeightFormat::Bf16, 4096);
    let p = compare(cat(), model("llama-3.1-70b"), &r, &[(2, spark)]);
    let o = only(&p);
    assert!(o.fits, "{:?}", o.reason);
    let build = o.build.as_ref().unwrap();
    assert_eq!(build.nodes, 2);
    assert!(!cat()
        .network
        .iter()
        .any(|n| n.machines.iter().any(|m| m == "nvidia-dgx-spark")));
    let link = build
        .node
        .lines
        .iter()
        .find(|l| l.kind == "network")
        .unwrap();
    assert_eq!(link.id, None);
    assert!(!build.fully_priced);
}

#[test]
fn mi300x_plans_on_its_ubb_kit_and_names_the_missing_server() {
    let mi300x = gpu("mi300x");
    let r = req(Workload::Infer, WeightFormat::Bf16, 2048);
    let p = plan(cat(), model("falcon-180b"), &r, &[mi300x]);
    let o = only(&p);
    assert!(o.fits, "{:?}", o.reason);
    let build = o.build.as_ref().unwrap();
    let lines = &build.node.lines;
    assert_eq!(
        lines[1].id.as_deref(),
        Some("amd-instinct-mi300x-ubb-8x"),
        "{lines:?}"
    );
    // The kit's price covers the eight GPUs; the server around it is a named, unpriced line.
    assert!(build.node.gpu_cost_known);
    assert!(lines
        .iter()
        .any(|l| l.kind == "platform" && l.id.is_none() && l.unit_price.is_none()));
    assert!(!build.fully_priced);
    assert!(lines.iter().any(|l| l.kind == "cpu" && l.id.is_some()));
}

#[test]
fn oam_gpus_and_new_baseboards_all_get_a_platform() {
    let r = req(Workload::Infer, WeightFormat::Bf16, 2048);
    for id in ["mi300x", "gaudi-3", "gaudi-2", "b300-sxm", "gb200"] {
        let p = plan(cat(), model("llama-3.1-70b"), &r, &[gpu(id)]);
        let o = only(&p);
        assert!(o.fits, "{id}: {:?}", o.reason);
        let build = o.build.as_ref().unwrap();
        assert!(
            build
                .node
                .lines
                .iter()
                .any(|l| l.kind == "platform" && l.id.is_some()),
            "{id}: {:?}",
            build.node.lines
        );
        assert!(build.node.gpu_cost_known, "{id}");
    }
}

#[test]
fn the_articles_twelve_v100s_plan_as_three_nodes_of_four_or_four_of_three() {
    let v100 = gpu("v100-pcie-32gb");
    let falcon = model("falcon-180b");
    let r = req(Workload::Infer, WeightFormat::Int4, 2048);
    let p = compare_shapes(
        cat(),
        falcon,
        &r,
        &[
            (Shape::nodes(3, 4), v100),
            (Shape::nodes(4, 3), v100),
            (Shape::gpus(12), v100),
        ],
    );
    let [a, b, c] = &p.options[..] else {
        panic!("three options")
    };
    for o in [a, b, c] {
        assert!(o.fits, "{}: {:?}", o.rig(), o.reason);
        let build = o.build.as_ref().unwrap();
        // Priced and powered per node: every node carries its own GPUs, PSU or server, NIC.
        let l = o.layout.unwrap();
        assert_eq!(build.nodes, l.nodes);
        assert_eq!(build.node.gpus_per_node * l.nodes, 12);
        let cost = o.cost.as_ref().unwrap();
        assert!((cost.power_load_w - build.node.wall_load_w * l.nodes as f64).abs() < 1e-6);
        let network: Vec<&str> = build
            .node
            .lines
            .iter()
            .filter(|x| x.kind == "network")
            .map(|x| x.name.as_str())
            .collect();
        assert!(network.iter().any(|n| n.contains("switch")), "{network:?}");
    }
    // 3 × 4: vLLM's TP4 inside each node, three pipeline stages across them.
    let l = a.layout.unwrap();
    assert_eq!((l.tp, l.pp, l.nodes, l.gpus_per_node), (4, 3, 3, 4));
    assert_eq!(a.rig(), "3×4×v100-pcie-32gb");
    // 4 × 3: 232 heads admit no TP3, so TP1 with twelve stages, three inside each node.
    let l = b.layout.unwrap();
    assert_eq!((l.tp, l.pp, l.nodes, l.gpus_per_node), (1, 12, 4, 3));
    // 12 without a shape: the fewest nodes that split evenly and legally.
    assert!(c.layout.unwrap().nodes >= 2);
    // llama.cpp splits layers over the four desktops over Ethernet (RPC).
    let gguf = req(Workload::Infer, WeightFormat::Q4KM, 2048);
    let p = compare_shapes(cat(), falcon, &gguf, &[(Shape::nodes(4, 3), v100)]);
    let o = only(&p);
    assert!(o.fits, "{:?}", o.reason);
    let l = o.layout.unwrap();
    assert!(l.layer_split && l.pp == 12 && l.nodes == 4, "{l:?}");
    let lines = &o.build.as_ref().unwrap().node.lines;
    assert!(lines
        .iter()
        .any(|x| x.kind == "network" && x.name.starts_with("Ethernet switch")));
    // transformers keeps one process on one machine.
    let hf = PlanRequest {
        engine: Some(Engine::Transformers),
        ..gguf
    };
    let p = compare_shapes(cat(), falcon, &hf, &[(Shape::nodes(4, 3), v100)]);
    assert!(!only(&p).fits);
    assert!(only(&p)
        .reason
        .as_deref()
        .unwrap()
        .contains("inside one node"));
}
