//! `llmrig build check`: reads a parts list (TOML file and/or flags), checks it against the
//! catalog and prints the verdict. Exit 0 when nothing blocks the build, 1 when a conflict
//! does, 2 on bad input.
use super::{Context, ExitStatus};
use crate::cli::{BuildCommand, CheckArgs};
use crate::plan::check::{self, PartsList};
use anyhow::Context as _;
use std::path::Path;

/// Largest parts list read: a real one is under 2 KB.
const MAX_FILE_BYTES: u64 = 1 << 20;

pub fn run(ctx: &Context, cmd: BuildCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        BuildCommand::Check(args) => check(ctx, &args),
    }
}

/// Parses a parts list, naming the file, the entry and the field of any mistake.
fn read_list(path: &Path) -> anyhow::Result<PartsList> {
    let shown = path.display();
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading '{shown}'"))?
        .len();
    anyhow::ensure!(
        len <= MAX_FILE_BYTES,
        "'{shown}' is {len} bytes: a parts list is a small TOML file"
    );
    let text = std::fs::read_to_string(path).with_context(|| format!("reading '{shown}'"))?;
    parse_list(&text).with_context(|| format!("parts list '{shown}'"))
}

/// The list in `text`; an error names its line, entry and field.
fn parse_list(text: &str) -> anyhow::Result<PartsList> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner
            .span()
            .map(|s| {
                format!(
                    "line {}: ",
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                )
            })
            .unwrap_or_default();
        let message = inner.message().trim().replace('\n', "; ");
        match path.split_once('.') {
            _ if path == "." => anyhow::anyhow!("{line}{message}"),
            Some((entry, field)) => {
                anyhow::anyhow!("{line}entry '{entry}', field '{field}': {message}")
            }
            None => anyhow::anyhow!("{line}entry '{path}': {message}"),
        }
    })
}

fn check(ctx: &Context, args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let cat = ctx.catalog()?;
    let (file_list, file) = match &args.file {
        Some(path) => (read_list(path)?, path.display().to_string()),
        None => (PartsList::default(), "the command line".to_owned()),
    };
    let list = file_list.overlaid(args.list());
    anyhow::ensure!(
        list != PartsList::default(),
        "no parts: give a parts list file (examples/article-4x-v100.toml) or --board, --gpu, --psu, …"
    );
    let today = super::plan::today();
    let result = check::check_list(&cat, &list, &file, Some(&today)).with_context(|| {
        format!(
            "checking {}",
            if args.file.is_some() {
                format!("'{file}'")
            } else {
                file.clone()
            }
        )
    })?;
    if ctx.json {
        ctx.printer.json(&result)?;
    } else if ctx.printer.quiet {
        ctx.printer
            .out(&crate::report::build_check::verdict_line(&result));
    } else {
        ctx.printer.out(&crate::report::build_check::to_text(
            &result,
            ctx.printer.width(),
        ));
    }
    Ok(if result.passes {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

#[cfg(test)]
mod tests {
    use super::parse_list;

    #[test]
    fn a_bad_field_names_its_entry_and_field() {
        let err = parse_list("gpu = { id = \"v100\", quantity = \"four\" }").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("entry 'gpu', field 'quantity'"), "{msg}");
        let err = parse_list("bord = \"x\"").unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown field `bord`"),
            "{err:#}"
        );
        let err = parse_list("gpu = { id = \"v100\", qty = 4 }").unwrap_err();
        assert!(format!("{err:#}").contains("entry 'gpu'"), "{err:#}");
        let list = parse_list("gpu = \"4xv100\"\ncase = { name = \"my own case\" }").unwrap();
        assert_eq!(list.gpu.unwrap().spec().quantity, Some(4));
    }
}
