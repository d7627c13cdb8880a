//! The certification policy: which checks block, which warn, which are off, and
//! the limits of the layer reader. Defaults mirror the public marketplace's rules.

use serde::{Deserialize, Serialize};

use crate::limits::Limits;

/// What a check's findings do to the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The platform fails.
    Block,
    /// Reported; the platform still passes.
    Warn,
    /// Not checked.
    Off,
}

/// The policy file (TOML). Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// The layer reader's limits.
    pub limits: Limits,
    /// The image must not run as root (`USER` set to a non-root user).
    pub run_as_non_root: Action,
    /// The image must have fewer than `max_layers` layers.
    pub layer_count: Action,
    /// The layer limit (the public marketplace's is 40).
    pub max_layers: usize,
    /// The image must carry `required_labels`.
    pub required_labels: Action,
    /// The labels required.
    pub labels: Vec<String>,
    /// Files with the setuid or setgid bit.
    pub setuid_files: Action,
    /// Regular files anyone may write.
    pub world_writable_files: Action,
    /// The architecture the config declares must be that of the image's executables.
    pub architecture_matches_binaries: Action,
    /// No private keys or tokens in the environment, the config or the files.
    pub secrets: Action,
    /// License files under `/licenses` (or `LICENSE*`/`COPYING*` at the root).
    pub license_files: Action,
    /// The tag certified must not be `latest`.
    pub latest_tag: Action,
    /// The image's uncompressed size must stay under `max_image_bytes`.
    pub image_size: Action,
    /// The size limit (default 10 GiB).
    pub max_image_bytes: u64,
    /// None of `prohibited_packages` may be installed.
    pub prohibited: Action,
    /// Package names that may not ship (e.g. non-redistributable kernels).
    pub prohibited_packages: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            limits: Limits::default(),
            run_as_non_root: Action::Block,
            layer_count: Action::Block,
            max_layers: 40,
            required_labels: Action::Warn,
            labels: [
                "org.opencontainers.image.title",
                "org.opencontainers.image.version",
                "org.opencontainers.image.vendor",
                "org.opencontainers.image.licenses",
                "org.opencontainers.image.source",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            setuid_files: Action::Warn,
            world_writable_files: Action::Warn,
            architecture_matches_binaries: Action::Block,
            secrets: Action::Block,
            license_files: Action::Warn,
            latest_tag: Action::Block,
            image_size: Action::Warn,
            max_image_bytes: 10 << 30,
            prohibited: Action::Block,
            prohibited_packages: Vec::new(),
        }
    }
}
