//! Findings: what the engine reports, each with the evidence a publisher can act on.

use crate::check::Check;
use serde::Serialize;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Certification fails whatever the policy says (the image cannot be read safely).
    Critical,
    /// Blocks by default.
    High,
    /// Worth fixing.
    Medium,
    /// Minor.
    Low,
    /// For the record.
    Info,
}

/// Where a finding was seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// The layer's digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The path in the image, as written in the layer (non-UTF-8 bytes escaped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Anything else that shows it: a link target, a size, a count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The package concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Its installed version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Its package URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// The advisory's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<String>,
    /// The advisory's other ids (CVE, GHSA, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The CVSS v3 base score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f64>,
    /// The CVSS v3 vector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    /// The first version that fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id of the check, e.g. `layer.path-traversal`.
    pub check: Check,
    /// How serious.
    pub severity: Severity,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Where.
    pub evidence: Evidence,
}

impl Finding {
    /// A finding of `check` in `layer`.
    pub fn new(check: Check, severity: Severity, message: impl Into<String>, layer: &str) -> Finding {
        Finding {
            check,
            severity,
            message: message.into(),
            evidence: Evidence { layer: Some(layer.to_owned()), ..Evidence::default() },
        }
    }

    /// A finding about the image as a whole (no layer).
    pub fn about_image(check: Check, severity: Severity, message: impl Into<String>) -> Finding {
        Finding { check, severity, message: message.into(), evidence: Evidence::default() }
    }

    /// With the path it concerns.
    pub fn path(mut self, path: impl Into<String>) -> Finding {
        self.evidence.path = Some(path.into());
        self
    }

    /// With more evidence.
    pub fn detail(mut self, detail: impl Into<String>) -> Finding {
        self.evidence.detail = Some(detail.into());
        self
    }
}

/// The findings of one platform as they are made. Findings about individual
/// entries (those with a layer and a path) are kept up to `cap` per check and
/// layer; past it they are counted, and [`Findings::into_vec`] adds one finding per
/// check and layer saying how many more there were. So a layer of a million bad
/// entries costs a few hundred findings, not a million. Findings about the image
/// as a whole are all kept.
#[derive(Debug)]
pub struct Findings {
    list: Vec<Finding>,
    cap: usize,
    counts: std::collections::HashMap<(Check, String), u64>,
    over: std::collections::BTreeMap<(String, Check), (Severity, u64)>,
}

impl Default for Findings {
    fn default() -> Self {
        Findings::new(crate::limits::Limits::default().max_findings_per_check)
    }
}

impl Findings {
    /// An empty list keeping at most `cap` findings per check and layer about entries.
    pub fn new(cap: usize) -> Findings {
        Findings { list: Vec::new(), cap, counts: Default::default(), over: Default::default() }
    }

    /// Adds a finding (or counts it, past the cap).
    pub fn push(&mut self, f: Finding) {
        if let (Some(layer), Some(_)) = (&f.evidence.layer, &f.evidence.path) {
            let n = self.counts.entry((f.check, layer.clone())).or_default();
            *n += 1;
            if *n > self.cap as u64 {
                let e = self.over.entry((layer.clone(), f.check)).or_insert((f.severity, 0));
                e.1 += 1;
                return;
            }
        }
        self.list.push(f);
    }

    /// The findings kept so far.
    pub fn as_slice(&self) -> &[Finding] {
        &self.list
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.over.is_empty()
    }

    /// Every finding, with one per check and layer that went past the cap.
    pub fn into_vec(mut self) -> Vec<Finding> {
        for ((layer, check), (severity, more)) in self.over {
            self.list.push(
                Finding::new(
                    check,
                    severity,
                    format!(
                        "{more} more {check} findings in this layer are not listed; the first {} above are samples",
                        self.cap
                    ),
                    &layer,
                )
                .detail(format!("{} {check} findings in this layer", more + self.cap as u64)),
            );
        }
        self.list
    }
}

impl Extend<Finding> for Findings {
    fn extend<T: IntoIterator<Item = Finding>>(&mut self, iter: T) {
        for f in iter {
            self.push(f);
        }
    }
}

/// A finding as the report shows it: with whether it blocks.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// Whether it fails the platform.
    pub blocking: bool,
    /// The policy's exception for it (a vulnerability), in force or expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<AppliedException>,
}

/// An exception as it applied (or no longer applies) to a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppliedException {
    /// Why the risk is accepted.
    pub reason: String,
    /// Who accepted it.
    pub author: String,
    /// Its last day.
    pub expires: String,
    /// Past its last day: it no longer applies.
    pub expired: bool,
}
