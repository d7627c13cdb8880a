//! `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use wharf_blob::ByteRange;
use wharf_oci::ErrorCode;

use super::{Ctx, digest};
use crate::access::Action;
use crate::error::RegistryError;
use crate::response::{CONTENT_DIGEST, empty};
use crate::service::blobs;

/// A blob, or a byte range of it (`Range: bytes=…`).
pub(crate) async fn get(ctx: &Ctx, digest_text: &str, head: bool) -> Result<Response, RegistryError> {
    let digest = digest(digest_text)?;
    let repo = ctx.existing(Action::Pull).await?;
    let size = blobs::linked(&ctx.state, repo.id, &digest).await?.ok_or_else(|| {
        RegistryError::new(ErrorCode::BlobUnknown, format!("blob {digest} is not in repository {}", ctx.name))
    })?;
    let range = match ctx.header(header::RANGE) {
        Some(r) => parse_range(r, size)?,
        None => None,
    };
    let common = vec![
        (CONTENT_DIGEST, digest.to_string()),
        (header::ACCEPT_RANGES, "bytes".to_owned()),
        (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
        (header::CACHE_CONTROL, "max-age=31536000, immutable".to_owned()),
        (header::ETAG, format!("\"{digest}\"")),
    ];
    if head {
        // HEAD answers what GET would: the bytes must still be there (a collection by
        // another node or `wharf admin gc` may have taken them since the link was cached).
        if !blobs::bytes_exist(&ctx.state, &digest).await? {
            return Err(collected(ctx, repo.id, &digest).await);
        }
        let mut headers = common;
        headers.push((header::CONTENT_LENGTH, size.to_string()));
        return Ok(empty(StatusCode::OK, headers));
    }
    let (status, body, length, content_range) = match ctx.state.blobs.get(&digest, range).await {
        Ok(read) => {
            let status = if range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
            let content_range =
                format!("bytes {}-{}/{}", read.range.start, read.range.end.saturating_sub(1), read.size);
            let body = Body::from_stream(read.stream.map(|chunk| chunk.map_err(std::io::Error::other)));
            (status, body, read.range.end - read.range.start, range.map(|_| content_range))
        }
        Err(wharf_blob::BlobError::NotFound(d)) => {
            // A manifest's bytes are kept in the database, not the store.
            if let Some(content) = blobs::manifest_bytes(&ctx.state, &d).await? {
                slice(content, range)
            } else {
                return Err(collected(ctx, repo.id, &d).await);
            }
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    for (name, value) in common {
        h.insert(name, crate::response::header_value(&value));
    }
    h.insert(header::CONTENT_LENGTH, crate::response::header_value(&length.to_string()));
    if let Some(value) = content_range {
        h.insert(header::CONTENT_RANGE, crate::response::header_value(&value));
    }
    Ok(response)
}

/// The answer for a linked blob whose bytes are gone: a cached link to a blob
/// collected meanwhile answers as the blob is now (and leaves the cache); a link the
/// database still has to bytes that are gone is storage damage.
async fn collected(ctx: &Ctx, repo: wharf_core::RepositoryId, d: &wharf_oci::Digest) -> RegistryError {
    match blobs::link_gone(&ctx.state, repo, d).await {
        Ok(None) => RegistryError::new(ErrorCode::BlobUnknown, format!("blob {d} is not in repository {}", ctx.name)),
        Ok(Some(_)) => RegistryError::internal(format!("blob {d} is recorded but missing from the store"), false),
        Err(e) => e,
    }
}

/// The part of bytes held in memory (a manifest's) that `range` asks for, as
/// (status, body, length, `Content-Range`). `range` starts within the bytes.
fn slice(content: Vec<u8>, range: Option<ByteRange>) -> (StatusCode, Body, u64, Option<String>) {
    let size = content.len() as u64;
    match range {
        None => (StatusCode::OK, Body::from(content), size, None),
        Some(r) => {
            let end = r.end.map_or(size, |e| e.saturating_add(1).min(size));
            let part = content.get(r.start as usize..end as usize).unwrap_or_default().to_vec();
            (
                StatusCode::PARTIAL_CONTENT,
                Body::from(part),
                end - r.start,
                Some(format!("bytes {}-{}/{size}", r.start, end - 1)),
            )
        }
    }
}

/// Parses `bytes=start-end`, `bytes=start-` or `bytes=-suffix`. Several ranges are
/// not supported: the whole blob is sent, as RFC 9110 allows.
fn parse_range(value: &str, size: u64) -> Result<Option<ByteRange>, RegistryError> {
    let unsatisfiable = || RegistryError::from(wharf_blob::BlobError::RangeNotSatisfiable { start: 0, end: 0, size });
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(start), Some(end)) if start <= end => ByteRange { start, end: Some(end) },
        (Some(_), Some(_)) => return Err(unsatisfiable()),
        (Some(start), None) if b.is_empty() => ByteRange { start, end: None },
        (None, Some(suffix)) if a.is_empty() => {
            if suffix == 0 {
                return Err(unsatisfiable());
            }
            ByteRange { start: size.saturating_sub(suffix), end: None }
        }
        _ => return Ok(None),
    };
    if range.start >= size {
        return Err(unsatisfiable());
    }
    Ok(Some(range))
}

/// Removes a blob from the repository (the bytes go at the next garbage collection).
pub(crate) async fn delete(ctx: &Ctx, digest_text: &str) -> Result<Response, RegistryError> {
    let digest = digest(digest_text)?;
    let repo = ctx.existing(Action::Delete).await?;
    if blobs::unlink(&ctx.state, repo.id, &digest).await? {
        tracing::info!(repo.name = %ctx.name, blob.digest = %digest, by = ctx.caller.subject(), "blob deleted");
        Ok(empty(StatusCode::ACCEPTED, vec![(CONTENT_DIGEST, digest.to_string())]))
    } else {
        Err(RegistryError::new(ErrorCode::BlobUnknown, format!("blob {digest} is not in repository {}", ctx.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |s: &str| parse_range(s, 1000).map(|o| o.map(|r| (r.start, r.end)));
        assert_eq!(r("bytes=0-99").unwrap(), Some((0, Some(99))));
        assert_eq!(r("bytes=500-").unwrap(), Some((500, None)));
        assert_eq!(r("bytes=-100").unwrap(), Some((900, None)));
        assert_eq!(r("bytes=0-5000").unwrap(), Some((0, Some(5000))), "the store clamps the end");
        assert_eq!(r("items=0-1").unwrap(), None);
        assert_eq!(r("bytes=0-1,5-6").unwrap(), None);
        assert_eq!(r("bytes=abc").unwrap(), None);
        for bad in ["bytes=1000-", "bytes=500-0", "bytes=-0", "bytes=2000-3000"] {
            assert!(r(bad).is_err(), "{bad}");
        }
    }
}
