//! The registry's error type, turned into OCI error responses in one place.
//!
//! Handlers return `Result<Response, RegistryError>`. Client mistakes carry the spec's
//! code and a detail for the client; storage failures are logged here, once, and
//! answered with 503 (unavailable) or 500 without internal detail.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_blob::BlobError;
use wharf_db::DbError;
use wharf_db::registry::RegistryWriteError;
use wharf_oci::ErrorCode;

use crate::response::{API_VERSION, oci_error};

/// A refused or failed registry request.
#[derive(Debug)]
pub(crate) struct RegistryError {
    pub(crate) code: ErrorCode,
    pub(crate) status: Option<StatusCode>,
    pub(crate) detail: String,
    /// A message in place of the specification's one for the code.
    pub(crate) message: Option<String>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

impl RegistryError {
    pub(crate) fn new(code: ErrorCode, detail: impl Into<String>) -> RegistryError {
        RegistryError { code, status: None, detail: detail.into(), message: None, headers: Vec::new() }
    }

    /// With a message of its own instead of the code's.
    pub(crate) fn message(mut self, message: impl Into<String>) -> RegistryError {
        self.message = Some(message.into());
        self
    }

    pub(crate) fn status(mut self, status: StatusCode) -> RegistryError {
        self.status = Some(status);
        self
    }

    pub(crate) fn header(mut self, name: HeaderName, value: &str) -> RegistryError {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// The backend failed: 503 when it may come back, 500 otherwise.
    pub(crate) fn internal(cause: impl std::fmt::Display, unavailable: bool) -> RegistryError {
        tracing::error!(error = %cause, "registry request failed");
        // distribution's codes for these statuses: the code matches the status.
        if unavailable {
            RegistryError::new(ErrorCode::Unavailable, "storage is unavailable; try again later")
                .header(header::RETRY_AFTER, "5")
        } else {
            RegistryError::new(ErrorCode::Unknown, "internal error").header(header::RETRY_AFTER, "5")
        }
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let mut headers = self.headers;
        headers.push(API_VERSION);
        match &self.message {
            Some(m) => crate::response::oci_error_with(self.code, m, self.status, &self.detail, headers),
            None => oci_error(self.code, self.status, &self.detail, headers),
        }
    }
}

impl RegistryError {
    /// The answer to a failed authentication that is not the caller's credentials'
    /// fault: busy or throttled (429 with `Retry-After`), or the backend (500/503).
    pub(crate) fn from_auth(e: &wharf_auth::AuthError) -> Option<RegistryError> {
        if let Some(wait) = e.retry_after() {
            return Some(
                RegistryError::new(ErrorCode::TooManyRequests, e.to_string())
                    .header(header::RETRY_AFTER, &wait.as_secs().max(1).to_string()),
            );
        }
        matches!(e, wharf_auth::AuthError::Db(_) | wharf_auth::AuthError::Internal(_))
            .then(|| RegistryError::internal(e, e.is_unavailable()))
    }
}

impl From<DbError> for RegistryError {
    fn from(e: DbError) -> Self {
        let unavailable = matches!(e, DbError::Unavailable(_) | DbError::Connect { .. } | DbError::Contended(_));
        RegistryError::internal(e, unavailable)
    }
}

impl From<BlobError> for RegistryError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::NotFound(d) => {
                RegistryError::new(ErrorCode::BlobUnknown, format!("blob {d} is not in this repository"))
            }
            BlobError::DigestMismatch { expected, actual } => RegistryError::new(
                ErrorCode::DigestInvalid,
                format!("the uploaded content has digest {actual}, not {expected}"),
            ),
            BlobError::RangeNotSatisfiable { size, .. } => RegistryError::new(
                ErrorCode::RangeInvalid,
                format!("the requested range is outside the blob of {size} bytes"),
            )
            .header(header::CONTENT_RANGE, &format!("bytes */{size}")),
            other => {
                let unavailable = other.is_unavailable();
                RegistryError::internal(other, unavailable)
            }
        }
    }
}

impl From<RegistryWriteError> for RegistryError {
    fn from(e: RegistryWriteError) -> Self {
        match e {
            RegistryWriteError::MissingReference(d) => RegistryError::new(
                ErrorCode::ManifestBlobUnknown,
                format!("the manifest references {d}, which is not in this repository: push it first"),
            ),
            RegistryWriteError::TagImmutable { tag, current } => RegistryError::new(
                ErrorCode::Denied,
                format!("tag {tag:?} is immutable in this repository and already points to {current}"),
            )
            .status(StatusCode::CONFLICT),
            RegistryWriteError::BlobReferenced(d) => RegistryError::new(
                ErrorCode::Denied,
                format!("blob {d} is still referenced by a manifest in this repository; delete the manifest first"),
            )
            .status(StatusCode::METHOD_NOT_ALLOWED),
            RegistryWriteError::Db(db) => db.into(),
        }
    }
}
