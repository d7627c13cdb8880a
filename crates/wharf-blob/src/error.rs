//! The blob store's error type.

use wharf_oci::Digest;

/// What went wrong with a blob operation.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob with this digest.
    #[error("blob {0} not found")]
    NotFound(Digest),
    /// The bytes written do not hash to the expected digest; nothing was stored.
    #[error("content does not match digest: expected {expected}, computed {actual}")]
    DigestMismatch {
        /// The digest the caller announced.
        expected: Digest,
        /// The digest of what was actually written.
        actual: Digest,
    },
    /// A byte range outside the blob.
    #[error("range {start}-{end} is outside the blob of {size} bytes")]
    RangeNotSatisfiable {
        /// First requested byte.
        start: u64,
        /// Last requested byte (inclusive).
        end: u64,
        /// Blob size.
        size: u64,
    },
    /// The configuration cannot produce a store.
    #[error("invalid blob store configuration: {0}")]
    Config(String),
    /// The backend failed or could not be reached.
    #[error("the blob store ({store}) failed: {source}")]
    Backend {
        /// Which store, e.g. `s3://bucket at http://127.0.0.1:9000`.
        store: String,
        /// What object_store reported.
        source: object_store::Error,
    },
    /// A local file operation failed.
    #[error("the blob store ({store}) failed: {source}")]
    Io {
        /// Which store.
        store: String,
        /// What the operating system reported.
        source: std::io::Error,
    },
    /// An upload session's saved state is unusable (a bug or a manual edit).
    #[error("upload session state is damaged: {0}")]
    BadUploadState(String),
    /// The backend did not answer in time.
    #[error("the blob store ({store}) did not answer within {seconds} s")]
    Timeout {
        /// Which store.
        store: String,
        /// The limit that was hit.
        seconds: u64,
    },
}

impl BlobError {
    /// Whether retrying later might succeed (the backend, not the request, is at fault).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, BlobError::Backend { .. } | BlobError::Io { .. } | BlobError::Timeout { .. })
    }
}
