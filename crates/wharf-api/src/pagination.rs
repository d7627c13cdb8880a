//! Cursor pagination: `?limit=N&cursor=C`, answered with
//! `{"items": […], "next_cursor": "…"}` and a `Link: <…>; rel="next"` header.
//!
//! Cursors are opaque (base64url of the last key seen), so the server may change
//! what they hold; pages are keyset pages (`wharf_app::Listed`) and stay consistent
//! under inserts.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
pub use wharf_api_types::{Page, PageQuery};
use wharf_app::{Listed, Paging};

use crate::ApiError;

/// Checks `limit` against the configured sizes and decodes `cursor`.
pub fn resolve(query: &PageQuery, default: u32, max: u32) -> Result<Paging, ApiError> {
    let limit = query.limit.unwrap_or(default);
    if limit == 0 || limit > max {
        return Err(ApiError::BadRequest(format!("limit must be between 1 and {max} (got {limit})")));
    }
    let after = match &query.cursor {
        None => None,
        Some(c) => {
            Some(URL_SAFE_NO_PAD.decode(c).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| {
                ApiError::BadRequest("invalid cursor: pass the next_cursor of a previous page".into())
            })?)
        }
    };
    Ok(Paging { limit, after })
}

/// A page ready to send, with its `Link` header.
#[derive(Debug)]
pub struct PageResponse<T> {
    page: Page<T>,
    link: Option<String>,
}

/// The response for a listed page of the collection at `path`.
pub fn page<T: Serialize>(listed: Listed<T>, paging: &Paging, path: &str) -> PageResponse<T> {
    let next_cursor = listed.next.map(|key| URL_SAFE_NO_PAD.encode(key));
    let link = next_cursor.as_ref().map(|c| format!("<{path}?limit={}&cursor={c}>; rel=\"next\"", paging.limit));
    PageResponse { page: Page { items: listed.items, next_cursor }, link }
}

impl<T: Serialize> IntoResponse for PageResponse<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.page).into_response();
        if let Some(link) = self.link.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LINK, link);
        }
        response
    }
}
