//! Offer and plan ids, locales and version tags, parsed at the boundary.

use std::fmt;
use std::str::FromStr;

/// The longest offer or plan id, in characters.
pub const MAX_ID_LEN: usize = 50;

fn check_id(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    let len = s.chars().count();
    if len > MAX_ID_LEN {
        return Err(format!("must be at most {MAX_ID_LEN} characters long (got {len})"));
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_')) {
        return Err(format!("may contain only lowercase letters a-z, digits, '-' and '_' (found {c:?})"));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or digit".into());
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                check_id(s)?;
                Ok($name(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An offer id: lowercase letters, digits, `-` and `_`, at most 50 characters,
    /// starting with a letter or digit. Unique within its publisher; never changes.
    OfferId
);
id_type!(
    /// A plan id: the same rule as [`OfferId`], unique within its offer.
    PlanId
);

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
