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

use crate::response::API_VERSION;

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
    /// The OCI error body (`{"errors": [{code, message, detail}]}`) with the code's
    /// conventional status (or the one set), its headers and the API version.
    fn into_response(self) -> Response {
        let status =
            self.status.unwrap_or_else(|| StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::BAD_REQUEST));
        let message = self.message.as_deref().unwrap_or(self.code.message());
        let mut response = (status, self.code.body_with(message, Some(&self.detail))).into_response();
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in self.headers {
            h.insert(name, value);
        }
        h.insert(API_VERSION.0, API_VERSION.1);
        response
    }
}

impl RegistryError {
    /// The token service's answer to a failed authentication: 401 with a Basic
    /// challenge for bad credentials, 400 for a malformed header, else as
    /// [`from_auth`](RegistryError::from_auth).
    pub(crate) fn token_refused(e: &wharf_auth::AuthError) -> RegistryError {
        use wharf_auth::AuthError as A;
        match e {
            A::InvalidCredentials | A::TokenExpired | A::TokenRevoked | A::AccountDisabled => {
                RegistryError::new(ErrorCode::Unauthorized, e.to_string())
                    .header(header::WWW_AUTHENTICATE, "Basic realm=\"wharf\", charset=\"UTF-8\"")
            }
            A::MalformedHeader(_) | A::WeakPassword(_) => {
                RegistryError::new(ErrorCode::Unsupported, e.to_string()).status(StatusCode::BAD_REQUEST)
            }
            A::Busy { .. } | A::Throttled { .. } | A::Db(_) | A::Internal(_) => {
                RegistryError::from_auth(e).unwrap_or_else(|| RegistryError::internal(e, e.is_unavailable()))
            }
        }
    }

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
            e @ RegistryWriteError::Frozen { .. } => {
                RegistryError::new(ErrorCode::Denied, e.to_string()).status(StatusCode::CONFLICT)
            }
            RegistryWriteError::Db(db) => db.into(),
        }
    }
}
