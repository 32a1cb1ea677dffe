//! `llmrig plan` and `llmrig compare`.
use super::source::{self, Named};
use super::{Context, ExitStatus};
use crate::catalog::{Catalog, Gpu, Model};
use crate::cli::{CompareArgs, PlanArgs, PlanFormat, PlanOptions};
use crate::plan::{self, sweep, Plan, SortKey};
use crate::report::plan::{self as text, View};
use anyhow::Context as _;
use std::borrow::Cow;

/// The model named on the command line and the exact weight bytes its files give, if any:
/// a local path or a Hugging Face repo is imported, anything else is a catalog id or alias
/// (precedence in `source`).
/// A catalog model is borrowed, so it keeps the figures it has computed once.
fn resolve_model<'c>(
    ctx: &Context,
    cat: &'c Catalog,
    name: &str,
    offline: bool,
) -> anyhow::Result<(Cow<'c, Model>, Option<f64>)> {
    let imported = match source::classify(name, Some(cat))? {
        Named::Catalog => return Ok((Cow::Borrowed(cat.models.resolve(name)?), None)),
        Named::Path(path) => crate::import::import(path)?,
        Named::Hub { r, forced } => source::import_hub(Some(cat), &r, forced, offline)?.0,
    };
    source::print_notes(ctx, &imported);
    let exact = imported.weights.as_ref().map(|w| w.bytes as f64);
    let model = imported.model.ok_or_else(|| {
        anyhow::anyhow!(
            "'{name}' holds weights but no architecture: point --model at a directory or repo with config.json"
        )
    })?;
    Ok((Cow::Owned(model), exact))
}

fn request(
    cat: &Catalog,
    opts: &PlanOptions,
    model: &Model,
    exact: Option<f64>,
) -> anyhow::Result<plan::PlanRequest> {
    let mut req = opts.request(model.max_position_embeddings);
    if let Some(name) = req.electricity.take() {
        // An id or a region, else the catalog's lookup (fragments, near names).
        let id = match plan::tariff(cat, Some(&name)) {
            Some(e) => e.id.clone(),
            None => cat
                .electricity
                .resolve(&name)
                .map_err(|e| {
                    anyhow::anyhow!("{e} ('llmrig parts electricity' lists tariffs and regions)")
                })?
                .id
                .clone(),
        };
        req.electricity = Some(id);
    }
    if opts.precision.is_none() {
        req.weights = plan::format::default_weights(model, req.workload);
    }
    req.prices_as_of.get_or_insert_with(today);
    // Exact file bytes describe the file's own format; they replace the estimate only then.
    let native = opts
        .precision
        .is_none_or(|p| Some(p) == model.native_format);
    if native && !req.is_training() {
        req.exact_weight_bytes = exact;
    }
    plan::check(model, &req)?;
    Ok(req)
}

fn emit(ctx: &Context, opts: &PlanOptions, plan: &Plan, all: bool) -> anyhow::Result<()> {
    // A bad --chart name fails before --out is written, so a failed command leaves no file.
    if let Some(path) = &opts.chart {
        crate::report::chart::chart_format_is_png(path)?;
    }
    if let Some(path) = &opts.out {
        let json = serde_json::to_vec_pretty(plan)?;
        crate::fsutil::write_atomic(path, &json)
            .with_context(|| format!("writing '{}'", path.display()))?;
        ctx.printer.note(&format!("wrote {}", path.display()));
    }
    if let Some(path) = &opts.chart {
        crate::report::chart::plan_chart_file(plan, path)
            .with_context(|| format!("drawing '{}'", path.display()))?;
        ctx.printer.note(&format!("wrote {}", path.display()));
    }
    let format = if ctx.json {
        PlanFormat::Json
    } else {
        opts.format.unwrap_or(PlanFormat::Table)
    };
    let view = View {
        width: ctx.printer.width(),
        all,
        explain: opts.explain,
    };
    match format {
        PlanFormat::Json => ctx.printer.json(plan)?,
        PlanFormat::Markdown => ctx.printer.out(&text::to_markdown(plan, &view)),
        // `-q` keeps the answer and drops the tables.
        PlanFormat::Table if ctx.printer.quiet => {
            ctx.printer.out(&text::answer_text(plan, view.width))
        }
        PlanFormat::Table => ctx.printer.out(&text::to_text(plan, &view)),
    }
    Ok(())
}

/// Today's date, `YYYY-MM-DD` (UTC), for price ages.
pub(super) fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// What a sweep keeps as the user gave it.
fn fixed(opts: &PlanOptions) -> sweep::Fixed {
    sweep::Fixed {
        engine: opts.engine.is_some(),
        kv: opts.kv_precision.is_some(),
    }
}

/// `--sweep formats` is an inference question: training's weights follow `--workload`.
fn check_sweep(opts: &PlanOptions, req: &plan::PlanRequest) -> anyhow::Result<()> {
    if opts.sweep == Some(sweep::SweepKind::Formats) && req.is_training() {
        anyhow::bail!(
            "--sweep formats is for inference: a training run's weights follow --workload (qlora: nf4-dq); sweep context or batch instead"
        );
    }
    Ok(())
}

fn status(plan: &Plan) -> ExitStatus {
    if plan.options.iter().any(|o| o.fits) {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}

pub fn plan(ctx: &Context, args: PlanArgs) -> anyhow::Result<ExitStatus> {
    let cat = ctx.catalog()?;
    let (model, exact) = resolve_model(ctx, &cat, &args.options.model, args.options.offline)?;
    let mut req = request(&cat, &args.options, &model, exact)?;
    if let Some(n) = args.users {
        req.batch = n;
    }
    check_sweep(&args.options, &req)?;
    let gpus: Vec<&Gpu> = if args.gpu.is_empty() {
        cat.gpus.iter().collect()
    } else {
        args.gpu
            .iter()
            .map(|g| cat.gpus.resolve(g))
            .collect::<Result<_, _>>()?
    };
    let mut plan =
        plan::plan(&cat, &model, &req, &gpus).sorted(args.options.sort.unwrap_or(SortKey::Price));
    let target = match (args.target_tokens_per_s, args.target_days) {
        (Some(x), _) if req.is_training() => {
            anyhow::bail!("--target-tokens-per-s {x} is an inference target: use --target-days with --workload train")
        }
        (Some(x), _) => Some(plan::target::Target::DecodeTokensPerS(x)),
        (None, Some(d)) if !req.is_training() => {
            anyhow::bail!(
                "--target-days {d} is a training target: add --workload train (or lora, qlora)"
            )
        }
        (None, Some(d)) => Some(plan::target::Target::TrainingDays(d)),
        (None, None) => args.users.map(plan::target::Target::Users),
    };
    if let Some(t) = target {
        plan.target = Some(plan::target::search(&cat, &model, &req, &plan.options, t));
    }
    if let Some(kind) = args.options.sweep {
        // The recommended build, else the cheapest fit, is the rig to sweep.
        let swept = plan
            .recommendation()
            .or_else(|| plan.options.iter().find(|o| o.fits));
        match swept.and_then(|o| Some((o, o.layout?))) {
            Some((o, l)) => {
                let gpu = cat.gpus.resolve(&o.gpu_id)?;
                let shape = plan::Shape::nodes(l.nodes, l.gpus_per_node);
                let s = sweep::sweep(&cat, &model, &req, fixed(&args.options), shape, gpu, kind);
                plan.sweeps.push(s);
            }
            None => ctx.printer.note(
                "--sweep: nothing fits, so there is no build to sweep (try compare -o RIG --sweep)",
            ),
        }
    }
    emit(ctx, &args.options, &plan, args.all)?;
    let status = status(&plan);
    if status == ExitStatus::Failure {
        ctx.printer.note(&format!(
            "{} does not fit on any GPU considered (see 'why not')",
            model.id
        ));
    }
    Ok(status)
}

pub fn compare(ctx: &Context, args: CompareArgs) -> anyhow::Result<ExitStatus> {
    let cat = ctx.catalog()?;
    let (model, exact) = resolve_model(ctx, &cat, &args.options.model, args.options.offline)?;
    let req = request(&cat, &args.options, &model, exact)?;
    check_sweep(&args.options, &req)?;
    let options: Vec<(plan::Shape, &Gpu)> = args
        .options_list
        .iter()
        .map(|(n, g)| Ok((*n, cat.gpus.resolve(g)?)))
        .collect::<anyhow::Result<_>>()?;
    let mut plan = plan::compare_shapes(&cat, &model, &req, &options);
    // Each rig is swept on request, and by formats when it cannot hold an inference request.
    for (i, &(shape, gpu)) in options.iter().enumerate() {
        let unfit = !plan.options[i].fits && !req.is_training();
        let kind = match args.options.sweep {
            Some(k) => k,
            None if unfit => sweep::SweepKind::Formats,
            None => continue,
        };
        let s = sweep::sweep(&cat, &model, &req, fixed(&args.options), shape, gpu, kind);
        plan.sweeps.push(s);
    }
    if let Some(key) = args.options.sort {
        plan = plan.sorted(key);
    }
    emit(ctx, &args.options, &plan, true)?;
    Ok(status(&plan))
}
