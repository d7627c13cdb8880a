//! `/api/v1/catalog`: what customers browse. Anyone may search and read listings;
//! signed-in readers also see what their organizations may (private plans, their
//! own stop-sold offers).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use wharf_api_types::{CatalogListingView, CatalogQuery, CatalogResults, PageQuery, Problem};
use wharf_app::{CatalogSearchInput, field, optional};
use wharf_core::CatalogFacet;
use wharf_core::catalog::{LanguageRange, accept_language};

use crate::extract::{ApiQuery, MaybeCaller};
use crate::{ApiError, ApiState};

/// Searches the catalog: full-text over names, summaries, descriptions, keywords and
/// publishers (every locale of a listing; shown in the one `Accept-Language`
/// prefers), narrowed by facets, with each facet's counts.
#[utoipa::path(get, path = "/api/v1/catalog", tag = "catalog", params(CatalogQuery),
    responses((status = 200, body = CatalogResults, headers(("Link" = String, description = "The next page"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security((), ("basic" = []), ("bearer" = [])))]
pub(crate) async fn search(
    State(state): State<ApiState>,
    MaybeCaller(actor): MaybeCaller,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<CatalogQuery>,
) -> Result<Response, ApiError> {
    let paging = crate::pagination::resolve(
        &PageQuery { limit: q.limit, cursor: q.cursor.clone() },
        state.limits.default_page_size,
        state.limits.max_page_size,
    )?;
    let filters = [
        (CatalogFacet::Category, &q.category),
        (CatalogFacet::Publisher, &q.publisher),
        (CatalogFacet::Pricing, &q.pricing),
        (CatalogFacet::Architecture, &q.architecture),
        (CatalogFacet::Deployment, &q.deployment),
        (CatalogFacet::Grade, &q.grade),
    ]
    .into_iter()
    .filter_map(|(facet, text)| text.as_deref().map(|t| (facet, field(facet.as_str(), t))))
    .collect();
    let input = CatalogSearchInput {
        text: field("q", q.q.as_deref().unwrap_or_default()),
        filters,
        sort: optional("sort", q.sort.as_deref()),
        paging: paging.clone(),
        languages: languages(&headers),
    };
    let mut results = state.app.search_catalog(actor.as_ref(), input).await?;
    results.next_cursor = results.next_cursor.map(|key| URL_SAFE_NO_PAD.encode(key));
    let mut response = Json(&results).into_response();
    if let Some(cursor) = &results.next_cursor {
        let next = CatalogQuery { cursor: Some(cursor.clone()), limit: Some(paging.limit), ..q };
        let query = serde_urlencoded::to_string(&next).unwrap_or_default();
        if let Ok(v) = HeaderValue::from_str(&format!("</api/v1/catalog?{query}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept-Language, Authorization"));
    Ok(response)
}

/// One listing in the locale `Accept-Language` prefers (`Content-Language` names it;
/// the offer's default locale when none matches): its texts, the plans the reader
/// may see with their pinned images, its security view (grade, findings, SBOMs, how
/// to verify the signatures) and its released versions.
#[utoipa::path(get, path = "/api/v1/catalog/{publisher}/{offer}", tag = "catalog",
    params(("publisher" = String, Path), ("offer" = String, Path)),
    responses((status = 200, body = CatalogListingView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security((), ("basic" = []), ("bearer" = [])))]
pub(crate) async fn show(
    State(state): State<ApiState>,
    MaybeCaller(actor): MaybeCaller,
    headers: HeaderMap,
    Path((publisher, offer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let listing = state.app.catalog_listing(actor.as_ref(), &publisher, &offer, &languages(&headers)).await?;
    let mut response = Json(&listing).into_response();
    if let Ok(v) = HeaderValue::from_str(&listing.locale) {
        response.headers_mut().insert(header::CONTENT_LANGUAGE, v);
    }
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept-Language, Authorization"));
    Ok(response)
}

/// One SBOM (CycloneDX 1.5 JSON) of a listing's live version, as the listing's
/// security view names it.
#[utoipa::path(get, path = "/api/v1/catalog/{publisher}/{offer}/sboms/{digest}", tag = "catalog",
    params(("publisher" = String, Path), ("offer" = String, Path), ("digest" = String, Path)),
    responses((status = 200, description = "the SBOM", content_type = "application/vnd.cyclonedx+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security((), ("basic" = []), ("bearer" = [])))]
pub(crate) async fn sbom(
    State(state): State<ApiState>,
    MaybeCaller(actor): MaybeCaller,
    Path((publisher, offer, digest)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let bytes = state.app.catalog_sbom(actor.as_ref(), &publisher, &offer, &digest).await?;
    Ok(([(header::CONTENT_TYPE, "application/vnd.cyclonedx+json")], bytes).into_response())
}

/// An image (icon or screenshot) of a listing, as its `media` names it.
#[utoipa::path(get, path = "/api/v1/catalog/{publisher}/{offer}/media/{digest}", tag = "catalog",
    params(("publisher" = String, Path), ("offer" = String, Path), ("digest" = String, Path)),
    responses((status = 200, description = "the image (PNG or JPEG)", content_type = "image/png"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security((), ("basic" = []), ("bearer" = [])))]
pub(crate) async fn media(
    State(state): State<ApiState>,
    MaybeCaller(actor): MaybeCaller,
    Path((publisher, offer, digest)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let file = state.app.catalog_media(actor.as_ref(), &publisher, &offer, &digest).await?;
    Ok(([(header::CONTENT_TYPE, file.media_type)], file.bytes).into_response())
}

/// The reader's languages from `Accept-Language` (none when absent or unreadable).
fn languages(headers: &HeaderMap) -> Vec<LanguageRange> {
    headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(accept_language).unwrap_or_default()
}
