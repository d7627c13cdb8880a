//! Resumable upload sessions: bytes arrive in any number of requests (possibly on
//! different nodes), are hashed as they arrive, and become a blob at commit.
//!
//! The caller keeps the session's [`UploadState`] (in the database) and passes it
//! back with each call; the store keeps only the bytes:
//! - local directory: one file `uploads/<id>`, appended to, renamed into place at
//!   commit (no copy); on each append it is first cut back to the recorded size, so
//!   bytes written by a request whose progress was never recorded cannot leak in;
//! - object stores: one object per append, `uploads/<id>/<n>`, concatenated at commit
//!   (a single part is renamed).
//!
//! A client that disconnects mid-request keeps what arrived: the returned state
//! covers exactly the bytes stored, and the session resumes from there.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStoreExt, WriteMultipart};
use wharf_oci::{Algorithm, Digest, Hasher};

use crate::{BlobError, BlobInfo, BlobStore};

/// What must be kept between the requests of an upload session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadState {
    /// Bytes received so far.
    pub size: u64,
    /// The SHA-256 state after those bytes, base64.
    pub hash_state: String,
    /// The sizes of the stored parts, comma-separated (object stores only).
    pub parts: String,
}

impl Default for UploadState {
    fn default() -> Self {
        UploadState { size: 0, hash_state: STANDARD.encode(Algorithm::Sha256.hasher().save()), parts: String::new() }
    }
}

impl UploadState {
    fn hasher(&self) -> Result<Hasher, BlobError> {
        STANDARD
            .decode(&self.hash_state)
            .ok()
            .and_then(|b| Hasher::restore(&b))
            .ok_or_else(|| BlobError::BadUploadState("unreadable hash state".into()))
    }

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

/// Chunks buffered between the receiving task and the writing thread.
const PIPELINE_DEPTH: usize = 32;

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
            self.append_local(path, state, body).await
        } else {
            self.append_part(id, state, body).await
        }
    }

    async fn append_local<S, E>(
        &self,
        path: std::path::PathBuf,
        state: &UploadState,
        mut body: S,
    ) -> Result<Appended, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let mut hasher = state.hasher()?;
        let start = state.size;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(PIPELINE_DEPTH);
        // Hashing and writing run on a blocking thread; the body is received here.
        let writer = tokio::task::spawn_blocking(move || -> (Hasher, u64, Option<std::io::Error>) {
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
                Err(e) => return (hasher, 0, Some(e)),
            };
            let mut written = 0u64;
            while let Some(chunk) = rx.blocking_recv() {
                if let Err(e) = file.write_all(&chunk) {
                    // Whatever part of this chunk landed is cut off by the next append.
                    return (hasher, written, Some(e));
                }
                hasher.update(&chunk);
                written += chunk.len() as u64;
            }
            (hasher, written, None)
        });
        let mut interrupted = None;
        while let Some(next) = body.next().await {
            match next {
                Ok(bytes) if bytes.is_empty() => {}
                Ok(bytes) => {
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
        let (hasher, written, io_error) = writer.await.map_err(|e| BlobError::BadUploadState(e.to_string()))?;
        metrics::counter!("wharf_blob_bytes_written_total", "backend" => self.backend()).increment(written);
        let appended = Appended {
            state: UploadState {
                size: start + written,
                hash_state: STANDARD.encode(hasher.save()),
                parts: String::new(),
            },
            written,
            interrupted,
        };
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
        let mut hasher = state.hasher()?;
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
                    hasher.update(&bytes);
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
        let parts = parts.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        Ok(Appended {
            state: UploadState { size: state.size + written, hash_state: STANDARD.encode(hasher.save()), parts },
            written,
            interrupted,
        })
    }

    fn part_key(&self, id: &str, n: usize) -> Path {
        self.key(&["uploads", id, &format!("{n:08}")])
    }

    /// Ends session `id`: the content must hash to `expected`; it then becomes the
    /// blob, atomically. On a mismatch the session's bytes are discarded and nothing
    /// becomes visible.
    pub async fn commit_upload(&self, id: &str, state: &UploadState, expected: &Digest) -> Result<BlobInfo, BlobError> {
        check_id(id)?;
        let actual = match expected.algorithm() {
            Algorithm::Sha256 => state.hasher()?.finish(),
            // Sessions hash SHA-256 as bytes arrive; other algorithms re-read them.
            other => self.rehash(id, state, other).await?,
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

/// Session ids become file names: only letters, digits and `-`.
fn check_id(id: &str) -> Result<(), BlobError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(BlobError::BadUploadState(format!("invalid upload id {id:?}")));
    }
    Ok(())
}
