//! Certifying an image: every platform of an OCI layout read layer by layer into its
//! file view, the policy's checks applied, a verdict per platform and overall.

use std::collections::BTreeMap;
use std::io;

use serde::Serialize;

use crate::check::Check;
pub use crate::finding::Reported;
use crate::finding::{Evidence, Finding, Findings, Severity};
use crate::image::{ImageError, Layout, PlatformImage};
use crate::layer::{Budget, LayerStats, read_layer};
use crate::package::Component;
use crate::policy::{Action, Policy, Rule};
use crate::scan::Scan;
use crate::view::{Node, View};

/// Pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No blocking finding.
    Pass,
    /// At least one blocking finding.
    Fail,
}

/// What certifying needs besides the image: the policy, the advisories, today's date.
#[derive(Debug)]
pub struct Engine {
    /// The policy.
    pub policy: Policy,
    /// The imported advisories; `None` when none were imported (vulnerabilities are
    /// then "not evaluated", and the policy decides).
    pub advisories: Option<crate::advisories::Store>,
    /// Today, `YYYY-MM-DD`, for exceptions' expiry.
    pub today: String,
    /// clamd, for the malware scan (`None`: not scanned, and the policy decides).
    pub clamd: Option<crate::clamd::ClamdAddr>,
    /// Files scanned at once (clamd connections).
    pub clamd_connections: usize,
    /// Always stream files to clamd, even when it could read them from a scratch area.
    pub clamd_stream_only: bool,
}

impl Engine {
    /// An engine with `policy`, no advisories, and today's date from the clock.
    pub fn new(policy: Policy) -> Engine {
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        Engine {
            policy,
            advisories: None,
            today: now[..10].to_owned(),
            clamd: None,
            clamd_connections: 2,
            clamd_stream_only: false,
        }
    }

    /// With clamd at `addr` for the malware scan.
    pub fn with_clamd(mut self, addr: crate::clamd::ClamdAddr) -> Engine {
        self.clamd = Some(addr);
        self
    }

    /// With the advisories of `store`.
    pub fn with_advisories(mut self, store: crate::advisories::Store) -> Engine {
        self.advisories = Some(store);
        self
    }
}

/// The advisories a report was made with.
#[derive(Debug, Clone, Serialize)]
pub struct AdvisoriesUsed {
    /// The newest snapshot imported (RFC 3339).
    pub snapshot: String,
    /// When the last import ran.
    pub imported_at: String,
    /// Advisories in the store.
    pub advisories: usize,
}

/// One layer as read.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    /// Its digest.
    pub digest: String,
    /// Entries read.
    pub entries: u64,
    /// Compressed bytes.
    pub compressed_bytes: u64,
    /// Uncompressed bytes.
    pub uncompressed_bytes: u64,
}

/// One platform's result.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformReport {
    /// `linux/amd64`, …
    pub platform: String,
    /// The manifest's digest.
    pub manifest: String,
    /// Pass or fail.
    pub verdict: Verdict,
    /// Files in the final view.
    pub files: usize,
    /// The layers.
    pub layers: Vec<LayerReport>,
    /// Every finding, never truncated.
    pub findings: Vec<Reported>,
    /// The packages found (the SBOM), each with its purl and path.
    pub components: Vec<crate::package::Component>,
    /// `ID-VERSION_ID` of `/etc/os-release`, when the image has one.
    pub distro: Option<String>,
    /// Where the time went, in milliseconds (for benchmarks; not part of the verdict).
    pub timings_ms: Timings,
}

/// Wall time per stage, in milliseconds. Layers stream once, so the in-stream stages
/// (secrets, SBOM extraction) are measured inside the read and subtracted from it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Reading layers: digest checks, decompression, the tar walk, the file view,
    /// handing files to clamd.
    pub layers: f64,
    /// Searching files, the environment and the config for secrets.
    pub secrets: f64,
    /// Finding packages: databases, executables' records, Java archives.
    pub sbom: f64,
    /// Matching packages against advisories.
    pub vulnerabilities: f64,
    /// The policy's image checks.
    pub policy: f64,
    /// Waiting for clamd after the last layer was read.
    pub malware: f64,
    /// The whole platform.
    pub total: f64,
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The whole result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was certified.
    pub image: String,
    /// Fail if any platform fails (or the image cannot be read).
    pub verdict: Verdict,
    /// Findings by severity, over all platforms.
    pub summary: BTreeMap<Severity, usize>,
    /// The advisories vulnerabilities were checked against (none: not evaluated).
    pub advisories: Option<AdvisoriesUsed>,
    /// The malware scanner: clamd's address and version (absent: not scanned).
    pub malware_scanner: Option<String>,
    /// Findings about the image as a whole (unreadable index, …).
    pub image_findings: Vec<Reported>,
    /// One entry per platform.
    pub platforms: Vec<PlatformReport>,
}

/// Whether a finding blocks (`None`: its check is off).
fn blocking(f: &Finding, policy: &Policy) -> Option<bool> {
    match policy.rule(f.check) {
        Rule::BySeverity => Some(f.severity <= Severity::High),
        Rule::Policy(Action::Block) => Some(true),
        Rule::Policy(Action::Warn) => Some(false),
        Rule::Policy(Action::Off) => None,
    }
}

fn report(findings: Vec<Finding>, policy: &Policy) -> Vec<Reported> {
    findings
        .into_iter()
        .filter_map(|f| blocking(&f, policy).map(|b| Reported { finding: f, blocking: b, exception: None }))
        .collect()
}

/// Certifies every platform of the layout's images (those tagged `tag`, or all).
pub fn certify_layout(layout: &Layout, name: &str, tag: Option<&str>, engine: &Engine) -> Report {
    let mut out = Report {
        image: name.to_owned(),
        verdict: Verdict::Pass,
        summary: BTreeMap::new(),
        advisories: engine.advisories.as_ref().map(|s| AdvisoriesUsed {
            snapshot: s.imports.iter().map(|i| i.snapshot.clone()).max().unwrap_or_default(),
            imported_at: s.imports.last().map(|i| i.imported_at.clone()).unwrap_or_default(),
            advisories: s.advisories.len(),
        }),
        malware_scanner: None,
        image_findings: Vec::new(),
        platforms: Vec::new(),
    };
    match layout.images(tag) {
        Err(e) => {
            let check = match &e {
                ImageError::DigestMismatch { .. } => Check::ImageDigestMismatch,
                ImageError::Layout(_) | ImageError::Io(_) => Check::ImageUnreadable,
                ImageError::Invalid(_) => Check::ImageInvalid,
            };
            out.image_findings.push(Reported {
                finding: Finding {
                    check,
                    severity: Severity::Critical,
                    message: e.to_string(),
                    evidence: Evidence::default(),
                },
                blocking: true,
                exception: None,
            });
        }
        Ok(images) => {
            // clamd is asked once whether it is there; each platform then scans its files.
            let clamd = match (&engine.clamd, engine.policy.malware) {
                (_, Action::Off) => Err(None),
                (None, _) => {
                    Err(Some("no clamd given: files not scanned for malware (wharf certify --clamd ADDR)".to_owned()))
                }
                (Some(addr), _) => match addr.version() {
                    Ok(v) => {
                        // A clamd that can read our scratch area scans files there;
                        // any other gets them as streams.
                        let parent = crate::clamd::scratch_parent();
                        let mode = if !engine.clamd_stream_only && addr.reads_scratch(&parent) {
                            crate::clamd::Mode::Scratch(parent)
                        } else {
                            crate::clamd::Mode::Stream
                        };
                        out.malware_scanner = Some(format!(
                            "{v} at {addr}, {}",
                            match &mode {
                                crate::clamd::Mode::Stream => "files streamed".to_owned(),
                                crate::clamd::Mode::Scratch(p) =>
                                    format!("files read from a scratch area in {}", p.display()),
                            }
                        ));
                        Ok((addr, mode))
                    }
                    Err(e) => Err(Some(format!(
                        "clamd at {addr} is unreachable ({e}): files not scanned for malware; certify again when it is back"
                    ))),
                },
            };
            for image in &images {
                out.platforms.push(certify_platform(
                    layout,
                    image,
                    tag,
                    engine,
                    clamd.as_ref().map(|(a, m)| (*a, m)).map_err(Clone::clone),
                ));
            }
        }
    }
    let all = out.image_findings.iter().chain(out.platforms.iter().flat_map(|p| p.findings.iter()));
    for r in all {
        *out.summary.entry(r.finding.severity).or_default() += 1;
    }
    if out.image_findings.iter().any(|r| r.blocking) || out.platforms.iter().any(|p| p.verdict == Verdict::Fail) {
        out.verdict = Verdict::Fail;
    }
    out
}

fn certify_platform(
    layout: &Layout,
    image: &PlatformImage,
    tag: Option<&str>,
    engine: &Engine,
    clamd: Result<(&crate::clamd::ClamdAddr, &crate::clamd::Mode), Option<String>>,
) -> PlatformReport {
    let policy = &engine.policy;
    let mut findings = Findings::new(policy.limits.max_findings_per_check);
    let scanner = match clamd {
        Ok((addr, mode)) => Some(crate::clamd::Scanner::start(addr.clone(), engine.clamd_connections, mode)),
        Err(message) => {
            findings.extend(message.map(|m| Finding::about_image(Check::MalwareNotScanned, Severity::High, m)));
            None
        }
    };
    let started = std::time::Instant::now();
    let mut scan = Scan::new(policy, scanner);
    let mut view = View::new();
    let mut budget = Budget::default();
    let mut layers = Vec::new();
    for (index, layer) in image.manifest.layers.iter().enumerate() {
        let mut blob = match layout.blob(&layer.digest) {
            Ok(b) => b,
            Err(e) => {
                findings.push(Finding::new(Check::LayerUnreadable, Severity::Critical, e.to_string(), &layer.digest));
                continue;
            }
        };
        let stats: LayerStats = read_layer(
            &layer.digest,
            &mut blob,
            &policy.limits,
            &mut budget,
            &mut view,
            &mut findings,
            &mut |path, r| scan.file(index, &layer.digest, path, r),
        );
        // Read what the tar reader left, so the blob's digest is checked.
        if stats.complete
            && let Err(e) = io::copy(&mut blob, &mut io::sink())
        {
            findings.push(Finding::new(Check::LayerDigestMismatch, Severity::Critical, e.to_string(), &layer.digest));
        }
        layers.push(LayerReport {
            digest: layer.digest.clone(),
            entries: stats.entries,
            compressed_bytes: stats.compressed_bytes,
            uncompressed_bytes: stats.uncompressed_bytes,
        });
    }
    let read = started.elapsed();
    let Scan { scanner, binaries, captured, recorded, secrets, secrets_time, mut sbom_time, .. } = scan;
    findings.extend(secrets.into_vec());
    let t = std::time::Instant::now();
    if let Some(scanner) = scanner {
        malware_findings(scanner.finish(), &view, image, &mut findings);
    }
    let malware_time = t.elapsed();
    let t = std::time::Instant::now();
    crate::policy::image_checks(image, &view, &binaries, policy, &mut findings);
    findings.extend(signature_finding(layout, image, tag, policy));
    let total: u64 = layers.iter().map(|l| l.uncompressed_bytes).sum();
    findings.extend(size_and_tag_findings(total, tag, policy));
    let policy_time = t.elapsed();
    let t = std::time::Instant::now();
    let (components, distro) = packages(captured, recorded, &view, image, &mut findings);
    sbom_time += t.elapsed();
    findings.extend(prohibited_packages(&components, policy));
    let mut findings = report(findings.into_vec(), policy);
    let t = std::time::Instant::now();
    findings.extend(crate::vulns::check(
        &components,
        distro.as_deref(),
        engine.advisories.as_ref(),
        policy,
        &image.manifest_digest,
        &engine.today,
    ));
    let vulnerabilities = t.elapsed();
    let verdict = if findings.iter().any(|r| r.blocking) { Verdict::Fail } else { Verdict::Pass };
    PlatformReport {
        platform: image.platform.to_string(),
        manifest: image.manifest_digest.clone(),
        verdict,
        files: view.len(),
        layers,
        findings,
        components,
        distro,
        timings_ms: Timings {
            layers: ms(read.saturating_sub(secrets_time).saturating_sub(sbom_time)),
            secrets: ms(secrets_time),
            sbom: ms(sbom_time),
            vulnerabilities: ms(vulnerabilities),
            policy: ms(policy_time),
            malware: ms(malware_time),
            total: ms(started.elapsed()),
        },
    }
}

/// The missing publisher signature, when the policy asks for one: the platform
/// manifest's signature, or the whole image's (its index), must verify.
fn signature_finding(layout: &Layout, image: &PlatformImage, tag: Option<&str>, policy: &Policy) -> Option<Finding> {
    if policy.signature == Action::Off {
        return None;
    }
    let keys = policy.keys();
    let mut why = Vec::new();
    let signed = std::iter::once(&image.manifest_digest).chain(layout.top_digests(tag).iter()).any(|d| {
        match crate::signature::check(layout, d, &keys) {
            crate::signature::Outcome::Valid(_) => true,
            crate::signature::Outcome::Invalid(w) => {
                why.push(format!("{d}: {w}"));
                false
            }
        }
    });
    (!signed).then(|| {
        Finding::about_image(
            Check::PolicySignature,
            Severity::High,
            "the image has no valid publisher signature: sign it with `cosign sign --key` and push or copy the signature with it".to_owned(),
        )
        .detail(why.join("; "))
    })
}

/// An image over the size limit, and an image certified as `latest`.
fn size_and_tag_findings(total: u64, tag: Option<&str>, policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    if total > policy.max_image_bytes {
        out.push(Finding::about_image(
            Check::PolicyImageSize,
            Severity::Medium,
            format!(
                "the image is {total} bytes uncompressed; the limit is {} (max_image_bytes)",
                policy.max_image_bytes
            ),
        ));
    }
    if tag == Some("latest") {
        out.push(Finding::about_image(
            Check::PolicyLatestTag,
            Severity::Medium,
            "the image is certified as `latest`: give it a version tag X.Y.Z".to_owned(),
        ));
    }
    out
}

/// The image's packages, sorted, from the files that made it to the final view (a
/// database that cannot be read is a finding), and its distribution (`debian-12`).
fn packages(
    mut captured: BTreeMap<String, (usize, Vec<u8>)>,
    mut recorded: BTreeMap<String, (usize, Vec<Component>)>,
    view: &View,
    image: &PlatformImage,
    findings: &mut Findings,
) -> (Vec<Component>, Option<String>) {
    // Only what the final view still has, from the layer that put it there.
    let in_view = |path: &String, layer: usize| matches!(view.get(path), Some(crate::view::Placed { node: Node::File { .. }, layer: l }) if *l == layer);
    captured.retain(|path, (layer, _)| in_view(path, *layer));
    recorded.retain(|path, (layer, _)| in_view(path, *layer));
    let distro = ["etc/os-release", "usr/lib/os-release"].iter().find_map(|p| captured.get(*p)).and_then(|(_, c)| {
        let text = String::from_utf8_lossy(c);
        let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).map(|v| v.trim_matches('"').to_owned());
        Some(format!("{}-{}", get("ID=")?, get("VERSION_ID=").unwrap_or_default()))
    });
    let mut components: Vec<Component> = Vec::new();
    for (path, (layer, content)) in &captured {
        match crate::sbom::parse(path, content, distro.as_deref()) {
            Ok(c) => components.extend(c),
            Err(e) => {
                let mut f = Finding::about_image(
                    Check::SbomUnreadable,
                    Severity::Medium,
                    format!("a package database cannot be read: {e}; its packages are missing from the SBOM"),
                )
                .path(path.clone());
                f.evidence.layer = image.manifest.layers.get(*layer).map(|l| l.digest.clone());
                findings.push(f);
            }
        }
    }
    components.extend(recorded.into_values().flat_map(|(_, c)| c));
    components.sort();
    (components, distro)
}

/// Packages the policy says may not ship.
fn prohibited_packages(components: &[Component], policy: &Policy) -> Vec<Finding> {
    components
        .iter()
        .filter(|c| policy.prohibited_packages.contains(&c.name))
        .map(|c| {
            Finding::about_image(
                Check::PolicyProhibitedPackage,
                Severity::High,
                format!("the image installs {}, which may not ship", c.name),
            )
            .path(c.path.clone())
            .detail(format!("{} {}", c.name, c.version))
        })
        .collect()
}

/// clamd's results as findings: each detection with its layer and path; files not
/// scanned grouped by why.
fn malware_findings(
    results: Vec<crate::clamd::FileResult>,
    view: &View,
    image: &PlatformImage,
    findings: &mut Findings,
) {
    let layer_index = |digest: &str| image.manifest.layers.iter().position(|l| l.digest == digest);
    let mut found = Vec::new();
    let mut failed: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for r in results {
        match r.verdict {
            Ok(crate::clamd::Verdict::Clean) => {}
            Ok(crate::clamd::Verdict::Found(signature)) => {
                let shipped_only = !matches!(view.get(&r.path), Some(p) if Some(p.layer) == layer_index(&r.layer));
                let detail = if shipped_only {
                    format!(
                        "signature {signature}; a later layer deletes or replaces the file, but this layer still ships it"
                    )
                } else {
                    format!("signature {signature}")
                };
                let f = Finding::new(Check::Malware, Severity::Critical, format!("clamd found {signature}"), &r.layer)
                    .path(r.path.clone())
                    .detail(detail);
                found.push((layer_index(&r.layer), f));
            }
            Err(why) => {
                let e = failed.entry(why).or_insert((0, r.path.clone()));
                e.0 += 1;
            }
        }
    }
    found.sort_by(|a, b| (a.0, &a.1.evidence.path).cmp(&(b.0, &b.1.evidence.path)));
    findings.extend(found.into_iter().map(|(_, f)| f));
    for (why, (count, first)) in failed {
        findings.push(
            Finding::about_image(
                Check::MalwareNotScanned,
                Severity::High,
                format!("{count} file(s) not scanned for malware: {why}"),
            )
            .path(first),
        );
    }
}
