//! The content-addressed blob store.
//!
//! Blobs (image layers, configs, manifests, later SBOMs and reports) are stored by
//! digest in an [`object_store`] backend: a local directory by default, or any
//! S3-compatible service. Blob bytes never go into the database and this crate never
//! reads the database.
//!
//! Guarantees, each exercised by the backend suite in [`testing`] against every backend:
//! - a write is hashed while it streams and verified at commit;
//! - a blob becomes visible atomically, complete and verified, or not at all;
//! - nothing is held whole in memory (writes go out in parts, reads stream).
//!
//! Key layout under the configured prefix:
//! ```text
//! blobs/<algorithm>/<first two hex digits>/<hex>   immutable content, one object per digest
//! staging/<uuid>                                   writes whose digest is known only at the end
//! uploads/<id>  (local)  uploads/<id>/<n>  (S3)     resumable upload sessions
//! readyz                                           never written; probed by readiness checks
//! ```

mod config;
mod error;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod upload;
mod writer;

pub use config::{BlobBackend, BlobConfig, LocalBlobConfig, S3BlobConfig};
pub use error::BlobError;
pub use store::{BlobInfo, BlobRead, BlobStore, ByteRange, LocalOptions, S3Options, StoreOptions, StoredBlob};
pub use upload::{Appended, UploadState};
pub use writer::BlobWriter;
