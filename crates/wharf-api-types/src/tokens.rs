//! `/api/v1/user/tokens`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wharf_core::{Timestamp, TokenId, TokenScope};

/// Whether a token works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    /// It authenticates.
    Active,
    /// Its lifetime is over.
    Expired,
    /// Its owner revoked it.
    Revoked,
}

impl TokenState {
    /// The state as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Active => "active",
            TokenState::Expired => "expired",
            TokenState::Revoked => "revoked",
        }
    }
}

/// An API token (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    /// Id, used to revoke it.
    pub id: TokenId,
    /// The owner's label.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<TokenScope>,
    /// `active`, `expired` or `revoked`.
    pub state: TokenState,
    /// Creation time.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Option<Timestamp>,
    /// Last use (to the minute).
    pub last_used_at: Option<Timestamp>,
    /// Revocation time.
    pub revoked_at: Option<Timestamp>,
}

/// A newly created token with its secret, which is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedTokenView {
    /// The token.
    #[serde(flatten)]
    pub token: TokenView,
    /// The secret: use it as the password (HTTP Basic) or as a Bearer token.
    pub secret: String,
}

/// Creates an API token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// Label, unique among your active tokens (1-64 characters).
    pub name: String,
    /// Scopes: `api:read`, `api:write`, `registry:pull`, `registry:push`, `registry:delete`, `admin`.
    pub scopes: Vec<String>,
    /// Lifetime in days, 1 to 3650 (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
}
