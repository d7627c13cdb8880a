//! `[api]`: this crate's section of the configuration, with its defaults.

use serde::{Deserialize, Serialize};

/// `[api]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Largest accepted request body.
    pub max_body_bytes: u64,
    /// Default page size.
    pub default_page_size: u32,
    /// Largest page size.
    pub max_page_size: u32,
    /// Largest OSV archive an operator may import through the API.
    pub max_advisories_bytes: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 1024 * 1024,
            default_page_size: 50,
            max_page_size: 200,
            max_advisories_bytes: 512 * 1024 * 1024,
        }
    }
}

impl ApiConfig {
    /// The largest accepted request body, in bytes.
    pub fn max_body(&self) -> usize {
        usize::try_from(self.max_body_bytes).unwrap_or(usize::MAX)
    }
}
