//! User and organization names.
//!
//! Both follow the same rule, a strict subset of an OCI repository path component so
//! that an organization name can always be the first component of a repository name
//! (`<org>/<repo>`): 1 to 39 characters, lowercase ASCII letters and digits, with
//! single hyphens between them (no leading, trailing or doubled hyphen).

/// The longest accepted name, in characters.
pub const MAX_NAME_LEN: usize = 39;

/// The namespace of the images the marketplace promoted and signed
/// (`mp/<publisher>/<offer>/<plan>/<image>`), written only by the publishing pipeline.
pub const MARKETPLACE_NAMESPACE: &str = "mp";

/// Organization names the marketplace keeps for itself: its registry namespace and
/// its routes' first segments.
pub const RESERVED_ORG_NAMES: &[&str] = &[MARKETPLACE_NAMESPACE, "v2", "api", "token", "metrics", "healthz", "readyz"];

/// Why a string is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty string.
    #[error("must not be empty")]
    Empty,
    /// Over [`MAX_NAME_LEN`].
    #[error("must be at most {max} characters long (got {len})")]
    TooLong {
        /// The limit.
        max: usize,
        /// Length of the input.
        len: usize,
    },
    /// A character outside `a-z`, `0-9`, `-`.
    #[error("may contain only lowercase letters a-z, digits 0-9 and hyphens (found {0:?})")]
    InvalidChar(char),
    /// A hyphen at either end or two in a row.
    #[error("must start and end with a letter or digit and must not contain \"--\"")]
    BadHyphen,
    /// A name the marketplace keeps for itself.
    #[error("{0:?} is reserved")]
    Reserved(String),
}

pub(crate) fn check_name(s: &str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    let len = s.chars().count();
    if len > MAX_NAME_LEN {
        return Err(NameError::TooLong { max: MAX_NAME_LEN, len });
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(NameError::InvalidChar(c));
    }
    if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
        return Err(NameError::BadHyphen);
    }
    Ok(())
}

/// The OpenAPI schema of user and organization names.
macro_rules! name_schema {
    ($name:ident) => {
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .min_length(Some(1))
                    .max_length(Some(MAX_NAME_LEN))
                    .pattern(Some("^[a-z0-9]+(-[a-z0-9]+)*$"))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

text_newtype!(
    /// A user's login name.
    UserName,
    NameError,
    check_name
);
name_schema!(UserName);

text_newtype!(
    /// An organization's name; also the first component of its repositories' names.
    OrgName,
    NameError,
    |s| {
        check_name(s)?;
        if RESERVED_ORG_NAMES.contains(&s) { Err(NameError::Reserved(s.to_owned())) } else { Ok(()) }
    }
);
name_schema!(OrgName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        let cases: &[(&str, Option<&str>)] = &[
            ("acme", None),
            ("a", None),
            ("acme-corp-2", None),
            ("0day", None),
            ("", Some("must not be empty")),
            ("Acme", Some("found 'A'")),
            ("acme_corp", Some("found '_'")),
            ("acme.corp", Some("found '.'")),
            ("-acme", Some("must start and end")),
            ("acme-", Some("must start and end")),
            ("ac--me", Some("must not contain \"--\"")),
            ("ünï", Some("found 'ü'")),
        ];
        for (input, err) in cases {
            let got = input.parse::<UserName>();
            match (err, got) {
                (None, Ok(n)) => assert_eq!(n.as_str(), *input),
                (Some(needle), Err(e)) => assert!(e.to_string().contains(needle), "{input:?}: {e}"),
                (want, got) => panic!("{input:?}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn over_long_names_name_the_limit() {
        let ok = "a".repeat(MAX_NAME_LEN);
        assert!(ok.parse::<OrgName>().is_ok());
        let err = "a".repeat(MAX_NAME_LEN + 1).parse::<OrgName>().unwrap_err();
        assert_eq!(err.to_string(), "must be at most 39 characters long (got 40)");
    }

    #[test]
    fn reserved_org_names_are_refused_but_usable_as_user_names() {
        assert_eq!("mp".parse::<OrgName>().unwrap_err(), NameError::Reserved("mp".into()));
        assert!("mp".parse::<UserName>().is_ok());
    }
}
