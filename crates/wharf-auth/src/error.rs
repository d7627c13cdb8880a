//! Errors of authentication and token verification.

use wharf_db::DbError;

/// Why a caller could not be authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password or unknown token: deliberately indistinguishable.
    #[error("invalid username, password or token")]
    InvalidCredentials,
    /// The API token expired.
    #[error("the API token has expired")]
    TokenExpired,
    /// The API token was revoked.
    #[error("the API token has been revoked")]
    TokenRevoked,
    /// The account is disabled.
    #[error("the account is disabled")]
    AccountDisabled,
    /// An `Authorization` header we cannot parse.
    #[error("malformed Authorization header: {0}")]
    MalformedHeader(&'static str),
    /// A password that breaks the password rule.
    #[error("{0}")]
    WeakPassword(String),
    /// Too many password checks are running or waiting: retry after the time given.
    #[error("too many sign-ins are being checked; retry in {} s", retry_after.as_secs().max(1))]
    Busy {
        /// When to retry.
        retry_after: std::time::Duration,
    },
    /// Too many failed attempts for this user name or client address lately.
    #[error("too many failed sign-ins for this user or from this address; retry in {} s", retry_after.as_secs().max(1))]
    Throttled {
        /// When attempts are checked again.
        retry_after: std::time::Duration,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Hashing or signing failed (not the caller's fault).
    #[error("internal authentication error: {0}")]
    Internal(String),
}

impl AuthError {
    /// Whether the database, not the caller, is at fault and a retry may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AuthError::Db(DbError::Unavailable(_)))
    }

    /// For `Busy` and `Throttled`: when the caller may try again.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            AuthError::Busy { retry_after } | AuthError::Throttled { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// Why a registry token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWS, or an algorithm other than ES256 (including `none`).
    #[error("malformed token: {0}")]
    Malformed(String),
    /// Signed by a key that is not ours (unknown or missing `kid`).
    #[error("token signed by an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    BadSignature,
    /// Past its expiry.
    #[error("token has expired")]
    Expired,
    /// Issued for another service or by another issuer.
    #[error("token was issued for another service or by another issuer")]
    WrongAudience,
}
