//! Plan against the rig's links: a plan that puts several GPUs in one tensor-parallel group
//! assumes they exchange activations directly; a run whose GPUs have no peer access between
//! them copies that traffic through host memory instead.
use super::input::PlanDoc;
use super::run_charts::NamedRun;
use super::Block;

/// One sentence per run where a fitting tensor-parallel option of `plan` would span GPUs of
/// the plan's type that cannot reach each other's memory.
pub fn tp_without_p2p(plan: &PlanDoc, runs: &[NamedRun]) -> Vec<Block> {
    let mut out = Vec::new();
    for option in plan.options.iter().filter(|o| o.fits) {
        let Some(tp) = option.layout.map(|l| l.tp).filter(|tp| *tp > 1) else {
            continue;
        };
        for (name, run) in runs {
            // The GPUs of this type, in index order: a tensor-parallel group takes the first `tp`.
            let mut group: Vec<u32> = run
                .gpus
                .iter()
                .filter(|g| g.catalog_id.as_deref() == Some(option.gpu_id.as_str()))
                .map(|g| g.index)
                .collect();
            group.sort_unstable();
            group.truncate(tp as usize);
            let blocked: Vec<String> = run
                .topology
                .iter()
                .filter(|p| p.p2p_access == Some(false))
                .filter(|p| group.contains(&p.a) && group.contains(&p.b))
                .map(|p| {
                    let path = p
                        .pcie_path
                        .as_deref()
                        .map(|s| format!(", {s}"))
                        .unwrap_or_default();
                    format!("gpu{} and gpu{}{path}", p.a, p.b)
                })
                .collect();
            if !blocked.is_empty() {
                out.push(Block::Text(format!(
                    "{}: tensor parallelism over {tp} GPUs needs peer access, but on {name} {} have none: their traffic goes through host memory, slower than the plan assumes.",
                    option.label(),
                    blocked.join("; ")
                )));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::schema::{GpuInfo, GpuPair, ProbeRun};
    use crate::report::input::{self, Doc};

    #[test]
    fn a_tensor_parallel_option_over_gpus_without_peer_access_is_called_out() {
        let plan = include_str!("../../tests/fixtures/report/compare-llama-3.1-70b-int4.json");
        let Doc::Plan(plan) = input::parse(std::path::Path::new("p.json"), plan)
            .unwrap()
            .doc
        else {
            panic!("not a plan")
        };
        let mut run = crate::probe::schema::tests_support::empty_run();
        for index in 0..2 {
            run.gpus.push(GpuInfo {
                index,
                catalog_id: Some("h100-sxm5-80gb".into()),
                ..GpuInfo::default()
            });
        }
        let pair = |access| GpuPair {
            a: 0,
            b: 1,
            pcie_path: Some("SYS".into()),
            p2p_access: Some(access),
            nvlink_count: None,
        };
        run.topology.push(pair(true));
        let runs: [NamedRun; 1] = [("rig", &run)];
        assert!(tp_without_p2p(&plan, &runs).is_empty());
        let mut blocked: ProbeRun = run.clone();
        blocked.topology = vec![pair(false)];
        let runs: [NamedRun; 1] = [("rig", &blocked)];
        let out = tp_without_p2p(&plan, &runs);
        assert_eq!(out.len(), 1, "{out:?}");
        let Block::Text(t) = &out[0] else { panic!() };
        assert!(
            t.starts_with("2×h100-sxm5-80gb: tensor parallelism over 2 GPUs"),
            "{t}"
        );
        assert!(t.contains("gpu0 and gpu1, SYS"), "{t}");
    }
}
