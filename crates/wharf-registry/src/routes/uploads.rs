//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (start, monolithic with
//! `?digest=`, or mount with `?mount=&from=`), and on a session `PATCH` (a chunk),
//! `PUT ?digest=` (finish), `GET` (progress), `DELETE` (cancel).
//!
//! This module speaks HTTP (locations, ranges, `Content-Range`, what to tell a client
//! whose chunk broke off); the sessions themselves are `service::uploads`.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use wharf_db::registry::Upload;
use wharf_oci::{Digest, RepositoryName};

use super::{Ctx, digest};
use crate::access::Action;
use crate::error::RegistryError;
use crate::response::{CONTENT_DIGEST, UPLOAD_UUID, empty};
use crate::service::repos;
use crate::service::uploads::{self, Appended};
use wharf_oci::ErrorCode;

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

fn declared_length(ctx: &Ctx) -> Option<u64> {
    ctx.header(header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok())
}

/// Starts a session, or pushes a whole blob (`?digest=`), or mounts one (`?mount=`).
pub(crate) async fn start(ctx: &Ctx, body: Body) -> Result<Response, RegistryError> {
    let repo = ctx.for_push().await?;
    if let Some(mount) = ctx.param("mount") {
        let digest = digest(&mount)?;
        // A `from` the caller may not read, or that does not exist, mounts nothing.
        let from = match ctx.param("from") {
            None => Some(None),
            Some(from) => readable(ctx, &from).await?.map(Some),
        };
        if let Some(from) = from
            && uploads::mount(&ctx.state, &repo, &digest, from.as_ref()).await?
        {
            tracing::info!(repo.name = %ctx.name, blob.digest = %digest, "blob mounted");
            return Ok(created(ctx, &digest));
        }
        // Not mountable: the client uploads it instead, per the specification.
    }
    if let Some(d) = ctx.param("digest") {
        let digest = digest(&d)?;
        uploads::push_whole(&ctx.state, &repo, &digest, body, declared_length(ctx)).await?;
        return Ok(created(ctx, &digest));
    }
    let id = uploads::open(&ctx.state, &repo, ctx.caller.subject()).await?;
    Ok(accepted(ctx, &id, 0, StatusCode::ACCEPTED))
}

/// The repository `from`, if it exists and the caller may pull from it.
async fn readable(ctx: &Ctx, from: &str) -> Result<Option<wharf_db::registry::Repository>, RegistryError> {
    let Ok(from_name) = from.parse::<RepositoryName>() else {
        return Ok(None);
    };
    let Some(from_repo) = repos::find(&ctx.state, &from_name).await? else {
        return Ok(None);
    };
    let readable =
        from_repo.anonymous_pull || ctx.caller.grants(&ctx.state, "repository", from_name.as_str(), "pull").await?;
    Ok(readable.then_some(from_repo))
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

/// The session `id` of this repository and caller.
async fn session(ctx: &Ctx, id: &str) -> Result<(wharf_db::registry::Repository, Upload), RegistryError> {
    let repo = ctx.existing(Action::Push).await?;
    let up = uploads::session(&ctx.state, &repo, ctx.caller.subject(), id).await?;
    Ok((repo, up))
}

/// A chunk. With `Content-Range`, it must start where the session is (else 416).
pub(crate) async fn patch(ctx: &Ctx, id: &str, body: Body) -> Result<Response, RegistryError> {
    let (_, up) = session(ctx, id).await?;
    let declared = chunk_length(ctx, id, &up)?;
    let (registry, upload) = (ctx.state.clone(), up.clone());
    let appended = uploads::leased(&ctx.state, id, |released| async move {
        uploads::append(&registry, &upload, body, declared, &released).await
    })
    .await?;
    if appended.interrupted.is_some() || !appended.kept {
        return Err(broken_off(ctx, id, &appended, declared, up.size));
    }
    Ok(accepted(ctx, id, appended.state.size, StatusCode::ACCEPTED))
}

/// Ends a session: an optional last chunk (with `Content-Range`, at the session's
/// offset, as PATCH), then `?digest=` must match the content.
pub(crate) async fn finish(ctx: &Ctx, id: &str, body: Body) -> Result<Response, RegistryError> {
    let (repo, up) = session(ctx, id).await?;
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
    let outcome = uploads::finish(&ctx.state, &repo, &up, body, declared, digest).await?;
    let info = outcome.map_err(|appended| broken_off(ctx, id, &appended, declared, up.size))?;
    tracing::debug!(repo.name = %ctx.name, blob.digest = %info.digest, size_bytes = info.size, "blob pushed");
    Ok(created(ctx, &info.digest))
}

/// Where the session is: `204` with `Range`.
pub(crate) async fn status(ctx: &Ctx, id: &str) -> Result<Response, RegistryError> {
    let (_, up) = session(ctx, id).await?;
    Ok(accepted(ctx, id, up.size, StatusCode::NO_CONTENT))
}

/// Cancels the session and discards its bytes.
pub(crate) async fn cancel(ctx: &Ctx, id: &str) -> Result<Response, RegistryError> {
    let (_, up) = session(ctx, id).await?;
    uploads::discard(&ctx.state, &up).await;
    Ok(empty(StatusCode::NO_CONTENT, vec![(header::CONTENT_LENGTH, "0".to_owned())]))
}
