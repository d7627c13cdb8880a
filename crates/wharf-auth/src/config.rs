//! `[auth]`: this crate's section of the configuration, with its defaults.

use serde::{Deserialize, Serialize};
use wharf_core::HumanDuration;

use crate::{AuthSettings, PasswordLimits};

/// `[auth]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `iss` of registry tokens.
    pub issuer: String,
    /// The registry's service name (`aud` of tokens, `service` of challenges).
    pub service: String,
    /// Lifetime of registry tokens.
    pub token_ttl: HumanDuration,
    /// Password checks (argon2id, ~19 MiB and ~23 ms each) running at once; 0 is the
    /// number of cores.
    pub password_checks: usize,
    /// How long a password check may wait for its turn before the caller gets 429.
    pub password_queue_timeout: HumanDuration,
    /// How long a successful password check is remembered (0s: never).
    pub password_remember: HumanDuration,
    /// Failed password attempts per user name within `failure_window` before more are refused.
    pub max_failures_per_user: u32,
    /// Failed password attempts per client address within `failure_window` before more are refused.
    pub max_failures_per_address: u32,
    /// The window failed attempts are counted over.
    pub failure_window: HumanDuration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: "wharf".into(),
            service: "wharf-registry".into(),
            token_ttl: HumanDuration::secs(300),
            password_checks: 0,
            password_queue_timeout: HumanDuration::secs(10),
            password_remember: HumanDuration::secs(120),
            max_failures_per_user: 20,
            max_failures_per_address: 100,
            failure_window: HumanDuration::secs(300),
        }
    }
}

impl AuthConfig {
    /// The token service's settings, with `realm` the token endpoint's absolute URL.
    pub fn settings(&self, realm: String) -> AuthSettings {
        AuthSettings {
            issuer: self.issuer.clone(),
            service: self.service.clone(),
            token_ttl: self.token_ttl.0,
            realm,
            passwords: self.password_limits(),
        }
    }

    /// How password checks are bounded.
    pub fn password_limits(&self) -> PasswordLimits {
        PasswordLimits {
            max_concurrent: self.password_checks,
            queue_timeout: self.password_queue_timeout.0,
            remember: self.password_remember.0,
            max_failures_per_user: self.max_failures_per_user,
            max_failures_per_address: self.max_failures_per_address,
            failure_window: self.failure_window.0,
        }
    }
}
