//! Findings: what the engine reports, each with the evidence a publisher can act on.

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
    pub check: &'static str,
    /// How serious.
    pub severity: Severity,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Where.
    pub evidence: Evidence,
}

impl Finding {
    /// A finding of `check` in `layer`.
    pub fn new(check: &'static str, severity: Severity, message: impl Into<String>, layer: &str) -> Finding {
        Finding {
            check,
            severity,
            message: message.into(),
            evidence: Evidence { layer: Some(layer.to_owned()), ..Evidence::default() },
        }
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
