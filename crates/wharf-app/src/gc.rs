//! Garbage collection: online, with no read-only window, safe against concurrent
//! pushes and mounts, runnable from several nodes at once.
//!
//! Steps, each idempotent (a collection cut short by a crash just runs again):
//! 1. upload sessions untouched for the upload TTL: their bytes and rows;
//! 2. links of blobs no manifest of their repository uses, older than the grace period
//!    (layers pushed but never used);
//! 3. the store is swept: blobs no row knows, older than the grace period, are adopted
//!    as orphans; staging objects and bytes of sessions that no longer exist are removed;
//! 4. blobs linked nowhere and untouched for the grace period: bytes, then row.
//!
//! Why nothing in use is lost: a push or mount *touches* a blob's row before relying
//! on its bytes, and a blob touched within the grace period is never taken; the
//! deletion of a blob re-checks, under the row's lock, that it is still linked nowhere
//! and untouched, deletes the bytes, then the row, in one transaction. A push that
//! touches the blob meanwhile waits for that transaction, then writes the bytes anew.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use wharf_blob::{BlobStore, UploadState};
use wharf_core::Timestamp;
use wharf_db::Db;

/// How a collection runs.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Nothing younger than this is collected.
    pub grace: Duration,
    /// Upload sessions untouched this long are abandoned.
    pub upload_ttl: Duration,
    /// Count what would be collected, delete nothing.
    pub dry_run: bool,
}

/// What a collection did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    /// Whether nothing was deleted.
    pub dry_run: bool,
    /// Abandoned upload sessions removed.
    pub uploads_purged: u64,
    /// Blob links no manifest used, removed.
    pub links_removed: u64,
    /// Blobs deleted (rows and bytes).
    pub blobs_deleted: u64,
    /// Bytes of those blobs.
    pub blob_bytes_freed: u64,
    /// Leftover temporary objects (staging, sessions) removed.
    pub temporaries_removed: u64,
    /// Bytes of those.
    pub temporary_bytes_freed: u64,
    /// Wall time.
    pub duration_ms: u64,
}

const BATCH: u32 = 500;
/// In a dry run nothing changes between batches, so one large pass counts.
const DRY_RUN_LIMIT: u32 = 1_000_000;

/// Runs one collection.
pub async fn collect(db: &Db, blobs: &BlobStore, options: &GcOptions) -> anyhow::Result<GcReport> {
    let started = Instant::now();
    let now = Timestamp::now();
    let cutoff = Timestamp::from_millis(now.as_millis() - i64::try_from(options.grace.as_millis()).unwrap_or(i64::MAX));
    let upload_cutoff =
        Timestamp::from_millis(now.as_millis() - i64::try_from(options.upload_ttl.as_millis()).unwrap_or(i64::MAX));
    let dry = options.dry_run;
    let limit = if dry { DRY_RUN_LIMIT } else { BATCH };
    let mut report = GcReport { dry_run: dry, ..GcReport::default() };
    tracing::info!(dry_run = dry, grace_s = options.grace.as_secs(), "garbage collection started");

    // 1. Abandoned upload sessions.
    report.uploads_purged = purge_uploads(db, blobs, upload_cutoff, dry).await?;
    tracing::info!(uploads_purged = report.uploads_purged, "garbage collection: upload sessions done");
    if !dry {
        let kept_since = now.as_millis() - i64::try_from(crate::idempotency::KEEP_FOR.as_millis()).unwrap_or(i64::MAX);
        let forgotten = db.forget_idempotency_keys(Timestamp::from_millis(kept_since)).await?;
        tracing::debug!(forgotten, "garbage collection: idempotency keys older than a day forgotten");
    }

    // 2. Links no manifest uses.
    loop {
        let links = db.unreferenced_links(cutoff, limit).await?;
        let mut removed_now = 0;
        for (repo, digest) in &links {
            if dry || db.remove_unreferenced_link(*repo, digest, cutoff).await? {
                report.links_removed += 1;
                removed_now += 1;
            }
        }
        if dry || links.len() < limit as usize || removed_now == 0 {
            break;
        }
    }
    tracing::info!(links_removed = report.links_removed, "garbage collection: unused blob links done");

    // 3. Sweep the store: strays become orphans; leftovers of interrupted writes go.
    let mut listing = blobs.stored_blobs();
    let mut strays = 0u64;
    while let Some(item) = listing.next().await {
        let stored = item?;
        if stored.modified_ms < cutoff.as_millis() && !db.blob_known(&stored.digest).await? {
            strays += 1;
            if !dry {
                db.adopt_stray_blob(&stored.digest, stored.size).await?;
            } else {
                report.blobs_deleted += 1;
                report.blob_bytes_freed += stored.size;
            }
        }
    }
    let live = db.upload_ids().await?;
    let (temps, temp_bytes) = blobs.remove_stale_temporaries(cutoff.as_millis(), &live, dry).await?;
    report.temporaries_removed = temps;
    report.temporary_bytes_freed = temp_bytes;
    tracing::info!(stray_blobs = strays, temporaries = temps, "garbage collection: store sweep done");

    // 4. Orphan blobs.
    loop {
        let orphans = db.orphan_blobs(cutoff, limit).await?;
        let mut deleted_now = 0;
        for (digest, size) in &orphans {
            let deleted = if dry {
                true
            } else {
                db.delete_orphan_blob(digest, cutoff, || async {
                    blobs.delete(digest).await.map(|_| ()).map_err(anyhow::Error::from)
                })
                .await?
            };
            if deleted {
                report.blobs_deleted += 1;
                report.blob_bytes_freed += size;
                deleted_now += 1;
            }
        }
        if dry || orphans.len() < limit as usize || deleted_now == 0 {
            break;
        }
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if !dry {
        for (what, n) in [
            ("uploads", report.uploads_purged),
            ("links", report.links_removed),
            ("blobs", report.blobs_deleted),
            ("temporaries", report.temporaries_removed),
        ] {
            metrics::counter!("wharf_gc_collected_total", "what" => what).increment(n);
        }
        metrics::counter!("wharf_gc_bytes_freed_total")
            .increment(report.blob_bytes_freed + report.temporary_bytes_freed);
        metrics::gauge!("wharf_gc_last_success_timestamp_seconds").set(now.as_secs() as f64);
        metrics::gauge!("wharf_gc_last_duration_seconds").set(started.elapsed().as_secs_f64());
    }
    tracing::info!(
        dry_run = dry,
        uploads_purged = report.uploads_purged,
        links_removed = report.links_removed,
        blobs_deleted = report.blobs_deleted,
        bytes_freed = report.blob_bytes_freed + report.temporary_bytes_freed,
        duration_ms = report.duration_ms,
        "garbage collection finished"
    );
    Ok(report)
}

/// Removes upload sessions untouched since `before`, bytes and rows (or counts them
/// in a dry run); returns how many.
pub async fn purge_uploads(db: &Db, blobs: &BlobStore, before: Timestamp, dry: bool) -> anyhow::Result<u64> {
    let limit = if dry { DRY_RUN_LIMIT } else { BATCH };
    let mut purged = 0;
    loop {
        let stale = db.stale_uploads(before, limit).await?;
        if stale.is_empty() {
            break;
        }
        for up in &stale {
            if !dry {
                let state = UploadState { size: up.size, parts: up.parts.clone() };
                blobs.abort_upload(&up.id, &state).await?;
                db.delete_upload(&up.id).await?;
            }
            purged += 1;
        }
        if dry || stale.len() < limit as usize {
            break;
        }
    }
    Ok(purged)
}

/// The durable job that purges expired upload sessions, more often than a whole
/// collection runs (and also when collections are off): their bytes are freed and
/// they stop counting against anyone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurgeUploadsJob;

impl wharf_jobs::Job for PurgeUploadsJob {
    const KIND: &'static str = "registry.uploads.purge";
    const MAX_ATTEMPTS: u32 = 3;
    type Context = GcContext;

    async fn run(&self, ctx: &GcContext) -> anyhow::Result<()> {
        let ttl = i64::try_from(ctx.options.upload_ttl.as_millis()).unwrap_or(i64::MAX);
        let before = Timestamp::from_millis(Timestamp::now().as_millis() - ttl);
        let purged = purge_uploads(&ctx.db, &ctx.blobs, before, false).await?;
        metrics::counter!("wharf_registry_uploads_purged_total").increment(purged);
        if purged > 0 {
            tracing::info!(uploads_purged = purged, "expired upload sessions purged");
        }
        Ok(())
    }
}

/// The durable job that runs a collection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GcJob {
    /// Count only.
    pub dry_run: bool,
}

/// What the job needs.
#[derive(Debug, Clone)]
pub struct GcContext {
    /// Metadata.
    pub db: Db,
    /// Bytes.
    pub blobs: BlobStore,
    /// Grace period and upload TTL (`dry_run` comes from the job).
    pub options: GcOptions,
}

impl wharf_jobs::Job for GcJob {
    const KIND: &'static str = "registry.gc";
    const MAX_ATTEMPTS: u32 = 3;
    type Context = GcContext;

    async fn run(&self, ctx: &GcContext) -> anyhow::Result<()> {
        let options = GcOptions { dry_run: self.dry_run, ..ctx.options.clone() };
        collect(&ctx.db, &ctx.blobs, &options).await.map(|_| ())
    }
}
