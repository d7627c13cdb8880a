//! Offer and plan ids, locales and version tags, parsed at the boundary.

use std::fmt;
use std::str::FromStr;

pub use wharf_core::offer::{MAX_ID_LEN, OfferId, PlanId};

/// A BCP 47 language tag (`en-US`, `nl-NL`, `zh-Hant-TW`), well-formed per RFC 5646.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Locale(String);

impl Locale {
    /// The tag as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Locale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let tag = language_tags::LanguageTag::parse(s)
            .map_err(|e| format!("is not a BCP 47 language tag such as en-US ({e})"))?;
        let language = tag.primary_language();
        if !(2..=3).contains(&language.len()) {
            return Err(format!(
                "must start with a 2- or 3-letter ISO 639 language code, such as en in en-US (got {language:?})"
            ));
        }
        Ok(Locale(s.to_owned()))
    }
}

/// A version tag: `X.Y.Z` with an optional `-suffix` (`1.4.2`, `1.4.2-alpine`),
/// ordered as Semantic Versioning orders it (a suffix sorts before the bare version).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionTag(semver::Version);

impl VersionTag {
    /// The version.
    pub fn version(&self) -> &semver::Version {
        &self.0
    }
}

impl FromStr for VersionTag {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a version tag X.Y.Z with an optional -suffix, e.g. 1.4.2 or 1.4.2-alpine");
        if s.contains('+') || s.len() > 128 {
            return Err(bad());
        }
        semver::Version::parse(s).map(VersionTag).map_err(|_| bad())
    }
}

impl fmt::Display for VersionTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["db", "contoso-db_2", "0day", &"a".repeat(50)] {
            assert!(ok.parse::<OfferId>().is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "must not be empty"),
            ("Contoso", "may contain only"),
            ("a.b", "may contain only"),
            ("-a", "must start with"),
            ("_a", "must start with"),
        ] {
            let e = bad.parse::<PlanId>().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert_eq!("a".repeat(51).parse::<OfferId>().unwrap_err(), "must be at most 50 characters long (got 51)");
    }

    #[test]
    fn locales() {
        for ok in ["en-US", "nl-NL", "fr", "zh-Hant-TW", "ja-JP", "de-CH-1996"] {
            assert!(ok.parse::<Locale>().is_ok(), "{ok}");
        }
        for bad in ["", "english", "en_US", "x-private", "en-", "12-US"] {
            assert!(bad.parse::<Locale>().is_err(), "{bad}");
        }
    }

    #[test]
    fn version_tags_order_as_semver() {
        let v = |s: &str| s.parse::<VersionTag>().unwrap();
        assert!(v("1.2.3") < v("1.2.4"));
        assert!(v("1.2.3-alpine") < v("1.2.3"));
        assert!(v("1.10.0") > v("1.9.9"));
        for bad in ["latest", "1.2", "v1.2.3", "1.2.3+build", "01.2.3", "1.2.3-"] {
            assert!(bad.parse::<VersionTag>().is_err(), "{bad}");
        }
    }
}
