//! Merging the node files of a cluster probe (`llmrig probe --out-dir DIR` under srun, mpirun
//! or torchrun): one row per node, nodes more than a stated tolerance below the cluster median
//! flagged, and the cross-node nccl-tests table when global rank 0 ran it.
//!
//! A node is as fast as its slowest GPU (a data-parallel step waits for the slowest rank), so
//! each node's figure is the minimum over its GPUs of each GPU's best result.
use super::run_charts::{results, NamedRun};
use super::table::{fmt_num, Section};
use super::Block;
use crate::probe::schema::{PhaseKind, ProbeRun, Severity};

/// A node figure more than this far below the cluster median is flagged. Ten percent is the
/// spread gpu-fryer and DCGM's diagnostic tolerate between GPUs (`--tflops-tolerance` 10 %,
/// `CheckAveragesForExcessiveVariation`), applied here between nodes.
pub const NODE_TOLERANCE_PCT: f64 = 10.0;

/// The figures compared across nodes: name with unit, and how to read one GPU's best value
/// (memory is the device copy or triad, h2d the pinned host-to-device copy).
struct Metric {
    name: &'static str,
    /// How a flag names it.
    short: &'static str,
    read: fn(&ProbeRun, &str) -> Option<f64>,
}

fn best(
    run: &ProbeRun,
    kind: PhaseKind,
    device: &str,
    pick: impl Fn(&crate::probe::schema::Measurement) -> Option<f64>,
) -> Option<f64> {
    results(run, kind, device).filter_map(pick).reduce(f64::max)
}

const METRICS: [Metric; 4] = [
    Metric {
        name: "bf16 TFLOP/s",
        short: "bf16",
        read: |r, d| {
            best(r, PhaseKind::Gemm, d, |m| {
                (m.dtype.as_deref() == Some("bf16"))
                    .then_some(m.tflops)
                    .flatten()
            })
        },
    },
    Metric {
        name: "memory GB/s",
        short: "memory",
        read: |r, d| best(r, PhaseKind::Memory, d, |m| m.gb_per_s),
    },
    Metric {
        name: "h2d GB/s",
        short: "h2d",
        read: |r, d| {
            best(r, PhaseKind::Pcie, d, |m| {
                m.label
                    .starts_with("h2d pinned")
                    .then_some(m.gb_per_s)
                    .flatten()
            })
        },
    },
    Metric {
        name: "CPU GFLOP/s",
        short: "CPU",
        read: |r, d| best(r, PhaseKind::CpuGemm, d, |m| m.tflops.map(|t| t * 1e3)),
    },
];

/// The node's name: the launcher's, else the host's, else the report name.
fn node_name(name: &str, run: &ProbeRun) -> String {
    run.cluster
        .as_ref()
        .map(|c| c.node.clone())
        .or_else(|| run.host.hostname.clone())
        .unwrap_or_else(|| name.to_owned())
}

/// One node's value of `metric`: the slowest GPU's best (CPU metrics: the CPU's).
fn node_value(run: &ProbeRun, metric: &Metric) -> Option<f64> {
    if metric.name.starts_with("CPU") {
        return (metric.read)(run, "cpu");
    }
    run.gpus
        .iter()
        .filter_map(|g| (metric.read)(run, &format!("gpu{}", g.index)))
        .reduce(f64::min)
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

/// `(node, figure's short name, % below the median)` for every node figure beyond the tolerance.
pub fn outliers(runs: &[NamedRun]) -> Vec<(String, &'static str, f64)> {
    let mut out = Vec::new();
    for metric in &METRICS {
        let values: Vec<(String, f64)> = runs
            .iter()
            .filter_map(|(n, r)| Some((node_name(n, r), node_value(r, metric)?)))
            .collect();
        let Some(mid) = median(values.iter().map(|v| v.1).collect()).filter(|m| *m > 0.0) else {
            continue;
        };
        for (node, v) in values {
            let below = (1.0 - v / mid) * 100.0;
            if below > NODE_TOLERANCE_PCT {
                out.push((node, metric.short, below));
            }
        }
    }
    out
}

/// Whether the runs look like one cluster job: two or more node files from a launcher, or
/// nccl-tests results.
pub fn is_cluster(runs: &[NamedRun]) -> bool {
    runs.iter().filter(|(_, r)| r.cluster.is_some()).count() >= 2
        || runs.iter().any(|(_, r)| r.nccl_tests.is_some())
}

fn nodes_section(runs: &[NamedRun]) -> Section {
    let flagged = outliers(runs);
    let cell = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "-".into());
    let mut header = vec!["node", "rank", "GPUs"];
    header.extend(METRICS.iter().map(|m| m.name));
    header.extend(["warn/err", "below median"]);
    let mut rows: Vec<Vec<String>> = runs
        .iter()
        .map(|(name, r)| {
            let node = node_name(name, r);
            let mut row = vec![
                node.clone(),
                r.cluster
                    .as_ref()
                    .map(|c| c.rank.to_string())
                    .unwrap_or_else(|| "-".into()),
                if r.gpus.is_empty() {
                    "none".into()
                } else {
                    format!(
                        "{}× {}",
                        r.gpus.len(),
                        r.gpus[0].name.trim_start_matches("NVIDIA ")
                    )
                },
            ];
            row.extend(METRICS.iter().map(|m| cell(node_value(r, m))));
            let count = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
            row.push(format!(
                "{} / {}",
                count(Severity::Warning),
                count(Severity::Error)
            ));
            let flags: Vec<String> = flagged
                .iter()
                .filter(|(n, _, _)| *n == node)
                .map(|(_, what, pct)| format!("{what} −{} %", fmt_num(*pct)))
                .collect();
            row.push(if flags.is_empty() {
                "ok".into()
            } else {
                flags.join(", ")
            });
            row
        })
        .collect();
    let mut medians = vec!["median".to_owned(), String::new(), String::new()];
    medians.extend(METRICS.iter().map(|m| {
        cell(median(
            runs.iter().filter_map(|(_, r)| node_value(r, m)).collect(),
        ))
    }));
    medians.extend([String::new(), String::new()]);
    rows.push(medians);
    Section::new(
        "Nodes (each figure is the node's slowest GPU)",
        &header,
        rows,
    )
}

fn nccl_section(run: &crate::probe::schema::NcclTestsRun) -> Section {
    let rows = run
        .rows
        .iter()
        .map(|r| {
            vec![
                fmt_num(r.size_bytes as f64 / 1048576.0),
                fmt_num(r.time_us),
                fmt_num(r.algbw_gb_per_s),
                fmt_num(r.busbw_gb_per_s),
                r.in_place_busbw_gb_per_s
                    .map(fmt_num)
                    .unwrap_or_else(|| "-".into()),
                r.wrong_count
                    .map(|w| w.to_string())
                    .unwrap_or_else(|| "not checked".into()),
            ]
        })
        .collect();
    Section::new(
        &format!(
            "nccl-tests {} across {} ranks",
            run.collective, run.ranks_count
        ),
        &[
            "size (MiB)",
            "time (µs)",
            "algbw (GB/s)",
            "busbw (GB/s)",
            "in-place busbw (GB/s)",
            "wrong values",
        ],
        rows,
    )
}

/// The cluster part of a report, or nothing when the runs are not one cluster job.
pub fn section(runs: &[NamedRun]) -> Vec<Block> {
    if !is_cluster(runs) {
        return Vec::new();
    }
    let job = runs.iter().find_map(|(_, r)| r.cluster.as_ref());
    let title = match job {
        Some(c) => format!(
            "Cluster: {}{}",
            c.launcher,
            c.job_id
                .as_deref()
                .map(|j| format!(" job {j}"))
                .unwrap_or_default()
        ),
        None => "Cluster".to_owned(),
    };
    let mut out = vec![Block::Heading(2, title)];
    let expected = job.and_then(|c| c.nodes_count);
    let seen = runs.len();
    let coverage = match expected {
        Some(n) if n as usize > seen => {
            format!("{seen} of {n} nodes reported; the missing ones wrote no file. ")
        }
        _ => format!("{seen} nodes. "),
    };
    let flagged = outliers(runs);
    out.push(Block::Text(format!(
        "{coverage}A node is flagged when a figure is more than {NODE_TOLERANCE_PCT:.0} % below the cluster median: {}.",
        if flagged.is_empty() {
            "none is".to_owned()
        } else {
            let mut nodes: Vec<&str> = flagged.iter().map(|f| f.0.as_str()).collect();
            nodes.dedup();
            format!("{} flagged", nodes.join(", "))
        }
    )));
    out.push(Block::Table(nodes_section(runs)));
    for (_, r) in runs {
        let Some(t) = &r.nccl_tests else { continue };
        if t.rows.is_empty() {
            out.push(Block::Text(format!(
                "Cross-node bandwidth not measured: {}",
                t.note.as_deref().unwrap_or("nccl-tests produced no table")
            )));
            continue;
        }
        let peak = t.peak().map(|p| {
            format!(
                "peak bus bandwidth {} GB/s at {} MiB",
                fmt_num(p.busbw_gb_per_s),
                fmt_num(p.size_bytes as f64 / 1048576.0)
            )
        });
        out.push(Block::Text(format!(
            "Cross-node collective bandwidth from NVIDIA nccl-tests ({}): {}; busbw = algbw × 2(n−1)/n for all-reduce.{}",
            t.command.join(" "),
            peak.unwrap_or_default(),
            if t.wrong_rows() > 0 {
                format!(" {} sizes returned wrong values.", t.wrong_rows())
            } else {
                String::new()
            }
        )));
        out.push(Block::Table(nccl_section(t)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::schema::{ClusterInfo, NcclTestsRun};
    use crate::probe::sim::{options, probe, Sim, SimGpu};
    use crate::report::input::{self, Doc, Input};

    fn node(name: &str, rank: u32, tflops: f64) -> ProbeRun {
        let dir = tempfile::tempdir().unwrap();
        let mut gpu = SimGpu::h100();
        gpu.bf16_tflops = tflops;
        let mut slow = gpu.clone();
        slow.bf16_tflops = tflops * 0.99;
        let mut opts = options(dir.path());
        opts.cluster = Some(ClusterInfo {
            launcher: "slurm".into(),
            job_id: Some("42".into()),
            node: name.into(),
            rank,
            local_rank: 0,
            node_rank: Some(rank),
            world_size: 3,
            nodes_count: Some(3),
        });
        probe(&Sim::with(vec![gpu, slow]), &opts).run
    }

    #[test]
    fn nodes_merge_and_a_slow_node_is_flagged() {
        let runs = [
            node("node0", 0, 790.0),
            node("node1", 1, 780.0),
            node("node2", 2, 600.0),
        ];
        let named: Vec<NamedRun> = runs.iter().map(|r| ("x", r)).collect();
        assert!(is_cluster(&named));
        let flagged = outliers(&named);
        assert_eq!(flagged.len(), 1, "{flagged:?}");
        let (who, what, pct) = &flagged[0];
        assert_eq!((who.as_str(), *what), ("node2", "bf16"));
        // The median node is node1, whose slowest GPU makes 772.2; node2's makes 594.
        assert!((pct - (1.0 - 594.0 / 772.2) * 100.0).abs() < 1e-9, "{pct}");
        let blocks = section(&named);
        let Block::Table(t) = &blocks[2] else {
            panic!("no table")
        };
        assert_eq!(t.rows.len(), 4);
        assert_eq!(t.rows[0][0], "node0");
        assert_eq!(
            t.rows[2].last().unwrap(),
            &format!("bf16 −{} %", fmt_num(*pct))
        );
        assert_eq!(t.rows[0].last().unwrap(), "ok");
        assert_eq!(t.rows[3][0], "median");
        let Block::Text(text) = &blocks[1] else {
            panic!()
        };
        assert!(
            text.contains("node2 flagged") && text.contains("10 %"),
            "{text}"
        );
        // A single run is not a cluster.
        assert!(section(&named[..1]).is_empty());
    }

    #[test]
    fn missing_nodes_and_nccl_tests_are_shown() {
        let mut a = node("node0", 0, 790.0);
        let b = node("node1", 1, 790.0);
        let table = include_str!("../../tests/fixtures/nccl-tests/all_reduce_perf_2x8_h100.txt");
        let mut t = crate::probe::nccl_tests::parse(table, "all_reduce").unwrap();
        t.command = vec!["srun".into(), "all_reduce_perf".into()];
        a.nccl_tests = Some(t);
        let runs = [a, b];
        let named: Vec<NamedRun> = runs.iter().map(|r| ("x", r)).collect();
        let blocks = section(&named);
        let text: Vec<String> = blocks
            .iter()
            .filter_map(|b| {
                if let Block::Text(t) = b {
                    Some(t.clone())
                } else {
                    None
                }
            })
            .collect();
        assert!(text[0].starts_with("2 of 3 nodes reported"), "{}", text[0]);
        assert!(
            text[1].contains("peak bus bandwidth 298 GB/s at 1,024 MiB"),
            "{}",
            text[1]
        );
        let Some(Block::Table(nccl)) = blocks.last() else {
            panic!()
        };
        assert_eq!(nccl.rows.len(), 8);
        assert_eq!(nccl.title, "nccl-tests all_reduce across 16 ranks");
        // nccl-tests that could not run says why.
        let mut c = runs[0].clone();
        c.nccl_tests = Some(NcclTestsRun {
            note: Some("nccl-tests not found".into()),
            ..NcclTestsRun::default()
        });
        let named = [("c", &c), ("b", &runs[1])];
        assert!(section(&named).iter().any(
            |b| matches!(b, Block::Text(t) if t.contains("not measured: nccl-tests not found"))
        ));
    }

    /// The simulated device end to end through the report: a plan's verdict per GPU comes out of
    /// a simulated run exactly as out of a real one.
    #[test]
    fn a_simulated_run_gets_the_plan_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let mut gpu = SimGpu::h100();
        gpu.bf16_tflops = 200.0;
        let run = probe(&Sim::with(vec![gpu]), &options(dir.path())).run;
        let plan = include_str!("../../tests/fixtures/report/compare-llama-3.1-70b-int4.json");
        let mut inputs = vec![input::parse(std::path::Path::new("plan.json"), plan).unwrap()];
        inputs.push(Input {
            path: "sim.json".into(),
            name: "sim".into(),
            doc: Doc::Run(Box::new(run)),
        });
        let cat = crate::catalog::Catalog::load(None).unwrap();
        let text = crate::report::build(&inputs, &cat).to_text();
        assert!(text.contains("sim gpu0"), "{text}");
        assert!(text.contains("below by"), "{text}");
    }
}
