//! The publishing pipeline's step records: one row per step of a submitted version,
//! updated as the step progresses, and the history estimates are learned from.

use std::time::Duration;

use sqlx::any::AnyRow;
use wharf_core::{OfferKey, PipelineStep, StepState, Timestamp};
use wharf_oci::Digest;

use crate::error::parse_stored;
use crate::pool::col;
use crate::{Db, DbError};

/// Work done of the total, in the units the steps count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes read (layers, blobs).
    pub bytes_done: u64,
    /// Bytes to read in all.
    pub bytes_total: u64,
    /// Images (platform images) finished.
    pub images_done: u64,
    /// Images in all.
    pub images_total: u64,
    /// Files read.
    pub files_done: u64,
}

/// A step of a version, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    /// The step.
    pub step: PipelineStep,
    /// Where it stands.
    pub state: StepState,
    /// Runs of the step so far (a crash or a retry starts it again).
    pub attempt: u32,
    /// When the current run started.
    pub started_at: Timestamp,
    /// When it finished, if it did.
    pub finished_at: Option<Timestamp>,
    /// Its progress.
    pub progress: Progress,
    /// What the outcome says (a failure's reason).
    pub message: Option<String>,
    /// The step's report in the blob store (certification's), if it wrote one.
    pub report: Option<Digest>,
}

const COLUMNS: &str = "step, state, attempt, started_at, finished_at, bytes_done, bytes_total, images_done, images_total, files_done, message, report_digest";

fn unsigned(r: &AnyRow, name: &str) -> Result<u64, DbError> {
    Ok(u64::try_from(col::<i64>(r, name)?).unwrap_or(0))
}

fn step_from_row(r: &AnyRow) -> Result<StepRow, DbError> {
    Ok(StepRow {
        step: parse_stored("pipeline_steps.step", &col::<String>(r, "step")?)?,
        state: parse_stored("pipeline_steps.state", &col::<String>(r, "state")?)?,
        attempt: u32::try_from(col::<i64>(r, "attempt")?).unwrap_or(u32::MAX),
        started_at: Timestamp::from_millis(col(r, "started_at")?),
        finished_at: col::<Option<i64>>(r, "finished_at")?.map(Timestamp::from_millis),
        progress: Progress {
            bytes_done: unsigned(r, "bytes_done")?,
            bytes_total: unsigned(r, "bytes_total")?,
            images_done: unsigned(r, "images_done")?,
            images_total: unsigned(r, "images_total")?,
            files_done: unsigned(r, "files_done")?,
        },
        message: col(r, "message")?,
        report: col::<Option<String>>(r, "report_digest")?
            .map(|d| parse_stored("pipeline_steps.report_digest", &d))
            .transpose()?,
    })
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How fast a step went on this instance: bytes per second over its last runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Bytes per second, over the runs.
    pub bytes_per_second: f64,
    /// Runs it was learned from.
    pub runs: u32,
}

impl Db {
    /// Records that `step` of the version starts (again: a run cut short by a crash, or a
    /// retry, counts one more attempt and starts from zero) with `total` work ahead.
    pub async fn start_step(
        &self,
        offer: OfferKey,
        version: i64,
        step: PipelineStep,
        total: Progress,
    ) -> Result<StepRow, DbError> {
        let now = Timestamp::now().as_millis();
        let sql = format!(
            "INSERT INTO pipeline_steps (offer, version, step, state, attempt, started_at, finished_at, bytes_done, bytes_total, images_done, images_total, files_done, message) \
             VALUES ($1, $2, $3, 'running', 1, $4, NULL, 0, $5, 0, $6, 0, NULL) \
             ON CONFLICT (offer, version, step) DO UPDATE SET state = 'running', attempt = pipeline_steps.attempt + 1, \
             started_at = excluded.started_at, finished_at = NULL, bytes_done = 0, bytes_total = excluded.bytes_total, \
             images_done = 0, images_total = excluded.images_total, files_done = 0, message = NULL \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(offer.0)
            .bind(version)
            .bind(step.as_str())
            .bind(now)
            .bind(int(total.bytes_total))
            .bind(int(total.images_total))
            .fetch_one(self.writes())
            .await?;
        step_from_row(&row)
    }

    /// Records a running step's progress (and the total, as far as it is known now).
    pub async fn step_progress(
        &self,
        offer: OfferKey,
        version: i64,
        step: PipelineStep,
        progress: Progress,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE pipeline_steps SET bytes_done = $1, images_done = $2, files_done = $3, bytes_total = $7 \
             WHERE offer = $4 AND version = $5 AND step = $6 AND state = 'running'",
        )
        .bind(int(progress.bytes_done))
        .bind(int(progress.images_done))
        .bind(int(progress.files_done))
        .bind(offer.0)
        .bind(version)
        .bind(step.as_str())
        .bind(int(progress.bytes_total))
        .execute(self.writes())
        .await?;
        Ok(())
    }

    /// Records how a running step ended. Returns `false` when it was not running (it
    /// ended already: the second of two reports changes nothing).
    pub async fn finish_step(
        &self,
        offer: OfferKey,
        version: i64,
        step: PipelineStep,
        state: StepState,
        message: Option<&str>,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE pipeline_steps SET state = $1, finished_at = $2, message = $3, bytes_done = bytes_total, images_done = images_total \
             WHERE offer = $4 AND version = $5 AND step = $6 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(Timestamp::now().as_millis())
        .bind(message)
        .bind(offer.0)
        .bind(version)
        .bind(step.as_str())
        .execute(self.writes())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the step's report, which the blob store holds under `digest` (`size`
    /// bytes), touching the blob's row so garbage collection keeps it.
    pub async fn set_step_report(
        &self,
        offer: OfferKey,
        version: i64,
        step: PipelineStep,
        digest: &Digest,
        size: u64,
    ) -> Result<(), DbError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(crate::registry::TOUCH_BLOB)
            .bind(digest.as_str())
            .bind(int(size))
            .bind(Timestamp::now().as_millis())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE pipeline_steps SET report_digest = $1 WHERE offer = $2 AND version = $3 AND step = $4")
            .bind(digest.as_str())
            .bind(offer.0)
            .bind(version)
            .bind(step.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The steps of a version, in pipeline order.
    pub async fn version_steps(&self, offer: OfferKey, version: i64) -> Result<Vec<StepRow>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM pipeline_steps WHERE offer = $1 AND version = $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(offer.0).bind(version).fetch_all(self.pool()).await?;
        let mut steps: Vec<StepRow> = rows.iter().map(step_from_row).collect::<Result<_, _>>()?;
        steps.sort_by_key(|s| PipelineStep::ALL.iter().position(|p| *p == s.step));
        Ok(steps)
    }

    /// How fast `step` went over its last `runs` passed runs on this instance (that
    /// read bytes), or `None` before the first.
    pub async fn step_pace(&self, step: PipelineStep, runs: u32) -> Result<Option<Pace>, DbError> {
        let rows = sqlx::query(
            "SELECT bytes_total, started_at, finished_at FROM pipeline_steps \
             WHERE step = $1 AND state = 'passed' AND bytes_total > 0 AND finished_at IS NOT NULL \
             ORDER BY finished_at DESC LIMIT $2",
        )
        .bind(step.as_str())
        .bind(i64::from(runs))
        .fetch_all(self.pool())
        .await?;
        let (mut bytes, mut millis, mut n) = (0u64, 0i64, 0u32);
        for r in &rows {
            bytes = bytes.saturating_add(unsigned(r, "bytes_total")?);
            millis += (col::<i64>(r, "finished_at")? - col::<i64>(r, "started_at")?).max(1);
            n += 1;
        }
        Ok((n > 0).then(|| Pace { bytes_per_second: bytes as f64 * 1000.0 / millis as f64, runs: n }))
    }
}

impl StepRow {
    /// The time left for a running step: the bytes still to read at the pace this
    /// instance learned (`pace`), or, before any history, at the pace of this run so far.
    /// `None` when nothing says (no history and nothing read yet) or when it is not running.
    pub fn estimate(&self, pace: Option<Pace>, now: Timestamp) -> Option<Duration> {
        if self.state != StepState::Running {
            return None;
        }
        let p = self.progress;
        let left = p.bytes_total.saturating_sub(p.bytes_done) as f64;
        let rate = match pace {
            Some(pace) if pace.bytes_per_second > 0.0 => pace.bytes_per_second,
            _ => {
                let elapsed = (now.as_millis() - self.started_at.as_millis()).max(1) as f64 / 1000.0;
                if p.bytes_done == 0 {
                    return None;
                }
                p.bytes_done as f64 / elapsed
            }
        };
        Some(Duration::from_secs_f64(left / rate))
    }
}
