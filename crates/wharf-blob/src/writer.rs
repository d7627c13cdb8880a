//! Streaming writes, hashed as the bytes flow.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, WriteMultipart};
use wharf_oci::{Algorithm, Digest, Hasher};

use crate::{BlobError, BlobInfo, BlobStore};

/// Parts in flight at once per writer. With 5 MiB parts this bounds a writer's
/// buffered memory to about 40 MiB whatever the blob's size.
const MAX_PARTS_IN_FLIGHT: usize = 8;

pub(crate) enum Target {
    /// The digest is known: write to the blob's own key.
    Final(Digest),
    /// The digest is known at the end: write to a staging key, then move.
    Staging(Path),
}

/// A blob being written. Finish with [`BlobWriter::commit`] or
/// [`BlobWriter::abort`]; a writer dropped without either leaves nothing visible
/// (at worst an invisible incomplete upload for garbage collection).
pub struct BlobWriter {
    store: BlobStore,
    upload: WriteMultipart,
    hasher: Hasher,
    size: u64,
    target: Target,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter").field("size", &self.size).finish_non_exhaustive()
    }
}

impl BlobWriter {
    pub(crate) async fn start(store: BlobStore, algorithm: Algorithm, target: Target) -> Result<BlobWriter, BlobError> {
        let key = match &target {
            Target::Final(digest) => store.blob_key(digest),
            Target::Staging(path) => path.clone(),
        };
        let upload = store.object_store().put_multipart(&key).await.map_err(|e| store.backend_error(e))?;
        Ok(BlobWriter { store, upload: WriteMultipart::new(upload), hasher: algorithm.hasher(), size: 0, target })
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends bytes. Waits while too many parts are in flight, so a fast
    /// producer cannot make the writer buffer without bound.
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.upload.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await.map_err(|e| self.store.backend_error(e))?;
        self.hasher.update(&bytes);
        self.size += bytes.len() as u64;
        metrics::counter!("wharf_blob_bytes_written_total", "backend" => self.store.backend())
            .increment(bytes.len() as u64);
        self.upload.put(bytes);
        Ok(())
    }

    /// Finishes the write. With `expected`, the content must hash to it (and must,
    /// for a writer from [`BlobStore::writer_for`], match that digest). On a
    /// mismatch the upload is aborted and nothing becomes visible.
    pub async fn commit(self, expected: Option<&Digest>) -> Result<BlobInfo, BlobError> {
        let BlobWriter { store, upload, hasher, size, target } = self;
        let actual = hasher.finish();
        let announced = match &target {
            Target::Final(d) => Some(d),
            Target::Staging(_) => None,
        };
        for want in [expected, announced].into_iter().flatten() {
            if *want != actual {
                upload.abort().await.ok();
                return Err(BlobError::DigestMismatch { expected: want.clone(), actual });
            }
        }
        upload.finish().await.map_err(|e| store.backend_error(e))?;
        if let Target::Staging(staging) = &target {
            store.publish_staged(staging, &actual).await?;
        }
        tracing::debug!(blob.digest = %actual, size_bytes = size, "blob committed");
        Ok(BlobInfo { digest: actual, size })
    }

    /// Abandons the write; nothing becomes visible.
    pub async fn abort(self) -> Result<(), BlobError> {
        self.upload.abort().await.map_err(|e| self.store.backend_error(e))
    }
}
