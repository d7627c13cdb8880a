//! Queries of garbage collection. Every deletion re-checks its condition in the same
//! statement or transaction, so running collections concurrently with pushes, mounts
//! or each other never removes anything still in use.

use std::collections::HashSet;

use wharf_core::{RepositoryId, Timestamp};
use wharf_oci::Digest;

use crate::error::parse_stored;
use crate::pool::col;
use crate::{Backend, Db, DbError};

/// Links made before `cutoff` of blobs that no manifest of their repository uses. The
/// table is named in full, not aliased: SQLite takes no alias on DELETE's table, and
/// the SELECT and the DELETE share this text on both databases.
const UNREFERENCED_LINK: &str = "repository_blobs.created_at < $1 \
    AND NOT EXISTS (SELECT 1 FROM manifest_references mr \
        WHERE mr.repository_id = repository_blobs.repository_id AND mr.digest = repository_blobs.digest) \
    AND NOT EXISTS (SELECT 1 FROM manifests m \
        WHERE m.repository_id = repository_blobs.repository_id AND m.digest = repository_blobs.digest)";

impl Db {
    /// Up to `limit` links of blobs no manifest of their repository references,
    /// made before `cutoff` (layers pushed but never used by a manifest).
    pub async fn unreferenced_links(
        &self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<Vec<(RepositoryId, Digest)>, DbError> {
        let sql = format!(
            "SELECT repository_blobs.repository_id, repository_blobs.digest FROM repository_blobs \
             WHERE {UNREFERENCED_LINK} LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(cutoff.as_millis())
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let digest = parse_stored("repository_blobs.digest", &col::<String>(r, "digest")?)?;
                Ok((RepositoryId(col(r, "repository_id")?), digest))
            })
            .collect()
    }

    /// Removes one such link if it still qualifies. Returns whether it did.
    pub async fn remove_unreferenced_link(
        &self,
        repository: RepositoryId,
        digest: &Digest,
        cutoff: Timestamp,
    ) -> Result<bool, DbError> {
        let sql = format!(
            "DELETE FROM repository_blobs WHERE repository_blobs.repository_id = $2 \
             AND repository_blobs.digest = $3 AND {UNREFERENCED_LINK}"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(cutoff.as_millis())
            .bind(repository.0)
            .bind(digest.as_str())
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Up to `limit` blobs linked to no repository and used by no offer media, advisory
    /// snapshot or step report, and untouched since `cutoff`.
    pub async fn orphan_blobs(&self, cutoff: Timestamp, limit: u32) -> Result<Vec<(Digest, u64)>, DbError> {
        let rows = sqlx::query(
            "SELECT b.digest, b.size FROM blobs b WHERE b.touched_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest) \
             AND NOT EXISTS (SELECT 1 FROM offer_media om WHERE om.digest = b.digest) \
             AND NOT EXISTS (SELECT 1 FROM advisory_snapshots s WHERE s.digest = b.digest) \
             AND NOT EXISTS (SELECT 1 FROM pipeline_steps p WHERE p.report_digest = b.digest) LIMIT $2",
        )
        .bind(cutoff.as_millis())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    parse_stored("blobs.digest", &col::<String>(r, "digest")?)?,
                    u64::try_from(col::<i64>(r, "size")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// Deletes an orphan blob: in one write transaction that holds the blob's row,
    /// re-checks that it is linked nowhere and untouched since `cutoff`, runs
    /// `delete_bytes`, then deletes the row (with a manifest's bytes kept in the
    /// database, if the blob is a manifest). A push touching the blob meanwhile
    /// waits for this transaction, then finds no row and writes the bytes anew.
    /// Returns whether the blob was deleted.
    pub async fn delete_orphan_blob<F, Fut, E>(
        &self,
        digest: &Digest,
        cutoff: Timestamp,
        delete_bytes: F,
    ) -> Result<bool, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
        E: From<DbError>,
    {
        let mut tx = self.begin_write().await?;
        let lock = if self.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT touched_at FROM blobs WHERE digest = $1{lock}");
        let touched: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(digest.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(DbError::from)?;
        let linked: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM repository_blobs WHERE digest = $1) + (SELECT COUNT(*) FROM offer_media WHERE digest = $1) \
             + (SELECT COUNT(*) FROM advisory_snapshots WHERE digest = $1) \
             + (SELECT COUNT(*) FROM pipeline_steps WHERE report_digest = $1)",
        )
            .bind(digest.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(DbError::from)?;
        if touched.is_none_or(|t| t >= cutoff.as_millis()) || linked > 0 {
            return Ok(false);
        }
        delete_bytes().await?;
        for sql in ["DELETE FROM manifest_contents WHERE digest = $1", "DELETE FROM blobs WHERE digest = $1"] {
            sqlx::query(sql).bind(digest.as_str()).execute(&mut *tx).await.map_err(DbError::from)?;
        }
        tx.commit().await.map_err(DbError::from)?;
        Ok(true)
    }

    /// Records a blob found in the store but unknown to the database as an orphan
    /// untouched since the epoch, so [`Db::delete_orphan_blob`] can collect it under
    /// the same lock and re-check as any orphan. A row that exists is left as it is.
    pub async fn adopt_stray_blob(&self, digest: &Digest, size: u64) -> Result<(), DbError> {
        sqlx::query("INSERT INTO blobs (digest, size, created_at, touched_at) VALUES ($1, $2, 0, 0) ON CONFLICT (digest) DO NOTHING")
            .bind(digest.as_str())
            .bind(i64::try_from(size).unwrap_or(i64::MAX))
            .execute(self.writes())
            .await?;
        Ok(())
    }

    /// Whether the registry knows a blob (for the sweep of the store).
    pub async fn blob_known(&self, digest: &Digest) -> Result<bool, DbError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blobs WHERE digest = $1")
            .bind(digest.as_str())
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }

    /// Ids of every upload session, whose bytes the sweep must keep.
    pub async fn upload_ids(&self) -> Result<HashSet<String>, DbError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM uploads").fetch_all(self.pool()).await?;
        Ok(ids.into_iter().collect())
    }
}
