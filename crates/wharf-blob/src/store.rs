//! Opening a store, reading, deleting and probing blobs.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RenameOptions, RenameTargetMode,
    RetryConfig,
};
use wharf_oci::{Algorithm, Digest};

use crate::BlobError;
use crate::writer::{BlobWriter, Target};

/// A local directory.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Root directory; created when missing.
    pub root: PathBuf,
    /// `fsync` files and directories when a blob is committed, so an acknowledged
    /// blob survives a power cut.
    pub fsync: bool,
}

/// Any S3-compatible service. Credentials come from the environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, …).
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Endpoint URL, e.g. `http://127.0.0.1:3900`; `None` means AWS itself.
    pub endpoint: Option<String>,
    /// Bucket name; the bucket must exist.
    pub bucket: String,
    /// Region name.
    pub region: String,
    /// Key prefix inside the bucket (no leading or trailing slash), or empty.
    pub prefix: String,
    /// Address buckets as `bucket.endpoint` rather than `endpoint/bucket`.
    pub virtual_hosted_style: bool,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Retries of a failed request.
    pub max_retries: usize,
    /// Give up retrying after this long.
    pub retry_timeout: Duration,
}

/// Which backend to open.
#[derive(Debug, Clone)]
pub enum StoreOptions {
    /// A local directory.
    Local(LocalOptions),
    /// An S3-compatible service.
    S3(S3Options),
}

/// What is known about a stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// An inclusive byte range, as in HTTP `Range: bytes=start-end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte, inclusive; `None` means to the end.
    pub end: Option<u64>,
}

/// A blob being read.
pub struct BlobRead {
    /// The blob's total size.
    pub size: u64,
    /// The byte range this read returns (end exclusive).
    pub range: Range<u64>,
    /// The bytes, streamed.
    pub stream: BoxStream<'static, Result<Bytes, BlobError>>,
}

impl std::fmt::Debug for BlobRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobRead").field("size", &self.size).field("range", &self.range).finish_non_exhaustive()
    }
}

impl BlobRead {
    /// Collects the whole read into memory. For small blobs and tests only.
    pub async fn bytes(mut self) -> Result<Vec<u8>, BlobError> {
        let mut out = Vec::with_capacity(usize::try_from(self.range.end - self.range.start).unwrap_or(0));
        while let Some(chunk) = self.stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }
}

/// The store handle; cheap to clone.
#[derive(Debug, Clone)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    description: String,
    backend: &'static str,
    local: Option<LocalOptions>,
    /// Running hashers of open upload sessions on this node (see `upload`).
    hashers: std::sync::Mutex<std::collections::HashMap<String, (u64, wharf_oci::Hasher)>>,
    /// Local file reads streaming now (their chunk size shrinks as they grow).
    local_reads: Arc<std::sync::atomic::AtomicU64>,
}

/// How long a readiness probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl BlobStore {
    /// Opens a store. Does not contact the backend; see [`BlobStore::check`].
    pub fn open(options: &StoreOptions) -> Result<BlobStore, BlobError> {
        let local = match options {
            StoreOptions::Local(l) => Some(l.clone()),
            StoreOptions::S3(_) => None,
        };
        let (store, prefix, description, backend): (Arc<dyn ObjectStore>, Path, String, &'static str) = match options {
            StoreOptions::Local(local) => {
                std::fs::create_dir_all(&local.root).map_err(|e| {
                    BlobError::Config(format!("cannot create the blob directory {}: {e}", local.root.display()))
                })?;
                let fs = LocalFileSystem::new_with_prefix(&local.root)
                    .map_err(|e| BlobError::Config(format!("blob directory {}: {e}", local.root.display())))?
                    .with_fsync(local.fsync)
                    .with_automatic_cleanup(true);
                (Arc::new(fs), Path::default(), format!("local directory {}", local.root.display()), "local")
            }
            StoreOptions::S3(s3) => {
                let mut client =
                    ClientOptions::new().with_connect_timeout(s3.connect_timeout).with_timeout(s3.request_timeout);
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_virtual_hosted_style_request(s3.virtual_hosted_style)
                    .with_retry(RetryConfig {
                        max_retries: s3.max_retries,
                        retry_timeout: s3.retry_timeout,
                        ..RetryConfig::default()
                    });
                let where_ = match &s3.endpoint {
                    Some(endpoint) => {
                        if endpoint.starts_with("http://") {
                            client = client.with_allow_http(true);
                        }
                        builder = builder.with_endpoint(endpoint);
                        endpoint.clone()
                    }
                    None => format!("AWS region {}", s3.region),
                };
                let s3_store = builder
                    .with_client_options(client)
                    .build()
                    .map_err(|e| BlobError::Config(format!("S3 bucket {:?}: {e}", s3.bucket)))?;
                let prefix = Path::parse(s3.prefix.trim_matches('/'))
                    .map_err(|e| BlobError::Config(format!("S3 prefix {:?}: {e}", s3.prefix)))?;
                let description = format!("s3://{}/{prefix} at {where_}", s3.bucket);
                (Arc::new(s3_store), prefix, description, "s3")
            }
        };
        // Direct file access uses the canonical root, as object_store does.
        let local =
            local.map(|l| LocalOptions { root: std::fs::canonicalize(&l.root).unwrap_or(l.root), fsync: l.fsync });
        Ok(BlobStore {
            inner: Arc::new(Inner {
                store,
                prefix,
                description,
                backend,
                local,
                hashers: Default::default(),
                local_reads: Default::default(),
            }),
        })
    }

    /// Human-readable description, for logs and errors.
    pub fn description(&self) -> &str {
        &self.inner.description
    }

    /// `local` or `s3`, the label used in metrics.
    pub fn backend(&self) -> &'static str {
        self.inner.backend
    }

    pub(crate) fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.store
    }

    pub(crate) fn hashers(&self) -> &std::sync::Mutex<std::collections::HashMap<String, (u64, wharf_oci::Hasher)>> {
        &self.inner.hashers
    }

    /// The local directory, when this store is one.
    pub(crate) fn local(&self) -> Option<&LocalOptions> {
        self.inner.local.as_ref()
    }

    /// The file behind a key, for the local backend.
    pub(crate) fn local_path(&self, key: &Path) -> Option<PathBuf> {
        self.inner.local.as_ref().map(|l| key.parts().fold(l.root.clone(), |p, part| p.join(part.as_ref())))
    }

    pub(crate) fn io_error(&self, source: std::io::Error) -> BlobError {
        BlobError::Io { store: self.inner.description.clone(), source }
    }

    pub(crate) fn backend_error(&self, source: object_store::Error) -> BlobError {
        BlobError::Backend { store: self.inner.description.clone(), source }
    }

    pub(crate) fn key(&self, parts: &[&str]) -> Path {
        let mut path = self.inner.prefix.clone();
        for part in parts {
            path = path.clone().join(*part);
        }
        path
    }

    /// Where a blob lives. Digests are validated at parse time, so the hex part is
    /// `[0-9a-f]{64|128}` and cannot traverse.
    pub(crate) fn blob_key(&self, digest: &Digest) -> Path {
        let hex = digest.hex();
        self.key(&["blobs", digest.algorithm().as_str(), &hex[..2], hex])
    }

    pub(crate) fn staging_key(&self) -> Path {
        self.key(&["staging", &uuid::Uuid::new_v4().simple().to_string()])
    }

    /// Size of a blob, or `None` when it is not stored.
    pub async fn stat(&self, digest: &Digest) -> Result<Option<u64>, BlobError> {
        match self.inner.store.head(&self.blob_key(digest)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.backend_error(e)),
        }
    }

    /// Reads a blob, or a range of it.
    pub async fn get(&self, digest: &Digest, range: Option<ByteRange>) -> Result<BlobRead, BlobError> {
        let key = self.blob_key(digest);
        if let Some(path) = self.local_path(&key) {
            return self.get_local(digest, &path, range).await;
        }
        let mut options = GetOptions::default();
        if let Some(r) = range {
            options.range = Some(match r.end {
                Some(end) if end < r.start => {
                    return Err(BlobError::RangeNotSatisfiable {
                        start: r.start,
                        end,
                        size: self.size_of(digest).await?,
                    });
                }
                Some(end) => GetRange::Bounded(r.start..end.saturating_add(1)),
                None => GetRange::Offset(r.start),
            });
        }
        let result = match self.inner.store.get_opts(&key, options).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Err(BlobError::NotFound(digest.clone())),
            // A range that starts past the end; object_store reports it as a generic error.
            Err(e) if range.is_some() && e.to_string().to_ascii_lowercase().contains("range") => {
                let size = self.size_of(digest).await?;
                let r = range.unwrap_or(ByteRange { start: 0, end: None });
                return Err(BlobError::RangeNotSatisfiable { start: r.start, end: r.end.unwrap_or(size), size });
            }
            Err(e) => return Err(self.backend_error(e)),
        };
        let size = result.meta.size;
        let range = result.range.clone();
        let store = self.inner.description.clone();
        let backend = self.inner.backend;
        let stream = result
            .into_stream()
            .map(move |chunk| match chunk {
                Ok(bytes) => {
                    metrics::counter!("wharf_blob_bytes_read_total", "backend" => backend)
                        .increment(bytes.len() as u64);
                    Ok(bytes)
                }
                Err(source) => Err(BlobError::Backend { store: store.clone(), source }),
            })
            .boxed();
        Ok(BlobRead { size, range, stream })
    }

    /// Local files are streamed in large positioned reads straight from the file
    /// (object_store reads local files 8 KiB at a time): each read is one trip to the
    /// blocking pool into a fresh buffer that goes to the socket as it is, and the next
    /// read is started as soon as a chunk is handed on, so reading and sending overlap.
    async fn get_local(
        &self,
        digest: &Digest,
        path: &std::path::Path,
        range: Option<ByteRange>,
    ) -> Result<BlobRead, BlobError> {
        let opened = {
            let path = path.to_owned();
            tokio::task::spawn_blocking(move || {
                let file = std::fs::File::open(path)?;
                let size = file.metadata()?.len();
                Ok::<_, std::io::Error>((file, size))
            })
            .await
            .map_err(|e| self.io_error(std::io::Error::other(e)))?
        };
        let (file, size) = match opened {
            Ok(opened) => opened,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound(digest.clone())),
            Err(e) => return Err(self.io_error(e)),
        };
        let (start, end) = match range {
            None => (0, size),
            Some(r) => {
                let last = r.end.unwrap_or(size.saturating_sub(1));
                if r.start >= size || last < r.start {
                    return Err(BlobError::RangeNotSatisfiable { start: r.start, end: last, size });
                }
                (r.start, last.min(size - 1) + 1)
            }
        };
        let store = self.inner.description.clone();
        let backend = self.inner.backend;
        self.inner.local_reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let active = self.inner.local_reads.clone();
        let reads = LocalReads { file: Arc::new(file), pos: start, end, pending: None, active };
        let stream = futures::stream::unfold(reads, LocalReads::next)
            .map(move |chunk| match chunk {
                Ok(bytes) => {
                    metrics::counter!("wharf_blob_bytes_read_total", "backend" => backend)
                        .increment(bytes.len() as u64);
                    Ok(bytes)
                }
                Err(source) => Err(BlobError::Io { store: store.clone(), source }),
            })
            .boxed();
        Ok(BlobRead { size, range: start..end, stream })
    }

    async fn size_of(&self, digest: &Digest) -> Result<u64, BlobError> {
        self.stat(digest).await?.ok_or_else(|| BlobError::NotFound(digest.clone()))
    }

    /// Stores a small blob held in memory (manifests, configs). Atomic; verified
    /// against `expected` when given.
    pub async fn put_bytes(&self, bytes: Bytes, expected: Option<&Digest>) -> Result<BlobInfo, BlobError> {
        let algorithm = expected.map_or(Algorithm::Sha256, Digest::algorithm);
        let digest = Digest::of(algorithm, &bytes);
        if let Some(expected) = expected
            && *expected != digest
        {
            return Err(BlobError::DigestMismatch { expected: expected.clone(), actual: digest });
        }
        let size = bytes.len() as u64;
        self.inner
            .store
            .put(&self.blob_key(&digest), PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| self.backend_error(e))?;
        metrics::counter!("wharf_blob_bytes_written_total", "backend" => self.inner.backend).increment(size);
        Ok(BlobInfo { digest, size })
    }

    /// Starts a streaming write whose digest is known in advance. The bytes go
    /// straight to the blob's key in parts; the upload is only completed if they hash
    /// to `expected`, otherwise it is aborted and nothing becomes visible.
    pub async fn writer_for(&self, expected: &Digest) -> Result<BlobWriter, BlobError> {
        // Multipart uploads to 144-character SHA-512 keys exceed the object-name
        // limits of some S3 implementations (s3s-fs keeps multipart bookkeeping in a
        // file named after the key); those blobs stream to a short staging key
        // instead and are verified the same way at commit.
        if self.local().is_none() && expected.algorithm() == Algorithm::Sha512 {
            return BlobWriter::start(self.clone(), Algorithm::Sha512, Target::Staging(self.staging_key())).await;
        }
        BlobWriter::start(self.clone(), expected.algorithm(), Target::Final(expected.clone())).await
    }

    /// Starts a streaming write whose digest is known only at the end. The bytes go
    /// to a staging object and are moved to the blob's key once verified.
    pub async fn writer(&self, algorithm: Algorithm) -> Result<BlobWriter, BlobError> {
        BlobWriter::start(self.clone(), algorithm, Target::Staging(self.staging_key())).await
    }

    /// Moves a finished staging object to its blob key. If the blob already exists
    /// (same digest, same bytes) the staging object is dropped instead.
    pub(crate) async fn publish_staged(&self, staging: &Path, digest: &Digest) -> Result<(), BlobError> {
        let target = self.blob_key(digest);
        let options = RenameOptions { target_mode: RenameTargetMode::Create, ..RenameOptions::default() };
        match self.inner.store.rename_opts(staging, &target, options).await {
            Ok(()) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => self.delete_key(staging).await,
            // Backends without create-only renames (most S3 services): a plain
            // rename is still safe because the target can only ever hold these bytes.
            Err(object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. }) => {
                self.inner.store.rename(staging, &target).await.map_err(|e| self.backend_error(e))
            }
            Err(e) => Err(self.backend_error(e)),
        }
    }

    pub(crate) async fn delete_key(&self, key: &Path) -> Result<(), BlobError> {
        match self.inner.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.backend_error(e)),
        }
    }

    /// Deletes a blob. Returns whether it existed.
    pub async fn delete(&self, digest: &Digest) -> Result<bool, BlobError> {
        let existed = self.stat(digest).await?.is_some();
        self.delete_key(&self.blob_key(digest)).await?;
        Ok(existed)
    }

    /// Checks that the backend answers, within a few seconds. For `/readyz`.
    ///
    /// Lists a prefix that never holds anything: unlike a HEAD of a missing key,
    /// a listing fails when the bucket itself is missing or the credentials are wrong.
    pub async fn check(&self) -> Result<(), BlobError> {
        let probe = self.key(&["readyz"]);
        match tokio::time::timeout(PROBE_TIMEOUT, self.inner.store.list_with_delimiter(Some(&probe))).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.backend_error(e)),
            Err(_) => {
                Err(BlobError::Timeout { store: self.inner.description.clone(), seconds: PROBE_TIMEOUT.as_secs() })
            }
        }
    }
}

/// A blob found in the store by a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// Its digest (from its key).
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// When it was last written, milliseconds since the epoch.
    pub modified_ms: i64,
}

impl BlobStore {
    /// Every blob in the store, as found by listing `blobs/` (keys that are not
    /// digests are skipped).
    pub fn stored_blobs(&self) -> BoxStream<'static, Result<StoredBlob, BlobError>> {
        let prefix = self.key(&["blobs"]);
        let store = self.inner.description.clone();
        self.inner
            .store
            .list(Some(&prefix))
            .filter_map(move |item| {
                let store = store.clone();
                async move {
                    match item {
                        Err(source) => Some(Err(BlobError::Backend { store, source })),
                        Ok(meta) => {
                            let parts: Vec<String> = meta.location.parts().map(|p| p.as_ref().to_owned()).collect();
                            let n = parts.len();
                            if n < 3 {
                                return None;
                            }
                            let digest = format!("{}:{}", parts[n - 3], parts[n - 1]).parse::<Digest>().ok()?;
                            Some(Ok(StoredBlob {
                                digest,
                                size: meta.size,
                                modified_ms: meta.last_modified.timestamp_millis(),
                            }))
                        }
                    }
                }
            })
            .boxed()
    }

    /// Deletes leftovers of interrupted writes older than `cutoff_ms`: staging objects,
    /// upload-session bytes whose session is not in `live_uploads`, and on the local
    /// backend the staged files of writes a crash cut short. Returns how
    /// many objects and bytes were (or, with `dry_run`, would be) removed.
    pub async fn remove_stale_temporaries(
        &self,
        cutoff_ms: i64,
        live_uploads: &std::collections::HashSet<String>,
        dry_run: bool,
    ) -> Result<(u64, u64), BlobError> {
        let (mut count, mut bytes) = (0u64, 0u64);
        for area in ["staging", "uploads"] {
            let prefix = self.key(&[area]);
            let mut listing = self.inner.store.list(Some(&prefix));
            let depth = prefix.parts().count();
            while let Some(item) = listing.next().await {
                let meta = item.map_err(|e| self.backend_error(e))?;
                if meta.last_modified.timestamp_millis() >= cutoff_ms {
                    continue;
                }
                if area == "uploads" {
                    let id = meta.location.parts().nth(depth).map(|p| p.as_ref().to_owned()).unwrap_or_default();
                    if live_uploads.contains(&id) {
                        continue;
                    }
                }
                if !dry_run {
                    self.delete_key(&meta.location).await?;
                }
                count += 1;
                bytes += meta.size;
            }
        }
        if let Some(dir) = self.local_path(&self.key(&["blobs"])) {
            let (c, b) = tokio::task::spawn_blocking(move || remove_stale_staged_files(&dir, cutoff_ms, dry_run))
                .await
                .map_err(|e| self.io_error(std::io::Error::other(e)))?
                .map_err(|e| self.io_error(e))?;
            count += c;
            bytes += b;
        }
        Ok((count, bytes))
    }
}

/// Whether a file name is one of `object_store`'s staged writes (`<key>#<digits>`),
/// which its local backend renames into place when a write completes and leaves
/// behind when the process dies mid-write. Listings never show them.
fn is_staged_file(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes staged files under `dir` (the local `blobs/` tree) untouched since
/// `cutoff_ms`. A write in progress keeps its file's modification time fresh.
fn remove_stale_staged_files(dir: &std::path::Path, cutoff_ms: i64, dry_run: bool) -> std::io::Result<(u64, u64)> {
    let (mut count, mut bytes) = (0u64, 0u64);
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.is_dir() {
                pending.push(entry.path());
                continue;
            }
            if !entry.file_name().to_str().is_some_and(is_staged_file) {
                continue;
            }
            let modified_ms = meta
                .modified()?
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            if modified_ms >= cutoff_ms {
                continue;
            }
            if !dry_run {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => {}
                    // Completed (renamed) or removed meanwhile.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
            }
            count += 1;
            bytes += meta.len();
        }
    }
    Ok((count, bytes))
}

/// Most bytes of a local file read per trip to the blocking pool.
const LOCAL_READ_CHUNK: u64 = 1024 * 1024;
/// Fewest: below it the trips cost more than the bytes.
const LOCAL_READ_MIN_CHUNK: u64 = 64 * 1024;
/// Read buffers of all local reads together stay about within this (each read has
/// up to two chunks in memory: one being sent, one read ahead). A few readers get
/// 1 MiB chunks; a thousand get 64 KiB, so a pull storm cannot exhaust memory.
const LOCAL_READ_BUDGET: u64 = 128 * 1024 * 1024;

/// The chunk size for a read while `active` reads stream.
fn local_chunk(active: u64) -> u64 {
    let fair = LOCAL_READ_BUDGET / (2 * active.max(1));
    (fair.clamp(LOCAL_READ_MIN_CHUNK, LOCAL_READ_CHUNK) / LOCAL_READ_MIN_CHUNK) * LOCAL_READ_MIN_CHUNK
}

/// The reads of a local file's byte range, one chunk ahead of the consumer.
struct LocalReads {
    file: Arc<std::fs::File>,
    pos: u64,
    end: u64,
    pending: Option<tokio::task::JoinHandle<std::io::Result<Bytes>>>,
    /// The store's count of streaming reads, this one included until it is dropped.
    active: Arc<std::sync::atomic::AtomicU64>,
}

impl Drop for LocalReads {
    fn drop(&mut self) {
        self.active.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl LocalReads {
    fn start_read(&self) -> tokio::task::JoinHandle<std::io::Result<Bytes>> {
        let (file, pos) = (Arc::clone(&self.file), self.pos);
        let chunk = local_chunk(self.active.load(std::sync::atomic::Ordering::Relaxed));
        let len = usize::try_from(chunk.min(self.end - pos)).unwrap_or(usize::MAX);
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Seek};
            // One read in flight per file at a time, so seeking the shared handle is safe;
            // reading into spare capacity spares zeroing the buffer first.
            let mut f = &*file;
            f.seek(std::io::SeekFrom::Start(pos))?;
            let mut buf = Vec::with_capacity(len);
            f.take(len as u64).read_to_end(&mut buf)?;
            if buf.len() < len {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the blob's file is shorter than when it was opened",
                ));
            }
            Ok(Bytes::from(buf))
        })
    }

    /// The next chunk; the read after it is started before this one is returned.
    async fn next(mut self) -> Option<(std::io::Result<Bytes>, LocalReads)> {
        let read = match self.pending.take() {
            Some(read) => read,
            None if self.pos < self.end => self.start_read(),
            None => return None,
        };
        let chunk = read.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match &chunk {
            Ok(bytes) => {
                self.pos += bytes.len() as u64;
                if self.pos < self.end {
                    self.pending = Some(self.start_read());
                }
            }
            // Nothing follows an error.
            Err(_) => self.pos = self.end,
        }
        Some((chunk, self))
    }
}

#[cfg(test)]
mod chunk_tests {
    use super::*;

    #[test]
    fn read_chunks_shrink_as_reads_grow() {
        assert_eq!(local_chunk(0), LOCAL_READ_CHUNK);
        assert_eq!(local_chunk(64), LOCAL_READ_CHUNK);
        assert_eq!(local_chunk(128), 512 * 1024);
        assert_eq!(local_chunk(1000), 64 * 1024);
        assert_eq!(local_chunk(100_000), LOCAL_READ_MIN_CHUNK);
        // Within the budget while the chunk is above the floor.
        for active in [1, 10, 100, 500, 1000] {
            assert!(2 * active * local_chunk(active) <= LOCAL_READ_BUDGET.max(2 * active * LOCAL_READ_MIN_CHUNK));
        }
    }
}
