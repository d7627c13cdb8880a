//! `wharf offer …`: offers as code.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;
use wharf_offer::media::{self, MAX_IMAGE_BYTES};
use wharf_offer::parse::{Format as Syntax, parse};
use wharf_offer::rules::{self, Context, Stage};
use wharf_offer::{FieldPath, OfferSpec, Problems, Severity};

use super::{EXIT_FAILED, Failure, OutputArgs};
use crate::output::{self, Format};

/// Arguments of `wharf offer`.
#[derive(Debug, Args)]
pub struct OfferArgs {
    #[command(subcommand)]
    command: OfferCommand,
}

#[derive(Debug, Subcommand)]
enum OfferCommand {
    /// Write a commented starter offer file.
    Init(InitArgs),
    /// Check an offer file offline against every rule the server applies at submission
    /// (except those needing the server's data: categories, repositories and tags,
    /// tenants). Exit code 0 when it has no errors, 1 when it has.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
struct InitArgs {
    /// The offer id.
    #[arg(long, default_value = "example-db")]
    id: String,
    /// The publisher organization.
    #[arg(long, default_value = "example")]
    publisher: String,
    /// The file to write.
    #[arg(long, short = 'f', default_value = "offer.yaml")]
    file: PathBuf,
    /// The Wharf whose JSON Schema editors should use (the stored login's server by default).
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Overwrite the file if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// The offer file (YAML).
    file: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// Runs `wharf offer …`.
pub async fn run(args: OfferArgs) -> Result<(), Failure> {
    match args.command {
        OfferCommand::Init(a) => init(a),
        OfferCommand::Validate(a) => validate(a),
    }
}

fn init(args: InitArgs) -> Result<(), Failure> {
    let mut problems = Problems::new();
    if let Err(e) = args.id.parse::<wharf_offer::OfferId>() {
        problems.error(&FieldPath::root().key("id"), e);
    }
    if let Err(e) = args.publisher.parse::<wharf_core::OrgName>() {
        problems.error(&FieldPath::root().key("publisher"), e.to_string());
    }
    if let Some(p) = problems.all().first() {
        return Err(Failure::new(super::EXIT_USAGE, format!("--{}: {}", p.path, p.message)));
    }
    let server = args
        .server
        .or_else(|| super::client::stored_server().ok().flatten())
        .unwrap_or_else(|| "http://127.0.0.1:5000".to_owned());
    if args.file.exists() && !args.force {
        return Err(Failure::new(EXIT_FAILED, format!("{} exists; pass --force to overwrite it", args.file.display())));
    }
    let text = wharf_offer::template::starter(&args.id, &args.publisher, &server);
    std::fs::write(&args.file, text)
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot write {}: {e}", args.file.display())))?;
    output::line(format!("wrote {}", args.file.display()));
    output::line("next: add the four icons it names under media/, then `wharf offer validate` it");
    Ok(())
}

/// One problem as `--output json` shows it.
#[derive(Debug, Serialize)]
struct ProblemView {
    /// Dotted path, as in the YAML file.
    path: String,
    /// The same, as a JSON Pointer.
    pointer: String,
    severity: Severity,
    message: String,
}

#[derive(Debug, Serialize)]
struct ValidationView {
    file: String,
    valid: bool,
    errors: usize,
    warnings: usize,
    problems: Vec<ProblemView>,
}

fn validate(args: ValidateArgs) -> Result<(), Failure> {
    let problems = check_file(&args.file)?;
    let errors = problems.errors().count();
    let warnings = problems.all().len() - errors;
    match args.output.output {
        Format::Json => output::json(&ValidationView {
            file: args.file.display().to_string(),
            valid: errors == 0,
            errors,
            warnings,
            problems: problems
                .all()
                .iter()
                .map(|p| ProblemView {
                    path: p.path.to_string(),
                    pointer: p.path.pointer(),
                    severity: p.severity,
                    message: p.message.clone(),
                })
                .collect(),
        }),
        Format::Human => {
            for p in problems.all() {
                output::line(p);
            }
            output::line(format!(
                "{}: {}",
                args.file.display(),
                match (errors, warnings) {
                    (0, 0) => "valid".to_owned(),
                    (0, w) => format!("valid, {w} warning{}", plural(w)),
                    (e, w) => format!("{e} error{}, {w} warning{}", plural(e), plural(w)),
                }
            ));
        }
    }
    if errors > 0 {
        return Err(Failure::silent(EXIT_FAILED));
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Reads and checks an offer file and the media it names, offline.
pub(crate) fn check_file(file: &Path) -> Result<Problems, Failure> {
    let bytes =
        std::fs::read(file).map_err(|e| Failure::new(EXIT_FAILED, format!("cannot read {}: {e}", file.display())))?;
    let (spec, mut problems) = match parse::<OfferSpec>(&bytes, Syntax::Yaml) {
        Ok(v) => v,
        Err(p) => return Ok(p),
    };
    let ctx = Context { categories: None, media_paths_allowed: true };
    let found = rules::check(&spec, &ctx, Stage::Submit);
    // Media whose reference broke a rule were reported; the others are read and checked.
    let bad: Vec<FieldPath> = found.all().iter().map(|p| p.path.clone()).collect();
    problems.extend(found);
    let dir = file.parent().unwrap_or(Path::new("."));
    for (path, reference, slot) in rules::media_refs(&spec) {
        if bad.contains(&path) || reference.starts_with("sha256:") {
            continue;
        }
        let full = dir.join(reference);
        match std::fs::metadata(&full) {
            Err(e) => problems.error(&path, format!("cannot read {}: {e}", full.display())),
            Ok(m) if m.len() > MAX_IMAGE_BYTES as u64 => problems.error(
                &path,
                format!("{} is {} bytes; an image may have at most {MAX_IMAGE_BYTES} bytes", full.display(), m.len()),
            ),
            Ok(_) => match std::fs::read(&full) {
                Err(e) => problems.error(&path, format!("cannot read {}: {e}", full.display())),
                Ok(b) => {
                    if let Err(e) = media::check(&b, slot) {
                        problems.error(&path, format!("{} {e}", full.display()));
                    }
                }
            },
        }
    }
    Ok(problems)
}
