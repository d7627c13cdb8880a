//! `/api/v1/orgs/{org}/webhooks`: an organization's webhooks (its admins) and their
//! delivery log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_api_types::{CreateWebhookRequest, CreatedWebhookView, DeliveryView, Problem, WebhookView};

use crate::extract::{ApiJson, Caller};
use crate::{ApiError, ApiState};

/// A webhook id in the path: not found when it cannot be one.
fn webhook_id(org: &str, id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound(format!("organization {org} has no webhook {id:?}")))
}

/// Subscribes a URL to event types. The URL is checked now (an address that is not
/// public is refused unless the operator allows it) and again at every delivery. The
/// signing secret is in this response only.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/webhooks", tag = "webhooks", params(("org" = String, Path)),
    request_body = CreateWebhookRequest,
    responses((status = 201, body = CreatedWebhookView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<CreateWebhookRequest>,
) -> Result<Response, ApiError> {
    let created = state.app.create_webhook(&caller.actor(), &org, body).await?;
    let location = format!("/api/v1/orgs/{org}/webhooks/{}", created.webhook.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(created)).into_response())
}

/// The organization's webhooks.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/webhooks", tag = "webhooks", params(("org" = String, Path)),
    responses((status = 200, body = Vec<WebhookView>)))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    Ok(Json(state.app.webhooks(&caller.actor(), &org).await?))
}

/// Deletes a webhook; messages not delivered yet go with it.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/webhooks/{id}", tag = "webhooks",
    params(("org" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = webhook_id(&org, &id)?;
    state.app.delete_webhook(&caller.actor(), &org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log: the webhook's newest messages (up to 100), each with its state
/// and every attempt (when, the status answered, why it failed).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/webhooks/{id}/deliveries", tag = "webhooks",
    params(("org" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn deliveries(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let id = webhook_id(&org, &id)?;
    Ok(Json(state.app.webhook_deliveries(&caller.actor(), &org, id).await?))
}

/// The publisher's leads, newest first (up to 200): one per subscription to its
/// offers and per cancellation, and a test lead per version gone live; each with the
/// offer, plan, action and customer organization (contact details only where the
/// customer agreed to share them), its delivery state and every attempt to the
/// offer's lead destination.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/leads", tag = "webhooks", params(("org" = String, Path)),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn leads(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    Ok(Json(state.app.leads(&caller.actor(), &org).await?))
}
