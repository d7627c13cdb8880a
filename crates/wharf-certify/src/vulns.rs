//! The vulnerability check: every package of the SBOM against the advisory store,
//! exceptions applied, and an honest "not evaluated" where it could not look.

use std::collections::BTreeMap;

use serde_json::json;

use crate::advisories::{Store, Target};
use crate::check::Check;
pub use crate::finding::AppliedException;
use crate::finding::{Evidence, Finding, Reported, Severity};
use crate::package::Component;
use crate::policy::{Action, Exception, Policy};

/// A CVSS score's severity band.
pub fn severity_of(score: Option<f64>) -> Severity {
    match score {
        Some(s) if s >= 9.0 => Severity::Critical,
        Some(s) if s >= 7.0 => Severity::High,
        Some(s) if s >= 4.0 => Severity::Medium,
        Some(s) if s > 0.0 => Severity::Low,
        Some(_) => Severity::Info,
        // Unscored: not known to be minor.
        None => Severity::Medium,
    }
}

fn exception_for<'p>(policy: &'p Policy, ids: &[&str], c: &Component, manifest: &str) -> Option<&'p Exception> {
    let purl_base = c.purl.split('@').next().unwrap_or(&c.purl);
    policy.exceptions.iter().find(|e| {
        ids.contains(&e.advisory.as_str())
            && e.package
                .as_deref()
                .is_none_or(|p| p == c.name || Some(p) == c.source.as_deref() || p == purl_base || p == c.purl)
            && e.image.as_deref().is_none_or(|i| i == manifest)
    })
}

fn action(f: &Finding, policy: &Policy, score: Option<f64>) -> Option<bool> {
    match policy.vulnerabilities {
        Action::Off => None,
        Action::Warn => Some(false),
        Action::Block => Some(score.is_some_and(|s| s >= policy.block_cvss) || f.severity == Severity::Critical),
    }
}

fn not_evaluated(policy: &Policy, message: String, evidence: Evidence) -> Option<Reported> {
    let blocking = match policy.not_evaluated {
        Action::Off => return None,
        Action::Warn => false,
        Action::Block => true,
    };
    Some(Reported {
        finding: Finding { check: Check::VulnerabilityNotEvaluated, severity: Severity::High, message, evidence },
        blocking,
        exception: None,
    })
}

/// Checks `components` (of an image with `distro`, manifest `manifest`) against
/// `store`; `today` is `YYYY-MM-DD`.
pub fn check(
    components: &[Component],
    distro: Option<&str>,
    store: Option<&Store>,
    policy: &Policy,
    manifest: &str,
    today: &str,
) -> Vec<Reported> {
    let mut out = Vec::new();
    if policy.vulnerabilities == Action::Off || components.is_empty() {
        return out;
    }
    let Some(store) = store else {
        out.extend(not_evaluated(
            policy,
            format!(
                "no advisories imported: {} package(s) not checked for vulnerabilities (run `wharf advisories import`)",
                components.len()
            ),
            Evidence::default(),
        ));
        return out;
    };
    // Packages the store has nothing for, by ecosystem.
    let mut uncovered: BTreeMap<String, Vec<&Component>> = BTreeMap::new();
    for c in components {
        let Some(target) = Target::of(c, distro) else {
            uncovered.entry(c.ecosystem.to_owned()).or_default().push(c);
            continue;
        };
        if !store.covers(&target) {
            let key = match &target.release {
                Some(r) => format!("{}:{r}", target.base),
                None if matches!(c.ecosystem, "deb" | "apk" | "rpm") => {
                    format!("{} (the image's release is unknown: no /etc/os-release)", target.base)
                }
                None => target.base.clone(),
            };
            uncovered.entry(key).or_default().push(c);
            continue;
        }
        let m = store.matches(&target);
        for a in m.unordered {
            out.extend(not_evaluated(
                policy,
                format!("{} {} cannot be compared with the versions of advisory {}", c.name, c.version, a.id),
                Evidence {
                    path: Some(c.path.clone()),
                    package: Some(c.name.clone()),
                    version: Some(c.version.clone()),
                    purl: Some(c.purl.clone()),
                    advisory: Some(a.id.clone()),
                    ..Evidence::default()
                },
            ));
        }
        for hit in m.hits {
            let a = hit.advisory;
            let (score, vector) = a.score_for(hit.affected);
            let severity = severity_of(score);
            let remediation = match &hit.fixed {
                Some(f) => format!("upgrade {} to {f} or later", target.name),
                None => format!(
                    "no fixed version of {} yet: remove the package or accept the risk with an exception",
                    target.name
                ),
            };
            let scored = match (score, vector) {
                (Some(s), Some(_)) => format!("CVSS {s:.1}"),
                (Some(s), None) => {
                    format!("severity {} (about CVSS {s:.1})", a.severity_label.as_deref().unwrap_or(""))
                }
                (None, _) => "no CVSS score".to_owned(),
            };
            let finding = Finding {
                check: Check::Vulnerability,
                severity,
                message: format!(
                    "{} {}: {} ({scored}){}",
                    c.name,
                    c.version,
                    a.id,
                    if a.summary.is_empty() { String::new() } else { format!(" {}", a.summary) }
                ),
                evidence: Evidence {
                    path: Some(c.path.clone()),
                    package: Some(c.name.clone()),
                    version: Some(c.version.clone()),
                    purl: Some(c.purl.clone()),
                    advisory: Some(a.id.clone()),
                    aliases: a.aliases.clone(),
                    cvss: score,
                    vector: vector.map(str::to_owned),
                    fixed: hit.fixed.clone(),
                    remediation: Some(remediation),
                    ..Evidence::default()
                },
            };
            let Some(mut blocking) = action(&finding, policy, score) else { continue };
            let mut ids: Vec<&str> = vec![a.id.as_str()];
            ids.extend(a.aliases.iter().map(String::as_str));
            let exception = exception_for(policy, &ids, c, manifest).map(|e| {
                let expired = today > e.expires.as_str();
                if !expired {
                    blocking = false;
                }
                AppliedException {
                    reason: e.reason.clone(),
                    author: e.author.clone(),
                    expires: e.expires.clone(),
                    expired,
                }
            });
            out.push(Reported { finding, blocking, exception });
        }
    }
    for (ecosystem, list) in uncovered {
        let names: Vec<String> = list.iter().take(10).map(|c| format!("{} {}", c.name, c.version)).collect();
        out.extend(not_evaluated(
            policy,
            format!(
                "the advisory store has nothing for {ecosystem}: {} package(s) not checked for vulnerabilities",
                list.len()
            ),
            Evidence {
                detail: Some(format!(
                    "{}{}",
                    names.join(", "),
                    if list.len() > names.len() {
                        format!(" and {} more (see the SBOM)", list.len() - names.len())
                    } else {
                        String::new()
                    }
                )),
                ..Evidence::default()
            },
        ));
    }
    out
}

/// The policy's exceptions still in force on `today`, as an OpenVEX 0.2.0 document.
pub fn openvex(exceptions: &[Exception], author: &str, today: &str, timestamp: &str) -> serde_json::Value {
    let statements: Vec<serde_json::Value> = exceptions
        .iter()
        .filter(|e| today <= e.expires.as_str())
        .map(|e| {
            let product = match (&e.image, &e.package) {
                (Some(image), Some(p)) => json!({"@id": image, "subcomponents": [{"@id": p}]}),
                (Some(image), None) => json!({"@id": image}),
                (None, Some(p)) => json!({"@id": p}),
                (None, None) => json!({}),
            };
            let mut s = json!({
                "vulnerability": {"name": e.advisory},
                "products": [product],
                "timestamp": timestamp,
            });
            match &e.justification {
                Some(j) => {
                    s["status"] = json!("not_affected");
                    s["justification"] = json!(j);
                    s["impact_statement"] =
                        json!(format!("{} (accepted by {} until {})", e.reason, e.author, e.expires));
                }
                None => {
                    s["status"] = json!("affected");
                    s["action_statement"] =
                        json!(format!("{} (risk accepted by {} until {})", e.reason, e.author, e.expires));
                }
            }
            s
        })
        .collect();
    let digest = wharf_oci::Digest::of(
        wharf_oci::Algorithm::Sha256,
        serde_json::to_string(&statements).unwrap_or_default().as_bytes(),
    );
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("https://openvex.dev/docs/wharf/{}", digest.hex()),
        "author": author,
        "timestamp": timestamp,
        "version": 1,
        "tooling": concat!("wharf-certify ", env!("CARGO_PKG_VERSION")),
        "statements": statements,
    })
}
