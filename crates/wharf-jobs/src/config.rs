//! `[jobs]`: this crate's section of the configuration, with its defaults.

use serde::{Deserialize, Serialize};
use wharf_core::HumanDuration;

/// `[jobs]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Jobs one process runs at once: `wharf serve`'s in-process workers (0: none,
    /// leave the jobs to `wharf worker` processes) and each `wharf worker`'s.
    pub workers: usize,
    /// How often an idle worker looks for work.
    pub poll_interval: HumanDuration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig { workers: 2, poll_interval: HumanDuration::secs(2) }
    }
}
