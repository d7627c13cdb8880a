//! Repository names, per the OCI Distribution Specification's grammar:
//!
//! ```text
//! name      := component ("/" component)*
//! component := [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
//! ```
//!
//! In Wharf the first component is always the owning organization's name.

use std::fmt;
use std::str::FromStr;

/// The longest repository name accepted, in bytes (the reference registry's limit).
pub const MAX_REPOSITORY_NAME_LEN: usize = 255;

/// A valid repository name such as `acme/tools/builder`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepositoryName(String);

/// Why a string is not a repository name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty, or an empty component (`a//b`, leading or trailing `/`).
    #[error("repository name {0:?} has an empty path component")]
    EmptyComponent(String),
    /// Over [`MAX_REPOSITORY_NAME_LEN`] bytes.
    #[error("repository name is {0} bytes long; the limit is 255")]
    TooLong(usize),
    /// A component that breaks the grammar.
    #[error(
        "repository name component {0:?} is invalid: use lowercase letters and digits, separated by '.', '_', '__' or '-'"
    )]
    InvalidComponent(String),
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: exactly ".", "_" or "__", or any number of "-".
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

impl RepositoryName {
    /// The full name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first component: in Wharf, the owning organization's name.
    pub fn namespace(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    /// The path components.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl FromStr for RepositoryName {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_REPOSITORY_NAME_LEN {
            return Err(NameError::TooLong(s.len()));
        }
        for component in s.split('/') {
            if component.is_empty() {
                return Err(NameError::EmptyComponent(s.to_owned()));
            }
            if !valid_component(component) {
                return Err(NameError::InvalidComponent(component.chars().take(80).collect()));
            }
        }
        Ok(RepositoryName(s.to_owned()))
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_table() {
        let good = ["a", "acme/app", "acme/tools/builder", "a.b/c_d/e__f/g-h/i---j", "0/1", "acme/app2"];
        for g in good {
            assert!(g.parse::<RepositoryName>().is_ok(), "{g}");
        }
        let bad = [
            ("", "empty path component"),
            ("acme/", "empty path component"),
            ("/acme", "empty path component"),
            ("acme//app", "empty path component"),
            ("Acme/app", "\"Acme\" is invalid"),
            ("acme/app_", "\"app_\" is invalid"),
            ("acme/a___b", "\"a___b\" is invalid"),
            ("acme/a..b", "\"a..b\" is invalid"),
            ("acme/a.-b", "\"a.-b\" is invalid"),
            ("acme/-app", "\"-app\" is invalid"),
            ("acme/../etc", "\"..\" is invalid"),
            ("acme/app:latest", "\"app:latest\" is invalid"),
        ];
        for (b, needle) in bad {
            let e = b.parse::<RepositoryName>().unwrap_err().to_string();
            assert!(e.contains(needle), "{b:?}: {e}");
        }
        let long = format!("acme/{}", "a".repeat(251));
        assert_eq!(long.parse::<RepositoryName>().unwrap_err(), NameError::TooLong(256));
        assert_eq!("acme/tools/builder".parse::<RepositoryName>().unwrap().namespace(), "acme");
    }
}
