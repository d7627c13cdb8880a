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
    /// How long a claimed job stays with its worker without the worker renewing it
    /// (it renews every third of this while it runs): a killed worker's job is taken
    /// over by another after this long.
    pub lease: HumanDuration,
    /// The pause before a failed job runs again; it doubles with each failure.
    pub backoff: HumanDuration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            workers: 2,
            poll_interval: HumanDuration::secs(2),
            lease: HumanDuration::secs(300),
            backoff: HumanDuration::secs(30),
        }
    }
}
