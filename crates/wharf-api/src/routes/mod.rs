//! Handlers, one module per resource; the tree mirrors the URL tree.

pub(crate) mod advisories;
pub(crate) mod catalog;
pub(crate) mod offers;
pub(crate) mod orgs;
pub(crate) mod subscriptions;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod webhooks;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::{ApiError, ApiState};

/// Runs a state-changing request once per `Idempotency-Key` (when the request has
/// one): a retry with the same key and `fingerprint` (method, path and body) gets the
/// first answer again and changes nothing; the same key with another request is
/// refused (422). Without a key the request simply runs.
pub(crate) async fn idempotent<T: serde::Serialize>(
    state: &ApiState,
    actor: &wharf_app::Actor,
    headers: &HeaderMap,
    fingerprint: &str,
    status: StatusCode,
    run: impl Future<Output = Result<T, wharf_app::AppError>>,
) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(v.to_str().map_err(|_| ApiError::BadRequest("Idempotency-Key must be visible ASCII".into()))?),
        None => None,
    };
    if let Some(key) = key
        && let Some(replay) = state.app.recall(actor, key, fingerprint).await?
    {
        return Ok(replayed(replay));
    }
    let view = run.await?;
    let answer = wharf_app::idempotency::Replay {
        status: status.as_u16(),
        body: serde_json::to_string(&view).map_err(|e| ApiError::Internal(e.to_string()))?,
    };
    let answer = match key {
        Some(key) => state.app.remember(actor, key, fingerprint, answer).await?,
        None => answer,
    };
    Ok(replayed(answer))
}

/// An answer kept for an idempotent request, as a JSON response.
fn replayed(answer: wharf_app::idempotency::Replay) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, "application/json")], answer.body).into_response()
}
