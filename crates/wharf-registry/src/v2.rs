//! `GET /v2/`: the API version check and the start of every client's token flow.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_oci::ErrorCode;

use crate::RegistryState;
use crate::error::RegistryError;
use crate::response::{API_VERSION, header_value};

/// 200 with a valid registry token; otherwise 401 with the Bearer challenge.
pub(crate) async fn base(State(state): State<RegistryState>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    // With open namespaces, anonymous clients are welcome here; closed repositories
    // still challenge on their own endpoints.
    if bearer.is_none() && !state.settings.open_namespaces.is_empty() {
        return (StatusCode::OK, [API_VERSION, (header::CONTENT_TYPE, header_value("application/json"))], "{}")
            .into_response();
    }
    let Some(token) = bearer else {
        let challenge = state.auth.challenge(None, None);
        return RegistryError::new(
            ErrorCode::Unauthorized,
            "authentication required: get a token from the realm in WWW-Authenticate",
        )
        .header(header::WWW_AUTHENTICATE, &challenge)
        .into_response();
    };
    match state.auth.verify_registry_token(token.trim()) {
        Ok(_) => (StatusCode::OK, [API_VERSION, (header::CONTENT_TYPE, header_value("application/json"))], "{}")
            .into_response(),
        Err(e) => {
            let challenge = state.auth.challenge(None, Some("invalid_token"));
            RegistryError::new(ErrorCode::Unauthorized, e.to_string())
                .header(header::WWW_AUTHENTICATE, &challenge)
                .into_response()
        }
    }
}
