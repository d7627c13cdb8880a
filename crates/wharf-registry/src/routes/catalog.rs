//! `GET /v2/_catalog?n=&last=`: repository names, for callers granted
//! `registry:catalog:*` (operators).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{next_link, page_size};
use crate::RegistryState;
use crate::access::{Caller, unauthorized};
use crate::error::RegistryError;
use crate::response::{API_VERSION, header_value};
use crate::service::repos;

pub(crate) async fn list(
    State(state): State<RegistryState>,
    RawQuery(query): RawQuery,
    client: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    let client = client.map(|axum::Extension(axum::extract::ConnectInfo(a))| a.ip());
    let mut response =
        catalog(&state, query.unwrap_or_default(), &headers, client).await.unwrap_or_else(IntoResponse::into_response);
    response.headers_mut().insert(API_VERSION.0, API_VERSION.1);
    response
}

async fn catalog(
    state: &RegistryState,
    query: String,
    headers: &HeaderMap,
    client: Option<std::net::IpAddr>,
) -> Result<Response, RegistryError> {
    let caller = Caller::from_headers(state, headers, client).await?;
    if !caller.grants(state, "registry", "catalog", "*").await? {
        let error = if caller.subject().is_empty() { None } else { Some("insufficient_scope") };
        return Err(unauthorized(
            state,
            Some("registry:catalog:*"),
            error,
            "listing the catalog needs an operator role",
        ));
    }
    let param =
        |key: &str| url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned());
    let n = page_size(param("n"), state.settings.max_page)?;
    let last = param("last");
    let mut names = repos::names(state, n, last.as_deref()).await?;
    let more = names.len() > n as usize;
    names.truncate(n as usize);
    let mut response = (StatusCode::OK, Json(serde_json::json!({"repositories": names}))).into_response();
    if more && let Some(last) = names.last() {
        response.headers_mut().insert(header::LINK, header_value(&next_link("/v2/_catalog", n, last)));
    }
    Ok(response)
}
