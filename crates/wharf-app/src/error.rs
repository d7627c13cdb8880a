//! What can go wrong in a use case, in the caller's terms.

use wharf_api_types::FieldError;
use wharf_auth::AuthError;
use wharf_db::DbError;

/// Every way a use case can fail. Surfaces map it once: `wharf-api` to problem+json,
/// the CLI to a message and an exit code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The credential is not (or no longer) valid.
    #[error("{0}")]
    Unauthenticated(String),
    /// Known, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Absent, or not visible to the actor.
    #[error("{0}")]
    NotFound(String),
    /// Clashes with stored state.
    #[error("{0}")]
    Conflict(String),
    /// A quota of the organization's access plans is used up; the message names the
    /// quota, its limit and the access offer.
    #[error("{0}")]
    QuotaExceeded(String),
    /// Fields break rules; every invalid field is listed, by JSON Pointer into the request.
    #[error("{}", .0.iter().map(|e| if e.pointer.is_empty() { e.detail.clone() } else { format!("{}: {}", e.pointer.trim_start_matches('/'), e.detail) }).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The resource changed since the version the caller names.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The caller must name the version it changes.
    #[error("{0}")]
    PreconditionRequired(String),
    /// A malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// Too many requests of this kind now.
    #[error("{detail}")]
    TooManyRequests {
        /// Why.
        detail: String,
        /// When to retry.
        retry_after: std::time::Duration,
    },
    /// A dependency (database, blob store) is down.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A single-field rule broken.
    pub fn field(pointer: &str, detail: impl std::fmt::Display) -> AppError {
        AppError::Invalid(vec![FieldError::new(pointer, detail)])
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(what) => AppError::Conflict(format!("{what} already exists")),
            DbError::LastOwner => AppError::Conflict(e.to_string()),
            DbError::Unavailable(_) | DbError::Connect { .. } => AppError::Unavailable(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials
            | AuthError::TokenExpired
            | AuthError::TokenRevoked
            | AuthError::AccountDisabled
            | AuthError::MalformedHeader(_) => AppError::Unauthenticated(e.to_string()),
            AuthError::WeakPassword(rule) => AppError::field("/password", rule),
            AuthError::Busy { retry_after } | AuthError::Throttled { retry_after } => {
                AppError::TooManyRequests { detail: e.to_string(), retry_after }
            }
            AuthError::Db(db) => db.into(),
            AuthError::Internal(cause) => AppError::Internal(cause),
        }
    }
}

impl From<wharf_db::registry::RegistryWriteError> for AppError {
    fn from(e: wharf_db::registry::RegistryWriteError) -> Self {
        use wharf_db::registry::RegistryWriteError as E;
        match e {
            E::Db(db) => db.into(),
            other @ (E::MissingReference(_) | E::TagImmutable { .. } | E::BlobReferenced(_) | E::Frozen { .. }) => {
                AppError::Conflict(other.to_string())
            }
        }
    }
}
