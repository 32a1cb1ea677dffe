//! `llmrig probe`: runs the probe, draws progress, prints the summary and maps findings to the
//! exit status.
use super::{Context, ExitStatus};
use crate::cli::ProbeArgs;
use crate::output::Printer;
use crate::probe::schema::{Phase, PhaseStatus, ProbeRun, Severity};
use crate::probe::{self, cluster, runfile, runner, Cancel, Observer};
use crate::report::table::{fmt_num, new_table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Environment variable that turns a missing GPU into an error (exit 2).
pub const REQUIRE_GPU_ENV: &str = "LLMRIG_REQUIRE_GPU";

/// Progress bars on stderr, one per phase; hidden when quiet or not a terminal.
struct Bars {
    printer: Printer,
    show: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Observer for Bars {
    fn phase_started(&self, name: &str, steps: u64) {
        if !self.show {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(steps.max(1)), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {msg:<18} [{bar:30}] {pos}/{len} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(name.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn step(&self) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                if bar.position() + 1 >= bar.length().unwrap_or(u64::MAX) {
                    bar.set_length(bar.position() + 2);
                }
                bar.inc(1);
            }
        }
    }

    fn phase_finished(&self, _phase: &Phase) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }

    fn note(&self, text: &str) {
        match self.bar.lock().ok().and_then(|s| s.clone()) {
            Some(bar) => bar.suspend(|| self.printer.note(text)),
            None => self.printer.note(text),
        }
    }
}

/// Where Ctrl-C goes: set up first thing in `main`, before the command line is parsed, so a
/// signal in the first milliseconds of a probe is recorded instead of killing the process.
static INTERRUPT: OnceLock<Cancel> = OnceLock::new();
/// 0 while starting, 1 during a probe, 2 during any other command.
static STAGE: AtomicU8 = AtomicU8::new(0);
/// Why the handler could not be installed, reported by the probe.
static HANDLER_ERROR: OnceLock<String> = OnceLock::new();

fn interrupt() -> Cancel {
    INTERRUPT.get_or_init(Cancel::new).clone()
}

/// Installs the Ctrl-C handler. During a probe the first Ctrl-C stops it at the next
/// repetition (the phases done are kept) and a second one exits at once (130); any other
/// command exits 130 as usual; a Ctrl-C before the command is known is remembered.
pub fn install_interrupt_handler() {
    let cancel = interrupt();
    if let Err(e) = ctrlc::set_handler(move || match STAGE.load(Ordering::SeqCst) {
        1 if !cancel.is_cancelled() => cancel.cancel(),
        0 => cancel.cancel(),
        _ => std::process::exit(130),
    }) {
        let _ = HANDLER_ERROR.set(e.to_string());
    }
}

/// Tells the handler which command runs; a command other than `probe` interrupted while
/// starting exits now.
pub fn enter_command(probe: bool) {
    STAGE.store(if probe { 1 } else { 2 }, Ordering::SeqCst);
    if !probe && interrupt().is_cancelled() {
        std::process::exit(130);
    }
}

/// The exit status of a finished probe: 1 when it was interrupted, when a phase failed or a
/// result differs from its reference (with or without `--check`), when a requested burn-in or
/// check had no GPU to run on, or, with `--check`, when any finding is a warning or an error.
pub fn exit_status(run: &ProbeRun, check: bool) -> ExitStatus {
    let not_run = run
        .findings
        .iter()
        .any(|f| f.code == "burn-in-not-run" || f.code == "check-without-gpu");
    if run.interrupted || not_run || runner::failed(run) || (check && runner::check_failed(run)) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

pub fn run(ctx: &Context, args: ProbeArgs) -> anyhow::Result<ExitStatus> {
    let catalog = ctx.catalog()?;
    let model = match &args.model {
        Some(query) => Some(catalog.models.resolve(query)?.clone()),
        None => None,
    };
    let require_gpu = std::env::var(REQUIRE_GPU_ENV).is_ok_and(|v| v == "1");
    let hostname = crate::probe::host::hostname();
    let cluster = args
        .out_dir
        .as_ref()
        .and_then(|_| cluster::detect_from_env(hostname.as_deref()));
    if let Some(c) = cluster.as_ref().filter(|c| !cluster::measures_node(c)) {
        ctx.printer.note(&format!(
            "{} rank {} (local rank {} on {}): local rank 0 measures this node's GPUs",
            c.launcher, c.rank, c.local_rank, c.node
        ));
        return Ok(ExitStatus::Success);
    }
    let out = match &args.out_dir {
        Some(dir) => {
            let node = cluster
                .as_ref()
                .map(|c| c.node.clone())
                .or(hostname)
                .unwrap_or_else(|| "node".into());
            Some(cluster::node_file(dir, &node))
        }
        None => args.out.clone(),
    };
    let opts = runner::Options {
        mode: args.mode(),
        cpu_size: args.cpu_size(),
        out,
        burn_in: args.duration,
        temp_limit_c: args.temp_limit_c,
        check: args.check,
        min_pct_of_peak: args.min_pct_of_peak,
        model,
        skip: args.skipped_phases(),
        sample_interval: Duration::from_millis(args.sample_interval_ms),
        require_gpu,
        gpus: (!args.gpus.is_empty()).then(|| args.gpus.clone()),
        command_line: std::env::args().collect(),
        cluster: cluster.clone(),
    };
    let cancel = interrupt();
    if let Some(e) = HANDLER_ERROR.get() {
        ctx.printer.note(&format!(
            "note: Ctrl-C will not stop the probe cleanly ({e})"
        ));
    }
    let bars = Bars {
        printer: ctx.printer,
        show: ctx.printer.show_progress(),
        bar: Mutex::new(None),
    };
    let mut result = probe::run(&opts, &catalog, &cancel, &bars)?;
    if let (Some(c), Some(dir)) = (&cluster, &args.out_dir) {
        if c.rank == 0 && c.nodes_count.unwrap_or(1) > 1 && !cancel.is_cancelled() {
            let nccl = cluster::cross_node(dir, c, &cancel, &bars, args.cluster_wait);
            if let Some(note) = &nccl.note {
                ctx.printer.note(note);
            }
            result.run.nccl_tests = Some(nccl);
            runfile::save(&result.run, &result.path)?;
        }
    }
    let run = &result.run;

    if ctx.json {
        ctx.printer.json(run)?;
    } else {
        ctx.printer.out(&summary(run));
        for line in skip_notes(run) {
            ctx.printer.note(&line);
        }
        if run.gpu_unavailable_reason.is_none() {
            for lib in run.libraries.iter().filter(|l| !l.found) {
                ctx.printer.note(&format!(
                    "{} not found: {}",
                    lib.name,
                    lib.note.as_deref().unwrap_or("")
                ));
            }
        }
        // The missing GPU was said once, as it happened; its finding would say it again.
        for f in run.findings.iter().filter(|f| f.code != "no-gpu") {
            let device = f
                .device
                .as_deref()
                .map(|d| format!("{d}: "))
                .unwrap_or_default();
            let severity = match f.severity {
                Severity::Info => "info",
                Severity::Warning => "warning",
                Severity::Error => "error",
            };
            ctx.printer
                .note(&format!("{severity} [{}] {device}{}", f.code, f.message));
        }
    }
    if run.tool.debug_build {
        ctx.printer
            .note("note: debug build; build with --release for representative CPU figures");
    }
    if run.interrupted {
        ctx.printer
            .note("interrupted: the phases that finished are saved (exit status 1)");
    }
    if result.saved {
        ctx.printer
            .note(&format!("saved {}", result.path.display()));
    } else {
        ctx.printer.note(&format!(
            "kept the previous run in {}: this run recorded no phase",
            result.path.display()
        ));
    }
    Ok(exit_status(run, args.check))
}

/// One row per measurement: the median time, the rate and its share of the catalog peak. A
/// phase that did not run is one row saying so; its reason follows the table ([`skip_notes`]).
fn summary(run: &ProbeRun) -> String {
    let mut t = new_table(&[
        "phase",
        "measurement",
        "dtype",
        "median",
        "rate",
        "%peak",
        "check",
    ]);
    let name = |p: &Phase| {
        if p.device == "cpu" {
            p.kind.name().to_owned()
        } else {
            format!("{} {}", p.kind.name(), p.device)
        }
    };
    let row = |phase: String, what: String| {
        let mut r = vec![phase, what];
        r.resize(7, String::new());
        r
    };
    // A run without a GPU gets one row for all GPU phases; the reason was printed once.
    if run.phases.iter().any(|p| p.device == "gpu") {
        t.add_row(row("GPU phases".into(), "none: no GPU".into()));
    }
    for p in run.phases.iter().filter(|p| p.device != "gpu") {
        if p.status == PhaseStatus::Skipped || p.results.is_empty() {
            t.add_row(row(name(p), format!("{:?}", p.status).to_lowercase()));
            continue;
        }
        for m in &p.results {
            let rate = if let Some(tok) = m.tokens_per_s {
                format!("{} tok/s", fmt_num(tok))
            } else if let Some(tf) = m.tflops {
                if tf < 1.0 {
                    format!("{} GFLOP/s", fmt_num(tf * 1e3))
                } else {
                    format!("{} TFLOP/s", fmt_num(tf))
                }
            } else if let Some(gb) = m.gb_per_s {
                format!("{} GB/s", fmt_num(gb))
            } else {
                String::new()
            };
            let median = m.median_s.map(fmt_seconds).unwrap_or_default();
            let pct = m
                .pct_of_peak
                .map(|p| format!("{p:.0} %"))
                .unwrap_or_default();
            let check = match m.check_passed {
                Some(true) => "ok".to_owned(),
                Some(false) => format!("FAILED ({:.1e})", m.max_rel_error.unwrap_or(f64::NAN)),
                None => String::new(),
            };
            t.add_row(vec![
                name(p),
                m.label.clone(),
                m.dtype.clone().unwrap_or_default(),
                median,
                rate,
                pct,
                check,
            ]);
        }
    }
    t.to_string()
}

/// Why each skipped phase did not run, one line each (failed phases are findings already).
fn skip_notes(run: &ProbeRun) -> Vec<String> {
    run.phases
        .iter()
        .filter(|p| p.device != "gpu" && p.status == PhaseStatus::Skipped)
        .map(|p| {
            format!(
                "skipped {}: {}",
                p.name,
                p.note.as_deref().unwrap_or("no reason recorded")
            )
        })
        .collect()
}

fn fmt_seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{} s", fmt_num(s))
    } else if s >= 1e-3 {
        format!("{} ms", fmt_num(s * 1e3))
    } else {
        format!("{} µs", fmt_num(s * 1e6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::schema::PhaseKind;
    use crate::probe::sim::{options, probe, Sim, SimGpu};

    /// The exit status without and with `--check`.
    fn status_of(sim: &Sim, edit: impl Fn(&mut runner::Options)) -> (ExitStatus, ExitStatus) {
        let dir = tempfile::tempdir().unwrap();
        let status = |check: bool| {
            let mut opts = options(dir.path());
            edit(&mut opts);
            opts.check = check;
            exit_status(&probe(sim, &opts).run, check)
        };
        (status(false), status(true))
    }

    #[test]
    fn exit_codes_follow_what_the_run_found() {
        use ExitStatus::{Failure, Success};
        let healthy = Sim::with(vec![SimGpu::h100()]);
        assert_eq!(status_of(&healthy, |_| {}), (Success, Success));
        // Thermal throttling is a warning: it fails only `--check`.
        let mut hot = SimGpu::h100();
        hot.throttle = vec!["sw_thermal_slowdown".into()];
        assert_eq!(status_of(&Sim::with(vec![hot]), |_| {}), (Success, Failure));
        // Wrong results and failed phases fail the run with or without `--check`.
        let mut wrong = SimGpu::h100();
        wrong.wrong = vec![PhaseKind::Attention];
        assert_eq!(
            status_of(&Sim::with(vec![wrong]), |_| {}),
            (Failure, Failure)
        );
        let mut broken = SimGpu::h100();
        broken.fails = vec![PhaseKind::Pcie];
        assert_eq!(
            status_of(&Sim::with(vec![broken]), |_| {}),
            (Failure, Failure)
        );
        // No GPU: fine for a plain probe, a failure when a burn-in or a check was asked for.
        let none = Sim::without_driver();
        assert_eq!(status_of(&none, |_| {}), (Success, Failure));
        let burn = |o: &mut runner::Options| o.burn_in = Some(Duration::from_secs(5));
        assert_eq!(status_of(&none, burn), (Failure, Failure));
        // An interrupted run is incomplete.
        let cancel = Cancel::new();
        let mut stopped = Sim::with(vec![SimGpu::h100()]);
        stopped.cancel_at = Some((PhaseKind::Memory, cancel));
        assert_eq!(status_of(&stopped, |_| {}), (Failure, Failure));
    }

    #[test]
    fn a_run_without_a_gpu_shows_one_row_for_the_gpu_phases() {
        let dir = tempfile::tempdir().unwrap();
        let none = Sim::without_driver();
        let run = probe(&none, &options(dir.path())).run;
        let text = summary(&run);
        let gpu_rows: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("none: no GPU"))
            .collect();
        assert_eq!(gpu_rows.len(), 1, "{text}");
        assert!(!text.contains("gpu_unavailable_reason"), "{text}");
        assert!(
            !text.contains("(simulated)"),
            "the reason is printed once, as a note: {text}"
        );
    }
}
