//! One probe per node under the launchers clusters already use: Slurm (`srun`), MPI
//! (`mpirun`/`mpiexec`: Open MPI, MPICH/Intel MPI, MVAPICH) and `torchrun`.
//!
//! Each process reads its rank, local rank and node from the launcher's environment; local rank
//! 0 measures the node's GPUs and writes `DIR/<node>.json`, the other local ranks only say so.
//! Cross-node collective bandwidth comes from NVIDIA's nccl-tests (`all_reduce_perf`), run by
//! global rank 0 under the same launcher once every node has written its file; there is no
//! home-made network benchmark. `llmrig report DIR` merges the node files.
use super::control::{Cancel, Observer};
use super::nccl_tests;
use super::schema::{ClusterInfo, NcclTestsRun, ProbeRun};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Environment variable naming the nccl-tests binary (default: `all_reduce_perf_mpi`, then
/// `all_reduce_perf` on `PATH`).
pub const NCCL_TESTS_ENV: &str = "LLMRIG_NCCL_TESTS";
/// Environment variable with a whole nccl-tests command line to run instead (through `sh -c`),
/// for sites whose launcher needs extra flags (`--mpi=pmix`, a hostfile, …).
pub const NCCL_TESTS_CMD_ENV: &str = "LLMRIG_NCCL_TESTS_CMD";
/// The sizes the probe's own NCCL phase sweeps, passed to nccl-tests too (8 MiB–1 GiB, ×2).
pub const NCCL_TESTS_ARGS: [&str; 8] = ["-b", "8M", "-e", "1G", "-f", "2", "-g", "1"];

fn var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<u32> {
    env(name)?.trim().parse().ok()
}

/// The launcher's view of this process, or `None` when no launcher started it.
///
/// Precedence follows nesting: `torchrun` inside an `srun` step sets its own ranks for its
/// workers, and `mpirun` inside a Slurm allocation sets MPI ranks, so both win over Slurm's.
pub fn detect(env: &dyn Fn(&str) -> Option<String>, hostname: Option<&str>) -> Option<ClusterInfo> {
    let host = || hostname.unwrap_or("host").to_owned();
    let job = env("SLURM_JOB_ID");
    let info = |launcher: &str, rank, local, world, node_rank, nodes, node: String| ClusterInfo {
        launcher: launcher.to_owned(),
        job_id: job.clone(),
        node,
        rank,
        local_rank: local,
        node_rank,
        world_size: world,
        nodes_count: nodes,
    };
    if env("TORCHELASTIC_RUN_ID").is_some() || env("GROUP_RANK").is_some() {
        if let (Some(rank), Some(local), Some(world)) = (
            var(env, "RANK"),
            var(env, "LOCAL_RANK"),
            var(env, "WORLD_SIZE"),
        ) {
            let nodes = match (var(env, "LOCAL_WORLD_SIZE"), world) {
                (Some(per_node), w) if per_node > 0 => Some(w.div_ceil(per_node)),
                _ => None,
            };
            let node = env("SLURMD_NODENAME").unwrap_or_else(host);
            return Some(info(
                "torchrun",
                rank,
                local,
                world,
                var(env, "GROUP_RANK"),
                nodes,
                node,
            ));
        }
    }
    let mpi = [
        (
            "openmpi",
            "OMPI_COMM_WORLD_RANK",
            "OMPI_COMM_WORLD_LOCAL_RANK",
            "OMPI_COMM_WORLD_SIZE",
        ),
        (
            "mvapich",
            "MV2_COMM_WORLD_RANK",
            "MV2_COMM_WORLD_LOCAL_RANK",
            "MV2_COMM_WORLD_SIZE",
        ),
        ("mpich", "PMI_RANK", "MPI_LOCALRANKID", "PMI_SIZE"),
    ];
    for (launcher, rank, local, size) in mpi {
        if let (Some(rank), Some(local), Some(world)) =
            (var(env, rank), var(env, local), var(env, size))
        {
            return Some(info(launcher, rank, local, world, None, None, host()));
        }
    }
    if job.is_some() {
        if let (Some(rank), Some(local), Some(world)) = (
            var(env, "SLURM_PROCID"),
            var(env, "SLURM_LOCALID"),
            var(env, "SLURM_NTASKS"),
        ) {
            let nodes = var(env, "SLURM_NNODES").or_else(|| var(env, "SLURM_JOB_NUM_NODES"));
            let node = env("SLURMD_NODENAME").unwrap_or_else(host);
            return Some(info(
                "slurm",
                rank,
                local,
                world,
                var(env, "SLURM_NODEID"),
                nodes,
                node,
            ));
        }
    }
    None
}

/// Reads the real environment.
pub fn detect_from_env(hostname: Option<&str>) -> Option<ClusterInfo> {
    detect(&|k| std::env::var(k).ok(), hostname)
}

/// Whether this process measures its node: local rank 0 does, the others would only compete
/// for the same GPUs.
pub fn measures_node(info: &ClusterInfo) -> bool {
    info.local_rank == 0
}

/// `DIR/<node>.json`, the node name made safe as a file name.
pub fn node_file(dir: &Path, node: &str) -> PathBuf {
    let safe: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    dir.join(format!(
        "{}.json",
        if safe.is_empty() { "node" } else { safe }
    ))
}

/// A node file of the same job: its node name and how many GPUs it measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSeen {
    pub node: String,
    pub gpus: u32,
}

/// The finished node files of job `job_id` in `dir`.
pub fn finished_nodes(dir: &Path, job_id: Option<&str>) -> Vec<NodeSeen> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<NodeSeen> = read
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            let run: ProbeRun = serde_json::from_str(&text).ok()?;
            let c = run.cluster.as_ref()?;
            (run.finished_at.is_some() && c.job_id.as_deref() == job_id).then(|| NodeSeen {
                node: c.node.clone(),
                gpus: run.gpus.len() as u32,
            })
        })
        .collect();
    out.sort_by(|a, b| a.node.cmp(&b.node));
    out.dedup_by(|a, b| a.node == b.node);
    out
}

/// The nccl-tests binary: `LLMRIG_NCCL_TESTS`, else the MPI build or the plain one on `PATH`.
pub fn find_nccl_tests(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(p) = env(NCCL_TESTS_ENV) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let path = env("PATH")?;
    ["all_reduce_perf_mpi", "all_reduce_perf"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
}

/// The command that runs `binary` across `nodes` under this process's launcher, one rank per
/// GPU; `Err` says why this launcher cannot start it from inside a job (with what to run).
pub fn nccl_tests_command(
    info: &ClusterInfo,
    binary: &str,
    nodes: &[NodeSeen],
) -> Result<Vec<String>, String> {
    let per_node = nodes.iter().map(|n| n.gpus).min().unwrap_or(0);
    if per_node == 0 {
        return Err("a node measured no GPU, so nccl-tests has no rank to run there".into());
    }
    let mut cmd: Vec<String> = match info.launcher.as_str() {
        "slurm" => vec![
            "srun".into(),
            "--overlap".into(),
            format!("--nodes={}", nodes.len()),
            format!("--ntasks-per-node={per_node}"),
            format!("--nodelist={}", nodes.iter().map(|n| n.node.as_str()).collect::<Vec<_>>().join(",")),
        ],
        "openmpi" => vec![
            "mpirun".into(),
            "-np".into(),
            (per_node as usize * nodes.len()).to_string(),
            "-H".into(),
            nodes
                .iter()
                .map(|n| format!("{}:{per_node}", n.node))
                .collect::<Vec<_>>()
                .join(","),
            "-bind-to".into(),
            "none".into(),
            "-map-by".into(),
            "slot".into(),
            "-x".into(),
            "LD_LIBRARY_PATH".into(),
        ],
        other => {
            return Err(format!(
                "llmrig cannot start nccl-tests under {other} from inside the job; run it with the same launcher, one rank per GPU, e.g. `{binary} {}`, and keep its output",
                NCCL_TESTS_ARGS.join(" ")
            ))
        }
    };
    cmd.push(binary.to_owned());
    cmd.extend(NCCL_TESTS_ARGS.iter().map(|s| (*s).to_owned()));
    Ok(cmd)
}

/// Waits until `expected` nodes of the job have finished their files (a barrier through the
/// shared output directory), or `timeout` passes, or the user interrupts.
pub fn wait_for_nodes(
    dir: &Path,
    info: &ClusterInfo,
    expected: u32,
    timeout: Duration,
    cancel: &Cancel,
) -> Result<Vec<NodeSeen>, String> {
    let start = Instant::now();
    loop {
        let seen = finished_nodes(dir, info.job_id.as_deref());
        if seen.len() as u32 >= expected {
            return Ok(seen);
        }
        if cancel.is_cancelled() {
            return Err("interrupted while waiting for the other nodes".into());
        }
        if start.elapsed() >= timeout {
            return Err(format!(
                "only {} of {expected} node files in '{}' after {} s",
                seen.len(),
                dir.display(),
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// Runs a command line and parses its nccl-tests table.
fn run_command(cmd: &[String], shell: bool) -> Result<NcclTestsRun, String> {
    let mut c = if shell {
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg(cmd.join(" "));
        c
    } else {
        let mut c = std::process::Command::new(&cmd[0]);
        c.args(&cmd[1..]);
        c
    };
    let out = c
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("could not start '{}': {e}", cmd[0]))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut run = nccl_tests::parse(&text, "all_reduce").map_err(|e| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or("").trim();
        format!("{e} (exit status {}; {last})", out.status)
    })?;
    run.command = cmd.to_vec();
    Ok(run)
}

/// Global rank 0 of a multi-node job: waits for every node file, then runs nccl-tests across
/// the nodes under the same launcher. Always returns a record: the table, or why there is none.
pub fn cross_node(
    dir: &Path,
    info: &ClusterInfo,
    cancel: &Cancel,
    obs: &dyn Observer,
    timeout: Duration,
) -> NcclTestsRun {
    let env = |k: &str| std::env::var(k).ok();
    let failed = |command: Vec<String>, note: String| NcclTestsRun {
        command,
        collective: "all_reduce".into(),
        note: Some(note),
        ..NcclTestsRun::default()
    };
    let line = env(NCCL_TESTS_CMD_ENV);
    let binary = find_nccl_tests(&env);
    if line.is_none() && binary.is_none() {
        return failed(
            vec![],
            format!("nccl-tests not found (all_reduce_perf on PATH or {NCCL_TESTS_ENV})"),
        );
    }
    let expected = info.nodes_count.unwrap_or(1);
    obs.note(&format!(
        "waiting for {expected} node files in '{}' before nccl-tests",
        dir.display()
    ));
    let nodes = match wait_for_nodes(dir, info, expected, timeout, cancel) {
        Ok(n) => n,
        Err(e) => return failed(vec![], format!("nccl-tests not run: {e}")),
    };
    if let Some(line) = line {
        let cmd = vec![line];
        obs.note(&format!("running {} (from {NCCL_TESTS_CMD_ENV})", cmd[0]));
        return run_command(&cmd, true).unwrap_or_else(|e| failed(cmd, e));
    }
    let Some(binary) = binary else {
        return failed(vec![], "nccl-tests not found".into());
    };
    let binary = binary.display().to_string();
    match nccl_tests_command(info, &binary, &nodes) {
        Ok(cmd) => {
            obs.note(&format!("running {}", cmd.join(" ")));
            run_command(&cmd, false).unwrap_or_else(|e| failed(cmd, e))
        }
        Err(e) => failed(vec![binary], e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::sim::env_of;

    #[test]
    fn slurm_ranks_and_the_node_name_come_from_the_environment() {
        let env = env_of(&[
            ("SLURM_JOB_ID", "42"),
            ("SLURM_PROCID", "1"),
            ("SLURM_LOCALID", "0"),
            ("SLURM_NODEID", "1"),
            ("SLURM_NTASKS", "2"),
            ("SLURM_NNODES", "2"),
            ("SLURMD_NODENAME", "node1"),
        ]);
        let c = detect(&env, Some("login.example")).unwrap();
        assert_eq!(
            c,
            ClusterInfo {
                launcher: "slurm".into(),
                job_id: Some("42".into()),
                node: "node1".into(),
                rank: 1,
                local_rank: 0,
                node_rank: Some(1),
                world_size: 2,
                nodes_count: Some(2),
            }
        );
        assert!(measures_node(&c));
        // Without SLURMD_NODENAME the host name is used.
        let env = env_of(&[
            ("SLURM_JOB_ID", "42"),
            ("SLURM_PROCID", "3"),
            ("SLURM_LOCALID", "1"),
            ("SLURM_NTASKS", "4"),
        ]);
        let c = detect(&env, Some("gpu-07")).unwrap();
        assert_eq!((c.node.as_str(), c.local_rank), ("gpu-07", 1));
        assert!(!measures_node(&c));
        // An allocation without a task (a shell inside salloc) is not a launch.
        assert_eq!(detect(&env_of(&[("SLURM_JOB_ID", "42")]), None), None);
    }

    #[test]
    fn mpi_flavours_are_detected() {
        let open = env_of(&[
            ("OMPI_COMM_WORLD_RANK", "5"),
            ("OMPI_COMM_WORLD_LOCAL_RANK", "1"),
            ("OMPI_COMM_WORLD_SIZE", "8"),
            // mpirun inside a Slurm allocation: MPI's ranks win.
            ("SLURM_JOB_ID", "7"),
            ("SLURM_PROCID", "0"),
            ("SLURM_LOCALID", "0"),
            ("SLURM_NTASKS", "1"),
        ]);
        let c = detect(&open, Some("n2")).unwrap();
        assert_eq!(
            (
                c.launcher.as_str(),
                c.rank,
                c.local_rank,
                c.world_size,
                c.node.as_str()
            ),
            ("openmpi", 5, 1, 8, "n2")
        );
        assert_eq!(c.job_id.as_deref(), Some("7"));
        let hydra = env_of(&[
            ("PMI_RANK", "2"),
            ("MPI_LOCALRANKID", "0"),
            ("PMI_SIZE", "4"),
        ]);
        assert_eq!(detect(&hydra, None).unwrap().launcher, "mpich");
        let mv = env_of(&[
            ("MV2_COMM_WORLD_RANK", "0"),
            ("MV2_COMM_WORLD_LOCAL_RANK", "0"),
            ("MV2_COMM_WORLD_SIZE", "2"),
        ]);
        assert_eq!(detect(&mv, None).unwrap().launcher, "mvapich");
    }

    #[test]
    fn torchrun_wins_inside_srun() {
        let env = env_of(&[
            ("TORCHELASTIC_RUN_ID", "abc"),
            ("RANK", "9"),
            ("LOCAL_RANK", "1"),
            ("WORLD_SIZE", "16"),
            ("LOCAL_WORLD_SIZE", "8"),
            ("GROUP_RANK", "1"),
            ("SLURM_JOB_ID", "42"),
            ("SLURM_PROCID", "1"),
            ("SLURM_LOCALID", "0"),
            ("SLURM_NTASKS", "2"),
            ("SLURMD_NODENAME", "node1"),
        ]);
        let c = detect(&env, Some("h")).unwrap();
        assert_eq!(
            (
                c.launcher.as_str(),
                c.rank,
                c.local_rank,
                c.node_rank,
                c.nodes_count
            ),
            ("torchrun", 9, 1, Some(1), Some(2))
        );
        assert_eq!(c.node, "node1");
        assert!(detect(&env_of(&[("RANK", "0")]), None).is_none());
    }

    #[test]
    fn node_files_are_named_safely() {
        let d = Path::new("/runs");
        assert_eq!(node_file(d, "node0"), PathBuf::from("/runs/node0.json"));
        assert_eq!(
            node_file(d, "../etc/x y"),
            PathBuf::from("/runs/_etc_x_y.json")
        );
        assert_eq!(node_file(d, ""), PathBuf::from("/runs/node.json"));
    }

    #[test]
    fn nccl_tests_runs_under_the_same_launcher() {
        let nodes = [
            NodeSeen {
                node: "node0".into(),
                gpus: 8,
            },
            NodeSeen {
                node: "node1".into(),
                gpus: 8,
            },
        ];
        let mut info = ClusterInfo {
            launcher: "slurm".into(),
            node: "node0".into(),
            world_size: 2,
            ..ClusterInfo::default()
        };
        assert_eq!(
            nccl_tests_command(&info, "all_reduce_perf", &nodes).unwrap().join(" "),
            "srun --overlap --nodes=2 --ntasks-per-node=8 --nodelist=node0,node1 all_reduce_perf -b 8M -e 1G -f 2 -g 1"
        );
        info.launcher = "openmpi".into();
        assert_eq!(
            nccl_tests_command(&info, "/opt/all_reduce_perf", &nodes).unwrap().join(" "),
            "mpirun -np 16 -H node0:8,node1:8 -bind-to none -map-by slot -x LD_LIBRARY_PATH /opt/all_reduce_perf -b 8M -e 1G -f 2 -g 1"
        );
        info.launcher = "torchrun".into();
        let e = nccl_tests_command(&info, "all_reduce_perf", &nodes).unwrap_err();
        assert!(e.contains("torchrun") && e.contains("-b 8M -e 1G"), "{e}");
        let none = [NodeSeen {
            node: "a".into(),
            gpus: 0,
        }];
        assert!(nccl_tests_command(&info, "x", &none).is_err());
    }

    #[test]
    fn the_binary_is_found_on_path_or_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("all_reduce_perf"), b"").unwrap();
        let path = dir.path().display().to_string();
        let env = env_of(&[("PATH", &path)]);
        assert_eq!(
            find_nccl_tests(&env),
            Some(dir.path().join("all_reduce_perf"))
        );
        std::fs::write(dir.path().join("mine"), b"").unwrap();
        let mine = dir.path().join("mine").display().to_string();
        let env = env_of(&[("PATH", &path), (NCCL_TESTS_ENV, &mine)]);
        assert_eq!(find_nccl_tests(&env), Some(dir.path().join("mine")));
        // A named binary that is not there is not silently replaced by the one on PATH.
        let env = env_of(&[("PATH", &path), (NCCL_TESTS_ENV, "/no/such/binary")]);
        assert_eq!(find_nccl_tests(&env), None);
        assert_eq!(find_nccl_tests(&env_of(&[])), None);
    }
}
