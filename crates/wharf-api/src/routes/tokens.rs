//! `/api/v1/user/tokens`: the caller's API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_api_types::{CreateTokenRequest, CreatedTokenView, FieldError, Problem, TokenView};
use wharf_app::{NewToken, field};
use wharf_core::{TokenId, TokenScope, TokenScopes};

use crate::extract::{ApiJson, Caller, Paging};
use crate::pagination::{PageQuery, page};
use crate::{ApiError, ApiState};

/// The caller's tokens, revoked and expired ones included.
#[utoipa::path(get, path = "/api/v1/user/tokens", tag = "tokens", params(PageQuery),
    responses((status = 200, body = inline(wharf_api_types::Page<TokenView>))))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Paging(req): Paging,
) -> Result<Response, ApiError> {
    let listed = state.app.list_tokens(&caller.actor(), None, &req).await?;
    Ok(page(listed, &req, "/api/v1/user/tokens").into_response())
}

/// Creates a token. Needs password authentication: a token cannot mint tokens.
/// The secret is in this response only.
#[utoipa::path(post, path = "/api/v1/user/tokens", tag = "tokens", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedTokenView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTokenRequest>,
) -> Result<Response, ApiError> {
    let mut scopes = Vec::new();
    let mut invalid = Vec::new();
    for (i, s) in body.scopes.iter().enumerate() {
        match field::<TokenScope>(&format!("/scopes/{i}"), s) {
            Ok(scope) => scopes.push(scope),
            Err(e) => invalid.extend(e),
        }
    }
    let scopes = match TokenScopes::new(scopes) {
        Ok(s) if invalid.is_empty() => Ok(s),
        Ok(_) => Err(invalid),
        Err(e) if body.scopes.is_empty() => Err(vec![FieldError::new("/scopes", e)]),
        Err(_) => Err(invalid),
    };
    let new = NewToken {
        name: field("/name", &body.name),
        scopes,
        expires_in_days: body.expires_in_days.unwrap_or(wharf_app::DEFAULT_TOKEN_DAYS),
    };
    let created = state.app.create_token(&caller.actor(), None, new).await?;
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(created)).into_response())
}

/// Revokes one of the caller's tokens. Idempotent.
#[utoipa::path(delete, path = "/api/v1/user/tokens/{id}", tag = "tokens", params(("id" = i64, Path, description = "token id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn revoke(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound(format!("you have no token with id {id:?}"));
    let token_id = TokenId(id.parse().map_err(|_| not_found())?);
    state.app.revoke_token(&caller.actor(), None, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
