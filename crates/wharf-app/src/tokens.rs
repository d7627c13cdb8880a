//! API tokens: created with a password (a token cannot mint tokens), listed, revoked.

use std::time::Duration;

use wharf_api_types::{CreatedTokenView, FieldError, TokenView};
use wharf_core::{Timestamp, TokenId, TokenName, TokenScope, TokenScopes, UserName};
use wharf_db::users::User;

use crate::input::invalid;
use crate::{Actor, App, AppError, Listed, Paging, Parsed, views};

/// Longest token lifetime, in days.
pub const MAX_TOKEN_DAYS: u32 = 3650;
/// Token lifetime when none is asked for, in days.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Label, unique among the owner's active tokens.
    pub name: Parsed<TokenName>,
    /// What it may be used for.
    pub scopes: Parsed<TokenScopes>,
    /// Lifetime, 1 to [`MAX_TOKEN_DAYS`] days.
    pub expires_in_days: u32,
}

impl App {
    /// Whose tokens the actor works on: their own, or (the console) anyone's.
    async fn token_owner(&self, actor: &Actor, owner: Option<&UserName>) -> Result<User, AppError> {
        match (actor, owner) {
            (Actor::User(p), None) => {
                self.db.user_by_id(p.user_id).await?.ok_or_else(|| AppError::Internal("caller vanished".into()))
            }
            (Actor::User(p), Some(name)) if *name == p.user_name => {
                self.db.user_by_id(p.user_id).await?.ok_or_else(|| AppError::Internal("caller vanished".into()))
            }
            (Actor::User(_), Some(_)) => Err(AppError::Forbidden("you may only manage your own API tokens".into())),
            (Actor::Console, Some(name)) => self.find_user(name).await,
            (Actor::Console, None) => Err(AppError::BadRequest("name the user whose tokens to manage".into())),
        }
    }

    /// Creates a token for `owner` (default: the acting user). Needs password
    /// authentication: a token cannot mint tokens. The secret is returned this once.
    pub async fn create_token(
        &self,
        actor: &Actor,
        owner: Option<&UserName>,
        new: NewToken,
    ) -> Result<CreatedTokenView, AppError> {
        if matches!(actor, Actor::User(_)) && !actor.used_password() {
            return Err(AppError::Forbidden(
                "creating API tokens needs password authentication, not an API token".into(),
            ));
        }
        let days = new.expires_in_days;
        let mut found = Vec::new();
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            found.push(FieldError::new(
                "/expires_in_days",
                format!("must be between 1 and {MAX_TOKEN_DAYS} (got {days})"),
            ));
        }
        let (name, scopes) = match (new.name, new.scopes) {
            (Ok(name), Ok(scopes)) if found.is_empty() => (name, scopes),
            (name, scopes) => return Err(invalid([name.err(), scopes.err()], found)),
        };
        let user = self.token_owner(actor, owner).await?;
        let expires_at = Timestamp::now().plus(Duration::from_secs(u64::from(days) * 86_400));
        let (token, secret) = self.auth.create_api_token(&user, name.as_str(), &scopes, Some(expires_at)).await?;
        tracing::info!(user.name = %user.name, token.id = %token.id, scopes = %scopes, by = %actor.name(), "API token created");
        Ok(CreatedTokenView { token: views::token(&token), secret })
    }

    /// The tokens of `owner` (default: the acting user), revoked and expired ones included.
    pub async fn list_tokens(
        &self,
        actor: &Actor,
        owner: Option<&UserName>,
        paging: &Paging,
    ) -> Result<Listed<TokenView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let user = self.token_owner(actor, owner).await?;
        let after = match &paging.after {
            Some(a) => Some(TokenId(a.parse().map_err(|_| AppError::BadRequest("invalid cursor".into()))?)),
            None => None,
        };
        let rows = self.db.list_tokens(user.id, after, paging.fetch()).await?;
        Ok(Listed::from_rows(rows.iter().map(views::token).collect(), paging, |t| t.id.to_string()))
    }

    /// Revokes a token of `owner` (default: the acting user). Idempotent.
    pub async fn revoke_token(&self, actor: &Actor, owner: Option<&UserName>, id: TokenId) -> Result<(), AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let user = self.token_owner(actor, owner).await?;
        let not_found = || match owner {
            Some(name) => AppError::NotFound(format!("{name} has no token with id {id}")),
            None => AppError::NotFound(format!("you have no token with id \"{id}\"")),
        };
        let revoked = self.db.revoke_token(user.id, id).await?.ok_or_else(not_found)?;
        tracing::info!(user.name = %user.name, token.id = %revoked.id, by = %actor.name(), "API token revoked");
        Ok(())
    }
}
