//! `wharf offer …`: offers as code.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;
use wharf_api_types::OfferView;
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
    /// Show what `apply` would change in the offer's draft on the server.
    Plan(FileArgs),
    /// Save an offer file as the offer's draft (creating the offer if needed),
    /// uploading the media it names. Applying the same file again changes nothing.
    Apply(FileArgs),
    /// Submit the draft: validate every prerequisite and freeze it as a new version.
    Submit(OfferRef),
    /// The offer's state and versions, the newest version's steps and promoted images.
    /// With --watch, follows the newest version until it settles: exit code 0 in
    /// Preview or Live, 1 at Attention needed (or cancelled).
    Status(StatusArgs),
    /// The publisher's sign-off: the version in preview goes live (publisher admins).
    #[command(disable_version_flag = true)]
    GoLive(GoLiveArgs),
    /// The draft (or a version) as YAML.
    #[command(disable_version_flag = true)]
    Show(ShowArgs),
    /// A version's certification report (JSON): every finding with its evidence.
    #[command(disable_version_flag = true)]
    Report(ReportArgs),
    /// A version's CycloneDX SBOM (JSON), as certification recorded it.
    #[command(disable_version_flag = true)]
    Sbom(SbomArgs),
    /// An organization's offers.
    List(ListArgs),
    /// The draft against the live version (or preview, or a version number).
    Compare(CompareArgs),
    /// Who did what to the offer, and when.
    History(OfferRef),
    /// Stop selling the offer (or one plan) to new customers.
    StopSell(PlanRef),
    /// Sell a stop-sold offer (or plan) again.
    Resume(PlanRef),
    /// Cancel the version being published, before sign-off.
    Cancel(OfferRef),
}

#[derive(Debug, Args)]
struct FileArgs {
    /// The offer file (YAML).
    file: PathBuf,
    /// Server URL (default: the stored login's).
    #[arg(long, env = "WHARF_URL")]
    server: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct OfferRef {
    /// The offer, as ORG/OFFER.
    offer: String,
    /// Server URL (default: the stored login's).
    #[arg(long, env = "WHARF_URL")]
    server: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct StatusArgs {
    #[command(flatten)]
    offer: OfferRef,
    /// Follow the newest version through the pipeline until it settles, with progress
    /// bars (or, with --output json, one JSON event per line).
    #[arg(long)]
    watch: bool,
}

#[derive(Debug, Args)]
struct GoLiveArgs {
    #[command(flatten)]
    offer: OfferRef,
    /// The version (default: the one in preview).
    #[arg(long)]
    version: Option<i64>,
    /// Then follow it until it is live.
    #[arg(long)]
    watch: bool,
}

#[derive(Debug, Args)]
struct PlanRef {
    #[command(flatten)]
    offer: OfferRef,
    /// Only this plan.
    #[arg(long)]
    plan: Option<String>,
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    offer: OfferRef,
    /// A submitted version instead of the draft.
    #[arg(long)]
    version: Option<u32>,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// The offer, as ORG/OFFER.
    offer: String,
    /// The version (default: the newest).
    #[arg(long)]
    version: Option<u32>,
    /// Server URL (default: WHARF_URL, or the last server logged in to).
    #[arg(long, env = "WHARF_URL")]
    server: Option<String>,
}

#[derive(Debug, Args)]
struct SbomArgs {
    /// The offer, as ORG/OFFER.
    offer: String,
    /// The version (default: the newest).
    #[arg(long)]
    version: Option<u32>,
    /// The platform, e.g. linux/arm64 (default: the only one; required when there are several).
    #[arg(long)]
    platform: Option<String>,
    /// Server URL (default: WHARF_URL, or the last server logged in to).
    #[arg(long, env = "WHARF_URL")]
    server: Option<String>,
}

#[derive(Debug, Args)]
struct CompareArgs {
    #[command(flatten)]
    offer: OfferRef,
    /// `live`, `preview` or a version number.
    #[arg(long, default_value = "live")]
    with: String,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// The publisher organization.
    org: String,
    /// Server URL (default: the stored login's).
    #[arg(long, env = "WHARF_URL")]
    server: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
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
        OfferCommand::Plan(a) => plan(a, false).await,
        OfferCommand::Apply(a) => plan(a, true).await,
        OfferCommand::Submit(a) => submit(a).await,
        OfferCommand::Status(a) => status(a).await,
        OfferCommand::GoLive(a) => {
            let (org, id) = split(&a.offer.offer)?;
            let client = super::client::connect(a.offer.server.as_deref())?;
            super::publish::go_live(&client, &org, &id, a.version, a.watch, a.offer.output.output).await
        }
        OfferCommand::Show(a) => show(a).await,
        OfferCommand::Report(a) => report(a).await,
        OfferCommand::Sbom(a) => sbom(a).await,
        OfferCommand::List(a) => list(a).await,
        OfferCommand::Compare(a) => compare(a).await,
        OfferCommand::History(a) => history(a).await,
        OfferCommand::StopSell(a) => selling(a, true).await,
        OfferCommand::Resume(a) => selling(a, false).await,
        OfferCommand::Cancel(a) => cancel(a).await,
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
    let problems = check_file(&args.file)?.problems;
    print_problems(&args.file, &problems, args.output.output);
    if problems.has_errors() {
        return Err(Failure::silent(EXIT_FAILED));
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// An offer file read and checked offline.
pub(crate) struct CheckedFile {
    /// The document, when it parsed.
    spec: Option<OfferSpec>,
    /// Media files read (and found valid), by the reference the file uses.
    media: Vec<(String, PathBuf, Vec<u8>)>,
    /// Every problem.
    problems: Problems,
}

/// Reads and checks an offer file and the media it names, offline.
pub(crate) fn check_file(file: &Path) -> Result<CheckedFile, Failure> {
    let bytes =
        std::fs::read(file).map_err(|e| Failure::new(EXIT_FAILED, format!("cannot read {}: {e}", file.display())))?;
    let (spec, mut problems) = match parse::<OfferSpec>(&bytes, Syntax::Yaml) {
        Ok(v) => v,
        Err(problems) => return Ok(CheckedFile { spec: None, media: Vec::new(), problems }),
    };
    let ctx = Context { categories: None, media_paths_allowed: true };
    let found = rules::check(&spec, &ctx, Stage::Submit);
    // Media whose reference broke a rule were reported; the others are read and checked.
    let bad: Vec<FieldPath> = found.all().iter().map(|p| p.path.clone()).collect();
    problems.extend(found);
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut media = Vec::new();
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
                Ok(b) => match media::check(&b, slot) {
                    Err(e) => problems.error(&path, format!("{} {e}", full.display())),
                    Ok(_) => media.push((reference.to_owned(), full, b)),
                },
            },
        }
    }
    Ok(CheckedFile { spec: Some(spec), media, problems })
}

// ---- against a server ----

fn split(offer: &str) -> Result<(String, String), Failure> {
    match offer.split_once('/') {
        Some((org, id)) if !org.is_empty() && !id.is_empty() && !id.contains('/') => {
            Ok((org.to_owned(), id.to_owned()))
        }
        _ => Err(Failure::new(
            super::EXIT_USAGE,
            format!("{offer:?}: name the offer as ORG/OFFER, e.g. contoso/example-db"),
        )),
    }
}

/// A media file named by the offer file, read and hashed.
struct MediaFile {
    reference: String,
    path: PathBuf,
    bytes: Vec<u8>,
    digest: String,
}

/// Reads and checks an offer file; fails (printing every problem) when it has errors.
/// Returns the document as the server will store it (media named by digest) and
/// the media files to upload.
fn load(file: &Path, format: Format) -> Result<(OfferSpec, Vec<MediaFile>, Problems), Failure> {
    let checked = check_file(file)?;
    let (Some(mut spec), false) = (checked.spec, checked.problems.has_errors()) else {
        print_problems(file, &checked.problems, format);
        return Err(Failure::silent(EXIT_FAILED));
    };
    let media: Vec<MediaFile> = checked
        .media
        .into_iter()
        .map(|(reference, path, bytes)| {
            let digest = wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, &bytes).to_string();
            MediaFile { reference, path, bytes, digest }
        })
        .collect();
    let by_digest = |slot: &mut Option<String>| {
        if let Some(m) = slot.as_deref().and_then(|r| media.iter().find(|m| m.reference == r)) {
            *slot = Some(m.digest.clone());
        }
    };
    for (_, slot) in spec.media.icons.slots_mut() {
        by_digest(slot);
    }
    for shot in &mut spec.media.screenshots {
        by_digest(&mut shot.image);
    }
    Ok((spec, media, checked.problems))
}

fn print_problems(file: &Path, problems: &Problems, format: Format) {
    let errors = problems.errors().count();
    let warnings = problems.all().len() - errors;
    match format {
        Format::Json => output::json(&ValidationView {
            file: file.display().to_string(),
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
                file.display(),
                match (errors, warnings) {
                    (0, 0) => "valid".to_owned(),
                    (0, w) => format!("valid, {w} warning{}", plural(w)),
                    (e, w) => format!("{e} error{}, {w} warning{}", plural(e), plural(w)),
                }
            ));
        }
    }
}

/// What `wharf offer plan -o json` prints.
#[derive(Serialize)]
struct PlanView<'a> {
    offer: &'a str,
    exists: bool,
    changes: &'a [wharf_offer::diff::Change],
}

/// What `wharf offer apply -o json` prints.
#[derive(Serialize)]
struct ApplyView<'a> {
    offer: &'a str,
    changed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    revision: Option<i64>,
    changes: &'a [wharf_offer::diff::Change],
    #[serde(skip_serializing_if = "Option::is_none")]
    warnings: Option<&'a [wharf_api_types::FieldError]>,
}

/// The document as the server shows it: the lead secret as its SHA-256.
fn redacted(spec: &OfferSpec) -> serde_json::Value {
    as_json(&spec.clone().redacted())
}

/// A document as JSON, for comparing field by field.
fn as_json(spec: &OfferSpec) -> serde_json::Value {
    serde_json::to_value(spec).unwrap_or_default()
}

fn show_change(c: &wharf_offer::diff::Change) -> String {
    let short = |v: &Option<serde_json::Value>| {
        let text = v.as_ref().map(ToString::to_string).unwrap_or_default();
        if text.chars().count() > 60 { format!("{}…", text.chars().take(59).collect::<String>()) } else { text }
    };
    match c.kind {
        wharf_offer::diff::ChangeKind::Added => format!("  + {}: {}", c.path, short(&c.after)),
        wharf_offer::diff::ChangeKind::Removed => format!("  - {}: {}", c.path, short(&c.before)),
        wharf_offer::diff::ChangeKind::Changed => format!("  ~ {}: {} → {}", c.path, short(&c.before), short(&c.after)),
    }
}

async fn plan(args: FileArgs, apply: bool) -> Result<(), Failure> {
    let format = args.output.output;
    let (spec, media, problems) = load(&args.file, format)?;
    let (Some(org), Some(id)) = (spec.publisher.clone(), spec.id.clone()) else {
        return Err(Failure::new(EXIT_FAILED, "the offer file needs id and publisher"));
    };
    let client = super::client::connect(args.server.as_deref())?;
    let existing = client.offer_draft(&org, &id).await?;
    let local = redacted(&spec);
    let changes = match &existing {
        Some((doc, _)) => wharf_offer::diff::diff(&as_json(doc), &local),
        None => wharf_offer::diff::diff(&serde_json::json!({}), &local),
    };
    let name = format!("{org}/{id}");
    if !apply {
        match format {
            Format::Json => output::json(&PlanView { offer: &name, exists: existing.is_some(), changes: &changes }),
            Format::Human => {
                match (&existing, changes.len()) {
                    (None, _) => output::line(format!("offer {name} does not exist: apply creates it")),
                    (Some(_), 0) => output::line(format!("offer {name}: no changes")),
                    (Some(_), n) => output::line(format!("offer {name}: {n} change{}", plural(n))),
                }
                if existing.is_some() {
                    for c in &changes {
                        output::line(show_change(c));
                    }
                }
            }
        }
        return Ok(());
    }
    if existing.is_some() && changes.is_empty() {
        match format {
            Format::Json => {
                output::json(&ApplyView { offer: &name, changed: false, revision: None, changes: &[], warnings: None })
            }
            Format::Human => output::line(format!("offer {name}: no changes")),
        }
        return Ok(());
    }
    // Images the draft on the server names by digest were uploaded before.
    let known: std::collections::BTreeSet<&str> = existing.iter().flat_map(|(doc, _)| doc.media.images()).collect();
    for m in &media {
        if known.contains(m.digest.as_str()) {
            continue;
        }
        let info = client.upload_media(&org, m.bytes.clone()).await?;
        if info.digest != m.digest {
            return Err(Failure::new(
                EXIT_FAILED,
                format!("{}: the server stored {} for {}", m.path.display(), info.digest, m.digest),
            ));
        }
        if format == Format::Human {
            output::line(format!("uploaded {} ({}×{}, {})", m.path.display(), info.width, info.height, info.digest));
        }
    }
    let saved = match &existing {
        None => client.create_offer(&org, &spec).await?,
        Some((_, etag)) => client.put_offer_draft(&org, &id, &spec, etag).await?,
    };
    match format {
        Format::Json => output::json(&ApplyView {
            offer: &name,
            changed: saved.changed,
            revision: Some(saved.revision),
            changes: &changes,
            warnings: Some(&saved.warnings),
        }),
        Format::Human => {
            let verb = if existing.is_none() { "created" } else { "updated" };
            output::line(format!(
                "{verb} offer {name}: {} change{} (draft revision {})",
                changes.len(),
                plural(changes.len()),
                saved.revision
            ));
            for p in problems.all() {
                output::line(p);
            }
            for w in &saved.warnings {
                output::line(format!("warning: {}: {}", w.pointer, w.detail));
            }
        }
    }
    Ok(())
}

async fn submit(args: OfferRef) -> Result<(), Failure> {
    let (org, id) = split(&args.offer)?;
    let client = super::client::connect(args.server.as_deref())?;
    let result = client.submit_offer(&org, &id).await?;
    match args.output.output {
        Format::Json => output::json(&result),
        Format::Human => {
            output::line(format!(
                "submitted {org}/{id} as version {} ({}); prerequisites validated in {} ms",
                result.version.version, result.state, result.validated_in_ms
            ));
            for w in &result.warnings {
                output::line(format!("warning: {}: {}", w.pointer, w.detail));
            }
        }
    }
    Ok(())
}

fn print_offer(view: &OfferView, format: Format) {
    match format {
        Format::Json => output::json(view),
        Format::Human => {
            output::line(format!(
                "{}/{}: {} (draft revision {})",
                view.publisher, view.id, view.state_label, view.revision
            ));
            if !view.stopped_plans.is_empty() {
                output::line(format!("stop-sold plans: {}", view.stopped_plans.join(", ")));
            }
            output::rows(Format::Human, &view.versions, &["version", "status", "submitted by", "submitted at"], |v| {
                vec![v.version.to_string(), v.status.to_string(), v.submitted_by.clone(), v.submitted_at.to_string()]
            });
        }
    }
}

async fn status(args: StatusArgs) -> Result<(), Failure> {
    let (org, id) = split(&args.offer.offer)?;
    let client = super::client::connect(args.offer.server.as_deref())?;
    let view = client.offer(&org, &id).await?;
    let format = args.offer.output.output;
    if args.watch {
        let newest = view
            .versions
            .first()
            .ok_or_else(|| Failure::new(EXIT_FAILED, format!("{org}/{id} has no submitted version to watch")))?;
        return super::publish::watch(&client, &org, &id, newest.version, format).await;
    }
    print_offer(&view, format);
    // The newest version's pipeline steps and what packaging promoted.
    if format == Format::Human
        && let Some(newest) = view.versions.first()
    {
        for step in client.version_steps(&org, &id, newest.version).await? {
            output::line(super::publish::step_line(&step));
        }
        for image in client.promoted_images(&org, &id, newest.version).await? {
            let signed = if image.signature.is_some() { "signed" } else { "not signed yet" };
            output::line(format!("{} ({}, plan {}, {signed})", image.reference, image.digest, image.plan));
        }
        if let Some(h) = client.version_health(&org, &id, newest.version).await? {
            output::line(format!("health: {} ({})", h.grade, h.reason));
            if let Some(until) = h.grace_until.filter(|_| h.breaks_policy) {
                output::line(format!("breaks the vulnerability policy: ship a fixed version by {until}"));
            }
        }
    }
    Ok(())
}

async fn sbom(args: SbomArgs) -> Result<(), Failure> {
    let (org, id) = split(&args.offer)?;
    let client = super::client::connect(args.server.as_deref())?;
    let version = match args.version {
        Some(v) => i64::from(v),
        None => client
            .offer(&org, &id)
            .await?
            .versions
            .first()
            .map(|v| v.version)
            .ok_or_else(|| Failure::new(EXIT_FAILED, format!("{org}/{id} has no submitted version")))?,
    };
    let listed = client.version_sboms(&org, &id, version).await?;
    let chosen: Vec<_> = listed.iter().filter(|s| args.platform.as_deref().is_none_or(|p| p == s.platform)).collect();
    let platforms = || listed.iter().map(|s| s.platform.as_str()).collect::<Vec<_>>().join(", ");
    let sbom = match chosen.as_slice() {
        [one] => *one,
        [] => {
            return Err(Failure::new(
                EXIT_FAILED,
                format!("version {version} of {org}/{id} has no SBOM for that platform (it has: {})", platforms()),
            ));
        }
        _ => {
            return Err(Failure::new(
                super::EXIT_USAGE,
                format!("version {version} of {org}/{id} has several: choose one with --platform ({})", platforms()),
            ));
        }
    };
    output::json(&client.version_sbom(&org, &id, version, &sbom.digest).await?);
    Ok(())
}

async fn report(args: ReportArgs) -> Result<(), Failure> {
    let (org, id) = split(&args.offer)?;
    let client = super::client::connect(args.server.as_deref())?;
    let version = match args.version {
        Some(v) => v,
        None => {
            let view = client.offer(&org, &id).await?;
            let newest = view
                .versions
                .first()
                .ok_or_else(|| Failure::new(EXIT_FAILED, format!("{org}/{id} has no submitted version")))?;
            u32::try_from(newest.version).unwrap_or(u32::MAX)
        }
    };
    output::json(&client.version_report(&org, &id, version).await?);
    Ok(())
}

async fn show(args: ShowArgs) -> Result<(), Failure> {
    let (org, id) = split(&args.offer.offer)?;
    let client = super::client::connect(args.offer.server.as_deref())?;
    let doc = match args.version {
        Some(v) => client.offer_version(&org, &id, v).await?.document,
        None => {
            client
                .offer_draft(&org, &id)
                .await?
                .ok_or_else(|| {
                    Failure::new(EXIT_FAILED, format!("organization {org} has no offer {id:?} (or you may not see it)"))
                })?
                .0
        }
    };
    match args.offer.output.output {
        Format::Json => output::json(&doc),
        Format::Human => {
            output::line(yaml_serde::to_string(&doc).map_err(|e| Failure::new(EXIT_FAILED, e.to_string()))?.trim_end())
        }
    }
    Ok(())
}

async fn list(args: ListArgs) -> Result<(), Failure> {
    let client = super::client::connect(args.server.as_deref())?;
    let items = client.offers(&args.org).await?;
    output::rows(args.output.output, &items, &["offer", "state", "revision", "live version", "versions"], |o| {
        vec![
            o.id.clone(),
            o.state_label.clone(),
            o.revision.to_string(),
            o.live_version.map_or_else(|| "-".into(), |v| v.to_string()),
            o.versions.len().to_string(),
        ]
    });
    Ok(())
}

async fn compare(args: CompareArgs) -> Result<(), Failure> {
    let (org, id) = split(&args.offer.offer)?;
    let client = super::client::connect(args.offer.server.as_deref())?;
    let cmp = client.compare_offer(&org, &id, &args.with).await?;
    match args.offer.output.output {
        Format::Json => output::json(&cmp),
        Format::Human => {
            let changes = &cmp.changes;
            let base = match cmp.base_version {
                Some(v) => format!("{} (version {v})", args.with),
                None => format!("{} (none: every field is new)", args.with),
            };
            output::line(format!(
                "draft of {org}/{id} against {base}: {} change{}",
                changes.len(),
                plural(changes.len())
            ));
            for c in changes {
                output::line(show_change(c));
            }
        }
    }
    Ok(())
}

async fn history(args: OfferRef) -> Result<(), Failure> {
    let (org, id) = split(&args.offer)?;
    let client = super::client::connect(args.server.as_deref())?;
    let events = client.offer_history(&org, &id).await?;
    output::rows(args.output.output, &events, &["at", "event", "detail", "by"], |e| {
        vec![e.at.to_string(), e.label.clone(), e.detail.clone().unwrap_or_default(), e.actor.clone()]
    });
    Ok(())
}

async fn selling(args: PlanRef, stop: bool) -> Result<(), Failure> {
    let (org, id) = split(&args.offer.offer)?;
    let client = super::client::connect(args.offer.server.as_deref())?;
    let verb = if stop { "stop-sell" } else { "resume" };
    let action = match &args.plan {
        Some(p) => format!("/plans/{p}/{verb}"),
        None => format!("/{verb}"),
    };
    print_offer(&client.change_offer(&org, &id, &action).await?, args.offer.output.output);
    Ok(())
}

async fn cancel(args: OfferRef) -> Result<(), Failure> {
    let (org, id) = split(&args.offer)?;
    let client = super::client::connect(args.server.as_deref())?;
    print_offer(&client.change_offer(&org, &id, "/cancel").await?, args.output.output);
    Ok(())
}
