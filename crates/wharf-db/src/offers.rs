//! Offers: drafts (one JSON document each, revisioned), submitted versions, history
//! events and listing media.
//!
//! The document itself is opaque here (`wharf-offer` owns its shape and rules); this
//! module keeps the lifecycle consistent: every change to an offer and the event
//! that records it are written in one transaction, and a draft changes only if the
//! caller saw its current revision.

use sqlx::any::AnyRow;
use wharf_core::{OfferEvent, OfferId, OfferKey, OfferState, OrgId, PlanId, Timestamp, VersionStatus};
use wharf_oci::{Digest, RepositoryName};

use crate::error::{conflict, parse_stored};
use crate::pool::col;
use crate::{Backend, Db, DbError};

/// A stored offer.
#[derive(Debug, Clone)]
pub struct OfferRow {
    /// Database key.
    pub pk: OfferKey,
    /// The owning publisher organization.
    pub org_id: OrgId,
    /// The offer id, unique within the organization.
    pub offer_id: OfferId,
    /// Lifecycle state.
    pub state: OfferState,
    /// The draft document (JSON).
    pub draft: String,
    /// The draft's revision: its ETag.
    pub revision: i64,
    /// Plans stop-sold while the offer sells others.
    pub stopped_plans: Vec<PlanId>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A submitted version.
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// 1, 2, …
    pub version: i64,
    /// The document as submitted, tags resolved (JSON).
    pub document: String,
    /// Where it stands.
    pub status: VersionStatus,
    /// Who submitted it.
    pub submitted_by: String,
    /// When.
    pub submitted_at: Timestamp,
    /// Last status change.
    pub updated_at: Timestamp,
}

/// One history event.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Increasing id: the order of events.
    pub id: i64,
    /// What happened.
    pub kind: OfferEvent,
    /// What it concerns (a plan id, a version number), if anything.
    pub detail: Option<String>,
    /// Who did it.
    pub actor: String,
    /// When.
    pub at: Timestamp,
}

/// An uploaded listing image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRow {
    /// Content digest; the bytes are the blob store's.
    pub digest: Digest,
    /// `image/png` or `image/jpeg`.
    pub media_type: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Bytes.
    pub size: u64,
}

/// What a submission freezes besides its document.
#[derive(Debug, Clone, Copy, Default)]
pub struct Frozen<'a> {
    /// Each image by repository and digest: pinned against deletion while the version
    /// is certified and packaged (an index's entries with it).
    pub images: &'a [(RepositoryName, Digest)],
    /// The customer organizations (names) that may pull the version in preview.
    pub audience: &'a [String],
}

/// Why an offer write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum OfferWriteError {
    /// The caller's revision is not the draft's.
    #[error("the draft changed since revision {expected}: it is at revision {current}")]
    RevisionMismatch {
        /// What the caller saw.
        expected: i64,
        /// What is stored.
        current: i64,
    },
    /// The offer is gone.
    #[error("the offer does not exist")]
    NotFound,
    /// The offer's state does not allow the change.
    #[error("{0}")]
    WrongState(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for OfferWriteError {
    fn from(e: sqlx::Error) -> Self {
        OfferWriteError::Db(e.into())
    }
}

const OFFER_COLUMNS: &str = "id, org_id, offer_id, state, draft, revision, stopped_plans, created_at, updated_at";
const VERSION_COLUMNS: &str = "version, document, status, submitted_by, submitted_at, updated_at";

fn offer_from_row(r: &AnyRow) -> Result<OfferRow, DbError> {
    let stopped: String = col(r, "stopped_plans")?;
    Ok(OfferRow {
        pk: OfferKey(col(r, "id")?),
        org_id: OrgId(col(r, "org_id")?),
        offer_id: parse_stored("offers.offer_id", &col::<String>(r, "offer_id")?)?,
        state: parse_stored("offers.state", &col::<String>(r, "state")?)?,
        draft: col(r, "draft")?,
        revision: col(r, "revision")?,
        stopped_plans: serde_json::from_str(&stopped)
            .map_err(|e| DbError::Corrupt(format!("offers.stopped_plans = {stopped:?}: {e}")))?,
        created_at: Timestamp::from_millis(col(r, "created_at")?),
        updated_at: Timestamp::from_millis(col(r, "updated_at")?),
    })
}

fn version_from_row(r: &AnyRow) -> Result<VersionRow, DbError> {
    Ok(VersionRow {
        version: col(r, "version")?,
        document: col(r, "document")?,
        status: parse_stored("offer_versions.status", &col::<String>(r, "status")?)?,
        submitted_by: col(r, "submitted_by")?,
        submitted_at: Timestamp::from_millis(col(r, "submitted_at")?),
        updated_at: Timestamp::from_millis(col(r, "updated_at")?),
    })
}

pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

pub(crate) async fn record(
    tx: &mut Tx,
    offer: OfferKey,
    kind: OfferEvent,
    detail: Option<&str>,
    actor: &str,
    at: i64,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO offer_events (offer, kind, detail, actor, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(offer.0)
        .bind(kind.as_str())
        .bind(detail)
        .bind(actor)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves version `version` from status `from` to `to` and, if it moved, the offer to
/// `state`, recording `event` with `detail`: the pipeline's transitions, each
/// conditional on where the version stands. Returns whether it moved.
#[allow(clippy::too_many_arguments, reason = "one transition, named field by field at each call")]
pub(crate) async fn move_version(
    tx: &mut Tx,
    pk: OfferKey,
    version: i64,
    from: VersionStatus,
    to: VersionStatus,
    state: OfferState,
    event: (OfferEvent, &str),
    actor: &str,
    now: i64,
) -> Result<bool, DbError> {
    let moved = sqlx::query(
        "UPDATE offer_versions SET status = $1, updated_at = $2 WHERE offer = $3 AND version = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(pk.0)
    .bind(version)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if moved {
        sqlx::query("UPDATE offers SET state = $1, updated_at = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(now)
            .bind(pk.0)
            .execute(&mut **tx)
            .await?;
        record(tx, pk, event.0, Some(event.1), actor, now).await?;
    }
    Ok(moved)
}

/// Where an offer with a live version rests: stop-sold if the latest of its stop-sell
/// and resume events is a stop-sell, else live.
pub(crate) async fn resting_state(tx: &mut Tx, pk: OfferKey) -> Result<OfferState, DbError> {
    let last_selling_event: Option<String> = sqlx::query_scalar(
        "SELECT kind FROM offer_events WHERE offer = $1 AND kind IN ('stop_sold', 'resumed') ORDER BY id DESC LIMIT 1",
    )
    .bind(pk.0)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(if last_selling_event.as_deref() == Some(OfferEvent::StopSold.as_str()) {
        OfferState::StopSold
    } else {
        OfferState::Live
    })
}

impl Db {
    /// Creates an offer whose draft is `draft`, recording its creation and each of
    /// `plans` in its history. [`DbError::Conflict`] when the id is taken.
    pub async fn create_offer(
        &self,
        org: OrgId,
        offer_id: &OfferId,
        draft: &str,
        plans: &[PlanId],
        actor: &str,
    ) -> Result<OfferRow, DbError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO offers (org_id, offer_id, state, draft, revision, created_at, updated_at) \
             VALUES ($1, $2, 'draft', $3, 1, $4, $4) RETURNING {OFFER_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.0)
            .bind(offer_id.as_str())
            .bind(draft)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(conflict(|| format!("offer \"{offer_id}\"")))?;
        let offer = offer_from_row(&row)?;
        record(&mut tx, offer.pk, OfferEvent::OfferCreated, None, actor, now).await?;
        for plan in plans {
            record(&mut tx, offer.pk, OfferEvent::PlanCreated, Some(plan.as_str()), actor, now).await?;
        }
        tx.commit().await?;
        Ok(offer)
    }

    /// The offer `offer_id` of an organization.
    pub async fn offer(&self, org: OrgId, offer_id: &OfferId) -> Result<Option<OfferRow>, DbError> {
        let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE org_id = $1 AND offer_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.0)
            .bind(offer_id.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    /// An organization's offers ordered by id, after `after`, at most `limit`.
    pub async fn list_offers(&self, org: OrgId, after: Option<&str>, limit: u32) -> Result<Vec<OfferRow>, DbError> {
        let sql = format!(
            "SELECT {OFFER_COLUMNS} FROM offers WHERE org_id = $1 AND offer_id > $2 ORDER BY offer_id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.0)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(offer_from_row).collect()
    }

    /// Locks the offer row for the rest of the transaction (PostgreSQL; SQLite's
    /// write transaction already excludes other writers) and reads it.
    pub(crate) async fn lock_offer(&self, tx: &mut Tx, pk: OfferKey) -> Result<OfferRow, OfferWriteError> {
        let lock = if self.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1{lock}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pk.0).fetch_optional(&mut **tx).await?;
        Ok(offer_from_row(&row.ok_or(OfferWriteError::NotFound)?)?)
    }

    /// Replaces the draft if it is still at `expected` revision, recording `events`.
    pub async fn update_draft(
        &self,
        pk: OfferKey,
        expected: i64,
        draft: &str,
        events: &[(OfferEvent, Option<String>)],
        actor: &str,
    ) -> Result<OfferRow, OfferWriteError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        let current = self.lock_offer(&mut tx, pk).await?;
        if current.revision != expected {
            return Err(OfferWriteError::RevisionMismatch { expected, current: current.revision });
        }
        let sql = format!(
            "UPDATE offers SET draft = $1, revision = revision + 1, updated_at = $2 WHERE id = $3 RETURNING {OFFER_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(draft).bind(now).bind(pk.0).fetch_one(&mut *tx).await?;
        for (kind, detail) in events {
            record(&mut tx, pk, *kind, detail.as_deref(), actor, now).await?;
        }
        tx.commit().await?;
        Ok(offer_from_row(&row)?)
    }

    /// Freezes `document` as the offer's next version (status `submitted`) and puts
    /// the offer in `publish_in_progress`, queuing `then(version)` (the pipeline's first
    /// job) in the same transaction, if the draft is still at `expected`
    /// revision (when given) and no other version is in progress.
    pub async fn submit_version(
        &self,
        pk: OfferKey,
        expected: Option<i64>,
        document: &str,
        frozen: Frozen<'_>,
        then: Option<&(dyn Fn(i64) -> crate::jobs::NewJob + Sync)>,
        actor: &str,
    ) -> Result<(OfferRow, VersionRow), OfferWriteError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        let current = self.lock_offer(&mut tx, pk).await?;
        if let Some(expected) = expected
            && current.revision != expected
        {
            return Err(OfferWriteError::RevisionMismatch { expected, current: current.revision });
        }
        // A version the pipeline stopped is replaced by the new submission (the
        // publisher fixed the offer or the image).
        sqlx::query(
            "UPDATE offer_versions SET status = 'cancelled', updated_at = $1 WHERE offer = $2 AND status = 'attention_needed'",
        )
        .bind(now)
        .bind(pk.0)
        .execute(&mut *tx)
        .await?;
        // So is a version in preview not yet signed off: its preview ends.
        let preview: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM offer_versions v WHERE offer = $1 AND status = 'preview' AND NOT EXISTS \
             (SELECT 1 FROM pipeline_steps s WHERE s.offer = v.offer AND s.version = v.version AND s.step = 'go_live')",
        )
        .bind(pk.0)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(replaced) = preview {
            crate::publishing::end_preview(&mut tx, pk, replaced, now).await?;
            let detail = format!("{replaced}: replaced by a new submission");
            record(&mut tx, pk, OfferEvent::Cancelled, Some(&detail), actor, now).await?;
        }
        let in_progress: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM offer_versions WHERE offer = $1 AND status IN ('submitted', 'attention_needed', 'preview')",
        )
        .bind(pk.0)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(v) = in_progress {
            return Err(OfferWriteError::WrongState(format!(
                "version {v} is still being published; cancel it (wharf offer cancel) or wait for it to go live"
            )));
        }
        let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM offer_versions WHERE offer = $1")
            .bind(pk.0)
            .fetch_one(&mut *tx)
            .await?;
        let sql = format!(
            "INSERT INTO offer_versions (offer, version, document, status, submitted_by, submitted_at, updated_at) \
             VALUES ($1, $2, $3, 'submitted', $4, $5, $5) RETURNING {VERSION_COLUMNS}"
        );
        let version = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(pk.0)
            .bind(next)
            .bind(document)
            .bind(actor)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        crate::publishing::freeze(&mut tx, pk, next, frozen).await?;
        if let Some(job) = then {
            Db::enqueue_in(&mut tx, &job(next)).await?;
        }
        let sql = format!(
            "UPDATE offers SET state = 'publish_in_progress', updated_at = $1 WHERE id = $2 RETURNING {OFFER_COLUMNS}"
        );
        let offer = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(pk.0).fetch_one(&mut *tx).await?;
        record(&mut tx, pk, OfferEvent::Submitted, Some(&next.to_string()), actor, now).await?;
        tx.commit().await?;
        Ok((offer_from_row(&offer)?, version_from_row(&version)?))
    }

    /// Every version of an offer, newest first.
    pub async fn offer_versions(&self, pk: OfferKey) -> Result<Vec<VersionRow>, DbError> {
        let sql = format!("SELECT {VERSION_COLUMNS} FROM offer_versions WHERE offer = $1 ORDER BY version DESC");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pk.0).fetch_all(self.pool()).await?;
        rows.iter().map(version_from_row).collect()
    }

    /// The versions of several offers in one query, newest first per offer.
    pub async fn versions_of_offers(&self, pks: &[OfferKey]) -> Result<Vec<(OfferKey, VersionRow)>, DbError> {
        let mut out = Vec::new();
        for chunk in pks.chunks(500) {
            let sql = format!(
                "SELECT offer, {VERSION_COLUMNS} FROM offer_versions WHERE offer IN ({}) ORDER BY offer, version DESC",
                crate::batch::placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for pk in chunk {
                q = q.bind(pk.0);
            }
            for r in q.fetch_all(self.pool()).await? {
                out.push((OfferKey(col(&r, "offer")?), version_from_row(&r)?));
            }
        }
        Ok(out)
    }

    /// An offer by its key.
    pub async fn offer_by_key(&self, pk: OfferKey) -> Result<Option<OfferRow>, DbError> {
        let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pk.0).fetch_optional(self.pool()).await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    /// One version.
    pub async fn offer_version(&self, pk: OfferKey, version: i64) -> Result<Option<VersionRow>, DbError> {
        let sql = format!("SELECT {VERSION_COLUMNS} FROM offer_versions WHERE offer = $1 AND version = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pk.0).bind(version).fetch_optional(self.pool()).await?;
        row.as_ref().map(version_from_row).transpose()
    }

    /// The pipeline stops a submitted version: it needs the publisher's attention
    /// (`message` says why, in its history). Returns `false` when the version is no
    /// longer submitted (cancelled or replaced meanwhile): nothing changes then.
    pub async fn version_needs_attention(
        &self,
        pk: OfferKey,
        version: i64,
        message: &str,
        actor: &str,
    ) -> Result<bool, OfferWriteError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        self.lock_offer(&mut tx, pk).await?;
        let detail = format!("{version}: {message}");
        let changed = move_version(
            &mut tx,
            pk,
            version,
            VersionStatus::Submitted,
            VersionStatus::AttentionNeeded,
            OfferState::AttentionNeeded,
            (OfferEvent::AttentionNeeded, &detail),
            actor,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Records in the offer's history that a submitted version passed a step
    /// (`event`), if it is still submitted and the event is not recorded yet (a job
    /// run again after its worker died records it once). Returns whether it is
    /// submitted.
    pub async fn version_passed(
        &self,
        pk: OfferKey,
        version: i64,
        event: OfferEvent,
        actor: &str,
    ) -> Result<bool, DbError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM offer_versions WHERE offer = $1 AND version = $2")
                .bind(pk.0)
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        let submitted = status.as_deref() == Some(VersionStatus::Submitted.as_str());
        let detail = version.to_string();
        let recorded: Option<i64> =
            sqlx::query_scalar("SELECT id FROM offer_events WHERE offer = $1 AND kind = $2 AND detail = $3 LIMIT 1")
                .bind(pk.0)
                .bind(event.as_str())
                .bind(&detail)
                .fetch_optional(&mut *tx)
                .await?;
        if submitted && recorded.is_none() {
            record(&mut tx, pk, event, Some(&detail), actor, now).await?;
        }
        tx.commit().await?;
        Ok(submitted)
    }

    /// History events after event `after`, oldest first, at most `limit`.
    pub async fn offer_events(&self, pk: OfferKey, after: i64, limit: u32) -> Result<Vec<EventRow>, DbError> {
        let rows = sqlx::query(
            "SELECT id, kind, detail, actor, at FROM offer_events WHERE offer = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(pk.0)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EventRow {
                    id: col(r, "id")?,
                    kind: parse_stored("offer_events.kind", &col::<String>(r, "kind")?)?,
                    detail: col(r, "detail")?,
                    actor: col(r, "actor")?,
                    at: Timestamp::from_millis(col(r, "at")?),
                })
            })
            .collect()
    }

    /// Cancels the version being published (before go-live; a preview ends, its
    /// promoted tags removed): the version becomes `cancelled` and the offer returns to `live` (or `stop_sold`)
    /// when an earlier version is live, else to `draft`.
    pub async fn cancel_submission(&self, pk: OfferKey, actor: &str) -> Result<(OfferRow, i64), OfferWriteError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        self.lock_offer(&mut tx, pk).await?;
        let pending: Option<(i64, String)> = sqlx::query_as(
            "SELECT version, status FROM offer_versions WHERE offer = $1 AND status IN ('submitted', 'attention_needed', 'preview')",
        )
        .bind(pk.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((version, status)) = pending else {
            return Err(OfferWriteError::WrongState("no version is being published".into()));
        };
        if status == VersionStatus::Preview.as_str() {
            let signed_off: Option<i64> = sqlx::query_scalar(
                "SELECT attempt FROM pipeline_steps WHERE offer = $1 AND version = $2 AND step = 'go_live'",
            )
            .bind(pk.0)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
            if signed_off.is_some() {
                return Err(OfferWriteError::WrongState(format!(
                    "version {version} is going live (signed off): publishing can be cancelled only before go-live"
                )));
            }
            crate::publishing::end_preview(&mut tx, pk, version, now).await?;
        }
        sqlx::query(
            "UPDATE offer_versions SET status = 'cancelled', updated_at = $1 WHERE offer = $2 AND version = $3",
        )
        .bind(now)
        .bind(pk.0)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        let live: Option<i64> =
            sqlx::query_scalar("SELECT version FROM offer_versions WHERE offer = $1 AND status = 'live'")
                .bind(pk.0)
                .fetch_optional(&mut *tx)
                .await?;
        // Back to where the live version stands.
        let back = match live {
            None => OfferState::Draft,
            Some(_) => resting_state(&mut tx, pk).await?,
        };
        let sql = format!("UPDATE offers SET state = $1, updated_at = $2 WHERE id = $3 RETURNING {OFFER_COLUMNS}");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(back.as_str()).bind(now).bind(pk.0).fetch_one(&mut *tx).await?;
        record(&mut tx, pk, OfferEvent::Cancelled, Some(&version.to_string()), actor, now).await?;
        tx.commit().await?;
        Ok((offer_from_row(&row)?, version))
    }

    /// Stop-sells (`stop == true`) or resumes the offer: from `live` to `stop_sold`
    /// and back.
    pub async fn set_offer_selling(&self, pk: OfferKey, stop: bool, actor: &str) -> Result<OfferRow, OfferWriteError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        let current = self.lock_offer(&mut tx, pk).await?;
        let (from, to, event) = if stop {
            (OfferState::Live, OfferState::StopSold, OfferEvent::StopSold)
        } else {
            (OfferState::StopSold, OfferState::Live, OfferEvent::Resumed)
        };
        if current.state != from {
            return Err(OfferWriteError::WrongState(format!(
                "the offer is {}; only a {} offer can be {}",
                current.state.label(),
                from.label(),
                if stop { "stop-sold" } else { "resumed" }
            )));
        }
        let sql = format!("UPDATE offers SET state = $1, updated_at = $2 WHERE id = $3 RETURNING {OFFER_COLUMNS}");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to.as_str()).bind(now).bind(pk.0).fetch_one(&mut *tx).await?;
        record(&mut tx, pk, event, None, actor, now).await?;
        crate::catalog::set_stop_sold(&mut tx, pk, stop).await?;
        tx.commit().await?;
        Ok(offer_from_row(&row)?)
    }

    /// Stop-sells (`stop == true`) or resumes one plan of the live version. A plan
    /// can be stop-sold only while the offer keeps another plan selling; `live_plans`
    /// are the plan ids of the live version.
    pub async fn set_plan_selling(
        &self,
        pk: OfferKey,
        plan: &PlanId,
        live_plans: &[PlanId],
        stop: bool,
        actor: &str,
    ) -> Result<OfferRow, OfferWriteError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        let current = self.lock_offer(&mut tx, pk).await?;
        if !matches!(
            current.state,
            OfferState::Live | OfferState::PublishInProgress | OfferState::AttentionNeeded | OfferState::Preview
        ) || live_plans.is_empty()
        {
            return Err(OfferWriteError::WrongState(format!(
                "the offer is {}: plans of a live offer can be stop-sold (stop-sell the offer itself to stop all)",
                current.state.label()
            )));
        }
        if !live_plans.iter().any(|p| p == plan) {
            return Err(OfferWriteError::WrongState(format!("the live version has no plan \"{plan}\"")));
        }
        let mut stopped = current.stopped_plans.clone();
        let event = if stop {
            if stopped.iter().any(|p| p == plan) {
                return Err(OfferWriteError::WrongState(format!("plan \"{plan}\" is stop-sold already")));
            }
            let selling = live_plans.iter().filter(|p| *p != plan && !stopped.contains(p)).count();
            if selling == 0 {
                return Err(OfferWriteError::WrongState(format!(
                    "plan \"{plan}\" is the last plan selling: stop-sell the offer instead"
                )));
            }
            stopped.push(plan.clone());
            OfferEvent::PlanStopSold
        } else {
            if !stopped.iter().any(|p| p == plan) {
                return Err(OfferWriteError::WrongState(format!("plan \"{plan}\" is not stop-sold")));
            }
            stopped.retain(|p| p != plan);
            OfferEvent::PlanResumed
        };
        let json = serde_json::to_string(&stopped).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let sql =
            format!("UPDATE offers SET stopped_plans = $1, updated_at = $2 WHERE id = $3 RETURNING {OFFER_COLUMNS}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json).bind(now).bind(pk.0).fetch_one(&mut *tx).await?;
        record(&mut tx, pk, event, Some(plan.as_str()), actor, now).await?;
        crate::catalog::set_plan_stop_sold(&mut tx, pk, plan, stop).await?;
        tx.commit().await?;
        Ok(offer_from_row(&row)?)
    }

    /// Records an uploaded image of an organization whose bytes the blob store holds
    /// under `media.digest`; touches the blob's row so garbage collection keeps it.
    pub async fn put_media(&self, org: OrgId, media: &MediaRow) -> Result<(), DbError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        sqlx::query(crate::registry::TOUCH_BLOB)
            .bind(media.digest.as_str())
            .bind(i64::try_from(media.size).unwrap_or(i64::MAX))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO offer_media (org_id, digest, media_type, width, height, size, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id, digest) DO NOTHING",
        )
        .bind(org.0)
        .bind(media.digest.as_str())
        .bind(&media.media_type)
        .bind(i64::from(media.width))
        .bind(i64::from(media.height))
        .bind(i64::try_from(media.size).unwrap_or(i64::MAX))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An organization's uploaded image.
    pub async fn media(&self, org: OrgId, digest: &Digest) -> Result<Option<MediaRow>, DbError> {
        let row = sqlx::query(
            "SELECT digest, media_type, width, height, size FROM offer_media WHERE org_id = $1 AND digest = $2",
        )
        .bind(org.0)
        .bind(digest.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(MediaRow {
                digest: parse_stored("offer_media.digest", &col::<String>(&r, "digest")?)?,
                media_type: col(&r, "media_type")?,
                width: u32::try_from(col::<i64>(&r, "width")?).unwrap_or(0),
                height: u32::try_from(col::<i64>(&r, "height")?).unwrap_or(0),
                size: u64::try_from(col::<i64>(&r, "size")?).unwrap_or(0),
            })
        })
        .transpose()
    }
}
