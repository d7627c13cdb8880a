//! Request extractors whose failures are problem+json.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use wharf_auth::Principal;

use crate::{ApiError, ApiState};

/// The authenticated caller; requests without valid credentials get a 401.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let header = match parts.headers.get(header::AUTHORIZATION) {
            Some(v) => {
                Some(v.to_str().map_err(|_| ApiError::Unauthenticated("malformed Authorization header".into()))?)
            }
            None => None,
        };
        let client = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        match state.auth.authenticate_header(header, client).await? {
            Some(p) => Ok(Caller(p)),
            None => Err(ApiError::Unauthenticated(
                "this endpoint needs credentials: HTTP Basic (user name and password or API token) or Bearer API token"
                    .into(),
            )),
        }
    }
}

/// The caller where credentials are optional: `None` without an `Authorization`
/// header; credentials that are given must be valid (else a 401).
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<wharf_app::Actor>);

impl FromRequestParts<ApiState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(MaybeCaller(None));
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(MaybeCaller(Some(caller.actor())))
    }
}

impl Caller {
    /// The caller as the application layer's actor.
    pub fn actor(&self) -> wharf_app::Actor {
        wharf_app::Actor::User(self.0.clone())
    }
}

/// A JSON body, with malformed, oversized or mistyped bodies answered as problems.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let text = r.body_text();
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(
            "the request body is larger than the configured limit (api.max_body_bytes)".into(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::UnsupportedMediaType("send the body as JSON with Content-Type: application/json".into())
        }
        _ => ApiError::BadRequest(text),
    }
}

/// Query parameters, with unknown or malformed ones answered as problems.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(r @ QueryRejection::FailedToDeserializeQueryString(_)) => Err(ApiError::BadRequest(r.body_text())),
            Err(r) => Err(ApiError::BadRequest(r.body_text())),
        }
    }
}

/// `?limit=&cursor=` checked against the configured page sizes, with the cursor decoded.
#[derive(Debug)]
pub struct Paging(pub wharf_app::Paging);

impl FromRequestParts<ApiState> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let ApiQuery(query) = ApiQuery::<wharf_api_types::PageQuery>::from_request_parts(parts, state).await?;
        let limits = &state.limits;
        crate::pagination::resolve(&query, limits.default_page_size, limits.max_page_size).map(Paging)
    }
}
