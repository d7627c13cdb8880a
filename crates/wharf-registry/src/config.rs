//! `[registry]`: this crate's section of the configuration, with its defaults.

use serde::{Deserialize, Serialize};
use wharf_core::HumanDuration;

use crate::RegistrySettings;

/// `[registry]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// Largest accepted manifest, in bytes.
    pub max_manifest_bytes: u64,
    /// Largest page of tags or catalog entries.
    pub max_page: u32,
    /// Upload sessions untouched for this long expire.
    pub upload_ttl: HumanDuration,
    /// Organizations open to anyone, without credentials (benchmarks and tests only).
    pub open_namespaces: Vec<String>,
    /// How long other nodes' changes may take to show in this node's read caches.
    pub cache_ttl: HumanDuration,
    /// Upload sessions one user (or API token) may have open.
    pub max_uploads_per_principal: u64,
    /// Upload sessions one repository may have open.
    pub max_uploads_per_repository: u64,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            max_manifest_bytes: 4 * 1024 * 1024,
            max_page: 1000,
            upload_ttl: HumanDuration::secs(24 * 3600),
            open_namespaces: Vec::new(),
            cache_ttl: HumanDuration::secs(2),
            max_uploads_per_principal: 256,
            max_uploads_per_repository: 1024,
        }
    }
}

impl RegistryConfig {
    /// The settings the handlers use.
    pub fn settings(&self) -> RegistrySettings {
        RegistrySettings {
            max_manifest_bytes: usize::try_from(self.max_manifest_bytes).unwrap_or(usize::MAX),
            max_page: self.max_page,
            upload_ttl: self.upload_ttl.0,
            open_namespaces: self.open_namespaces.clone(),
            cache_ttl: self.cache_ttl.0,
            upload_caps: wharf_db::registry::UploadCaps {
                per_principal: self.max_uploads_per_principal,
                per_repository: self.max_uploads_per_repository,
            },
        }
    }
}
