//! Who acts: a signed-in user with what their credential allows, or the console.

use wharf_auth::{Credential, Principal};
use wharf_core::{OrgAction, OrgKind, PlatformAction, Role, TokenScope, UserId};

use crate::AppError;

/// The actor of a use case.
#[derive(Debug, Clone)]
pub enum Actor {
    /// A signed-in user (REST, pages), with their credential's scopes and roles.
    User(Principal),
    /// `wharf admin` on a machine holding the database's credentials: whoever can run
    /// it can change the database anyway, so it may do everything. Named
    /// `wharf-admin` in logs and histories.
    Console,
}

impl Actor {
    /// The name recorded in logs and histories.
    pub fn name(&self) -> String {
        match self {
            Actor::User(p) => p.user_name.to_string(),
            Actor::Console => "wharf-admin".to_owned(),
        }
    }

    /// The signed-in user, if any.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User(p) => Some(p.user_id),
            Actor::Console => None,
        }
    }

    /// Fails unless the credential carries `scope`.
    pub fn require(&self, scope: TokenScope) -> Result<(), AppError> {
        match self {
            Actor::User(p) if !p.has_scope(scope) => {
                Err(AppError::Forbidden(format!("the API token lacks the {scope} scope")))
            }
            _ => Ok(()),
        }
    }

    /// Whether the actor may perform a platform action.
    pub fn may_platform(&self, action: PlatformAction) -> bool {
        match self {
            Actor::User(p) => p.may_platform(action),
            Actor::Console => true,
        }
    }

    /// Whether the actor, with `role` in an organization of `kind`, may do `action` there.
    pub fn may_in_org(&self, kind: OrgKind, role: Option<Role>, action: OrgAction) -> bool {
        match self {
            Actor::User(p) => p.may_in_org(kind, role, action),
            Actor::Console => true,
        }
    }

    /// Whether the actor signed in with a password (not an API token).
    pub fn used_password(&self) -> bool {
        matches!(self, Actor::User(p) if p.credential == Credential::Password)
    }
}
