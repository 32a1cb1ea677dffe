//! `llmrig probe`: runs the probe, draws progress, prints the summary and maps findings to the
//! exit status.
use super::{Context, ExitStatus};
use crate::cli::ProbeArgs;
use crate::output::Printer;
use crate::probe::schema::{Phase, PhaseStatus, ProbeRun, Severity};
use crate::probe::{self, runner, Cancel, Observer};
use crate::report::table::{fmt_num, new_table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
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

pub fn run(ctx: &Context, args: ProbeArgs) -> anyhow::Result<ExitStatus> {
    let catalog = ctx.catalog()?;
    let model = match &args.model {
        Some(query) => Some(catalog.models.resolve(query)?.clone()),
        None => None,
    };
    let require_gpu = std::env::var(REQUIRE_GPU_ENV).is_ok_and(|v| v == "1");
    let opts = runner::Options {
        mode: args.mode(),
        cpu_size: args.cpu_size(),
        out: args.out.clone(),
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
    };
    let cancel = Cancel::new();
    let on_signal = cancel.clone();
    if let Err(e) = ctrlc::set_handler(move || on_signal.cancel()) {
        ctx.printer.note(&format!(
            "note: Ctrl-C will not stop the probe cleanly ({e})"
        ));
    }
    let bars = Bars {
        printer: ctx.printer,
        show: ctx.printer.show_progress(),
        bar: Mutex::new(None),
    };
    let result = probe::run(&opts, &catalog, &cancel, &bars)?;
    let run = &result.run;

    if ctx.json {
        ctx.printer.json(run)?;
    } else {
        ctx.printer.out(&summary(run));
        for lib in run.libraries.iter().filter(|l| !l.found) {
            ctx.printer.note(&format!(
                "{} not found: {}",
                lib.name,
                lib.note.as_deref().unwrap_or("")
            ));
        }
        for f in &run.findings {
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
    ctx.printer
        .note(&format!("saved {}", result.path.display()));
    // An interrupted run is incomplete, and `--check` found a problem: both answer "no".
    Ok(
        if run.interrupted || (args.check && runner::check_failed(run)) {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        },
    )
}

/// One row per measurement: the median time, the rate and its share of the catalog peak.
fn summary(run: &ProbeRun) -> String {
    let mut t = new_table(&[
        "device",
        "phase",
        "measurement",
        "dtype",
        "median",
        "rate",
        "% peak",
        "check",
    ]);
    for p in &run.phases {
        if p.status == PhaseStatus::Skipped || p.results.is_empty() {
            let why = p.note.as_deref().unwrap_or("");
            t.add_row(vec![
                p.device.clone(),
                p.kind.name().to_owned(),
                format!("{:?}: {why}", p.status).to_lowercase(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
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
                p.device.clone(),
                p.kind.name().to_owned(),
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

fn fmt_seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{} s", fmt_num(s))
    } else if s >= 1e-3 {
        format!("{} ms", fmt_num(s * 1e3))
    } else {
        format!("{} µs", fmt_num(s * 1e6))
    }
}
