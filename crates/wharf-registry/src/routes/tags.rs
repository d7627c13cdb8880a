//! `GET /v2/<name>/tags/list?n=&last=`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Ctx, next_link, page_size};
use crate::access::Action;
use crate::error::RegistryError;
use crate::response::header_value;

pub(crate) async fn list(ctx: &Ctx) -> Result<Response, RegistryError> {
    let repo = ctx.existing(Action::Pull).await?;
    let n = page_size(ctx.param("n"), ctx.state.settings.max_page)?;
    let last = ctx.param("last");
    let mut tags = if n == 0 { Vec::new() } else { ctx.state.db.list_tags(repo.id, last.as_deref(), n + 1).await? };
    let more = tags.len() > n as usize;
    tags.truncate(n as usize);
    let mut response =
        (StatusCode::OK, Json(serde_json::json!({"name": ctx.name.as_str(), "tags": tags}))).into_response();
    if more && let Some(last) = tags.last() {
        let link = next_link(&format!("/v2/{}/tags/list", ctx.name), n, last);
        response.headers_mut().insert(header::LINK, header_value(&link));
    }
    Ok(response)
}
