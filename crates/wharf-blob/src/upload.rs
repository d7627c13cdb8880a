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
use futures::{FutureExt, Stream, StreamExt};
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
        let opened = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            use std::io::Seek;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(&path)?;
            f.set_len(start)?;
            f.seek(std::io::SeekFrom::Start(start))?;
            Ok(f)
        })
        .await
        .map_err(|e| BlobError::BadUploadState(e.to_string()))?;
        let file = opened.map_err(|e| self.io_error(e))?;
        // Blocking work is done a batch at a time, so no thread waits on the network
        // (a slow client holds a socket, not a thread). The next batch is received
        // while the previous one is hashed and written, side by side.
        let mut written = 0u64;
        let mut io_error = None;
        let mut batches = Batches { body: &mut body, ended: false, interrupted: None };
        let mut stage = Stage::Idle(Sink { file, hasher });
        loop {
            let batch = batches.next().await;
            let sink = match stage {
                Stage::Idle(sink) => sink,
                Stage::Busy(work) => {
                    let (sink, result) = work.finish().await?;
                    match result {
                        Ok(n) => written += n,
                        Err(e) => {
                            io_error = Some(e);
                            stage = Stage::Idle(sink);
                            break;
                        }
                    }
                    sink
                }
            };
            let Some(batch) = batch else {
                stage = Stage::Idle(sink);
                break;
            };
            stage = Stage::Busy(BatchWork::start(sink, batch));
        }
        let interrupted = batches.interrupted;
        if let (Stage::Idle(Sink { hasher: Some(h), .. }), None) = (stage, &io_error) {
            // Kept only if it saw exactly the bytes that were stored.
            self.keep_hasher(id, start + written, h);
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

/// Received bytes handed to blocking work at most this many at a time.
const MAX_BATCH_BYTES: usize = 4 << 20;

/// A request body taken a batch at a time: wait for one chunk, then take whatever
/// else is already there.
struct Batches<'a, S> {
    body: &'a mut S,
    ended: bool,
    interrupted: Option<String>,
}

impl<S, E> Batches<'_, S>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    /// The next batch; `None` once the body ended (or broke off: `interrupted`).
    async fn next(&mut self) -> Option<Vec<Bytes>> {
        if self.ended {
            return None;
        }
        let mut batch = Vec::new();
        let mut size = 0;
        while size < MAX_BATCH_BYTES {
            let next = if batch.is_empty() {
                self.body.next().await
            } else {
                match self.body.next().now_or_never() {
                    Some(next) => next,
                    None => break,
                }
            };
            match next {
                None => {
                    self.ended = true;
                    break;
                }
                Some(Ok(bytes)) if bytes.is_empty() => {}
                Some(Ok(bytes)) => {
                    size += bytes.len();
                    batch.push(bytes);
                }
                Some(Err(e)) => {
                    self.interrupted = Some(e.to_string());
                    self.ended = true;
                    break;
                }
            }
        }
        (!batch.is_empty()).then_some(batch)
    }
}

/// Where an upload's bytes go: its file, and its hasher when this node has one.
struct Sink {
    file: std::fs::File,
    hasher: Option<Hasher>,
}

/// The sink, or the blocking work that has it while it handles a batch.
enum Stage {
    Idle(Sink),
    Busy(BatchWork),
}

/// One batch being written and hashed, on two blocking threads at once.
struct BatchWork {
    write: tokio::task::JoinHandle<(std::fs::File, std::io::Result<u64>)>,
    hash: Option<tokio::task::JoinHandle<Hasher>>,
}

impl BatchWork {
    fn start(sink: Sink, batch: Vec<Bytes>) -> BatchWork {
        let batch = std::sync::Arc::new(batch);
        let hash = sink.hasher.map(|mut h| {
            let batch = batch.clone();
            tokio::task::spawn_blocking(move || {
                for chunk in batch.iter() {
                    h.update(chunk);
                }
                h
            })
        });
        let mut file = sink.file;
        let write = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut n = 0u64;
            for chunk in batch.iter() {
                // Whatever part of a failed batch landed is cut off by the next append.
                if let Err(e) = file.write_all(chunk) {
                    return (file, Err(e));
                }
                n += chunk.len() as u64;
            }
            (file, Ok(n))
        });
        BatchWork { write, hash }
    }

    async fn finish(self) -> Result<(Sink, std::io::Result<u64>), BlobError> {
        let gone = |e: tokio::task::JoinError| BlobError::BadUploadState(e.to_string());
        let (file, result) = self.write.await.map_err(gone)?;
        let hasher = match self.hash {
            Some(h) => Some(h.await.map_err(gone)?),
            None => None,
        };
        Ok((Sink { file, hasher }, result))
    }
}
