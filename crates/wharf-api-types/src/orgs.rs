//! `/api/v1/orgs` and `/api/v1/orgs/{org}/members`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wharf_core::{OrgKind, Role, Timestamp};

/// An organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrgView {
    /// Unique name.
    pub name: String,
    /// Publisher, customer tenant or operator.
    pub kind: OrgKind,
    /// Human-friendly name.
    pub display_name: Option<String>,
    /// The caller's role in it, if a member.
    pub role: Option<Role>,
    /// A publisher's approval by an operator (its offers are certified only once
    /// approved); absent until approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalView>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// Who approved a publisher, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApprovalView {
    /// The operator who approved it (`wharf-admin` from the command line).
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    /// The user's name.
    pub user: String,
    /// Their role.
    pub role: Role,
    /// When they joined.
    pub since: Timestamp,
}

/// Creates an organization.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    /// Unique name: 1-39 lowercase letters, digits and single hyphens.
    pub name: String,
    /// `publisher`, `customer` or `operator`.
    pub kind: String,
    /// Human-friendly name, at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The first owner (default: the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// Changes an organization.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgRequest {
    /// New display name, or null to clear.
    #[serde(default, deserialize_with = "crate::present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
}

/// Sets a member's role.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMemberRequest {
    /// `viewer`, `developer`, `admin` or `owner`.
    pub role: String,
}
