//! In-process read caches of the registry's hot paths (manifest and blob reads, tag
//! lists): without them every pull costs database round trips to another thread and
//! file reads on the blocking pool.
//!
//! Consistency: writes through this node invalidate at once, so one node never serves
//! stale answers. Other nodes may serve a moved tag, a deleted manifest or a changed
//! repository setting for at most the TTL (`registry.cache_ttl`, default 2 s; `0s`
//! turns caching off). Manifest bytes are immutable per digest and kept until evicted.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use wharf_core::{OrgId, RepositoryId};
use wharf_db::registry::{ManifestRow, Repository};
use wharf_oci::Digest;

/// Entries per map before it is cleared (a crude bound that never grows memory).
const MAX_ENTRIES: usize = 20_000;
/// Bytes of manifests kept.
const MAX_MANIFEST_BYTES: usize = 32 * 1024 * 1024;

struct Ttl<K, V> {
    map: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Ttl<K, V> {
    fn new() -> Self {
        Ttl { map: Mutex::new(HashMap::new()) }
    }

    fn get(&self, key: &K, ttl: Duration) -> Option<V> {
        let map = self.map.lock().ok()?;
        let (at, v) = map.get(key)?;
        (at.elapsed() < ttl).then(|| v.clone())
    }

    fn put(&self, key: K, value: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key, (Instant::now(), value));
        }
    }

    fn remove(&self, key: &K) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(key);
        }
    }

    fn retain(&self, keep: impl Fn(&K) -> bool) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|k, _| keep(k));
        }
    }
}

#[derive(Default)]
struct ByteCache {
    map: HashMap<Digest, Bytes>,
    order: VecDeque<Digest>,
    size: usize,
}

/// The registry's caches.
pub(crate) struct Cache {
    ttl: Duration,
    repositories: Ttl<String, Repository>,
    tags: Ttl<(RepositoryId, String), ManifestRow>,
    manifests: Ttl<(RepositoryId, Digest), ManifestRow>,
    links: Ttl<(RepositoryId, Digest), u64>,
    tag_lists: Ttl<RepositoryId, Arc<Vec<String>>>,
    quotas: Ttl<OrgId, Option<u64>>,
    tag_pages: Ttl<(RepositoryId, u32, Option<String>), TagPage>,
    bytes: Mutex<ByteCache>,
}

/// A rendered page of a tag list: the JSON body and the `Link` header, if any.
pub(crate) type TagPage = (Bytes, Option<String>);

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl Cache {
    pub(crate) fn new(ttl: Duration) -> Cache {
        Cache {
            ttl,
            repositories: Ttl::new(),
            tags: Ttl::new(),
            manifests: Ttl::new(),
            links: Ttl::new(),
            tag_lists: Ttl::new(),
            quotas: Ttl::new(),
            tag_pages: Ttl::new(),
            bytes: Mutex::new(ByteCache::default()),
        }
    }

    fn on(&self) -> bool {
        !self.ttl.is_zero()
    }

    pub(crate) fn repository(&self, name: &str) -> Option<Repository> {
        self.repositories.get(&name.to_owned(), self.ttl)
    }

    pub(crate) fn put_repository(&self, repo: &Repository) {
        if self.on() {
            self.repositories.put(repo.name.to_string(), repo.clone());
        }
    }

    pub(crate) fn tag(&self, repo: RepositoryId, tag: &str) -> Option<ManifestRow> {
        self.tags.get(&(repo, tag.to_owned()), self.ttl)
    }

    pub(crate) fn put_tag(&self, repo: RepositoryId, tag: &str, row: &ManifestRow) {
        if self.on() {
            self.tags.put((repo, tag.to_owned()), row.clone());
        }
    }

    pub(crate) fn manifest(&self, repo: RepositoryId, digest: &Digest) -> Option<ManifestRow> {
        self.manifests.get(&(repo, digest.clone()), self.ttl)
    }

    pub(crate) fn put_manifest(&self, repo: RepositoryId, row: &ManifestRow) {
        if self.on() {
            self.manifests.put((repo, row.digest.clone()), row.clone());
        }
    }

    pub(crate) fn link(&self, repo: RepositoryId, digest: &Digest) -> Option<u64> {
        self.links.get(&(repo, digest.clone()), self.ttl)
    }

    pub(crate) fn put_link(&self, repo: RepositoryId, digest: &Digest, size: u64) {
        if self.on() {
            self.links.put((repo, digest.clone()), size);
        }
    }

    pub(crate) fn tag_list(&self, repo: RepositoryId) -> Option<Arc<Vec<String>>> {
        self.tag_lists.get(&repo, self.ttl)
    }

    pub(crate) fn put_tag_list(&self, repo: RepositoryId, tags: Arc<Vec<String>>) {
        if self.on() {
            self.tag_lists.put(repo, tags);
        }
    }

    /// A rendered page of a repository's tag list.
    pub(crate) fn tag_page(&self, repo: RepositoryId, n: u32, last: Option<&str>) -> Option<TagPage> {
        self.tag_pages.get(&(repo, n, last.map(str::to_owned)), self.ttl)
    }

    pub(crate) fn put_tag_page(&self, repo: RepositoryId, n: u32, last: Option<&str>, page: TagPage) {
        if self.on() {
            self.tag_pages.put((repo, n, last.map(str::to_owned)), page);
        }
    }

    /// An organization's storage quota, as last read.
    pub(crate) fn quota(&self, org: OrgId) -> Option<Option<u64>> {
        self.quotas.get(&org, self.ttl)
    }

    pub(crate) fn put_quota(&self, org: OrgId, quota: Option<u64>) {
        if self.on() {
            self.quotas.put(org, quota);
        }
    }

    /// Manifest bytes by digest (immutable).
    pub(crate) fn bytes(&self, digest: &Digest) -> Option<Bytes> {
        self.bytes.lock().ok()?.map.get(digest).cloned()
    }

    pub(crate) fn put_bytes(&self, digest: &Digest, bytes: Bytes) {
        if !self.on() || bytes.len() > MAX_MANIFEST_BYTES / 8 {
            return;
        }
        if let Ok(mut c) = self.bytes.lock() {
            if c.map.contains_key(digest) {
                return;
            }
            c.size += bytes.len();
            c.order.push_back(digest.clone());
            c.map.insert(digest.clone(), bytes);
            while c.size > MAX_MANIFEST_BYTES {
                let Some(old) = c.order.pop_front() else { break };
                if let Some(b) = c.map.remove(&old) {
                    c.size -= b.len();
                }
            }
        }
    }

    /// A tag was set or deleted in `repo`.
    pub(crate) fn tag_changed(&self, repo: RepositoryId, tag: &str) {
        self.tags.remove(&(repo, tag.to_owned()));
        self.tag_lists.remove(&repo);
        self.tag_pages.retain(|(r, _, _)| *r != repo);
    }

    /// A manifest (and the tags pointing to it) was deleted from `repo`.
    pub(crate) fn manifest_deleted(&self, repo: RepositoryId, digest: &Digest) {
        self.manifests.remove(&(repo, digest.clone()));
        self.links.remove(&(repo, digest.clone()));
        self.tags.retain(|(r, _)| *r != repo);
        self.tag_lists.remove(&repo);
        self.tag_pages.retain(|(r, _, _)| *r != repo);
    }

    /// A blob was removed from `repo`.
    pub(crate) fn link_removed(&self, repo: RepositoryId, digest: &Digest) {
        self.links.remove(&(repo, digest.clone()));
    }
}
