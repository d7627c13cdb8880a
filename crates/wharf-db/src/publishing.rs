//! Publishing after certification: what a submission froze, the preview audience,
//! the images packaging promoted into the marketplace namespace, the version's
//! moves to Preview and Live, the marketplace's signing key and remembered answers
//! to idempotent requests.
//!
//! Every move of a version is one transaction with the history event recording it,
//! and each is conditional on where the version stands, so a job run twice (its
//! worker killed after the move) finds the move made and changes nothing.

use wharf_core::{
    OfferEvent, OfferKey, OfferState, OrgId, OrgKind, PipelineStep, RepositoryId, Timestamp, UserId, VersionStatus,
};
use wharf_oci::{Digest, RepositoryName};

use crate::error::parse_stored;
use crate::offers::{Frozen, OfferWriteError, Tx, move_version, record, resting_state};
use crate::pool::col;
use crate::{Db, DbError};

/// One image packaging promoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// The plan it belongs to.
    pub plan: String,
    /// The marketplace repository, `mp/<publisher>/<offer>/<plan>/<image>`.
    pub repository: RepositoryName,
    /// Its id.
    pub repository_id: RepositoryId,
    /// The tag it has there (the source tag).
    pub tag: String,
    /// The manifest (or index) digest, as frozen at Submit.
    pub digest: Digest,
    /// Where it came from, `<repository>:<tag>`.
    pub source: String,
    /// The marketplace's signature manifest, once signed.
    pub signature: Option<Digest>,
}

/// Who may pull a marketplace repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketplaceRepository {
    /// The publisher organization that owns it.
    pub publisher: OrgId,
    /// Its kind (always a publisher).
    pub kind: OrgKind,
    /// The user belongs to the preview audience of a version of it in preview.
    pub previewer: bool,
}

/// What a sign-off (go-live) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOff {
    /// Recorded now.
    Done,
    /// Recorded earlier: nothing changed.
    Already,
}

/// An answer kept for an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// A fingerprint of the request (method, path, body).
    pub request: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The body answered.
    pub response: String,
}

/// Pins the frozen manifests (and an index's entries) and records the preview
/// audience of a new version, in the submission's transaction.
pub(crate) async fn freeze(tx: &mut Tx, pk: OfferKey, version: i64, frozen: Frozen<'_>) -> Result<(), DbError> {
    for (repository, digest) in frozen.images {
        sqlx::query(
            "INSERT INTO version_images (offer, version, repository_id, digest) \
             SELECT $1, $2, id, $4 FROM repositories WHERE name = $3 ON CONFLICT DO NOTHING",
        )
        .bind(pk.0)
        .bind(version)
        .bind(repository.as_str())
        .bind(digest.as_str())
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO version_images (offer, version, repository_id, digest) \
             SELECT $1, $2, m.repository_id, m.digest FROM manifest_references m JOIN repositories r ON r.id = m.repository_id \
             WHERE r.name = $3 AND m.manifest = $4 AND m.kind = 'manifest' ON CONFLICT DO NOTHING",
        )
        .bind(pk.0)
        .bind(version)
        .bind(repository.as_str())
        .bind(digest.as_str())
        .execute(&mut **tx)
        .await?;
    }
    for org in frozen.audience {
        sqlx::query(
            "INSERT INTO preview_audience (offer, version, org_id) \
             SELECT $1, $2, id FROM organizations WHERE name = $3 AND kind = 'customer' ON CONFLICT DO NOTHING",
        )
        .bind(pk.0)
        .bind(version)
        .bind(org)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Ends a version's preview: it becomes `cancelled`, and the tags it promoted (and
/// their signatures' tags) go, except those a live or superseded version promoted too.
pub(crate) async fn end_preview(tx: &mut Tx, pk: OfferKey, version: i64, now: i64) -> Result<(), DbError> {
    sqlx::query(
        "DELETE FROM tags WHERE EXISTS (SELECT 1 FROM promoted_images p \
           WHERE p.offer = $1 AND p.version = $2 AND p.repository_id = tags.repository_id \
           AND (p.tag = tags.name OR 'sha256-' || substr(p.digest, 8) || '.sig' = tags.name)) \
         AND NOT EXISTS (SELECT 1 FROM promoted_images q JOIN offer_versions v ON v.offer = q.offer AND v.version = q.version \
           WHERE v.status IN ('live', 'superseded') AND q.repository_id = tags.repository_id \
           AND (q.tag = tags.name OR 'sha256-' || substr(q.digest, 8) || '.sig' = tags.name))",
    )
    .bind(pk.0)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE offer_versions SET status = 'cancelled', updated_at = $1 WHERE offer = $2 AND version = $3")
        .bind(now)
        .bind(pk.0)
        .bind(version)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn promotion_from_row(r: &sqlx::any::AnyRow) -> Result<Promotion, DbError> {
    Ok(Promotion {
        plan: col(r, "plan")?,
        repository: parse_stored("repositories.name", &col::<String>(r, "name")?)?,
        repository_id: RepositoryId(col(r, "repository_id")?),
        tag: col(r, "tag")?,
        digest: parse_stored("promoted_images.digest", &col::<String>(r, "digest")?)?,
        source: col(r, "source")?,
        signature: col::<Option<String>>(r, "signature")?
            .map(|s| parse_stored("promoted_images.signature", &s))
            .transpose()?,
    })
}

impl Db {
    /// Records that packaging promoted `p` for the version (again: nothing changes).
    pub async fn record_promotion(&self, pk: OfferKey, version: i64, p: &Promotion) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO promoted_images (offer, version, plan, repository_id, tag, digest, source, signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (offer, version, repository_id, tag) \
             DO UPDATE SET signature = COALESCE(excluded.signature, promoted_images.signature)",
        )
        .bind(pk.0)
        .bind(version)
        .bind(&p.plan)
        .bind(p.repository_id.0)
        .bind(&p.tag)
        .bind(p.digest.as_str())
        .bind(&p.source)
        .bind(p.signature.as_ref().map(Digest::as_str))
        .execute(self.writes())
        .await?;
        Ok(())
    }

    /// What packaging promoted for a version, by plan, repository and tag.
    pub async fn promotions(&self, pk: OfferKey, version: i64) -> Result<Vec<Promotion>, DbError> {
        let rows = sqlx::query(
            "SELECT p.plan, r.name, p.repository_id, p.tag, p.digest, p.source, p.signature \
             FROM promoted_images p JOIN repositories r ON r.id = p.repository_id \
             WHERE p.offer = $1 AND p.version = $2 ORDER BY p.plan, r.name, p.tag",
        )
        .bind(pk.0)
        .bind(version)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(promotion_from_row).collect()
    }

    /// Who may pull marketplace repository `name`, for `user`; `None` when nothing
    /// was ever promoted there.
    pub async fn marketplace_repository(
        &self,
        name: &str,
        user: UserId,
    ) -> Result<Option<MarketplaceRepository>, DbError> {
        let row = sqlx::query(
            "SELECT r.org_id, o.kind, CASE WHEN EXISTS (SELECT 1 FROM promoted_images p \
               JOIN offer_versions v ON v.offer = p.offer AND v.version = p.version AND v.status = 'preview' \
               JOIN preview_audience a ON a.offer = v.offer AND a.version = v.version \
               JOIN memberships m ON m.org_id = a.org_id AND m.user_id = $2 \
               WHERE p.repository_id = r.id) THEN 1 ELSE 0 END AS previewer \
             FROM repositories r JOIN organizations o ON o.id = r.org_id \
             WHERE r.name = $1 AND EXISTS (SELECT 1 FROM promoted_images p WHERE p.repository_id = r.id)",
        )
        .bind(name)
        .bind(user.0)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(MarketplaceRepository {
            publisher: OrgId(col(&r, "org_id")?),
            kind: parse_stored("organizations.kind", &col::<String>(&r, "kind")?)?,
            previewer: col::<i64>(&r, "previewer")? != 0,
        }))
    }

    /// Moves a submitted version to Preview (the offer with it), recording it.
    /// Returns `false` when the version is no longer submitted: nothing changes then.
    pub async fn version_to_preview(&self, pk: OfferKey, version: i64, actor: &str) -> Result<bool, OfferWriteError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        self.lock_offer(&mut tx, pk).await?;
        let moved = move_version(
            &mut tx,
            pk,
            version,
            VersionStatus::Submitted,
            VersionStatus::Preview,
            OfferState::Preview,
            (OfferEvent::InPreview, &version.to_string()),
            actor,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// The publisher's sign-off on a version in preview: the sign-off step ends and
    /// the go-live step is recorded as passed, `then` (the release job) is queued in the same transaction, and the
    /// offer is in Publish in progress again until the version is live.
    pub async fn sign_off(
        &self,
        pk: OfferKey,
        version: i64,
        actor: &str,
        then: &crate::jobs::NewJob,
    ) -> Result<SignOff, OfferWriteError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        self.lock_offer(&mut tx, pk).await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM offer_versions WHERE offer = $1 AND version = $2")
                .bind(pk.0)
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        let signed: Option<i64> =
            sqlx::query_scalar("SELECT attempt FROM pipeline_steps WHERE offer = $1 AND version = $2 AND step = $3")
                .bind(pk.0)
                .bind(version)
                .bind(PipelineStep::GoLive.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        match status.as_deref() {
            None => return Err(OfferWriteError::NotFound),
            Some("preview" | "live") if signed.is_some() => return Ok(SignOff::Already),
            Some("preview") => {}
            Some(other) => {
                let status: wharf_core::VersionStatus = parse_stored("offer_versions.status", other)?;
                return Err(OfferWriteError::WrongState(format!(
                    "version {version} is {}: only a version in preview can go live",
                    status.label().to_lowercase()
                )));
            }
        }
        sqlx::query(
            "INSERT INTO pipeline_steps (offer, version, step, state, attempt, started_at, finished_at, bytes_done, bytes_total, images_done, images_total, files_done, message) \
             VALUES ($1, $2, $3, 'passed', 1, $4, $4, 0, 0, 0, 0, 0, $5)",
        )
        .bind(pk.0)
        .bind(version)
        .bind(PipelineStep::GoLive.as_str())
        .bind(now)
        .bind(format!("signed off by {actor}"))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE pipeline_steps SET state = 'passed', finished_at = $1, message = $2 \
             WHERE offer = $3 AND version = $4 AND step = 'publisher_sign_off' AND state = 'running'",
        )
        .bind(now)
        .bind(format!("signed off by {actor}"))
        .bind(pk.0)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE offers SET state = 'publish_in_progress', updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(pk.0)
            .execute(&mut *tx)
            .await?;
        record(&mut tx, pk, OfferEvent::GoLive, Some(&version.to_string()), actor, now).await?;
        Db::enqueue_in(&mut tx, then).await?;
        tx.commit().await?;
        Ok(SignOff::Done)
    }

    /// Makes a signed-off version the offer's live version: the previous live one is
    /// superseded (its promoted images stay), the offer is live again (or stays
    /// stop-sold), and `entry` becomes its catalog entry, all in one transaction.
    /// Returns `false` when it is not a signed-off version in preview.
    pub async fn version_to_live(
        &self,
        pk: OfferKey,
        version: i64,
        actor: &str,
        entry: &crate::catalog::CatalogEntry,
    ) -> Result<bool, OfferWriteError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        let offer = self.lock_offer(&mut tx, pk).await?;
        let signed_off: Option<i64> = sqlx::query_scalar(
            "SELECT attempt FROM pipeline_steps WHERE offer = $1 AND version = $2 AND step = 'go_live'",
        )
        .bind(pk.0)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await?;
        if signed_off.is_none() {
            return Ok(false);
        }
        let state = resting_state(&mut tx, pk).await?;
        // The previous live version first: then the new one moves.
        sqlx::query(
            "UPDATE offer_versions SET status = 'superseded', updated_at = $1 WHERE offer = $2 AND version <> $3 AND status = 'live' \
             AND EXISTS (SELECT 1 FROM offer_versions n WHERE n.offer = $2 AND n.version = $3 AND n.status = 'preview')",
        )
        .bind(now)
        .bind(pk.0)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        let moved = move_version(
            &mut tx,
            pk,
            version,
            VersionStatus::Preview,
            VersionStatus::Live,
            state,
            (OfferEvent::WentLive, &version.to_string()),
            actor,
            now,
        )
        .await?;
        if moved {
            let stop_sold = state == OfferState::StopSold;
            crate::catalog::project(&mut tx, pk, entry, stop_sold, &offer.stopped_plans, now).await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// What manifest `digest` of a repository references: blobs with their sizes
    /// (config, layers) and manifests (an index's entries).
    pub async fn manifest_references(
        &self,
        repository: RepositoryId,
        digest: &Digest,
    ) -> Result<(Vec<(Digest, u64)>, Vec<Digest>), DbError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT r.digest, r.kind, COALESCE(b.size, 0) FROM manifest_references r LEFT JOIN blobs b ON b.digest = r.digest \
             WHERE r.repository_id = $1 AND r.manifest = $2 ORDER BY r.digest",
        )
        .bind(repository.0)
        .bind(digest.as_str())
        .fetch_all(self.pool())
        .await?;
        let (mut blobs, mut manifests) = (Vec::new(), Vec::new());
        for (d, kind, size) in rows {
            let d: Digest = parse_stored("manifest_references.digest", &d)?;
            if kind == "manifest" {
                manifests.push(d);
            } else {
                blobs.push((d, u64::try_from(size).unwrap_or(0)));
            }
        }
        Ok((blobs, manifests))
    }

    /// The tags of a repository that point to `digest`.
    pub async fn tags_of(&self, repository: RepositoryId, digest: &Digest) -> Result<Vec<String>, DbError> {
        Ok(sqlx::query_scalar("SELECT name FROM tags WHERE repository_id = $1 AND digest = $2 ORDER BY name")
            .bind(repository.0)
            .bind(digest.as_str())
            .fetch_all(self.pool())
            .await?)
    }

    /// The marketplace's signing key `id`: (PKCS#8 private key in base64, public key PEM).
    pub async fn marketplace_key(&self, id: &str) -> Result<Option<(String, String)>, DbError> {
        Ok(sqlx::query_as("SELECT private_key, public_key FROM marketplace_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Stores a generated signing key unless one is stored already (another node was
    /// first); returns the stored one.
    pub async fn insert_marketplace_key(
        &self,
        id: &str,
        private_key: &str,
        public_key: &str,
    ) -> Result<(String, String), DbError> {
        sqlx::query(
            "INSERT INTO marketplace_keys (id, private_key, public_key, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(private_key)
        .bind(public_key)
        .bind(Timestamp::now().as_millis())
        .execute(self.writes())
        .await?;
        self.marketplace_key(id)
            .await?
            .ok_or_else(|| DbError::Corrupt("the marketplace key just stored is missing".into()))
    }

    /// The answer kept for `principal`'s `key`.
    pub async fn remembered(&self, principal: &str, key: &str) -> Result<Option<Remembered>, DbError> {
        let row =
            sqlx::query("SELECT request, status, response FROM idempotency_keys WHERE principal = $1 AND key = $2")
                .bind(principal)
                .bind(key)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| {
            Ok(Remembered {
                request: col(&r, "request")?,
                status: u16::try_from(col::<i64>(&r, "status")?).unwrap_or(500),
                response: col(&r, "response")?,
            })
        })
        .transpose()
    }

    /// Keeps the answer to `principal`'s request under `key`; when another answer was
    /// kept first (a concurrent retry), that one is returned.
    pub async fn remember(&self, principal: &str, key: &str, answer: &Remembered) -> Result<Remembered, DbError> {
        sqlx::query(
            "INSERT INTO idempotency_keys (principal, key, request, status, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal, key) DO NOTHING",
        )
        .bind(principal)
        .bind(key)
        .bind(&answer.request)
        .bind(i64::from(answer.status))
        .bind(&answer.response)
        .bind(Timestamp::now().as_millis())
        .execute(self.writes())
        .await?;
        Ok(self.remembered(principal, key).await?.unwrap_or_else(|| answer.clone()))
    }

    /// Forgets answers kept before `cutoff`; returns how many.
    pub async fn forget_idempotency_keys(&self, cutoff: Timestamp) -> Result<u64, DbError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(cutoff.as_millis())
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected())
    }
}
