//! What the API returns and accepts. Requests reject unknown fields, so a client
//! cannot set what it should not (no mass assignment); text fields arrive as strings
//! and are checked one by one, so every invalid field is reported at once.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use wharf_core::{OrgKind, Role, Timestamp, TokenId, TokenScope};
use wharf_db::orgs::{Member, Org};
use wharf_db::tokens::ApiToken;
use wharf_db::users::User;

/// A user.
#[derive(Debug, Serialize, ToSchema)]
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

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            name: u.name.to_string(),
            email: u.email.clone(),
            disabled: u.disabled_at.is_some(),
            created_at: u.created_at,
        }
    }
}

/// The caller, with what their credential allows.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentUserView {
    /// The user.
    #[serde(flatten)]
    pub user: UserView,
    /// `password` or `api_token`.
    pub credential: String,
    /// Scopes of the credential in use.
    pub scopes: Vec<TokenScope>,
    /// Highest role in an operator organization, if any.
    pub operator_role: Option<Role>,
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    /// Unique name.
    pub name: String,
    /// Publisher, customer tenant or operator.
    pub kind: OrgKind,
    /// Human-friendly name.
    pub display_name: Option<String>,
    /// The caller's role in it, if a member.
    pub role: Option<Role>,
    /// Creation time.
    pub created_at: Timestamp,
}

impl OrgView {
    /// The view of `org` for a caller with `role`.
    pub fn new(org: &Org, role: Option<Role>) -> OrgView {
        OrgView {
            name: org.name.to_string(),
            kind: org.kind,
            display_name: org.display_name.clone(),
            role,
            created_at: org.created_at,
        }
    }
}

/// A member of an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// The user's name.
    pub user: String,
    /// Their role.
    pub role: Role,
    /// When they joined.
    pub since: Timestamp,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        MemberView { user: m.user_name.to_string(), role: m.role, since: m.since }
    }
}

/// An API token (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Id, used to revoke it.
    pub id: TokenId,
    /// The owner's label.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<TokenScope>,
    /// `active`, `expired` or `revoked`.
    pub state: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Option<Timestamp>,
    /// Last use (to the minute).
    pub last_used_at: Option<Timestamp>,
    /// Revocation time.
    pub revoked_at: Option<Timestamp>,
}

impl From<&ApiToken> for TokenView {
    fn from(t: &ApiToken) -> Self {
        let state = if t.revoked_at.is_some() {
            "revoked"
        } else if t.is_usable(Timestamp::now()) {
            "active"
        } else {
            "expired"
        };
        TokenView {
            id: t.id,
            name: t.name.clone(),
            scopes: t.scopes.iter().collect(),
            state: state.into(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A newly created token with its secret, which is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTokenView {
    /// The token.
    #[serde(flatten)]
    pub token: TokenView,
    /// The secret: use it as the password (HTTP Basic) or as a Bearer token.
    pub secret: String,
}

/// Creates a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Login name: 1-39 lowercase letters, digits and single hyphens.
    pub name: String,
    /// At least 12 characters; omit for an account that only uses tokens.
    pub password: Option<String>,
    /// Contact address.
    pub email: Option<String>,
}

/// Changes a user. Absent fields are left as they are; `"email": null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// New contact address, or null to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// New password (your own only with password authentication).
    pub password: Option<String>,
    /// Disable or re-enable the account (operators only).
    pub disabled: Option<bool>,
}

/// Creates an organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    /// Unique name: 1-39 lowercase letters, digits and single hyphens.
    pub name: String,
    /// `publisher`, `customer` or `operator`.
    pub kind: String,
    /// Human-friendly name, at most 100 characters.
    pub display_name: Option<String>,
    /// The first owner (default: the caller).
    pub owner: Option<String>,
}

/// Changes an organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgRequest {
    /// New display name, or null to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
}

/// Sets a member's role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMemberRequest {
    /// `viewer`, `developer`, `admin` or `owner`.
    pub role: String,
}

/// Creates an API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// Label, unique among your active tokens (1-64 characters).
    pub name: String,
    /// Scopes: `api:read`, `api:write`, `registry:pull`, `registry:push`, `registry:delete`, `admin`.
    pub scopes: Vec<String>,
    /// Lifetime in days, 1 to 3650 (default 90).
    pub expires_in_days: Option<u32>,
}

/// Distinguishes an absent field (`None`) from an explicit null (`Some(None)`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
