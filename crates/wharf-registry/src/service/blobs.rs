//! Blobs of a repository: their links (through the cache), whether their bytes are
//! still there, and unlinking.

use wharf_core::RepositoryId;
use wharf_oci::Digest;

use crate::RegistryState;
use crate::error::RegistryError;

/// The size of `digest` if it is linked to `repo`.
pub(crate) async fn linked(
    state: &RegistryState,
    repo: RepositoryId,
    digest: &Digest,
) -> Result<Option<u64>, RegistryError> {
    if let Some(size) = state.cache.link(repo, digest) {
        return Ok(Some(size));
    }
    let size = state.db.blob_in_repository(repo, digest).await?;
    if let Some(s) = size {
        state.cache.put_link(repo, digest, s);
    }
    Ok(size)
}

/// Whether the bytes of `digest` are still stored: in the blob store, or (a
/// manifest's) in the database. A collection elsewhere may have taken them since a
/// link was cached.
pub(crate) async fn bytes_exist(state: &RegistryState, digest: &Digest) -> Result<bool, RegistryError> {
    Ok(state.blobs.stat(digest).await?.is_some() || state.db.manifest_content(digest).await?.is_some())
}

/// A manifest's bytes, which are kept in the database, not the store.
pub(crate) async fn manifest_bytes(state: &RegistryState, digest: &Digest) -> Result<Option<Vec<u8>>, RegistryError> {
    Ok(state.db.manifest_content(digest).await?)
}

/// A link whose bytes are gone: forgotten by the cache, and whether the database still
/// has it (then the store is damaged).
pub(crate) async fn link_gone(
    state: &RegistryState,
    repo: RepositoryId,
    digest: &Digest,
) -> Result<Option<u64>, RegistryError> {
    state.cache.link_removed(repo, digest);
    Ok(state.db.blob_in_repository(repo, digest).await?)
}

/// Removes a blob from the repository (the bytes go at the next garbage collection);
/// whether it was there.
pub(crate) async fn unlink(state: &RegistryState, repo: RepositoryId, digest: &Digest) -> Result<bool, RegistryError> {
    let unlinked = state.db.unlink_blob(repo, digest).await;
    state.cache.link_removed(repo, digest);
    Ok(unlinked?)
}
