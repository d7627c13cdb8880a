//! API tokens. Only a hash of each secret is stored; the secret is shown once.

use sqlx::any::AnyRow;
use wharf_core::{Timestamp, TokenId, TokenScopes, UserId};

use crate::error::{conflict, parse_stored};
use crate::pool::col;
use crate::{Db, DbError};

/// A stored API token (without its secret).
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// Public id.
    pub id: TokenId,
    /// Owner.
    pub user_id: UserId,
    /// The owner's label for it, unique among their active tokens.
    pub name: String,
    /// What it may be used for (intersected with the owner's roles).
    pub scopes: TokenScopes,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// Last successful use (updated at most once a minute).
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl ApiToken {
    /// Whether the token may authenticate at `now`.
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// What is needed to store a new token.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    /// Owner.
    pub user_id: UserId,
    /// Label.
    pub name: &'a str,
    /// Hash of the secret (see `wharf-auth`).
    pub secret_hash: &'a str,
    /// Scopes.
    pub scopes: &'a TokenScopes,
    /// Expiry.
    pub expires_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at";

fn from_row(row: &AnyRow) -> Result<ApiToken, DbError> {
    Ok(ApiToken {
        id: TokenId(col(row, "id")?),
        user_id: UserId(col(row, "user_id")?),
        name: col(row, "name")?,
        scopes: parse_stored("api_tokens.scopes", &col::<String>(row, "scopes")?)?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        expires_at: col::<Option<i64>>(row, "expires_at")?.map(Timestamp::from_millis),
        last_used_at: col::<Option<i64>>(row, "last_used_at")?.map(Timestamp::from_millis),
        revoked_at: col::<Option<i64>>(row, "revoked_at")?.map(Timestamp::from_millis),
    })
}

/// How stale `last_used_at` may get before a use writes it again: authentication
/// is on every registry request and must not turn reads into writes.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

impl Db {
    /// Stores a token. [`DbError::Conflict`] when the user has an active token of that name.
    pub async fn create_token(&self, new: NewToken<'_>) -> Result<ApiToken, DbError> {
        let sql = format!(
            "INSERT INTO api_tokens (user_id, name, secret_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(new.user_id.0)
            .bind(new.name)
            .bind(new.secret_hash)
            .bind(new.scopes.to_string())
            .bind(Timestamp::now().as_millis())
            .bind(new.expires_at.map(Timestamp::as_millis))
            .fetch_one(self.writes())
            .await
            .map_err(conflict(|| format!("an active token named {:?}", new.name)))?;
        from_row(&row)
    }

    /// Finds a token by the hash of its secret, whatever its state.
    pub async fn token_by_secret_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE secret_hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(secret_hash).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// A user's tokens (revoked ones included) by id, after `after`, at most `limit`.
    pub async fn list_tokens(
        &self,
        user: UserId,
        after: Option<TokenId>,
        limit: u32,
    ) -> Result<Vec<ApiToken>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.0)
            .bind(after.map_or(0, |t| t.0))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// One of a user's tokens.
    pub async fn token_of_user(&self, user: UserId, id: TokenId) -> Result<Option<ApiToken>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user.0).bind(id.0).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Revokes one of a user's tokens. Idempotent: returns the token (with its
    /// original revocation time) or `None` when the user has no such token.
    pub async fn revoke_token(&self, user: UserId, id: TokenId) -> Result<Option<ApiToken>, DbError> {
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE user_id = $2 AND id = $3 \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(Timestamp::now().as_millis())
            .bind(user.0)
            .bind(id.0)
            .fetch_optional(self.writes())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Records a use of the token, at most once per minute.
    pub async fn touch_token(&self, id: TokenId, now: Timestamp) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now.as_millis())
        .bind(id.0)
        .bind(now.as_millis() - LAST_USED_RESOLUTION_MS)
        .execute(self.writes())
        .await?;
        Ok(())
    }
}
