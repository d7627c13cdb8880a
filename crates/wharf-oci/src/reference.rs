//! Manifest references: a tag or a digest, as the Distribution Specification
//! writes them in `/v2/<name>/manifests/<reference>`.

use crate::Digest;

/// A manifest reference: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag.
    Tag(String),
    /// A digest.
    Digest(Digest),
}

/// The longest tag, per the Distribution Specification.
const MAX_TAG_LEN: usize = 128;

/// Parses a reference: a digest when it contains `:`, otherwise a tag matching
/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn reference(s: &str) -> Result<Reference, String> {
    if s.contains(':') {
        return s.parse::<Digest>().map(Reference::Digest).map_err(|e| e.to_string());
    }
    let valid_first = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_first
        || s.len() > MAX_TAG_LEN
        || !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(format!(
            "invalid tag {:?}: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
            s.chars().take(140).collect::<String>()
        ));
    }
    Ok(Reference::Tag(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(reference("v1.2.3-rc_1"), Ok(Reference::Tag("v1.2.3-rc_1".into())));
        assert!(matches!(
            reference("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            Ok(Reference::Digest(_))
        ));
        for bad in [".hidden", "-x", "a/b", "", &"x".repeat(129), "sha256:zz", "tag with space"] {
            assert!(reference(bad).is_err(), "{bad:?}");
        }
    }
}
