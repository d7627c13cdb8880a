//! The durable job queue's storage. The runner (`wharf-jobs`) knows nothing of what
//! jobs do; this module knows nothing of runners.
//!
//! Claiming takes a ready job (queued and due, or running with an expired lease: its
//! worker died) fairly: of the job's fairness key (whom it serves, e.g. a publisher),
//! the one with the fewest jobs running now, then the one served least recently, then
//! the oldest job. One key's flood of jobs thus takes turns with another key's one.
//! On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several
//! workers claim at once without waiting on each other; SQLite has one writer, which
//! `BEGIN IMMEDIATE` takes up front.

use std::time::Duration;

use sqlx::any::AnyRow;
use wharf_core::{JobId, Timestamp};

use crate::pool::col;
use crate::{Backend, Db, DbError};

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Id.
    pub id: JobId,
    /// What kind of job (its runner's name for it).
    pub kind: String,
    /// Its parameters, JSON.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Attempts allowed before the job is given up.
    pub max_attempts: u32,
}

/// Jobs by kind and state, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    /// Kind.
    pub kind: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// How many.
    pub count: i64,
}

fn job_from_row(r: &AnyRow) -> Result<JobRow, DbError> {
    Ok(JobRow {
        id: JobId(col(r, "id")?),
        kind: col(r, "kind")?,
        payload: col(r, "payload")?,
        attempts: u32::try_from(col::<i64>(r, "attempts")?).unwrap_or(u32::MAX),
        max_attempts: u32::try_from(col::<i64>(r, "max_attempts")?).unwrap_or(u32::MAX),
    })
}

/// A job to queue together with the change that calls for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Its kind.
    pub kind: String,
    /// Its input (JSON).
    pub payload: String,
    /// Whom it serves, for fair scheduling.
    pub fair_key: String,
    /// At most one queued or running job has this key.
    pub dedup_key: Option<String>,
    /// Runs before it is given up.
    pub max_attempts: u32,
}

impl Db {
    /// Queues a job. With a `dedup_key`, does nothing (returns `None`) while another
    /// job with that key is queued or running.
    /// Queues `job` inside `tx`, the transaction of the change that calls for it: the
    /// change and its follow-up work are committed together or not at all. A job whose
    /// dedup key is already queued is not queued again.
    pub(crate) async fn enqueue_in(tx: &mut crate::offers::Tx, job: &NewJob) -> Result<(), DbError> {
        let now = Timestamp::now().as_millis();
        sqlx::query(
            "INSERT INTO jobs (kind, payload, fair_key, state, dedup_key, max_attempts, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&job.kind)
        .bind(&job.payload)
        .bind(&job.fair_key)
        .bind(job.dedup_key.as_deref())
        .bind(i64::from(job.max_attempts))
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn enqueue_job(
        &self,
        kind: &str,
        payload: &str,
        fair_key: &str,
        dedup_key: Option<&str>,
        max_attempts: u32,
        run_after: Timestamp,
    ) -> Result<Option<JobId>, DbError> {
        let now = Timestamp::now().as_millis();
        let result = sqlx::query_scalar(
            "INSERT INTO jobs (kind, payload, fair_key, state, dedup_key, max_attempts, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(kind)
        .bind(payload)
        .bind(fair_key)
        .bind(dedup_key)
        .bind(i64::from(max_attempts))
        .bind(run_after.as_millis())
        .bind(now)
        .fetch_one(self.writes())
        .await;
        match result {
            Ok(id) => Ok(Some(JobId(id))),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Claims a ready job of one of `kinds`, fairly across fairness keys (see the
    /// module), leasing it for `lease`.
    pub async fn claim_job(&self, kinds: &[&str], worker: &str, lease: Duration) -> Result<Option<JobRow>, DbError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let now = Timestamp::now();
        let skip_locked = if self.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let select = format!(
            "SELECT j.id FROM jobs j \
             WHERE ((j.state = 'queued' AND j.run_after <= $1) OR (j.state = 'running' AND j.locked_until < $1)) \
             AND j.kind IN ({}) \
             ORDER BY (SELECT COUNT(*) FROM jobs r WHERE r.fair_key = j.fair_key AND r.state = 'running' AND r.locked_until >= $1), \
             (SELECT COALESCE(MAX(c.claimed_at), 0) FROM jobs c WHERE c.fair_key = j.fair_key), \
             j.run_after, j.id LIMIT 1{skip_locked}",
            crate::batch::placeholders(2, kinds.len())
        );
        let mut tx = self.begin_write().await?;
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(select)).bind(now.as_millis());
        for k in kinds {
            q = q.bind(*k);
        }
        let Some(id) = q.fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $1, locked_by = $2, \
             updated_at = $3, claimed_at = $3 WHERE id = $4 RETURNING id, kind, payload, attempts, max_attempts",
        )
        .bind(now.plus(lease).as_millis())
        .bind(worker)
        .bind(now.as_millis())
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        job_from_row(&row).map(Some)
    }

    /// Extends a running job's lease.
    pub async fn extend_job(&self, id: JobId, lease: Duration) -> Result<(), DbError> {
        sqlx::query("UPDATE jobs SET locked_until = $1 WHERE id = $2 AND state = 'running'")
            .bind(Timestamp::now().plus(lease).as_millis())
            .bind(id.0)
            .execute(self.writes())
            .await?;
        Ok(())
    }

    /// Marks a job done.
    pub async fn finish_job(&self, id: JobId) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE jobs SET state = 'done', locked_until = NULL, last_error = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(Timestamp::now().as_millis())
        .bind(id.0)
        .execute(self.writes())
        .await?;
        Ok(())
    }

    /// Records a failure: the job runs again at `retry_at`, or is given up (`None`).
    pub async fn fail_job(&self, id: JobId, error: &str, retry_at: Option<Timestamp>) -> Result<(), DbError> {
        let (state, run_after) = match retry_at {
            Some(t) => ("queued", t.as_millis()),
            None => ("failed", Timestamp::now().as_millis()),
        };
        let error: String = error.chars().take(2000).collect();
        sqlx::query(
            "UPDATE jobs SET state = $1, run_after = $2, locked_until = NULL, last_error = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(state)
        .bind(run_after)
        .bind(error)
        .bind(Timestamp::now().as_millis())
        .bind(id.0)
        .execute(self.writes())
        .await?;
        Ok(())
    }

    /// Deletes finished (done or failed) jobs last changed before `before`.
    pub async fn prune_jobs(&self, before: Timestamp) -> Result<u64, DbError> {
        let done = sqlx::query("DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated_at < $1")
            .bind(before.as_millis())
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected())
    }

    /// Jobs by kind and state.
    pub async fn job_counts(&self) -> Result<Vec<JobCount>, DbError> {
        let rows = sqlx::query("SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state ORDER BY kind, state")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok(JobCount { kind: col(r, "kind")?, state: col(r, "state")?, count: col(r, "n")? }))
            .collect()
    }

    /// A job's state and last error, for tests and operators.
    pub async fn job_state(&self, id: JobId) -> Result<Option<(String, Option<String>)>, DbError> {
        let row = sqlx::query("SELECT state, last_error FROM jobs WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(|r| Ok((col(r, "state")?, col(r, "last_error")?))).transpose()
    }
}
