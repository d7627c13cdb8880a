//! Limits on what an image may ask of the layer reader. Going past one is a finding
//! (and stops reading what went past it), never a crash, a hang or unbounded memory.

use serde::{Deserialize, Serialize};

/// The limits, all configurable in the policy file; the defaults fit real images
/// with a wide margin (a full Debian image has ~10,000 files and ~120 MB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Uncompressed bytes of all layers together (default 16 GiB).
    pub max_total_bytes: u64,
    /// Uncompressed bytes per compressed byte of a layer, checked once a layer has
    /// inflated past 1 MiB (default 200; gzip of real content stays under 20).
    pub max_ratio: u64,
    /// Entries of all layers together (default 500,000).
    pub max_entries: u64,
    /// Components of one path (default 128).
    pub max_path_depth: usize,
    /// Bytes of one path (default 4,096, Linux's PATH_MAX).
    pub max_path_bytes: usize,
    /// Largest zstd window, as log2 of bytes (default 27: 128 MiB, zstd's own default cap).
    pub max_zstd_window_log: u32,
    /// Bytes of all paths in the image's file view together (default 64 MiB; a full
    /// Debian image uses under 1 MiB). Names are what the view keeps in memory.
    pub max_names_bytes: u64,
    /// Findings listed per check and layer about individual entries (default 100);
    /// past it one finding says how many more there were.
    pub max_findings_per_check: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 16 << 30,
            max_ratio: 200,
            max_entries: 500_000,
            max_path_depth: 128,
            max_path_bytes: 4096,
            max_zstd_window_log: 27,
            max_names_bytes: 64 << 20,
            max_findings_per_check: 100,
        }
    }
}
