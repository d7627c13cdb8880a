//! Manifests: read through the cache, stored with their references in one
//! transaction, deleted with their tags.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use wharf_core::RepositoryId;
use wharf_db::registry::{ManifestRow, NewManifest, Repository, TagWrite};
use wharf_oci::manifest::{self, ManifestError};
use wharf_oci::{Algorithm, Digest, ErrorCode, Reference};

use super::repos::check_quota;
use crate::RegistryState;
use crate::error::RegistryError;

/// Why a manifest body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// It is larger than `registry.max_manifest_bytes`.
    TooLarge,
    /// It broke off.
    Broken(String),
}

/// Reads a manifest body of at most `max` bytes, stopping at the first byte over.
pub(crate) async fn read_body(body: Body, max: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut bytes = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Broken(e.to_string()))?;
        if bytes.len().saturating_add(chunk.len()) > max {
            return Err(BodyError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

/// A manifest by digest.
pub(crate) async fn by_digest(
    state: &RegistryState,
    repo: RepositoryId,
    digest: &Digest,
) -> Result<Option<ManifestRow>, RegistryError> {
    if let Some(row) = state.cache.manifest(repo, digest) {
        return Ok(Some(row));
    }
    let row = state.db.manifest(repo, digest).await?;
    if let Some(r) = &row {
        state.cache.put_manifest(repo, r);
    }
    Ok(row)
}

/// The manifest a tag points to.
pub(crate) async fn by_tag(
    state: &RegistryState,
    repo: RepositoryId,
    tag: &str,
) -> Result<Option<ManifestRow>, RegistryError> {
    if let Some(row) = state.cache.tag(repo, tag) {
        return Ok(Some(row));
    }
    let row = state.db.manifest_by_tag(repo, tag).await?;
    if let Some(r) = &row {
        state.cache.put_tag(repo, tag, r);
    }
    Ok(row)
}

/// A manifest's bytes.
pub(crate) async fn content(state: &RegistryState, row: &ManifestRow) -> Result<Bytes, RegistryError> {
    if let Some(b) = state.cache.bytes(&row.digest) {
        return Ok(b);
    }
    let b = match state.db.manifest_content(&row.digest).await? {
        Some(content) => Bytes::from(content),
        // Stored before manifests' bytes were kept in the database.
        None => Bytes::from(state.blobs.get(&row.digest, None).await?.bytes().await?),
    };
    state.cache.put_bytes(&row.digest, b.clone());
    Ok(b)
}

/// A manifest stored: its digest and subject.
pub(crate) struct Stored {
    /// The manifest's digest.
    pub(crate) digest: Digest,
    /// The manifest it refers to, if any.
    pub(crate) subject: Option<Digest>,
}

/// Checks and stores `bytes` as a manifest of `repo` under `reference`: the digest
/// must match a digest reference, the document must parse, the organization's quota
/// must allow it, and a tag of an immutable-tag repository must not move.
pub(crate) async fn store(
    state: &RegistryState,
    repo: &Repository,
    reference: &Reference,
    bytes: Bytes,
    content_type: Option<&str>,
) -> Result<Stored, RegistryError> {
    let algorithm = match reference {
        Reference::Digest(d) => d.algorithm(),
        Reference::Tag(_) => Algorithm::Sha256,
    };
    let digest = Digest::of(algorithm, &bytes);
    if let Reference::Digest(d) = reference
        && *d != digest
    {
        return Err(RegistryError::new(
            ErrorCode::DigestInvalid,
            format!("the manifest's digest is {digest}, not {d}"),
        ));
    }
    let parsed = manifest::parse(&bytes, content_type).map_err(|e| match e {
        ManifestError::Unsupported(m) => {
            RegistryError::new(ErrorCode::Unsupported, m).status(axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE)
        }
        ManifestError::Invalid(m) => RegistryError::new(ErrorCode::ManifestInvalid, m),
    })?;
    check_quota(state, repo, bytes.len() as u64, Some(&digest)).await?;
    let row = ManifestRow {
        digest: digest.clone(),
        media_type: parsed.media_type,
        size: bytes.len() as u64,
        artifact_type: parsed.artifact_type,
        subject: parsed.subject.clone(),
        annotations: parsed.annotations,
    };
    let tag = match reference {
        Reference::Tag(t) => Some(TagWrite { name: t.as_str(), immutable: repo.immutable_tags }),
        Reference::Digest(_) => None,
    };
    let new = NewManifest { row: &row, blobs: &parsed.blobs, manifests: &parsed.manifests, content: &bytes };
    state.db.put_manifest(repo.id, new, tag).await?;
    state.cache.put_manifest(repo.id, &row);
    state.cache.put_bytes(&digest, bytes);
    if let Some(t) = tag {
        state.cache.tag_changed(repo.id, t.name);
    }
    Ok(Stored { digest, subject: parsed.subject })
}

/// Deletes a manifest (by digest, with its tags) or a tag; whether there was one.
pub(crate) async fn delete(
    state: &RegistryState,
    repo: &Repository,
    reference: &Reference,
) -> Result<bool, RegistryError> {
    let deleted = match reference {
        Reference::Digest(d) => {
            let deleted = state.db.delete_manifest(repo.id, d, repo.immutable_tags).await;
            state.cache.manifest_deleted(repo.id, d);
            deleted?
        }
        Reference::Tag(t) => {
            let deleted = state.db.delete_tag(repo.id, t, repo.immutable_tags).await;
            state.cache.tag_changed(repo.id, t);
            deleted?
        }
    };
    Ok(deleted)
}
