//! `wharf certify REF`: certify an image locally, with the same engine and policy
//! the server uses.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use wharf_certify::certify::{Engine, Verdict, certify_layout};
use wharf_certify::clamd::ClamdAddr;
use wharf_certify::image::Layout;
use wharf_certify::policy::Policy;
use wharf_client::pull::{ImageRef, PullError};

use super::{EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE, Failure};
use crate::output;

/// How to print the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Every finding, for people.
    Human,
    /// The report as JSON (its schema: docs/certification-report.md).
    Json,
    /// SARIF 2.1.0, for code scanning tools.
    Sarif,
    /// JUnit XML, for CI systems.
    Junit,
}

/// Arguments of `wharf certify`.
#[derive(Debug, Args)]
pub struct CertifyArgs {
    /// The image: an OCI image layout directory (`DIR`, `DIR:TAG`, `oci:DIR:TAG`), an
    /// oci-archive or docker-archive tarball (`FILE`, `FILE:TAG`, `oci-archive:FILE:TAG`,
    /// `docker-archive:FILE:TAG`), as skopeo and `docker save` write them, or an image in
    /// a registry (`HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]`, `docker://…`).
    image: String,
    /// Policy file (TOML; docs/certification-policy.md). Default: the marketplace's policy.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = ReportFormat::Human)]
    output: ReportFormat,
    /// Write each platform's SBOM into this directory, as CycloneDX 1.5
    /// (`<os>-<arch>.cdx.json`) and SPDX 2.3 (`<os>-<arch>.spdx.json`).
    #[arg(long, value_name = "DIR")]
    sbom: Option<PathBuf>,
    #[command(flatten)]
    store: super::advisories::StoreArg,
    /// clamd for the malware scan: a unix socket (`unix:/run/clamav/clamd.ctl`) or
    /// `host:port`. Without it files are not scanned, which the default policy blocks.
    #[arg(long, value_name = "ADDR", env = "WHARF_CLAMD", value_parser = clap::value_parser!(ClamdAddr))]
    clamd: Option<ClamdAddr>,
    /// Registry credentials `USER:PASSWORD` (or an API token as the password) for a
    /// registry image. Default: those `wharf login` stored for that server, if any.
    #[arg(long, value_name = "USER:PASSWORD", env = "WHARF_REGISTRY_CREDS", hide_env_values = true)]
    creds: Option<String>,
    /// Talk plain HTTP to the registry (loopback registries always do).
    #[arg(long)]
    plain_http: bool,
    /// Always stream files to clamd (INSTREAM), even when it runs on this host and can
    /// read them from a scratch area, which costs it half the CPU.
    #[arg(long)]
    clamd_stream: bool,
    /// Files (or batches of files) scanned at once: connections to clamd.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    clamd_connections: u16,
}

/// Where the image is.
enum Source {
    Layout(PathBuf),
    Archive(PathBuf),
    Registry(ImageRef),
}

/// Splits `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:TAG]`, `DIR[:TAG]` or `FILE[:TAG]` (a
/// `:` that is part of an existing path's name is kept).
fn reference(image: &str) -> Result<(Source, Option<String>), Failure> {
    let local = ["oci:", "oci-archive:", "docker-archive:"].iter().any(|p| image.starts_with(p))
        || std::path::Path::new(image.rsplit_once(':').map_or(image, |(p, _)| p)).exists()
        || std::path::Path::new(image).exists();
    if !local && ImageRef::looks_like(image) {
        let r: ImageRef = image.parse().map_err(|e: PullError| Failure::new(EXIT_USAGE, e.to_string()))?;
        let tag = r.tag().map(str::to_owned);
        return Ok((Source::Registry(r), tag));
    }
    Ok(local_reference(image))
}

fn local_reference(image: &str) -> (Source, Option<String>) {
    let (archive, rest) = match image.strip_prefix("oci-archive:").or_else(|| image.strip_prefix("docker-archive:")) {
        Some(rest) => (true, rest),
        None => (false, image.strip_prefix("oci:").unwrap_or(image)),
    };
    let (path, tag) = if std::path::Path::new(rest).exists() {
        (PathBuf::from(rest), None)
    } else {
        match rest.rsplit_once(':') {
            Some((p, tag)) if !tag.contains('/') && !tag.is_empty() => (PathBuf::from(p), Some(tag.to_owned())),
            _ => (PathBuf::from(rest), None),
        }
    };
    if archive || path.is_file() { (Source::Archive(path), tag) } else { (Source::Layout(path), tag) }
}

/// Pulls a registry image into a private scratch layout.
async fn pull(r: &ImageRef, args: &CertifyArgs) -> Result<(PathBuf, tempfile::TempDir), Failure> {
    let credentials = match &args.creds {
        Some(c) => Some(c.parse().map_err(|_| Failure::new(EXIT_USAGE, "--creds takes USER:PASSWORD"))?),
        None => super::client::registry_credentials(&r.registry)?,
    };
    let scratch = tempfile::Builder::new()
        .prefix("wharf-certify-pull-")
        .tempdir()
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot create a scratch directory: {e}")))?;
    let dir = scratch.path().join("layout");
    wharf_client::pull::pull(r, credentials, args.plain_http, &dir).await.map_err(|e| {
        let code = match &e {
            PullError::Unreachable { .. } => EXIT_UNAVAILABLE,
            PullError::Auth(_) => super::EXIT_AUTH,
            PullError::BadReference(_) => EXIT_USAGE,
            _ => EXIT_FAILED,
        };
        Failure::new(code, format!("cannot pull {r}: {e}"))
    })?;
    Ok((dir, scratch))
}

/// Runs `wharf certify`: pulls a registry image first, then certifies on a blocking thread.
pub async fn run(args: CertifyArgs) -> Result<(), Failure> {
    let (source, tag) = reference(&args.image)?;
    let (source, scratch) = match source {
        Source::Registry(r) => {
            let (dir, scratch) = pull(&r, &args).await?;
            (Source::Layout(dir), Some(scratch))
        }
        other => (other, None),
    };
    let result = tokio::task::spawn_blocking(move || certify(args, source, tag))
        .await
        .map_err(|e| Failure::new(EXIT_FAILED, format!("certification stopped: {e}")))?;
    drop(scratch);
    result
}

/// Runs `wharf certify`. Exit code 0 when the image passes, 1 when it fails (or
/// cannot be read), 2 for a bad reference, 3 for a bad policy file, 4 when clamd is
/// unreachable (certify again later).
fn certify(args: CertifyArgs, source: Source, tag: Option<String>) -> Result<(), Failure> {
    let policy = match &args.policy {
        None => Policy::default(),
        Some(path) => super::advisories::load_policy(path)?,
    };
    let mut engine = Engine::new(policy);
    engine.advisories = args.store.open()?;
    engine.clamd = args.clamd.clone();
    engine.clamd_connections = usize::from(args.clamd_connections);
    engine.clamd_stream_only = args.clamd_stream;
    // An archive's layout files are copied to a private scratch directory, removed
    // when `_scratch` goes.
    let (layout, _scratch) = match source {
        Source::Layout(dir) => (Layout::open(&dir).map_err(|e| Failure::new(EXIT_USAGE, e.to_string()))?, None),
        Source::Archive(file) => {
            let (layout, scratch) = Layout::from_archive(&file).map_err(|e| Failure::new(EXIT_USAGE, e.to_string()))?;
            (layout, Some(scratch))
        }
        Source::Registry(r) => return Err(Failure::new(EXIT_FAILED, format!("{r} was not pulled"))),
    };
    let report = certify_layout(&layout, &args.image, tag.as_deref(), &engine);
    if let Some(dir) = &args.sbom {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot create {}: {e}", dir.display())))?;
        let created = wharf_core::Timestamp::now().to_string();
        for p in &report.platforms {
            let stem = p.platform.replace('/', "-");
            let docs = [
                (format!("{stem}.cdx.json"), wharf_certify::sbom::cyclonedx(&args.image, &p.platform, &p.components)),
                (
                    format!("{stem}.spdx.json"),
                    wharf_certify::sbom::spdx(&args.image, &p.platform, &p.components, &created),
                ),
            ];
            for (name, doc) in docs {
                let path = dir.join(name);
                let text = serde_json::to_vec_pretty(&doc).unwrap_or_default();
                std::fs::write(&path, text)
                    .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot write {}: {e}", path.display())))?;
            }
        }
    }
    match args.output {
        ReportFormat::Human => output::text(&wharf_certify::render::human(&report)),
        ReportFormat::Json => output::json(&report),
        ReportFormat::Sarif => output::json(&wharf_certify::render::sarif(&report)),
        ReportFormat::Junit => output::text(&wharf_certify::render::junit(&report)),
    }
    // clamd unreachable: a failure worth retrying, told apart by its exit code.
    let unreachable = engine.clamd.is_some()
        && report.malware_scanner.is_none()
        && report.platforms.iter().flat_map(|p| &p.findings).any(|f| f.finding.check == "malware.not-scanned");
    match report.verdict {
        Verdict::Pass => Ok(()),
        Verdict::Fail if unreachable => Err(Failure::silent(EXIT_UNAVAILABLE)),
        Verdict::Fail => Err(Failure::silent(EXIT_FAILED)),
    }
}
