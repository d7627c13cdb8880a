//! `[blob]`: this crate's section of the configuration, with its defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wharf_core::HumanDuration;

use crate::{LocalOptions, S3Options, StoreOptions};

/// Which blob backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    /// A local directory.
    Local,
    /// An S3-compatible service.
    S3,
}

/// `[blob]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobConfig {
    /// `local` or `s3`.
    pub backend: BlobBackend,
    /// `[blob.local]`
    pub local: LocalBlobConfig,
    /// `[blob.s3]`
    pub s3: S3BlobConfig,
}

/// `[blob.local]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalBlobConfig {
    /// Empty for `<data_dir>/blobs`.
    pub path: String,
    /// fsync committed blobs.
    pub fsync: bool,
}

/// `[blob.s3]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3BlobConfig {
    /// Endpoint URL; empty for AWS.
    pub endpoint: String,
    /// Bucket (must exist).
    pub bucket: String,
    /// Region.
    pub region: String,
    /// Key prefix inside the bucket.
    pub prefix: String,
    /// Virtual-hosted-style addressing.
    pub virtual_hosted_style: bool,
    /// TCP connect timeout.
    pub connect_timeout: HumanDuration,
    /// Per-request timeout.
    pub request_timeout: HumanDuration,
    /// Retries of a failed request.
    pub max_retries: u32,
    /// Stop retrying after this long.
    pub retry_timeout: HumanDuration,
}

impl Default for BlobConfig {
    fn default() -> Self {
        BlobConfig { backend: BlobBackend::Local, local: LocalBlobConfig::default(), s3: S3BlobConfig::default() }
    }
}

impl Default for LocalBlobConfig {
    fn default() -> Self {
        LocalBlobConfig { path: String::new(), fsync: true }
    }
}

impl Default for S3BlobConfig {
    fn default() -> Self {
        S3BlobConfig {
            endpoint: String::new(),
            bucket: String::new(),
            region: "us-east-1".into(),
            prefix: String::new(),
            virtual_hosted_style: false,
            connect_timeout: HumanDuration::secs(5),
            request_timeout: HumanDuration::secs(60),
            max_retries: 3,
            retry_timeout: HumanDuration::secs(15),
        }
    }
}

impl BlobConfig {
    /// The store to open; an empty local `path` becomes `default_root`.
    pub fn options(&self, default_root: PathBuf) -> StoreOptions {
        match self.backend {
            BlobBackend::Local => StoreOptions::Local(LocalOptions {
                root: if self.local.path.is_empty() { default_root } else { PathBuf::from(&self.local.path) },
                fsync: self.local.fsync,
            }),
            BlobBackend::S3 => {
                let s3 = &self.s3;
                StoreOptions::S3(S3Options {
                    endpoint: (!s3.endpoint.is_empty()).then(|| s3.endpoint.clone()),
                    bucket: s3.bucket.clone(),
                    region: s3.region.clone(),
                    prefix: s3.prefix.clone(),
                    virtual_hosted_style: s3.virtual_hosted_style,
                    connect_timeout: s3.connect_timeout.0,
                    request_timeout: s3.request_timeout.0,
                    max_retries: s3.max_retries as usize,
                    retry_timeout: s3.retry_timeout.0,
                })
            }
        }
    }
}
