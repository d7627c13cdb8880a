//! The views (`wharf-api-types`) of the database's rows.

use wharf_api_types::{ApprovalView, MemberView, OrgView, TokenState, TokenView, UserView, VersionSummary};
use wharf_core::{Role, Timestamp};
use wharf_db::offers::VersionRow;
use wharf_db::orgs::{Member, Org};
use wharf_db::tokens::ApiToken;
use wharf_db::users::User;

/// A user.
pub(crate) fn user(u: &User) -> UserView {
    UserView {
        name: u.name.to_string(),
        email: u.email.clone(),
        disabled: u.disabled_at.is_some(),
        created_at: u.created_at,
    }
}

/// `org` for a caller with `role` in it.
pub(crate) fn org(org: &Org, role: Option<Role>) -> OrgView {
    OrgView {
        name: org.name.to_string(),
        kind: org.kind,
        display_name: org.display_name.clone(),
        role,
        approval: org.approval.as_ref().map(|a| ApprovalView { by: a.by.clone(), at: a.at }),
        created_at: org.created_at,
    }
}

/// A member of an organization.
pub(crate) fn member(m: &Member) -> MemberView {
    MemberView { user: m.user_name.to_string(), role: m.role, since: m.since }
}

/// An API token, never its secret.
pub(crate) fn token(t: &ApiToken) -> TokenView {
    let state = if t.revoked_at.is_some() {
        TokenState::Revoked
    } else if t.is_usable(Timestamp::now()) {
        TokenState::Active
    } else {
        TokenState::Expired
    };
    TokenView {
        id: t.id,
        name: t.name.clone(),
        scopes: t.scopes.iter().collect(),
        state,
        created_at: t.created_at,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
    }
}

/// A submitted version, without its document.
pub(crate) fn version(v: &VersionRow) -> VersionSummary {
    VersionSummary {
        version: v.version,
        status: v.status,
        submitted_by: v.submitted_by.clone(),
        submitted_at: v.submitted_at,
        updated_at: v.updated_at,
    }
}
