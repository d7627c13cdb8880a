//! `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_oci::{Digest, ErrorCode};

use super::Ctx;
use crate::access::Action;
use crate::error::RegistryError;
use crate::response::{CONTENT_DIGEST, OCI_SUBJECT, empty, header_value};
use crate::service::manifests::{self, BodyError};
use crate::service::referrers;
use wharf_oci::{Reference, reference as parse_tag_or_digest};

fn parse_reference(reference: &str) -> Result<Reference, RegistryError> {
    parse_tag_or_digest(reference).map_err(|e| {
        let code = if reference.contains(':') { ErrorCode::DigestInvalid } else { ErrorCode::ManifestInvalid };
        RegistryError::new(code, e)
    })
}

fn unknown(ctx: &Ctx, reference: &str) -> RegistryError {
    RegistryError::new(ErrorCode::ManifestUnknown, format!("manifest {reference} is not in repository {}", ctx.name))
}

/// The subject of a referrers tag (`sha256-<hex>`), which clients without the
/// referrers API read to find an image's referrers.
fn fallback_subject(tag: &str) -> Option<Digest> {
    let (alg, hex) = tag.split_once('-')?;
    format!("{alg}:{hex}").parse().ok()
}

/// A manifest by tag or digest.
pub(crate) async fn get(ctx: &Ctx, reference: &str, head: bool) -> Result<Response, RegistryError> {
    let repo = ctx.existing(Action::Pull).await?;
    let row = match parse_reference(reference) {
        Ok(Reference::Digest(d)) => manifests::by_digest(&ctx.state, repo.id, &d).await?,
        Ok(Reference::Tag(t)) => match manifests::by_tag(&ctx.state, repo.id, &t).await? {
            Some(row) => Some(row),
            None => match fallback_subject(&t) {
                // No such tag was pushed: answer with the referrers index instead.
                Some(subject) => {
                    let index = referrers::index(&ctx.state, &repo, &subject, None).await?;
                    return Ok(super::referrers_response(index, false, head));
                }
                None => None,
            },
        },
        Err(e) if e.code == ErrorCode::ManifestInvalid => None,
        Err(e) => return Err(e),
    };
    let row = row.ok_or_else(|| unknown(ctx, reference))?;
    let headers = vec![
        (header::CONTENT_TYPE, row.media_type.clone()),
        (CONTENT_DIGEST, row.digest.to_string()),
        (header::ETAG, format!("\"{}\"", row.digest)),
        (header::CONTENT_LENGTH, row.size.to_string()),
    ];
    if head {
        return Ok(empty(StatusCode::OK, headers));
    }
    let bytes = manifests::content(&ctx.state, &row).await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, header_value(&value));
    }
    Ok(response)
}

/// Stores a manifest, by tag or by digest.
pub(crate) async fn put(ctx: &Ctx, reference: &str, body: Body) -> Result<Response, RegistryError> {
    let reference = parse_reference(reference)?;
    let repo = ctx.for_push().await?;
    let max = ctx.state.settings.max_manifest_bytes;
    let too_large = || {
        RegistryError::new(ErrorCode::ManifestInvalid, format!("the manifest is larger than the {max}-byte limit"))
            .status(StatusCode::PAYLOAD_TOO_LARGE)
    };
    if ctx.header(header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok()).is_some_and(|len| len > max) {
        return Err(too_large());
    }
    let bytes = manifests::read_body(body, max).await.map_err(|e| match e {
        BodyError::TooLarge => too_large(),
        BodyError::Broken(e) => {
            RegistryError::new(ErrorCode::ManifestInvalid, format!("the request body ended early: {e}"))
        }
    })?;
    let stored = manifests::store(&ctx.state, &repo, &reference, bytes, ctx.header(header::CONTENT_TYPE)).await?;
    let digest = stored.digest;
    let tag = match &reference {
        Reference::Tag(t) => Some(t.as_str()),
        Reference::Digest(_) => None,
    };
    tracing::info!(repo.name = %ctx.name, manifest.digest = %digest, tag, by = ctx.caller.subject(), "manifest pushed");
    let mut headers = vec![
        (header::LOCATION, format!("/v2/{}/manifests/{digest}", ctx.name)),
        (CONTENT_DIGEST, digest.to_string()),
        (header::CONTENT_LENGTH, "0".to_owned()),
    ];
    if let Some(subject) = stored.subject {
        headers.push((OCI_SUBJECT, subject.to_string()));
    }
    Ok(empty(StatusCode::CREATED, headers))
}

/// Deletes a manifest (by digest, with its tags) or a tag.
pub(crate) async fn delete(ctx: &Ctx, reference: &str) -> Result<Response, RegistryError> {
    let parsed = parse_reference(reference)?;
    let repo = ctx.existing(Action::Delete).await?;
    if !manifests::delete(&ctx.state, &repo, &parsed).await? {
        return Err(unknown(ctx, reference));
    }
    tracing::info!(repo.name = %ctx.name, reference, by = ctx.caller.subject(), "manifest deleted");
    Ok(empty(StatusCode::ACCEPTED, vec![(header::CONTENT_LENGTH, "0".to_owned())]))
}
