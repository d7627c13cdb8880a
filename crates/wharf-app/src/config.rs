//! `[gc]` and `[marketplace]`: this crate's sections of the configuration, with
//! their defaults.

use serde::{Deserialize, Serialize};
use wharf_core::HumanDuration;

/// `[gc]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GcConfig {
    /// How often the server collects; `0s` turns periodic collection off.
    pub interval: HumanDuration,
    /// Nothing younger than this is collected.
    pub grace: HumanDuration,
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig { interval: HumanDuration::secs(6 * 3600), grace: HumanDuration::secs(24 * 3600) }
    }
}

/// `[marketplace]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketplaceConfig {
    /// The categories offers may list (ids: lowercase letters, digits, `-`).
    pub categories: Vec<String>,
    /// The key the marketplace signs promoted images with: a PEM file holding an
    /// unencrypted P-256 private key (PKCS#8 or SEC1); empty: one is generated at first
    /// use and kept in the database.
    pub signing_key: String,
}

impl Default for MarketplaceConfig {
    fn default() -> Self {
        MarketplaceConfig {
            categories: wharf_offer::template::DEFAULT_CATEGORIES.iter().map(|c| (*c).to_owned()).collect(),
            signing_key: String::new(),
        }
    }
}

impl GcConfig {
    /// A collection's options with sessions untouched for `upload_ttl` purged (`dry_run` off).
    pub fn options(&self, upload_ttl: std::time::Duration) -> crate::gc::GcOptions {
        crate::gc::GcOptions { grace: self.grace.0, upload_ttl, dry_run: false }
    }
}

/// `[certification]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CertificationConfig {
    /// The policy file (the format of `wharf certify --policy`); empty for the built-in
    /// policy.
    pub policy: String,
    /// clamd for the malware scan: `unix:/path/to/clamd.ctl` or `host:port`; empty: files
    /// are not scanned (a finding the policy decides on).
    pub clamd: String,
    /// Files streamed to clamd at once, per image.
    pub clamd_connections: usize,
}

impl Default for CertificationConfig {
    fn default() -> Self {
        CertificationConfig { policy: String::new(), clamd: String::new(), clamd_connections: 2 }
    }
}

/// `[webhooks]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Address ranges (CIDR) webhooks may reach although they are not public, e.g.
    /// `["10.20.0.0/16"]` for an internal receiver. Loopback, private, link-local,
    /// unique-local and cloud metadata addresses are refused otherwise.
    pub allow: Vec<String>,
    /// Timeout of one delivery attempt.
    pub timeout: HumanDuration,
    /// Fixed addresses for host names, used instead of DNS (as `curl --resolve`): for
    /// split-horizon setups. The addresses are checked like resolved ones.
    pub resolve: std::collections::BTreeMap<String, Vec<String>>,
    /// A PEM file of certificate authorities trusted for `https` destinations besides
    /// the system's (a private CA of an on-premises marketplace); empty: none.
    pub ca_file: String,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow: Vec::new(),
            timeout: HumanDuration::secs(10),
            resolve: Default::default(),
            ca_file: String::new(),
        }
    }
}
