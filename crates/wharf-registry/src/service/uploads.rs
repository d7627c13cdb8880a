//! Upload sessions: rows in the database (size, hash state) bound to a repository
//! and to the principal who started them, bytes in the blob store. One request at a
//! time holds a session's write lease, so bytes and hash state always agree, and a
//! session can be continued on any node.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use futures::TryStreamExt;
use wharf_blob::{BlobInfo, UploadState};
use wharf_core::Timestamp;
use wharf_db::registry::{Repository, Upload, UploadCapReached};
use wharf_oci::{Digest, ErrorCode};

use super::repos::check_quota;
use crate::RegistryState;
use crate::error::RegistryError;

/// How long one request may hold a session's write lease.
const LEASE: Duration = Duration::from_secs(3600);

/// The blob store's view of a session.
pub(crate) fn state_of(up: &Upload) -> UploadState {
    UploadState { size: up.size, parts: up.parts.clone() }
}

/// Opens a session for `principal` in `repo`, unless the principal or the repository
/// has too many open already (429 naming the cap). Returns its id.
pub(crate) async fn open(state: &RegistryState, repo: &Repository, principal: &str) -> Result<String, RegistryError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = Timestamp::now();
    let upload = Upload {
        id: id.clone(),
        repository_id: repo.id,
        principal: principal.to_owned(),
        size: 0,
        parts: UploadState::default().parts,
        created_at: now,
        updated_at: now,
    };
    let ttl = state.settings.upload_ttl;
    let live_since = Timestamp::from_millis(now.as_millis() - i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    if let Err(cap) = state.db.create_upload_capped(&upload, live_since, state.settings.upload_caps).await? {
        let (whose, open, limit) = match cap {
            UploadCapReached::Principal { open, cap } => ("you have", open, cap),
            UploadCapReached::Repository { open, cap } => ("this repository has", open, cap),
        };
        metrics::counter!("wharf_registry_upload_sessions_refused_total").increment(1);
        return Err(RegistryError::new(
            ErrorCode::TooManyRequests,
            format!(
                "{whose} {open} upload sessions open (the limit is {limit}): finish or cancel some (DELETE the upload) and retry; unused sessions expire after {}",
                humantime::format_duration(ttl)
            ),
        )
        .header(axum::http::header::RETRY_AFTER, "10"));
    }
    Ok(id)
}

/// The session `id` of `repo` and `principal`; anything else (and an expired
/// session, which is discarded) is unknown.
pub(crate) async fn session(
    state: &RegistryState,
    repo: &Repository,
    principal: &str,
    id: &str,
) -> Result<Upload, RegistryError> {
    let unknown = || {
        RegistryError::new(
            ErrorCode::BlobUploadUnknown,
            format!("upload {id:?} is unknown, finished, expired or not yours"),
        )
    };
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(unknown());
    }
    let up = state.db.upload(id).await?.ok_or_else(unknown)?;
    if up.repository_id != repo.id || up.principal != principal {
        return Err(unknown());
    }
    if up.updated_at.plus(state.settings.upload_ttl) < Timestamp::now() {
        discard(state, &up).await;
        return Err(unknown());
    }
    Ok(up)
}

/// Removes a session, bytes and row.
pub(crate) async fn discard(state: &RegistryState, up: &Upload) {
    if let Err(e) = state.blobs.abort_upload(&up.id, &state_of(up)).await {
        tracing::warn!(upload.id = %up.id, error = %e, "could not remove an upload's bytes; garbage collection will");
    }
    state.db.delete_upload(&up.id).await.ok();
}

/// Runs `work` holding the session's write lease, in a task of its own: when the
/// client goes away, hyper drops the request's future, but recording what arrived,
/// committing and releasing the lease must still happen.
pub(crate) async fn leased<T: Send + 'static, F>(
    state: &RegistryState,
    id: &str,
    work: impl FnOnce(Arc<AtomicBool>) -> F,
) -> Result<T, RegistryError>
where
    F: std::future::Future<Output = Result<T, RegistryError>> + Send + 'static,
{
    let until = Timestamp::now().plus(LEASE);
    if !state.db.claim_upload(id, until).await? {
        return Err(RegistryError::new(
            ErrorCode::BlobUploadInvalid,
            "another request is writing to this upload; retry when it is done",
        )
        .status(axum::http::StatusCode::CONFLICT));
    }
    let db = state.db.clone();
    let id = id.to_owned();
    // Set when the work gave the lease back itself (with a broken-off body's progress).
    let released = Arc::new(AtomicBool::new(false));
    let work = work(released.clone());
    let task = tokio::spawn(async move {
        let result = work.await;
        if !released.load(Ordering::Relaxed)
            && let Err(e) = db.release_upload(&id, until).await
        {
            tracing::warn!(upload.id = %id, error = %e, "could not release an upload lease; it expires by itself");
        }
        result
    });
    task.await.map_err(|e| RegistryError::internal(format!("upload task failed: {e}"), false))?
}

/// What appending a request's body did.
pub(crate) struct Appended {
    /// The session's state afterwards (unchanged when nothing was kept).
    pub(crate) state: UploadState,
    /// Bytes that arrived.
    pub(crate) written: u64,
    /// Why the body broke off, if it did.
    pub(crate) interrupted: Option<String>,
    /// Whether the bytes were kept: not when a declared length was not met.
    pub(crate) kept: bool,
}

/// Appends the body and records the new state. A body of declared length (its
/// `Content-Length` or `Content-Range`) is all or nothing: if it breaks off or its
/// length differs, none of it is kept and the session stays where it was. A body
/// of unknown length (chunked) keeps what arrived, so a streaming client resumes.
pub(crate) async fn append(
    state: &RegistryState,
    up: &Upload,
    body: Body,
    declared: Option<u64>,
    released: &AtomicBool,
) -> Result<Appended, RegistryError> {
    let before = state_of(up);
    let stream = body.into_data_stream().map_err(|e| e.to_string());
    let appended = state.blobs.append_upload(&up.id, &before, stream).await?;
    let complete = declared.is_none_or(|len| appended.interrupted.is_none() && appended.written == len);
    if !complete {
        // Not recorded: the next append cuts the session back to its recorded size.
        return Ok(Appended {
            state: before,
            written: appended.written,
            interrupted: appended.interrupted,
            kept: false,
        });
    }
    if appended.written > 0 {
        let recorded = Upload { size: appended.state.size, parts: appended.state.parts.clone(), ..up.clone() };
        // A broken-off body ends the request's work here (both callers return at
        // once), so the lease goes with the recorded size.
        let release = appended.interrupted.is_some();
        if state.db.advance_upload(&up.id, up.size, &recorded, release).await? && release {
            released.store(true, Ordering::Relaxed);
        }
    }
    Ok(Appended { state: appended.state, written: appended.written, interrupted: appended.interrupted, kept: true })
}

/// Appends a session's last chunk and commits it as the blob `digest` of `repo`,
/// holding the lease: the quota must allow it and the content must match. A chunk
/// that did not arrive whole comes back as `Ok(Err(_))`, the session kept.
pub(crate) async fn finish(
    state: &RegistryState,
    repo: &Repository,
    up: &Upload,
    body: Body,
    declared: Option<u64>,
    digest: Digest,
) -> Result<Result<BlobInfo, Appended>, RegistryError> {
    let (registry, upload, target) = (state.clone(), up.clone(), repo.clone());
    leased(state, &up.id, |released| async move {
        let appended = append(&registry, &upload, body, declared, &released).await?;
        if appended.interrupted.is_some() || !appended.kept {
            return Ok(Err(appended));
        }
        let state = appended.state;
        if let Err(e) = check_quota(&registry, &target, state.size, Some(&digest)).await {
            discard(&registry, &Upload { size: state.size, parts: state.parts.clone(), ..upload.clone() }).await;
            return Err(e);
        }
        // Declare the bytes in use before relying on them (see `wharf_app::gc`).
        registry.db.touch_blob(&digest, state.size).await?;
        match registry.blobs.commit_upload(&upload.id, &state, &digest).await {
            Ok(info) => {
                registry.db.link_blob(target.id, &info.digest, info.size).await?;
                registry.db.delete_upload(&upload.id).await?;
                Ok(Ok(info))
            }
            Err(e) => {
                // A mismatch ends the session (its bytes are already discarded).
                registry.db.delete_upload(&upload.id).await.ok();
                Err(e.into())
            }
        }
    })
    .await
}

/// A whole blob in one request, through a session that lives only for this request:
/// `declared` is its `Content-Length`, if given.
pub(crate) async fn push_whole(
    state: &RegistryState,
    repo: &Repository,
    digest: &Digest,
    body: Body,
    declared: Option<u64>,
) -> Result<(), RegistryError> {
    if let Some(len) = declared {
        check_quota(state, repo, len, Some(digest)).await?;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let start = UploadState::default();
    let appended = state.blobs.append_upload(&id, &start, body.into_data_stream()).await?;
    if let Some(reason) = appended.interrupted {
        state.blobs.abort_upload(&id, &appended.state).await.ok();
        return Err(RegistryError::new(
            ErrorCode::BlobUploadInvalid,
            format!("the request body ended early: {reason}"),
        ));
    }
    if declared.is_some_and(|len| len != appended.written) {
        state.blobs.abort_upload(&id, &appended.state).await.ok();
        return Err(RegistryError::new(ErrorCode::SizeInvalid, "Content-Length does not match the body"));
    }
    if declared.is_none()
        && let Err(e) = check_quota(state, repo, appended.written, Some(digest)).await
    {
        state.blobs.abort_upload(&id, &appended.state).await.ok();
        return Err(e);
    }
    // Declare the bytes in use before relying on them (see `wharf_app::gc`).
    state.db.touch_blob(digest, appended.written).await?;
    let info = state.blobs.commit_upload(&id, &appended.state, digest).await?;
    state.db.link_blob(repo.id, &info.digest, info.size).await?;
    tracing::debug!(repo.name = %repo.name, blob.digest = %info.digest, size_bytes = info.size, "blob pushed");
    Ok(())
}

/// Links a blob into `repo` (a mount) from `from`, which the caller may read, or
/// with no `from` from any repository of the same organization. Returns whether the
/// blob was there.
pub(crate) async fn mount(
    state: &RegistryState,
    repo: &Repository,
    digest: &Digest,
    from: Option<&Repository>,
) -> Result<bool, RegistryError> {
    let size = match from {
        None => state.db.blob_in_org(repo.org_id, digest).await?,
        Some(from) => state.db.blob_in_repository(from.id, digest).await?,
    };
    let Some(size) = size else { return Ok(false) };
    check_quota(state, repo, size, Some(digest)).await?;
    state.db.link_blob(repo.id, digest, size).await?;
    Ok(true)
}
