//! A repository's tags, sorted, through the cache.

use std::sync::Arc;

use wharf_core::RepositoryId;

use crate::RegistryState;
use crate::error::RegistryError;

/// Repositories with more tags than this are listed from the database page by page.
const CACHED_TAG_LIST_MAX: u32 = 10_000;

/// Up to `n + 1` tags after `last` (the extra one says a next page exists).
pub(crate) async fn page(
    state: &RegistryState,
    repo: RepositoryId,
    n: u32,
    last: Option<&str>,
) -> Result<Vec<String>, RegistryError> {
    Ok(match (n, all(state, repo).await?) {
        (0, _) => Vec::new(),
        // Served from the cached list of all tags, when the repository has few enough.
        (_, Some(all)) => {
            let from = last.map_or(0, |l| all.partition_point(|t| t.as_str() <= l));
            all.iter().skip(from).take(n as usize + 1).cloned().collect()
        }
        (_, None) => state.db.list_tags(repo, last, n + 1).await?,
    })
}

/// Every tag of a repository, sorted, through the cache; `None` when there are too many.
async fn all(state: &RegistryState, repo: RepositoryId) -> Result<Option<Arc<Vec<String>>>, RegistryError> {
    if let Some(list) = state.cache.tag_list(repo) {
        return Ok(Some(list));
    }
    let tags = state.db.list_tags(repo, None, CACHED_TAG_LIST_MAX + 1).await?;
    if tags.len() > CACHED_TAG_LIST_MAX as usize {
        return Ok(None);
    }
    let list = Arc::new(tags);
    state.cache.put_tag_list(repo, list.clone());
    Ok(Some(list))
}
