//! `/api/v1/user/tokens`: the caller's API tokens.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_auth::Credential;
use wharf_core::{Timestamp, TokenId, TokenScope, TokenScopes};

use crate::extract::{ApiJson, Caller, Paging};
use crate::pagination::{PageQuery, page};
use crate::validate;
use crate::views;
use crate::{ApiError, ApiState};
use wharf_api_types::{CreateTokenRequest, CreatedTokenView, TokenView};
use wharf_api_types::{FieldError, Problem};

const DEFAULT_DAYS: u32 = 90;
const MAX_DAYS: u32 = 3650;

/// The caller's tokens, revoked and expired ones included.
#[utoipa::path(get, path = "/api/v1/user/tokens", tag = "tokens", params(PageQuery),
    responses((status = 200, body = inline(wharf_api_types::Page<TokenView>))))]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Paging(req): Paging,
) -> Result<Response, ApiError> {
    caller.require(TokenScope::ApiRead)?;
    let after = match &req.after {
        Some(a) => Some(TokenId(a.parse().map_err(|_| ApiError::BadRequest("invalid cursor".into()))?)),
        None => None,
    };
    let tokens = state.db.list_tokens(caller.0.user_id, after, req.limit + 1).await?;
    let views: Vec<TokenView> = tokens.iter().map(views::token).collect();
    Ok(page(views, &req, "/api/v1/user/tokens", |t| t.id.to_string()).into_response())
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
    if caller.0.credential != Credential::Password {
        return Err(ApiError::Forbidden("creating API tokens needs password authentication, not an API token".into()));
    }
    let mut errors = Vec::new();
    if let Err(e) = validate::label(&body.name, validate::MAX_TOKEN_NAME) {
        errors.push(FieldError::new("/name", e));
    }
    let mut scopes = Vec::new();
    for (i, s) in body.scopes.iter().enumerate() {
        match s.parse::<TokenScope>() {
            Ok(scope) => scopes.push(scope),
            Err(e) => errors.push(FieldError::new(&format!("/scopes/{i}"), e)),
        }
    }
    let scopes = match TokenScopes::new(scopes) {
        Ok(s) => Some(s),
        Err(e) => {
            if body.scopes.is_empty() {
                errors.push(FieldError::new("/scopes", e));
            }
            None
        }
    };
    let days = body.expires_in_days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        errors.push(FieldError::new("/expires_in_days", format!("must be between 1 and {MAX_DAYS} (got {days})")));
    }
    let Some(scopes) = scopes.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let user =
        state.db.user_by_id(caller.0.user_id).await?.ok_or_else(|| ApiError::Internal("caller vanished".into()))?;
    let expires_at = Timestamp::now().plus(Duration::from_secs(u64::from(days) * 86_400));
    let (token, secret) = state.auth.create_api_token(&user, &body.name, &scopes, Some(expires_at)).await?;
    tracing::info!(user.name = %user.name, token.id = %token.id, scopes = %scopes, "API token created");
    let view = CreatedTokenView { token: views::token(&token), secret };
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(view)).into_response())
}

/// Revokes one of the caller's tokens. Idempotent.
#[utoipa::path(delete, path = "/api/v1/user/tokens/{id}", tag = "tokens", params(("id" = i64, Path, description = "token id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn revoke(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(TokenScope::ApiWrite)?;
    let not_found = || ApiError::NotFound(format!("you have no token with id {id:?}"));
    let token_id = TokenId(id.parse().map_err(|_| not_found())?);
    let revoked = state.db.revoke_token(caller.0.user_id, token_id).await?.ok_or_else(not_found)?;
    tracing::info!(user.name = %caller.0.user_name, token.id = %revoked.id, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}
