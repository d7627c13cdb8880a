//! Scopes of API tokens.
//!
//! An API token carries a set of scopes; what it may do is the intersection of those
//! scopes with what its user's roles allow. A password login has every scope.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One API token scope.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum TokenScope {
    /// Read through the REST API.
    #[serde(rename = "api:read")]
    ApiRead,
    /// Change things through the REST API.
    #[serde(rename = "api:write")]
    ApiWrite,
    /// Pull from the registry.
    #[serde(rename = "registry:pull")]
    RegistryPull,
    /// Push to the registry.
    #[serde(rename = "registry:push")]
    RegistryPush,
    /// Delete from the registry.
    #[serde(rename = "registry:delete")]
    RegistryDelete,
    /// Platform administration (only effective for operators).
    #[serde(rename = "admin")]
    Admin,
}

impl TokenScope {
    /// Every scope.
    pub const ALL: [TokenScope; 6] = [
        TokenScope::ApiRead,
        TokenScope::ApiWrite,
        TokenScope::RegistryPull,
        TokenScope::RegistryPush,
        TokenScope::RegistryDelete,
        TokenScope::Admin,
    ];

    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::ApiRead => "api:read",
            TokenScope::ApiWrite => "api:write",
            TokenScope::RegistryPull => "registry:pull",
            TokenScope::RegistryPush => "registry:push",
            TokenScope::RegistryDelete => "registry:delete",
            TokenScope::Admin => "admin",
        }
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a scope list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Not one of [`TokenScope::ALL`].
    #[error(
        "unknown scope {0:?}: expected one of api:read, api:write, registry:pull, registry:push, registry:delete, admin"
    )]
    Unknown(String),
    /// No scope at all.
    #[error("at least one scope is required")]
    Empty,
}

impl FromStr for TokenScope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TokenScope::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| ScopeError::Unknown(s.chars().take(64).collect()))
    }
}

/// A non-empty set of scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScopes(BTreeSet<TokenScope>);

impl TokenScopes {
    /// Every scope: what a password login may do.
    pub fn all() -> TokenScopes {
        TokenScopes(TokenScope::ALL.into_iter().collect())
    }

    /// From a list, refusing an empty one.
    pub fn new(scopes: impl IntoIterator<Item = TokenScope>) -> Result<TokenScopes, ScopeError> {
        let set: BTreeSet<_> = scopes.into_iter().collect();
        if set.is_empty() {
            return Err(ScopeError::Empty);
        }
        Ok(TokenScopes(set))
    }

    /// Whether the set holds `scope`.
    pub fn has(&self, scope: TokenScope) -> bool {
        self.0.contains(&scope)
    }

    /// The scopes in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = TokenScope> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for TokenScopes {
    /// Space-separated, the stored form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&parts.join(" "))
    }
}

impl FromStr for TokenScopes {
    type Err = ScopeError;

    /// Accepts scopes separated by spaces or commas.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let scopes = s.split([' ', ',']).filter(|p| !p.is_empty()).map(str::parse).collect::<Result<Vec<_>, _>>()?;
        TokenScopes::new(scopes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let s: TokenScopes = "registry:push, api:read registry:pull".parse().unwrap();
        assert_eq!(s.to_string(), "api:read registry:pull registry:push");
        assert!(s.has(TokenScope::RegistryPull) && !s.has(TokenScope::Admin));
        assert_eq!("".parse::<TokenScopes>(), Err(ScopeError::Empty));
        assert!(matches!("root".parse::<TokenScopes>(), Err(ScopeError::Unknown(_))));
        assert_eq!(serde_json::to_string(&TokenScope::RegistryDelete).unwrap(), "\"registry:delete\"");
    }
}
