//! Continuous certification's record: each version's health grade and the findings
//! of its latest re-evaluation.

use sqlx::any::AnyRow;
use wharf_core::{OfferEvent, OfferKey, Timestamp};

use crate::offers::record;
use crate::pool::col;
use crate::{Db, DbError};

/// A version's health, as last evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    /// `A` (best) to `F`.
    pub grade: String,
    /// What decided the grade.
    pub reason: String,
    /// The vulnerability findings (JSON array).
    pub findings: String,
    /// Their count by severity (JSON object).
    pub summary: String,
    /// The advisory snapshot evaluated against.
    pub snapshot: Option<i64>,
    /// When.
    pub graded_at: Timestamp,
    /// Whether a finding breaks the vulnerability policy now.
    pub breaks_policy: bool,
    /// Since when it has (the first evaluation that found it).
    pub flagged_at: Option<Timestamp>,
    /// The deadline the policy's grace period sets.
    pub grace_until: Option<Timestamp>,
}

/// A version continuous certification covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graded {
    /// The offer.
    pub offer: OfferKey,
    /// The version.
    pub version: i64,
    /// The publisher organization's name.
    pub publisher: String,
}

fn from_row(r: &AnyRow) -> Result<HealthRow, DbError> {
    Ok(HealthRow {
        grade: col(r, "grade")?,
        reason: col(r, "reason")?,
        findings: col(r, "findings")?,
        summary: col(r, "summary")?,
        snapshot: col(r, "snapshot")?,
        graded_at: Timestamp::from_millis(col(r, "graded_at")?),
        breaks_policy: col::<i64>(r, "breaks_policy")? != 0,
        flagged_at: col::<Option<i64>>(r, "flagged_at")?.map(Timestamp::from_millis),
        grace_until: col::<Option<i64>>(r, "grace_until")?.map(Timestamp::from_millis),
    })
}

impl Db {
    /// A version's health, if it was graded.
    pub async fn version_health(&self, offer: OfferKey, version: i64) -> Result<Option<HealthRow>, DbError> {
        let row = sqlx::query(
            "SELECT grade, reason, findings, summary, snapshot, graded_at, breaks_policy, flagged_at, grace_until \
             FROM version_health WHERE offer = $1 AND version = $2",
        )
        .bind(offer.0)
        .bind(version)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every version in preview or live, with its publisher.
    pub async fn versions_to_grade(&self) -> Result<Vec<Graded>, DbError> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT v.offer, v.version, o.name FROM offer_versions v JOIN offers f ON f.id = v.offer \
             JOIN organizations o ON o.id = f.org_id WHERE v.status IN ('preview', 'live') ORDER BY v.offer, v.version",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(o, v, p)| Graded { offer: OfferKey(o), version: v, publisher: p }).collect())
    }

    /// Stores a version's health; when the grade changed from an earlier one, records
    /// `change` (e.g. `2: B → D`) in the offer's history, in the same transaction.
    pub async fn put_version_health(
        &self,
        offer: OfferKey,
        version: i64,
        health: &HealthRow,
        change: Option<&str>,
        actor: &str,
    ) -> Result<(), DbError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO version_health (offer, version, grade, reason, findings, summary, snapshot, graded_at, breaks_policy, flagged_at, grace_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (offer, version) DO UPDATE SET \
             grade = excluded.grade, reason = excluded.reason, findings = excluded.findings, summary = excluded.summary, \
             snapshot = excluded.snapshot, graded_at = excluded.graded_at, breaks_policy = excluded.breaks_policy, \
             flagged_at = excluded.flagged_at, grace_until = excluded.grace_until",
        )
        .bind(offer.0)
        .bind(version)
        .bind(&health.grade)
        .bind(&health.reason)
        .bind(&health.findings)
        .bind(&health.summary)
        .bind(health.snapshot)
        .bind(health.graded_at.as_millis())
        .bind(i64::from(health.breaks_policy))
        .bind(health.flagged_at.map(Timestamp::as_millis))
        .bind(health.grace_until.map(Timestamp::as_millis))
        .execute(&mut *tx)
        .await?;
        if let Some(change) = change {
            record(&mut tx, offer, OfferEvent::Regraded, Some(change), actor, health.graded_at.as_millis()).await?;
        }
        crate::catalog::set_grade(&mut tx, offer, version).await?;
        tx.commit().await?;
        Ok(())
    }
}
