//! Cursor pagination: `?limit=N&cursor=C`, answered with
//! `{"items": […], "next_cursor": "…"}` and a `Link: <…>; rel="next"` header.
//!
//! Cursors are opaque (base64url of the last key seen), so the server may change
//! what they hold; pages are keyset pages and stay consistent under inserts.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
pub use wharf_api_types::{Page, PageQuery};

use crate::ApiError;

/// Resolved paging: how many to show and where to start.
#[derive(Debug)]
pub struct PageRequest {
    /// Items to show.
    pub limit: u32,
    /// The last key of the previous page.
    pub after: Option<String>,
}

impl PageRequest {
    /// Checks `limit` and decodes `cursor`.
    pub fn resolve(query: &PageQuery, default: u32, max: u32) -> Result<PageRequest, ApiError> {
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
        Ok(PageRequest { limit, after })
    }
}

/// A page ready to send, with its `Link` header.
#[derive(Debug)]
pub struct PageResponse<T> {
    page: Page<T>,
    link: Option<String>,
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says whether a
/// next page exists. `key` gives the keyset value of an item; `path` the collection URL.
pub fn page<T: Serialize>(
    mut rows: Vec<T>,
    request: &PageRequest,
    path: &str,
    key: impl Fn(&T) -> String,
) -> PageResponse<T> {
    let more = rows.len() > request.limit as usize;
    rows.truncate(request.limit as usize);
    let next_cursor = if more { rows.last().map(|last| URL_SAFE_NO_PAD.encode(key(last))) } else { None };
    let link = next_cursor.as_ref().map(|c| format!("<{path}?limit={}&cursor={c}>; rel=\"next\"", request.limit));
    PageResponse { page: Page { items: rows, next_cursor }, link }
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
