//! `/api/v1/orgs` and `/api/v1/orgs/{org}/members`.
//!
//! Visibility rule: an organization the caller may not read does not exist for them
//! (404, never 403), so names of other tenants cannot be probed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_core::{OrgAction, OrgKind, OrgName, PlatformAction, Role, TokenScope, UserName};
use wharf_db::orgs::Org;

use crate::extract::{ApiJson, Caller, Paging};
use crate::pagination::{PageQuery, page};
use crate::validate;
use crate::views;
use crate::{ApiError, ApiState};
use wharf_api_types::{CreateOrgRequest, MemberView, OrgView, SetMemberRequest, UpdateOrgRequest};
use wharf_api_types::{FieldError, Problem};

/// An organization the caller may read, with their role, after checking `action`.
pub(crate) async fn org_for(
    state: &ApiState,
    caller: &Caller,
    name: &str,
    action: OrgAction,
) -> Result<(Org, Option<Role>), ApiError> {
    let not_found = || ApiError::NotFound(format!("no organization named {name:?}"));
    let name: OrgName = name.parse().map_err(|_| not_found())?;
    let org = state.db.org_by_name(&name).await?.ok_or_else(not_found)?;
    let role = state.db.role_in_org(org.id, caller.0.user_id).await?;
    if !caller.0.may_in_org(org.kind, role, OrgAction::Read) {
        return Err(not_found());
    }
    if !caller.0.may_in_org(org.kind, role, action) {
        return Err(ApiError::Forbidden(format!("your role in {:?} does not allow this", org.name.as_str())));
    }
    Ok((org, role))
}

/// Organizations: all of them for operators, otherwise the caller's.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "organizations", params(PageQuery),
    responses((status = 200, body = inline(wharf_api_types::Page<OrgView>))))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Paging(req): Paging,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let rows = if caller.0.may_platform(PlatformAction::ReadAll) {
        state.db.list_orgs_with_role(caller.0.user_id, req.after.as_deref(), req.limit + 1).await?
    } else {
        let mine = state.db.orgs_of_user(caller.0.user_id, req.after.as_deref(), req.limit + 1).await?;
        mine.into_iter().map(|(o, r)| (o, Some(r))).collect()
    };
    let views: Vec<OrgView> = rows.iter().map(|(o, r)| views::org(o, *r)).collect();
    Ok(page(views, &req, "/api/v1/orgs", |o| o.name.clone()).into_response())
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
    caller.require(TokenScope::ApiWrite)?;
    if !caller.0.may_platform(PlatformAction::ManageOrgs) {
        return Err(ApiError::Forbidden("creating organizations needs the owner or admin role in an operator organization and, for tokens, the admin scope".into()));
    }
    let mut errors = Vec::new();
    let name = body.name.parse::<OrgName>().map_err(|e| errors.push(FieldError::new("/name", e))).ok();
    let kind = body.kind.parse::<OrgKind>().map_err(|e| errors.push(FieldError::new("/kind", e))).ok();
    if let Some(d) = &body.display_name
        && let Err(e) = validate::label(d, validate::MAX_DISPLAY_NAME)
    {
        errors.push(FieldError::new("/display_name", e));
    }
    let owner = match &body.owner {
        None => Some(caller.0.user_id),
        Some(o) => match o.parse::<UserName>() {
            Err(e) => {
                errors.push(FieldError::new("/owner", e));
                None
            }
            Ok(n) => match state.db.user_by_name(&n).await? {
                Some(u) => Some(u.id),
                None => {
                    errors.push(FieldError::new("/owner", format!("no user named {:?}", n.as_str())));
                    None
                }
            },
        },
    };
    let (Some(name), Some(kind), Some(owner)) = (name, kind, owner) else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let org = state.db.create_org(&name, kind, body.display_name.as_deref(), Some(owner)).await?;
    let role = state.db.role_in_org(org.id, caller.0.user_id).await?;
    tracing::info!(org.name = %org.name, org.kind = %org.kind, by = %caller.0.user_name, "organization created");
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/orgs/{}", org.name))], Json(views::org(&org, role)))
        .into_response())
}

/// One organization.
#[utoipa::path(get, path = "/api/v1/orgs/{org}", tag = "organizations", params(("org" = String, Path, description = "organization name")),
    responses((status = 200, body = OrgView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<OrgView>, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let (org, role) = org_for(&state, &caller, &org, OrgAction::Read).await?;
    Ok(Json(views::org(&org, role)))
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
    caller.require(TokenScope::ApiWrite)?;
    let (org, role) = org_for(&state, &caller, &org, OrgAction::Update).await?;
    let Some(display_name) = body.display_name else {
        return Ok(Json(views::org(&org, role)));
    };
    if let Some(d) = &display_name {
        validate::label(d, validate::MAX_DISPLAY_NAME).map_err(|e| ApiError::field("/display_name", e))?;
    }
    let updated = state
        .db
        .update_org(org.id, display_name.as_deref())
        .await?
        .ok_or_else(|| ApiError::NotFound("organization deleted meanwhile".into()))?;
    Ok(Json(views::org(&updated, role)))
}

/// Deletes an organization and its memberships (owners).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}", tag = "organizations", params(("org" = String, Path, description = "organization name")),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(TokenScope::ApiWrite)?;
    let (org, _) = org_for(&state, &caller, &org, OrgAction::Delete).await?;
    state.db.delete_org(org.id).await?;
    tracing::info!(org.name = %org.name, by = %caller.0.user_name, "organization deleted");
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
    caller.require(TokenScope::ApiRead)?;
    let (org, _) = org_for(&state, &caller, &org, OrgAction::ReadMembers).await?;
    let members = state.db.list_members(org.id, req.after.as_deref(), req.limit + 1).await?;
    let views: Vec<MemberView> = members.iter().map(views::member).collect();
    let path = format!("/api/v1/orgs/{}/members", org.name);
    Ok(page(views, &req, &path, |m| m.user.clone()).into_response())
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
    caller.require(TokenScope::ApiWrite)?;
    let (org, role) = org_for(&state, &caller, &org, OrgAction::ManageMembers).await?;
    let new_role: Role = body.role.parse().map_err(|e: String| ApiError::field("/role", e))?;
    let target = find_user(&state, &user).await?;
    let current = state.db.role_in_org(org.id, target.id).await?;
    if (new_role == Role::Owner || current == Some(Role::Owner))
        && !caller.0.may_in_org(org.kind, role, OrgAction::ManageOwners)
    {
        return Err(ApiError::Forbidden("only owners may grant or take away the owner role".into()));
    }
    let previous = state.db.set_membership(org.id, target.id, new_role).await?;
    let member = state
        .db
        .member(org.id, target.id)
        .await?
        .ok_or_else(|| ApiError::Conflict("the membership was removed meanwhile".into()))?;
    tracing::info!(org.name = %org.name, user.name = %target.name, role = %new_role, by = %caller.0.user_name, "membership set");
    let status = if previous.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(views::member(&member))).into_response())
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
    caller.require(TokenScope::ApiWrite)?;
    let leaving = user == caller.0.user_name.as_str();
    let action = if leaving { OrgAction::Read } else { OrgAction::ManageMembers };
    let (org, role) = org_for(&state, &caller, &org, action).await?;
    let target = find_user(&state, &user).await?;
    let current = state.db.role_in_org(org.id, target.id).await?;
    let Some(current) = current else {
        return Err(ApiError::NotFound(format!("{user:?} is not a member of {:?}", org.name.as_str())));
    };
    if current == Role::Owner && !leaving && !caller.0.may_in_org(org.kind, role, OrgAction::ManageOwners) {
        return Err(ApiError::Forbidden("only owners may remove an owner".into()));
    }
    state.db.remove_membership(org.id, target.id).await?;
    tracing::info!(org.name = %org.name, user.name = %target.name, by = %caller.0.user_name, "membership removed");
    Ok(StatusCode::NO_CONTENT)
}

async fn find_user(state: &ApiState, name: &str) -> Result<wharf_db::users::User, ApiError> {
    let not_found = || ApiError::NotFound(format!("no user named {name:?}"));
    let n: UserName = name.parse().map_err(|_| not_found())?;
    state.db.user_by_name(&n).await?.ok_or_else(not_found)
}
