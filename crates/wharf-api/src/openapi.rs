//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{advisories, catalog, offers, orgs, subscriptions as subs, tokens, users, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wharf REST API",
        description = "Users, organizations, memberships, API tokens and offers of a Wharf marketplace. \
            Errors are RFC 9457 problem documents (application/problem+json).",
        license(name = "Apache-2.0")
    ),
    paths(
        users::me, users::list, users::create, users::get, users::update,
        tokens::list, tokens::create, tokens::revoke,
        orgs::list, orgs::create, orgs::get, orgs::update, orgs::delete,
        orgs::members, orgs::set_member, orgs::remove_member, orgs::approve, orgs::revoke_approval,
        offers::schema, offers::categories, offers::list, offers::create, offers::get, offers::get_draft,
        offers::put_draft, offers::submit, offers::cancel, offers::stop_sell, offers::resume,
        offers::stop_sell_plan, offers::resume_plan, offers::versions, offers::version, offers::steps, offers::report, offers::images, offers::events, offers::health, offers::sboms, offers::sbom, offers::go_live, offers::signing_key,
        offers::compare,
        offers::history, offers::upload_media, offers::get_media,
        advisories::import, advisories::list,
        catalog::search, catalog::show, catalog::sbom, catalog::media,
        webhooks::create, webhooks::list, webhooks::delete, webhooks::deliveries, webhooks::leads,
        subs::list_access_offers, subs::create_access_offer, subs::get_access_offer, subs::put_access_offer,
        subs::delete_access_offer, subs::list_access, subs::subscribe_access, subs::cancel_access, subs::usage,
        subs::list, subs::subscribe, subs::get, subs::cancel, subs::pull_secrets, subs::create_pull_secret,
        subs::revoke_pull_secret, subs::deploy, subs::deployments, subs::delete_deployment,
        subs::usage_key, subs::subscription_usage, subs::offer_usage, subs::entitlement, subs::report_usage,
    ),
    components(schemas(wharf_api_types::Problem, wharf_api_types::FieldError)),
    modifiers(&Security),
    security(("basic" = []), ("bearer" = [])),
    tags(
        (name = "users", description = "Accounts"),
        (name = "tokens", description = "The caller's API tokens"),
        (name = "organizations", description = "Publishers, customer tenants, operators, and their members"),
        (name = "offers", description = "Offers as code: drafts, versions, lifecycle, history, listing media"),
        (name = "catalog", description = "What customers browse: search with facets, listings with their security view"),
        (name = "advisories", description = "The server's vulnerability advisory store (operators)"),
        (name = "access", description = "Access offers (operators' offers of catalog items, with plans and quotas), customers' access subscriptions and usage"),
        (name = "subscriptions", description = "Customer organizations' subscriptions to plans (entitlements) and their pull secrets"),
        (name = "metering", description = "Usage keys, the entitlement check and metered usage of paid plans"),
        (name = "webhooks", description = "Organizations' webhooks (Standard Webhooks), their delivery log, and publishers' leads"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("User name with a password or an API token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (wharf_pat_…)"))
                    .build(),
            ),
        );
    }
}

/// The document as JSON text (built once).
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")))
}

pub(crate) async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}
