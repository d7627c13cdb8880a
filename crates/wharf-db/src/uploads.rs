//! Upload sessions of the registry: rows bound to a repository and a principal, with a
//! write lease, capped per principal and per repository.

use sqlx::any::AnyRow;
use wharf_core::{RepositoryId, Timestamp};

use crate::pool::col;
use crate::registry::size_i64;
use crate::{Db, DbError};

/// Caps on open upload sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadCaps {
    /// Sessions one principal may have open.
    pub per_principal: u64,
    /// Sessions one repository may have open.
    pub per_repository: u64,
}

/// The cap a new upload session would go past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadCapReached {
    /// The principal's.
    Principal {
        /// Sessions it has open.
        open: u64,
        /// The cap.
        cap: u64,
    },
    /// The repository's.
    Repository {
        /// Sessions it has open.
        open: u64,
        /// The cap.
        cap: u64,
    },
}

/// An upload session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Session id (a UUID).
    pub id: String,
    /// Repository it uploads into.
    pub repository_id: RepositoryId,
    /// The user name that started it (empty: anonymous); only they may continue it.
    pub principal: String,
    /// Bytes received so far.
    pub size: u64,
    /// Blob store bookkeeping.
    pub parts: String,
    /// Start time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

fn upload_from_row(r: &AnyRow) -> Result<Upload, DbError> {
    Ok(Upload {
        id: col(r, "id")?,
        repository_id: RepositoryId(col(r, "repository_id")?),
        principal: col(r, "principal")?,
        size: u64::try_from(col::<i64>(r, "size")?).unwrap_or(0),
        parts: col(r, "parts")?,
        created_at: Timestamp::from_millis(col(r, "created_at")?),
        updated_at: Timestamp::from_millis(col(r, "updated_at")?),
    })
}

impl Db {
    /// Starts an upload session.
    pub async fn create_upload(&self, upload: &Upload) -> Result<(), DbError> {
        insert_upload(upload).execute(self.writes()).await?;
        Ok(())
    }

    /// Starts an upload session unless its principal or its repository already has
    /// `caps` sessions open (touched since `live_since`); then says which cap it met.
    /// On PostgreSQL the repository's row is locked meanwhile, so concurrent starts
    /// in one repository cannot pass its cap together.
    pub async fn create_upload_capped(
        &self,
        upload: &Upload,
        live_since: Timestamp,
        caps: UploadCaps,
    ) -> Result<Result<(), UploadCapReached>, DbError> {
        let mut tx = self.begin_write().await?;
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SELECT id FROM repositories WHERE id = $1 FOR UPDATE")
                .bind(upload.repository_id.0)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let by_principal: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM uploads WHERE principal = $1 AND updated_at >= $2")
                .bind(&upload.principal)
                .bind(live_since.as_millis())
                .fetch_one(&mut *tx)
                .await?;
        if by_principal as u64 >= caps.per_principal {
            return Ok(Err(UploadCapReached::Principal { open: by_principal as u64, cap: caps.per_principal }));
        }
        let by_repository: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM uploads WHERE repository_id = $1 AND updated_at >= $2")
                .bind(upload.repository_id.0)
                .bind(live_since.as_millis())
                .fetch_one(&mut *tx)
                .await?;
        if by_repository as u64 >= caps.per_repository {
            return Ok(Err(UploadCapReached::Repository { open: by_repository as u64, cap: caps.per_repository }));
        }
        insert_upload(upload).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// An upload session.
    pub async fn upload(&self, id: &str) -> Result<Option<Upload>, DbError> {
        let row = sqlx::query(
            "SELECT id, repository_id, principal, size, parts, created_at, updated_at FROM uploads WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(upload_from_row).transpose()
    }

    /// Records progress, only if the session is still at `expected_size` (two
    /// writers of one session cannot both advance it). Returns whether it applied.
    ///
    /// With `release_lease`, the write lease is given back in the same statement:
    /// for an append whose client went away, so that the client's next request,
    /// which may come as soon as it sees the new size, finds the session free.
    pub async fn advance_upload(
        &self,
        id: &str,
        expected_size: u64,
        upload: &Upload,
        release_lease: bool,
    ) -> Result<bool, DbError> {
        let sql = if release_lease {
            "UPDATE uploads SET size = $1, parts = $2, updated_at = $3, busy_until = NULL WHERE id = $4 AND size = $5"
        } else {
            "UPDATE uploads SET size = $1, parts = $2, updated_at = $3 WHERE id = $4 AND size = $5"
        };
        let done = sqlx::query(sql)
            .bind(size_i64(upload.size))
            .bind(&upload.parts)
            .bind(Timestamp::now().as_millis())
            .bind(id)
            .bind(size_i64(expected_size))
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes the session's write lease until `until`, unless another request holds
    /// an unexpired one. Returns whether it was taken.
    pub async fn claim_upload(&self, id: &str, until: Timestamp) -> Result<bool, DbError> {
        let done =
            sqlx::query("UPDATE uploads SET busy_until = $1 WHERE id = $2 AND (busy_until IS NULL OR busy_until < $3)")
                .bind(until.as_millis())
                .bind(id)
                .bind(Timestamp::now().as_millis())
                .execute(self.writes())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives back the write lease taken until `until`; a lease taken since by
    /// another request (after this one's expired or was released) is left alone.
    pub async fn release_upload(&self, id: &str, until: Timestamp) -> Result<(), DbError> {
        sqlx::query("UPDATE uploads SET busy_until = NULL WHERE id = $1 AND busy_until = $2")
            .bind(id)
            .bind(until.as_millis())
            .execute(self.writes())
            .await?;
        Ok(())
    }

    /// Ends an upload session. Returns whether it existed.
    pub async fn delete_upload(&self, id: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM uploads WHERE id = $1").bind(id).execute(self.writes()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sessions untouched since `before`, oldest first, at most `limit`.
    pub async fn stale_uploads(&self, before: Timestamp, limit: u32) -> Result<Vec<Upload>, DbError> {
        let rows = sqlx::query(
            "SELECT id, repository_id, principal, size, parts, created_at, updated_at FROM uploads \
             WHERE updated_at < $1 ORDER BY updated_at LIMIT $2",
        )
        .bind(before.as_millis())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(upload_from_row).collect()
    }
}

/// The statement that stores a new upload session.
fn insert_upload(upload: &Upload) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(
        "INSERT INTO uploads (id, repository_id, principal, size, parts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&upload.id)
    .bind(upload.repository_id.0)
    .bind(&upload.principal)
    .bind(size_i64(upload.size))
    .bind(&upload.parts)
    .bind(upload.created_at.as_millis())
    .bind(upload.updated_at.as_millis())
}
