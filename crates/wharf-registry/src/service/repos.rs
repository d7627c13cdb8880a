//! Repositories: looked up through the cache, created on first push; storage quotas.

use wharf_core::OrgName;
use wharf_db::registry::Repository;
use wharf_oci::{Digest, ErrorCode, RepositoryName};

use crate::RegistryState;
use crate::error::RegistryError;

/// The repository named `name`, if it exists.
pub(crate) async fn find(state: &RegistryState, name: &RepositoryName) -> Result<Option<Repository>, RegistryError> {
    if let Some(r) = state.cache.repository(name.as_str()) {
        return Ok(Some(r));
    }
    let r = state.db.repository(name).await?;
    if let Some(r) = &r {
        state.cache.put_repository(r);
    }
    Ok(r)
}

/// Creates the repository `name` on its first push: its first component must be an
/// existing organization.
pub(crate) async fn create(state: &RegistryState, name: &RepositoryName) -> Result<Repository, RegistryError> {
    let org_name: OrgName = name
        .namespace()
        .parse()
        .map_err(|_| RegistryError::new(ErrorCode::NameInvalid, "the first path component must be an organization"))?;
    let org =
        state.db.org_by_name(&org_name).await?.ok_or_else(|| {
            RegistryError::new(ErrorCode::NameUnknown, format!("organization {org_name} does not exist"))
        })?;
    Ok(state.db.ensure_repository(org.id, name).await?)
}

/// Up to `n + 1` repository names after `last`, in order (the catalog; the extra one
/// says a next page exists).
pub(crate) async fn names(state: &RegistryState, n: u32, last: Option<&str>) -> Result<Vec<String>, RegistryError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(state.db.list_repositories(last, n + 1).await?)
}

/// Refuses a blob that would take the organization over its storage quota. A blob
/// the organization already stores costs nothing.
pub(crate) async fn check_quota(
    state: &RegistryState,
    repo: &Repository,
    adding: u64,
    digest: Option<&Digest>,
) -> Result<(), RegistryError> {
    let db = &state.db;
    let quota = match state.cache.quota(repo.org_id) {
        Some(q) => q,
        None => {
            let q = db.org_quota(repo.org_id).await?;
            state.cache.put_quota(repo.org_id, q);
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
                "storage quota of organization {} exceeded: {used} bytes stored + {adding} bytes pushed > quota of {quota} bytes",
                repo.name.namespace()
            ),
        ));
    }
    Ok(())
}
