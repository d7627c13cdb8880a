//! The registry's metadata: repositories, blob links, manifests, tags, uploads.
//!
//! Digests and names arrive validated (`wharf_oci` newtypes) and are stored as text.

use std::collections::HashSet;

use sqlx::any::AnyRow;
use wharf_core::{OrgId, RepositoryId, Timestamp};
use wharf_oci::{Digest, RepositoryName};

use crate::batch::{Arg, Batch, BatchError, placeholders};
use crate::error::parse_stored;
use crate::pool::col;
pub use crate::uploads::{Upload, UploadCapReached, UploadCaps};
use crate::{Db, DbError};

/// A repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// Database id.
    pub id: RepositoryId,
    /// Owning organization.
    pub org_id: OrgId,
    /// Full name, e.g. `acme/tools/builder`.
    pub name: RepositoryName,
    /// Anyone may pull, without credentials.
    pub anonymous_pull: bool,
    /// Tags may not be moved or deleted once set.
    pub immutable_tags: bool,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A stored manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRow {
    /// Its digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// `artifactType`, or the config media type of an image manifest.
    pub artifact_type: Option<String>,
    /// The manifest it refers to (`subject`).
    pub subject: Option<Digest>,
    /// Its annotations, as JSON text (for the referrers API).
    pub annotations: Option<String>,
}

/// The tag a manifest push sets, and whether the repository's tags are immutable
/// (then an existing tag may not move to another manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagWrite<'a> {
    /// The tag.
    pub name: &'a str,
    /// Tags of the repository never move once set.
    pub immutable: bool,
}

/// A manifest to store.
#[derive(Debug, Clone)]
pub struct NewManifest<'a> {
    /// The manifest's own fields.
    pub row: &'a ManifestRow,
    /// Blobs it references (config, layers): must be linked to the repository.
    pub blobs: &'a [Digest],
    /// Manifests it references (an index's entries): must be in the repository.
    pub manifests: &'a [Digest],
    /// The manifest's bytes, whose digest is `row.digest`.
    pub content: &'a [u8],
}

/// Why a registry write was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryWriteError {
    /// A referenced blob or manifest is not in the repository.
    #[error("the manifest references {0}, which is not in this repository")]
    MissingReference(Digest),
    /// The tag is immutable and points elsewhere.
    #[error("tag {tag:?} is immutable in this repository and points to {current}")]
    TagImmutable {
        /// The tag.
        tag: String,
        /// Where it points.
        current: Digest,
    },
    /// A manifest still references the blob.
    #[error("blob {0} is referenced by a manifest in this repository; delete the manifest first")]
    BlobReferenced(Digest),
    /// A version being published froze the manifest.
    #[error(
        "{digest} is frozen by version {version} of offer {offer:?}, which is being published; it can be deleted once that version is promoted (in preview) or cancelled"
    )]
    Frozen {
        /// The manifest.
        digest: Digest,
        /// The offer's id.
        offer: String,
        /// The version.
        version: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for RegistryWriteError {
    fn from(e: sqlx::Error) -> Self {
        RegistryWriteError::Db(e.into())
    }
}

const REPO_COLUMNS: &str = "id, org_id, name, anonymous_pull, immutable_tags, created_at";
/// Digests per statement: under SQLite's and PostgreSQL's parameter limits.
const REFERENCE_CHUNK: usize = 400;
/// How often a write stopped by a guard whose reason was gone by the time it was
/// looked up is tried again.
const GUARD_RETRIES: usize = 3;
/// The submitted versions (`offer`, `version`) that froze manifest `$2` of repository
/// `$1`: it may not be deleted while one is certified or packaged.
const FROZEN_BY: &str = "SELECT v.offer, v.version FROM version_images f \
     JOIN offer_versions v ON v.offer = f.offer AND v.version = f.version AND v.status = 'submitted' \
     WHERE f.repository_id = $1 AND f.digest = $2";
const MANIFEST_COLUMNS: &str = "digest, media_type, size, artifact_type, subject, annotations";

fn repository_from_row(r: &AnyRow) -> Result<Repository, DbError> {
    Ok(Repository {
        id: RepositoryId(col(r, "id")?),
        org_id: OrgId(col(r, "org_id")?),
        name: parse_stored("repositories.name", &col::<String>(r, "name")?)?,
        anonymous_pull: col::<i64>(r, "anonymous_pull")? != 0,
        immutable_tags: col::<i64>(r, "immutable_tags")? != 0,
        created_at: Timestamp::from_millis(col(r, "created_at")?),
    })
}

fn manifest_from_row(r: &AnyRow) -> Result<ManifestRow, DbError> {
    Ok(ManifestRow {
        digest: parse_stored("manifests.digest", &col::<String>(r, "digest")?)?,
        media_type: col(r, "media_type")?,
        size: u64::try_from(col::<i64>(r, "size")?).unwrap_or(0),
        artifact_type: col(r, "artifact_type")?,
        subject: col::<Option<String>>(r, "subject")?.map(|s| parse_stored("manifests.subject", &s)).transpose()?,
        annotations: col(r, "annotations")?,
    })
}

pub(crate) fn size_i64(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// Records a blob's row (`$1` digest, `$2` size, `$3` now), or marks an existing one
/// in use now: garbage collection keeps blobs touched within its grace period.
pub(crate) const TOUCH_BLOB: &str = "INSERT INTO blobs (digest, size, created_at, touched_at) VALUES ($1, $2, $3, $3) \
     ON CONFLICT (digest) DO UPDATE SET touched_at = excluded.touched_at";

impl Db {
    /// A repository by name.
    pub async fn repository(&self, name: &RepositoryName) -> Result<Option<Repository>, DbError> {
        let sql = format!("SELECT {REPO_COLUMNS} FROM repositories WHERE name = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name.as_str()).fetch_optional(self.pool()).await?;
        row.as_ref().map(repository_from_row).transpose()
    }

    /// The repository `name` of `org`, created when missing.
    pub async fn ensure_repository(&self, org: OrgId, name: &RepositoryName) -> Result<Repository, DbError> {
        if let Some(r) = self.repository(name).await? {
            return Ok(r);
        }
        sqlx::query(
            "INSERT INTO repositories (org_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(org.0)
        .bind(name.as_str())
        .bind(Timestamp::now().as_millis())
        .execute(self.writes())
        .await?;
        self.repository(name).await?.ok_or_else(|| DbError::Corrupt(format!("repository {name} vanished")))
    }

    /// Sets a repository's anonymous-pull and immutable-tags flags.
    pub async fn set_repository_flags(
        &self,
        id: RepositoryId,
        anonymous_pull: bool,
        immutable_tags: bool,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE repositories SET anonymous_pull = $1, immutable_tags = $2 WHERE id = $3")
            .bind(i64::from(anonymous_pull))
            .bind(i64::from(immutable_tags))
            .bind(id.0)
            .execute(self.writes())
            .await?;
        Ok(())
    }

    /// Repository names ordered by name, after `last`, at most `limit`.
    pub async fn list_repositories(&self, last: Option<&str>, limit: u32) -> Result<Vec<String>, DbError> {
        Ok(sqlx::query_scalar("SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2")
            .bind(last.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?)
    }

    /// Records a blob now present in the store and links it to a repository.
    pub async fn link_blob(&self, repository: RepositoryId, digest: &Digest, size: u64) -> Result<(), DbError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        sqlx::query(TOUCH_BLOB).bind(digest.as_str()).bind(size_i64(size)).bind(now).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (repository_id, digest) DO NOTHING",
        )
        .bind(repository.0)
        .bind(digest.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Declares that a push or mount is about to rely on the blob's bytes: garbage
    /// collection will not take it for its grace period. Called before writing or
    /// reusing the bytes; [`Db::delete_orphan_blob`] takes the same row lock, so a
    /// collection in progress finishes first and the push then writes the bytes anew.
    pub async fn touch_blob(&self, digest: &Digest, size: u64) -> Result<(), DbError> {
        let now = Timestamp::now().as_millis();
        sqlx::query(TOUCH_BLOB).bind(digest.as_str()).bind(size_i64(size)).bind(now).execute(self.writes()).await?;
        Ok(())
    }

    /// Size of a blob readable through `repository`, if it is linked there.
    pub async fn blob_in_repository(&self, repository: RepositoryId, digest: &Digest) -> Result<Option<u64>, DbError> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest \
             WHERE rb.repository_id = $1 AND rb.digest = $2",
        )
        .bind(repository.0)
        .bind(digest.as_str())
        .fetch_optional(self.pool())
        .await?;
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    /// Size of a blob known to the registry, in any repository.
    pub async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>, DbError> {
        let size: Option<i64> = sqlx::query_scalar("SELECT size FROM blobs WHERE digest = $1")
            .bind(digest.as_str())
            .fetch_optional(self.pool())
            .await?;
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    /// A repository of `org` other than `except` where the blob is linked, for a
    /// mount without `from`.
    pub async fn blob_in_org(&self, org: OrgId, digest: &Digest) -> Result<Option<u64>, DbError> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT b.size FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id \
             JOIN blobs b ON b.digest = rb.digest WHERE r.org_id = $1 AND rb.digest = $2 LIMIT 1",
        )
        .bind(org.0)
        .bind(digest.as_str())
        .fetch_optional(self.pool())
        .await?;
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    /// Removes a blob from a repository (the bytes stay until garbage collection).
    /// Refused while a manifest of the repository references it. Returns whether it
    /// was linked.
    pub async fn unlink_blob(&self, repository: RepositoryId, digest: &Digest) -> Result<bool, RegistryWriteError> {
        let mut tx = self.begin_write().await?;
        let referenced: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM manifest_references WHERE repository_id = $1 AND digest = $2")
                .bind(repository.0)
                .bind(digest.as_str())
                .fetch_one(&mut *tx)
                .await?;
        let is_manifest: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM manifests WHERE repository_id = $1 AND digest = $2")
                .bind(repository.0)
                .bind(digest.as_str())
                .fetch_one(&mut *tx)
                .await?;
        if referenced > 0 || is_manifest > 0 {
            return Err(RegistryWriteError::BlobReferenced(digest.clone()));
        }
        let done = sqlx::query("DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2")
            .bind(repository.0)
            .bind(digest.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a manifest and its bytes and optionally points `tag` at it, in one
    /// transaction: the references are checked, the tag's immutability is honoured,
    /// and a failure changes nothing. The checks are guards of the [`Batch`], so the
    /// whole write is one round trip on SQLite; only when a guard stops it are the
    /// reasons looked up.
    pub async fn put_manifest(
        &self,
        repository: RepositoryId,
        manifest: NewManifest<'_>,
        tag: Option<TagWrite<'_>>,
    ) -> Result<(), RegistryWriteError> {
        let row = manifest.row;
        let now = Timestamp::now().as_millis();
        let digest = row.digest.as_str();
        let mut batch = Batch::default();
        // Every reference present: (repository_id, digest) is the key of both tables,
        // so the count of matching rows is the count of distinct digests present.
        for (table, digests) in [("repository_blobs", manifest.blobs), ("manifests", manifest.manifests)] {
            for chunk in digests.chunks(REFERENCE_CHUNK) {
                let distinct = chunk.iter().collect::<HashSet<_>>().len();
                let mut args = vec![Arg::Int(repository.0)];
                args.extend(chunk.iter().map(|d| Arg::Text(d.as_str())));
                batch.abort_if(
                    format!(
                        "(SELECT COUNT(*) FROM {table} WHERE repository_id = $1 AND digest IN ({})) < {distinct}",
                        placeholders(2, chunk.len())
                    ),
                    args,
                );
            }
        }
        if let Some(TagWrite { name: tag, immutable: true }) = tag {
            batch.abort_if(
                "EXISTS (SELECT 1 FROM tags WHERE repository_id = $1 AND name = $2 AND digest <> $3)",
                vec![Arg::Int(repository.0), Arg::Text(tag), Arg::Text(digest)],
            );
        }
        batch.push(TOUCH_BLOB, vec![Arg::Text(digest), Arg::Int(size_i64(row.size)), Arg::Int(now)]);
        batch.push(
            "INSERT INTO manifest_contents (digest, content) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING",
            vec![Arg::Text(digest), Arg::Bytes(manifest.content)],
        );
        batch.push(
            "INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (repository_id, digest) DO NOTHING",
            vec![Arg::Int(repository.0), Arg::Text(digest), Arg::Int(now)],
        );
        batch.push(
            "INSERT INTO manifests (repository_id, digest, media_type, size, artifact_type, subject, annotations, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (repository_id, digest) DO NOTHING",
            vec![
                Arg::Int(repository.0),
                Arg::Text(digest),
                Arg::Text(&row.media_type),
                Arg::Int(size_i64(row.size)),
                Arg::OptText(row.artifact_type.as_deref()),
                Arg::OptText(row.subject.as_ref().map(Digest::as_str)),
                Arg::OptText(row.annotations.as_deref()),
                Arg::Int(now),
            ],
        );
        let refs: Vec<(&Digest, &str)> = manifest
            .blobs
            .iter()
            .map(|d| (d, "blob"))
            .chain(manifest.manifests.iter().map(|d| (d, "manifest")))
            .collect();
        // Multi-row inserts, in chunks to stay under the databases' parameter limits;
        // a manifest pushed again finds its references there already.
        for chunk in refs.chunks(REFERENCE_CHUNK / 2) {
            let values: Vec<String> =
                (0..chunk.len()).map(|i| format!("($1, $2, ${}, ${})", 3 + 2 * i, 4 + 2 * i)).collect();
            let mut args = vec![Arg::Int(repository.0), Arg::Text(digest)];
            for (d, kind) in chunk {
                args.push(Arg::Text(d.as_str()));
                args.push(Arg::Text(kind));
            }
            batch.push(
                format!(
                    "INSERT INTO manifest_references (repository_id, manifest, digest, kind) VALUES {} \
                     ON CONFLICT (repository_id, manifest, digest) DO NOTHING",
                    values.join(", ")
                ),
                args,
            );
        }
        if let Some(TagWrite { name: tag, .. }) = tag {
            batch.push(
                "INSERT INTO tags (repository_id, name, digest, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repository_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at",
                vec![Arg::Int(repository.0), Arg::Text(tag), Arg::Text(digest), Arg::Int(now)],
            );
        }

        // A guard that held may no longer hold when its reason is looked up (a blob
        // pushed meanwhile): then the batch runs again.
        for _ in 0..GUARD_RETRIES {
            match batch.commit(self).await {
                Ok(_) => return Ok(()),
                Err(BatchError::Sql(e)) => return Err(e.into()),
                Err(BatchError::Aborted) => {}
            }
            for (table, digests) in [("repository_blobs", manifest.blobs), ("manifests", manifest.manifests)] {
                let present = self.present(table, repository, digests).await?;
                if let Some(missing) = digests.iter().find(|d| !present.contains(d.as_str())) {
                    return Err(RegistryWriteError::MissingReference(missing.clone()));
                }
            }
            if let Some(TagWrite { name: tag, immutable: true }) = tag
                && let Some(current) = self.manifest_by_tag(repository, tag).await?
                && current.digest != row.digest
            {
                return Err(RegistryWriteError::TagImmutable { tag: tag.to_owned(), current: current.digest });
            }
        }
        Err(DbError::Contended("the manifest's references kept changing while it was stored; try again".into()).into())
    }

    /// Which of `digests` are in `table` (`repository_blobs` or `manifests`) for the repository.
    async fn present(
        &self,
        table: &str,
        repository: RepositoryId,
        digests: &[Digest],
    ) -> Result<HashSet<String>, DbError> {
        let mut found = HashSet::new();
        for chunk in digests.chunks(REFERENCE_CHUNK) {
            let sql = format!(
                "SELECT digest FROM {table} WHERE repository_id = $1 AND digest IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(repository.0);
            for d in chunk {
                q = q.bind(d.as_str());
            }
            found.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(found)
    }

    /// A manifest by digest.
    pub async fn manifest(&self, repository: RepositoryId, digest: &Digest) -> Result<Option<ManifestRow>, DbError> {
        let sql = format!("SELECT {MANIFEST_COLUMNS} FROM manifests WHERE repository_id = $1 AND digest = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repository.0)
            .bind(digest.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(manifest_from_row).transpose()
    }

    /// The bytes of a manifest stored since manifests' bytes are kept in the database
    /// (`None`: an earlier one, whose bytes are in the blob store, or no manifest).
    pub async fn manifest_content(&self, digest: &Digest) -> Result<Option<Vec<u8>>, DbError> {
        Ok(sqlx::query_scalar("SELECT content FROM manifest_contents WHERE digest = $1")
            .bind(digest.as_str())
            .fetch_optional(self.pool())
            .await?)
    }

    /// The manifest a tag points to.
    pub async fn manifest_by_tag(&self, repository: RepositoryId, tag: &str) -> Result<Option<ManifestRow>, DbError> {
        let sql = "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations FROM tags t \
             JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest \
             WHERE t.repository_id = $1 AND t.name = $2";
        let row = sqlx::query(sql).bind(repository.0).bind(tag).fetch_optional(self.pool()).await?;
        row.as_ref().map(manifest_from_row).transpose()
    }

    /// Deletes a manifest and the tags pointing to it. Refused when one of those tags
    /// is immutable. Returns whether it existed.
    pub async fn delete_manifest(
        &self,
        repository: RepositoryId,
        digest: &Digest,
        immutable: bool,
    ) -> Result<bool, RegistryWriteError> {
        // The manifest, its tags, its references and its own bytes' link, as one batch
        // (stopped while an immutable tag points to the manifest); the manifest's row
        // comes back when there was one.
        let args = || vec![Arg::Int(repository.0), Arg::Text(digest.as_str())];
        let mut batch = Batch::default();
        if immutable {
            batch.abort_if("EXISTS (SELECT 1 FROM tags WHERE repository_id = $1 AND digest = $2)", args());
        }
        batch.abort_if(format!("EXISTS ({FROZEN_BY})"), args());
        for sql in [
            "DELETE FROM tags WHERE repository_id = $1 AND digest = $2",
            "DELETE FROM manifest_references WHERE repository_id = $1 AND manifest = $2",
            "DELETE FROM manifests WHERE repository_id = $1 AND digest = $2 RETURNING digest",
            "DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2",
        ] {
            batch.push(sql, args());
        }
        for _ in 0..GUARD_RETRIES {
            match batch.commit(self).await {
                Ok(deleted) => return Ok(!deleted.is_empty()),
                Err(BatchError::Sql(e)) => return Err(e.into()),
                Err(BatchError::Aborted) => {}
            }
            let tag: Option<String> = if immutable {
                sqlx::query_scalar("SELECT name FROM tags WHERE repository_id = $1 AND digest = $2 LIMIT 1")
                    .bind(repository.0)
                    .bind(digest.as_str())
                    .fetch_optional(self.pool())
                    .await?
            } else {
                None
            };
            if let Some(tag) = tag {
                return Err(RegistryWriteError::TagImmutable { tag, current: digest.clone() });
            }
            let sql = format!("SELECT o.offer_id, v.version FROM ({FROZEN_BY}) v JOIN offers o ON o.id = v.offer");
            let frozen: Option<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(repository.0)
                .bind(digest.as_str())
                .fetch_optional(self.pool())
                .await?;
            if let Some((offer, version)) = frozen {
                return Err(RegistryWriteError::Frozen { digest: digest.clone(), offer, version });
            }
        }
        Err(DbError::Contended("the manifest's tags kept changing while it was deleted; try again".into()).into())
    }

    /// Deletes a tag. Refused when tags are immutable. Returns whether it existed.
    pub async fn delete_tag(
        &self,
        repository: RepositoryId,
        tag: &str,
        immutable: bool,
    ) -> Result<bool, RegistryWriteError> {
        if immutable {
            if let Some(current) = self.manifest_by_tag(repository, tag).await? {
                return Err(RegistryWriteError::TagImmutable { tag: tag.to_owned(), current: current.digest });
            }
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM tags WHERE repository_id = $1 AND name = $2")
            .bind(repository.0)
            .bind(tag)
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Tag names in lexical order, after `last`, at most `limit`.
    pub async fn list_tags(
        &self,
        repository: RepositoryId,
        last: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, DbError> {
        Ok(sqlx::query_scalar("SELECT name FROM tags WHERE repository_id = $1 AND name > $2 ORDER BY name LIMIT $3")
            .bind(repository.0)
            .bind(last.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?)
    }

    /// Manifests whose `subject` is `subject`, optionally with one artifact type.
    pub async fn referrers(
        &self,
        repository: RepositoryId,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<ManifestRow>, DbError> {
        let sql = format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE repository_id = $1 AND subject = $2 \
             AND ($3 = '' OR artifact_type = $3) ORDER BY created_at, digest"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repository.0)
            .bind(subject.as_str())
            .bind(artifact_type.unwrap_or(""))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(manifest_from_row).collect()
    }

    /// Bytes stored for an organization: each distinct blob linked to one of its
    /// repositories counts once.
    pub async fn org_storage_bytes(&self, org: OrgId) -> Result<u64, DbError> {
        let total: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(SUM(b.size) AS BIGINT) FROM blobs b WHERE b.digest IN \
             (SELECT rb.digest FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE r.org_id = $1)",
        )
        .bind(org.0)
        .fetch_one(self.pool())
        .await?;
        Ok(total.map_or(0, |t| u64::try_from(t).unwrap_or(0)))
    }

    /// An organization's storage quota (`None`: unlimited).
    pub async fn org_quota(&self, org: OrgId) -> Result<Option<u64>, DbError> {
        let q: Option<Option<i64>> = sqlx::query_scalar("SELECT storage_quota_bytes FROM organizations WHERE id = $1")
            .bind(org.0)
            .fetch_optional(self.pool())
            .await?;
        Ok(q.flatten().map(|v| u64::try_from(v).unwrap_or(0)))
    }

    /// Sets an organization's storage quota (`None`: unlimited).
    pub async fn set_org_quota(&self, org: OrgId, bytes: Option<u64>) -> Result<(), DbError> {
        sqlx::query("UPDATE organizations SET storage_quota_bytes = $1 WHERE id = $2")
            .bind(bytes.map(size_i64))
            .bind(org.0)
            .execute(self.writes())
            .await?;
        Ok(())
    }
}
