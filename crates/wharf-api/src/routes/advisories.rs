//! `/api/v1/advisories`: the server's vulnerability advisory store (operators).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use wharf_api_types::{AdvisoryImportView, AdvisorySnapshotView, Problem};

use crate::extract::{ApiQuery, Caller};
use crate::{ApiError, ApiState};

/// Where an uploaded archive came from.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// The archive's name, recorded with the snapshot (default `upload.zip`).
    source: Option<String>,
}

/// Imports an OSV archive (a ZIP of OSV JSON files, e.g. osv.dev's `<ecosystem>/all.zip`)
/// into the server's advisory store: a new snapshot, which certification uses from now on.
#[utoipa::path(post, path = "/api/v1/advisories", tag = "advisories", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/zip"),
    responses((status = 201, body = AdvisoryImportView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn import(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "an advisory archive may have at most {} bytes (api.max_advisories_bytes)",
                state.limits.max_advisories_bytes
            ))
        } else {
            ApiError::BadRequest(r.body_text())
        }
    })?;
    let source = q.source.unwrap_or_else(|| "upload.zip".to_owned());
    let view = state.app.import_advisories(&caller.actor(), &source, body).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Every snapshot of the advisory store, newest first (operators).
#[utoipa::path(get, path = "/api/v1/advisories", tag = "advisories",
    responses((status = 200, body = Vec<AdvisorySnapshotView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<AdvisorySnapshotView>>, ApiError> {
    Ok(Json(state.app.advisory_snapshots(&caller.actor()).await?))
}
