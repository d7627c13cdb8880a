//! The checks of certification, by id. Every finding names one; the ids are stable
//! (reports, SARIF rule ids, JUnit class names and policy documentation use them) and
//! are listed with what they mean in docs/certification.md. Whether a finding of a
//! check blocks is decided by an exhaustive match in `certify`, so a new check that is
//! not classified does not compile.

use std::fmt;

macro_rules! checks {
    ($($(#[$doc:meta])* $variant:ident => $id:literal,)*) => {
        /// A certification check.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Check {
            $($(#[$doc])* $variant,)*
        }

        impl Check {
            /// Every check.
            pub const ALL: &[Check] = &[$(Check::$variant,)*];

            /// The stable id, e.g. `layer.path-traversal`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Check::$variant => $id,)*
                }
            }
        }
    };
}

checks! {
    /// `layer.path-traversal`
    LayerPathTraversal => "layer.path-traversal",
    /// `layer.path-nul`
    LayerPathNul => "layer.path-nul",
    /// `layer.path-length`
    LayerPathLength => "layer.path-length",
    /// `layer.path-encoding`
    LayerPathEncoding => "layer.path-encoding",
    /// `layer.path-depth`
    LayerPathDepth => "layer.path-depth",
    /// `layer.path-absolute`
    LayerPathAbsolute => "layer.path-absolute",
    /// `layer.parent-not-directory`
    LayerParentNotDirectory => "layer.parent-not-directory",
    /// `layer.hardlink-outside`
    LayerHardlinkOutside => "layer.hardlink-outside",
    /// `layer.hardlink-dangling`
    LayerHardlinkDangling => "layer.hardlink-dangling",
    /// `layer.link-outside`
    LayerLinkOutside => "layer.link-outside",
    /// `layer.through-symlink`
    LayerThroughSymlink => "layer.through-symlink",
    /// `layer.duplicate-entry`
    LayerDuplicateEntry => "layer.duplicate-entry",
    /// `layer.entry-type`
    LayerEntryType => "layer.entry-type",
    /// `layer.device`
    LayerDevice => "layer.device",
    /// `layer.digest-mismatch`
    LayerDigestMismatch => "layer.digest-mismatch",
    /// `layer.corrupt`
    LayerCorrupt => "layer.corrupt",
    /// `layer.unreadable`
    LayerUnreadable => "layer.unreadable",
    /// `layer.ambiguous`
    LayerAmbiguous => "layer.ambiguous",
    /// `layer.whiteout-invalid`
    LayerWhiteoutInvalid => "layer.whiteout-invalid",
    /// `layer.bomb-size`
    LayerBombSize => "layer.bomb-size",
    /// `layer.bomb-ratio`
    LayerBombRatio => "layer.bomb-ratio",
    /// `layer.bomb-entries`
    LayerBombEntries => "layer.bomb-entries",
    /// `layer.bomb-names`
    LayerBombNames => "layer.bomb-names",
    /// `layer.bomb-zstd-window`
    LayerBombZstdWindow => "layer.bomb-zstd-window",
    /// `image.unreadable`
    ImageUnreadable => "image.unreadable",
    /// `image.invalid`
    ImageInvalid => "image.invalid",
    /// `image.digest-mismatch`
    ImageDigestMismatch => "image.digest-mismatch",
    /// `sbom.unreadable`
    SbomUnreadable => "sbom.unreadable",
    /// `policy.run-as-root`
    PolicyRunAsRoot => "policy.run-as-root",
    /// `policy.layer-count`
    PolicyLayerCount => "policy.layer-count",
    /// `policy.missing-label`
    PolicyMissingLabel => "policy.missing-label",
    /// `policy.setuid`
    PolicySetuid => "policy.setuid",
    /// `policy.world-writable`
    PolicyWorldWritable => "policy.world-writable",
    /// `policy.architecture-mismatch`
    PolicyArchitectureMismatch => "policy.architecture-mismatch",
    /// `policy.secret`
    PolicySecret => "policy.secret",
    /// `policy.no-license`
    PolicyNoLicense => "policy.no-license",
    /// `policy.latest-tag`
    PolicyLatestTag => "policy.latest-tag",
    /// `policy.image-size`
    PolicyImageSize => "policy.image-size",
    /// `policy.prohibited-package`
    PolicyProhibitedPackage => "policy.prohibited-package",
    /// `policy.base-image`
    PolicyBaseImage => "policy.base-image",
    /// `policy.signature`
    PolicySignature => "policy.signature",
    /// `malware`
    Malware => "malware",
    /// `malware.not-scanned`
    MalwareNotScanned => "malware.not-scanned",
    /// `vulnerability`
    Vulnerability => "vulnerability",
    /// `vulnerability.not-evaluated`
    VulnerabilityNotEvaluated => "vulnerability.not-evaluated",
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.id())
    }
}

impl serde::Serialize for Check {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl PartialEq<&str> for Check {
    fn eq(&self, other: &&str) -> bool {
        self.id() == *other
    }
}

impl PartialEq<Check> for &str {
    fn eq(&self, other: &Check) -> bool {
        *self == other.id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Check::ALL {
            assert!(seen.insert(c.id()), "{c:?} repeats {}", c.id());
            assert!(c.id().chars().all(|ch| ch.is_ascii_lowercase() || ch == '.' || ch == '-'), "{}", c.id());
        }
    }
}
