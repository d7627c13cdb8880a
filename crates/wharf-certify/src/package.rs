//! A package found in an image: the unit of the SBOM and of vulnerability matching,
//! whichever lister found it (`sbom`, `rpmdb`, `binaries`, `gobuild`).

use serde::Serialize;

/// One package.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Component {
    /// `deb`, `apk`, `pypi`, `npm`.
    pub ecosystem: &'static str,
    /// Package name.
    pub name: String,
    /// Version as the ecosystem writes it.
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// Where it was found.
    pub path: String,
    /// The source package it was built from, when the database names one (Debian's
    /// `Source`, Alpine's origin): OS advisories name source packages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The source package's version, when it differs from the binary's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
}

/// The ecosystems the listers name (`Component::ecosystem`).
pub const ECOSYSTEMS: &[&str] = &["apk", "cargo", "deb", "golang", "maven", "npm", "pypi", "rpm"];

/// A component as a stored report or SBOM holds it, to read back.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct StoredComponent {
    /// See [`Component`].
    pub ecosystem: String,
    /// See [`Component`].
    pub name: String,
    /// See [`Component`].
    pub version: String,
    /// See [`Component`].
    pub purl: String,
    /// See [`Component`].
    pub path: String,
    /// See [`Component`].
    #[serde(default)]
    pub source: Option<String>,
    /// See [`Component`].
    #[serde(default)]
    pub source_version: Option<String>,
}

impl StoredComponent {
    /// The component again; `None` for an ecosystem this build does not know.
    pub fn restore(self) -> Option<Component> {
        let ecosystem = ECOSYSTEMS.iter().copied().find(|e| *e == self.ecosystem)?;
        Some(Component {
            ecosystem,
            name: self.name,
            version: self.version,
            purl: self.purl,
            path: self.path,
            source: self.source,
            source_version: self.source_version,
        })
    }
}

/// Percent-encodes a purl segment (everything but letters, digits and `.-_~`).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
