//! The REST API's error type, mapped to problem+json in one place.
//!
//! Handlers return `Result<_, ApiError>`. Variants that describe the caller's mistake
//! carry a message for them; internal failures are logged here, once, with their
//! cause, and reach the client as a generic 500 (or 503 when a dependency is down).
//! Something the caller may not see is reported as not found, never as forbidden.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_auth::AuthError;

use wharf_api_types::{FieldError, Problem};

/// Every way a REST API request can fail.
#[derive(Debug)]
pub enum ApiError {
    /// No or invalid credentials (401).
    Unauthenticated(String),
    /// Authenticated, but not allowed (403).
    Forbidden(String),
    /// Absent, or not visible to the caller (404).
    NotFound(String),
    /// Clashes with stored state (409).
    Conflict(String),
    /// A quota of the organization's access plans is used up (403, `quota-exceeded`).
    QuotaExceeded(String),
    /// Fields break rules (422); every invalid field is listed.
    Validation(Vec<FieldError>),
    /// `If-Match` names another version of the resource (412).
    PreconditionFailed(String),
    /// The request must carry `If-Match` (428).
    PreconditionRequired(String),
    /// Malformed request (400).
    BadRequest(String),
    /// Body over the configured limit (413).
    PayloadTooLarge(String),
    /// Body of the wrong media type (415).
    UnsupportedMediaType(String),
    /// Method not allowed on the resource (405).
    MethodNotAllowed,
    /// Too many requests of this kind now: retry after the given time (429).
    TooManyRequests {
        /// Why.
        detail: String,
        /// When to retry.
        retry_after: std::time::Duration,
    },
    /// A dependency is down (503).
    Unavailable(String),
    /// A bug or an unexpected failure (500).
    Internal(String),
}

impl ApiError {
    /// A single-field validation error.
    pub fn field(pointer: &str, detail: impl std::fmt::Display) -> ApiError {
        ApiError::Validation(vec![FieldError::new(pointer, detail)])
    }

    fn problem(self) -> Problem {
        match self {
            ApiError::Unauthenticated(d) => {
                Problem::new(StatusCode::UNAUTHORIZED.as_u16(), "unauthenticated", "Authentication required", d)
            }
            ApiError::Forbidden(d) => Problem::new(StatusCode::FORBIDDEN.as_u16(), "forbidden", "Not allowed", d),
            ApiError::NotFound(d) => Problem::new(StatusCode::NOT_FOUND.as_u16(), "not-found", "Not found", d),
            ApiError::Conflict(d) => Problem::new(StatusCode::CONFLICT.as_u16(), "conflict", "Conflict", d),
            ApiError::QuotaExceeded(d) => {
                Problem::new(StatusCode::FORBIDDEN.as_u16(), "quota-exceeded", "Quota exceeded", d)
            }
            ApiError::Validation(errors) => {
                let detail = match errors.len() {
                    1 => format!("{}: {}", errors[0].pointer, errors[0].detail),
                    n => format!("{n} fields are invalid"),
                };
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
                    "validation-failed",
                    "Invalid request",
                    detail,
                );
                p.errors = errors;
                p
            }
            ApiError::PreconditionFailed(d) => {
                Problem::new(StatusCode::PRECONDITION_FAILED.as_u16(), "precondition-failed", "Changed meanwhile", d)
            }
            ApiError::PreconditionRequired(d) => Problem::new(
                StatusCode::PRECONDITION_REQUIRED.as_u16(),
                "precondition-required",
                "If-Match required",
                d,
            ),
            ApiError::BadRequest(d) => {
                Problem::new(StatusCode::BAD_REQUEST.as_u16(), "bad-request", "Malformed request", d)
            }
            ApiError::PayloadTooLarge(d) => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE.as_u16(), "payload-too-large", "Request body too large", d)
            }
            ApiError::UnsupportedMediaType(d) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE.as_u16(),
                "unsupported-media-type",
                "Unsupported media type",
                d,
            ),
            ApiError::MethodNotAllowed => Problem::new(
                StatusCode::METHOD_NOT_ALLOWED.as_u16(),
                "method-not-allowed",
                "Method not allowed",
                "this resource does not support the request method",
            ),
            ApiError::TooManyRequests { detail, .. } => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS.as_u16(), "too-many-requests", "Too many requests", detail)
            }
            ApiError::Unavailable(cause) => {
                tracing::error!(error = %cause, "request failed: a dependency is unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE.as_u16(),
                    "unavailable",
                    "Service unavailable",
                    "a storage service Wharf depends on is unavailable; try again later",
                )
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "request failed: internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR.as_u16(),
                    "internal",
                    "Internal error",
                    "an internal error occurred",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthenticated = matches!(self, ApiError::Unauthenticated(_));
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after, .. } => Some(retry_after.as_secs().max(1)),
            ApiError::Unavailable(_) => Some(5),
            _ => None,
        };
        let mut response = crate::problem::respond(&self.problem());
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if unauthenticated {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"wharf\", charset=\"UTF-8\""));
        }
        response
    }
}

impl From<wharf_app::AppError> for ApiError {
    fn from(e: wharf_app::AppError) -> Self {
        use wharf_app::AppError as A;
        match e {
            A::Unauthenticated(d) => ApiError::Unauthenticated(d),
            A::Forbidden(d) => ApiError::Forbidden(d),
            A::NotFound(d) => ApiError::NotFound(d),
            A::Conflict(d) => ApiError::Conflict(d),
            A::QuotaExceeded(d) => ApiError::QuotaExceeded(d),
            A::Invalid(errors) => ApiError::Validation(errors),
            A::PreconditionFailed(d) => ApiError::PreconditionFailed(d),
            A::PreconditionRequired(d) => ApiError::PreconditionRequired(d),
            A::BadRequest(d) => ApiError::BadRequest(d),
            A::TooManyRequests { detail, retry_after } => ApiError::TooManyRequests { detail, retry_after },
            A::Unavailable(d) => ApiError::Unavailable(d),
            A::Internal(d) => ApiError::Internal(d),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        wharf_app::AppError::from(e).into()
    }
}
