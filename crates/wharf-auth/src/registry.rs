//! Docker token authentication (the "Docker Registry v2 Bearer token" specification).
//!
//! A client refused by the registry receives a challenge
//! `WWW-Authenticate: Bearer realm="…/token",service="…",scope="repository:acme/app:pull"`,
//! asks the realm for a token with those query parameters (with HTTP Basic
//! credentials, or anonymously), and retries with `Authorization: Bearer <jwt>`. The
//! token's `access` claim lists what was **granted**: the intersection of what was
//! asked and what the caller's roles and token scopes allow, never an echo of the
//! request.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One requested scope, e.g. `repository:acme/app:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryScope {
    /// Resource type: `repository` or `registry` (any other type is granted nothing).
    pub resource_type: String,
    /// Resource name, e.g. `acme/app` or `catalog`.
    pub name: String,
    /// Requested actions, e.g. `pull`, `push`, `delete`, `*`.
    pub actions: Vec<String>,
}

/// Why a scope string is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed scope {0:?}: expected TYPE:NAME:ACTION[,ACTION…], e.g. repository:acme/app:pull,push")]
pub struct ScopeParseError(pub String);

impl std::str::FromStr for RegistryScope {
    type Err = ScopeParseError;

    /// Parses `type[(class)]:name:actions`. The name may itself contain colons
    /// (a registry host with a port), so the type ends at the first colon and the
    /// actions start after the last one.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ScopeParseError(s.chars().take(200).collect());
        let (resource_type, rest) = s.split_once(':').ok_or_else(bad)?;
        let (name, actions) = rest.rsplit_once(':').ok_or_else(bad)?;
        if resource_type.is_empty() || name.is_empty() || s.len() > 1024 {
            return Err(bad());
        }
        // A resource class, as in `repository(plugin)`, is accepted and ignored.
        let resource_type = resource_type.split('(').next().unwrap_or(resource_type);
        let actions = actions.split(',').filter(|a| !a.is_empty()).map(str::to_owned).collect();
        Ok(RegistryScope { resource_type: resource_type.to_owned(), name: name.to_owned(), actions })
    }
}

impl fmt::Display for RegistryScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.resource_type, self.name, self.actions.join(","))
    }
}

/// One granted entry of a token's `access` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Resource type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Resource name.
    pub name: String,
    /// Granted actions.
    pub actions: Vec<String>,
}

/// The claims of a registry token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryClaims {
    /// Issuer (configured `auth.issuer`).
    pub iss: String,
    /// Subject: the user name, or empty for an anonymous token.
    pub sub: String,
    /// Audience: the registry service name.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Not before, seconds since the epoch.
    pub nbf: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// What the bearer may do.
    pub access: Vec<Access>,
}

impl RegistryClaims {
    /// Whether the token grants `action` on the repository `name`.
    pub fn allows(&self, resource_type: &str, name: &str, action: &str) -> bool {
        self.access
            .iter()
            .any(|a| a.resource_type == resource_type && a.name == name && a.actions.iter().any(|x| x == action))
    }
}

/// Builds the registry's `WWW-Authenticate` challenge value.
///
/// `scope` is the scope the refused request needed (omitted for `/v2/` itself);
/// `error` is `insufficient_scope` when a valid token lacked the access, or
/// `invalid_token` when the token itself was refused.
pub fn bearer_challenge(realm: &str, service: &str, scope: Option<&str>, error: Option<&str>) -> String {
    let mut out = format!("Bearer realm=\"{}\",service=\"{}\"", quote(realm), quote(service));
    if let Some(scope) = scope {
        out.push_str(&format!(",scope=\"{}\"", quote(scope)));
    }
    if let Some(error) = error {
        out.push_str(&format!(",error=\"{}\"", quote(error)));
    }
    out
}

/// Escapes a quoted-string per RFC 9110 §5.6.4.
fn quote(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parsing() {
        let s: RegistryScope = "repository:acme/app:pull,push".parse().unwrap();
        assert_eq!((s.resource_type.as_str(), s.name.as_str()), ("repository", "acme/app"));
        assert_eq!(s.actions, ["pull", "push"]);
        assert_eq!(s.to_string(), "repository:acme/app:pull,push");
        let s: RegistryScope = "repository:localhost:5000/acme/app:pull".parse().unwrap();
        assert_eq!(s.name, "localhost:5000/acme/app");
        let s: RegistryScope = "repository(plugin):acme/app:pull".parse().unwrap();
        assert_eq!(s.resource_type, "repository");
        let s: RegistryScope = "registry:catalog:*".parse().unwrap();
        assert_eq!(s.actions, ["*"]);
        let s: RegistryScope = "repository:acme/app:".parse().unwrap();
        assert!(s.actions.is_empty());
        for bad in ["", "repository", "repository:acme", ":acme:pull", "repository::pull"] {
            assert!(bad.parse::<RegistryScope>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn challenge_format() {
        assert_eq!(
            bearer_challenge("http://127.0.0.1:5000/token", "wharf", Some("repository:acme/app:pull"), None),
            r#"Bearer realm="http://127.0.0.1:5000/token",service="wharf",scope="repository:acme/app:pull""#
        );
        assert_eq!(
            bearer_challenge("r", "s\"x", None, Some("insufficient_scope")),
            r#"Bearer realm="r",service="s\"x",error="insufficient_scope""#
        );
    }
}
