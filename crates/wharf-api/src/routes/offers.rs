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
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use wharf_api_types::{
    CompareQuery, Comparison, EventView, GoLiveRequest, HealthView, MediaView, OfferView, Problem, ProgressEvent,
    PromotedImageView, SaveResult, SbomView, StepView, SubmitResult, VersionSummary, VersionView,
};
use wharf_app::{CompareWith, Document, OfferChange};
use wharf_core::PlanId;
use wharf_offer::OfferSpec;
use wharf_offer::parse::Format;

use crate::extract::{ApiQuery, Caller, Paging};
use crate::pagination::{PageQuery, page};
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

/// The offer document of a request: JSON, or YAML with `Content-Type: application/yaml`.
fn document<'a>(headers: &HeaderMap, body: &'a [u8]) -> Result<Document<'a>, ApiError> {
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
    Ok(Document { bytes: body, format })
}

/// A plan named in the path: not found when the name cannot be a plan id.
fn plan_id(offer: &str, plan: &str) -> Result<PlanId, ApiError> {
    plan.parse().map_err(|_| ApiError::NotFound(format!("offer {offer:?} has no plan {plan:?}")))
}

fn with_etag(mut response: Response, revision: i64) -> Response {
    response.headers_mut().insert(header::ETAG, etag(revision));
    response
}

fn with_location(mut response: Response, location: String) -> Response {
    if let Ok(loc) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, loc);
    }
    response
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
    Ok(Json(state.app.categories(&caller.actor())?))
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
    let listed = state.app.list_offers(&caller.actor(), &org, &req).await?;
    Ok(page(listed, &req, &format!("/api/v1/orgs/{org}/offers")).into_response())
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
    let document = document(&headers, &body)?;
    let saved = state.app.create_offer(&caller.actor(), &org, document).await?;
    let response = with_etag((StatusCode::CREATED, Json(&saved.result)).into_response(), saved.result.revision);
    Ok(with_location(response, format!("/api/v1/orgs/{}/offers/{}", saved.publisher, saved.offer)))
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
    let view = state.app.offer(&caller.actor(), &org, &offer).await?;
    let revision = view.revision;
    Ok(with_etag(Json(view).into_response(), revision))
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
    let (spec, revision) = state.app.draft(&caller.actor(), &org, &offer).await?;
    Ok(with_etag(Json(spec).into_response(), revision))
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
    let expected = if_match(&headers)?;
    let document = document(&headers, &body)?;
    let saved = state.app.put_draft(&caller.actor(), &org, &offer, expected, document).await?;
    let revision = saved.revision;
    Ok(with_etag(Json(saved).into_response(), revision))
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
    let expected = if_match(&headers)?;
    let result = state.app.submit(&caller.actor(), &org, &offer, expected).await?;
    let location = format!("/api/v1/orgs/{org}/offers/{offer}/versions/{}", result.version.version);
    Ok(with_location((StatusCode::CREATED, Json(result)).into_response(), location))
}

async fn change(
    state: ApiState,
    caller: Caller,
    org: String,
    offer: String,
    change: OfferChange,
) -> Result<Json<OfferView>, ApiError> {
    Ok(Json(state.app.change_offer(&caller.actor(), &org, &offer, change).await?))
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
    change(state, caller, org, offer, OfferChange::Cancel).await
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
    change(state, caller, org, offer, OfferChange::StopSell).await
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
    change(state, caller, org, offer, OfferChange::Resume).await
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
    let plan = plan_id(&offer, &plan)?;
    change(state, caller, org, offer, OfferChange::StopSellPlan(plan)).await
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
    let plan = plan_id(&offer, &plan)?;
    change(state, caller, org, offer, OfferChange::ResumePlan(plan)).await
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
    Ok(Json(state.app.versions(&caller.actor(), &org, &offer).await?))
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
    let n = version_number(&offer, &version)?;
    Ok(Json(state.app.version(&caller.actor(), &org, &offer, n).await?))
}

/// A version number in the path: not found when it cannot be one.
fn version_number(offer: &str, version: &str) -> Result<i64, ApiError> {
    version.parse().map_err(|_| ApiError::NotFound(format!("offer {offer:?} has no version {version:?}")))
}

/// The publishing pipeline's steps of a version: each run's start, end, outcome,
/// progress, and for a running step the time left as this server estimates it.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/versions/{version}/steps", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = Vec<StepView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn steps(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer, version)): Path<(String, String, String)>,
) -> Result<Json<Vec<StepView>>, ApiError> {
    let n = version_number(&offer, &version)?;
    Ok(Json(state.app.version_steps(&caller.actor(), &org, &offer, n).await?))
}

/// How often the event stream looks for changes.
const PROGRESS_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// The version's progress through the pipeline as a server-sent event stream: an
/// event `progress` (a `ProgressEvent`) now and at every change (a step starting,
/// advancing or ending, the status moving), until the version settles (Preview before
/// go-live, Live, Attention needed, cancelled); the last event has `settled: true`
/// and the stream ends.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/versions/{version}/events", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), ("version" = i64, Path)),
    responses((status = 200, description = "`text/event-stream` of `progress` events (ProgressEvent)", content_type = "text/event-stream"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn events(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer, version)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let n = version_number(&offer, &version)?;
    let actor = caller.actor();
    // Errors before the stream starts are problems like any other.
    let first = state.app.version_progress(&actor, &org, &offer, n).await?;
    struct Watch {
        app: wharf_app::App,
        actor: wharf_app::Actor,
        org: String,
        offer: String,
        next: Option<ProgressEvent>,
        last: Option<ProgressEvent>,
        done: bool,
    }
    let watch = Watch { app: state.app.clone(), actor, org, offer, next: Some(first), last: None, done: false };
    let stream = futures::stream::unfold(watch, move |mut w| async move {
        loop {
            if w.done {
                return None;
            }
            if let Some(p) = w.next.take()
                && w.last.as_ref() != Some(&p)
            {
                w.done = p.settled;
                let event = Event::default().event("progress").json_data(&p).unwrap_or_default();
                w.last = Some(p);
                return Some((Ok::<_, std::convert::Infallible>(event), w));
            }
            tokio::time::sleep(PROGRESS_POLL).await;
            match w.app.version_progress(&w.actor, &w.org, &w.offer, n).await {
                Ok(p) => w.next = Some(p),
                Err(e) => {
                    w.done = true;
                    let event = Event::default().event("error").data(e.to_string());
                    return Some((Ok(event), w));
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// A version's health from continuous certification: its grade (A-F), the findings
/// of its latest re-evaluation against the imported advisories, and, when it now
/// breaks the vulnerability policy, its deadline.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/versions/{version}/health", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = HealthView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn health(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer, version)): Path<(String, String, String)>,
) -> Result<Json<HealthView>, ApiError> {
    let n = version_number(&offer, &version)?;
    Ok(Json(state.app.version_health(&caller.actor(), &org, &offer, n).await?))
}

/// The CycloneDX SBOMs certification stored for a version, one per image and platform.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/versions/{version}/sboms", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = Vec<SbomView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn sboms(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer, version)): Path<(String, String, String)>,
) -> Result<Json<Vec<SbomView>>, ApiError> {
    let n = version_number(&offer, &version)?;
    Ok(Json(state.app.version_sboms(&caller.actor(), &org, &offer, n).await?))
}

/// One SBOM in full (CycloneDX 1.5 JSON).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/versions/{version}/sboms/{digest}", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), ("version" = i64, Path), ("digest" = String, Path)),
    responses((status = 200, description = "the SBOM", content_type = "application/vnd.cyclonedx+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn sbom(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer, version, digest)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let n = version_number(&offer, &version)?;
    let bytes = state.app.version_sbom(&caller.actor(), &org, &offer, n, &digest).await?;
    Ok(([(header::CONTENT_TYPE, "application/vnd.cyclonedx+json")], bytes).into_response())
}

/// The images packaging promoted for a version into the marketplace namespace, with
/// how to pull them (by tag and by digest) and their signatures.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/versions/{version}/images", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = Vec<PromotedImageView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn images(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer, version)): Path<(String, String, String)>,
) -> Result<Json<Vec<PromotedImageView>>, ApiError> {
    let n = version_number(&offer, &version)?;
    Ok(Json(state.app.promoted_images(&caller.actor(), &org, &offer, n).await?))
}

/// The publisher's sign-off: the version in preview goes live (Packaging for
/// production, then Live). Publisher admins only. With an `Idempotency-Key` header,
/// the same request again gets the first answer and changes nothing; the same key
/// with another body is refused (422).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/offers/{offer}/go-live", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: 1-255 visible ASCII characters")),
    request_body = GoLiveRequest,
    responses((status = 202, body = OfferView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn go_live(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: GoLiveRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body must be JSON like {{\"version\": 2}}: {e}")))?;
    let actor = caller.actor();
    let fingerprint = format!("POST /orgs/{org}/offers/{offer}/go-live {}", serde_json::json!(request));
    super::idempotent(&state, &actor, &headers, &fingerprint, StatusCode::ACCEPTED, async {
        state.app.go_live(&actor, &org, &offer, request.version).await
    })
    .await
}

/// The marketplace's public key (PEM) that signs every promoted image: give it to
/// `cosign verify --key`, or as `keyPath` of a `sigstoreSigned` requirement in
/// containers' policy.json. Anyone may read it.
#[utoipa::path(get, path = "/api/v1/marketplace/signing-key", tag = "offers",
    responses((status = 200, description = "PEM public key", content_type = "application/x-pem-file")))]
pub(crate) async fn signing_key(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let pem = state.app.signing_key().await?;
    Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response())
}

/// A version's certification report: every image, platform and finding with its
/// evidence and whether it blocks, and the packages found (the SBOM's content).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/offers/{offer}/versions/{version}/report", tag = "offers",
    params(("org" = String, Path), ("offer" = String, Path), ("version" = i64, Path)),
    responses((status = 200, description = "the report", content_type = "application/json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn report(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, offer, version)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let n = version_number(&offer, &version)?;
    let bytes = state.app.version_report(&caller.actor(), &org, &offer, n).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
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
    let with: CompareWith = q.with.as_deref().unwrap_or("live").parse().map_err(ApiError::BadRequest)?;
    Ok(Json(state.app.compare(&caller.actor(), &org, &offer, with).await?))
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
    let listed = state.app.history(&caller.actor(), &org, &offer, &req).await?;
    Ok(page(listed, &req, &format!("/api/v1/orgs/{org}/offers/{offer}/history")).into_response())
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
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "an image may have at most {} bytes",
                wharf_offer::media::MAX_IMAGE_BYTES
            ))
        } else {
            ApiError::BadRequest(r.body_text())
        }
    });
    let actor = caller.actor();
    let view = state.app.upload_media(&actor, &org, body?).await?;
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
    let file = state.app.media(&caller.actor(), &org, &digest).await?;
    Ok(([(header::CONTENT_TYPE, file.media_type)], file.bytes).into_response())
}
