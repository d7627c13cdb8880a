//! The registry's HTTP surface. Only this crate speaks the OCI HTTP protocol.
//!
//! - `/v2/…`: the OCI Distribution Specification v1.1 (pull, push monolithic,
//!   chunked and resumable, mounts, manifests and indexes, tags, referrers, deletes,
//!   catalog). Errors use the specification's JSON error format.
//! - `GET /token`: the Docker token service. Credentials by HTTP Basic (user name
//!   with a password or an API token), a Bearer API token, or none (anonymous).
//! - `GET /.well-known/jwks.json`: the public keys that verify issued tokens.
//!
//! Handlers are thin: [`path`] parses the URL, [`access`] decides, the data layer
//! (`wharf-db`) keeps metadata and the blob store (`wharf-blob`) keeps bytes.

mod access;
mod cache;
mod config;
mod error;
mod path;
mod response;
mod routes;
mod service;
mod token;
mod v2;

pub use config::RegistryConfig;

use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};
use wharf_auth::Authenticator;
use wharf_blob::BlobStore;
use wharf_db::Db;

/// Limits and behaviour of the registry.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// Largest accepted manifest, in bytes (the specification asks for at least 4 MiB).
    pub max_manifest_bytes: usize,
    /// Largest page of tags or catalog entries; larger `n` are clamped.
    pub max_page: u32,
    /// Upload sessions untouched for this long are refused and later purged.
    pub upload_ttl: Duration,
    /// Organizations whose repositories anyone may pull, push and delete without
    /// credentials: for benchmarks and throw-away test registries only.
    pub open_namespaces: Vec<String>,
    /// How long other nodes' changes may take to show in this node's read caches
    /// (zero turns the caches off).
    pub cache_ttl: Duration,
    /// Open upload sessions per principal and per repository.
    pub upload_caps: wharf_db::registry::UploadCaps,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistryConfig::default().settings()
    }
}

/// What the registry handlers need.
#[derive(Debug, Clone)]
pub struct RegistryState {
    /// Credentials, access and token signing.
    pub auth: Authenticator,
    /// Metadata.
    pub db: Db,
    /// Bytes.
    pub blobs: BlobStore,
    /// Limits.
    pub settings: RegistrySettings,
    cache: std::sync::Arc<cache::Cache>,
    /// Registry tokens already refused an action on a repository (`jti action name`).
    refused: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

/// Refusals remembered; beyond it the memory is cleared.
const MAX_REFUSALS: usize = 10_000;

impl RegistryState {
    /// The registry's state, with empty read caches.
    pub fn new(auth: Authenticator, db: Db, blobs: BlobStore, settings: RegistrySettings) -> RegistryState {
        let cache = std::sync::Arc::new(cache::Cache::new(settings.cache_ttl));
        RegistryState { auth, db, blobs, settings, cache, refused: Default::default() }
    }

    /// Records that the token `jti` was refused `action` on `name`; returns whether
    /// it had been refused the same before.
    pub(crate) fn refused_before(&self, jti: &str, action: &str, name: &str) -> bool {
        let Ok(mut seen) = self.refused.lock() else { return false };
        if seen.len() >= MAX_REFUSALS {
            seen.clear();
        }
        !seen.insert(format!("{jti} {action} {name}"))
    }
}

/// A label for the metrics of `/v2/<name>/…` requests, which all match one route:
/// the response carries the endpoint's template (`/v2/{name}/blobs/{digest}`, …).
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub &'static str);

/// The registry's routes.
pub fn router(state: RegistryState) -> Router {
    Router::new()
        .route("/token", get(token::issue))
        .route("/.well-known/jwks.json", get(token::jwks))
        .route("/v2/", get(v2::base))
        .route("/v2/_catalog", get(routes::catalog::list))
        .route("/v2/{*path}", any(routes::dispatch))
        .with_state(state)
}
