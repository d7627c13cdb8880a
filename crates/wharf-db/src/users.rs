//! Users.

use sqlx::any::AnyRow;
use wharf_core::{Timestamp, UserId, UserName};

use crate::error::{conflict, parse_stored};
use crate::pool::col;
use crate::{Db, DbError};

/// A stored user.
#[derive(Debug, Clone)]
pub struct User {
    /// Database id.
    pub id: UserId,
    /// Login name.
    pub name: UserName,
    /// Contact address, if given.
    pub email: Option<String>,
    /// Argon2 PHC string; `None` means the user cannot log in with a password.
    pub password_hash: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Set when the account is disabled: it can no longer authenticate.
    pub disabled_at: Option<Timestamp>,
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Login name.
    pub name: &'a UserName,
    /// Contact address.
    pub email: Option<&'a str>,
    /// Argon2 PHC string, or `None` for a user without a password.
    pub password_hash: Option<&'a str>,
}

const COLUMNS: &str = "id, name, email, password_hash, created_at, updated_at, disabled_at";

fn from_row(row: &AnyRow) -> Result<User, DbError> {
    Ok(User {
        id: UserId(col(row, "id")?),
        name: parse_stored("users.name", &col::<String>(row, "name")?)?,
        email: col(row, "email")?,
        password_hash: col(row, "password_hash")?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
        disabled_at: col::<Option<i64>>(row, "disabled_at")?.map(Timestamp::from_millis),
    })
}

impl Db {
    /// Creates a user; [`DbError::Conflict`] when the name is taken.
    pub async fn create_user(&self, new: NewUser<'_>) -> Result<User, DbError> {
        let now = Timestamp::now().as_millis();
        let sql = format!(
            "INSERT INTO users (name, email, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(new.name.as_str())
            .bind(new.email)
            .bind(new.password_hash)
            .bind(now)
            .fetch_one(self.writes())
            .await
            .map_err(conflict(|| format!("user {:?}", new.name.as_str())))?;
        from_row(&row)
    }

    /// Looks a user up by name.
    pub async fn user_by_name(&self, name: &UserName) -> Result<Option<User>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE name = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name.as_str()).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Looks a user up by id.
    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Users ordered by name, those after `after` (keyset pagination), at most `limit`.
    pub async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE name > $1 ORDER BY name LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Number of users (0 means the platform has not been bootstrapped).
    pub async fn count_users(&self) -> Result<i64, DbError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(self.pool()).await?)
    }

    /// Replaces a user's password hash. Returns whether the user exists.
    pub async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<bool, DbError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(Timestamp::now().as_millis())
            .bind(id.0)
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Changes a user's contact address. Returns whether the user exists.
    pub async fn set_email(&self, id: UserId, email: Option<&str>) -> Result<bool, DbError> {
        let done = sqlx::query("UPDATE users SET email = $1, updated_at = $2 WHERE id = $3")
            .bind(email)
            .bind(Timestamp::now().as_millis())
            .bind(id.0)
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disables or re-enables an account. Returns whether the user exists.
    pub async fn set_user_disabled(&self, id: UserId, disabled: bool) -> Result<bool, DbError> {
        let now = Timestamp::now().as_millis();
        // Keep the original time when disabling twice.
        let done = sqlx::query(
            "UPDATE users SET disabled_at = CASE WHEN $1 = 1 THEN COALESCE(disabled_at, $2) ELSE NULL END, \
             updated_at = $2 WHERE id = $3",
        )
        .bind(i64::from(disabled))
        .bind(now)
        .bind(id.0)
        .execute(self.writes())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
