//! The server's advisory store snapshots: one row per import, the store itself in the
//! blob store by digest.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use wharf_core::Timestamp;
use wharf_oci::Digest;

use crate::error::parse_stored;
use crate::pool::col;
use crate::{Db, DbError};

/// One import: the store after it, and what it brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Increasing id: the newest snapshot is the store in use.
    pub id: i64,
    /// The store's JSON in the blob store.
    pub digest: Digest,
    /// What was imported (the archive's name).
    pub source: String,
    /// The newest `modified` among the advisories imported.
    pub snapshot: String,
    /// Advisories in the store after the import.
    pub total: u64,
    /// Advisories taken by this import.
    pub imported: u64,
    /// Withdrawn advisories skipped.
    pub withdrawn: u64,
    /// Files that were not valid OSV.
    pub invalid: u64,
    /// Advisories of this import per ecosystem.
    pub by_ecosystem: BTreeMap<String, u64>,
    /// Who imported it.
    pub imported_by: String,
    /// When.
    pub imported_at: Timestamp,
}

const COLUMNS: &str =
    "id, digest, source, snapshot, total, imported, withdrawn, invalid, by_ecosystem, imported_by, imported_at";

fn count(r: &AnyRow, name: &str) -> Result<u64, DbError> {
    Ok(u64::try_from(col::<i64>(r, name)?).unwrap_or(0))
}

fn snapshot_from_row(r: &AnyRow) -> Result<Snapshot, DbError> {
    let by: String = col(r, "by_ecosystem")?;
    Ok(Snapshot {
        id: col(r, "id")?,
        digest: parse_stored("advisory_snapshots.digest", &col::<String>(r, "digest")?)?,
        source: col(r, "source")?,
        snapshot: col(r, "snapshot")?,
        total: count(r, "total")?,
        imported: count(r, "imported")?,
        withdrawn: count(r, "withdrawn")?,
        invalid: count(r, "invalid")?,
        by_ecosystem: serde_json::from_str(&by)
            .map_err(|e| DbError::Corrupt(format!("advisory_snapshots.by_ecosystem = {by:?}: {e}")))?,
        imported_by: col(r, "imported_by")?,
        imported_at: Timestamp::from_millis(col(r, "imported_at")?),
    })
}

impl Db {
    /// Records a snapshot whose store (of `size` bytes) the blob store holds under
    /// `snapshot.digest`, touching the blob's row so garbage collection keeps it. The
    /// `id` of `snapshot` is ignored; the stored one is returned.
    pub async fn put_advisory_snapshot(&self, snapshot: &Snapshot, size: u64) -> Result<Snapshot, DbError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        sqlx::query(crate::registry::TOUCH_BLOB)
            .bind(snapshot.digest.as_str())
            .bind(i64::try_from(size).unwrap_or(i64::MAX))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let by = serde_json::to_string(&snapshot.by_ecosystem).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let sql = format!(
            "INSERT INTO advisory_snapshots (digest, source, snapshot, total, imported, withdrawn, invalid, by_ecosystem, imported_by, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
        );
        let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(snapshot.digest.as_str())
            .bind(&snapshot.source)
            .bind(&snapshot.snapshot)
            .bind(int(snapshot.total))
            .bind(int(snapshot.imported))
            .bind(int(snapshot.withdrawn))
            .bind(int(snapshot.invalid))
            .bind(by)
            .bind(&snapshot.imported_by)
            .bind(snapshot.imported_at.as_millis())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        snapshot_from_row(&row)
    }

    /// The snapshots, newest first, at most `limit`.
    pub async fn advisory_snapshots(&self, limit: u32) -> Result<Vec<Snapshot>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM advisory_snapshots ORDER BY id DESC LIMIT $1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit)).fetch_all(self.pool()).await?;
        rows.iter().map(snapshot_from_row).collect()
    }
}
