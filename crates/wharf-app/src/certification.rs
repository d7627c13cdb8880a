//! Certifying images straight from the marketplace's storage: the certification engine
//! reads an image layout whose index lists the images, whose blobs stream from the blob
//! store and whose manifests come from the database, as the registry keeps them. No
//! byte is copied out first, and the engine checks every blob against its digest.

use std::io::{self, Read};
use std::sync::Arc;

use futures::TryStreamExt;
use wharf_blob::{BlobError, BlobStore};
use wharf_certify::image::{BlobSource, Layout};
use wharf_db::Db;
use wharf_oci::{Digest, RepositoryName};

use wharf_certify::certify::Engine;
use wharf_certify::clamd::ClamdAddr;
use wharf_certify::policy::Policy;

use crate::{App, AppError, CertificationConfig};

/// How the marketplace certifies: its policy and its malware scanner.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    policy: Policy,
    pub(crate) clamd: Option<ClamdAddr>,
    clamd_connections: usize,
}

impl Settings {
    /// The settings of `[certification]`, the policy file read.
    pub(crate) fn from_config(config: &CertificationConfig) -> Result<Settings, AppError> {
        let policy = if config.policy.is_empty() {
            Policy::default()
        } else {
            Policy::load(std::path::Path::new(&config.policy))
                .map_err(|e| AppError::field("/certification/policy", e))?
        };
        let clamd = if config.clamd.is_empty() {
            None
        } else {
            Some(config.clamd.parse().map_err(|e| AppError::field("/certification/clamd", e))?)
        };
        Ok(Settings { policy, clamd, clamd_connections: config.clamd_connections.max(1) })
    }
}

/// An image of a repository, by digest, and the name its report gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    /// The repository.
    pub repository: RepositoryName,
    /// The manifest or index.
    pub digest: Digest,
    /// How the layout's index names it (`org.opencontainers.image.ref.name`).
    pub name: String,
}

/// The marketplace's storage as an image layout.
struct StoreSource {
    db: Db,
    blobs: BlobStore,
    handle: tokio::runtime::Handle,
    index: Vec<u8>,
}

impl std::fmt::Debug for StoreSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSource").field("blobs", &self.blobs.description()).finish_non_exhaustive()
    }
}

impl BlobSource for StoreSource {
    fn index(&self) -> io::Result<Vec<u8>> {
        Ok(self.index.clone())
    }

    /// Called from blocking code (the engine's thread): the store is read on the runtime.
    fn open(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        match self.handle.block_on(self.blobs.get(digest, None)) {
            Ok(read) => {
                let stream = read.stream.map_err(io::Error::other);
                let reader = tokio_util::io::StreamReader::new(stream);
                Ok(Box::new(tokio_util::io::SyncIoBridge::new_with_handle(reader, self.handle.clone())))
            }
            // A manifest's bytes are kept in the database.
            Err(BlobError::NotFound(_)) => match self.handle.block_on(self.db.manifest_content(digest)) {
                Ok(Some(bytes)) => Ok(Box::new(io::Cursor::new(bytes))),
                Ok(None) => Err(io::Error::new(io::ErrorKind::NotFound, format!("{digest} is not stored"))),
                Err(e) => Err(io::Error::other(e)),
            },
            Err(e) => Err(io::Error::other(e)),
        }
    }
}

impl App {
    /// The certification engine as the marketplace runs it: its policy, clamd, and the
    /// newest advisory snapshot (none imported: vulnerabilities are "not evaluated").
    pub async fn certification_engine(&self) -> Result<Engine, AppError> {
        let settings = &self.certification;
        let mut engine = Engine::new(settings.policy.clone());
        engine.advisories = self.advisory_store().await?;
        engine.clamd = settings.clamd.clone();
        engine.clamd_connections = settings.clamd_connections.max(1);
        Ok(engine)
    }

    /// A layout of `images` read from the blob store and the database, for the
    /// certification engine, which must run it on a blocking thread.
    pub async fn stored_layout(&self, images: &[StoredImage]) -> Result<Layout, AppError> {
        let mut manifests = Vec::new();
        for image in images {
            let missing =
                || AppError::NotFound(format!("{}@{} is not in the registry", image.repository, image.digest));
            let repo = self.db.repository(&image.repository).await?.ok_or_else(missing)?;
            let row = self.db.manifest(repo.id, &image.digest).await?.ok_or_else(missing)?;
            manifests.push(serde_json::json!({
                "mediaType": row.media_type,
                "digest": row.digest.as_str(),
                "size": row.size,
                "annotations": {"org.opencontainers.image.ref.name": image.name},
            }));
        }
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        }))
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let source = StoreSource {
            db: self.db.clone(),
            blobs: self.blobs.clone(),
            handle: tokio::runtime::Handle::current(),
            index,
        };
        Ok(Layout::from_source(Arc::new(source)))
    }
}
