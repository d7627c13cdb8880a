//! The certification policy: which checks block, which warn, which are off, and
//! the limits of the layer reader. Defaults mirror the public marketplace's rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::finding::{Finding, Findings, Severity};
use crate::image::PlatformImage;
use crate::limits::Limits;
use crate::view::{Node, View};

/// What a check's findings do to the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The platform fails.
    Block,
    /// Reported; the platform still passes.
    Warn,
    /// Not checked.
    Off,
}

/// The policy file (TOML). Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// The layer reader's limits.
    pub limits: Limits,
    /// The image must not run as root (`USER` set to a non-root user).
    pub run_as_non_root: Action,
    /// The image must have fewer than `max_layers` layers.
    pub layer_count: Action,
    /// The layer limit (the public marketplace's is 40).
    pub max_layers: usize,
    /// The image must carry `required_labels`.
    pub required_labels: Action,
    /// The labels required.
    pub labels: Vec<String>,
    /// Files with the setuid or setgid bit.
    pub setuid_files: Action,
    /// Regular files anyone may write.
    pub world_writable_files: Action,
    /// The architecture the config declares must be that of the image's executables.
    pub architecture_matches_binaries: Action,
    /// No private keys or tokens in the environment, the config or the files.
    pub secrets: Action,
    /// License files under `/licenses` (or `LICENSE*`/`COPYING*` at the root).
    pub license_files: Action,
    /// The tag certified must not be `latest`.
    pub latest_tag: Action,
    /// The image's uncompressed size must stay under `max_image_bytes`.
    pub image_size: Action,
    /// The size limit (default 10 GiB).
    pub max_image_bytes: u64,
    /// None of `prohibited_packages` may be installed.
    pub prohibited: Action,
    /// Package names that may not ship (e.g. non-redistributable kernels).
    pub prohibited_packages: Vec<String>,
    /// Packages with a known vulnerability scored `block_cvss` or more (CVSS v3);
    /// lower scores are reported and never block.
    pub vulnerabilities: Action,
    /// The CVSS v3 base score from which a vulnerability blocks (the public
    /// marketplace's: 7.0, "high").
    pub block_cvss: f64,
    /// Days a version in preview or live has to ship a fix once newly imported
    /// advisories make it break the vulnerability rule (continuous certification flags
    /// it with this deadline; nothing is withdrawn silently).
    pub vulnerability_grace_days: u32,
    /// Packages that could not be checked for vulnerabilities: no advisories
    /// imported, none for the image's distribution or ecosystem, or versions that
    /// cannot be ordered.
    pub not_evaluated: Action,
    /// The image must be built on one of `allowed_base_images` (checked only when the
    /// list is not empty).
    pub base_image: Action,
    /// Base images allowed: each the digests of its layers, in order (compressed layer
    /// digests as a manifest lists them, or uncompressed `diff_ids` as a config does).
    /// An image is built on one when its layers start with that list.
    pub allowed_base_images: Vec<BaseImage>,
    /// The image must carry a valid publisher signature (cosign's format) made with
    /// one of `signature_keys`. Off by default: the public marketplace signs images
    /// itself rather than requiring publishers to.
    pub signature: Action,
    /// Public keys (PEM, ECDSA P-256, as `cosign generate-key-pair` writes
    /// `cosign.pub`): each the PEM text, or a file name relative to the policy file.
    pub signature_keys: Vec<String>,
    /// Files clamd finds malware in (every regular file of every layer is scanned).
    pub malware: Action,
    /// Files that could not be scanned for malware: no clamd given, clamd unreachable,
    /// or a file clamd refused.
    pub not_scanned: Action,
    /// Accepted vulnerabilities: each one an advisory for a package or an image,
    /// with a reason, an author and an expiry date.
    pub exceptions: Vec<Exception>,
}

/// A base image an image may be built on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseImage {
    /// What to call it in the report (`debian:12-slim`).
    pub name: String,
    /// Its layers' digests, bottom first.
    pub layers: Vec<String>,
}

/// An accepted vulnerability. It applies until the end of its `expires` day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// The advisory's id or one of its aliases (`CVE-2024-1234`, `GHSA-…`).
    pub advisory: String,
    /// The package: its name, its source package's name, or its purl without version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The image: a manifest digest (`sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Why the risk is accepted.
    pub reason: String,
    /// Who accepted it.
    pub author: String,
    /// The last day it applies, `YYYY-MM-DD`.
    pub expires: String,
    /// An OpenVEX justification (`vulnerable_code_not_in_execute_path`, …) when the
    /// product is not affected; without one the exception exports as "affected",
    /// with the reason as its action statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

/// OpenVEX's justifications for "not_affected".
pub const JUSTIFICATIONS: [&str; 5] = [
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-' && humantime::parse_rfc3339(&format!("{s}T00:00:00Z")).is_ok()
}

impl Policy {
    /// Reads a policy file's text: TOML, unknown keys refused, every exception checked.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let policy: Policy = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut problems = Vec::new();
        if !(0.0..=10.0).contains(&policy.block_cvss) {
            problems.push(format!("block_cvss must be between 0.0 and 10.0, not {}", policy.block_cvss));
        }
        if policy.signature != Action::Off && policy.signature_keys.is_empty() {
            problems.push("signature is checked but signature_keys names no key".to_owned());
        }
        for (i, k) in policy.signature_keys.iter().enumerate() {
            if k.trim_start().starts_with("-----BEGIN")
                && let Err(e) = crate::signature::PublicKey::from_pem(&format!("signature_keys[{i}]"), k)
            {
                problems.push(e);
            }
        }
        for (i, b) in policy.allowed_base_images.iter().enumerate() {
            if b.layers.is_empty() {
                problems.push(format!("allowed_base_images[{i}] ({}): list its layers' digests", b.name));
            }
            for l in &b.layers {
                if l.parse::<wharf_oci::Digest>().is_err() {
                    problems.push(format!("allowed_base_images[{i}] ({}): {l:?} is not a digest", b.name));
                }
            }
        }
        for (i, e) in policy.exceptions.iter().enumerate() {
            let at = format!("exceptions[{i}] ({})", e.advisory);
            if e.advisory.trim().is_empty() {
                problems.push(format!("{at}: advisory is empty"));
            }
            if e.package.is_none() && e.image.is_none() {
                problems.push(format!("{at}: name the package or the image (or both) it applies to"));
            }
            if let Some(image) = &e.image
                && image.parse::<wharf_oci::Digest>().is_err()
            {
                problems.push(format!("{at}: image must be a manifest digest (sha256:…), not {image:?}"));
            }
            if e.reason.trim().is_empty() {
                problems.push(format!("{at}: reason is empty"));
            }
            if e.author.trim().is_empty() {
                problems.push(format!("{at}: author is empty"));
            }
            if !is_date(&e.expires) {
                problems.push(format!("{at}: expires must be a date YYYY-MM-DD, not {:?}", e.expires));
            }
            if let Some(j) = &e.justification
                && !JUSTIFICATIONS.contains(&j.as_str())
            {
                problems.push(format!("{at}: justification must be one of {}", JUSTIFICATIONS.join(", ")));
            }
        }
        if problems.is_empty() { Ok(policy) } else { Err(problems.join("\n")) }
    }
}

/// How the findings of a check count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// As the policy says for the check.
    Policy(Action),
    /// The reader's findings: an image that cannot be read safely fails (critical and
    /// high findings block), whatever the policy says.
    BySeverity,
}

impl Policy {
    /// How findings of `check` count. Exhaustive: a new check must be classified here.
    pub fn rule(&self, check: Check) -> Rule {
        let action = match check {
            Check::PolicyRunAsRoot => self.run_as_non_root,
            Check::PolicyLayerCount => self.layer_count,
            Check::PolicyMissingLabel => self.required_labels,
            Check::PolicySetuid => self.setuid_files,
            Check::PolicyWorldWritable => self.world_writable_files,
            Check::PolicyArchitectureMismatch => self.architecture_matches_binaries,
            Check::PolicySecret => self.secrets,
            Check::PolicyNoLicense => self.license_files,
            Check::PolicyLatestTag => self.latest_tag,
            Check::PolicyImageSize => self.image_size,
            Check::PolicyProhibitedPackage => self.prohibited,
            Check::PolicyBaseImage => self.base_image,
            Check::PolicySignature => self.signature,
            Check::Malware => self.malware,
            Check::MalwareNotScanned => self.not_scanned,
            Check::Vulnerability => self.vulnerabilities,
            Check::VulnerabilityNotEvaluated => self.not_evaluated,
            Check::LayerPathTraversal
            | Check::LayerPathNul
            | Check::LayerPathLength
            | Check::LayerPathEncoding
            | Check::LayerPathDepth
            | Check::LayerPathAbsolute
            | Check::LayerParentNotDirectory
            | Check::LayerHardlinkOutside
            | Check::LayerHardlinkDangling
            | Check::LayerLinkOutside
            | Check::LayerThroughSymlink
            | Check::LayerDuplicateEntry
            | Check::LayerEntryType
            | Check::LayerDevice
            | Check::LayerDigestMismatch
            | Check::LayerCorrupt
            | Check::LayerUnreadable
            | Check::LayerAmbiguous
            | Check::LayerWhiteoutInvalid
            | Check::LayerBombSize
            | Check::LayerBombRatio
            | Check::LayerBombEntries
            | Check::LayerBombNames
            | Check::LayerBombZstdWindow
            | Check::ImageUnreadable
            | Check::ImageInvalid
            | Check::ImageDigestMismatch
            | Check::SbomUnreadable => return Rule::BySeverity,
        };
        Rule::Policy(action)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            limits: Limits::default(),
            run_as_non_root: Action::Block,
            layer_count: Action::Block,
            max_layers: 40,
            required_labels: Action::Warn,
            labels: [
                "org.opencontainers.image.title",
                "org.opencontainers.image.version",
                "org.opencontainers.image.vendor",
                "org.opencontainers.image.licenses",
                "org.opencontainers.image.source",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            setuid_files: Action::Warn,
            world_writable_files: Action::Warn,
            architecture_matches_binaries: Action::Block,
            secrets: Action::Block,
            license_files: Action::Warn,
            latest_tag: Action::Block,
            image_size: Action::Warn,
            max_image_bytes: 10 << 30,
            prohibited: Action::Block,
            prohibited_packages: Vec::new(),
            vulnerabilities: Action::Block,
            block_cvss: 7.0,
            vulnerability_grace_days: 30,
            not_evaluated: Action::Block,
            signature: Action::Off,
            signature_keys: Vec::new(),
            base_image: Action::Block,
            allowed_base_images: Vec::new(),
            malware: Action::Block,
            not_scanned: Action::Block,
            exceptions: Vec::new(),
        }
    }
}

impl Policy {
    /// Reads a policy file: parsed, and its signature key files (relative to the file)
    /// read in. The error names the file.
    pub fn load(path: &std::path::Path) -> Result<Policy, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read policy {}: {e}", path.display()))?;
        let mut policy = Policy::parse(&text).map_err(|e| format!("policy {}:\n{e}", path.display()))?;
        let dir = path.parent().unwrap_or(std::path::Path::new("."));
        policy.resolve_key_files(dir).map_err(|e| format!("policy {}: {e}", path.display()))?;
        Ok(policy)
    }

    /// Reads the key files `signature_keys` names (relative to `dir`, the policy file's
    /// directory) into PEM text.
    pub fn resolve_key_files(&mut self, dir: &std::path::Path) -> Result<(), String> {
        for k in &mut self.signature_keys {
            if !k.trim_start().starts_with("-----BEGIN") {
                let path = dir.join(&*k);
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("signature key {}: {e}", path.display()))?;
                crate::signature::PublicKey::from_pem(&path.display().to_string(), &text)?;
                *k = text;
            }
        }
        Ok(())
    }

    /// The signature keys, parsed (key files resolved beforehand).
    pub fn keys(&self) -> Vec<crate::signature::PublicKey> {
        self.signature_keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| crate::signature::PublicKey::from_pem(&format!("signature_keys[{i}]"), k).ok())
            .collect()
    }
}

/// The policy's checks of an image: its config (user, labels, secrets, base image,
/// OS and architecture against its executables) and its files (licenses, setuid and
/// world-writable modes), as findings.
pub(crate) fn image_checks(
    image: &PlatformImage,
    view: &View,
    binaries: &BTreeMap<&'static str, (usize, String)>,
    policy: &Policy,
    findings: &mut Findings,
) {
    let n = image.manifest.layers.len();
    if n >= policy.max_layers {
        findings.push(Finding::about_image(
            Check::PolicyLayerCount,
            Severity::Medium,
            format!("the image has {n} layers; fewer than {} are allowed (squash some)", policy.max_layers),
        ));
    }
    let user = image.config.config.user.as_deref().unwrap_or("").trim();
    let name = user.split(':').next().unwrap_or("");
    if name.is_empty() || name == "root" || name == "0" {
        findings.push(
            Finding::about_image(
                Check::PolicyRunAsRoot,
                Severity::High,
                "the image runs as root: set USER to a non-root user in its Dockerfile".to_owned(),
            )
            .detail(if user.is_empty() { "no USER set".to_owned() } else { format!("USER {user}") }),
        );
    }
    for (i, env) in image.config.config.env.iter().flatten().enumerate() {
        for s in crate::secrets::scan(env.as_bytes()) {
            let var = env.split('=').next().unwrap_or("");
            findings.push(
                Finding::about_image(Check::PolicySecret, Severity::High, format!("{} in the environment", s.what))
                    .detail(format!("Env[{i}] {var}: {}", s.redacted)),
            );
        }
    }
    // The rest of the config people can read: labels, the command and entry point.
    let rc = &image.config.config;
    let texts = rc
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| (format!("label {k}"), v.clone()))
        .chain(rc.cmd.iter().flatten().enumerate().map(|(i, a)| (format!("Cmd[{i}]"), a.clone())))
        .chain(rc.entrypoint.iter().flatten().enumerate().map(|(i, a)| (format!("Entrypoint[{i}]"), a.clone())));
    for (where_, text) in texts {
        for s in crate::secrets::scan(text.as_bytes()) {
            findings.push(
                Finding::about_image(Check::PolicySecret, Severity::High, format!("{} in the image config", s.what))
                    .detail(format!("{where_}: {}", s.redacted)),
            );
        }
    }
    if !policy.allowed_base_images.is_empty() {
        let manifest_layers: Vec<&str> = image.manifest.layers.iter().map(|l| l.digest.as_str()).collect();
        let diff_ids: Vec<&str> = image.config.rootfs.diff_ids.iter().map(String::as_str).collect();
        let on = policy.allowed_base_images.iter().find(|b| {
            let base: Vec<&str> = b.layers.iter().map(String::as_str).collect();
            manifest_layers.starts_with(&base) || diff_ids.starts_with(&base)
        });
        if on.is_none() {
            let names: Vec<&str> = policy.allowed_base_images.iter().map(|b| b.name.as_str()).collect();
            let mut f = Finding::about_image(
                Check::PolicyBaseImage,
                Severity::High,
                format!("the image is not built on an allowed base image ({})", names.join(", ")),
            )
            .detail(format!(
                "first layer {} (uncompressed {})",
                manifest_layers.first().unwrap_or(&"none"),
                diff_ids.first().unwrap_or(&"unknown")
            ));
            f.evidence.layer = manifest_layers.first().map(|l| (*l).to_owned());
            findings.push(f);
        }
    }
    let has_license = view.iter().any(|(p, placed)| {
        matches!(placed.node, Node::File { .. })
            && (p.starts_with("licenses/")
                || (!p.contains('/')
                    && (p.to_ascii_uppercase().starts_with("LICENSE")
                        || p.to_ascii_uppercase().starts_with("COPYING"))))
    });
    if !has_license {
        findings.push(Finding::about_image(
            Check::PolicyNoLicense,
            Severity::Low,
            "no license files: put the product's license terms under /licenses".to_owned(),
        ));
    }
    let labels = image.config.config.labels.clone().unwrap_or_default();
    for l in &policy.labels {
        if !labels.contains_key(l) {
            findings.push(Finding::about_image(
                Check::PolicyMissingLabel,
                Severity::Low,
                format!("the image has no label {l}"),
            ));
        }
    }
    for (path, placed) in view.iter() {
        let (mode, hits) = match &placed.node {
            Node::File { mode, .. } => (
                *mode,
                [
                    (mode & 0o6000 != 0).then_some((Check::PolicySetuid, "a setuid or setgid file")),
                    (mode & 0o002 != 0).then_some((Check::PolicyWorldWritable, "a file anyone may write")),
                ],
            ),
            // /tmp-like directories need the sticky bit: only owners may delete files.
            Node::Dir { mode } => (
                *mode,
                [
                    None,
                    (mode & 0o002 != 0 && mode & 0o1000 == 0).then_some((
                        Check::PolicyWorldWritable,
                        "a directory anyone may write, without the sticky bit",
                    )),
                ],
            ),
            _ => continue,
        };
        for (check, message) in hits.into_iter().flatten() {
            let mut f = Finding::about_image(check, Severity::Medium, message.to_owned())
                .path(path)
                .detail(format!("mode {mode:o}"));
            f.evidence.layer = image.manifest.layers.get(placed.layer).map(|l| l.digest.clone());
            findings.push(f);
        }
    }
    let declared = image.config.architecture.as_str();
    let (most, (count, example)) = match binaries.iter().max_by_key(|(_, (c, _))| *c) {
        Some((a, v)) => (*a, v.clone()),
        None => return,
    };
    if most != declared && most != "unknown" {
        findings.push(
            Finding::about_image(
                Check::PolicyArchitectureMismatch,
                Severity::High,
                format!("the config declares {declared} but {count} executable(s) are {most}"),
            )
            .path(example.clone()),
        );
    }
    // ELF executables run on Linux.
    let os = image.config.os.as_str();
    if os != "linux" {
        let total: usize = binaries.values().map(|(c, _)| c).sum();
        findings.push(
            Finding::about_image(
                Check::PolicyArchitectureMismatch,
                Severity::High,
                format!("the config declares the OS {os:?} but {total} executable(s) are Linux (ELF) programs"),
            )
            .path(example),
        );
    }
}
