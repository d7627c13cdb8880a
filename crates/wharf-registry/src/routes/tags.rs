//! `GET /v2/<name>/tags/list?n=&last=`.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Ctx, next_link, page_size};
use crate::access::Action;
use crate::error::RegistryError;
use crate::response::header_value;
use crate::service::tags;

pub(crate) async fn list(ctx: &Ctx) -> Result<Response, RegistryError> {
    let repo = ctx.existing(Action::Pull).await?;
    let n = page_size(ctx.param("n"), ctx.state.settings.max_page)?;
    let last = ctx.param("last");
    let (body, link) = match ctx.state.cache.tag_page(repo.id, n, last.as_deref()) {
        Some(page) => page,
        None => {
            let page = render(ctx, repo.id, n, last.as_deref()).await?;
            ctx.state.cache.put_tag_page(repo.id, n, last.as_deref(), page.clone());
            page
        }
    };
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, header_value(&link));
    }
    Ok(response)
}

/// One page: the JSON body and the `Link` to the next page, if there is one.
async fn render(
    ctx: &Ctx,
    repo: wharf_core::RepositoryId,
    n: u32,
    last: Option<&str>,
) -> Result<(bytes::Bytes, Option<String>), RegistryError> {
    let mut tags = tags::page(&ctx.state, repo, n, last).await?;
    let more = tags.len() > n as usize;
    tags.truncate(n as usize);
    let link = if more { tags.last().map(|l| next_link(&format!("/v2/{}/tags/list", ctx.name), n, l)) } else { None };
    let body = serde_json::to_vec(&serde_json::json!({"name": ctx.name.as_str(), "tags": tags})).unwrap_or_default();
    Ok((bytes::Bytes::from(body), link))
}
