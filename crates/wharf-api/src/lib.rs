//! The REST API under `/api/v1/`.
//!
//! Conventions (see `docs/api.md`):
//! - JSON in and out; errors are RFC 9457 problem documents
//!   (`application/problem+json`) naming every invalid field at once;
//! - authentication by HTTP Basic (user name with a password or an API token) or a
//!   Bearer API token; what a token may do is its scopes ∩ its owner's roles;
//! - collections page with `?limit=&cursor=` and a `Link: <…>; rel="next"` header;
//! - request bodies are limited (`api.max_body_bytes`);
//! - the OpenAPI 3.1 document, generated from this code, is at `/api/v1/openapi.json`.
//!
//! Handlers are thin: parse the request into typed input, call the application layer
//! (`wharf-app`), render the answer.

mod config;
mod error;
mod extract;
mod openapi;
mod pagination;
mod problem;
mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use wharf_auth::Authenticator;

pub use config::ApiConfig;
pub use error::ApiError;
pub use openapi::openapi_json;
pub use wharf_api_types::{FieldError, PROBLEM_JSON, Problem};

/// What the handlers need.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The use cases.
    pub app: wharf_app::App,
    /// Credentials of each request.
    pub auth: Authenticator,
    /// Limits.
    pub limits: ApiConfig,
}

/// The `/api/v1` routes.
pub fn router(state: ApiState) -> Router {
    use routes::{advisories, catalog, offers, orgs, subscriptions as subs, tokens, users, webhooks};
    let limit = state.limits.max_body();
    let advisories_limit = usize::try_from(state.limits.max_advisories_bytes).unwrap_or(usize::MAX);
    let api = Router::new()
        .route("/openapi.json", get(openapi::serve))
        .route("/user", get(users::me))
        .route("/user/tokens", get(tokens::list).post(tokens::create))
        .route("/user/tokens/{id}", delete(tokens::revoke))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{name}", get(users::get).patch(users::update))
        .route("/orgs", get(orgs::list).post(orgs::create))
        .route("/orgs/{org}", get(orgs::get).patch(orgs::update).delete(orgs::delete))
        .route("/orgs/{org}/approval", axum::routing::put(orgs::approve).delete(orgs::revoke_approval))
        .route("/orgs/{org}/members", get(orgs::members))
        .route("/orgs/{org}/members/{user}", axum::routing::put(orgs::set_member).delete(orgs::remove_member))
        .route("/orgs/{org}/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/orgs/{org}/webhooks/{id}", delete(webhooks::delete))
        .route("/orgs/{org}/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/orgs/{org}/leads", get(webhooks::leads))
        .route(
            "/advisories",
            get(advisories::list).post(advisories::import).layer(DefaultBodyLimit::max(advisories_limit)),
        )
        .route("/access-offers", get(subs::list_access_offers).post(subs::create_access_offer))
        .route(
            "/access-offers/{name}",
            get(subs::get_access_offer).put(subs::put_access_offer).delete(subs::delete_access_offer),
        )
        .route("/orgs/{org}/access", get(subs::list_access).post(subs::subscribe_access))
        .route("/orgs/{org}/access/{id}", delete(subs::cancel_access))
        .route("/orgs/{org}/usage", get(subs::usage))
        .route("/orgs/{org}/subscriptions", get(subs::list).post(subs::subscribe))
        .route("/orgs/{org}/subscriptions/{id}", get(subs::get))
        .route("/orgs/{org}/subscriptions/{id}/cancel", post(subs::cancel))
        .route("/orgs/{org}/subscriptions/{id}/pull-secrets", get(subs::pull_secrets).post(subs::create_pull_secret))
        .route("/orgs/{org}/subscriptions/{id}/pull-secrets/{secret}", delete(subs::revoke_pull_secret))
        .route("/orgs/{org}/subscriptions/{id}/deployments", get(subs::deployments).post(subs::deploy))
        .route("/orgs/{org}/subscriptions/{id}/deployments/{deployment}", delete(subs::delete_deployment))
        .route("/orgs/{org}/subscriptions/{id}/usage-key", post(subs::usage_key))
        .route("/orgs/{org}/subscriptions/{id}/usage", get(subs::subscription_usage))
        .route("/orgs/{org}/offers/{offer}/usage", get(subs::offer_usage))
        .route("/entitlement", get(subs::entitlement))
        .route("/usage", post(subs::report_usage))
        .route("/catalog", get(catalog::search))
        .route("/catalog/{publisher}/{offer}", get(catalog::show))
        .route("/catalog/{publisher}/{offer}/sboms/{digest}", get(catalog::sbom))
        .route("/catalog/{publisher}/{offer}/media/{digest}", get(catalog::media))
        .route("/schemas/offer.json", get(offers::schema))
        .route("/categories", get(offers::categories))
        .route("/orgs/{org}/offers", get(offers::list).post(offers::create))
        .route("/orgs/{org}/offers/{offer}", get(offers::get))
        .route("/orgs/{org}/offers/{offer}/draft", get(offers::get_draft).put(offers::put_draft))
        .route("/orgs/{org}/offers/{offer}/submit", post(offers::submit))
        .route("/orgs/{org}/offers/{offer}/cancel", post(offers::cancel))
        .route("/orgs/{org}/offers/{offer}/stop-sell", post(offers::stop_sell))
        .route("/orgs/{org}/offers/{offer}/resume", post(offers::resume))
        .route("/orgs/{org}/offers/{offer}/plans/{plan}/stop-sell", post(offers::stop_sell_plan))
        .route("/orgs/{org}/offers/{offer}/plans/{plan}/resume", post(offers::resume_plan))
        .route("/orgs/{org}/offers/{offer}/versions", get(offers::versions))
        .route("/orgs/{org}/offers/{offer}/versions/{version}", get(offers::version))
        .route("/orgs/{org}/offers/{offer}/versions/{version}/steps", get(offers::steps))
        .route("/orgs/{org}/offers/{offer}/versions/{version}/report", get(offers::report))
        .route("/orgs/{org}/offers/{offer}/versions/{version}/images", get(offers::images))
        .route("/orgs/{org}/offers/{offer}/versions/{version}/events", get(offers::events))
        .route("/orgs/{org}/offers/{offer}/versions/{version}/health", get(offers::health))
        .route("/orgs/{org}/offers/{offer}/versions/{version}/sboms", get(offers::sboms))
        .route("/orgs/{org}/offers/{offer}/versions/{version}/sboms/{digest}", get(offers::sbom))
        .route("/orgs/{org}/offers/{offer}/go-live", post(offers::go_live))
        .route("/marketplace/signing-key", get(offers::signing_key))
        .route("/orgs/{org}/offers/{offer}/compare", get(offers::compare))
        .route("/orgs/{org}/offers/{offer}/history", get(offers::history))
        .route(
            "/orgs/{org}/media",
            post(offers::upload_media).layer(DefaultBodyLimit::max(wharf_offer::media::MAX_IMAGE_BYTES)),
        )
        .route("/orgs/{org}/media/{digest}", get(offers::get_media))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state);
    Router::new().nest("/api/v1", api)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such API endpoint; the OpenAPI document at /api/v1/openapi.json lists them".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
