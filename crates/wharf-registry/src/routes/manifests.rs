//! `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_db::registry::{ManifestRow, NewManifest};
use wharf_oci::manifest::{self, ManifestError};
use wharf_oci::{Algorithm, Digest, ErrorCode};

use super::uploads::check_quota;
use super::{Ctx, referrers};
use crate::access::Action;
use crate::error::RegistryError;
use crate::response::{CONTENT_DIGEST, OCI_SUBJECT, empty, header_value};
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

/// A manifest by digest, through the cache.
async fn by_digest(ctx: &Ctx, repo: i64, digest: &Digest) -> Result<Option<ManifestRow>, RegistryError> {
    if let Some(row) = ctx.state.cache.manifest(repo, digest) {
        return Ok(Some(row));
    }
    let row = ctx.state.db.manifest(repo, digest).await?;
    if let Some(r) = &row {
        ctx.state.cache.put_manifest(repo, r);
    }
    Ok(row)
}

/// The manifest a tag points to, through the cache.
async fn by_tag(ctx: &Ctx, repo: i64, tag: &str) -> Result<Option<ManifestRow>, RegistryError> {
    if let Some(row) = ctx.state.cache.tag(repo, tag) {
        return Ok(Some(row));
    }
    let row = ctx.state.db.manifest_by_tag(repo, tag).await?;
    if let Some(r) = &row {
        ctx.state.cache.put_tag(repo, tag, r);
    }
    Ok(row)
}

/// A manifest by tag or digest.
pub(crate) async fn get(ctx: &Ctx, reference: &str, head: bool) -> Result<Response, RegistryError> {
    let repo = ctx.existing(Action::Pull).await?;
    let row = match parse_reference(reference) {
        Ok(Reference::Digest(d)) => by_digest(ctx, repo.id, &d).await?,
        Ok(Reference::Tag(t)) => match by_tag(ctx, repo.id, &t).await? {
            Some(row) => Some(row),
            None => match fallback_subject(&t) {
                // No such tag was pushed: answer with the referrers index instead.
                Some(subject) => return referrers::index(ctx, &repo, &subject, None, head).await,
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
    let bytes = match ctx.state.cache.bytes(&row.digest) {
        Some(b) => b,
        None => {
            let b = match ctx.state.db.manifest_content(&row.digest).await? {
                Some(content) => bytes::Bytes::from(content),
                // Stored before manifests' bytes were kept in the database.
                None => bytes::Bytes::from(ctx.state.blobs.get(&row.digest, None).await?.bytes().await?),
            };
            ctx.state.cache.put_bytes(&row.digest, b.clone());
            b
        }
    };
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
    let bytes = axum::body::to_bytes(body, max).await.map_err(|e| {
        if e.to_string().contains("length limit") {
            too_large()
        } else {
            RegistryError::new(ErrorCode::ManifestInvalid, format!("the request body ended early: {e}"))
        }
    })?;
    let algorithm = match &reference {
        Reference::Digest(d) => d.algorithm(),
        Reference::Tag(_) => Algorithm::Sha256,
    };
    let digest = Digest::of(algorithm, &bytes);
    if let Reference::Digest(d) = &reference
        && *d != digest
    {
        return Err(RegistryError::new(
            ErrorCode::DigestInvalid,
            format!("the manifest's digest is {digest}, not {d}"),
        ));
    }
    let parsed = manifest::parse(&bytes, ctx.header(header::CONTENT_TYPE)).map_err(|e| match e {
        ManifestError::Unsupported(m) => {
            RegistryError::new(ErrorCode::Unsupported, m).status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        }
        ManifestError::Invalid(m) => RegistryError::new(ErrorCode::ManifestInvalid, m),
    })?;
    check_quota(&ctx.state, &repo, ctx.name.namespace(), bytes.len() as u64, Some(&digest)).await?;
    let size = bytes.len() as u64;
    let row = ManifestRow {
        digest: digest.clone(),
        media_type: parsed.media_type,
        size,
        artifact_type: parsed.artifact_type,
        subject: parsed.subject.clone(),
        annotations: parsed.annotations,
    };
    let tag = match &reference {
        Reference::Tag(t) => Some((t.as_str(), repo.immutable_tags)),
        Reference::Digest(_) => None,
    };
    ctx.state
        .db
        .put_manifest(
            repo.id,
            NewManifest { row: &row, blobs: &parsed.blobs, manifests: &parsed.manifests, content: &bytes },
            tag,
        )
        .await?;
    ctx.state.cache.put_manifest(repo.id, &row);
    ctx.state.cache.put_bytes(&digest, bytes);
    if let Some((t, _)) = tag {
        ctx.state.cache.tag_changed(repo.id, t);
    }
    tracing::info!(repo.name = %ctx.name, manifest.digest = %digest, tag = tag.map(|t| t.0), by = ctx.caller.subject(), "manifest pushed");
    let mut headers = vec![
        (header::LOCATION, format!("/v2/{}/manifests/{digest}", ctx.name)),
        (CONTENT_DIGEST, digest.to_string()),
        (header::CONTENT_LENGTH, "0".to_owned()),
    ];
    if let Some(subject) = parsed.subject {
        headers.push((OCI_SUBJECT, subject.to_string()));
    }
    Ok(empty(StatusCode::CREATED, headers))
}

/// Deletes a manifest (by digest, with its tags) or a tag.
pub(crate) async fn delete(ctx: &Ctx, reference: &str) -> Result<Response, RegistryError> {
    let parsed = parse_reference(reference)?;
    let repo = ctx.existing(Action::Delete).await?;
    let deleted = match &parsed {
        Reference::Digest(d) => {
            let deleted = ctx.state.db.delete_manifest(repo.id, d, repo.immutable_tags).await;
            ctx.state.cache.manifest_deleted(repo.id, d);
            deleted?
        }
        Reference::Tag(t) => {
            let deleted = ctx.state.db.delete_tag(repo.id, t, repo.immutable_tags).await;
            ctx.state.cache.tag_changed(repo.id, t);
            deleted?
        }
    };
    if !deleted {
        return Err(unknown(ctx, reference));
    }
    tracing::info!(repo.name = %ctx.name, reference, by = ctx.caller.subject(), "manifest deleted");
    Ok(empty(StatusCode::ACCEPTED, vec![(header::CONTENT_LENGTH, "0".to_owned())]))
}
