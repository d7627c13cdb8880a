//! The authenticated caller and what it may do.

use wharf_core::access::{org_permits, platform_grants_org_action, platform_permits};
use wharf_core::{OrgAction, OrgKind, PlatformAction, Role, TokenId, TokenScope, TokenScopes, UserId, UserName};

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A password: every scope.
    Password,
    /// An API token: its scopes only.
    ApiToken(TokenId),
    /// A subscription's pull secret (the subscription's id): pulls what that
    /// subscription entitles, nothing else. The principal's user is who issued it.
    PullSecret(i64),
}

/// An authenticated user, with the scopes of the credential they used and their
/// highest role in any operator organization.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user's id.
    pub user_id: UserId,
    /// The user's name.
    pub user_name: UserName,
    /// The credential used.
    pub credential: Credential,
    /// What the credential may be used for.
    pub scopes: TokenScopes,
    /// Highest role held in an operator organization, if any.
    pub operator_role: Option<Role>,
}

impl Principal {
    /// Whether the credential carries `scope`.
    pub fn has_scope(&self, scope: TokenScope) -> bool {
        self.scopes.has(scope)
    }

    /// The operator role in effect: without the `admin` scope an operator keeps
    /// only read access to the platform.
    fn effective_operator_role(&self) -> Option<Role> {
        let role = self.operator_role?;
        Some(if self.has_scope(TokenScope::Admin) { role } else { Role::Viewer })
    }

    /// Whether the caller may perform a platform action.
    pub fn may_platform(&self, action: PlatformAction) -> bool {
        self.effective_operator_role().is_some_and(|role| platform_permits(role, action))
    }

    /// Whether the caller may perform `action` in an organization of `kind` where
    /// their membership role is `member_role`, through membership or platform rights.
    /// Token scopes for the REST API or the registry are checked by the caller.
    pub fn may_in_org(&self, kind: OrgKind, member_role: Option<Role>, action: OrgAction) -> bool {
        if member_role.is_some_and(|role| org_permits(kind, role, action)) {
            return true;
        }
        let Some(role) = self.effective_operator_role() else {
            return false;
        };
        PlatformAction::ALL
            .into_iter()
            .any(|p| platform_permits(role, p) && platform_grants_org_action(p, kind, action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scopes: &str, operator_role: Option<Role>) -> Principal {
        Principal {
            user_id: UserId(1),
            user_name: "u".parse().unwrap(),
            credential: Credential::Password,
            scopes: scopes.parse().unwrap(),
            operator_role,
        }
    }

    #[test]
    fn operator_power_needs_the_admin_scope() {
        let with = principal("api:read api:write admin", Some(Role::Owner));
        let without = principal("api:read api:write", Some(Role::Owner));
        assert!(with.may_platform(PlatformAction::ManageUsers));
        assert!(!without.may_platform(PlatformAction::ManageUsers));
        assert!(without.may_platform(PlatformAction::ReadAll));
        assert!(with.may_in_org(OrgKind::Publisher, None, OrgAction::ManageMembers));
        assert!(!without.may_in_org(OrgKind::Publisher, None, OrgAction::ManageMembers));
        assert!(without.may_in_org(OrgKind::Publisher, None, OrgAction::Pull));
        let nobody = principal("api:read", None);
        assert!(!nobody.may_in_org(OrgKind::Publisher, None, OrgAction::Read));
        assert!(nobody.may_in_org(OrgKind::Publisher, Some(Role::Viewer), OrgAction::Read));
    }
}
