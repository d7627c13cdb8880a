//! `GET /token` and the JWK set.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use wharf_auth::AuthError;
use wharf_auth::registry::RegistryScope;
use wharf_oci::ErrorCode;

use crate::RegistryState;
use crate::response::{header_value, oci_error};

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
                        Err(e) => {
                            return oci_error(
                                ErrorCode::Unsupported,
                                Some(StatusCode::BAD_REQUEST),
                                &e.to_string(),
                                vec![],
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let Some(service) = service else {
        return oci_error(
            ErrorCode::Unsupported,
            Some(StatusCode::BAD_REQUEST),
            "the service parameter is required",
            vec![],
        );
    };
    if service != state.auth.settings().service {
        let detail =
            format!("unknown service {service:?}; this token service serves {:?}", state.auth.settings().service);
        return oci_error(ErrorCode::Unsupported, Some(StatusCode::BAD_REQUEST), &detail, vec![]);
    }
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let client = client.map(|Extension(ConnectInfo(a))| a.ip());
    let principal = match state.auth.authenticate_header(authorization, client).await {
        Ok(p) => p,
        Err(e) => return auth_failure(e),
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
        Err(e) => auth_failure(e),
    }
}

fn auth_failure(e: AuthError) -> Response {
    match e {
        AuthError::InvalidCredentials
        | AuthError::TokenExpired
        | AuthError::TokenRevoked
        | AuthError::AccountDisabled => oci_error(
            ErrorCode::Unauthorized,
            None,
            &e.to_string(),
            vec![(header::WWW_AUTHENTICATE, header_value("Basic realm=\"wharf\", charset=\"UTF-8\""))],
        ),
        AuthError::MalformedHeader(_) | AuthError::WeakPassword(_) => {
            oci_error(ErrorCode::Unsupported, Some(StatusCode::BAD_REQUEST), &e.to_string(), vec![])
        }
        // Busy and throttled (429), backend failures (500/503): as on every registry route.
        AuthError::Busy { .. } | AuthError::Throttled { .. } | AuthError::Db(_) | AuthError::Internal(_) => {
            crate::error::RegistryError::from_auth(&e)
                .unwrap_or_else(|| crate::error::RegistryError::internal(&e, e.is_unavailable()))
                .into_response()
        }
    }
}

/// The public keys of the token service, as a JWK set.
pub(crate) async fn jwks(State(state): State<RegistryState>) -> Response {
    let mut response = Json(state.auth.keys().jwks()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}
