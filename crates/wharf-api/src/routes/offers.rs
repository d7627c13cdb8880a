//! `/api/v1/orgs/{org}/offers/…` and `/api/v1/orgs/{org}/media`: offers as code.
//!
//! The draft is one document (`wharf_offer::OfferSpec`), read and replaced whole:
//! `GET …/draft` gives it with an `ETag`, `PUT …/draft` replaces it only with a
//! matching `If-Match` (412 otherwise, 428 without). Submit freezes it as a version
//! with every tag resolved to a digest. An offer of an organization the caller may
//! not read does not exist for them (404).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_api_types::{
    CompareQuery, Comparison, EventView, FieldError, MediaView, OfferView, Problem, SaveResult, SubmitResult,
    VersionSummary, VersionView,
};
use wharf_core::{OfferEvent, OrgAction, TokenScope, VersionStatus};
use wharf_db::offers::{MediaRow, OfferRow, OfferWriteError, VersionRow};
use wharf_db::orgs::Org;
use wharf_oci::Digest;
use wharf_offer::parse::{Format, parse};
use wharf_offer::rules::Stage;
use wharf_offer::{OfferSpec, Problems};

use super::orgs::org_for;
use crate::extract::{ApiQuery, Caller, Paging};
use crate::offers as logic;
use crate::pagination::{PageQuery, page};
use crate::views;
use crate::{ApiError, ApiState};

// ---- helpers ----

fn etag(revision: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"r{revision}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// The revision an `If-Match` header names: `None` without the header or with `*`.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = v.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    let tag = text.trim_start_matches("W/").trim_matches('"');
    tag.strip_prefix('r').and_then(|n| n.parse::<i64>().ok()).map(Some).ok_or_else(|| {
        ApiError::PreconditionFailed(format!("If-Match {text} is not an ETag of this draft (they look like \"r12\")"))
    })
}

fn write_error(e: OfferWriteError) -> ApiError {
    match e {
        OfferWriteError::RevisionMismatch { expected, current } => ApiError::PreconditionFailed(format!(
            "the draft changed since revision {expected} (it is at revision {current}): get it again, reapply your change and send it with If-Match: \"r{current}\""
        )),
        OfferWriteError::NotFound => ApiError::NotFound("the offer no longer exists".into()),
        OfferWriteError::WrongState(m) => ApiError::Conflict(m),
        OfferWriteError::Db(db) => db.into(),
    }
}

/// Reads a JSON (or, with `Content-Type: application/yaml`, YAML) offer document;
/// unknown fields are reported together with the other problems.
fn read_document(headers: &HeaderMap, body: &[u8]) -> Result<(OfferSpec, Problems), ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let format = if ct.starts_with("application/json") {
        Format::Json
    } else if ct.starts_with("application/yaml") || ct.starts_with("application/x-yaml") || ct.starts_with("text/yaml")
    {
        Format::Yaml
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "send the offer document as application/json or application/yaml".into(),
        ));
    };
    parse::<OfferSpec>(body, format).map_err(|p| {
        ApiError::Validation(p.all().iter().map(|x| FieldError::new(&x.path.pointer(), &x.message)).collect())
    })
}

fn stored(text: &str, what: &str) -> Result<OfferSpec, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::Internal(format!("stored {what} does not parse: {e}")))
}

fn to_json(spec: &OfferSpec) -> Result<String, ApiError> {
    serde_json::to_string(spec).map_err(|e| ApiError::Internal(e.to_string()))
}

async fn offer_for(
    state: &ApiState,
    caller: &Caller,
    org: &str,
    offer: &str,
    action: OrgAction,
) -> Result<(Org, OfferRow), ApiError> {
    let (org, _) = org_for(state, caller, org, action).await?;
    let row = state
        .db
        .offer(org.id, offer)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("organization {} has no offer {offer:?}", org.name)))?;
    Ok((org, row))
}

/// The documents of the versions that count as earlier for the rules between
/// versions: every submitted one but the cancelled, oldest first.
async fn earlier_versions(state: &ApiState, pk: i64) -> Result<Vec<(i64, OfferSpec)>, ApiError> {
    let mut out = Vec::new();
    for v in state.db.offer_versions(pk).await?.iter().rev() {
        if v.status != VersionStatus::Cancelled {
            out.push((v.version, stored(&v.document, "version")?));
        }
    }
    Ok(out)
}

async fn offer_view(state: &ApiState, org: &Org, row: &OfferRow) -> Result<OfferView, ApiError> {
    Ok(view_of(org, row, &state.db.offer_versions(row.pk).await?))
}

fn view_of(org: &Org, row: &OfferRow, versions: &[VersionRow]) -> OfferView {
    OfferView {
        id: row.offer_id.clone(),
        publisher: org.name.to_string(),
        state: row.state,
        state_label: row.state.label().to_owned(),
        revision: row.revision,
        stopped_plans: row.stopped_plans.clone(),
        live_version: versions.iter().find(|v| v.status == VersionStatus::Live).map(|v| v.version),
        versions: versions.iter().map(views::version).collect(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn actor(caller: &Caller) -> String {
    caller.0.user_name.to_string()
}

// ---- handlers ----

/// The JSON Schema (2020-12) of offer documents.
#[utoipa::path(get, path = "/api/v1/schemas/offer.json", tag = "offers", security(()),
    responses((status = 200, description = "JSON Schema", content_type = "application/schema+json")))]
pub(crate) async fn schema() -> Response {
    let body = serde_json::to_vec_pretty(&wharf_offer::schema::offer_schema()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/schema+json")], body).into_response()
}

/// The marketplace's categories (the operator's taxonomy).
#[utoipa::path(get, path = "/api/v1/categories", tag = "offers", responses((status = 200, body = Vec<String>)))]
pub(crate) async fn categories(State(state): State<ApiState>, caller: Caller) -> Result<Json<Vec<String>>, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    Ok(Json(state.categories.as_ref().clone()))
}

/// An organization's offers.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers", tag = "offers",
    params(("org" = String, Path, description = "publisher organization"), PageQuery),
    responses((status = 200, body = inline(wharf_api_types::Page<OfferView>)), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
    Paging(req): Paging,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let (org, _) = org_for(&state, &caller, &org, OrgAction::ReadOffers).await?;
    let rows = state.db.list_offers(org.id, req.after.as_deref(), req.limit + 1).await?;
    let pks: Vec<i64> = rows.iter().map(|r| r.pk).collect();
    let versions = state.db.versions_of_offers(&pks).await?;
    let views: Vec<OfferView> = rows
        .iter()
        .map(|r| {
            let mine: Vec<VersionRow> = versions.iter().filter(|(pk, _)| *pk == r.pk).map(|(_, v)| v.clone()).collect();
            view_of(&org, r, &mine)
        })
        .collect();
    Ok(page(views, &req, &format!("/api/v1/orgs/{}/offers", org.name), |o| o.id.clone()).into_response())
}

/// Creates an offer from a document (its draft). Every problem is reported at once;
/// missing fields are fine until Submit.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/offers", tag = "offers", request_body = OfferSpec,
    params(("org" = String, Path, description = "publisher organization")),
    responses((status = 201, body = SaveResult, headers(("ETag" = String), ("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiWrite)?;
    let (org, _) = org_for(&state, &caller, &org, OrgAction::EditOffers).await?;
    let (mut spec, problems) = read_document(&headers, &body)?;
    let Some(offer_id) = spec.id.clone() else {
        return Err(ApiError::field("/id", "is required to create an offer"));
    };
    if let Err(e) = offer_id.parse::<wharf_offer::OfferId>() {
        return Err(ApiError::field("/id", e));
    }
    let warnings =
        logic::check(&state, &org, &offer_id, &mut spec, Stage::Draft, &[], problems).await?.into_result()?;
    let plans = logic::plan_ids(&spec);
    let plan_refs: Vec<&str> = plans.iter().map(String::as_str).collect();
    let row = state.db.create_offer(org.id, &offer_id, &to_json(&spec)?, &plan_refs, &actor(&caller)).await?;
    tracing::info!(org.name = %org.name, offer.id = %offer_id, by = %caller.0.user_name, "offer created");
    let mut response =
        (StatusCode::CREATED, Json(SaveResult { revision: row.revision, changed: true, warnings })).into_response();
    let h = response.headers_mut();
    h.insert(header::ETAG, etag(row.revision));
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/orgs/{}/offers/{offer_id}", org.name)) {
        h.insert(header::LOCATION, loc);
    }
    Ok(response)
}

/// One offer: state, revision and versions.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path)),
    responses((status = 200, body = OfferView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let (org, row) = offer_for(&state, &caller, &org, &offer, OrgAction::ReadOffers).await?;
    let mut response = Json(offer_view(&state, &org, &row).await?).into_response();
    response.headers_mut().insert(header::ETAG, etag(row.revision));
    Ok(response)
}

/// The draft document, with its `ETag`. The lead secret shows as its SHA-256.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/draft", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path)),
    responses((status = 200, body = OfferSpec, headers(("ETag" = String))), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get_draft(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let (_, row) = offer_for(&state, &caller, &org, &offer, OrgAction::ReadOffers).await?;
    let spec = stored(&row.draft, "draft")?.redacted();
    let mut response = Json(spec).into_response();
    response.headers_mut().insert(header::ETAG, etag(row.revision));
    Ok(response)
}

/// Replaces the draft. Needs `If-Match` with the draft's ETag (428 without, 412
/// when the draft changed meanwhile); every problem is reported at once and nothing
/// is stored unless there is none. The same document again changes nothing.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/offers/{offer}/draft", tag = "offers", request_body = OfferSpec,
    params(("org" = String, Path), ("offer" = String, Path), ("If-Match" = String, Header, description = "the draft's ETag")),
    responses((status = 200, body = SaveResult, headers(("ETag" = String))),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn put_draft(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiWrite)?;
    let (org, row) = offer_for(&state, &caller, &org, &offer, OrgAction::EditOffers).await?;
    let Some(expected) = if_match(&headers)? else {
        return Err(ApiError::PreconditionRequired(format!(
            "send If-Match with the draft's ETag (it is \"r{}\"; GET the draft to see it) so that concurrent edits are not lost",
            row.revision
        )));
    };
    if expected != row.revision {
        return Err(write_error(OfferWriteError::RevisionMismatch { expected, current: row.revision }));
    }
    let (mut spec, problems) = read_document(&headers, &body)?;
    let current = stored(&row.draft, "draft")?;
    logic::keep_secret(&mut spec, &current);
    let earlier = earlier_versions(&state, row.pk).await?;
    let warnings =
        logic::check(&state, &org, &row.offer_id, &mut spec, Stage::Draft, &earlier, problems).await?.into_result()?;
    if spec == current {
        let mut response = Json(SaveResult { revision: row.revision, changed: false, warnings }).into_response();
        response.headers_mut().insert(header::ETAG, etag(row.revision));
        return Ok(response);
    }
    let (before, after) = (logic::plan_ids(&current), logic::plan_ids(&spec));
    let mut events: Vec<(OfferEvent, Option<String>)> = Vec::new();
    events.extend(after.iter().filter(|p| !before.contains(p)).map(|p| (OfferEvent::PlanCreated, Some(p.clone()))));
    events.extend(before.iter().filter(|p| !after.contains(p)).map(|p| (OfferEvent::PlanDeleted, Some(p.clone()))));
    let saved = state
        .db
        .update_draft(row.pk, expected, &to_json(&spec)?, &events, &actor(&caller))
        .await
        .map_err(write_error)?;
    tracing::info!(org.name = %org.name, offer.id = %row.offer_id, revision = saved.revision, by = %caller.0.user_name, "offer draft saved");
    let mut response = Json(SaveResult { revision: saved.revision, changed: true, warnings }).into_response();
    response.headers_mut().insert(header::ETAG, etag(saved.revision));
    Ok(response)
}

/// Submits the draft: validates every prerequisite (required fields in every
/// locale, media, images resolvable, tag rules, unique plan ids, audiences), then
/// freezes it as a new version with each tag resolved to its digest. `If-Match`
/// is optional; when given, the draft must still be at that revision.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/offers/{offer}/submit", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path)),
    responses((status = 201, body = SubmitResult), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn submit(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiWrite)?;
    let started = std::time::Instant::now();
    let (org, row) = offer_for(&state, &caller, &org, &offer, OrgAction::PublishOffers).await?;
    let expected = if_match(&headers)?;
    if let Some(e) = expected
        && e != row.revision
    {
        return Err(write_error(OfferWriteError::RevisionMismatch { expected: e, current: row.revision }));
    }
    let mut spec = stored(&row.draft, "draft")?;
    let earlier = earlier_versions(&state, row.pk).await?;
    let warnings = logic::check(&state, &org, &row.offer_id, &mut spec, Stage::Submit, &earlier, Problems::new())
        .await?
        .into_result()?;
    let (offer_row, version) = state
        .db
        .submit_version(row.pk, Some(expected.unwrap_or(row.revision)), &to_json(&spec)?, &actor(&caller))
        .await
        .map_err(write_error)?;
    let validated_in_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(org.name = %org.name, offer.id = %row.offer_id, version = version.version, validated_in_ms, by = %caller.0.user_name, "offer submitted");
    let body = SubmitResult { version: views::version(&version), state: offer_row.state, warnings, validated_in_ms };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!(
        "/api/v1/orgs/{}/offers/{}/versions/{}",
        org.name, row.offer_id, version.version
    )) {
        response.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(response)
}

async fn lifecycle(
    state: ApiState,
    caller: Caller,
    org: String,
    offer: String,
    change: impl AsyncFnOnce(&ApiState, &OfferRow, String) -> Result<OfferRow, OfferWriteError>,
) -> Result<Json<OfferView>, ApiError> {
    caller.require(TokenScope::ApiWrite)?;
    let (org, row) = offer_for(&state, &caller, &org, &offer, OrgAction::PublishOffers).await?;
    let changed = change(&state, &row, actor(&caller)).await.map_err(write_error)?;
    tracing::info!(org.name = %org.name, offer.id = %row.offer_id, state = %changed.state, by = %caller.0.user_name, "offer lifecycle changed");
    Ok(Json(offer_view(&state, &org, &changed).await?))
}

/// Cancels the version being published, before the publisher's sign-off.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/offers/{offer}/cancel", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path)),
    responses((status = 200, body = OfferView), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn cancel(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
) -> Result<Json<OfferView>, ApiError> {
    lifecycle(state, caller, org, offer, async |s, row, who| s.db.cancel_submission(row.pk, &who).await.map(|(r, _)| r))
        .await
}

/// Stop-sells a live offer: hidden from new customers, existing subscriptions keep working.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/offers/{offer}/stop-sell", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path)),
    responses((status = 200, body = OfferView), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn stop_sell(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
) -> Result<Json<OfferView>, ApiError> {
    lifecycle(state, caller, org, offer, async |s, row, who| s.db.set_offer_selling(row.pk, true, &who).await).await
}

/// Sells a stop-sold offer again.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/offers/{offer}/resume", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path)),
    responses((status = 200, body = OfferView), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn resume(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
) -> Result<Json<OfferView>, ApiError> {
    lifecycle(state, caller, org, offer, async |s, row, who| s.db.set_offer_selling(row.pk, false, &who).await).await
}

async fn live_plans(state: &ApiState, row: &OfferRow) -> Result<Vec<String>, OfferWriteError> {
    for v in state.db.offer_versions(row.pk).await? {
        if v.status == VersionStatus::Live {
            let spec: OfferSpec = serde_json::from_str(&v.document)
                .map_err(|e| OfferWriteError::Db(wharf_db::DbError::Corrupt(e.to_string())))?;
            return Ok(logic::plan_ids(&spec));
        }
    }
    Ok(Vec::new())
}

/// Stop-sells one plan of the live version, while the offer keeps another plan selling.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/offers/{offer}/plans/{plan}/stop-sell", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), ("plan" = String, Path)),
    responses((status = 200, body = OfferView), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn stop_sell_plan(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer, plan)): Path<(String, String, String)>,
) -> Result<Json<OfferView>, ApiError> {
    plan_selling(state, caller, org, offer, plan, true).await
}

/// Sells a stop-sold plan again.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/offers/{offer}/plans/{plan}/resume", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), ("plan" = String, Path)),
    responses((status = 200, body = OfferView), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn resume_plan(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer, plan)): Path<(String, String, String)>,
) -> Result<Json<OfferView>, ApiError> {
    plan_selling(state, caller, org, offer, plan, false).await
}

async fn plan_selling(
    state: ApiState,
    caller: Caller,
    org: String,
    offer: String,
    plan: String,
    stop: bool,
) -> Result<Json<OfferView>, ApiError> {
    lifecycle(state, caller, org, offer, async |s, row, who| {
        let plans = live_plans(s, row).await?;
        s.db.set_plan_selling(row.pk, &plan, &plans, stop, &who).await
    })
    .await
}

/// Every version, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/versions", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path)),
    responses((status = 200, body = Vec<VersionSummary>)))]
pub(crate) async fn versions(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
) -> Result<Json<Vec<VersionSummary>>, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let (_, row) = offer_for(&state, &caller, &org, &offer, OrgAction::ReadOffers).await?;
    Ok(Json(state.db.offer_versions(row.pk).await?.iter().map(views::version).collect()))
}

/// One version with its frozen document.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/versions/{version}", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = VersionView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn version(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer, version)): Path<(String, String, String)>,
) -> Result<Json<VersionView>, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let (_, row) = offer_for(&state, &caller, &org, &offer, OrgAction::ReadOffers).await?;
    let missing = || ApiError::NotFound(format!("offer {offer:?} has no version {version:?}"));
    let n: i64 = version.parse().map_err(|_| missing())?;
    let v = state.db.offer_version(row.pk, n).await?.ok_or_else(missing)?;
    Ok(Json(VersionView { summary: views::version(&v), document: stored(&v.document, "version")?.redacted() }))
}

/// The draft against the live version (default), the version in preview, or any
/// version: every added, removed and changed field.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/compare", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), CompareQuery),
    responses((status = 200, body = Comparison), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn compare(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> Result<Json<Comparison>, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let (_, row) = offer_for(&state, &caller, &org, &offer, OrgAction::ReadOffers).await?;
    let with = q.with.unwrap_or_else(|| "live".to_owned());
    let versions = state.db.offer_versions(row.pk).await?;
    let base = match with.as_str() {
        "live" => versions.iter().find(|v| v.status == VersionStatus::Live),
        "preview" => versions.iter().find(|v| v.status == VersionStatus::Preview),
        n => match n.parse::<i64>() {
            Ok(n) => Some(
                versions
                    .iter()
                    .find(|v| v.version == n)
                    .ok_or_else(|| ApiError::NotFound(format!("offer {offer:?} has no version {n}")))?,
            ),
            Err(_) => {
                return Err(ApiError::BadRequest(format!(
                    "with must be live, preview or a version number (got {with:?})"
                )));
            }
        },
    };
    let plain = |mut s: OfferSpec| {
        for plan in &mut s.plans {
            for image in &mut plan.images {
                image.digests.clear();
            }
        }
        serde_json::to_value(s.redacted()).unwrap_or_default()
    };
    let draft = plain(stored(&row.draft, "draft")?);
    let base_doc = match base {
        Some(v) => plain(stored(&v.document, "version")?),
        None => serde_json::json!({}),
    };
    Ok(Json(Comparison {
        base: with,
        base_version: base.map(|v| v.version),
        changes: wharf_offer::diff::diff(&base_doc, &draft),
    }))
}

/// The offer's history: who did what and when, oldest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/history", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), PageQuery),
    responses((status = 200, body = inline(wharf_api_types::Page<EventView>))))]
pub(crate) async fn history(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
    Paging(req): Paging,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let (org, row) = offer_for(&state, &caller, &org, &offer, OrgAction::ReadOffers).await?;
    let after = match &req.after {
        None => 0,
        Some(a) => a.parse().map_err(|_| ApiError::BadRequest("invalid cursor".into()))?,
    };
    let events = state.db.offer_events(row.pk, after, req.limit + 1).await?;
    let views: Vec<EventView> = events
        .into_iter()
        .map(|e| EventView {
            id: e.id,
            kind: e.kind,
            label: e.kind.label().to_owned(),
            detail: e.detail,
            actor: e.actor,
            at: e.at,
        })
        .collect();
    let path = format!("/api/v1/orgs/{}/offers/{}/history", org.name, row.offer_id);
    Ok(page(views, &req, &path, |e| e.id.to_string()).into_response())
}

/// Uploads a listing image (PNG or JPEG, at most 4 MiB), checked from its bytes.
/// Use its digest in an offer document.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/media", tag = "offers",
    params(("org" = String, Path)), request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 201, body = MediaView), (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn upload_media(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiWrite)?;
    let (org, _) = org_for(&state, &caller, &org, OrgAction::EditOffers).await?;
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "an image may have at most {} bytes",
                wharf_offer::media::MAX_IMAGE_BYTES
            ))
        } else {
            ApiError::BadRequest(r.body_text())
        }
    })?;
    let info = wharf_offer::media::inspect(&body).map_err(|e| ApiError::field("", format!("the upload {e}")))?;
    if info.width > 4096 || info.height > 4096 {
        return Err(ApiError::field(
            "",
            format!("the upload is {}×{} pixels; listing images are at most 1280×720", info.width, info.height),
        ));
    }
    let size = body.len() as u64;
    let stored = state.blobs.put_bytes(body, None).await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let media = MediaRow {
        digest: stored.digest.clone(),
        media_type: info.format.media_type().to_owned(),
        width: info.width,
        height: info.height,
        size,
    };
    state.db.put_media(org.id, &media).await?;
    tracing::info!(org.name = %org.name, media.digest = %media.digest, by = %caller.0.user_name, "listing image uploaded");
    let view = MediaView {
        digest: media.digest.to_string(),
        media_type: media.media_type,
        width: media.width,
        height: media.height,
        size,
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// An uploaded listing image.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/media/{digest}", tag = "offers",
    params(("org" = String, Path), ("digest" = String, Path)),
    responses((status = 200, description = "the image", content_type = "image/png"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get_media(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, digest)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let (org, _) = org_for(&state, &caller, &org, OrgAction::ReadOffers).await?;
    let missing = || ApiError::NotFound(format!("organization {} has no image {digest}", org.name));
    let d: Digest = digest.parse().map_err(|_| missing())?;
    let m = state.db.media(org.id, &d).await?.ok_or_else(missing)?;
    let read = state.blobs.get(&d, None).await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let bytes = read.bytes().await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, m.media_type)], bytes).into_response())
}
