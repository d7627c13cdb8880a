//! `/api/v1/orgs` and `/api/v1/orgs/{org}/members`.
//!
//! Visibility rule: an organization the caller may not read does not exist for them
//! (404, never 403), so names of other tenants cannot be probed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_api_types::{CreateOrgRequest, MemberView, OrgView, Problem, SetMemberRequest, UpdateOrgRequest};
use wharf_app::{NewOrg, field, optional};
use wharf_core::Role;

use crate::extract::{ApiJson, Caller, Paging};
use crate::pagination::{PageQuery, page};
use crate::{ApiError, ApiState};

/// Organizations: all of them for operators, otherwise the caller's.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "organizations", params(PageQuery),
    responses((status = 200, body = inline(wharf_api_types::Page<OrgView>))))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Paging(req): Paging,
) -> Result<Response, ApiError> {
    let listed = state.app.list_orgs(&caller.actor(), &req).await?;
    Ok(page(listed, &req, "/api/v1/orgs").into_response())
}

/// Creates an organization (operators with the `admin` scope).
#[utoipa::path(post, path = "/api/v1/orgs", tag = "organizations", request_body = CreateOrgRequest,
    responses((status = 201, body = OrgView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateOrgRequest>,
) -> Result<Response, ApiError> {
    let new = NewOrg {
        name: field("/name", &body.name),
        kind: field("/kind", &body.kind),
        display_name: optional("/display_name", body.display_name.as_deref()),
        owner: optional("/owner", body.owner.as_deref()),
    };
    let org = state.app.create_org(&caller.actor(), new).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/orgs/{}", org.name))], Json(org)).into_response())
}

/// One organization.
#[utoipa::path(get, path = "/api/v1/orgs/{org}", tag = "organizations", params(("org" = String, Path, description = "organization name")),
    responses((status = 200, body = OrgView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<OrgView>, ApiError> {
    Ok(Json(state.app.org(&caller.actor(), &org).await?))
}

/// Changes an organization's display name (admins).
#[utoipa::path(patch, path = "/api/v1/orgs/{org}", tag = "organizations", request_body = UpdateOrgRequest,
    params(("org" = String, Path, description = "organization name")),
    responses((status = 200, body = OrgView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<UpdateOrgRequest>,
) -> Result<Json<OrgView>, ApiError> {
    let display_name = body.display_name.as_ref().map(|d| optional("/display_name", d.as_deref())).transpose();
    Ok(Json(state.app.update_org(&caller.actor(), &org, display_name).await?))
}

/// Deletes an organization and its memberships (owners).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}", tag = "organizations", params(("org" = String, Path, description = "organization name")),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_org(&caller.actor(), &org).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Members of an organization.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/members", tag = "organizations",
    params(("org" = String, Path, description = "organization name"), PageQuery),
    responses((status = 200, body = inline(wharf_api_types::Page<MemberView>)), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn members(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
    Paging(req): Paging,
) -> Result<Response, ApiError> {
    let listed = state.app.members(&caller.actor(), &org, &req).await?;
    Ok(page(listed, &req, &format!("/api/v1/orgs/{org}/members")).into_response())
}

/// Adds a member or changes their role (admins; granting or taking away `owner`
/// needs an owner). 201 when added, 200 when changed.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/members/{user}", tag = "organizations", request_body = SetMemberRequest,
    params(("org" = String, Path, description = "organization name"), ("user" = String, Path, description = "user name")),
    responses((status = 200, body = MemberView), (status = 201, body = MemberView),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn set_member(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetMemberRequest>,
) -> Result<Response, ApiError> {
    let role: Role = body.role.parse().map_err(|e: String| ApiError::field("/role", e))?;
    let (member, added) = state.app.set_member(&caller.actor(), &org, &user, role).await?;
    let status = if added { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(member)).into_response())
}

/// Removes a member (admins; removing an owner needs an owner). Members may leave.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/members/{user}", tag = "organizations",
    params(("org" = String, Path, description = "organization name"), ("user" = String, Path, description = "user name")),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn remove_member(
    State(state): State<ApiState>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.app.remove_member(&caller.actor(), &org, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Approves a publisher (operators with the `admin` scope): its offers are certified
/// only once approved. Who approved it and when are recorded.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/approval", tag = "organizations",
    params(("org" = String, Path, description = "publisher organization")),
    responses((status = 200, body = OrgView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn approve(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<OrgView>, ApiError> {
    Ok(Json(state.app.set_approval(&caller.actor(), &org, true).await?))
}

/// Withdraws a publisher's approval (operators with the `admin` scope).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/approval", tag = "organizations",
    params(("org" = String, Path, description = "publisher organization")),
    responses((status = 200, body = OrgView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn revoke_approval(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<OrgView>, ApiError> {
    Ok(Json(state.app.set_approval(&caller.actor(), &org, false).await?))
}
