//! `/api/v1/user` (the caller) and `/api/v1/users`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_auth::{Credential, password};
use wharf_core::{PlatformAction, TokenScope, UserName};
use wharf_db::users::{NewUser, User};

use crate::extract::{ApiJson, Caller, Paging};
use crate::pagination::{PageQuery, page};
use crate::validate;
use crate::views;
use crate::{ApiError, ApiState};
use wharf_api_types::{CreateUserRequest, CredentialKind, CurrentUserView, UpdateUserRequest, UserView};
use wharf_api_types::{FieldError, Problem};

/// The authenticated caller.
#[utoipa::path(get, path = "/api/v1/user", tag = "users",
    responses((status = 200, body = CurrentUserView), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn me(State(state): State<ApiState>, caller: Caller) -> Result<Json<CurrentUserView>, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let p = &caller.0;
    let user = state.db.user_by_id(p.user_id).await?.ok_or_else(|| ApiError::Internal("caller vanished".into()))?;
    Ok(Json(CurrentUserView {
        user: views::user(&user),
        credential: match p.credential {
            Credential::Password => CredentialKind::Password,
            Credential::ApiToken(_) => CredentialKind::ApiToken,
        },
        scopes: p.scopes.iter().collect(),
        operator_role: p.operator_role,
    }))
}

/// Lists all users (operators).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageQuery),
    responses((status = 200, body = inline(wharf_api_types::Page<UserView>)), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Paging(req): Paging,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    if !caller.0.may_platform(PlatformAction::ReadAll) {
        return Err(ApiError::Forbidden("listing users needs a role in an operator organization".into()));
    }
    let users = state.db.list_users(req.after.as_deref(), req.limit + 1).await?;
    let views: Vec<UserView> = users.iter().map(views::user).collect();
    Ok(page(views, &req, "/api/v1/users", |u| u.name.clone()).into_response())
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
    caller.require(TokenScope::ApiWrite)?;
    if !caller.0.may_platform(PlatformAction::ManageUsers) {
        return Err(ApiError::Forbidden(
            "creating users needs the owner or admin role in an operator organization and, for tokens, the admin scope"
                .into(),
        ));
    }
    let mut errors = Vec::new();
    let name = body.name.parse::<UserName>().map_err(|e| errors.push(FieldError::new("/name", e))).ok();
    if let Some(pw) = &body.password
        && let Err(e) = password::check_rule(pw)
    {
        errors.push(FieldError::new("/password", e));
    }
    if let Some(email) = &body.email
        && let Err(e) = validate::email(email)
    {
        errors.push(FieldError::new("/email", e));
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let hash = match &body.password {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    let user = state
        .db
        .create_user(NewUser { name: &name, email: body.email.as_deref(), password_hash: hash.as_deref() })
        .await?;
    tracing::info!(user.name = %user.name, by = %caller.0.user_name, "user created");
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/users/{}", user.name))], Json(views::user(&user)))
        .into_response())
}

/// Looks up a user the caller may see: themselves, or anyone for operators.
async fn visible_user(state: &ApiState, caller: &Caller, name: &str) -> Result<User, ApiError> {
    let not_found = || ApiError::NotFound(format!("no user named {name:?}"));
    let name: UserName = name.parse().map_err(|_| not_found())?;
    let is_self = name == caller.0.user_name;
    if !is_self && !caller.0.may_platform(PlatformAction::ReadAll) {
        return Err(not_found());
    }
    state.db.user_by_name(&name).await?.ok_or_else(not_found)
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{name}", tag = "users", params(("name" = String, Path, description = "user name")),
    responses((status = 200, body = UserView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    Ok(Json(views::user(&visible_user(&state, &caller, &name).await?)))
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
    caller.require(TokenScope::ApiWrite)?;
    let user = visible_user(&state, &caller, &name).await?;
    let is_self = user.id == caller.0.user_id;
    let manager = caller.0.may_platform(PlatformAction::ManageUsers);
    if !is_self && !manager {
        return Err(ApiError::Forbidden("changing other users needs an operator role with the admin scope".into()));
    }
    if body.disabled.is_some() && !manager {
        return Err(ApiError::Forbidden("only operators may disable or enable accounts".into()));
    }
    if body.disabled == Some(true) && is_self {
        return Err(ApiError::Conflict("you cannot disable your own account".into()));
    }
    if body.password.is_some() && is_self && caller.0.credential != Credential::Password {
        return Err(ApiError::Forbidden(
            "changing your own password needs password authentication, not an API token".into(),
        ));
    }
    let mut errors = Vec::new();
    if let Some(Some(email)) = &body.email
        && let Err(e) = validate::email(email)
    {
        errors.push(FieldError::new("/email", e));
    }
    if let Some(pw) = &body.password
        && let Err(e) = password::check_rule(pw)
    {
        errors.push(FieldError::new("/password", e));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some(email) = &body.email {
        state.db.set_email(user.id, email.as_deref()).await?;
    }
    if let Some(pw) = &body.password {
        state.db.set_password_hash(user.id, &password::hash(pw).await?).await?;
    }
    if let Some(disabled) = body.disabled {
        state.db.set_user_disabled(user.id, disabled).await?;
    }
    let updated =
        state.db.user_by_id(user.id).await?.ok_or_else(|| ApiError::NotFound(format!("no user named {name:?}")))?;
    tracing::info!(user.name = %updated.name, by = %caller.0.user_name, "user updated");
    Ok(Json(views::user(&updated)))
}
