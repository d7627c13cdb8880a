//! Response helpers of the registry: its headers and bodiless responses. Errors
//! become responses in `error.rs` only.

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The header every `/v2/` response carries.
pub(crate) const API_VERSION: (HeaderName, HeaderValue) =
    (HeaderName::from_static("docker-distribution-api-version"), HeaderValue::from_static("registry/2.0"));

/// A header value from text that came from our own settings; falls back to an
/// empty value rather than panicking on a control character.
pub(crate) fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A response without a body (or a HEAD response), with headers.
pub(crate) fn empty(status: axum::http::StatusCode, headers: Vec<(HeaderName, String)>) -> Response {
    let mut response = status.into_response();
    let h = response.headers_mut();
    for (name, value) in headers {
        h.insert(name, header_value(&value));
    }
    response
}

/// `Docker-Content-Digest`.
pub(crate) const CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
/// `Docker-Upload-UUID`.
pub(crate) const UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
/// `OCI-Subject`.
pub(crate) const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
/// `OCI-Filters-Applied`.
pub(crate) const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");
