//! `GET /token` and the JWK set.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use wharf_auth::registry::RegistryScope;
use wharf_oci::ErrorCode;

use crate::RegistryState;
use crate::error::RegistryError;

/// Issues a registry token for the requested scopes.
///
/// Query: `service` (required; must be ours), `scope` (repeatable, and each may hold
/// several space-separated scopes), `account` (ignored: the credentials decide).
pub(crate) async fn issue(
    State(state): State<RegistryState>,
    RawQuery(query): RawQuery,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    let mut service = None;
    let mut scopes = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "service" => service = Some(value.into_owned()),
            "scope" => {
                for s in value.split(' ').filter(|s| !s.is_empty()) {
                    match s.parse::<RegistryScope>() {
                        Ok(scope) => scopes.push(scope),
                        Err(e) => return bad_request(e.to_string()),
                    }
                }
            }
            _ => {}
        }
    }
    let Some(service) = service else {
        return bad_request("the service parameter is required".into());
    };
    if service != state.auth.settings().service {
        let detail =
            format!("unknown service {service:?}; this token service serves {:?}", state.auth.settings().service);
        return bad_request(detail);
    }
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let client = client.map(|Extension(ConnectInfo(a))| a.ip());
    let principal = match state.auth.authenticate_header(authorization, client).await {
        Ok(p) => p,
        Err(e) => return RegistryError::token_refused(&e).into_response(),
    };
    match state.auth.issue_registry_token(principal.as_ref(), &service, &scopes).await {
        Ok(issued) => {
            tracing::debug!(
                user.name = principal.as_ref().map_or("", |p| p.user_name.as_str()),
                requested = scopes.len(),
                granted = ?issued.access,
                "issued registry token"
            );
            let mut response = Json(&issued).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => RegistryError::token_refused(&e).into_response(),
    }
}

/// A malformed token request (400, `UNSUPPORTED`, as Distribution answers).
fn bad_request(detail: String) -> Response {
    RegistryError::new(ErrorCode::Unsupported, detail).status(StatusCode::BAD_REQUEST).into_response()
}

/// The public keys of the token service, as a JWK set.
pub(crate) async fn jwks(State(state): State<RegistryState>) -> Response {
    let mut response = Json(state.auth.keys().jwks()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}
