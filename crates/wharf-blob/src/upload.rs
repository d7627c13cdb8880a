//! Resumable upload sessions: bytes arrive in any number of requests (possibly on
//! different nodes), are hashed as they arrive, and become a blob at commit.
//!
//! The caller keeps the session's [`UploadState`] (in the database) and passes it
//! back with each call; the store keeps the bytes, and, in memory on this node, the
//! running hasher of each open session. That hasher is only used while it has seen
//! exactly the session's recorded bytes; otherwise (a restart, another node, an
//! interrupted write) the commit re-hashes what is stored, so the digest check never
//! depends on it. The bytes:
//! - local directory: one file `uploads/<id>`, appended to, renamed into place at
//!   commit (no copy); on each append it is first cut back to the recorded size, so
//!   bytes written by a request whose progress was never recorded cannot leak in;
//! - object stores: one object per append, `uploads/<id>/<n>`, concatenated at commit
//!   (a single part is renamed).
//!
//! A client that disconnects mid-request keeps what arrived: the returned state
//! covers exactly the bytes stored, and the session resumes from there.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStoreExt, WriteMultipart};
use wharf_oci::{Algorithm, Digest, Hasher};

use crate::{BlobError, BlobInfo, BlobStore};

/// What must be kept between the requests of an upload session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadState {
    /// Bytes received so far.
    pub size: u64,
    /// The sizes of the stored parts, comma-separated (object stores only).
    pub parts: String,
}

impl UploadState {
    fn part_sizes(&self) -> Result<Vec<u64>, BlobError> {
        self.parts
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().map_err(|_| BlobError::BadUploadState(format!("bad part size {p:?}"))))
            .collect()
    }
}

/// The result of an append.
#[derive(Debug)]
pub struct Appended {
    /// The session's state after what was stored; record it.
    pub state: UploadState,
    /// Bytes stored by this call.
    pub written: u64,
    /// Why the body ended early (the client went away), if it did.
    pub interrupted: Option<String>,
}

/// Chunks buffered between the receiving task and the writing and hashing threads:
/// enough to keep both busy, few enough that concurrent pushes stay small in memory.
const PIPELINE_DEPTH: usize = 8;
/// Open sessions whose hasher a node keeps; beyond it, the oldest are dropped (their
/// commits re-hash the stored bytes).
const MAX_CACHED_HASHERS: usize = 4096;

impl BlobStore {
    fn upload_key(&self, id: &str) -> Path {
        self.key(&["uploads", id])
    }

    /// Appends a request body to upload session `id` (a UUID the caller made),
    /// continuing from `state`.
    pub async fn append_upload<S, E>(&self, id: &str, state: &UploadState, body: S) -> Result<Appended, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        check_id(id)?;
        if let Some(path) = self.local_path(&self.upload_key(id)) {
            self.append_local(id, path, state, body).await
        } else {
            self.append_part(id, state, body).await
        }
    }

    async fn append_local<S, E>(
        &self,
        id: &str,
        path: std::path::PathBuf,
        state: &UploadState,
        mut body: S,
    ) -> Result<Appended, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let start = state.size;
        let hasher = self.take_hasher(id, start);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(PIPELINE_DEPTH);
        // Writing and hashing run on two threads, side by side; the body is received here.
        let writer = tokio::task::spawn_blocking(move || -> (u64, Option<std::io::Error>) {
            use std::io::{Seek, Write};
            let open = || -> std::io::Result<std::fs::File> {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(&path)?;
                f.set_len(start)?;
                f.seek(std::io::SeekFrom::Start(start))?;
                Ok(f)
            };
            let mut file = match open() {
                Ok(f) => f,
                Err(e) => return (0, Some(e)),
            };
            let mut written = 0u64;
            while let Some(chunk) = rx.blocking_recv() {
                if let Err(e) = file.write_all(&chunk) {
                    // Whatever part of this chunk landed is cut off by the next append.
                    return (written, Some(e));
                }
                written += chunk.len() as u64;
            }
            (written, None)
        });
        let (htx, hashing) = match hasher {
            Some(mut h) => {
                let (htx, mut hrx) = tokio::sync::mpsc::channel::<Bytes>(PIPELINE_DEPTH);
                let task = tokio::task::spawn_blocking(move || {
                    let mut n = 0u64;
                    while let Some(chunk) = hrx.blocking_recv() {
                        h.update(&chunk);
                        n += chunk.len() as u64;
                    }
                    (h, n)
                });
                (Some(htx), Some(task))
            }
            None => (None, None),
        };
        let mut interrupted = None;
        while let Some(next) = body.next().await {
            match next {
                Ok(bytes) if bytes.is_empty() => {}
                Ok(bytes) => {
                    if let Some(h) = &htx {
                        let _ = h.send(bytes.clone()).await;
                    }
                    if tx.send(bytes).await.is_err() {
                        break; // the writer failed; its error is reported below
                    }
                }
                Err(e) => {
                    interrupted = Some(e.to_string());
                    break;
                }
            }
        }
        drop(tx);
        drop(htx);
        let (written, io_error) = writer.await.map_err(|e| BlobError::BadUploadState(e.to_string()))?;
        if let Some(task) = hashing {
            let (hasher, hashed) = task.await.map_err(|e| BlobError::BadUploadState(e.to_string()))?;
            // Kept only if it saw exactly the bytes that were stored.
            if hashed == written && io_error.is_none() {
                self.keep_hasher(id, start + written, hasher);
            }
        }
        metrics::counter!("wharf_blob_bytes_written_total", "backend" => self.backend()).increment(written);
        let appended =
            Appended { state: UploadState { size: start + written, parts: String::new() }, written, interrupted };
        match io_error {
            None => Ok(appended),
            Some(e) => Err(self.io_error(e)),
        }
    }

    async fn append_part<S, E>(&self, id: &str, state: &UploadState, mut body: S) -> Result<Appended, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let mut hasher = self.take_hasher(id, state.size);
        let mut parts = state.part_sizes()?;
        let key = self.part_key(id, parts.len());
        let upload = self.object_store().put_multipart(&key).await.map_err(|e| self.backend_error(e))?;
        let mut upload = WriteMultipart::new(upload);
        let mut written = 0u64;
        let mut interrupted = None;
        while let Some(next) = body.next().await {
            match next {
                Ok(bytes) => {
                    upload.wait_for_capacity(8).await.map_err(|e| self.backend_error(e))?;
                    if let Some(h) = hasher.as_mut() {
                        h.update(&bytes);
                    }
                    written += bytes.len() as u64;
                    upload.put(bytes);
                }
                Err(e) => {
                    interrupted = Some(e.to_string());
                    break;
                }
            }
        }
        if written == 0 {
            upload.abort().await.ok();
        } else {
            upload.finish().await.map_err(|e| self.backend_error(e))?;
            parts.push(written);
        }
        metrics::counter!("wharf_blob_bytes_written_total", "backend" => self.backend()).increment(written);
        if let Some(h) = hasher {
            self.keep_hasher(id, state.size + written, h);
        }
        let parts = parts.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        Ok(Appended { state: UploadState { size: state.size + written, parts }, written, interrupted })
    }

    fn part_key(&self, id: &str, n: usize) -> Path {
        self.key(&["uploads", id, &format!("{n:08}")])
    }

    /// Ends session `id`: the content must hash to `expected`; it then becomes the
    /// blob, atomically. On a mismatch the session's bytes are discarded and nothing
    /// becomes visible.
    pub async fn commit_upload(&self, id: &str, state: &UploadState, expected: &Digest) -> Result<BlobInfo, BlobError> {
        check_id(id)?;
        let actual = match self.take_hasher(id, state.size) {
            // The session's bytes were hashed as they arrived, on this node.
            Some(h) if h.algorithm() == expected.algorithm() => h.finish(),
            // Otherwise (SHA-512, a restart, another node, an interrupted write) the
            // stored bytes are hashed now.
            _ => self.rehash(id, state, expected.algorithm()).await?,
        };
        if actual != *expected {
            self.abort_upload(id, state).await.ok();
            return Err(BlobError::DigestMismatch { expected: expected.clone(), actual });
        }
        let info = BlobInfo { digest: actual, size: state.size };
        if let Some(path) = self.local_path(&self.upload_key(id)) {
            self.publish_local(path, state.size, &info.digest).await?;
            return Ok(info);
        }
        let parts = state.part_sizes()?;
        match parts.len() {
            0 => {
                self.put_bytes(Bytes::new(), Some(&info.digest)).await?;
            }
            1 => self.publish_staged(&self.part_key(id, 0), &info.digest).await?,
            _ => {
                let mut w = self.writer_for(&info.digest).await?;
                for n in 0..parts.len() {
                    let mut stream = self
                        .object_store()
                        .get(&self.part_key(id, n))
                        .await
                        .map_err(|e| self.backend_error(e))?
                        .into_stream();
                    while let Some(chunk) = stream.next().await {
                        w.write(chunk.map_err(|e| self.backend_error(e))?).await?;
                    }
                }
                w.commit(Some(&info.digest)).await?;
                self.abort_upload(id, state).await?;
            }
        }
        Ok(info)
    }

    /// Moves the session file into place, durably when configured.
    async fn publish_local(&self, path: std::path::PathBuf, size: u64, digest: &Digest) -> Result<(), BlobError> {
        let target =
            self.local_path(&self.blob_key(digest)).ok_or_else(|| BlobError::BadUploadState("not local".into()))?;
        let fsync = self.local().is_some_and(|l| l.fsync);
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            // A session that never received a byte has no file yet: the empty blob.
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(&path)?;
            // Anything past the recorded size came from a request whose progress was
            // never recorded: it is not part of the blob.
            file.set_len(size)?;
            if fsync {
                file.sync_all()?;
            }
            drop(file);
            let dir = target.parent().ok_or_else(|| std::io::Error::other("blob path has no parent"))?;
            std::fs::create_dir_all(dir)?;
            if target.exists() {
                // Same digest, same bytes: keep the stored copy.
                return std::fs::remove_file(&path);
            }
            std::fs::rename(&path, &target)?;
            if fsync {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| BlobError::BadUploadState(e.to_string()))?
        .map_err(|e| self.io_error(e))
    }

    async fn rehash(&self, id: &str, state: &UploadState, algorithm: Algorithm) -> Result<Digest, BlobError> {
        let mut hasher = algorithm.hasher();
        if let Some(path) = self.local_path(&self.upload_key(id)) {
            let size = state.size;
            return tokio::task::spawn_blocking(move || -> std::io::Result<Digest> {
                use std::io::Read;
                let mut f = std::fs::File::open(&path)?.take(size);
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        return Ok(hasher.finish());
                    }
                    hasher.update(&buf[..n]);
                }
            })
            .await
            .map_err(|e| BlobError::BadUploadState(e.to_string()))?
            .map_err(|e| self.io_error(e));
        }
        for n in 0..state.part_sizes()?.len() {
            let mut stream =
                self.object_store().get(&self.part_key(id, n)).await.map_err(|e| self.backend_error(e))?.into_stream();
            while let Some(chunk) = stream.next().await {
                hasher.update(&chunk.map_err(|e| self.backend_error(e))?);
            }
        }
        Ok(hasher.finish())
    }

    /// Discards a session's bytes. Idempotent.
    pub async fn abort_upload(&self, id: &str, state: &UploadState) -> Result<(), BlobError> {
        check_id(id)?;
        self.take_hasher(id, u64::MAX);
        if let Some(path) = self.local_path(&self.upload_key(id)) {
            return match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.io_error(e)),
            };
        }
        for n in 0..state.part_sizes()?.len() {
            self.delete_key(&self.part_key(id, n)).await?;
        }
        Ok(())
    }
}

impl BlobStore {
    /// The session's hasher if it has seen exactly `size` bytes; a fresh one for an
    /// empty session; `None` when the bytes so far were hashed elsewhere or not at all.
    fn take_hasher(&self, id: &str, size: u64) -> Option<Hasher> {
        let cached = self.hashers().lock().ok().and_then(|mut m| m.remove(id));
        match cached {
            Some((n, h)) if n == size => Some(h),
            _ if size == 0 => Some(Algorithm::Sha256.hasher()),
            _ => None,
        }
    }

    /// Forgets every cached hasher, as a restart or another node would (tests).
    #[cfg(feature = "testing")]
    pub fn forget_hashers(&self) {
        if let Ok(mut m) = self.hashers().lock() {
            m.clear();
        }
    }

    fn keep_hasher(&self, id: &str, size: u64, hasher: Hasher) {
        if let Ok(mut m) = self.hashers().lock() {
            if m.len() >= MAX_CACHED_HASHERS
                && let Some(k) = m.keys().next().cloned()
            {
                m.remove(&k);
            }
            m.insert(id.to_owned(), (size, hasher));
        }
    }
}

/// Session ids become file names: only letters, digits and `-`.
fn check_id(id: &str) -> Result<(), BlobError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(BlobError::BadUploadState(format!("invalid upload id {id:?}")));
    }
    Ok(())
}
