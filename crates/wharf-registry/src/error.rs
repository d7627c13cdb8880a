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
        let (status, detail) = if unavailable {
            (StatusCode::SERVICE_UNAVAILABLE, "storage is unavailable; try again later")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        };
        // `UNSUPPORTED` is the closest spec code; the status tells clients to retry.
        RegistryError::new(ErrorCode::Unsupported, detail).status(status).header(header::RETRY_AFTER, "5")
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
