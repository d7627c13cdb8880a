//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (start, monolithic with
//! `?digest=`, or mount with `?mount=&from=`), and on a session `PATCH` (a chunk),
//! `PUT ?digest=` (finish), `GET` (progress), `DELETE` (cancel).
//!
//! Sessions are rows in the database (size, hash state) bound to the repository and
//! to the user who started them; the bytes are in the blob store. One request at a
//! time may write to a session (a lease on the row), so bytes and hash state always
//! agree, and a session can be continued on any node.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use futures::TryStreamExt;
use wharf_blob::{BlobInfo, UploadState};
use wharf_core::Timestamp;
use wharf_db::registry::{Repository, Upload, UploadCapReached};
use wharf_oci::{Digest, ErrorCode, RepositoryName};

use super::{Ctx, digest};
use crate::RegistryState;
use crate::access::Action;
use crate::error::RegistryError;
use crate::response::{CONTENT_DIGEST, UPLOAD_UUID, empty};

/// How long one request may hold a session's write lease.
const LEASE: Duration = Duration::from_secs(3600);

fn location(ctx: &Ctx, id: &str) -> String {
    format!("/v2/{}/blobs/uploads/{id}", ctx.name)
}

fn range(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

/// 202 with where and how far the session is.
fn accepted(ctx: &Ctx, id: &str, size: u64, status: StatusCode) -> Response {
    empty(
        status,
        vec![
            (header::LOCATION, location(ctx, id)),
            (header::RANGE, range(size)),
            (UPLOAD_UUID, id.to_owned()),
            (header::CONTENT_LENGTH, "0".to_owned()),
        ],
    )
}

/// 201 for a blob now in the repository.
fn created(ctx: &Ctx, digest: &Digest) -> Response {
    empty(
        StatusCode::CREATED,
        vec![
            (header::LOCATION, format!("/v2/{}/blobs/{digest}", ctx.name)),
            (CONTENT_DIGEST, digest.to_string()),
            (header::CONTENT_LENGTH, "0".to_owned()),
        ],
    )
}

fn state_of(up: &Upload) -> UploadState {
    UploadState { size: up.size, parts: up.parts.clone() }
}

fn declared_length(ctx: &Ctx) -> Option<u64> {
    ctx.header(header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok())
}

/// Starts a session, or pushes a whole blob (`?digest=`), or mounts one (`?mount=`).
pub(crate) async fn start(ctx: &Ctx, body: Body) -> Result<Response, RegistryError> {
    let repo = ctx.for_push().await?;
    if let Some(mount) = ctx.param("mount") {
        let digest = digest(&mount)?;
        if let Some(size) = mountable(ctx, &repo, &digest).await? {
            check_quota(&ctx.state, &repo, ctx.name.namespace(), size, Some(&digest)).await?;
            ctx.state.db.link_blob(repo.id, &digest, size).await?;
            tracing::info!(repo.name = %ctx.name, blob.digest = %digest, "blob mounted");
            return Ok(created(ctx, &digest));
        }
        // Not mountable: the client uploads it instead, per the specification.
    }
    if let Some(d) = ctx.param("digest") {
        let digest = digest(&d)?;
        return monolithic(ctx, &repo, &digest, body).await;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let state = UploadState::default();
    let now = Timestamp::now();
    let upload = Upload {
        id: id.clone(),
        repository_id: repo.id,
        principal: ctx.caller.subject().to_owned(),
        size: 0,
        parts: state.parts,
        created_at: now,
        updated_at: now,
    };
    let live_since = Timestamp::from_millis(
        now.as_millis() - i64::try_from(ctx.state.settings.upload_ttl.as_millis()).unwrap_or(i64::MAX),
    );
    if let Err(cap) = ctx.state.db.create_upload_capped(&upload, live_since, ctx.state.settings.upload_caps).await? {
        let (whose, open, limit) = match cap {
            UploadCapReached::Principal { open, cap } => ("you have", open, cap),
            UploadCapReached::Repository { open, cap } => ("this repository has", open, cap),
        };
        metrics::counter!("wharf_registry_upload_sessions_refused_total").increment(1);
        return Err(RegistryError::new(
            ErrorCode::TooManyRequests,
            format!(
                "{whose} {open} upload sessions open (the limit is {limit}): finish or cancel some (DELETE the upload) and retry; unused sessions expire after {}",
                humantime::format_duration(ctx.state.settings.upload_ttl)
            ),
        )
        .header(header::RETRY_AFTER, "10"));
    }
    Ok(accepted(ctx, &id, 0, StatusCode::ACCEPTED))
}

/// The size of a blob the caller may mount into `repo`: from `from` when given and
/// readable by the caller, otherwise from any repository of the same organization.
async fn mountable(ctx: &Ctx, repo: &Repository, digest: &Digest) -> Result<Option<u64>, RegistryError> {
    let Some(from) = ctx.param("from") else {
        return Ok(ctx.state.db.blob_in_org(repo.org_id, digest).await?);
    };
    let Ok(from_name) = from.parse::<RepositoryName>() else {
        return Ok(None);
    };
    let Some(from_repo) = ctx.state.db.repository(&from_name).await? else {
        return Ok(None);
    };
    let readable =
        from_repo.anonymous_pull || ctx.caller.grants(&ctx.state, "repository", from_name.as_str(), "pull").await?;
    if !readable {
        return Ok(None);
    }
    Ok(ctx.state.db.blob_in_repository(from_repo.id, digest).await?)
}

/// A whole blob in one request (`POST …/uploads/?digest=`), through a session that
/// lives only for this request.
async fn monolithic(ctx: &Ctx, repo: &Repository, digest: &Digest, body: Body) -> Result<Response, RegistryError> {
    let declared = declared_length(ctx);
    if let Some(len) = declared {
        check_quota(&ctx.state, repo, ctx.name.namespace(), len, Some(digest)).await?;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let start = UploadState::default();
    let appended = ctx.state.blobs.append_upload(&id, &start, body.into_data_stream()).await?;
    if let Some(reason) = appended.interrupted {
        ctx.state.blobs.abort_upload(&id, &appended.state).await.ok();
        return Err(RegistryError::new(
            ErrorCode::BlobUploadInvalid,
            format!("the request body ended early: {reason}"),
        ));
    }
    if declared.is_some_and(|len| len != appended.written) {
        ctx.state.blobs.abort_upload(&id, &appended.state).await.ok();
        return Err(RegistryError::new(ErrorCode::SizeInvalid, "Content-Length does not match the body"));
    }
    if declared.is_none()
        && let Err(e) = check_quota(&ctx.state, repo, ctx.name.namespace(), appended.written, Some(digest)).await
    {
        ctx.state.blobs.abort_upload(&id, &appended.state).await.ok();
        return Err(e);
    }
    // Declare the bytes in use before relying on them (see `gc`).
    ctx.state.db.touch_blob(digest, appended.written).await?;
    let info = ctx.state.blobs.commit_upload(&id, &appended.state, digest).await?;
    link(ctx, repo, &info).await?;
    Ok(created(ctx, digest))
}

async fn link(ctx: &Ctx, repo: &Repository, info: &BlobInfo) -> Result<(), RegistryError> {
    ctx.state.db.link_blob(repo.id, &info.digest, info.size).await?;
    tracing::debug!(repo.name = %ctx.name, blob.digest = %info.digest, size_bytes = info.size, "blob pushed");
    Ok(())
}

/// Refuses a blob that would take the organization over its storage quota. A blob
/// the organization already stores costs nothing.
pub(crate) async fn check_quota(
    state: &RegistryState,
    repo: &Repository,
    org_name: &str,
    adding: u64,
    digest: Option<&Digest>,
) -> Result<(), RegistryError> {
    let db = &state.db;
    let quota = match state.cache.quota(repo.org_id.0) {
        Some(q) => q,
        None => {
            let q = db.org_quota(repo.org_id).await?;
            state.cache.put_quota(repo.org_id.0, q);
            q
        }
    };
    let Some(quota) = quota else {
        return Ok(());
    };
    if let Some(d) = digest
        && db.blob_in_org(repo.org_id, d).await?.is_some()
    {
        return Ok(());
    }
    let used = db.org_storage_bytes(repo.org_id).await?;
    if used.saturating_add(adding) > quota {
        return Err(RegistryError::new(
            ErrorCode::Denied,
            format!(
                "storage quota of organization {org_name} exceeded: {used} bytes stored + {adding} bytes pushed > quota of {quota} bytes"
            ),
        ));
    }
    Ok(())
}

/// The session `id` of this repository and caller; anything else is unknown.
async fn session(ctx: &Ctx, repo: &Repository, id: &str) -> Result<Upload, RegistryError> {
    let unknown = || {
        RegistryError::new(
            ErrorCode::BlobUploadUnknown,
            format!("upload {id:?} is unknown, finished, expired or not yours"),
        )
    };
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(unknown());
    }
    let up = ctx.state.db.upload(id).await?.ok_or_else(unknown)?;
    if up.repository_id != repo.id || up.principal != ctx.caller.subject() {
        return Err(unknown());
    }
    if up.updated_at.plus(ctx.state.settings.upload_ttl) < Timestamp::now() {
        discard(&ctx.state, &up).await;
        return Err(unknown());
    }
    Ok(up)
}

async fn discard(state: &RegistryState, up: &Upload) {
    if let Err(e) = state.blobs.abort_upload(&up.id, &state_of(up)).await {
        tracing::warn!(upload.id = %up.id, error = %e, "could not remove an upload's bytes; garbage collection will");
    }
    state.db.delete_upload(&up.id).await.ok();
}

/// Runs `work` holding the session's write lease, in a task of its own: when the
/// client goes away, hyper drops the request's future, but recording what arrived,
/// committing and releasing the lease must still happen.
async fn leased<T: Send + 'static, F>(
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
        .status(StatusCode::CONFLICT));
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
struct Appended {
    /// The session's state afterwards (unchanged when nothing was kept).
    state: UploadState,
    /// Bytes that arrived.
    written: u64,
    /// Why the body broke off, if it did.
    interrupted: Option<String>,
    /// Whether the bytes were kept: not when a declared length was not met.
    kept: bool,
}

/// Appends the body and records the new state. A body of declared length (its
/// `Content-Length` or `Content-Range`) is all or nothing: if it breaks off or its
/// length differs, none of it is kept and the session stays where it was. A body
/// of unknown length (chunked) keeps what arrived, so a streaming client resumes.
async fn append(
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

/// The answer to a chunk that did not arrive whole: what arrived, what was kept,
/// where to resume.
fn broken_off(ctx: &Ctx, id: &str, a: &Appended, declared: Option<u64>, size: u64) -> RegistryError {
    let why = a.interrupted.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    match declared {
        Some(len) if !a.kept => RegistryError::new(
            ErrorCode::SizeInvalid,
            format!(
                "the chunk declared {len} bytes but {} arrived{why}; none of it was kept: send it again from byte {size}",
                a.written
            ),
        )
        .header(header::LOCATION, &location(ctx, id))
        .header(header::RANGE, &range(size))
        .header(UPLOAD_UUID, id),
        _ => RegistryError::new(
            ErrorCode::BlobUploadInvalid,
            format!("the chunk ended early after {} bytes{why}; GET the upload to see where to resume", a.written),
        ),
    }
}

/// The chunk's declared length, from `Content-Range` (which must start where the
/// session is: else 416 with where it is) and `Content-Length` (which must agree).
fn chunk_length(ctx: &Ctx, id: &str, up: &Upload) -> Result<Option<u64>, RegistryError> {
    let Some(cr) = ctx.header(header::CONTENT_RANGE) else {
        return Ok(declared_length(ctx));
    };
    let (start, end) = content_range(cr)?;
    if start != up.size {
        return Err(RegistryError::new(
            ErrorCode::RangeInvalid,
            format!(
                "this chunk starts at byte {start}, but the upload has {} bytes; send the chunk that starts there",
                up.size
            ),
        )
        .status(StatusCode::RANGE_NOT_SATISFIABLE)
        .header(header::LOCATION, &location(ctx, id))
        .header(header::RANGE, &range(up.size))
        .header(UPLOAD_UUID, id));
    }
    let len = end - start + 1;
    if declared_length(ctx).is_some_and(|cl| cl != len) {
        return Err(RegistryError::new(ErrorCode::SizeInvalid, "Content-Length disagrees with Content-Range"));
    }
    Ok(Some(len))
}

/// Parses `Content-Range: <start>-<end>` (inclusive; `bytes ` prefix tolerated).
fn content_range(value: &str) -> Result<(u64, u64), RegistryError> {
    let bad = || {
        RegistryError::new(
            ErrorCode::BlobUploadInvalid,
            format!("malformed Content-Range {value:?}: expected START-END"),
        )
    };
    let v = value.trim();
    let v = v.strip_prefix("bytes ").or_else(|| v.strip_prefix("bytes=")).unwrap_or(v);
    let v = v.split('/').next().unwrap_or(v);
    let (a, b) = v.split_once('-').ok_or_else(bad)?;
    let (start, end) = (a.trim().parse::<u64>().map_err(|_| bad())?, b.trim().parse::<u64>().map_err(|_| bad())?);
    if end < start {
        return Err(bad());
    }
    Ok((start, end))
}

/// A chunk. With `Content-Range`, it must start where the session is (else 416).
pub(crate) async fn patch(ctx: &Ctx, id: &str, body: Body) -> Result<Response, RegistryError> {
    let repo = ctx.existing(Action::Push).await?;
    let up = session(ctx, &repo, id).await?;
    let declared = chunk_length(ctx, id, &up)?;
    let (registry, upload) = (ctx.state.clone(), up.clone());
    let appended =
        leased(&ctx.state, id, |released| async move { append(&registry, &upload, body, declared, &released).await })
            .await?;
    if appended.interrupted.is_some() || !appended.kept {
        return Err(broken_off(ctx, id, &appended, declared, up.size));
    }
    Ok(accepted(ctx, id, appended.state.size, StatusCode::ACCEPTED))
}

/// Ends a session: an optional last chunk (with `Content-Range`, at the session's
/// offset, as PATCH), then `?digest=` must match the content.
pub(crate) async fn finish(ctx: &Ctx, id: &str, body: Body) -> Result<Response, RegistryError> {
    let repo = ctx.existing(Action::Push).await?;
    let up = session(ctx, &repo, id).await?;
    let digest = match ctx.param("digest") {
        Some(d) => digest(&d)?,
        None => {
            return Err(RegistryError::new(
                ErrorCode::DigestInvalid,
                "the digest query parameter is required to finish an upload",
            ));
        }
    };
    let declared = chunk_length(ctx, id, &up)?;
    let (registry, upload, target, namespace) =
        (ctx.state.clone(), up.clone(), repo.clone(), ctx.name.namespace().to_owned());
    let outcome = leased(&ctx.state, id, |released| async move {
        let appended = append(&registry, &upload, body, declared, &released).await?;
        if appended.interrupted.is_some() || !appended.kept {
            return Ok(Err(appended));
        }
        let state = appended.state;
        if let Err(e) = check_quota(&registry, &target, &namespace, state.size, Some(&digest)).await {
            discard(&registry, &Upload { size: state.size, parts: state.parts.clone(), ..upload.clone() }).await;
            return Err(e);
        }
        // Declare the bytes in use before relying on them (see `gc`).
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
    .await?;
    let info = outcome.map_err(|appended| broken_off(ctx, id, &appended, declared, up.size))?;
    tracing::debug!(repo.name = %ctx.name, blob.digest = %info.digest, size_bytes = info.size, "blob pushed");
    Ok(created(ctx, &info.digest))
}

/// Where the session is: `204` with `Range`.
pub(crate) async fn status(ctx: &Ctx, id: &str) -> Result<Response, RegistryError> {
    let repo = ctx.existing(Action::Push).await?;
    let up = session(ctx, &repo, id).await?;
    Ok(accepted(ctx, id, up.size, StatusCode::NO_CONTENT))
}

/// Cancels the session and discards its bytes.
pub(crate) async fn cancel(ctx: &Ctx, id: &str) -> Result<Response, RegistryError> {
    let repo = ctx.existing(Action::Push).await?;
    let up = session(ctx, &repo, id).await?;
    discard(&ctx.state, &up).await;
    Ok(empty(StatusCode::NO_CONTENT, vec![(header::CONTENT_LENGTH, "0".to_owned())]))
}
