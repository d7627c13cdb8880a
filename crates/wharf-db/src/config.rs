//! `[database]`: this crate's section of the configuration, with its defaults.

use serde::{Deserialize, Serialize};
use wharf_core::HumanDuration;

use crate::DbOptions;

/// `[database]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Empty for SQLite in the data directory, or a `postgres://` URL.
    pub url: String,
    /// Maximum pooled connections.
    pub max_connections: u32,
    /// How long to wait for a connection.
    pub connect_timeout: HumanDuration,
    /// SQLite: how long a writer waits for the write lock.
    pub sqlite_busy_timeout: HumanDuration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: String::new(),
            max_connections: 16,
            connect_timeout: HumanDuration::secs(5),
            sqlite_busy_timeout: HumanDuration::secs(5),
        }
    }
}

impl DatabaseConfig {
    /// The options to connect with; an empty `url` becomes `default_url()`.
    pub fn options(&self, default_url: impl FnOnce() -> String) -> DbOptions {
        DbOptions {
            url: if self.url.is_empty() { default_url() } else { self.url.clone() },
            max_connections: self.max_connections,
            connect_timeout: self.connect_timeout.0,
            sqlite_busy_timeout: self.sqlite_busy_timeout.0,
        }
    }
}
