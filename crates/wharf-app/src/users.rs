//! Users: the caller, accounts, passwords, enabled state.

use wharf_api_types::{CredentialKind, CurrentUserView, UserView};
use wharf_auth::password::NewPassword;
use wharf_auth::{Credential, Principal};
use wharf_core::{Email, PlatformAction, TokenScope, UserName};
use wharf_db::users::User;

use crate::input::invalid;
use crate::{Actor, App, AppError, Listed, Paging, Parsed, views};

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub name: Parsed<UserName>,
    /// Contact address.
    pub email: Parsed<Option<Email>>,
    /// `None` for an account that only uses tokens.
    pub password: Parsed<Option<NewPassword>>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub struct UserChanges {
    /// A new contact address, or `Some(None)` to clear it.
    pub email: Parsed<Option<Option<Email>>>,
    /// A new password.
    pub password: Parsed<Option<NewPassword>>,
    /// Disable (`true`) or re-enable the account.
    pub disabled: Option<bool>,
}

impl Default for UserChanges {
    fn default() -> Self {
        UserChanges { email: Ok(None), password: Ok(None), disabled: None }
    }
}

impl App {
    /// The signed-in user, with what their credential allows.
    pub async fn current_user(&self, principal: &Principal) -> Result<CurrentUserView, AppError> {
        Actor::User(principal.clone()).require(TokenScope::ApiRead)?;
        let user =
            self.db.user_by_id(principal.user_id).await?.ok_or_else(|| AppError::Internal("caller vanished".into()))?;
        Ok(CurrentUserView {
            user: views::user(&user),
            credential: match principal.credential {
                Credential::Password => CredentialKind::Password,
                Credential::ApiToken(_) => CredentialKind::ApiToken,
                Credential::PullSecret(_) => CredentialKind::PullSecret,
            },
            scopes: principal.scopes.iter().collect(),
            operator_role: principal.operator_role,
        })
    }

    /// Every user, by name (operators).
    pub async fn list_users(&self, actor: &Actor, paging: &Paging) -> Result<Listed<UserView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        if !actor.may_platform(PlatformAction::ReadAll) {
            return Err(AppError::Forbidden("listing users needs a role in an operator organization".into()));
        }
        let rows = self.db.list_users(paging.after.as_deref(), paging.fetch()).await?;
        Ok(Listed::from_rows(rows.iter().map(views::user).collect(), paging, |u| u.name.clone()))
    }

    /// Creates a user (operators with the `admin` scope).
    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<UserView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        if !actor.may_platform(PlatformAction::ManageUsers) {
            return Err(AppError::Forbidden(
                "creating users needs the owner or admin role in an operator organization and, for tokens, the admin scope"
                    .into(),
            ));
        }
        let (name, email, password) = match (new.name, new.email, new.password) {
            (Ok(name), Ok(email), Ok(password)) => (name, email, password),
            (name, email, password) => return Err(invalid([name.err(), password.err(), email.err()], Vec::new())),
        };
        let hash = match &password {
            Some(pw) => Some(pw.hash().await?),
            None => None,
        };
        let user = self
            .db
            .create_user(wharf_db::users::NewUser {
                name: &name,
                email: email.as_ref().map(Email::as_str),
                password_hash: hash.as_deref(),
            })
            .await?;
        tracing::info!(user.name = %user.name, by = %actor.name(), "user created");
        Ok(views::user(&user))
    }

    /// Looks up a user the actor may see: themselves, or anyone for operators.
    async fn visible_user(&self, actor: &Actor, name: &UserName) -> Result<User, AppError> {
        let not_found = || AppError::NotFound(format!("no user named {:?}", name.as_str()));
        let is_self = matches!(actor, Actor::User(p) if p.user_name == *name);
        if !is_self && !actor.may_platform(PlatformAction::ReadAll) {
            return Err(not_found());
        }
        self.db.user_by_name(name).await?.ok_or_else(not_found)
    }

    /// One user.
    pub async fn user(&self, actor: &Actor, name: &UserName) -> Result<UserView, AppError> {
        actor.require(TokenScope::ApiRead)?;
        Ok(views::user(&self.visible_user(actor, name).await?))
    }

    /// Changes a user: your own e-mail and password, or (operators) anyone's and their
    /// enabled state. Changing your own password needs password authentication, so a
    /// leaked API token cannot take over the account.
    pub async fn update_user(
        &self,
        actor: &Actor,
        name: &UserName,
        changes: UserChanges,
    ) -> Result<UserView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let user = self.visible_user(actor, name).await?;
        let is_self = actor.user_id() == Some(user.id);
        let manager = actor.may_platform(PlatformAction::ManageUsers);
        if !is_self && !manager {
            return Err(AppError::Forbidden("changing other users needs an operator role with the admin scope".into()));
        }
        if changes.disabled.is_some() && !manager {
            return Err(AppError::Forbidden("only operators may disable or enable accounts".into()));
        }
        if changes.disabled == Some(true) && is_self {
            return Err(AppError::Conflict("you cannot disable your own account".into()));
        }
        if !matches!(changes.password, Ok(None)) && is_self && !actor.used_password() {
            return Err(AppError::Forbidden(
                "changing your own password needs password authentication, not an API token".into(),
            ));
        }
        let (email, password) = match (changes.email, changes.password) {
            (Ok(email), Ok(password)) => (email, password),
            (email, password) => return Err(invalid([email.err(), password.err()], Vec::new())),
        };
        if let Some(email) = &email {
            self.db.set_email(user.id, email.as_ref().map(Email::as_str)).await?;
        }
        if let Some(pw) = &password {
            self.db.set_password_hash(user.id, &pw.hash().await?).await?;
        }
        if let Some(disabled) = changes.disabled {
            self.db.set_user_disabled(user.id, disabled).await?;
        }
        let updated = self
            .db
            .user_by_id(user.id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no user named {:?}", name.as_str())))?;
        tracing::info!(user.name = %updated.name, by = %actor.name(), "user updated");
        Ok(views::user(&updated))
    }

    /// A user by name, for use cases acting on someone (no visibility rule: callers
    /// have checked what the actor may do).
    pub(crate) async fn find_user(&self, name: &UserName) -> Result<User, AppError> {
        self.db
            .user_by_name(name)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no user named {:?}", name.as_str())))
    }
}
