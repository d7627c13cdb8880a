//! `/api/v1/access-offers` (operators define them; customers read those offered to
//! them) and a customer organization's `/access`, `/subscriptions`, pull secrets and
//! `/usage`.
//!
//! Visibility rule: a private access offer, a plan private to others, or another
//! organization's subscription does not exist for the caller (404, never 403).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_api_types::{
    AccessOfferSpec, AccessOfferView, AccessSubscribeRequest, AccessSubscriptionView, CreatePullSecretRequest,
    CreatedPullSecretView, DeployRequest, DeploymentSummaryView, DeploymentView, EntitlementView, MonthUsageView,
    Problem, PullSecretView, SubscribeRequest, SubscriptionView, UsageKeyView, UsageRecordView, UsageReport, UsageView,
};

use crate::extract::{ApiJson, Caller};
use crate::{ApiError, ApiState};

/// An id in the path: not found when it cannot be one.
fn id(what: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(format!("no {what} {raw:?}")))
}

/// Access offers: every one for operators (with their subscribers); public ones and
/// those private to one of the caller's organizations for others.
#[utoipa::path(get, path = "/api/v1/access-offers", tag = "access",
    responses((status = 200, body = Vec<AccessOfferView>)))]
pub(crate) async fn list_access_offers(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<AccessOfferView>>, ApiError> {
    Ok(Json(state.app.access_offers(&caller.actor()).await?))
}

/// Creates an access offer (operators with the `admin` scope). Every invalid field
/// is reported at once.
#[utoipa::path(post, path = "/api/v1/access-offers", tag = "access", request_body = AccessOfferSpec,
    responses((status = 201, body = AccessOfferView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create_access_offer(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<AccessOfferSpec>,
) -> Result<Response, ApiError> {
    let view = state.app.put_access_offer(&caller.actor(), body, None).await?;
    let location = format!("/api/v1/access-offers/{}", view.spec.name);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(view)).into_response())
}

/// One access offer.
#[utoipa::path(get, path = "/api/v1/access-offers/{name}", tag = "access", params(("name" = String, Path)),
    responses((status = 200, body = AccessOfferView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get_access_offer(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<AccessOfferView>, ApiError> {
    Ok(Json(state.app.access_offer(&caller.actor(), &name).await?))
}

/// Replaces an access offer's definition (operators); a plan organizations
/// subscribe to cannot be removed (409).
#[utoipa::path(put, path = "/api/v1/access-offers/{name}", tag = "access", params(("name" = String, Path)),
    request_body = AccessOfferSpec,
    responses((status = 200, body = AccessOfferView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn put_access_offer(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<AccessOfferSpec>,
) -> Result<Json<AccessOfferView>, ApiError> {
    Ok(Json(state.app.put_access_offer(&caller.actor(), body, Some(&name)).await?))
}

/// Deletes an access offer nobody ever subscribed to (operators).
#[utoipa::path(delete, path = "/api/v1/access-offers/{name}", tag = "access", params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn delete_access_offer(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_access_offer(&caller.actor(), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's access subscriptions, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/access", tag = "access", params(("org" = String, Path)),
    responses((status = 200, body = Vec<AccessSubscriptionView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list_access(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<Vec<AccessSubscriptionView>>, ApiError> {
    Ok(Json(state.app.access_subscriptions(&caller.actor(), &org).await?))
}

/// Subscribes a customer organization to an access plan (its admins); an add-on
/// plan needs an active base plan of the same access offer (409).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/access", tag = "access", params(("org" = String, Path)),
    request_body = AccessSubscribeRequest,
    responses((status = 201, body = AccessSubscriptionView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn subscribe_access(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<AccessSubscribeRequest>,
) -> Result<Response, ApiError> {
    let view = state.app.subscribe_access(&caller.actor(), &org, body).await?;
    let location = format!("/api/v1/orgs/{org}/access/{}", view.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(view)).into_response())
}

/// Cancels an access subscription (admins): refused while item subscriptions go
/// through it or add-ons stand on it (409).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/access/{id}", tag = "access",
    params(("org" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn cancel_access(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = id("access subscription", &raw)?;
    state.app.cancel_access_subscription(&caller.actor(), &org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's use of its access offers' quotas (its members; operators).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/usage", tag = "access", params(("org" = String, Path)),
    responses((status = 200, body = UsageView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn usage(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<UsageView>, ApiError> {
    Ok(Json(state.app.usage(&caller.actor(), &org).await?))
}

/// The organization's subscriptions to catalog items, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/subscriptions", tag = "subscriptions", params(("org" = String, Path)),
    responses((status = 200, body = Vec<SubscriptionView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<Vec<SubscriptionView>>, ApiError> {
    Ok(Json(state.app.subscriptions(&caller.actor(), &org).await?))
}

/// Subscribes the organization to a plan of a catalog item, accepting its terms
/// (its admins). Needs an access plan that opens the item and room in its quota
/// (403 `quota-exceeded` names the quota and its limit). With an `Idempotency-Key`,
/// a retry gets the first answer and creates nothing.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/subscriptions", tag = "subscriptions",
    params(("org" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: 1-255 visible ASCII characters")),
    request_body = SubscribeRequest,
    responses((status = 201, body = SubscriptionView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn subscribe(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SubscribeRequest>,
) -> Result<Response, ApiError> {
    let actor = caller.actor();
    let fingerprint = format!("POST /orgs/{org}/subscriptions {}", serde_json::json!(body));
    super::idempotent(&state, &actor, &headers, &fingerprint, StatusCode::CREATED, async {
        state.app.subscribe(&actor, &org, body.clone()).await
    })
    .await
}

/// One subscription.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/subscriptions/{id}", tag = "subscriptions",
    params(("org" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw)): Path<(String, String)>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let id = id("subscription", &raw)?;
    Ok(Json(state.app.subscription(&caller.actor(), &org, id).await?))
}

/// Cancels a subscription (admins): registry tokens are refused from now on, and
/// those already issued expire within five minutes.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/subscriptions/{id}/cancel", tag = "subscriptions",
    params(("org" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn cancel(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw)): Path<(String, String)>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let id = id("subscription", &raw)?;
    Ok(Json(state.app.cancel_subscription(&caller.actor(), &org, id).await?))
}

/// A subscription's pull secrets (without their secrets).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/subscriptions/{id}/pull-secrets", tag = "subscriptions",
    params(("org" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Vec<PullSecretView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn pull_secrets(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw)): Path<(String, String)>,
) -> Result<Json<Vec<PullSecretView>>, ApiError> {
    let id = id("subscription", &raw)?;
    Ok(Json(state.app.pull_secrets(&caller.actor(), &org, id).await?))
}

/// Issues a pull secret for a cluster (admins): it pulls what the subscription
/// entitles and nothing else. The password and a Kubernetes Secret holding it are
/// in this response only.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/subscriptions/{id}/pull-secrets", tag = "subscriptions",
    params(("org" = String, Path), ("id" = i64, Path)), request_body = CreatePullSecretRequest,
    responses((status = 201, body = CreatedPullSecretView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create_pull_secret(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw)): Path<(String, String)>,
    ApiJson(body): ApiJson<CreatePullSecretRequest>,
) -> Result<Response, ApiError> {
    let id = id("subscription", &raw)?;
    let view = state.app.create_pull_secret(&caller.actor(), &org, id, body).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Revokes a pull secret (admins).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/subscriptions/{id}/pull-secrets/{secret}", tag = "subscriptions",
    params(("org" = String, Path), ("id" = i64, Path), ("secret" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn revoke_pull_secret(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw, secret)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = id("subscription", &raw)?;
    let secret = self::id("pull secret", &secret)?;
    state.app.revoke_pull_secret(&caller.actor(), &org, id, secret).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Renders a deployment of the subscription's plan with the given values: a
/// `podman run`/`docker run` command, a Compose file, Kubernetes manifests with an
/// image pull secret, or a Helm values file and `helm install oci://…` command;
/// images pinned by digest. Every invalid value is reported at once (422, each at
/// `/values/<name>`). Recorded (admins; counted by the `deployments` quota) with a
/// pull secret issued for it, unless `dry_run`.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/subscriptions/{id}/deployments", tag = "subscriptions",
    params(("org" = String, Path), ("id" = i64, Path)), request_body = DeployRequest,
    responses((status = 201, body = DeploymentView), (status = 200, body = DeploymentView, description = "a dry run"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn deploy(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw)): Path<(String, String)>,
    ApiJson(body): ApiJson<DeployRequest>,
) -> Result<Response, ApiError> {
    let id = id("subscription", &raw)?;
    let dry_run = body.dry_run;
    let view = state.app.deploy(&caller.actor(), &org, id, body).await?;
    let status = if dry_run { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(view)).into_response())
}

/// The subscription's recorded deployments (without secrets).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/subscriptions/{id}/deployments", tag = "subscriptions",
    params(("org" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Vec<DeploymentSummaryView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn deployments(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw)): Path<(String, String)>,
) -> Result<Json<Vec<DeploymentSummaryView>>, ApiError> {
    let id = id("subscription", &raw)?;
    Ok(Json(state.app.deployments(&caller.actor(), &org, id).await?))
}

/// Deletes a recorded deployment (admins): its pull secret is revoked and its place
/// in the `deployments` quota freed.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/subscriptions/{id}/deployments/{deployment}", tag = "subscriptions",
    params(("org" = String, Path), ("id" = i64, Path), ("deployment" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn delete_deployment(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw, deployment)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = id("subscription", &raw)?;
    let deployment = self::id("deployment", &deployment)?;
    state.app.delete_deployment(&caller.actor(), &org, id, deployment).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?month=YYYY-MM` (default: this month, UTC).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct MonthQuery {
    /// The month, `YYYY-MM`.
    month: Option<String>,
}

impl MonthQuery {
    fn month(self) -> String {
        self.month.unwrap_or_else(|| wharf_core::Timestamp::now().to_string().chars().take(7).collect())
    }
}

/// Issues (or rotates) the subscription's usage key for the deployed software
/// (admins): it checks the entitlement and reports metered usage. Shown once.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/subscriptions/{id}/usage-key", tag = "metering",
    params(("org" = String, Path), ("id" = i64, Path)),
    responses((status = 201, body = UsageKeyView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn usage_key(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = id("subscription", &raw)?;
    Ok((StatusCode::CREATED, Json(state.app.issue_usage_key(&caller.actor(), &org, id).await?)).into_response())
}

/// The subscription's metered usage in a month, per dimension.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/subscriptions/{id}/usage", tag = "metering",
    params(("org" = String, Path), ("id" = i64, Path), MonthQuery),
    responses((status = 200, body = MonthUsageView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn subscription_usage(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, raw)): Path<(String, String)>,
    Query(q): Query<MonthQuery>,
) -> Result<Json<MonthUsageView>, ApiError> {
    let id = id("subscription", &raw)?;
    Ok(Json(state.app.subscription_usage(&caller.actor(), &org, id, &q.month()).await?))
}

/// Metered usage of every subscription to a publisher's offer in a month.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/usage", tag = "metering",
    params(("org" = String, Path), ("offer" = String, Path), MonthQuery),
    responses((status = 200, body = MonthUsageView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn offer_usage(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
    Query(q): Query<MonthQuery>,
) -> Result<Json<MonthUsageView>, ApiError> {
    Ok(Json(state.app.offer_usage(&caller.actor(), &org, &offer, &q.month()).await?))
}

/// The entitlement check, for the deployed software: whether its subscription is
/// active and on which plan. Authenticated by the subscription's usage key
/// (`Authorization: Bearer wharf_usage_…`).
#[utoipa::path(get, path = "/api/v1/entitlement", tag = "metering", security(("bearer" = [])),
    responses((status = 200, body = EntitlementView), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn entitlement(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<EntitlementView>, ApiError> {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    Ok(Json(state.app.entitlement(auth).await?))
}

/// Reports one hour of metered usage with the subscription's usage key: counted once
/// per subscription, dimension and hour (a repeat answers `duplicate` with the first
/// report's quantity); another subscription's key is refused (403).
#[utoipa::path(post, path = "/api/v1/usage", tag = "metering", security(("bearer" = [])), request_body = UsageReport,
    responses((status = 200, body = UsageRecordView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn report_usage(
    State(state): State<ApiState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<UsageReport>,
) -> Result<Json<UsageRecordView>, ApiError> {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    Ok(Json(state.app.report_usage(auth, body).await?))
}
