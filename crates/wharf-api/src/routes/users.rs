//! `/api/v1/user` (the caller) and `/api/v1/users`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_api_types::{CreateUserRequest, CurrentUserView, Problem, UpdateUserRequest, UserView};
use wharf_app::{NewUser, UserChanges, field, optional};
use wharf_core::UserName;

use crate::extract::{ApiJson, Caller, Paging};
use crate::pagination::{PageQuery, page};
use crate::{ApiError, ApiState};

/// The authenticated caller.
#[utoipa::path(get, path = "/api/v1/user", tag = "users",
    responses((status = 200, body = CurrentUserView), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn me(State(state): State<ApiState>, caller: Caller) -> Result<Json<CurrentUserView>, ApiError> {
    Ok(Json(state.app.current_user(&caller.0).await?))
}

/// Lists all users (operators).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageQuery),
    responses((status = 200, body = inline(wharf_api_types::Page<UserView>)), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Paging(req): Paging,
) -> Result<Response, ApiError> {
    let listed = state.app.list_users(&caller.actor(), &req).await?;
    Ok(page(listed, &req, "/api/v1/users").into_response())
}

/// Creates a user (operators with the `admin` scope).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = UserView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> Result<Response, ApiError> {
    let new = NewUser {
        name: field("/name", &body.name),
        password: optional("/password", body.password.as_deref()),
        email: optional("/email", body.email.as_deref()),
    };
    let user = state.app.create_user(&caller.actor(), new).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/users/{}", user.name))], Json(user)).into_response())
}

/// A user named in the path: not found when the name cannot be one.
fn user_name(name: &str) -> Result<UserName, ApiError> {
    name.parse().map_err(|_| ApiError::NotFound(format!("no user named {name:?}")))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{name}", tag = "users", params(("name" = String, Path, description = "user name")),
    responses((status = 200, body = UserView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(state.app.user(&caller.actor(), &user_name(&name)?).await?))
}

/// Changes a user: your own e-mail and password, or (operators) anyone's and their
/// enabled state. Changing your own password needs password authentication, so a
/// leaked API token cannot take over the account.
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users", request_body = UpdateUserRequest,
    params(("name" = String, Path, description = "user name")),
    responses((status = 200, body = UserView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<UpdateUserRequest>,
) -> Result<Json<UserView>, ApiError> {
    let name = user_name(&name)?;
    let email = body.email.as_ref().map(|email| optional("/email", email.as_deref())).transpose();
    let changes =
        UserChanges { email, password: optional("/password", body.password.as_deref()), disabled: body.disabled };
    Ok(Json(state.app.update_user(&caller.actor(), &name, changes).await?))
}
