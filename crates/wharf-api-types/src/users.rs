//! `/api/v1/user` and `/api/v1/users`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wharf_core::{Role, Timestamp, TokenScope};

/// A user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// Login name.
    pub name: String,
    /// Contact address.
    pub email: Option<String>,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Creation time.
    pub created_at: Timestamp,
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A password (HTTP Basic).
    Password,
    /// An API token (Basic or Bearer).
    ApiToken,
    /// A subscription's pull secret (registry only).
    PullSecret,
}

/// The caller, with what their credential allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CurrentUserView {
    /// The user.
    #[serde(flatten)]
    pub user: UserView,
    /// `password` or `api_token`.
    pub credential: CredentialKind,
    /// Scopes of the credential in use.
    pub scopes: Vec<TokenScope>,
    /// Highest role in an operator organization, if any.
    pub operator_role: Option<Role>,
}

/// Creates a user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Login name: 1-39 lowercase letters, digits and single hyphens.
    pub name: String,
    /// At least 12 characters; omit for an account that only uses tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Contact address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Changes a user. Absent fields are left as they are; `"email": null` clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// New contact address, or null to clear.
    #[serde(default, deserialize_with = "crate::present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// New password (your own only with password authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Disable or re-enable the account (operators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}
